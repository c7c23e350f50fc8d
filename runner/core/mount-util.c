/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mount-util.h"

static void *libmount;

DLSYM_FUNCTION(mnt_new_table_from_file);
DLSYM_FUNCTION(mnt_unref_table);
DLSYM_FUNCTION(mnt_new_iter);
DLSYM_FUNCTION(mnt_free_iter);
DLSYM_FUNCTION(mnt_table_next_fs);
DLSYM_FUNCTION(mnt_fs_get_target);
DLSYM_FUNCTION(mnt_fs_get_fstype);

int dlopen_libmount(const char **ret_error) {
        return dlopen_many_sym(&libmount, "libmount.so.1", ret_error,
                               DLSYM_ARG(mnt_new_table_from_file),
                               DLSYM_ARG(mnt_unref_table),
                               DLSYM_ARG(mnt_new_iter),
                               DLSYM_ARG(mnt_free_iter),
                               DLSYM_ARG(mnt_table_next_fs),
                               DLSYM_ARG(mnt_fs_get_target),
                               DLSYM_ARG(mnt_fs_get_fstype),
                               NULL);
}
