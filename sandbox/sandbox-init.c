/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PID 1 of a sandbox: builds the sandbox, starts the command, forwards signals, reaps zombies, and reports the
 * command's end to nsrun. When it exits, the kernel SIGKILLs whatever is left in the PID namespace
 * (zap_pid_ns_processes()), double-forked daemons and setsid() children included, before nsrun's waitpid()
 * returns: nothing started in a sandbox outlives it. */

#include <fcntl.h>
#include <linux/keyctl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fileio.h"
#include "netlink-util.h"
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

/* The command's side, between clone and execve(). It is started while the mounts are still being made and
 * waits for init's go-ahead; then its working directory is looked up again, on the sandbox's mounts (the overlay
 * over the project, say). It shares init's memory until execve() (start_command()), so it writes no variable
 * of init's and allocates nothing: only system calls (its environment was set up by init,
 * command_environment()). Their errno is the one variable it shares with init's main thread, which reads it no
 * more once the go-ahead is given. */
typedef struct CommandStart {
        const SandboxChildContext *c;
        mode_t umask;           /* the caller's, while init builds with 0 */
        int go_fd;
        int exec_err_fd;
} CommandStart;

_Noreturn static int exec_command(void *p) {
        const CommandStart *cs = p;
        const SandboxSpec *s = cs->c->spec;
        sigset_t none;
        char b;
        int r;

        if (read(cs->go_fd, &b, 1) != 1) /* init failed and exits: the kernel ends this process too */
                _exit(EXIT_FAILURE);
        /* Its own file table from now on, copied from init's, where nothing the mounts opened is left by now
         * (see start_command()), with every descriptor past stderr close-on-exec (close_range(2),
         * CLOSE_RANGE_CLOEXEC since Linux 5.11): only stdin, stdout and stderr (dup2()ed below, which clears
         * the flag on the copy) reach the command. Whatever else nsrun was started with (a shell's 'exec
         * 7</some/dir', a CI runner's sockets) would be a way out: /proc/self/fd/7/f is a path on the host,
         * writable where the host's is, and neither the read-only tree nor the overlays cover it. */
        if (close_range(3, ~0U, CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) < 0)
                goto fail;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) umask(cs->umask);
        if (chdir(s->cwd) < 0) {
                r = -errno; /* negative: a failed step of the sandbox, not of the command (supervise()) */
                (void) !write(cs->exec_err_fd, &r, sizeof r);
                _exit(EXIT_FAILURE);
        }
        for (int i = 0; i < 3; i++)
                if (s->stdio[i] >= 0 && dup2(s->stdio[i], i) < 0)
                        goto fail;
        /* no_new_privs and the seccomp filter come with init's main thread (restrict_command()) */
        execvp(s->argv[0], s->argv); /* $PATH of the command's environment: environ is that by now */
fail:
        r = errno;
        (void) !write(cs->exec_err_fd, &r, sizeof r);
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

static void sem_wait_uninterrupted(sem_t *s) {
        while (sem_wait(s) < 0 && errno == EINTR)
                ;
}

/* Starts the command, which then waits on go[0] (exec_command()). Privileged, it gets a user namespace of its
 * own, nested under the initial one, so it stays uid 0 but holds capabilities only over that namespace: the
 * mount, network, PID, IPC and UTS namespaces (owned by the initial namespace) and every host object are out of
 * its reach; its identity maps, which only init, in the parent user namespace, may write, are written here.
 * Unprivileged, the command runs as the caller's uid and execve() clears the capabilities it was forked with.
 *
 * It is a clone() that shares init's memory (CLONE_VM, as posix_spawn() does, without CLONE_VFORK since init
 * goes on): nothing of init's address space is copied for a process that replaces it, and its execve() has none
 * to tear down. It runs on a stack of its own (a copy of init's under AddressSanitizer: SANDBOX_OWN_STACKS). It
 * shares init's file table too (CLONE_FILES) until its go-ahead: a copy taken now would hold whatever the mount
 * thread has open at this instant, the user namespace's uid_map say, and a file held open for writing on a
 * mount makes mount_setattr() refuse to make that mount read-only (EBUSY). */
static pid_t start_command(const SandboxChildContext *c, mode_t saved_umask, int go_fd, int exec_err_fd,
                           sem_t *proc_mounted, SandboxError *e) {
        static CommandStart cs; /* read by the child after this returns */
        SandboxStep step = c->privileged ? SANDBOX_STEP_COMMAND_USERNS : SANDBOX_STEP_EXEC;
        int flags = CLONE_FILES | SIGCHLD | (c->privileged ? CLONE_NEWUSER : 0);
        const size_t stack_size = 256 * 1024;
        pid_t pid;
        int r;

        cs = (CommandStart) {
                .c = c,
                .umask = saved_umask,
                .go_fd = go_fd,
                .exec_err_fd = exec_err_fd,
        };
        if (SANDBOX_OWN_STACKS) {
                /* init never unmaps the stack: it exits with the command */
                void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
                if (stack == MAP_FAILED)
                        return sandbox_error(e, step, -errno, "a stack");
                pid = clone(exec_command, (char *) stack + stack_size, flags | CLONE_VM, &cs);
        } else {
                pid = (pid_t) syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
                if (pid == 0)
                        exec_command(&cs);
        }
        if (pid < 0)
                return sandbox_error(e, step, -errno, "clone");
        if (c->privileged) {
                /* through /proc/PID, PID in the sandbox's PID namespace: its /proc, not the host's */
                sem_wait_uninterrupted(proc_mounted);
                r = userns_write_maps(pid, c->uid_map, c->gid_map, false);
                if (r < 0)
                        return sandbox_error(e, step, r, "uid_map");
        }
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
                        if (read(exec_err_fd, &err, sizeof err) != sizeof err) {
                                SandboxOutcome o;
                                int code = encode_status(status, &o);
                                report(c->report_fd, o, code, 0, SANDBOX_STEP_NONE, NULL);
                        } else if (err < 0)
                                report(c->report_fd, SANDBOX_SETUP_FAILED, 0, -err, SANDBOX_STEP_CHDIR,
                                       c->spec->cwd);
                        else
                                report(c->report_fd, SANDBOX_EXEC_FAILED, 0, err, SANDBOX_STEP_EXEC,
                                       c->spec->argv[0]);
                        _exit(EXIT_SUCCESS);
                }
        }
}

/* What the command inherits from init's main thread, set there while the mounts go on, rather than between the
 * command's fork and its execve(); init itself never executes anything, so none of it changes init:
 * - no setuid binary or file capability raises privileges (prctl(2) PR_SET_NO_NEW_PRIVS);
 * - the seccomp filter against terminal injection and new cgroup namespaces (sandbox-seccomp.c); allowed
 *   without no_new_privs too, since init holds CAP_SYS_ADMIN in its user namespace;
 * - a session keyring of its own, new and empty (keyctl(2) KEYCTL_JOIN_SESSION_KEYRING with no name): the
 *   caller's would otherwise be the command's too, its keys readable by possession (keyctl search @s), and a
 *   key the command added would be there after nsrun exits. Joining changes the calling thread's credentials
 *   only, which the command is cloned with. The user and persistent keyrings are the user namespace's
 *   (Linux 5.3), so the command's, in a user namespace nsrun made, are not the caller's either. ENOSYS or EPERM
 *   means no keyrings (CONFIG_KEYS=n) or keyctl() refused by a seccomp filter above nsrun's, which the command
 *   inherits too: nothing to keep apart;
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
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS && errno != EPERM)
                return sandbox_error(e, SANDBOX_STEP_RESTRICT, -errno, "a session keyring");
        r = sandbox_install_seccomp();
        return r < 0 ? sandbox_error(e, SANDBOX_STEP_RESTRICT, r, "a seccomp filter") : 0;
}

/* Init's own set-up, on the main thread once the network namespace is on its way: the process group or
 * session, the terminal, the command's environment, and the pipes to the command. */
static int prepare_init(const SandboxChildContext *c, int exec_err[2], int go[2], SandboxError *e) {
        const SandboxSpec *s = c->spec;
        int r;

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
        r = command_environment(s);
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_EXEC, r, "environment");
        if (pipe2(exec_err, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(go, O_CLOEXEC) < 0)
                return sandbox_error(e, SANDBOX_STEP_EXEC, -errno, "pipe");
        return 0;
}

typedef struct MountJob {
        const SandboxChildContext *c;
        sem_t proc;             /* posted once the new /proc is mounted (or the mounts failed before it) */
        sem_t netns;            /* posted once the main thread has made the network namespace and its socket */
        sem_t done;             /* posted once the mounts are made and lo is up (or failed: r and e, lo_r) */
        struct nl_sock *netlink; /* a socket of the new network namespace, for the mount thread to bring lo up */
        mode_t umask;           /* the caller's */
        SandboxError e;
        int r;
        int lo_r;
} MountJob;

/* Rootless, the user namespace's maps, first: files can be made in it only once the caller's uid is mapped. The
 * namespaces made meanwhile need none (capabilities come with the user namespace, not with its maps). */
static int write_own_maps(const SandboxChildContext *c, SandboxError *e) {
        char uid_map[64], gid_map[64];
        int r;

        if (c->privileged)
                return 0;
        (void) snprintf(uid_map, sizeof uid_map, "%u %u 1\n", c->uid, c->uid);
        (void) snprintf(gid_map, sizeof gid_map, "%u %u 1\n", c->gid, c->gid);
        r = userns_write_maps(0, uid_map, gid_map, true);
        return r < 0 ? sandbox_error(e, SANDBOX_STEP_USERNS_MAP, r, "/proc/self/uid_map") : 0;
}

/* The mounts, then the loopback of the network namespace the main thread made meanwhile, through the netlink
 * socket it opened there: a socket stays bound to the namespace it was made in, whichever thread uses it. */
static void *mount_thread(void *p) {
        MountJob *j = p;

        j->r = write_own_maps(j->c, &j->e);
        if (j->r >= 0)
                j->r = sandbox_setup_mounts(j->c, &j->proc, &j->e);
        (void) sem_post(&j->proc); /* again, harmless, in case the mounts failed before /proc */
        if (j->c->spec->net == SANDBOX_NET_LOOPBACK) {
                sem_wait_uninterrupted(&j->netns);
                if (j->r >= 0 && j->netlink)
                        j->lo_r = sandbox_loopback_up(j->netlink);
        }
        (void) sem_post(&j->done);
        return NULL;
}

/* The main thread's share, first: the network namespace (setup_net() registers a loopback device and its
 * sysctls, about half a millisecond), with the IPC and UTS ones; the command, started from this thread, gets
 * them. */
static int setup_network(const SandboxChildContext *c, MountJob *job, SandboxError *e) {
        int r = 0;

        if (c->spec->net != SANDBOX_NET_LOOPBACK)
                return unshare(CLONE_NEWIPC | CLONE_NEWUTS) < 0 ?
                        sandbox_error(e, SANDBOX_STEP_NETNS, -errno, "ipc") : 0;
        if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
                r = sandbox_error(e, SANDBOX_STEP_NETNS, -errno, "net");
        else {
                r = sandbox_netlink_open(&job->netlink);
                if (r < 0)
                        r = sandbox_error(e, SANDBOX_STEP_LOOPBACK, r, "netlink");
        }
        (void) sem_post(&job->netns);
        return r;
}

/* Builds the sandbox and starts the command in it, the slow steps side by side on init's two threads. The main
 * thread creates the network, IPC and UTS namespaces, does init's own set-up, sets what the command inherits
 * (the seccomp filter's JIT compilation is not free either) and starts the command in those namespaces (as root
 * with its user namespace and maps); the command waits until the rest is made. The second thread writes the
 * user namespace's maps (rootless), makes the mounts, then brings the loopback up. The threads share the mount
 * namespace and, through CLONE_FS, the root and working directory. Returns the command's PID once it has its
 * go-ahead. */
static pid_t build_sandbox(const SandboxChildContext *c, int exec_err_pipe[2], int go[2], SandboxError *e) {
        MountJob job = { .c = c };
        pthread_t t;
        bool threaded;
        pid_t command;

        (void) sem_init(&job.proc, 0, 0);
        (void) sem_init(&job.netns, 0, 0);
        (void) sem_init(&job.done, 0, 0);
        /* One malloc arena for both threads: a thread's first malloc() would otherwise create an arena of its
         * own (mapping and trimming 128 MiB of address space, faulting in its first pages) for the few small
         * allocations the mounts and libnl make. */
        (void) mallopt(M_ARENA_MAX, 1);
        /* Every file, directory and node of the tree gets exactly the mode it is made with; the command gets
         * the caller's umask back (exec_command()). */
        job.umask = umask(0);
        threaded = pthread_create(&t, NULL, mount_thread, &job) == 0;
        command = setup_network(c, &job, e);
        if (!threaded) /* no memory for a stack, or RLIMIT_NPROC: the same steps one after the other */
                mount_thread(&job);
        if (command >= 0)
                command = prepare_init(c, exec_err_pipe, go, e);
        if (command >= 0)
                command = restrict_command(c, e);
        if (command >= 0)
                command = start_command(c, job.umask, go[0], exec_err_pipe[1], &job.proc, e);
        sem_wait_uninterrupted(&job.done);
        if (job.r < 0) {
                *e = job.e;
                command = job.r;
        } else if (command >= 0 && job.lo_r < 0)
                command = sandbox_error(e, SANDBOX_STEP_LOOPBACK, job.lo_r, "lo");
        else if (command >= 0 && write(go[1], "g", 1) != 1)
                command = sandbox_error(e, SANDBOX_STEP_EXEC, -errno, "go-ahead");
        if (threaded) /* it has posted its last semaphore: its exit overlaps the command's start */
                (void) pthread_join(t, NULL);
        if (job.netlink)
                nl_socket_free(job.netlink);
        (void) umask(job.umask);
        return command;
}

_Noreturn void sandbox_init_main(SandboxChildContext *c) {
        _cleanup_close_pair_ int exec_err[2] = { -EBADF, -EBADF }, go[2] = { -EBADF, -EBADF };
        SandboxError e = {};
        sigset_t mask;
        pid_t command;
        char b;

        /* Die with nsrun. If nsrun died before this prctl took effect, its pidfd is readable already; a paused
         * init also sees EOF instead of the go-ahead. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
            (c->parent_pidfd >= 0 && poll(&(struct pollfd) { .fd = c->parent_pidfd, .events = POLLIN }, 1, 0) != 0))
                _exit(EXIT_FAILURE);
        c->parent_pidfd = safe_close(c->parent_pidfd);
        if (c->sync_fd >= 0 && read(c->sync_fd, &b, 1) != 1)
                _exit(EXIT_FAILURE);
        c->sync_fd = safe_close(c->sync_fd);

        /* Signals are taken with sigwaitinfo(): blocked, they still reach PID 1 of a namespace, which ignores
         * every signal it has no handler for (pid_namespaces(7)). Blocked before anything is started, so no
         * SIGCHLD is lost; the mount thread inherits the mask, so they all come to the main thread. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                sigaddset(&mask, forwarded_signals[i]);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        command = build_sandbox(c, exec_err, go, &e);
        if (command < 0)
                fail(c, command, &e);
        /* exec_err[1] stays open: the command copies init's file table only once it has its go-ahead, and
         * supervise() reads the pipe without waiting, after the command has ended */
        /* Init keeps nothing it does not need: the privileged one could otherwise be a way back to the host. */
        if (c->privileged) {
                (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                (void) drop_all_capabilities();
        }
        supervise(c, command, exec_err[0], &mask);
}
