/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The small helpers of basic/ that the verbs and sources share: strv_push_n(), block_signals(). */
#include <signal.h>
#include <stdbool.h>

#include "signal-util.h"
#include "strv.h"
#include "tap.h"

static void test_strv_push_n(void) {
        char *items[] = { (char *) "a", (char *) "b", (char *) "c", NULL };
        _cleanup_(strv_freep) char **v = NULL;

        is_int(strv_push_n(&v, items, 0), 0, "strv_push_n: nothing to push");
        ok(!v, "... leaves an empty list NULL");
        is_int(strv_push_n(&v, items, 2), 0, "strv_push_n: the first two");
        is_int(strv_push_n(&v, items + 2, 1), 0, "strv_push_n: then the third");
        is_int(strv_length(v), 3, "... three strings");
        is_str(v[0], "a", "... in order");
        is_str(v[2], "c", "... the last pushed last");
        ok(v[1] != items[1], "... copies, not the caller's strings");
}

static void test_block_signals(void) {
        sigset_t mask, old, now;

        BLOCK_SIGNALS(&mask, &old, SIGUSR1, SIGUSR2);
        ok(sigismember(&mask, SIGUSR1) == 1 && sigismember(&mask, SIGUSR2) == 1 && sigismember(&mask, SIGINT) == 0,
           "BLOCK_SIGNALS: the mask holds the signals named, and only those");
        (void) sigprocmask(SIG_SETMASK, NULL, &now);
        ok(sigismember(&now, SIGUSR1) == 1 && sigismember(&now, SIGUSR2) == 1, "... and they are blocked");
        ok(sigismember(&old, SIGUSR1) == 0, "... the mask before is kept, to put back");
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        (void) sigprocmask(SIG_SETMASK, NULL, &now);
        ok(sigismember(&now, SIGUSR1) == 0, "... which unblocks them");
        block_signals((const int[]) { SIGHUP }, 1, &mask, NULL);
        (void) sigprocmask(SIG_SETMASK, NULL, &now);
        ok(sigismember(&now, SIGHUP) == 1 && sigismember(&now, SIGUSR1) == 0, "block_signals() with no old mask wanted");
}

int main(void) {
        test_strv_push_n();
        test_block_signals();
        return tap_done();
}
