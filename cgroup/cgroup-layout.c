/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which cgroup file systems are mounted where, and where nsrun sits in them. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cgroup-internal.h"
#include "fileio.h"
#include "macro.h"

static const char *const layout_names[_CGROUP_LAYOUT_MAX] = {
        [CGROUP_LAYOUT_UNKNOWN] = "unknown",
        [CGROUP_LAYOUT_V2] = "v2",
        [CGROUP_LAYOUT_HYBRID] = "hybrid",
        [CGROUP_LAYOUT_V1] = "v1",
};

static const char *const backend_names[_CGROUP_BACKEND_MAX] = {
        [CGROUP_BACKEND_NONE] = "none",
        [CGROUP_BACKEND_V2] = "cgroup v2",
        [CGROUP_BACKEND_V1] = "cgroup v1",
        [CGROUP_BACKEND_SYSTEMD] = "systemd scope",
};

const char *cgroup_layout_to_string(CgroupLayout l) {
        return l >= 0 && l < _CGROUP_LAYOUT_MAX ? layout_names[l] : NULL;
}

const char *cgroup_backend_to_string(CgroupBackendKind k) {
        return k >= 0 && k < _CGROUP_BACKEND_MAX ? backend_names[k] : NULL;
}

static int fs_type(const char *root, const char *sub, long *ret) {
        _cleanup_free_ char *p = sub ? cg_path_join(root, sub) : strdup(root);
        struct statfs sfs;

        if (!p)
                return -ENOMEM;
        if (statfs(p, &sfs) < 0)
                return -errno;
        *ret = (long) sfs.f_type;
        return 0;
}

int cgroup_layout_detect(const char *sysfs_root, CgroupLayout *ret) {
        long t = 0;
        int r;

        r = fs_type(sysfs_root, NULL, &t);
        if (r < 0)
                return r;
        if (t == CGROUP2_SUPER_MAGIC) {
                *ret = CGROUP_LAYOUT_V2;
                return 0;
        }
        if (t != TMPFS_MAGIC) {
                *ret = CGROUP_LAYOUT_UNKNOWN;
                return 0;
        }
        /* systemd's hybrid mode mounts cgroup2 at "unified" (older versions at "systemd", with v1's
         * name=systemd elsewhere); we only need to know that some v1 controller is there. */
        if (fs_type(sysfs_root, "unified", &t) >= 0 && t == CGROUP2_SUPER_MAGIC)
                *ret = CGROUP_LAYOUT_HYBRID;
        else if ((fs_type(sysfs_root, "memory", &t) >= 0 && t == CGROUP_SUPER_MAGIC) ||
                 (fs_type(sysfs_root, "systemd", &t) >= 0 && t == CGROUP_SUPER_MAGIC) ||
                 (fs_type(sysfs_root, "pids", &t) >= 0 && t == CGROUP_SUPER_MAGIC))
                *ret = CGROUP_LAYOUT_V1;
        else
                *ret = CGROUP_LAYOUT_UNKNOWN;
        return 0;
}

int cgroup_v2_mount(const char *sysfs_root, CgroupLayout layout, char **ret) {
        char *p;

        if (layout == CGROUP_LAYOUT_V2)
                p = strdup(sysfs_root);
        else if (layout == CGROUP_LAYOUT_HYBRID)
                p = cg_path_join(sysfs_root, "unified");
        else
                return -ENOMEDIUM;
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int cgroup_v1_locate(const char *sysfs_root, const char *proc_self_cgroup, const char *controller,
                     char **ret_mount, char **ret_own) {
        _cleanup_free_ char *own = NULL, *mount = NULL, *procs = NULL;
        struct stat st;
        int r;

        r = cgroup_parse_proc_self(proc_self_cgroup, controller, &own);
        if (r < 0)
                return r == -ENODATA ? -ENOENT : r;
        mount = cg_path_join(sysfs_root, controller);
        if (!mount)
                return -ENOMEM;
        procs = cg_path_join(mount, "cgroup.procs");
        if (!procs)
                return -ENOMEM;
        /* A hierarchy listed in /proc/self/cgroup but mounted elsewhere (or not at all) is of no use. */
        if (stat(procs, &st) < 0)
                return -errno;
        *ret_mount = TAKE_PTR(mount);
        *ret_own = TAKE_PTR(own);
        return 0;
}

int cgroup_read_proc_self(const char *proc_root, char **ret) {
        _cleanup_free_ char *p = cg_path_join(proc_root ? proc_root : "/proc", "self/cgroup");

        if (!p)
                return -ENOMEM;
        return read_full_file_at(AT_FDCWD, p, ret, NULL);
}
