/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

/* The one clock nsrun measures durations with: CLOCK_MONOTONIC, in microseconds. */
static inline uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Seconds since t0 (a now_usec() reading), as the reports print them. */
static inline double seconds_since(uint64_t t0) {
        return (double) (now_usec() - t0) / (double) USEC_PER_SEC;
}
