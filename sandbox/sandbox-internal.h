/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>

#include "macro.h"
#include "sandbox.h"

/* Init and the command may run on stacks of their own, sharing memory with their parent (clone(CLONE_VM)),
 * except under AddressSanitizer, which cannot follow a process onto a stack it did not see made: it warns on
 * the user's stderr at the first noreturn call there (google/sanitizers#189). Sanitizer builds start them
 * fork-style, with a copy of the memory. */
#if defined(__SANITIZE_ADDRESS__)
#  define SANDBOX_OWN_STACKS 0
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define SANDBOX_OWN_STACKS 0
#  endif
#endif
#ifndef SANDBOX_OWN_STACKS
#  define SANDBOX_OWN_STACKS 1
#endif

/* What init sends to the parent over the report pipe: one fixed-size record, written in one write(2) (well below
 * PIPE_BUF, so it is atomic), then init exits. */
typedef struct SandboxReport {
        uint32_t outcome;       /* SandboxOutcome */
        int32_t code;
        int32_t error;
        uint32_t step;          /* SandboxStep */
        char detail[512];
} SandboxReport;

typedef struct SandboxChildContext {
        const SandboxSpec *spec;
        bool privileged;        /* real root: build in the initial user namespace, run the command in a nested one */
        uid_t uid;
        gid_t gid;
        int sync_fd;            /* read end of the parent's go-ahead, if paused; else -EBADF */
        int parent_pidfd;       /* nsrun, to see whether it died before PR_SET_PDEATHSIG took effect */
        const char *uid_map;    /* privileged: the command's identity maps, computed once by the parent */
        const char *gid_map;
        int report_fd;          /* write end: the SandboxReport */
        bool take_tty;          /* make the sandbox the terminal's foreground process group */
} SandboxChildContext;

/* The failure of one step: record where, return -errno. */
typedef struct SandboxError {
        SandboxStep step;
        char detail[512];
} SandboxError;

int sandbox_error(SandboxError *e, SandboxStep step, int r, const char *detail);

/* sandbox-init.c: runs as PID 1 of the sandbox; never returns. */
_Noreturn void sandbox_init_main(SandboxChildContext *c);

/* sandbox-mount.c: builds the sandbox's tree in place. Runs inside the new mount namespace. Posts proc_mounted
 * (if given) once the PID namespace's /proc is there. */
int sandbox_setup_mounts(const SandboxChildContext *c, sem_t *proc_mounted, SandboxError *e);

/* sandbox-meminfo.c: the host's /proc/meminfo text rewritten for the view into buf (NUL-terminated). Returns
 * its length, -ENOBUFS if it does not fit, -EINVAL for a view under 1 KiB. */
int meminfo_rewrite(const char *host, const SandboxMemView *m, char *buf, size_t len);

/* sandbox-net.c: a netlink socket of the current network namespace (it stays bound to that namespace, whichever
 * thread uses it), and 'lo' brought up through it (127.0.0.1/8 and ::1 come with it). */
struct nl_sock;
int sandbox_netlink_open(struct nl_sock **ret);
int sandbox_loopback_up(struct nl_sock *sk);

/* sandbox-userns.c */
int userns_write_maps(pid_t pid, const char *uid_map, const char *gid_map, bool deny_setgroups);
int drop_bounding_capabilities(void);
int drop_all_capabilities(void);

/* sandbox-seccomp.c */
int sandbox_install_seccomp(void);
/* The caller's uid_map (or gid_map) lines "inside outside count" as identity lines "inside inside count". */
int identity_map(const char *file, char *buf, size_t len);
