/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* sandbox/: starts one command in a fresh, isolated, throwaway process tree.
 *
 * Library code: never prints. Failures inside the sandbox are reported back as a SandboxResult naming the step,
 * the errno and the path, and the caller decides what the user reads (sandbox_explain() helps). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef enum SandboxMountType {
        SANDBOX_MOUNT_OVERLAY,  /* host files visible, writes private (thrown away or kept) */
        SANDBOX_MOUNT_BIND_RW,  /* shared with the host on purpose: --rw */
        SANDBOX_MOUNT_BIND_RO,  /* a host path made visible read-only at another place (setup layers) */
        SANDBOX_MOUNT_TMPFS,    /* an empty private tmpfs: --tmpfs */
        SANDBOX_MOUNT_PROC,     /* a second /proc of the sandbox's PID namespace, writable, with nothing mounted
                                 * in it, then hidden under an empty directory bound over path's parent (which holds
                                 * nothing else): in a PID namespace nested in the sandbox, the kernel lets a
                                 * writable /proc of that one be mounted only where a writable one is in the mount
                                 * namespace already, whole (mount_too_revealing()); the sandbox's own /proc has
                                 * its knobs covered, and this one is reached by nothing in the sandbox. For the
                                 * jobs a prepared interpreter forks (runner/run/runner-fork.c), which cover the
                                 * knobs of theirs as the sandbox does. */
        SANDBOX_MOUNT_VIEW,     /* source, a path as the sandbox's other mounts made it (an overlay, /tmp), shown
                                 * again read-only at path, alone (no mount under it comes along), once every
                                 * other mount is made: a prepared interpreter's jobs take what it wrote there as
                                 * their lower layer (runner/run/runner-fork.c) */
} SandboxMountType;

typedef struct SandboxMount {
        SandboxMountType type;
        char *path;             /* absolute, normalised path inside the sandbox */
        char *source;           /* BIND_RO: host path; BIND_RW: host path bound at path, or NULL for path
                                 * itself; OVERLAY: extra read-only lower layer above the host path (a setup
                                 * layer), or NULL */
} SandboxMount;

typedef enum SandboxNet {
        SANDBOX_NET_LOOPBACK,   /* a new network namespace with only 'lo', up */
        SANDBOX_NET_HOST,       /* --net host */
} SandboxNet;

/* What /proc/meminfo shows inside: a machine of total bytes, available of them free (the caller's cgroup cap, less
 * what the cgroup already uses), with no swap; /proc/swaps lists none. total 0: the host's, unchanged. */
typedef struct SandboxMemView {
        uint64_t total;
        uint64_t available;
} SandboxMemView;

/* The /proc/meminfo a sandbox with the view m shows, from the host's now, into buf (NUL-terminated): its length,
 * or <0. */
int sandbox_meminfo_view(const SandboxMemView *m, char *buf, size_t len);

typedef struct SandboxSpec {
        char **argv;            /* the command; argv[0] is looked up in $PATH of envp */
        char **envp;            /* its environment; NSRUN_SANDBOX=1 is added */
        const char *cwd;        /* where it starts (default: the caller's cwd) */
        SandboxMount *mounts;   /* overlays, binds, tmpfs, in any order: they are applied parents first */
        size_t n_mounts;
        const char *keep_writes; /* directory receiving the overlays' upper layers, or NULL to throw them away */
        const char *base_layers; /* the keep_writes directory of an earlier sandbox (a setup step): its layer for
                                  * each overlaid path becomes a read-only layer under this sandbox's overlay of
                                  * that path, so what it wrote is seen without being written again */
        SandboxNet net;
        SandboxMemView mem_view; /* best effort: where it cannot be bound, the host's files show (nsrun doctor) */
        int stdio[3];           /* fds for the command's stdin/stdout/stderr, -1 to inherit */
        int cgroup_fd;          /* v2 job cgroup for CLONE_INTO_CGROUP, or -EBADF */
        bool paused;            /* init waits for sandbox_start(), so the caller can put it into a cgroup first */
        bool new_session;       /* no controlling terminal at all (jobs of a run); else the caller's is shared */
        bool want_pidfd;        /* keep init's pidfd for sandbox_pidfd() */
        bool share_memory;      /* init shares the caller's memory (CLONE_VM) rather than getting a copy of it:
                                 * no page tables to copy, no pages to copy on write, no address space to tear
                                 * down at its exit. Only for a caller that, until sandbox_wait() returns, does
                                 * nothing but wait and forward signals: no malloc(), no stdio, no errno it must
                                 * trust (init's main thread shares its thread-local storage); and that exits
                                 * without them if init is killed (SANDBOX_KILLED: it may have held a lock of
                                 * malloc()). Ignored with cgroup_fd, paused or keep_writes. */
} SandboxSpec;

#define SANDBOX_SPEC_INIT { .stdio = { -1, -1, -1 }, .cgroup_fd = -EBADF }

typedef enum SandboxStep {
        SANDBOX_STEP_NONE,
        SANDBOX_STEP_CLONE,
        SANDBOX_STEP_USERNS_MAP,
        SANDBOX_STEP_MOUNT_PRIVATE,
        SANDBOX_STEP_OPEN_SOURCE,
        SANDBOX_STEP_STAGING,
        SANDBOX_STEP_ROOT_READONLY,
        SANDBOX_STEP_OVERLAY,
        SANDBOX_STEP_BIND,
        SANDBOX_STEP_TMPFS,
        SANDBOX_STEP_DEV,
        SANDBOX_STEP_PROC,
        SANDBOX_STEP_NETNS,
        SANDBOX_STEP_LOOPBACK,
        SANDBOX_STEP_RESTRICT,
        SANDBOX_STEP_CHDIR,
        SANDBOX_STEP_COMMAND_USERNS,
        SANDBOX_STEP_EXEC,
        _SANDBOX_STEP_MAX,
} SandboxStep;

const char *sandbox_step_to_string(SandboxStep s);

typedef enum SandboxOutcome {
        SANDBOX_EXITED,         /* the command exited: code = its exit status */
        SANDBOX_SIGNALED,       /* the command was killed: code = signal number */
        SANDBOX_SETUP_FAILED,   /* the sandbox could not be built: step, error, detail say where */
        SANDBOX_EXEC_FAILED,    /* the command could not be started: error = errno of execve */
        SANDBOX_KILLED,         /* the sandbox's init was killed from outside (cgroup kill, OOM): code = signal */
} SandboxOutcome;

typedef struct SandboxResult {
        SandboxOutcome outcome;
        int code;
        int error;              /* positive errno for SETUP_FAILED / EXEC_FAILED */
        SandboxStep step;
        char detail[512];       /* the path or object the failing step worked on */
} SandboxResult;

/* The shell-style status a wrapper should exit with: code, 128+signal, 126/127 for exec failures. */
int sandbox_result_exit_status(const SandboxResult *r);

typedef struct Sandbox Sandbox;

/* Creates the sandbox's init process (PID 1 of a new PID namespace), which builds the sandbox and starts the
 * command; with spec->paused, not before sandbox_start(). Returns -errno if the kernel refused the namespaces
 * (see sandbox_explain()). */
int sandbox_spawn(const SandboxSpec *spec, Sandbox **ret);
/* A sandbox nsrun did not spawn: a job a prepared interpreter forked into namespaces of its own
 * (runner/sources/pytest/nsrun_fork.py), pid as this process sees it, known from the kernel (SCM_CREDENTIALS),
 * its pidfd, and report_fd the socket on which it writes its SandboxReport. sandbox_wait() reads the report and
 * waits for the pidfd; no report is SANDBOX_KILLED by SIGKILL. Takes both descriptors. */
int sandbox_adopt(pid_t pid, int pidfd, int report_fd, Sandbox **ret);
/* Lets a paused init go on. */
int sandbox_start(Sandbox *s);
pid_t sandbox_pid(const Sandbox *s);
/* Readable (POLLIN/POLLHUP) once the sandbox has a result for sandbox_wait(); for event loops. */
int sandbox_fd(const Sandbox *s);
/* With spec->want_pidfd: readable once init has exited, that is once everything of the sandbox is gone and
 * sandbox_wait() returns at once (a pidfd); -EBADF where the kernel has no pidfds. For a caller with nothing to
 * do in between: it wakes once, not at the result and again at the exit. */
int sandbox_pidfd(const Sandbox *s);
/* Waits for the command to finish and everything in the sandbox to be gone. */
int sandbox_wait(Sandbox *s, SandboxResult *ret);
/* Forwards a signal to the command (through init, which alone may be signalled from outside). */
int sandbox_kill(Sandbox *s, int sig);
/* SIGKILLs what is left (the whole PID namespace goes with its init) and reaps it. Accepts NULL. */
Sandbox *sandbox_free(Sandbox *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Sandbox *, sandbox_free);

/* One sentence naming what the kernel refused and how to fix it, for a failure of sandbox_spawn() or a
 * SANDBOX_SETUP_FAILED result. Returns true if the failure means "this machine refuses sandboxes" (user namespaces
 * disabled, AppArmor, seccomp, overlayfs in a user namespace unsupported) rather than a problem of this command. */
bool sandbox_explain(int error, const SandboxResult *r, char *buf, size_t len);

/* True when nsrun runs with real root privileges (no user namespace needed to build the sandbox). */
bool sandbox_privileged(void);
