/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one place runner/ adapts libmount: reading mount tables (/proc/self/mountinfo, with its octal escapes and
 * optional fields) for nsrun doctor. Loaded with dlopen() on first use (see basic/dlopen-util.h): libmount pulls
 * in libblkid, libselinux and libpcre2, which every nsrun start would otherwise load. */

#include <libmount.h>

#include "dlopen-util.h"
#include "macro.h"

DLSYM_PROTOTYPE(mnt_new_table_from_file);
DLSYM_PROTOTYPE(mnt_unref_table);
DLSYM_PROTOTYPE(mnt_new_iter);
DLSYM_PROTOTYPE(mnt_free_iter);
DLSYM_PROTOTYPE(mnt_table_next_fs);
DLSYM_PROTOTYPE(mnt_fs_get_target);
DLSYM_PROTOTYPE(mnt_fs_get_fstype);

/* Loads libmount.so.1; -EOPNOTSUPP with *ret_error saying why when it is not there. */
int dlopen_libmount(const char **ret_error);

static inline void mnt_unref_tablep(struct libmnt_table **t) {
        if (*t)
                sym_mnt_unref_table(*t);
}

static inline void mnt_free_iterp(struct libmnt_iter **i) {
        if (*i)
                sym_mnt_free_iter(*i);
}
