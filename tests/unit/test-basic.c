/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The small helpers of basic/ that the verbs and sources share: strv_push_n(), strv_contains(), block_signals(),
 * copy_job_file_at(). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
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
        ok(strv_contains(v, "b") && !strv_contains(v, "d") && !strv_contains(v, "") && !strv_contains(NULL, "a"),
           "strv_contains: a string it holds, none it does not, none in NULL");
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

static void put(int dir, const char *name, const char *text) {
        int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd >= 0) {
                (void) !write(fd, text, strlen(text));
                close(fd);
        }
}

/* What nsrun copies out of a job's directory (coverage data, hypothesis examples): a regular file, bounded, into
 * a new file only, nothing left behind when it refuses. */
static void test_copy_job_file_at(void) {
        char tmpl[] = "/tmp/nsrun-test-basic.XXXXXX";
        _cleanup_free_ char *text = NULL;
        struct stat st;
        int dir;

        if (!mkdtemp(tmpl) || (dir = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                ok(false, "copy_job_file_at: a scratch directory");
                return;
        }
        put(dir, "data", "0123456789");
        is_int(copy_job_file_at(dir, "data", 10, dir, "copy"), 0, "copy_job_file_at: a regular file of max bytes");
        is_int(read_job_file_at(dir, "copy", 100, &text, NULL), 0, "... its copy reads back");
        is_str(text, "0123456789", "... the same bytes");
        put(dir, "mine", "kept");
        is_int(copy_job_file_at(dir, "data", 10, dir, "mine"), -EEXIST, "... never over an existing file");
        free(text);
        text = NULL;
        is_int(read_job_file_at(dir, "mine", 100, &text, NULL), 0, "... which is left as it was");
        is_str(text, "kept", "... its content too");
        is_int(copy_job_file_at(dir, "data", 9, dir, "big"), -EFBIG, "... one byte more than max: -EFBIG");
        ok(fstatat(dir, "big", &st, AT_SYMLINK_NOFOLLOW) < 0, "... and no file made");
        (void) symlinkat("data", dir, "link");
        is_int(copy_job_file_at(dir, "link", 100, dir, "via-link"), -ELOOP, "... not through a symbolic link");
        (void) mkfifoat(dir, "fifo", 0600);
        ok(copy_job_file_at(dir, "fifo", 100, dir, "from-fifo") < 0 &&
           fstatat(dir, "from-fifo", &st, AT_SYMLINK_NOFOLLOW) < 0, "... not from a FIFO, and nothing made");
        (void) symlinkat("/nonexistent-target", dir, "dangling");
        is_int(copy_job_file_at(dir, "data", 100, dir, "dangling"), -EEXIST, "... not through a link at the target");
        for (const char *n = "data\0copy\0mine\0link\0fifo\0dangling\0"; *n; n += strlen(n) + 1)
                (void) unlinkat(dir, n, 0);
        close(dir);
        (void) rmdir(tmpl);
}

static void test_copy_fd_max(void) {
        int p[2], out = open("/dev/null", O_WRONLY | O_CLOEXEC);

        if (pipe(p) < 0 || out < 0) {
                ok(false, "copy_fd: a pipe");
                return;
        }
        (void) !write(p[1], "abcdef", 6);
        close(p[1]);
        is_int(copy_fd(p[0], out, 5), -EFBIG, "copy_fd: more to read than max (a file that grew): -EFBIG");
        close(p[0]);
        close(out);
}

int main(void) {
        test_strv_push_n();
        test_block_signals();
        test_copy_job_file_at();
        test_copy_fd_max();
        return tap_done();
}
