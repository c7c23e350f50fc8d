/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Adapter for libmount: cleanup helpers for its types and the one place that turns its errors into -errno. */

#include <errno.h>
#include <libmount.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_context *, mnt_free_context);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_unref_table);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, mnt_free_iter);

/* libmount returns either a negative errno (library failure) or, once mount(2) ran, a positive MNT_ERR_* code
 * with the syscall's errno kept in the context. */
static inline int mnt_context_result_to_errno(struct libmnt_context *cxt, int r) {
        if (r == 0)
                return 0;
        if (mnt_context_syscall_called(cxt) && mnt_context_get_syscall_errno(cxt) != 0)
                return -mnt_context_get_syscall_errno(cxt);
        return r < 0 ? r : -EINVAL;
}
