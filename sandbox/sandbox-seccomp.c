/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one seccomp filter nsrun installs, inherited by the command and everything it starts. Installed after
 * PR_SET_NO_NEW_PRIVS, so no privilege is needed (seccomp(2)). It refuses:
 *
 * - ioctl(TIOCSTI) and ioctl(TIOCLINUX), with EPERM. Through either a sandboxed command could push keystrokes
 *   into the terminal it shares with the user's shell, to be run after nsrun exits (bubblewrap's CVE-2017-5226;
 *   Linux 6.2's dev.tty.legacy_tiocsti=0 closes TIOCSTI, but not everywhere, and not TIOCLINUX).
 *
 * - a new cgroup namespace, CLONE_NEWCGROUP in unshare(2) or clone(2), with EPERM. In one of its own, owned by a
 *   user namespace in which it holds CAP_SYS_ADMIN (as root, the nested one it runs in; rootless, one it makes
 *   with 'unshare -U'), the command could mount a cgroupfs (cgroup_init_fs_context() makes the namespace's owner
 *   the mount's user namespace, and mount_capable() asks CAP_SYS_ADMIN there only) and reach the cgroup files
 *   the read-only /sys/fs/cgroup keeps from it. Those the kernel checks by their owner and mode alone
 *   (kernfs_iop_permission()): a root command could lift its own memory.limit_in_bytes or pids.max, create
 *   cgroups at a hierarchy's root and write cgroup.kill of host cgroups. Without one, it stays in the cgroup
 *   namespace nsrun was started in, owned by a user namespace above its own, where it has no capability: every
 *   cgroupfs mount is refused (EPERM from mount_capable(), and from cgroup1_get_tree() for v1).
 *
 * - clone3(2), with ENOSYS. Its flags are in a structure in memory, which a filter cannot read; glibc (2.34 and
 *   later: pthread_create(), posix_spawn()) takes ENOSYS for a kernel without clone3 and falls back to clone(2),
 *   whose flags the filter sees. fork() is clone(2) already.
 *
 * Each architecture the kernel may be entered with is filtered by its own numbers: on x86-64 the 64-bit and x32
 * system calls (one audit arch; x32 numbers carry __X32_SYSCALL_BIT) and the i386 ones (int 0x80, which a 64-bit
 * process may use too). Any other audit arch is refused outright (ENOSYS), so no entry point is left unfiltered. */

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "sandbox-internal.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
/* The low 32 bits of an argument (little-endian; the ioctl request is compared by the kernel as an unsigned
 * int, and CLONE_NEWCGROUP is in the low word of the flags) */
#define LOAD_ARG(n) LOAD(args[n])
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
/* Jumps to the blocks below, by name: assemble() turns them into offsets. A real offset here is always
 * smaller (the program has a few dozen instructions). */
enum { TO_IOCTL = 0xF0, TO_NS_FLAGS, TO_EPERM, TO_ENOSYS, TO_COMPAT };
#define JEQ(k, to) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (to), 0)

#if defined(__x86_64__)
#  ifndef __X32_SYSCALL_BIT
#    define __X32_SYSCALL_BIT 0x40000000
#  endif
static const struct sock_filter native[] = {
        LOAD(arch),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, TO_COMPAT),
        LOAD(nr),
        /* x32 calls are the 64-bit numbers with __X32_SYSCALL_BIT, but for ioctl (514) */
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t) __X32_SYSCALL_BIT),
        JEQ(__NR_ioctl, TO_IOCTL),
        JEQ(514 /* x32 ioctl */, TO_IOCTL),
        JEQ(__NR_unshare, TO_NS_FLAGS),
        JEQ(__NR_clone, TO_NS_FLAGS),
        JEQ(435 /* clone3 */, TO_ENOSYS),
        RET(SECCOMP_RET_ALLOW),
};
static const struct sock_filter compat[] = {
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, TO_ENOSYS),
        LOAD(nr),
        JEQ(54 /* i386 ioctl */, TO_IOCTL),
        JEQ(310 /* i386 unshare */, TO_NS_FLAGS),
        JEQ(120 /* i386 clone */, TO_NS_FLAGS),
        JEQ(435 /* i386 clone3 */, TO_ENOSYS),
        RET(SECCOMP_RET_ALLOW),
};
#elif defined(__aarch64__)
static const struct sock_filter native[] = {
        LOAD(arch),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 0, TO_COMPAT),
        LOAD(nr),
        JEQ(__NR_ioctl, TO_IOCTL),
        JEQ(__NR_unshare, TO_NS_FLAGS),
        JEQ(__NR_clone, TO_NS_FLAGS),
        JEQ(435 /* clone3 */, TO_ENOSYS),
        RET(SECCOMP_RET_ALLOW),
};
/* 32-bit ARM programs (where the CPU still runs them) are not filtered by their numbers: refused */
static const struct sock_filter compat[] = {
        RET(SECCOMP_RET_ERRNO | ENOSYS),
};
#else
#error "sandbox-seccomp.c: add this architecture's audit arches and system call numbers"
#endif

static const struct sock_filter ioctl_request[] = {
        LOAD_ARG(1),
        JEQ(TIOCSTI, TO_EPERM),
        JEQ(TIOCLINUX, TO_EPERM),
        RET(SECCOMP_RET_ALLOW),
};
static const struct sock_filter ns_flags[] = {
        LOAD_ARG(0),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWCGROUP, TO_EPERM, 0),
        RET(SECCOMP_RET_ALLOW),
};
static const struct sock_filter eperm[] = { RET(SECCOMP_RET_ERRNO | EPERM) };
static const struct sock_filter enosys[] = { RET(SECCOMP_RET_ERRNO | ENOSYS) };

#define N_INSNS (ELEMENTSOF(native) + ELEMENTSOF(compat) + ELEMENTSOF(ioctl_request) + ELEMENTSOF(ns_flags) + 2)

static uint8_t resolve(uint8_t jump, size_t at, const size_t block_at[]) {
        return jump >= TO_IOCTL ? (uint8_t) (block_at[jump - TO_IOCTL] - at - 1) : jump;
}

/* The blocks one after the other, named jumps turned into offsets (always forward, as BPF requires). */
static void assemble(struct sock_filter prog[static N_INSNS]) {
        static const struct {
                const struct sock_filter *insns;
                size_t n;
                int name;
        } blocks[] = {
                { native, ELEMENTSOF(native), -1 },
                { compat, ELEMENTSOF(compat), TO_COMPAT },
                { ioctl_request, ELEMENTSOF(ioctl_request), TO_IOCTL },
                { ns_flags, ELEMENTSOF(ns_flags), TO_NS_FLAGS },
                { eperm, 1, TO_EPERM },
                { enosys, 1, TO_ENOSYS },
        };
        size_t block_at[TO_COMPAT - TO_IOCTL + 1], n = 0;

        for (size_t b = 0; b < ELEMENTSOF(blocks); b++) {
                if (blocks[b].name >= 0)
                        block_at[blocks[b].name - TO_IOCTL] = n;
                memcpy(prog + n, blocks[b].insns, blocks[b].n * sizeof *prog);
                n += blocks[b].n;
        }
        for (size_t i = 0; i < n; i++)
                if (BPF_CLASS(prog[i].code) == BPF_JMP) {
                        prog[i].jt = resolve(prog[i].jt, i, block_at);
                        prog[i].jf = resolve(prog[i].jf, i, block_at);
                }
}

int sandbox_install_seccomp(void) {
        struct sock_filter filter[N_INSNS];
        struct sock_fprog prog = { .len = N_INSNS, .filter = filter };

        assemble(filter);
        return RET_NERRNO(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0));
}
