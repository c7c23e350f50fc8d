/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsrun doctor: what this machine allows, found by doing it. Each namespace is created for real, the sandbox is
 * built and runs 'true' as `nsrun exec` would, and a memory-capped cgroup is made the way a run makes one; a
 * refusal is explained with the same sentences a run would print (sandbox_explain(), the cgroup manager's
 * refusal). Reading sysctls alone would not do: seccomp filters, AppArmor and masked /proc paths refuse without
 * any knob saying so. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "cgroup.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "mount-util.h"
#include "parse-util.h"
#include "runner-doctor.h"
#include "runner-launch.h"
#include "runner-options.h"

#define PROBE_MEM_MAX (UINT64_C(64) << 20)
#define PROBE_PIDS_MAX 64
#define PROBE_JOB "doctor"

typedef enum CheckStatus {
        CHECK_OK,
        CHECK_WARN,
        CHECK_FAIL,
} CheckStatus;

typedef enum CheckId {
        CHECK_KERNEL,
        CHECK_USERNS,
        CHECK_PIDNS,
        CHECK_NETNS,
        CHECK_MOUNTNS,
        CHECK_OVERLAY,
        CHECK_CGROUP_LAYOUT,
        CHECK_MEMORY,
        CHECK_PIDS,
        CHECK_SOCKET_MEM,
        CHECK_SYSTEMD,
        CHECK_JOB,
        CHECK_MACHINE_VIEW,
        CHECK_CONTAINER,
        CHECK_CPU_BUDGET,
        CHECK_MEM_BUDGET,
        _CHECK_MAX,
} CheckId;

static const char *const check_names[_CHECK_MAX] = {
        [CHECK_KERNEL] = "kernel",
        [CHECK_USERNS] = "user-namespaces",
        [CHECK_PIDNS] = "pid-namespace",
        [CHECK_NETNS] = "network-namespace",
        [CHECK_MOUNTNS] = "mount-namespace",
        [CHECK_OVERLAY] = "overlayfs",
        [CHECK_CGROUP_LAYOUT] = "cgroup-layout",
        [CHECK_MEMORY] = "memory-caps",
        [CHECK_PIDS] = "pids-caps",
        [CHECK_SOCKET_MEM] = "socket-memory",
        [CHECK_SYSTEMD] = "systemd",
        [CHECK_JOB] = "sandboxed-job",
        [CHECK_MACHINE_VIEW] = "machine-view",
        [CHECK_CONTAINER] = "container",
        [CHECK_CPU_BUDGET] = "cpu-budget",
        [CHECK_MEM_BUDGET] = "memory-budget",
};

typedef struct Check {
        CheckStatus status;
        char detail[1024];
        char fix[1024];
} Check;

/* What the environment says about a container around us, gathered before the cgroup manager moves nsrun. */
typedef struct ContainerInfo {
        char kind[64];          /* "docker", "podman", "kubernetes", ...; "" when none was detected */
        char evidence[256];
        bool kubernetes;
        bool seccomp;           /* a seccomp filter is applied to us */
        char apparmor[128];     /* our AppArmor label, "" if none */
        bool cgroupfs_ro;
        bool cgroupns_host;     /* our cgroup path shows the host's hierarchy (/docker/..., /kubepods/...) */
        bool proc_masked;       /* paths in /proc are covered (Docker's masked paths) */
} ContainerInfo;

typedef struct Doctor {
        Check checks[_CHECK_MAX];
        bool privileged;
        char *project;          /* what the overlay probes overlay: the current directory, or tmp_project */
        char *tmp_project;      /* made for the probes when the current directory is / */
        int null_fd;
        ContainerInfo container;
        SandboxResult mountns_result;
        CgroupManager *cgm;
        CgroupJob *job;
        bool memory_ok;
        char *cgroup_why;
        CpuBudget cpu;
        MemBudget mem;
        bool have_cpu, have_mem;
} Doctor;

static void doctor_help(void) {
        printf("Usage: nsrun doctor [OPTIONS]\n"
               "\n"
               "Check what this machine allows nsrun to do, by doing it: user, PID, network and mount\n"
               "namespaces, overlayfs in a user namespace, the cgroup layout, memory and process caps, systemd\n"
               "delegation, the container nsrun runs in and the settings it needs, and the CPU and memory\n"
               "budgets. One line per check (ok, warn, FAIL); each problem with its fix.\n"
               "\n"
               "Options:\n"
               "      --json               print one JSON object: each check's name, status, detail and fix\n"
               "  -h, --help               show this help\n"
               "\n"
               "Exit status: 0 sandboxes with memory caps work here (warnings do not count); 1 something\n"
               "nsrun needs fails (the FAIL lines say what and how to fix it); 2 bad usage.\n");
}

static void check_set(Doctor *d, CheckId id, CheckStatus status, const char *fix, const char *format, ...)
        _printf_(5, 6);

static void check_set(Doctor *d, CheckId id, CheckStatus status, const char *fix, const char *format, ...) {
        Check *c = &d->checks[id];
        va_list ap;

        c->status = status;
        va_start(ap, format);
        (void) vsnprintf(c->detail, sizeof c->detail, format, ap);
        va_end(ap);
        (void) snprintf(c->fix, sizeof c->fix, "%s", fix ? fix : "");
}

/* The explanations of sandbox_explain() and the cgroup manager are one sentence, "what was refused; the fix".
 * A check shows the two apart. */
static void check_set_explained(Doctor *d, CheckId id, const char *sentence, const char *fallback_fix) {
        const char *sep = strstr(sentence, "; ");
        const char *fix = sep ? sep + 2 : fallback_fix;

        /* We are the doctor the generic explanation sends the user to. */
        if (strstr(fix, "nsrun doctor"))
                fix = fallback_fix;
        check_set(d, id, CHECK_FAIL, fix, "%.*s", sep ? (int) (sep - sentence) : (int) strlen(sentence), sentence);
}

static bool check_failed(const Doctor *d, CheckId id) {
        return d->checks[id].status == CHECK_FAIL;
}

static unsigned count_status(const Doctor *d, CheckStatus s) {
        unsigned n = 0;

        for (CheckId i = 0; i < _CHECK_MAX; i++)
                n += d->checks[i].status == s;
        return n;
}

/* ---- probes ---- */

/* A child that only calls unshare(flags) and exits: the namespaces die with it, so nothing on the host changes.
 * The one namespace operation of nsrun outside sandbox/, here so that a refusal can be pinned on one kind of
 * namespace (sandbox_spawn() asks for most of them in one clone3(), and init for the network one). Returns 0 or unshare()'s -errno. */
static int probe_unshare(int flags) {
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                _exit(unshare(flags) < 0 ? (errno & 0xff) : 0);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? -WEXITSTATUS(status) : -EPROTO;
}

static char *probe_envp[] = { (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };

/* Runs spec (in job's cgroup if job is not NULL). Returns <0 if the sandbox could not even be cloned, else fills
 * *ret. */
static int probe_spec(SandboxSpec *spec, CgroupJob *job, SandboxResult *ret) {
        Sandbox *s = NULL;
        int r;

        r = launch_sandbox(spec, job, &s);
        if (r < 0 && !s)
                return r;
        if (r >= 0)
                r = sandbox_wait(s, ret);
        (void) sandbox_free(s);
        if (r < 0) /* lost track of it: report as a failed setup rather than a refused clone */
                *ret = (SandboxResult) { .outcome = SANDBOX_SETUP_FAILED, .error = -r };
        return 0;
}

/* Builds a sandbox with these mounts and network and runs 'true' in it (in job's cgroup if job is not NULL). */
static int probe_sandbox(Doctor *d, const char *cwd, SandboxMount *mounts, size_t n_mounts, SandboxNet net,
                         CgroupJob *job, SandboxResult *ret) {
        static char *argv[] = { (char *) "true", NULL };
        SandboxSpec spec = SANDBOX_SPEC_INIT;

        spec.argv = argv;
        spec.envp = probe_envp;
        spec.cwd = cwd;
        spec.mounts = mounts;
        spec.n_mounts = n_mounts;
        spec.net = net;
        for (size_t i = 0; i < 3; i++)
                spec.stdio[i] = d->null_fd; /* and never the terminal's foreground */
        return probe_spec(&spec, job, ret);
}

/* Turns a probe's outcome into the check's verdict. Returns true if 'true' ran and exited 0. */
static bool judge_sandbox(Doctor *d, CheckId id, int r, const SandboxResult *res, const char *what) {
        char why[1024];

        if (r < 0 || res->outcome == SANDBOX_SETUP_FAILED) {
                (void) sandbox_explain(r, r < 0 ? NULL : res, why, sizeof why);
                check_set_explained(d, id, why,
                                    r < 0 ? "the namespace checks say which one the kernel refused"
                                          : "check the path named; 'failed to' in troubleshooting.md (in /usr/share/doc/nsrun) "
                                            "lists the causes");
                return false;
        }
        if (res->outcome == SANDBOX_EXITED && res->code == 0) {
                check_set(d, id, CHECK_OK, NULL, "%s", what);
                return true;
        }
        if (res->outcome == SANDBOX_EXEC_FAILED)
                check_set(d, id, CHECK_FAIL, "install coreutils' 'true' in /usr/bin or /bin",
                          "the sandbox was built but 'true' could not be executed in it (%s)", strerror(res->error));
        else
                check_set(d, id, CHECK_FAIL, "see the kernel log (dmesg) for what killed it",
                          "'true' in the sandbox %s %d",
                          res->outcome == SANDBOX_EXITED ? "exited with" : "was killed by signal", res->code);
        return false;
}

/* ---- namespaces ---- */

static int read_sysctl(const char *path, long *ret) {
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        int r;

        r = read_one_line_file_at(AT_FDCWD, path, &s);
        if (r >= 0)
                r = parse_uint64(s, &v);
        if (r >= 0)
                *ret = (long) v;
        return r;
}

static void check_kernel(Doctor *d) {
        struct utsname u;
        unsigned major = 0, minor = 0;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2) {
                check_set(d, CHECK_KERNEL, CHECK_WARN, NULL, "cannot tell the kernel's version");
                return;
        }
        if (major < 5 || (major == 5 && minor < 12)) {
                check_set(d, CHECK_KERNEL, CHECK_WARN, "use Linux 5.12 or newer",
                          "Linux %s: nsrun needs 5.12 (mount_setattr() makes the host tree read-only; "
                          "overlayfs in a user namespace needs 5.11)", u.release);
                return;
        }
        check_set(d, CHECK_KERNEL, CHECK_OK, NULL, "Linux %s", u.release);
}

/* Is there an AppArmor profile named nsrun loaded (packaging/apparmor/nsrun)? Only root can list them. */
static bool apparmor_profile_loaded(void) {
        _cleanup_free_ char *text = NULL;

        if (read_full_file_at(AT_FDCWD, "/sys/kernel/security/apparmor/profiles", &text, NULL) < 0)
                return false;
        return strneq(text, "nsrun ", 6) || strstr(text, "\nnsrun ");
}

/* As root, the knobs that stop only unprivileged users: worth a warning, since rootless runs will hit them. */
static void check_userns_rootless_knobs(Doctor *d, long max) {
        long v;

        if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", &v) >= 0 && v == 0) {
                check_set(d, CHECK_USERNS, CHECK_WARN,
                          "for rootless use: sysctl -w kernel.unprivileged_userns_clone=1",
                          "root may create them (user.max_user_namespaces = %ld), other users may not "
                          "(kernel.unprivileged_userns_clone = 0)", max);
                return;
        }
        if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) >= 0 && v == 1 &&
            !apparmor_profile_loaded()) {
                check_set(d, CHECK_USERNS, CHECK_WARN,
                          "for rootless use: install nsrun's AppArmor profile (the nsrun package does; or copy "
                          "packaging/apparmor/nsrun to /etc/apparmor.d/ and run 'apparmor_parser -r "
                          "/etc/apparmor.d/nsrun')",
                          "root may create them, other users may not: AppArmor restricts them "
                          "(kernel.apparmor_restrict_unprivileged_userns = 1) and no 'nsrun' profile is loaded");
                return;
        }
        check_set(d, CHECK_USERNS, CHECK_OK, NULL, "created one as root; user.max_user_namespaces = %ld", max);
}

static void check_userns(Doctor *d) {
        char why[1024];
        long max = -1;
        int r;

        (void) read_sysctl("/proc/sys/user/max_user_namespaces", &max);
        r = probe_unshare(CLONE_NEWUSER);
        if (r < 0) {
                (void) sandbox_explain(r, NULL, why, sizeof why);
                check_set_explained(d, CHECK_USERNS, why,
                                    "find what forbids user namespaces here: a sysctl, a seccomp filter, "
                                    "or a security module");
        } else if (d->privileged)
                check_userns_rootless_knobs(d, max);
        else
                check_set(d, CHECK_USERNS, CHECK_OK, NULL, "created one as uid %u; user.max_user_namespaces = %ld",
                          (unsigned) getuid(), max);
}

/* Rootless, every other namespace is created inside a new user namespace, as the sandbox does. */
static void check_namespace(Doctor *d, CheckId id, int flag, const char *what) {
        int userns = d->privileged ? 0 : CLONE_NEWUSER;
        char why[1024];
        int r;

        if (!d->privileged && check_failed(d, CHECK_USERNS)) {
                check_set(d, id, CHECK_FAIL, "fix user-namespaces first",
                          "not tried: without a user namespace an unprivileged user cannot create one");
                return;
        }
        r = probe_unshare(flag | userns);
        if (r < 0) {
                (void) sandbox_explain(r, NULL, why, sizeof why);
                check_set_explained(d, id, why, "find what forbids it here: a seccomp filter or a security "
                                                "module (the kernel log may say)");
                return;
        }
        check_set(d, id, CHECK_OK, NULL, "created a %s namespace%s", what, userns ? " in a new user namespace" : "");
}

static void check_network(Doctor *d) {
        SandboxResult res;
        int r;

        check_namespace(d, CHECK_NETNS, CLONE_NEWNET, "network");
        if (check_failed(d, CHECK_NETNS))
                return;
        if (check_failed(d, CHECK_MOUNTNS)) {
                check_set(d, CHECK_NETNS, CHECK_OK, NULL, "created a network namespace (bringing its loopback "
                                                          "interface up needs the sandbox: see mount-namespace)");
                return;
        }
        r = probe_sandbox(d, "/", NULL, 0, SANDBOX_NET_LOOPBACK, NULL, &res);
        (void) judge_sandbox(d, CHECK_NETNS, r, &res,
                             "created a network namespace and brought its loopback interface up (127.0.0.1, ::1)");
}

/* The sandbox without overlays: the host's tree made read-only in place, fresh /tmp, /dev and /proc. */
static void check_mountns(Doctor *d) {
        int r;

        r = probe_sandbox(d, "/", NULL, 0, SANDBOX_NET_HOST, NULL, &d->mountns_result);
        (void) judge_sandbox(d, CHECK_MOUNTNS, r, &d->mountns_result,
                             "built a sandbox (mount, PID, IPC and UTS namespaces; read-only host tree; fresh "
                             "/tmp, /dev and /proc) and ran 'true' in it");
}

static void check_overlay(Doctor *d) {
        SandboxMount m = { .type = SANDBOX_MOUNT_OVERLAY, .path = d->project };
        SandboxResult res;
        char what[1024];
        int r;

        if (check_failed(d, CHECK_MOUNTNS)) {
                check_set(d, CHECK_OVERLAY, CHECK_FAIL, "fix mount-namespace first",
                          "not tried: the sandbox itself cannot be built");
                return;
        }
        r = probe_sandbox(d, d->project, &m, 1, SANDBOX_NET_HOST, NULL, &res);
        (void) snprintf(what, sizeof what, "overlaid %s%s (writes stay private)", d->project,
                        d->privileged ? "" : " from inside a user namespace");
        (void) judge_sandbox(d, CHECK_OVERLAY, r, &res, what);
}

/* ---- cgroups ---- */

/* Where the job's pids.max is: next to its memory files on v2, in the pids hierarchy on v1. */
static char *job_pids_max_path(const Doctor *d) {
        const char *run = cgroup_manager_run_path(d->cgm);
        _cleanup_free_ char *self = NULL, *own = NULL;
        char *p = NULL;

        if (!run)
                return NULL;
        if (cgroup_manager_backend(d->cgm) != CGROUP_BACKEND_V1)
                return asprintf(&p, "%s/" PROBE_JOB "/pids.max", run) < 0 ? NULL : p;
        if (read_full_file_at(AT_FDCWD, "/proc/self/cgroup", &self, NULL) < 0 ||
            cgroup_parse_proc_self(self, "pids", &own) < 0)
                return NULL;
        if (asprintf(&p, "/sys/fs/cgroup/pids%s/%s/" PROBE_JOB "/pids.max", streq(own, "/") ? "" : own,
                     strrchr(run, '/') + 1) < 0)
                return NULL;
        return p;
}

static void check_pids(Doctor *d) {
        _cleanup_free_ char *path = job_pids_max_path(d), *value = NULL;

        if (!d->job) {
                check_set(d, CHECK_PIDS, CHECK_WARN, "see memory-caps",
                          "not tried: nsrun cannot create cgroups here");
                return;
        }
        if (!path || read_one_line_file_at(AT_FDCWD, path, &value) < 0) {
                check_set(d, CHECK_PIDS, CHECK_WARN,
                          "enable the pids controller (cgroup v2: in the parent's cgroup.subtree_control; "
                          "v1: mount it) to stop fork bombs",
                          "the pids controller is not available: --pids-max is not enforced (jobs still "
                          "cannot outlive their sandbox)");
                return;
        }
        check_set(d, CHECK_PIDS, CHECK_OK, NULL, "set pids.max = %s in %s", value, path);
}

/* Loopback TCP buffers are memory a job holds in the kernel: without them in its cap, a job under 64 MiB held
 * 400 MiB (cgroup v1). */
static void check_socket_memory(Doctor *d) {
        _cleanup_free_ char *why = NULL;
        int r;

        if (!d->job || !d->memory_ok) {
                check_set(d, CHECK_SOCKET_MEM, CHECK_WARN, "see memory-caps", "not tried: no memory cap here");
                return;
        }
        r = cgroup_job_sockets_charged(d->job, &why);
        if (r < 0)
                check_set(d, CHECK_SOCKET_MEM, CHECK_WARN,
                          "boot a kernel with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or with kmem "
                          "accounting, without cgroup.memory=nosocket",
                          "a job's socket buffers are not in its memory cap: %s",
                          why ?: "the kernel does not say why");
        else
                check_set(d, CHECK_SOCKET_MEM, CHECK_OK, NULL, "a job's socket buffers (loopback TCP) count against "
                          "its memory cap%s", cgroup_manager_backend(d->cgm) == CGROUP_BACKEND_V1 ?
                          " (cgroup v1: memory.kmem.tcp.limit_in_bytes set to the cap)" : "");
}

static void check_cgroups(Doctor *d) {
        CgroupManagerOptions co = { .allow_systemd = true, .require_memory = true };
        CgroupLimits limits = { .mem_max = PROBE_MEM_MAX, .pids_max = PROBE_PIDS_MAX };
        CgroupLayout layout;
        int r;

        r = cgroup_manager_new(&co, &d->cgm, &d->cgroup_why);
        d->memory_ok = r >= 0;
        if (r < 0) {
                /* Only to learn the layout, and whether processes can still be capped (--mem-cap off). */
                co.require_memory = false;
                if (cgroup_manager_new(&co, &d->cgm, NULL) < 0)
                        d->cgm = NULL;
                limits.mem_max = CGROUP_LIMIT_MAX;
                check_set_explained(d, CHECK_MEMORY, d->cgroup_why ?: strerror(-r),
                                    "run as root, or delegate a cgroup to this user");
        }
        layout = cgroup_manager_layout(d->cgm);
        check_set(d, CHECK_CGROUP_LAYOUT, layout == CGROUP_LAYOUT_UNKNOWN ? CHECK_WARN : CHECK_OK,
                  "mount cgroup2 on /sys/fs/cgroup", "%s", cgroup_layout_to_string(layout));
        if (cgroup_manager_backend(d->cgm) != CGROUP_BACKEND_NONE) {
                r = cgroup_job_new(d->cgm, PROBE_JOB, &limits, &d->job);
                if (r < 0 && d->memory_ok) {
                        d->memory_ok = false;
                        check_set(d, CHECK_MEMORY, CHECK_FAIL, "pass --mem-cap off to run without memory caps",
                                  "cannot create a memory-capped cgroup below %s: %s",
                                  cgroup_manager_run_path(d->cgm), strerror(-r));
                }
        }
        if (d->memory_ok)
                check_set(d, CHECK_MEMORY, CHECK_OK, NULL, "%s backend: capped a cgroup at %s below %s",
                          cgroup_backend_to_string(cgroup_manager_backend(d->cgm)), FORMAT_SIZE(PROBE_MEM_MAX),
                          cgroup_manager_run_path(d->cgm));
        check_pids(d);
        check_socket_memory(d);
}

static void check_systemd(Doctor *d) {
        bool booted = access("/run/systemd/system", F_OK) >= 0;
        const char *clause = d->cgroup_why ? strstr(d->cgroup_why, "systemd") : NULL;

        if (cgroup_manager_backend(d->cgm) == CGROUP_BACKEND_SYSTEMD) {
                check_set(d, CHECK_SYSTEMD, CHECK_OK, NULL,
                          "the %s manager gave nsrun a scope with Delegate=yes over D-Bus",
                          geteuid() == 0 ? "system" : "user");
                return;
        }
        if (d->memory_ok) {
                check_set(d, CHECK_SYSTEMD, CHECK_OK, NULL,
                          "not needed: nsrun may write its own cgroup%s",
                          booted ? "" : " (systemd is not this machine's init)");
                return;
        }
        if (!HAVE_SYSTEMD) {
                check_set(d, CHECK_SYSTEMD, CHECK_WARN, "rebuild nsrun with -Dsystemd=enabled (libsystemd)",
                          "built without systemd support: nsrun cannot ask for a delegated scope");
                return;
        }
        if (cgroup_manager_layout(d->cgm) != CGROUP_LAYOUT_V2) {
                check_set(d, CHECK_SYSTEMD, CHECK_WARN, NULL,
                          "not used: nsrun asks systemd for a delegated scope on cgroup v2 only");
                return;
        }
        check_set(d, CHECK_SYSTEMD, CHECK_WARN,
                  geteuid() == 0 ? "start nsrun under 'systemd-run --scope -p Delegate=yes'"
                                 : "log in through a session with a user manager (loginctl enable-linger USER), or "
                                   "start nsrun under 'systemd-run --user --scope -p Delegate=yes'",
                  "%s%s", clause ? clause : "systemd did not give nsrun a delegated scope",
                  booted ? "" : " (systemd is not this machine's init)");
}

/* Everything together, as `nsrun exec --mem 64M -- true` in the project would: overlays of the project and
 * $HOME, a loopback network, in the capped cgroup. */
static void check_job(Doctor *d) {
        SandboxOptions o = { .net = SANDBOX_NET_LOOPBACK };
        _cleanup_free_ SandboxMount *mounts = NULL;
        CgroupStats st = {};
        SandboxResult res;
        char what[1024];
        size_t n;
        int r;

        o.root_dir = strdup(d->project);
        if (!o.root_dir || sandbox_options_finish(&o) < 0 || sandbox_options_mounts(&o, NULL, NULL, &mounts, &n) < 0) {
                sandbox_options_done(&o);
                check_set(d, CHECK_JOB, CHECK_FAIL, NULL, "cannot prepare the sandbox's mounts");
                return;
        }
        r = probe_sandbox(d, d->project, mounts, n, SANDBOX_NET_LOOPBACK, d->job, &res);
        if (d->job)
                (void) cgroup_job_stats(d->job, &st);
        (void) snprintf(what, sizeof what, "ran 'true' as 'nsrun exec' would, in %s%s%s", d->project,
                        d->memory_ok ? ", capped at " : "", d->memory_ok ? FORMAT_SIZE(PROBE_MEM_MAX) : "");
        /* On v1 a process moved in after fork leaves its earlier pages charged where they were, so 'true' may
         * show no peak at all: say nothing then rather than "0 B". */
        if (judge_sandbox(d, CHECK_JOB, r, &res, what) && d->memory_ok && st.peak_mem > 0)
                (void) snprintf(d->checks[CHECK_JOB].detail + strlen(d->checks[CHECK_JOB].detail),
                                sizeof d->checks[CHECK_JOB].detail - strlen(d->checks[CHECK_JOB].detail),
                                " (peak %s measured)", FORMAT_SIZE(st.peak_mem));
        sandbox_options_done(&o);
}

/* A job capped at 64 MiB must read MemTotal 64 MiB in /proc/meminfo: suites size themselves from it. Jobs run
 * without it where it cannot be bound, seeing the host's memory, so this is a warning at worst. */
static void check_machine_view(Doctor *d) {
        static char *argv[] = { (char *) "cat", (char *) "/proc/meminfo", NULL };
        SandboxSpec spec = SANDBOX_SPEC_INIT;
        _cleanup_close_ int fd = -EBADF;
        SandboxResult res = {};
        char buf[4096] = "";
        const char *total;
        ssize_t n;
        int r;

        if (check_failed(d, CHECK_MOUNTNS)) {
                check_set(d, CHECK_MACHINE_VIEW, CHECK_WARN, "fix mount-namespace first", "not tried");
                return;
        }
        fd = memfd_create("nsrun-doctor-meminfo", MFD_CLOEXEC);
        if (fd < 0) {
                check_set(d, CHECK_MACHINE_VIEW, CHECK_WARN, NULL, "not tried: memfd_create(): %s", strerror(errno));
                return;
        }
        spec.argv = argv;
        spec.envp = probe_envp;
        spec.cwd = "/";
        spec.net = SANDBOX_NET_HOST;
        spec.stdio[0] = spec.stdio[2] = d->null_fd;
        spec.stdio[1] = fd;
        spec.mem_view = (SandboxMemView) { .total = PROBE_MEM_MAX, .available = PROBE_MEM_MAX };
        r = probe_spec(&spec, NULL, &res);
        n = r < 0 ? -1 : pread(fd, buf, sizeof buf - 1, 0);
        buf[MAX(n, (ssize_t) 0)] = '\0';
        total = strstr(buf, "MemTotal:");
        if (total && strtoull(total + strlen("MemTotal:"), NULL, 10) == PROBE_MEM_MAX >> 10)
                check_set(d, CHECK_MACHINE_VIEW, CHECK_OK, NULL,
                          "a job capped at %s reads MemTotal %s in /proc/meminfo (sysinfo(2) still shows the host's)",
                          FORMAT_SIZE(PROBE_MEM_MAX), FORMAT_SIZE(PROBE_MEM_MAX));
        else
                check_set(d, CHECK_MACHINE_VIEW, CHECK_WARN,
                          "none needed to run; tests that size themselves from /proc/meminfo will see the host",
                          "a job's /proc/meminfo shows the host's memory, not its cap (%s)",
                          r < 0 || res.outcome != SANDBOX_EXITED ? "'cat /proc/meminfo' did not run in the sandbox"
                                                                 : "the bind over it failed");
}

/* ---- the container around us ---- */

static void container_found(ContainerInfo *c, const char *kind, const char *evidence) {
        if (c->kind[0])
                return;
        (void) snprintf(c->kind, sizeof c->kind, "%s", kind);
        (void) snprintf(c->evidence, sizeof c->evidence, "%s", evidence);
}

/* container= in pid 1's environment (systemd's convention, set by podman, LXC, nspawn). Only readable with
 * enough privilege over pid 1. */
static void container_from_pid1_env(ContainerInfo *c) {
        _cleanup_free_ char *env = NULL;
        size_t n;

        if (read_full_file_at(AT_FDCWD, "/proc/1/environ", &env, &n) < 0)
                return;
        for (size_t i = 0; i < n; i += strlen(env + i) + 1)
                if (strneq(env + i, "container=", 10) && env[i + 10]) {
                        char kind[64];
                        (void) snprintf(kind, sizeof kind, "%s", env + i + 10);
                        container_found(c, kind, "container= in pid 1's environment");
                }
}

static const char *cgroup_path_hint(const char *text) {
        static const char *const hints[][2] = {
                { "/kubepods", "kubernetes" }, { "/docker", "docker" },   { "docker-", "docker" },
                { "/libpod", "podman" },       { "/lxc", "lxc" },         { "/actions_job", "github-actions" },
                { "containerd", "containerd" },
        };

        for (size_t i = 0; i < ELEMENTSOF(hints); i++)
                if (strstr(text, hints[i][0]))
                        return hints[i][1];
        return NULL;
}

static void container_detect_kind(ContainerInfo *c) {
        _cleanup_free_ char *text = NULL;
        const char *hint;

        if (access("/run/.containerenv", F_OK) >= 0)
                container_found(c, "podman", "/run/.containerenv");
        if (access("/.dockerenv", F_OK) >= 0)
                container_found(c, "docker", "/.dockerenv");
        container_from_pid1_env(c);
        if (read_one_line_file_at(AT_FDCWD, "/run/systemd/container", &text) >= 0 && text[0])
                container_found(c, text, "/run/systemd/container");
        c->kubernetes = getenv("KUBERNETES_SERVICE_HOST") || access("/var/run/secrets/kubernetes.io", F_OK) >= 0;
        if (c->kubernetes)
                container_found(c, "kubernetes", "$KUBERNETES_SERVICE_HOST");
        text = mfree(text);
        if (read_full_file_at(AT_FDCWD, "/proc/1/cgroup", &text, NULL) >= 0 && (hint = cgroup_path_hint(text)))
                container_found(c, hint, "/proc/1/cgroup");
}

static void container_read_mounts(ContainerInfo *c) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *t = NULL;
        _cleanup_(mnt_free_iterp) struct libmnt_iter *it = NULL;
        struct libmnt_fs *fs;

        if (dlopen_libmount(NULL) < 0 || !(t = sym_mnt_new_table_from_file("/proc/self/mountinfo")) ||
            !(it = sym_mnt_new_iter(MNT_ITER_FORWARD)))
                return;
        while (sym_mnt_table_next_fs(t, it, &fs) == 0) {
                const char *mnt = sym_mnt_fs_get_target(fs) ?: "", *fstype = sym_mnt_fs_get_fstype(fs) ?: "";

                if (streq(mnt, "/") && streq(fstype, "overlay"))
                        container_found(c, "container", "the root file system is an overlay, as in a container image");
                /* Docker, podman and Kubernetes cover these with /dev/null or an empty tmpfs. */
                if (streq(mnt, "/proc/kcore") || streq(mnt, "/proc/keys") || streq(mnt, "/proc/timer_list") ||
                    streq(mnt, "/proc/acpi") || streq(mnt, "/proc/scsi"))
                        c->proc_masked = true;
        }
}

static void container_inspect(ContainerInfo *c) {
        _cleanup_free_ char *status = NULL, *self = NULL, *v2 = NULL;
        const char *p;
        struct statvfs sv;

        container_detect_kind(c);
        container_read_mounts(c);
        if (read_full_file_at(AT_FDCWD, "/proc/self/status", &status, NULL) >= 0 && (p = strstr(status, "\nSeccomp:")))
                c->seccomp = strtol(p + 9, NULL, 10) == 2;
        if (read_one_line_file_at(AT_FDCWD, "/proc/self/attr/current", &self) >= 0 && !streq(self, "unconfined"))
                (void) snprintf(c->apparmor, sizeof c->apparmor, "%s", self);
        self = mfree(self);
        c->cgroupfs_ro = statvfs("/sys/fs/cgroup", &sv) >= 0 && (sv.f_flag & ST_RDONLY);
        /* v1 and hybrid: /sys/fs/cgroup is a tmpfs, the hierarchies are mounted below it */
        if (statvfs("/sys/fs/cgroup/memory", &sv) >= 0 && (sv.f_flag & ST_RDONLY))
                c->cgroupfs_ro = true;
        if (read_full_file_at(AT_FDCWD, "/proc/self/cgroup", &self, NULL) >= 0 &&
            cgroup_parse_proc_self(self, NULL, &v2) >= 0)
                c->cgroupns_host = cgroup_path_hint(v2) != NULL;
}

static bool namespaces_failed(const Doctor *d) {
        return check_failed(d, CHECK_USERNS) || check_failed(d, CHECK_PIDNS) || check_failed(d, CHECK_NETNS) ||
               check_failed(d, CHECK_MOUNTNS);
}

static void append(char *buf, size_t len, const char *s) {
        size_t n = strlen(buf);

        (void) snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s);
}

/* The run options the container needs, from what failed and what we saw: Docker's flags, or a pod's settings. */
static void container_flags(const Doctor *d, char *buf, size_t len) {
        const ContainerInfo *c = &d->container;
        bool k8s = c->kubernetes;

        buf[0] = '\0';
        if (c->seccomp && namespaces_failed(d))
                append(buf, len, k8s ? "securityContext.seccompProfile.type: Unconfined"
                                     : "--security-opt seccomp=unconfined");
        if (c->apparmor[0] && (check_failed(d, CHECK_MOUNTNS) || check_failed(d, CHECK_OVERLAY)))
                append(buf, len, k8s ? "securityContext.appArmorProfile.type: Unconfined"
                                     : "--security-opt apparmor=unconfined");
        if (c->proc_masked && check_failed(d, CHECK_MOUNTNS) && d->mountns_result.step == SANDBOX_STEP_PROC)
                append(buf, len, k8s ? "securityContext.procMount: Unmasked" : "--security-opt systempaths=unconfined");
        if (!d->memory_ok && c->cgroupfs_ro)
                append(buf, len, k8s ? "securityContext.privileged: true"
                                     : "--privileged (Docker mounts /sys/fs/cgroup writable only then)");
        if (!d->memory_ok && c->cgroupns_host)
                append(buf, len, k8s ? "a private cgroup namespace (the default on cgroup v2 nodes)"
                                     : "--cgroupns=private");
}

static void check_container(Doctor *d) {
        const ContainerInfo *c = &d->container;
        char flags[1024], fix[1200];
        const char *verdict;

        if (!c->kind[0]) {
                check_set(d, CHECK_CONTAINER, CHECK_OK, NULL, "none detected");
                return;
        }
        container_flags(d, flags, sizeof flags);
        (void) snprintf(fix, sizeof fix, "%s %s", c->kubernetes ? "set in the pod spec:" : "run the container with",
                        flags);
        verdict = flags[0] ? "" : count_status(d, CHECK_FAIL) ? "; what fails here is not the container's settings"
                                                                : "; it lets nsrun do all it needs";
        check_set(d, CHECK_CONTAINER, flags[0] ? CHECK_WARN : CHECK_OK, fix,
                  "%s (by %s); seccomp filter: %s; AppArmor: %s; masked /proc paths: %s; cgroup namespace: %s; "
                  "/sys/fs/cgroup: %s%s", c->kind, c->evidence, c->seccomp ? "yes" : "no",
                  c->apparmor[0] ? c->apparmor : "none", c->proc_masked ? "yes" : "no",
                  c->cgroupns_host ? "host's" : "private", c->cgroupfs_ro ? "read-only" : "writable", verdict);
}

/* ---- budgets ---- */

static void check_budgets(Doctor *d) {
        int r;

        r = cpu_budget_get(NULL, &d->cpu);
        d->have_cpu = r >= 0;
        if (r < 0)
                check_set(d, CHECK_CPU_BUDGET, CHECK_FAIL, "check that /proc and /sys are mounted",
                          "cannot read this machine's CPU budget: %s", strerror(-r));
        else
                check_set(d, CHECK_CPU_BUDGET, CHECK_OK, NULL, "%g CPUs, from: %s (%u online, %u in the affinity mask)",
                          d->cpu.cpus, d->cpu.source, d->cpu.online, d->cpu.affinity);
        r = mem_budget_get(NULL, NULL, &d->mem);
        d->have_mem = r >= 0;
        if (r < 0) {
                check_set(d, CHECK_MEM_BUDGET, CHECK_FAIL, "check that /proc and /sys are mounted",
                          "cannot read this machine's memory budget: %s", strerror(-r));
                return;
        }
        check_set(d, CHECK_MEM_BUDGET, d->mem.bytes < (UINT64_C(512) << 20) ? CHECK_WARN : CHECK_OK,
                  "give the machine or container more memory, or run fewer things beside the tests",
                  "%s for tests, from: %s; a run keeps 10%% of it back (--mem-reserve)", FORMAT_SIZE(d->mem.bytes),
                  d->mem.source);
}

/* ---- output ---- */

static const char *status_string(CheckStatus s) {
        return s == CHECK_OK ? "ok" : s == CHECK_WARN ? "warn" : "fail";
}

static bool sandbox_failed(const Doctor *d) {
        return namespaces_failed(d) || check_failed(d, CHECK_OVERLAY) || check_failed(d, CHECK_JOB);
}

static const char *summary(const Doctor *d) {
        if (count_status(d, CHECK_FAIL) == 0)
                return count_status(d, CHECK_WARN) ? "nsrun can run isolated, memory-capped jobs here (the warnings "
                                                     "above do not stop it)."
                                                   : "nsrun can run isolated, memory-capped jobs here.";
        if (sandbox_failed(d))
                return "nsrun cannot build its sandbox here: a run would exit with status 3, 'nsrun exec' with 123. "
                       "Fix the FAIL lines above, then run 'nsrun doctor' again.";
        return "nsrun cannot cap memory here: a run would exit with status 3 unless given --mem-cap off (jobs then "
               "run uncapped), and 'nsrun exec --mem' with 123. Fix the FAIL lines above, then run 'nsrun doctor' "
               "again.";
}

static void print_text(const Doctor *d) {
        const char *no_color = getenv("NO_COLOR");
        bool color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
        static const char *const plain[] = { "ok  ", "warn", "FAIL" };
        static const char *const colored[] = { "\033[32mok\033[0m  ", "\033[33mwarn\033[0m", "\033[1;31mFAIL\033[0m" };

        for (CheckId i = 0; i < _CHECK_MAX; i++) {
                const Check *c = &d->checks[i];
                printf("%s  %-18s %s\n", (color ? colored : plain)[c->status], check_names[i], c->detail);
                if (c->status != CHECK_OK && c->fix[0])
                        printf("      %-18s fix: %s\n", "", c->fix);
        }
        printf("\n%s\n", summary(d));
}

static int print_json(const Doctor *d) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *checks = json_object_new_array();
        unsigned failed = count_status(d, CHECK_FAIL);

        if (!root || !checks)
                return json_object_put(checks), log_oom();
        json_object_object_add(root, "version", json_object_new_string(NSRUN_VERSION));
        json_object_object_add(root, "ok", json_object_new_boolean(failed == 0));
        json_object_object_add(root, "exit_status", json_object_new_int(failed ? EXIT_RUN_FAILURES : 0));
        json_object_object_add(root, "summary", json_object_new_string(summary(d)));
        json_object_object_add(root, "privileged", json_object_new_boolean(d->privileged));
        for (CheckId i = 0; i < _CHECK_MAX; i++) {
                const Check *c = &d->checks[i];
                json_object *o = json_object_new_object();
                json_object_object_add(o, "name", json_object_new_string(check_names[i]));
                json_object_object_add(o, "status", json_object_new_string(status_string(c->status)));
                json_object_object_add(o, "detail", json_object_new_string(c->detail));
                json_object_object_add(o, "fix",
                                       c->status != CHECK_OK && c->fix[0] ? json_object_new_string(c->fix) : NULL);
                json_object_array_add(checks, o);
        }
        json_object_object_add(root, "checks", checks);
        json_object_object_add(root, "cgroup_layout",
                               json_object_new_string(cgroup_layout_to_string(cgroup_manager_layout(d->cgm))));
        json_object_object_add(root, "cgroup_backend",
                               json_object_new_string(cgroup_backend_to_string(cgroup_manager_backend(d->cgm))));
        json_object_object_add(root, "container",
                               d->container.kind[0] ? json_object_new_string(d->container.kind) : NULL);
        if (d->have_cpu) {
                json_object_object_add(root, "cpus", json_object_new_double(d->cpu.cpus));
                json_object_object_add(root, "cpus_source", json_object_new_string(d->cpu.source));
        }
        if (d->have_mem) {
                json_object_object_add(root, "memory_bytes", json_object_new_int64((int64_t) d->mem.bytes));
                json_object_object_add(root, "memory_source", json_object_new_string(d->mem.source));
        }
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
}

/* ---- the verb ---- */

static int parse_doctor_args(int argc, char *argv[], bool *ret_json) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'J' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        doctor_help();
                        return 0;
                case 'J':
                        *ret_json = true;
                        break;
                default:
                        return log_getopt_error("doctor", argv, c);
                }
        if (optind < argc)
                return log_error_errno(EINVAL,
                                       "doctor: unexpected argument '%s'; see 'nsrun doctor --help'", argv[optind]);
        return 1;
}

/* The probes overlay the directory doctor runs in, as `nsrun exec` would; from / (not allowed as a project), a
 * directory of their own. */
static int pick_project(Doctor *d) {
        const char *tmp = getenv("TMPDIR");
        char *cwd = getcwd(NULL, 0);

        if (cwd && !streq(cwd, "/")) {
                d->project = cwd;
                return 0;
        }
        free(cwd);
        if (asprintf(&d->tmp_project, "%s/nsrun-doctor.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                return log_oom();
        if (!mkdtemp(d->tmp_project))
                return log_error_errno(errno, "Cannot create a directory for the probes in %s: %m; set TMPDIR",
                                       tmp && *tmp ? tmp : "/tmp");
        d->project = strdup(d->tmp_project);
        return d->project ? 0 : log_oom();
}

static void doctor_done(Doctor *d) {
        d->job = cgroup_job_free(d->job);
        d->cgm = cgroup_manager_free(d->cgm);
        if (d->tmp_project)
                (void) rm_rf_at(AT_FDCWD, d->tmp_project);
        free(d->tmp_project);
        free(d->project);
        free(d->cgroup_why);
        safe_close(d->null_fd);
}

int verb_doctor(int argc, char *argv[]) {
        Doctor d = { .null_fd = -EBADF };
        bool json = false;
        int r;

        r = parse_doctor_args(argc, argv, &json);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        d.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (d.null_fd < 0)
                return log_error_errno(errno, "Cannot open /dev/null: %m"), EXIT_RUN_FAILURES;
        d.privileged = sandbox_privileged();
        if (pick_project(&d) < 0) {
                doctor_done(&d);
                return EXIT_RUN_FAILURES;
        }
        /* Before the cgroup manager: on cgroup v2 it moves nsrun, and /proc/self/cgroup with it. */
        container_inspect(&d.container);
        check_budgets(&d);
        check_kernel(&d);
        check_userns(&d);
        check_namespace(&d, CHECK_PIDNS, CLONE_NEWPID, "PID");
        check_mountns(&d);
        check_network(&d);
        check_overlay(&d);
        check_cgroups(&d);
        check_systemd(&d);
        check_job(&d);
        check_machine_view(&d);
        check_container(&d);

        r = json ? print_json(&d) : (print_text(&d), 0);
        r = r < 0 || count_status(&d, CHECK_FAIL) > 0 ? EXIT_RUN_FAILURES : 0;
        doctor_done(&d);
        return r;
}
