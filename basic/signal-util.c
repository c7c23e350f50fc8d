/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signal-util.h"

void block_signals(const int *signals, size_t n, sigset_t *ret_mask, sigset_t *ret_old) {
        sigemptyset(ret_mask);
        for (size_t i = 0; i < n; i++)
                sigaddset(ret_mask, signals[i]);
        (void) sigprocmask(SIG_BLOCK, ret_mask, ret_old);
}
