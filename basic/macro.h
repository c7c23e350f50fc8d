/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _fallthrough_ __attribute__((fallthrough))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
/* "1 job", "2 jobs": word is a string literal */
#define PLURAL(n, word) ((n) == 1 ? word : word "s")

/* Hand ownership over: returns the value and resets the variable, so its cleanup handler does nothing. */
#define TAKE_GENERIC(var, type, nullvalue)                      \
        ({                                                      \
                type *_pvar_ = &(var);                          \
                type _var_ = *_pvar_;                           \
                *_pvar_ = (nullvalue);                          \
                _var_;                                          \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, __typeof__(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)

/* Turn libc's -1/errno convention into a negative errno at the call site. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
#define RET_NERRNO(expr)                                        \
        ({                                                      \
                long _r_ = (long) (expr);                       \
                _r_ < 0 ? negative_errno() : (int) _r_;         \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

#define new0(type, n) ((type *) calloc((n), sizeof(type)))

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void close_pair(int p[2]) {
        p[0] = safe_close(p[0]);
        p[1] = safe_close(p[1]);
}
static inline void close_pairp(int (*p)[2]) {
        close_pair(*p);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type *p) {                   \
                if (*p)                                         \
                        func(*p);                               \
        }

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
