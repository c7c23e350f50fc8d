/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Minimal TAP producer for meson's 'tap' protocol. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                   \
        do {                                                            \
                bool _c_ = (cond);                                      \
                tap_n++;                                                \
                if (!_c_)                                               \
                        tap_failed++;                                   \
                printf("%s %d - ", _c_ ? "ok" : "not ok", tap_n);       \
                printf(__VA_ARGS__);                                    \
                printf("\n");                                           \
                if (!_c_)                                               \
                        printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        } while (0)

#define is_int(got, want, name)                                         \
        do {                                                            \
                long long _g_ = (long long) (got), _w_ = (long long) (want); \
                ok(_g_ == _w_, "%s (got %lld, want %lld)", name, _g_, _w_); \
        } while (0)

#define is_u64(got, want, name)                                         \
        do {                                                            \
                uint64_t _g_ = (got), _w_ = (want);                     \
                ok(_g_ == _w_, "%s (got %" PRIu64 ", want %" PRIu64 ")", name, _g_, _w_); \
        } while (0)

#define is_str(got, want, name)                                         \
        do {                                                            \
                const char *_g_ = (got), *_w_ = (want);                 \
                ok(_g_ && _w_ && strcmp(_g_, _w_) == 0, "%s (got \"%s\", want \"%s\")", name, \
                   _g_ ? _g_ : "(null)", _w_ ? _w_ : "(null)");         \
        } while (0)

static inline int tap_done(void) {
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}
