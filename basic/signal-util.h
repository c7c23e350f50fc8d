/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stddef.h>

/* Blocks the n signals: *ret_mask gets them (for signalfd() or sigwaitinfo()), *ret_old (may be NULL) the mask
 * before, to put back with sigprocmask(SIG_SETMASK, ret_old, NULL). Async-signal-safe. */
void block_signals(const int *signals, size_t n, sigset_t *ret_mask, sigset_t *ret_old);
/* The same for a list written out: BLOCK_SIGNALS(&mask, &old, SIGINT, SIGTERM). */
#define BLOCK_SIGNALS(ret_mask, ret_old, ...)                                                      \
        block_signals((const int[]) { __VA_ARGS__ }, sizeof((const int[]) { __VA_ARGS__ }) / sizeof(int), \
                      ret_mask, ret_old)
