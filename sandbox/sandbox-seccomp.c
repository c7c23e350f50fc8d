/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one seccomp filter nsrun installs: ioctl(TIOCSTI) and ioctl(TIOCLINUX) fail with EPERM. Through either a
 * sandboxed command could push keystrokes into the terminal it shares with the user's shell, to be run after
 * nsrun exits (bubblewrap's CVE-2017-5226; Linux 6.2's dev.tty.legacy_tiocsti=0 closes TIOCSTI, but not
 * everywhere, and not TIOCLINUX). Installed after PR_SET_NO_NEW_PRIVS, so no privilege is needed
 * (seccomp(2)). */

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "sandbox-internal.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

#define LOAD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
/* the ioctl request, args[1]: its low 32 bits (the kernel compares the request as an unsigned int) */
#define LOAD_REQUEST BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

int sandbox_deny_tty_injection(void) {
        struct sock_filter filter[] = {
                LOAD_ARCH,
#if defined(__x86_64__)
                /* 64-bit and x32 system calls; 32-bit ones (int 0x80) have another arch and number */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),                   /* 1 */
                LOAD_NR,                                                                        /* 2 */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 4, 0),                          /* 3 -> 8 */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __X32_SYSCALL_BIT | 514, 3, 6),             /* 4 x32 ioctl */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 5),                     /* 5 */
                LOAD_NR,                                                                        /* 6 */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 54 /* i386 ioctl */, 0, 3),                 /* 7 */
#elif defined(__aarch64__)
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 0, 5),                  /* 1 -> 7 */
                LOAD_NR,                                                                        /* 2 */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 3),                          /* 3 -> 7 */
#else
#error "sandbox-seccomp.c: add this architecture's audit arch and ioctl number"
#endif
                LOAD_REQUEST,
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 2, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 1, 0),
                RET(SECCOMP_RET_ALLOW),
                RET(SECCOMP_RET_ERRNO | EPERM),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(filter), .filter = filter };

        return RET_NERRNO(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0));
}
