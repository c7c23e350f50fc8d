/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parent's side of a sandbox: clone its init, release it, read its report, reap it. */

#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include "fileio.h"
#include "sandbox-internal.h"

/* What init starts from when it shares nsrun's memory: it lives in the Sandbox, not on the stack of
 * sandbox_spawn(), which returns while init still reads it. */
typedef struct SharedStart {
        SandboxChildContext c;
        int close_fds[2];       /* nsrun's ends of the pipes, closed in init's copy of the file table */
} SharedStart;

struct Sandbox {
        pid_t pid;
        SharedStart *shared;    /* with spec->share_memory */
        void *stack;            /* init's stack then, unmapped once it has exited */
        int sync_fd;            /* write end of the go-ahead pipe, until sandbox_start() */
        int report_fd;          /* read end of the report pipe */
        int pidfd;              /* init's, from clone3(), if asked for; else -EBADF */
        bool took_tty;
        bool adopted;           /* not nsrun's child: a job forked by a prepared interpreter (sandbox_adopt()) */
        char *keep_writes;      /* to remove overlayfs's work directories afterwards */
};

bool sandbox_privileged(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

        /* CAP_SYS_ADMIN in our own user namespace is what building the sandbox without a new one takes. */
        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32));
}

static bool in_initial_user_namespace(void) {
        char buf[64];
        ssize_t n = readlink("/proc/self/ns/user", buf, sizeof buf - 1);

        return n > 0 && (buf[n] = '\0', streq(buf, "user:[4026531837]"));
}

/* The network, IPC and UTS namespaces are not among these: init's main thread creates them (unshare()) while its
 * other thread mounts, see build_sandbox(). */
static pid_t clone_init(const SandboxSpec *s, bool privileged, int *ret_pidfd) {
        uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | (privileged ? 0 : CLONE_NEWUSER);
        struct clone_args args = {
                .flags = flags | (ret_pidfd ? CLONE_PIDFD : 0),
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
        };
        long pid;

        if (s->cgroup_fd >= 0) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) s->cgroup_fd;
        }
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0 && errno == ENOSYS && s->cgroup_fd < 0)
                pid = syscall(SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, NULL);
        return pid < 0 ? -errno : (pid_t) pid;
}

#define SHARED_STACK_SIZE (1024 * 1024)

_Noreturn static int shared_init(void *p) {
        SharedStart *st = p;

        (void) close(st->close_fds[0]);
        (void) close(st->close_fds[1]);
        sandbox_init_main(&st->c);
}

/* Init in nsrun's memory, on a stack of its own: glibc's clone(), since a raw clone3() returning on a new stack
 * has no function to run. The pidfd comes back through the parent_tid argument (CLONE_PIDFD). */
static pid_t clone_init_shared(Sandbox *sb, int *ret_pidfd) {
        SharedStart *st = sb->shared;
        int flags = CLONE_VM | CLONE_NEWNS | CLONE_NEWPID | (st->c.privileged ? 0 : CLONE_NEWUSER) |
                    (ret_pidfd ? CLONE_PIDFD : 0) | SIGCHLD;
        pid_t pid;

        sb->stack = mmap(NULL, SHARED_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                         -1, 0);
        if (sb->stack == MAP_FAILED) {
                sb->stack = NULL;
                return -errno;
        }
        pid = clone(shared_init, (char *) sb->stack + SHARED_STACK_SIZE, flags, st, ret_pidfd);
        return pid < 0 ? -errno : pid;
}

/* The --keep-writes directory, the caller's alone (0700, made so or changed to it): what the command keeps is
 * no one else's to read, and no other user can reach a file in it while the command still runs, before
 * drop_kept_privileges() has seen it. */
static int make_keep_writes_dir(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = mkdir_p(path, 0700);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return RET_NERRNO(fchmod(fd, 0700));
}

int sandbox_spawn(const SandboxSpec *s, Sandbox **ret) {
        _cleanup_close_pair_ int sync[2] = { -EBADF, -EBADF }, rep[2] = { -EBADF, -EBADF };
        _cleanup_free_ char *keep_writes = NULL;
        _cleanup_close_ int parent_pidfd = -EBADF, pidfd = -EBADF;
        static char uid_map[4096], gid_map[4096];
        SandboxChildContext c;
        Sandbox *sb;
        bool privileged, paused;
        pid_t pid;
        int r;

        if (!s || !s->argv || !s->argv[0] || !s->cwd)
                return -EINVAL;
        if (s->keep_writes) {
                keep_writes = strdup(s->keep_writes);
                if (!keep_writes)
                        return -ENOMEM;
                r = make_keep_writes_dir(keep_writes);
                if (r < 0)
                        return r;
        }
        /* Without pidfds (before Linux 5.3, or under valgrind) init learns of nsrun's death by a pipe instead:
         * it is then paused until sandbox_start(), whose write it waits for. */
        parent_pidfd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        if (parent_pidfd < 0 && errno != ENOSYS)
                return -errno;
        paused = s->paused || parent_pidfd < 0;
        if ((paused && pipe2(sync, O_CLOEXEC) < 0) || pipe2(rep, O_CLOEXEC) < 0)
                return -errno;
        privileged = sandbox_privileged();
        /* The command's identity maps: read once per process, they do not change. In the initial user namespace
         * (its inode number is fixed, PROC_USER_INIT_INO) they are known without reading. */
        if (privileged && !uid_map[0] && in_initial_user_namespace()) {
                strcpy(uid_map, "0 0 4294967295\n");
                strcpy(gid_map, uid_map);
        } else if (privileged && !uid_map[0]) {
                r = identity_map("/proc/self/uid_map", uid_map, sizeof uid_map);
                if (r >= 0)
                        r = identity_map("/proc/self/gid_map", gid_map, sizeof gid_map);
                if (r < 0) {
                        uid_map[0] = '\0';
                        return r;
                }
        }

        c = (SandboxChildContext) {
                .spec = s,
                .privileged = privileged,
                .parent_pidfd = parent_pidfd,
                .uid_map = uid_map,
                .gid_map = gid_map,
                .uid = geteuid(),
                .gid = getegid(),
                .sync_fd = paused ? sync[0] : -EBADF,
                .report_fd = rep[1],
                .take_tty = !s->new_session && s->stdio[0] < 0 && isatty(STDIN_FILENO) &&
                            tcgetpgrp(STDIN_FILENO) == getpgrp(),
        };
        /* Everything nsrun's side allocates is allocated before init starts: with shared memory, init then
         * mallocs in the same heap, through the same thread-local cache. */
        sb = new0(Sandbox, 1);
        if (!sb)
                return -ENOMEM;
        if (SANDBOX_OWN_STACKS && s->share_memory && s->cgroup_fd < 0 && !paused && !s->keep_writes) {
                sb->shared = new0(SharedStart, 1);
                if (!sb->shared) {
                        free(sb);
                        return -ENOMEM;
                }
                *sb->shared = (SharedStart) { .c = c, .close_fds = { sync[1], rep[0] } };
                pid = clone_init_shared(sb, s->want_pidfd ? &pidfd : NULL);
        } else {
                pid = clone_init(s, c.privileged, s->want_pidfd ? &pidfd : NULL);
                if (pid == 0) {
                        sync[1] = safe_close(sync[1]);
                        rep[0] = safe_close(rep[0]);
                        sandbox_init_main(&c);
                }
        }
        if (pid < 0) {
                if (sb->stack)
                        (void) munmap(sb->stack, SHARED_STACK_SIZE);
                free(sb->shared);
                free(sb);
                return pid;
        }
        sb->pid = pid;
        sb->took_tty = c.take_tty;
        sb->sync_fd = TAKE_FD(sync[1]);
        sb->report_fd = TAKE_FD(rep[0]);
        sb->pidfd = TAKE_FD(pidfd);
        sb->keep_writes = TAKE_PTR(keep_writes);
        *ret = sb;
        return 0;
}

int sandbox_adopt(pid_t pid, int pidfd, int report_fd, Sandbox **ret) {
        Sandbox *sb;

        if (pid <= 0 || pidfd < 0 || report_fd < 0)
                return -EINVAL;
        sb = new0(Sandbox, 1);
        if (!sb)
                return -ENOMEM;
        *sb = (Sandbox) { .pid = pid, .sync_fd = -EBADF, .report_fd = report_fd, .pidfd = pidfd, .adopted = true };
        *ret = sb;
        return 0;
}

/* An adopted process is no child of ours: its end is its pidfd becoming readable. */
static void wait_pidfd(int pidfd) {
        while (poll(&(struct pollfd) { .fd = pidfd, .events = POLLIN }, 1, -1) < 0 && errno == EINTR)
                ;
}

int sandbox_start(Sandbox *s) {
        ssize_t n;

        if (s->sync_fd < 0) /* not paused */
                return 0;
        n = write(s->sync_fd, "g", 1);
        s->sync_fd = safe_close(s->sync_fd);
        return n == 1 ? 0 : -errno;
}

pid_t sandbox_pid(const Sandbox *s) {
        return s->pid;
}

int sandbox_fd(const Sandbox *s) {
        return s->report_fd;
}

int sandbox_pidfd(const Sandbox *s) {
        return s->pidfd;
}

int sandbox_kill(Sandbox *s, int sig) {
        if (s->adopted)
                return s->pid > 0 ? RET_NERRNO(syscall(SYS_pidfd_send_signal, s->pidfd, sig, NULL, 0)) : -ESRCH;
        return s->pid > 0 ? RET_NERRNO(kill(s->pid, sig)) : -ESRCH;
}

static void restore_tty(Sandbox *s) {
        if (!s->took_tty)
                return;
        /* Take the terminal back for nsrun's process group; SIGTTOU would stop us while we are not in front. */
        void (*old)(int) = signal(SIGTTOU, SIG_IGN);
        (void) tcsetpgrp(STDIN_FILENO, getpgrp());
        (void) signal(SIGTTOU, old);
        s->took_tty = false;
}

/* A kept file raises no one's privileges: its setuid and setgid bits and its file capabilities go. A root
 * command may chmod 4755 or setcap a copy of a binary (its nested user namespace maps uid 0 to the host's, so
 * the kernel writes the capability for the host's root, cap_convert_nscap()); kept as they are, they would be a
 * setuid-root binary on the host. Rootless, the command's files are the caller's own: setuid to the caller
 * gains no one anything, and a capability it set applies only in user namespaces the caller owns; the caller
 * may not remove that one (CAP_SETFCAP), nor does it need to. Called once everything in the sandbox is gone, so
 * nothing changes the tree meanwhile; with FTW_CHDIR each name is looked up in its own directory, whatever the
 * depth, and FTW_PHYS follows no symbolic link. */
static int drop_file_privileges(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        const char *name = path + ftw->base;

        if (type != FTW_F || !S_ISREG(st->st_mode))
                return 0;
        if (st->st_mode & (S_ISUID | S_ISGID))
                (void) chmod(name, st->st_mode & 07777 & ~(S_ISUID | S_ISGID));
        (void) lremovexattr(name, "security.capability");
        return 0;
}

/* overlayfs's work directories (".work.N", see sandbox-mount.c) are no one's writes: they go, the layers stay,
 * with no privilege left in them. */
static void finish_kept_writes(Sandbox *s) {
        struct dirent *de;
        DIR *d;

        if (!s->keep_writes || opendir_at(AT_FDCWD, s->keep_writes, &d) < 0)
                return;
        while ((de = readdir(d)))
                if (strneq(de->d_name, ".work.", 6))
                        (void) rm_rf_at(dirfd(d), de->d_name);
        (void) closedir(d);
        (void) nftw(s->keep_writes, drop_file_privileges, 16, FTW_PHYS | FTW_MOUNT | FTW_CHDIR);
}

static void unmap_stack(Sandbox *s) {
        if (s->stack)
                (void) munmap(s->stack, SHARED_STACK_SIZE);
        s->stack = NULL;
}

int sandbox_wait(Sandbox *s, SandboxResult *ret) {
        SandboxReport rep = {};
        ssize_t n;
        int status;

        if (s->sync_fd >= 0) /* still paused: nothing will report */
                return -ECHILD;
        do
                n = read(s->report_fd, &rep, sizeof rep);
        while (n < 0 && errno == EINTR);
        if (s->adopted) {
                wait_pidfd(s->pidfd);
                status = W_EXITCODE(0, SIGKILL); /* no report: killed, by the OOM killer or from outside */
        } else
                while (waitpid(s->pid, &status, 0) < 0)
                        if (errno != EINTR)
                                return -errno;
        s->pid = 0;
        unmap_stack(s);
        restore_tty(s);
        finish_kept_writes(s);

        *ret = (SandboxResult) {};
        if (n == (ssize_t) sizeof rep) {
                ret->outcome = rep.outcome;
                ret->code = rep.code;
                ret->error = rep.error;
                ret->step = rep.step;
                memcpy(ret->detail, rep.detail, sizeof ret->detail);
                ret->detail[sizeof ret->detail - 1] = '\0';
        } else if (WIFSIGNALED(status)) {
                ret->outcome = SANDBOX_KILLED;
                ret->code = WTERMSIG(status);
        } else {
                ret->outcome = SANDBOX_SETUP_FAILED;
                ret->error = EPROTO;
        }
        return 0;
}

Sandbox *sandbox_free(Sandbox *s) {
        bool killed_in_shared_memory;

        if (!s)
                return NULL;
        killed_in_shared_memory = s->shared && s->pid > 0;
        if (s->pid > 0 && s->adopted) {
                (void) sandbox_kill(s, SIGKILL);
                wait_pidfd(s->pidfd);
        } else if (s->pid > 0) {
                (void) kill(s->pid, SIGKILL);
                (void) waitpid(s->pid, NULL, 0);
                unmap_stack(s);
                restore_tty(s);
                finish_kept_writes(s);
        }
        safe_close(s->sync_fd);
        safe_close(s->report_fd);
        safe_close(s->pidfd);
        if (killed_in_shared_memory) /* it may have died holding a lock of malloc(): leave the memory be */
                return NULL;
        free(s->keep_writes);
        free(s->shared);
        free(s);
        return NULL;
}

int sandbox_result_exit_status(const SandboxResult *r) {
        switch (r->outcome) {
        case SANDBOX_EXITED:
                return r->code;
        case SANDBOX_SIGNALED:
        case SANDBOX_KILLED:
                return 128 + r->code;
        case SANDBOX_EXEC_FAILED:
                return r->error == ENOENT ? 127 : 126;
        default:
                return 125;
        }
}
