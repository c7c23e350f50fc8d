/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PID 1 of a sandbox: builds the sandbox, starts the command, forwards signals, reaps zombies, and reports the
 * command's end to nsrun. When it exits, the kernel SIGKILLs whatever is left in the PID namespace
 * (zap_pid_ns_processes()), double-forked daemons and setsid() children included, before nsrun's waitpid()
 * returns: nothing started in a sandbox outlives it. */

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fileio.h"
#include "sandbox-internal.h"

extern char **environ;

static const int forwarded_signals[] = {
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGCONT, SIGWINCH, SIGTSTP,
};

int sandbox_error(SandboxError *e, SandboxStep step, int r, const char *detail) {
        e->step = step;
        (void) snprintf(e->detail, sizeof e->detail, "%s", detail ?: "");
        return r;
}

static void report(int fd, SandboxOutcome outcome, int code, int error, SandboxStep step, const char *detail) {
        SandboxReport rep = { .outcome = outcome, .code = code, .error = error, .step = step };

        (void) snprintf(rep.detail, sizeof rep.detail, "%s", detail ?: "");
        (void) !write(fd, &rep, sizeof rep);
}

_Noreturn static void fail(const SandboxChildContext *c, int r, const SandboxError *e) {
        report(c->report_fd, SANDBOX_SETUP_FAILED, 0, -r, e->step, e->detail);
        _exit(EXIT_FAILURE);
}

/* The command's side, between fork and execve(). Unprivileged, it runs in a vfork()ed child that shares init's
 * memory until execve(): it writes no variable of init's and allocates nothing (its environment was set up by
 * init, command_environment()). */
_Noreturn static void exec_command(const SandboxChildContext *c, int go_fd, int exec_err_fd) {
        const SandboxSpec *s = c->spec;
        sigset_t none;
        char b;
        int r;

        if (go_fd >= 0 && read(go_fd, &b, 1) != 1)
                _exit(EXIT_FAILURE);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        for (int i = 0; i < 3; i++)
                if (s->stdio[i] >= 0 && dup2(s->stdio[i], i) < 0)
                        goto fail;
        /* no_new_privs and the seccomp filter come with init's main thread (restrict_command()) */
        execvp(s->argv[0], s->argv); /* $PATH of the command's environment: environ is that by now */
fail:
        r = errno;
        (void) !write(exec_err_fd, &r, sizeof r);
        _exit(r == ENOENT ? 127 : 126);
}

/* The command's environment, NSRUN_SANDBOX=1 added, made init's own (environ), so that execvp() looks the
 * command up in its $PATH. Init itself reads no variable after this. */
static int command_environment(const SandboxSpec *s) {
        size_t n = 0;
        char **env;

        while (s->envp && s->envp[n])
                n++;
        env = new0(char *, n + 2);
        if (!env)
                return -ENOMEM;
        n = 0;
        for (char **e = s->envp; e && *e; e++)
                if (!strneq(*e, "NSRUN_SANDBOX=", 14))
                        env[n++] = *e;
        env[n] = (char *) "NSRUN_SANDBOX=1";
        environ = env; /* kept until init exits */
        return 0;
}

/* Privileged: the command gets a user namespace of its own, nested under the initial one, so it stays uid 0
 * but holds capabilities only over that namespace: the mount, network, PID, IPC and UTS namespaces (owned by the
 * initial namespace) and every host object are out of its reach. Unprivileged: the command already runs as the
 * caller's uid without capabilities. */
static pid_t start_command(const SandboxChildContext *c, int exec_err_pipe[2], SandboxError *e) {
        _cleanup_close_pair_ int go[2] = { -EBADF, -EBADF };
        pid_t pid;
        int r;

        r = command_environment(c->spec);
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_EXEC, r, "environment");
        if (!c->privileged) {
                /* Nothing to do between fork and execve() on init's side: vfork() spares copying init's memory
                 * for a child that replaces it at once, and init waits only until the execve() (or _exit()). */
                pid = vfork();
                if (pid == 0)
                        exec_command(c, -EBADF, exec_err_pipe[1]);
                return pid < 0 ? sandbox_error(e, SANDBOX_STEP_EXEC, -errno, "vfork") : pid;
        }
        if (pipe2(go, O_CLOEXEC) < 0)
                return sandbox_error(e, SANDBOX_STEP_COMMAND_USERNS, -errno, "pipe");
        /* The command waits for its identity maps, which only init, in the parent user namespace, may write. */
        pid = (pid_t) syscall(SYS_clone, SIGCHLD | CLONE_NEWUSER, NULL, NULL, NULL, NULL);
        if (pid < 0)
                return sandbox_error(e, SANDBOX_STEP_COMMAND_USERNS, -errno, "clone");
        if (pid == 0) {
                exec_err_pipe[0] = safe_close(exec_err_pipe[0]);
                go[1] = safe_close(go[1]);
                exec_command(c, go[0], exec_err_pipe[1]);
        }
        r = userns_write_maps(pid, c->uid_map, c->gid_map, false);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                return sandbox_error(e, SANDBOX_STEP_COMMAND_USERNS, r, "uid_map");
        }
        if (write(go[1], "g", 1) != 1)
                return sandbox_error(e, SANDBOX_STEP_COMMAND_USERNS, -errno, "uid_map");
        return pid;
}

static int encode_status(int status, SandboxOutcome *ret_outcome) {
        if (WIFSIGNALED(status)) {
                *ret_outcome = SANDBOX_SIGNALED;
                return WTERMSIG(status);
        }
        *ret_outcome = SANDBOX_EXITED;
        return WEXITSTATUS(status);
}

_Noreturn static void supervise(const SandboxChildContext *c, pid_t command, int exec_err_fd,
                                const sigset_t *mask) {
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(mask, &si);

                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        /* Signals from the terminal (SI_KERNEL) already went to the command's process group;
                         * only those sent to nsrun or to init are passed on, so none arrives twice. */
                        if (si.si_code != SI_KERNEL)
                                (void) kill(command, sig);
                        continue;
                }
                for (;;) {
                        int status, err;
                        pid_t p = waitpid(-1, &status, WNOHANG);

                        if (p <= 0)
                                break;
                        if (p != command)
                                continue;
                        if (read(exec_err_fd, &err, sizeof err) == sizeof err)
                                report(c->report_fd, SANDBOX_EXEC_FAILED, 0, err, SANDBOX_STEP_EXEC,
                                       c->spec->argv[0]);
                        else {
                                SandboxOutcome o;
                                int code = encode_status(status, &o);
                                report(c->report_fd, o, code, 0, SANDBOX_STEP_NONE, NULL);
                        }
                        _exit(EXIT_SUCCESS);
                }
        }
}

/* The main thread's share of building the sandbox: the network namespace and its loopback. */
static int setup_network(const SandboxChildContext *c, SandboxError *e) {
        int r;

        if (c->spec->net != SANDBOX_NET_LOOPBACK)
                return 0;
        if (unshare(CLONE_NEWNET) < 0)
                return sandbox_error(e, SANDBOX_STEP_NETNS, -errno, "net");
        r = sandbox_loopback_up();
        return r < 0 ? sandbox_error(e, SANDBOX_STEP_LOOPBACK, r, "lo") : 0;
}

/* What the command inherits from init's main thread, set there while the mounts go on, rather than between the
 * command's fork and its execve(); init itself never executes anything, so none of it changes init:
 * - no setuid binary or file capability raises privileges (prctl(2) PR_SET_NO_NEW_PRIVS);
 * - the seccomp filter against terminal injection (sandbox-seccomp.c); allowed without no_new_privs too, since
 *   init holds CAP_SYS_ADMIN in its user namespace;
 * - rootless, an empty bounding set: the command runs as the caller's uid and execve() clears the capabilities
 *   it was forked with, and then not even a file capability can give one back. */
static int restrict_command(const SandboxChildContext *c, SandboxError *e) {
        int r;

        if (!c->privileged) {
                r = drop_bounding_capabilities();
                if (r < 0)
                        return sandbox_error(e, SANDBOX_STEP_RESTRICT, r, "an empty bounding set");
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return sandbox_error(e, SANDBOX_STEP_RESTRICT, -errno, "no_new_privs");
        r = sandbox_deny_tty_injection();
        return r < 0 ? sandbox_error(e, SANDBOX_STEP_RESTRICT, r, "a seccomp filter") : 0;
}

typedef struct MountJob {
        const SandboxChildContext *c;
        SandboxError e;
        int r;
} MountJob;

static void *mount_thread(void *p) {
        MountJob *j = p;

        j->r = sandbox_setup_mounts(j->c, &j->e);
        return NULL;
}

/* The two slowest steps, side by side: the mounts on a second thread, while the main thread creates the network
 * namespace (setup_net() registers a loopback device and its sysctls, about half a millisecond), brings its
 * loopback up and sets what the command inherits (the seccomp filter's JIT compilation is not free either). The
 * threads share the mount namespace and, through CLONE_FS, the root and working directory; the new network
 * namespace is the main thread's alone (unshare(2) changes the caller only), and the command, forked from it,
 * inherits it. Neither step depends on the other. */
static int build_sandbox(const SandboxChildContext *c, SandboxError *e) {
        MountJob job = { .c = c };
        pthread_t t;
        bool threaded;
        int r;

        threaded = pthread_create(&t, NULL, mount_thread, &job) == 0;
        if (!threaded) /* no memory for a stack, or RLIMIT_NPROC: the same steps one after the other */
                mount_thread(&job);
        r = setup_network(c, e);
        if (r >= 0)
                r = restrict_command(c, e);
        if (threaded)
                (void) pthread_join(t, NULL);
        if (job.r < 0) {
                *e = job.e;
                return job.r;
        }
        return r;
}

_Noreturn void sandbox_init_main(SandboxChildContext *c) {
        const SandboxSpec *s = c->spec;
        _cleanup_close_pair_ int exec_err[2] = { -EBADF, -EBADF };
        SandboxError e = {};
        sigset_t mask;
        pid_t command;
        char b;
        int r;

        /* Die with nsrun. If nsrun died before this prctl took effect, its pidfd is readable already; a paused
         * init also sees EOF instead of the go-ahead. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
            (c->parent_pidfd >= 0 && poll(&(struct pollfd) { .fd = c->parent_pidfd, .events = POLLIN }, 1, 0) != 0))
                _exit(EXIT_FAILURE);
        c->parent_pidfd = safe_close(c->parent_pidfd);
        if (c->sync_fd >= 0 && read(c->sync_fd, &b, 1) != 1)
                _exit(EXIT_FAILURE);
        c->sync_fd = safe_close(c->sync_fd);

        if (!c->privileged) {
                char uid_map[64], gid_map[64];
                (void) snprintf(uid_map, sizeof uid_map, "%u %u 1\n", c->uid, c->uid);
                (void) snprintf(gid_map, sizeof gid_map, "%u %u 1\n", c->gid, c->gid);
                r = userns_write_maps(0, uid_map, gid_map, true);
                if (r < 0)
                        fail(c, sandbox_error(&e, SANDBOX_STEP_USERNS_MAP, r, "/proc/self/uid_map"), &e);
        }
        r = build_sandbox(c, &e);
        if (r < 0)
                fail(c, r, &e);
        if (chdir(s->cwd) < 0)
                fail(c, sandbox_error(&e, SANDBOX_STEP_CHDIR, -errno, s->cwd), &e);

        /* Signals are taken with sigwaitinfo(): blocked, they still reach PID 1 of a namespace, which ignores
         * every signal it has no handler for (pid_namespaces(7)). Blocked before the command starts, so no
         * SIGCHLD is lost. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                sigaddset(&mask, forwarded_signals[i]);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        /* Init and the command get a process group of their own, so a signal to nsrun's group reaches the
         * command once, through nsrun; with the terminal handed over, Ctrl-C reaches it directly. Jobs of a run
         * get a session of their own: no controlling terminal, so /dev/tty leads nowhere. */
        if (s->new_session)
                (void) setsid();
        else
                (void) setpgid(0, 0);
        if (c->take_tty) {
                (void) signal(SIGTTOU, SIG_IGN);
                (void) tcsetpgrp(STDIN_FILENO, getpgrp());
                (void) signal(SIGTTOU, SIG_DFL);
        }
        if (pipe2(exec_err, O_CLOEXEC | O_NONBLOCK) < 0)
                fail(c, sandbox_error(&e, SANDBOX_STEP_EXEC, -errno, "pipe"), &e);
        command = start_command(c, exec_err, &e);
        if (command < 0)
                fail(c, command, &e);
        exec_err[1] = safe_close(exec_err[1]);
        /* Init keeps nothing it does not need: the privileged one could otherwise be a way back to the host. */
        if (c->privileged) {
                (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                (void) drop_all_capabilities();
        }
        supervise(c, command, exec_err[0], &mask);
}
