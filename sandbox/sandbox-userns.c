/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "sandbox-internal.h"

int userns_write_maps(pid_t pid, const char *uid_map, const char *gid_map, bool deny_setgroups) {
        char dir[64];
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (pid == 0)
                (void) snprintf(dir, sizeof dir, "/proc/self");
        else
                (void) snprintf(dir, sizeof dir, "/proc/%d", (int) pid);
        fd = open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* An unprivileged writer may map only its own gid, and only after giving up setgroups(2)
         * (user_namespaces(7), since Linux 3.19). */
        if (deny_setgroups) {
                r = write_string_file_at(fd, "setgroups", "deny");
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        r = write_string_file_at(fd, "uid_map", uid_map);
        if (r < 0)
                return r;
        return write_string_file_at(fd, "gid_map", gid_map);
}

int drop_bounding_capabilities(void) {
        for (unsigned long cap = 0; cap <= 63; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
                        if (errno == EINVAL) /* past CAP_LAST_CAP of this kernel */
                                break;
                        return -errno;
                }
        return RET_NERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
}

/* Empty permitted, effective and inheritable sets (the ambient set follows the permitted one). Enough for a
 * process that never executes anything again, such as init: the bounding set only limits what execve() grants. */
int drop_all_capabilities(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

        return RET_NERRNO(syscall(SYS_capset, &h, d));
}

/* The parent's uid_map lines "inside outside count" become identity lines "inside inside count": as root the
 * command keeps every uid it had, but in a user namespace that owns none of the sandbox's other namespaces. */
int identity_map(const char *file, char *buf, size_t len) {
        _cleanup_free_ char *text = NULL;
        size_t used = 0;
        int r;

        r = read_full_file_at(AT_FDCWD, file, &text, NULL);
        if (r < 0)
                return r;
        buf[0] = '\0';
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                unsigned long inside, outside, count;
                if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) != 3)
                        continue;
                used += (size_t) snprintf(buf + used, len - used, "%lu %lu %lu\n", inside, inside, count);
                if (used >= len)
                        return -E2BIG;
        }
        return 0;
}

