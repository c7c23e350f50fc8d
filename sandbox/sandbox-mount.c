/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's filesystem. Every mount(2) nsrun makes is in this file, so a reviewer can read each privileged
 * operation in one sitting. All of it runs in the sandbox's own mount namespace, after MS_SLAVE has cut
 * propagation back to the host, so nothing here can change the host's mount table. */

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "libmount-util.h"
#include "sandbox-internal.h"

/* Where the new root is assembled: a private tmpfs on the host's /tmp path, visible only in this namespace. Host
 * paths are reached through O_PATH fds opened before this mount hides anything, in this namespace: overlayfs and
 * bind mounts accept only layers whose mount belongs to the caller's namespace (clone_private_mount(),
 * do_loopback()). */
#define STAGING "/tmp"
#define NEWROOT STAGING "/root"

#define FD_PATH_MAX 64

static const char *fd_path(char buf[static FD_PATH_MAX], int fd) {
        (void) snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
        return buf;
}

static int mount_fs(const char *fstype, const char *source, const char *target, unsigned long flags,
                    const char *options) {
        _cleanup_(mnt_free_contextp) struct libmnt_context *cxt = NULL;
        int r;

        cxt = mnt_new_context();
        if (!cxt)
                return -ENOMEM;
        /* No fstab, no mtab, no /sbin/mount.* helpers, no path canonicalisation: the sandbox is built from exact
         * paths. force_unrestricted: in a user namespace our uid is not 0, which libmount would otherwise take
         * for a setuid "user" mount and refuse. */
        if (mnt_context_disable_mtab(cxt, 1) < 0 || mnt_context_disable_helpers(cxt, 1) < 0 ||
            mnt_context_disable_canonicalize(cxt, 1) < 0 || mnt_context_force_unrestricted(cxt) < 0 ||
            mnt_context_set_optsmode(cxt, MNT_OMODE_IGNORE) < 0 || mnt_context_set_fstype(cxt, fstype) < 0 ||
            mnt_context_set_source(cxt, source) < 0 || mnt_context_set_target(cxt, target) < 0 ||
            mnt_context_set_mflags(cxt, flags) < 0 || (options && mnt_context_set_options(cxt, options) < 0))
                return -ENOMEM;
        r = mnt_context_mount(cxt);
        return mnt_context_result_to_errno(cxt, r);
}

static int bind_mount(const char *source, const char *target, bool recursive) {
        return RET_NERRNO(mount(source, target, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL));
}

/* mount_setattr(2) (Linux 5.12): flags apply to a whole tree at once, which MS_REMOUNT cannot do. */
static int make_readonly(const char *path, bool recursive) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID };

        return RET_NERRNO(mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof attr));
}

static int ensure_file(const char *path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
                return errno == EEXIST || errno == EISDIR ? 0 : -errno;
        (void) close(fd);
        return 0;
}

/* The mount point must exist. On the read-only host tree it must already be there; on a fresh tmpfs (a project
 * under /tmp, say) it is created. */
static int ensure_target(const char *target, bool dir) {
        struct stat st;
        int r;

        if (stat(target, &st) >= 0)
                return 0;
        if (errno != ENOENT)
                return -errno;
        if (!dir) {
                _cleanup_free_ char *parent = strdup(target);
                if (!parent)
                        return -ENOMEM;
                *strrchr(parent, '/') = '\0';
                r = mkdir_p(parent, 0755);
                return r < 0 ? r : ensure_file(target);
        }
        return mkdir_p(target, 0755);
}

static unsigned path_depth(const char *p) {
        unsigned n = 0;
        for (; *p; p++)
                n += *p == '/';
        return n;
}

typedef struct MountStep {
        SandboxMountType type;
        const char *path;
        int source_fd;
        int lower_fd;
        size_t index;
} MountStep;

static int cmp_steps(const void *a, const void *b) {
        const MountStep *x = a, *y = b;
        unsigned dx = path_depth(x->path), dy = path_depth(y->path);

        if (dx != dy)
                return dx < dy ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* "/work/main" -> "work-main": the name of an overlay's kept upper layer under --keep-writes. Should two
 * overlaid paths map to one name, overlayfs refuses the second upper layer as in use (EBUSY): never mixed. */
static void escape_path(char *buf, size_t len, const char *path) {
        size_t i = 0;

        for (const char *p = path + 1; *p && i + 1 < len; p++)
                buf[i++] = *p == '/' ? '-' : *p;
        buf[i] = '\0';
}

/* The host side of the mounts, opened by path while the host's tree is still what this namespace shows. */
typedef struct Sources {
        int *fds;               /* per mount: the host path (or -EBADF) */
        int *lower_fds;         /* per mount: the extra lower layer of an overlay (or -EBADF) */
        int keep_writes_fd;
        size_t n;
} Sources;

static int open_path(const char *p) {
        int fd = open(p, O_PATH | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* The setup step's layer for an overlaid path, if it wrote anything there. */
static int open_base_layer(int base_fd, const char *path) {
        char name[NAME_MAX];
        int fd;

        escape_path(name, sizeof name, path);
        fd = openat(base_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int open_sources(const SandboxChildContext *c, Sources *ret, SandboxError *e) {
        const SandboxSpec *s = c->spec;
        _cleanup_close_ int base_fd = -EBADF;

        if (s->base_layers) {
                base_fd = open_path(s->base_layers);
                if (base_fd < 0)
                        return sandbox_error(e, SANDBOX_STEP_OPEN_SOURCE, base_fd, s->base_layers);
        }
        ret->n = s->n_mounts;
        ret->fds = malloc(sizeof(int) * (2 * s->n_mounts + 1));
        if (!ret->fds)
                return sandbox_error(e, SANDBOX_STEP_OPEN_SOURCE, -ENOMEM, "/");
        ret->lower_fds = ret->fds + s->n_mounts;
        for (size_t i = 0; i < 2 * s->n_mounts; i++)
                ret->fds[i] = -EBADF;
        ret->keep_writes_fd = -EBADF;
        for (size_t i = 0; i < s->n_mounts; i++) {
                const SandboxMount *m = &s->mounts[i];
                const char *src = m->type == SANDBOX_MOUNT_BIND_RO ? m->source : m->path;

                if (m->type == SANDBOX_MOUNT_TMPFS)
                        continue;
                ret->fds[i] = open_path(src);
                if (ret->fds[i] < 0)
                        return sandbox_error(e, SANDBOX_STEP_OPEN_SOURCE, ret->fds[i], src);
                if (m->type == SANDBOX_MOUNT_OVERLAY && m->source) {
                        ret->lower_fds[i] = open_path(m->source);
                        if (ret->lower_fds[i] < 0)
                                return sandbox_error(e, SANDBOX_STEP_OPEN_SOURCE, ret->lower_fds[i], m->source);
                } else if (m->type == SANDBOX_MOUNT_OVERLAY && base_fd >= 0) {
                        ret->lower_fds[i] = open_base_layer(base_fd, m->path);
                        if (ret->lower_fds[i] < 0 && ret->lower_fds[i] != -ENOENT)
                                return sandbox_error(e, SANDBOX_STEP_OPEN_SOURCE, ret->lower_fds[i], s->base_layers);
                }
        }
        if (s->keep_writes) {
                ret->keep_writes_fd = open_path(s->keep_writes);
                if (ret->keep_writes_fd < 0)
                        return sandbox_error(e, SANDBOX_STEP_OPEN_SOURCE, ret->keep_writes_fd, s->keep_writes);
        }
        return 0;
}

static int mount_overlay(const SandboxChildContext *c, const Sources *src, const MountStep *m, const char *target) {
        char lower[FD_PATH_MAX], extra[FD_PATH_MAX], kw[FD_PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
        char name[NAME_MAX], options[3 * PATH_MAX];
        int r;

        if (src->keep_writes_fd >= 0) {
                escape_path(name, sizeof name, m->path);
                (void) snprintf(upper, sizeof upper, "%s/%s", fd_path(kw, src->keep_writes_fd), name);
                (void) snprintf(work, sizeof work, "%s/.work.%zu", kw, m->index);
        } else {
                (void) snprintf(upper, sizeof upper, STAGING "/upper.%zu", m->index);
                (void) snprintf(work, sizeof work, STAGING "/work.%zu", m->index);
        }
        r = mkdir_p(upper, 0755);
        if (r < 0)
                return r;
        r = mkdir_p(work, 0700);
        if (r < 0)
                return r;
        /* Layers are named through /proc/self/fd: the host's paths may be hidden by now (a project under /tmp).
         * In a user namespace overlayfs keeps its metadata in user.* xattrs ("userxattr", Linux 5.11). */
        (void) snprintf(options, sizeof options, "lowerdir=%s%s%s,upperdir=%s,workdir=%s%s",
                        m->lower_fd >= 0 ? fd_path(extra, m->lower_fd) : "", m->lower_fd >= 0 ? ":" : "",
                        fd_path(lower, m->source_fd), upper, work, c->privileged ? "" : ",userxattr");
        return mount_fs("overlay", "overlay", target, MS_NOSUID, options);
}

static bool step_is_dir(const MountStep *m) {
        struct stat st;

        if (m->type == SANDBOX_MOUNT_OVERLAY || m->type == SANDBOX_MOUNT_TMPFS)
                return true;
        return fstat(m->source_fd, &st) < 0 || S_ISDIR(st.st_mode);
}

static int apply_step(const SandboxChildContext *c, const Sources *src, const MountStep *m, SandboxError *e) {
        char target[PATH_MAX], fdp[FD_PATH_MAX];
        int r;

        (void) snprintf(target, sizeof target, NEWROOT "%s", m->path);
        r = ensure_target(target, step_is_dir(m));
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_BIND, r, m->path);
        switch (m->type) {
        case SANDBOX_MOUNT_OVERLAY:
                r = mount_overlay(c, src, m, target);
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_OVERLAY, r, m->path) : 0;
        case SANDBOX_MOUNT_TMPFS:
                r = mount_fs("tmpfs", "tmpfs", target, MS_NOSUID | MS_NODEV, "mode=1777");
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_TMPFS, r, m->path) : 0;
        case SANDBOX_MOUNT_BIND_RW:
        case SANDBOX_MOUNT_BIND_RO:
                r = bind_mount(fd_path(fdp, m->source_fd), target, true);
                if (r >= 0 && m->type == SANDBOX_MOUNT_BIND_RO)
                        r = make_readonly(target, true);
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_BIND, r, m->path) : 0;
        }
        return sandbox_error(e, SANDBOX_STEP_BIND, -EINVAL, m->path);
}

/* $XDG_RUNTIME_DIR, when it lives in the fresh /run: there, empty and private, as programs expect it. */
static int make_runtime_dir(const SandboxSpec *s) {
        char path[PATH_MAX];

        if (s->net == SANDBOX_NET_HOST)
                return 0;
        for (char **e = s->envp; e && *e; e++)
                if (strneq(*e, "XDG_RUNTIME_DIR=/run/", 21) && !strstr(*e, "/../")) {
                        (void) snprintf(path, sizeof path, NEWROOT "%s", *e + 16);
                        return mkdir_p(path, 0700);
                }
        return 0;
}

static int setup_user_mounts(const SandboxChildContext *c, const Sources *src, SandboxError *e) {
        const SandboxSpec *s = c->spec;
        /* Fresh /tmp, /var/tmp and /run come first, so a project that lives under /tmp is overlaid on top of
         * them. /run because a read-only mount does not stop connect(): its unix sockets (D-Bus, the user's
         * systemd manager, docker.sock) would reach host services. With --net host it stays, for the resolver
         * and the like that sharing the host's network means. */
        const char *const scratch[] = { "/tmp", "/var/tmp", s->net == SANDBOX_NET_HOST ? NULL : "/run" };
        size_t n = 0;
        _cleanup_free_ MountStep *steps = calloc(s->n_mounts + ELEMENTSOF(scratch), sizeof(MountStep));
        int r;

        if (!steps)
                return sandbox_error(e, SANDBOX_STEP_BIND, -ENOMEM, "/");

        for (size_t i = 0; i < ELEMENTSOF(scratch); i++) {
                struct stat st;
                if (!scratch[i] || stat(scratch[i], &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                steps[n] = (MountStep) { SANDBOX_MOUNT_TMPFS, scratch[i], -EBADF, -EBADF, n };
                n++;
        }
        for (size_t i = 0; i < s->n_mounts; i++, n++)
                steps[n] = (MountStep) { s->mounts[i].type, s->mounts[i].path, src->fds[i], src->lower_fds[i],
                                         n };
        qsort(steps, n, sizeof *steps, cmp_steps);
        for (size_t i = 0; i < n; i++) {
                r = apply_step(c, src, &steps[i], e);
                if (r < 0)
                        return r;
        }
        return make_runtime_dir(s);
}

static int bind_device(const char *name) {
        char src[PATH_MAX], dst[PATH_MAX];
        struct stat st;
        int r;

        (void) snprintf(src, sizeof src, "/dev/%s", name);
        (void) snprintf(dst, sizeof dst, NEWROOT "/dev/%s", name);
        if (stat(src, &st) < 0)
                return -errno;
        r = S_ISDIR(st.st_mode) ? mkdir_p(dst, 0755) : ensure_file(dst);
        if (r < 0)
                return r;
        return bind_mount(src, dst, true);
}

static bool is_gpu_node(const char *name) {
        return strneq(name, "nvidia", 6) || streq(name, "dri") || streq(name, "kfd");
}

/* A minimal /dev: the nodes tests use, bound from the host (a tmpfs made in a user namespace is nodev, a bind
 * mount of the host's node is not), a private devpts, and GPU nodes when the host has them. */
static int setup_dev(const SandboxChildContext *c, SandboxError *e) {
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" },     { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
                { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
        };
        char path[PATH_MAX];
        DIR *d;
        int r;

        r = mount_fs("tmpfs", "tmpfs", NEWROOT "/dev", MS_NOSUID | MS_NOEXEC, "mode=0755");
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, r, "/dev");
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                r = bind_device(nodes[i]);
                if (r < 0 && r != -ENOENT && r != -ENXIO)
                        return sandbox_error(e, SANDBOX_STEP_DEV, r, nodes[i]);
        }
        d = opendir("/dev");
        if (d) {
                struct dirent *de;
                while ((de = readdir(d)))
                        if (is_gpu_node(de->d_name) && bind_device(de->d_name) < 0) {
                                (void) closedir(d);
                                return sandbox_error(e, SANDBOX_STEP_DEV, -errno, de->d_name);
                        }
                (void) closedir(d);
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                (void) snprintf(path, sizeof path, NEWROOT "/dev/%s", links[i][1]);
                if (symlink(links[i][0], path) < 0)
                        return sandbox_error(e, SANDBOX_STEP_DEV, -errno, links[i][1]);
        }
        if (mkdir(NEWROOT "/dev/pts", 0755) < 0 || mkdir(NEWROOT "/dev/shm", 01777) < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, -errno, "/dev/pts");
        /* A devpts instance of our own: ptys made inside are invisible outside. gid=5 (tty) only where that group
         * is mapped. */
        r = mount_fs("devpts", "devpts", NEWROOT "/dev/pts", MS_NOSUID | MS_NOEXEC,
                     c->privileged ? "newinstance,ptmxmode=0666,mode=0620,gid=5" : "newinstance,ptmxmode=0666,mode=0620");
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, r, "/dev/pts");
        r = mount_fs("tmpfs", "tmpfs", NEWROOT "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, r, "/dev/shm");
        return 0;
}

/* A /proc for the new PID namespace. The kernel knobs under it stay read-only: as root the command's uid is
 * the host's uid 0, and proc_sys_permission() grants global uid 0 write access by mode bits alone, whatever
 * capabilities it holds; /proc/sysrq-trigger has no capability check at all. */
static int setup_proc(SandboxError *e) {
        static const char *const readonly[] = { "sys", "sysrq-trigger", "irq", "bus", "fs" };
        char path[PATH_MAX];
        int r;

        r = mount_fs("proc", "proc", NEWROOT "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_PROC, r, "/proc");
        for (size_t i = 0; i < ELEMENTSOF(readonly); i++) {
                (void) snprintf(path, sizeof path, NEWROOT "/proc/%s", readonly[i]);
                r = bind_mount(path, path, true);
                if (r == -ENOENT)
                        continue;
                if (r >= 0)
                        r = make_readonly(path, true);
                if (r < 0)
                        return sandbox_error(e, SANDBOX_STEP_PROC, r, path + strlen(NEWROOT));
        }
        return 0;
}

/* A read-only copy of the host's whole mount tree, attached at NEWROOT. */
static int setup_root(SandboxError *e) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
                .propagation = MS_PRIVATE,
        };
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* Cloned before the staging tmpfs is mounted, so the copy shows the host's /tmp (which a fresh tmpfs then
         * covers), never the staging area with the upper layers. */
        fd = open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0)
                return sandbox_error(e, SANDBOX_STEP_ROOT_CLONE, -errno, "/");
        if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
                return sandbox_error(e, SANDBOX_STEP_ROOT_CLONE, -errno, "/");
        r = mount_fs("tmpfs", "nsrun", STAGING, MS_NOSUID | MS_NODEV, "mode=0700");
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_STAGING, r, STAGING);
        if (mkdir(NEWROOT, 0755) < 0)
                return sandbox_error(e, SANDBOX_STEP_STAGING, -errno, NEWROOT);
        if (move_mount(fd, "", AT_FDCWD, NEWROOT, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return sandbox_error(e, SANDBOX_STEP_ROOT_CLONE, -errno, NEWROOT);
        return 0;
}

static int pivot(SandboxError *e) {
        /* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the new root
         * (pivot_root(2), "new_root and put_old may be the same directory"). */
        if (chdir(NEWROOT) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
            chdir("/") < 0)
                return sandbox_error(e, SANDBOX_STEP_PIVOT_ROOT, -errno, NEWROOT);
        return 0;
}

int sandbox_setup_mounts(const SandboxChildContext *c, SandboxError *e) {
        Sources src = {};
        int r;

        /* Slave, not private: the host's unmounts still reach us, so a sandbox never pins a host mount. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return sandbox_error(e, SANDBOX_STEP_MOUNT_PRIVATE, -errno, "/");
        /* The fds are closed on exec; the command never sees them. */
        r = open_sources(c, &src, e);
        if (r < 0)
                return r;
        r = setup_root(e);
        if (r < 0)
                return r;
        r = setup_dev(c, e);
        if (r < 0)
                return r;
        r = setup_proc(e);
        if (r < 0)
                return r;
        r = setup_user_mounts(c, &src, e);
        if (r < 0)
                return r;
        return pivot(e);
}
