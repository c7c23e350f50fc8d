/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Turns a refused sandbox into one sentence that names what the kernel refused and how to fix it. */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "fileio.h"
#include "parse-util.h"
#include "sandbox-internal.h"

static const char *const step_names[_SANDBOX_STEP_MAX] = {
        [SANDBOX_STEP_NONE] = "run",
        [SANDBOX_STEP_CLONE] = "create namespaces",
        [SANDBOX_STEP_USERNS_MAP] = "map the user namespace's uid/gid",
        [SANDBOX_STEP_MOUNT_PRIVATE] = "make mounts private",
        [SANDBOX_STEP_OPEN_SOURCE] = "open",
        [SANDBOX_STEP_STAGING] = "mount the staging tmpfs",
        [SANDBOX_STEP_ROOT_READONLY] = "make the host's mount tree read-only",
        [SANDBOX_STEP_OVERLAY] = "mount overlayfs on",
        [SANDBOX_STEP_BIND] = "bind-mount",
        [SANDBOX_STEP_TMPFS] = "mount tmpfs on",
        [SANDBOX_STEP_DEV] = "set up /dev",
        [SANDBOX_STEP_PROC] = "mount /proc",
        [SANDBOX_STEP_NETNS] = "create the network, IPC and UTS namespaces",
        [SANDBOX_STEP_LOOPBACK] = "bring up the loopback interface",
        [SANDBOX_STEP_RESTRICT] = "restrict the command's privileges with",
        [SANDBOX_STEP_CHDIR] = "change to the working directory",
        [SANDBOX_STEP_COMMAND_USERNS] = "create the command's user namespace",
        [SANDBOX_STEP_EXEC] = "execute",
};

const char *sandbox_step_to_string(SandboxStep s) {
        return s < _SANDBOX_STEP_MAX && step_names[s] ? step_names[s] : "set up the sandbox";
}

static int read_sysctl(const char *path, long *ret) {
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        int r;

        r = read_one_line_file_at(AT_FDCWD, path, &s);
        if (r < 0)
                return r;
        r = parse_uint64(s, &v);
        if (r < 0)
                return r;
        *ret = (long) v;
        return 0;
}

static bool seccomp_filtered(void) {
        _cleanup_free_ char *status = NULL;
        const char *p;

        if (read_full_file_at(AT_FDCWD, "/proc/self/status", &status, NULL) < 0)
                return false;
        p = strstr(status, "\nSeccomp:");
        return p && strtol(p + 9, NULL, 10) == 2;
}

/* Knobs that switch unprivileged user namespaces off, checked in the order a user should fix them. */
static bool explain_userns_refusal(char *buf, size_t len) {
        long v;

        if (read_sysctl("/proc/sys/user/max_user_namespaces", &v) >= 0 && v == 0) {
                (void) snprintf(buf, len,
                                "user namespaces are disabled on this machine (user.max_user_namespaces = 0); enable "
                                "them with 'sysctl -w user.max_user_namespaces=15000'");
                return true;
        }
        if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", &v) >= 0 && v == 0) {
                (void) snprintf(buf, len,
                                "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0); "
                                "enable them with 'sysctl -w kernel.unprivileged_userns_clone=1', or run as root");
                return true;
        }
        if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) >= 0 && v == 1) {
                (void) snprintf(buf, len,
                                "AppArmor restricts unprivileged user namespaces "
                                "(kernel.apparmor_restrict_unprivileged_userns = 1); install nsrun's AppArmor profile "
                                "(packaging/apparmor/nsrun, installed by the nsrun package) or run "
                                "'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0'");
                return true;
        }
        if (seccomp_filtered()) {
                (void) snprintf(buf, len,
                                "a seccomp filter refuses to create namespaces (Docker's default profile does); run the "
                                "container with --security-opt seccomp=unconfined, or --privileged");
                return true;
        }
        return false;
}

static bool kernel_older_than(unsigned major, unsigned minor) {
        struct utsname u;
        unsigned a, b;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &a, &b) != 2)
                return false;
        return a < major || (a == major && b < minor);
}

bool sandbox_explain(int error, const SandboxResult *r, char *buf, size_t len) {
        int e = r ? r->error : (error < 0 ? -error : error);
        bool denied = e == EPERM || e == EACCES || e == ENOSPC || e == EUSERS || e == EINVAL;

        if (!r || r->step == SANDBOX_STEP_CLONE || r->step == SANDBOX_STEP_USERNS_MAP ||
            r->step == SANDBOX_STEP_NETNS || r->step == SANDBOX_STEP_COMMAND_USERNS) {
                if (denied && explain_userns_refusal(buf, len))
                        return true;
                (void) snprintf(buf, len,
                                "the kernel refused to create the sandbox's namespaces (%s); run 'nsrun doctor' to "
                                "see which one and why",
                                strerror(e));
                return denied;
        }
        if (r->step == SANDBOX_STEP_OVERLAY && denied && !sandbox_privileged() && kernel_older_than(5, 11)) {
                (void) snprintf(buf, len,
                                "overlayfs is not allowed in a user namespace on this kernel (it needs Linux 5.11); "
                                "run nsrun as root, or on a newer kernel");
                return true;
        }
        if (r->step == SANDBOX_STEP_PROC && denied) {
                (void) snprintf(buf, len,
                                "the kernel refused a new /proc, because parts of this /proc are masked (as in a "
                                "container); run the container with --security-opt systempaths=unconfined, or "
                                "--privileged");
                return true;
        }
        if (denied && r->step != SANDBOX_STEP_CHDIR && explain_userns_refusal(buf, len))
                return true;
        (void) snprintf(buf, len, "failed to %s%s%s: %s", sandbox_step_to_string(r->step), r->detail[0] ? " " : "",
                        r->detail, strerror(e));
        return false;
}
