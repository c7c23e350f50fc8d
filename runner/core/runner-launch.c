/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "runner-launch.h"

extern char **environ;

int launch_open_cgroups(bool require_memory, CgroupManager **ret) {
        CgroupManagerOptions co = { .allow_systemd = true, .require_memory = require_memory };
        _cleanup_free_ char *why = NULL;
        int r;

        r = cgroup_manager_new(&co, ret, &why);
        if (r < 0) {
                log_error("cannot cap memory here: %s", why ?: strerror(-r));
                return -ECANCELED;
        }
        return 0;
}

int launch_spec_init(SandboxSpec *spec, const SandboxOptions *o, const char *shared_rw, const char *shared_ro,
                     SandboxMount **ret_mounts) {
        int r;

        r = sandbox_options_mounts(o, shared_rw, shared_ro, ret_mounts, &spec->n_mounts);
        if (r < 0)
                return r;
        spec->mounts = *ret_mounts;
        spec->net = o->net;
        return 0;
}

int launch_sandbox(SandboxSpec *spec, CgroupJob *job, Sandbox **ret) {
        Sandbox *s = NULL;
        int r;

        spec->cgroup_fd = job && cgroup_job_fd(job) >= 0 ? cgroup_job_fd(job) : -EBADF;
        spec->paused = job && spec->cgroup_fd < 0; /* attached below, before it may start */
        r = sandbox_spawn(spec, &s);
        if (r < 0)
                return r;
        *ret = s;
        if (spec->paused)
                r = cgroup_job_attach(job, sandbox_pid(s));
        return r < 0 ? r : sandbox_start(s);
}

int launch_sandbox_capped(SandboxSpec *spec, CgroupManager *m, const char *name, uint64_t mem_max,
                          uint64_t pids_max, CgroupJob **ret_cgroup, Sandbox **ret) {
        int r;

        if (m) {
                r = cgroup_job_new(m, name, &(CgroupLimits) { .mem_max = mem_max, .pids_max = pids_max }, ret_cgroup);
                if (r < 0)
                        return r;
        }
        return launch_sandbox(spec, *ret_cgroup, ret);
}

bool launch_oom_killed(CgroupJob *cgroup) {
        CgroupStats st;

        return cgroup && cgroup_job_stats(cgroup, &st) >= 0 && st.oom_kills > 0;
}

/* Waits until fd is ready, unless SIGINT, SIGTERM or SIGHUP comes first: then -EINTR, with the signal recorded
 * in *c->signal. */
int wait_fd_or_signal(const SourceContext *c, int fd) {
        for (;;) {
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = c->sigfd, .events = POLLIN } };
                struct signalfd_siginfo si;

                if (poll(p, c->sigfd >= 0 ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents & POLLIN && read(c->sigfd, &si, sizeof si) == sizeof si) {
                        if (c->signal && !*c->signal)
                                *c->signal = (int) si.ssi_signo;
                        return -EINTR;
                }
                if (p[0].revents)
                        return 0;
        }
}

static char **env_with(char **extra) {
        char **v = strv_copy(environ);

        for (size_t i = 0; v && extra && extra[i]; i++)
                if (strv_env_set(&v, extra[i]) < 0) {
                        strv_free(v);
                        return NULL;
                }
        return v;
}

/* Waits for the sandbox, unless SIGINT, SIGTERM or SIGHUP comes first: then it is killed (its whole PID
 * namespace goes with init) and -EINTR returned once it is gone. */
static int wait_or_interrupt(const SourceContext *c, Sandbox *s, SandboxResult *ret) {
        int r = wait_fd_or_signal(c, sandbox_fd(s));

        if (r == -EINTR) {
                (void) sandbox_kill(s, SIGKILL);
                (void) sandbox_wait(s, ret);
        }
        return r < 0 ? r : sandbox_wait(s, ret);
}

int run_sandboxed_once(const SourceContext *c, const char *name, uint64_t mem_max, char **argv, char **extra_env,
                       int out_fd, const char *keep_writes, SandboxResult *ret, bool *ret_oom) {
        _cleanup_(cgroup_job_freep) CgroupJob *cg = NULL;
        SandboxSpec spec = SANDBOX_SPEC_INIT;
        _cleanup_free_ SandboxMount *mounts = NULL;
        _cleanup_close_ int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        char **envp = env_with(extra_env), why[1024];
        Sandbox *s = NULL;
        int r;

        r = launch_spec_init(&spec, c->sandbox, c->run_dir, c->pytest_plugin_dir, &mounts);
        if (r < 0 || !envp) {
                strv_free(envp);
                return log_oom();
        }
        spec.argv = argv;
        spec.envp = envp;
        spec.cwd = c->cwd;
        spec.keep_writes = keep_writes;
        spec.base_layers = c->base_layers;
        spec.new_session = true;
        spec.stdio[0] = null_fd;
        spec.stdio[1] = spec.stdio[2] = out_fd;
        r = launch_sandbox_capped(&spec, c->cgroups, name, mem_max, c->pids_max, &cg, &s);
        if (r >= 0)
                r = wait_or_interrupt(c, s, ret);
        sandbox_free(s);
        /* as a job's: a process of it killed under the cap, the command's own result is not what runs uncapped */
        *ret_oom = r >= 0 && launch_oom_killed(cg);
        if (r == -EINTR) {
                strv_free(envp);
                return r;
        }
        strv_free(envp);
        if (r < 0) {
                bool refused = sandbox_explain(r, NULL, why, sizeof why);
                log_error("cannot create a sandbox: %s", why);
                return refused ? -ECANCELED : r;
        }
        if (ret->outcome == SANDBOX_SETUP_FAILED) {
                bool refused = sandbox_explain(0, ret, why, sizeof why);
                log_error("cannot create a sandbox: %s", why);
                return refused ? -ECANCELED : -EIO;
        }
        if (ret->outcome == SANDBOX_EXEC_FAILED)
                return log_error_errno(ret->error, "%s: %s", argv[0],
                                       ret->error == ENOENT ? "command not found; check the name and $PATH"
                                                            : "cannot execute: %m"),
                       -EINVAL;
        return 0;
}
