/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's filesystem. Every mount(2) nsrun makes is in this file, so a reviewer can read each privileged
 * operation in one sitting.
 *
 * The tree is built in place: the sandbox's mount namespace starts as the kernel's copy of the host's mount table
 * (clone3(CLONE_NEWNS)); that copy is cut off from the host's propagation and made read-only as a whole, and the
 * sandbox's own mounts go on top of it. No second copy of the tree (open_tree()), no pivot_root(), and no unmount
 * of an old root, whose RCU grace period (namespace_unlock()) was the costliest step of the earlier design.
 * Nothing here can change the host's mount table: propagation is made private before anything is mounted. */

#include <dirent.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fileio.h"
#include "sandbox-internal.h"

/* The staging tmpfs holds the overlays' upper layers (tmpfs: they vanish with the namespace, nothing is left on
 * disk even after SIGKILL) and the directories bound on /tmp, /var/tmp, /run and /dev/shm (mount_scratch()). It
 * is mounted on the host's /tmp path and then covered by the sandbox's fresh /tmp, so no path inside leads to
 * its root; nsrun reaches it through a file descriptor. Overlayfs accepts only layers whose mount belongs to the
 * caller's namespace (clone_private_mount(); only the newest kernels also take a detached mount), hence a
 * covered mount rather than a detached one. */
#define STAGING "/tmp"

#define FD_PATH_MAX 64

static const char *fd_path(char buf[static FD_PATH_MAX], int fd) {
        (void) snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
        return buf;
}

/* name in the directory init holds fd of, through /proc/self/fd: reachable even where the host's path is hidden
 * by now (a covered staging tmpfs, the host's /dev under the new one). */
static const char *fd_child_path(char buf[static PATH_MAX], int fd, const char *name) {
        (void) snprintf(buf, PATH_MAX, "/proc/self/fd/%d/%s", fd, name);
        return buf;
}

/* A new filesystem (tmpfs, proc, overlay); the source names it in /proc/self/mountinfo. mount(2) itself, as
 * bubblewrap and crun do: the sandbox is built from exact paths, with no fstab, mtab, helper or canonicalisation
 * for libmount's context to handle, and through it each mount cost three more system calls and nsrun's start the
 * loading of libmount, libblkid, libselinux and libpcre2. libmount reads mount tables (runner/mount-util.c). */
static int mount_fs(const char *fstype, const char *source, const char *target, unsigned long flags,
                    const char *options) {
        return RET_NERRNO(mount(source, target, fstype, flags, options));
}

static int bind_mount(const char *source, const char *target, bool recursive) {
        return RET_NERRNO(mount(source, target, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL));
}

/* Every mount of the sandbox is nodev, but for its own /dev's nodes and ptys: a device node is opened whatever
 * the mount's read-only flag (a write to a device is no write to the filesystem), and on a mount without nodev
 * any node the host has there, a project under /dev, a chroot's /dev under /srv, would be the device itself,
 * open to the command by its mode bits (as root: /dev/kmsg, loop devices, kvm, ttys). The command cannot make
 * new nodes (mknod of a device takes CAP_MKNOD over the initial user namespace) and in a user namespace of its
 * own cannot clear the flag (MNT_LOCK_NODEV, set on copies of nodev mounts into it); a filesystem it mounts
 * there has no devices at all (SB_I_NODEV). */
#define MOUNT_ATTR_HOST (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

static int set_mount_attr(int dir_fd, const char *path, unsigned flags, uint64_t set, uint64_t clear) {
        struct mount_attr attr = { .attr_set = set, .attr_clr = clear };

        return RET_NERRNO(mount_setattr(dir_fd, path, flags, &attr, sizeof attr));
}

/* mount_setattr(2) (Linux 5.12): flags apply to a whole tree at once, which MS_REMOUNT cannot do. */
static int make_readonly(const char *path, bool recursive) {
        return set_mount_attr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_HOST, 0);
}

/* A fresh, empty directory of the staging tmpfs (1777, like a new tmpfs's root), bound on target: what a tmpfs
 * of its own would give, for no superblock to make and tear down. /tmp, /var/tmp, /run, /dev/shm and --tmpfs
 * paths so share the staging tmpfs's size limit (tmpfs's default, half the memory) with the overlays' writes.
 * The modes here are exact: init builds the tree with a umask of 0 (build_sandbox()). */
static int mount_scratch(int staging_fd, const char *name, const char *target) {
        char p[PATH_MAX];

        if (mkdirat(staging_fd, name, 01777) < 0)
                return -errno;
        return bind_mount(fd_child_path(p, staging_fd, name), target, false);
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
        const char *source;     /* SANDBOX_MOUNT_VIEW's */
        int source_fd;
        int lower_fd;
        size_t index;
        bool exists;            /* the mount point is known to be there */
} MountStep;

static int cmp_steps(const void *a, const void *b) {
        const MountStep *x = a, *y = b;
        unsigned dx = path_depth(x->path), dy = path_depth(y->path);

        if ((x->type == SANDBOX_MOUNT_VIEW) != (y->type == SANDBOX_MOUNT_VIEW)) /* views of what the rest made */
                return x->type == SANDBOX_MOUNT_VIEW ? 1 : -1;
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

/* The host side of the mounts, opened while this namespace still shows the host's tree. */
typedef struct Sources {
        int *fds;               /* per mount: the host path (O_PATH); for --rw, a detached copy of its mounts */
        int *lower_fds;         /* per mount: the extra lower layer of an overlay (or -EBADF) */
        int keep_writes_fd;     /* a detached copy of the --keep-writes directory's mounts, later in staging */
        int staging_fd;         /* the staging tmpfs, once mounted */
        size_t n;
} Sources;

static int open_path(const char *p) {
        int fd = open(p, O_PATH | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* A detached copy of the mounts at p (open_tree(2), Linux 5.2) taken before the tree is made read-only: it keeps
 * the host's read-only flag, so what is writable on the host stays writable there and what is read-only stays
 * read-only. Propagation is private by then, so the copy is private too. */
static int clone_path(const char *p) {
        int fd = open_tree(AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        return fd < 0 ? -errno : fd;
}

/* A --rw path: the copy of its mounts, nosuid and nodev like every other mount of the sandbox. */
static int clone_rw_path(const char *p) {
        _cleanup_close_ int fd = clone_path(p);
        int r;

        if (fd < 0)
                return fd;
        r = set_mount_attr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_HOST, 0);
        return r < 0 ? r : TAKE_FD(fd);
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
        ret->keep_writes_fd = ret->staging_fd = -EBADF;
        for (size_t i = 0; i < s->n_mounts; i++) {
                const SandboxMount *m = &s->mounts[i];
                const char *src = m->type == SANDBOX_MOUNT_BIND_RO || (m->type == SANDBOX_MOUNT_BIND_RW && m->source)
                                          ? m->source : m->path;

                if (m->type == SANDBOX_MOUNT_TMPFS || m->type == SANDBOX_MOUNT_PROC || m->type == SANDBOX_MOUNT_VIEW)
                        continue;
                ret->fds[i] = m->type == SANDBOX_MOUNT_BIND_RW ? clone_rw_path(src)
                              : m->type == SANDBOX_MOUNT_BIND_RO ? clone_path(src) : open_path(src);
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
                ret->keep_writes_fd = clone_path(s->keep_writes);
                if (ret->keep_writes_fd < 0)
                        return sandbox_error(e, SANDBOX_STEP_OPEN_SOURCE, ret->keep_writes_fd, s->keep_writes);
        }
        return 0;
}

static int mount_overlay(const SandboxChildContext *c, const Sources *src, const MountStep *m, const char *target) {
        char lower[FD_PATH_MAX], extra[FD_PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
        char name[NAME_MAX], options[3 * PATH_MAX];
        bool chown_upper;
        struct stat st;
        int r;

        /* The overlay's root shows the upper layer's mode and owner: the host directory's, so that the project
         * or $HOME looks inside as it does outside ($HOME 0700 stays 0700). Rootless, the upper layer is the
         * caller's, as the directory normally is too. */
        if (fstat(m->source_fd, &st) < 0)
                return -errno;
        chown_upper = c->privileged && (st.st_uid != 0 || st.st_gid != 0); /* made as root already */
        if (src->keep_writes_fd >= 0) {
                escape_path(name, sizeof name, m->path);
                fd_child_path(upper, src->keep_writes_fd, name);
                (void) snprintf(name, sizeof name, ".work.%zu", m->index);
                fd_child_path(work, src->keep_writes_fd, name);
                r = mkdir_p(upper, 0755);
                if (r >= 0)
                        r = RET_NERRNO(chmod(upper, st.st_mode & 07777));
                if (r >= 0 && chown_upper)
                        r = RET_NERRNO(chown(upper, st.st_uid, st.st_gid));
                if (r >= 0)
                        r = mkdir_p(work, 0700);
        } else {
                /* Straight in the staging tmpfs's root: mkdirat() calls, no path walk. */
                (void) snprintf(name, sizeof name, "upper.%zu", m->index);
                fd_child_path(upper, src->staging_fd, name);
                r = RET_NERRNO(mkdirat(src->staging_fd, name, st.st_mode & 07777));
                if (r >= 0 && chown_upper)
                        r = RET_NERRNO(fchownat(src->staging_fd, name, st.st_uid, st.st_gid, 0));
                (void) snprintf(name, sizeof name, "work.%zu", m->index);
                fd_child_path(work, src->staging_fd, name);
                if (r >= 0)
                        r = RET_NERRNO(mkdirat(src->staging_fd, name, 0700));
        }
        if (r < 0)
                return r;
        /* Layers are named through /proc/self/fd: the host's paths may be hidden by now (a project under /tmp).
         * In a user namespace overlayfs keeps its metadata in user.* xattrs ("userxattr", Linux 5.11). */
        (void) snprintf(options, sizeof options, "lowerdir=%s%s%s,upperdir=%s,workdir=%s%s",
                        m->lower_fd >= 0 ? fd_path(extra, m->lower_fd) : "", m->lower_fd >= 0 ? ":" : "",
                        fd_path(lower, m->source_fd), upper, work, c->privileged ? "" : ",userxattr");
        return mount_fs("overlay", "overlay", target, MS_NOSUID | MS_NODEV, options);
}

static bool step_is_dir(const MountStep *m) {
        struct stat st;

        if (m->type == SANDBOX_MOUNT_OVERLAY || m->type == SANDBOX_MOUNT_TMPFS || m->type == SANDBOX_MOUNT_PROC ||
            m->type == SANDBOX_MOUNT_VIEW)
                return true;
        return fstat(m->source_fd, &st) < 0 || S_ISDIR(st.st_mode);
}

static int apply_step(const SandboxChildContext *c, const Sources *src, const MountStep *m, SandboxError *e) {
        int r;

        r = m->exists ? 0 : ensure_target(m->path, step_is_dir(m));
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_BIND, r, m->path);
        switch (m->type) {
        case SANDBOX_MOUNT_OVERLAY:
                r = mount_overlay(c, src, m, m->path);
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_OVERLAY, r, m->path) : 0;
        case SANDBOX_MOUNT_TMPFS: {
                char name[32];
                (void) snprintf(name, sizeof name, "scratch.%zu", m->index);
                r = mount_scratch(src->staging_fd, name, m->path);
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_TMPFS, r, m->path) : 0;
        }
        case SANDBOX_MOUNT_BIND_RW:
                /* the copy taken before the tree became read-only (clone_path()) */
                r = RET_NERRNO(move_mount(m->source_fd, "", AT_FDCWD, m->path, MOVE_MOUNT_F_EMPTY_PATH));
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_BIND, r, m->path) : 0;
        case SANDBOX_MOUNT_PROC: {
                /* writable, then out of reach: an empty directory bound over its parent, a mount of the parent's
                 * filesystem, not of the procfs, which so stays whole (mount_too_revealing()) */
                char name[32], parent[PATH_MAX];
                (void) snprintf(name, sizeof name, "cover.%zu", m->index);
                (void) snprintf(parent, sizeof parent, "%s", m->path);
                *strrchr(parent, '/') = '\0';
                r = mount_fs("proc", "proc", m->path, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
                if (r >= 0)
                        r = parent[0] ? mount_scratch(src->staging_fd, name, parent) : -EINVAL;
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_PROC, r, m->path) : 0;
        }
        case SANDBOX_MOUNT_VIEW:
                /* not recursive: the mounts under source (the project's overlay inside $HOME's) are views of
                 * their own, and a lower layer with mounts inside it is refused */
                r = bind_mount(m->source, m->path, false);
                if (r >= 0)
                        r = make_readonly(m->path, false);
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_BIND, r, m->path) : 0;
        case SANDBOX_MOUNT_BIND_RO:
                /* the host's mounts there before the sandbox mounted anything (clone_path()): a bind made now of
                 * a directory an overlay covers (a prepared interpreter's lower layers, $HOME's with the project
                 * in it) would bring that overlay along, not the host's files */
                r = RET_NERRNO(move_mount(m->source_fd, "", AT_FDCWD, m->path, MOVE_MOUNT_F_EMPTY_PATH));
                if (r >= 0)
                        r = make_readonly(m->path, true);
                return r < 0 ? sandbox_error(e, SANDBOX_STEP_BIND, r, m->path) : 0;
        }
        return sandbox_error(e, SANDBOX_STEP_BIND, -EINVAL, m->path);
}

/* $XDG_RUNTIME_DIR, when it lives in the fresh /run: there, empty and private, as programs expect it. */
static int make_runtime_dir(const SandboxSpec *s) {
        if (s->net == SANDBOX_NET_HOST)
                return 0;
        for (char **e = s->envp; e && *e; e++)
                if (strneq(*e, "XDG_RUNTIME_DIR=/run/", 21) && !strstr(*e, "/../"))
                        return mkdir_p(*e + 16, 0700);
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
                steps[n] = (MountStep) { SANDBOX_MOUNT_TMPFS, scratch[i], NULL, -EBADF, -EBADF, n, .exists = true };
                n++;
        }
        for (size_t i = 0; i < s->n_mounts; i++, n++)
                steps[n] = (MountStep) { s->mounts[i].type, s->mounts[i].path, s->mounts[i].source, src->fds[i],
                                         src->lower_fds[i], n };
        qsort(steps, n, sizeof *steps, cmp_steps);
        for (size_t i = 0; i < n; i++) {
                r = apply_step(c, src, &steps[i], e);
                if (r < 0)
                        return r;
        }
        return make_runtime_dir(s);
}

/* A mount point in the new /dev (mknodat() of a regular file, or a directory: one call) and the host's node
 * bound on it, reached through host_dev, the host's /dev, which the new /dev covers by now. The bind keeps the
 * host mount's flags, read-only: reading and writing a device node does not need a writable mount, changing its
 * owner or mode on the host does. It keeps the nodev every host mount has here too, which this one node alone
 * loses again: unless the host's /dev was nodev already, it is not locked (EPERM), and the node is no more
 * usable inside than outside. */
static int bind_device(int host_dev, int dev, const char *name, bool dir) {
        char src[PATH_MAX], dst[PATH_MAX];
        int r;

        if ((dir ? mkdirat(dev, name, 0755) : mknodat(dev, name, S_IFREG | 0644, 0)) < 0 && errno != EEXIST)
                return -errno;
        (void) snprintf(dst, sizeof dst, "/dev/%s", name);
        r = bind_mount(fd_child_path(src, host_dev, name), dst, true);
        if (r == -ENOENT) /* not on this host: no empty placeholder either */
                (void) unlinkat(dev, name, dir ? AT_REMOVEDIR : 0);
        if (r >= 0) {
                r = set_mount_attr(AT_FDCWD, dst, AT_RECURSIVE, 0, MOUNT_ATTR_NODEV);
                if (r == -EPERM)
                        r = 0;
        }
        return r;
}

/* Root's nodes are its own, made in the new /dev (one call each, no mount to make or tear down): changing one
 * inside, chmod or rm, changes nothing on the host. 0666, as devtmpfs and udev make them. */
static int make_device(int dev, const char *name, dev_t rdev) {
        return RET_NERRNO(mknodat(dev, name, S_IFCHR | 0666, rdev));
}

static bool is_gpu_node(const char *name) {
        return strneq(name, "nvidia", 6) || streq(name, "dri") || streq(name, "kfd");
}

/* GPU nodes, when the host has them. Reading the host's /dev (a hundred entries and more) costs more than the
 * rest of /dev together, so it is read only if one of the nodes every GPU driver creates is there. */
static int bind_gpu_nodes(int host_dev, int dev, SandboxError *e) {
        struct dirent *de;
        struct stat st;
        DIR *d;
        int r = 0;

        if (fstatat(host_dev, "dri", &st, 0) < 0 && fstatat(host_dev, "nvidiactl", &st, 0) < 0 &&
            fstatat(host_dev, "kfd", &st, 0) < 0)
                return 0;
        if (opendir_at(host_dev, ".", &d) < 0)
                return 0;
        while (r >= 0 && (de = readdir(d)))
                if (is_gpu_node(de->d_name)) {
                        bool dir = de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN &&
                                                            fstatat(host_dev, de->d_name, &st, 0) >= 0 &&
                                                            S_ISDIR(st.st_mode));
                        r = bind_device(host_dev, dev, de->d_name, dir);
                        if (r < 0)
                                (void) sandbox_error(e, SANDBOX_STEP_DEV, r, de->d_name);
                }
        (void) closedir(d);
        return r;
}

/* A minimal /dev: the nodes tests use, made there as root, bound from the host rootless (a tmpfs made in a user
 * namespace is nodev, a bind mount of the host's node is not), a private devpts, a fresh /dev/shm, and GPU nodes
 * when the host has them. */
static int setup_dev(const SandboxChildContext *c, int staging_fd, SandboxError *e) {
        static const struct {
                const char *name;
                unsigned major, minor;
        } nodes[] = {
                { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 },
                { "tty", 5, 0 },
        };
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" },     { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
                { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
        };
        _cleanup_close_ int host_dev = -EBADF, dev = -EBADF;
        int r;

        host_dev = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (host_dev < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, -errno, "/dev");
        r = mount_fs("tmpfs", "tmpfs", "/dev", MS_NOSUID | MS_NOEXEC, "mode=0755");
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, r, "/dev");
        dev = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dev < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, -errno, "/dev");
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                r = c->privileged ? make_device(dev, nodes[i].name, makedev(nodes[i].major, nodes[i].minor))
                                  : -EPERM;
                if (r == -EPERM) /* rootless, or root without CAP_MKNOD */
                        r = bind_device(host_dev, dev, nodes[i].name, false);
                if (r < 0 && r != -ENOENT && r != -ENXIO)
                        return sandbox_error(e, SANDBOX_STEP_DEV, r, nodes[i].name);
        }
        r = bind_gpu_nodes(host_dev, dev, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i][0], dev, links[i][1]) < 0)
                        return sandbox_error(e, SANDBOX_STEP_DEV, -errno, links[i][1]);
        if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 0755) < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, -errno, "/dev/pts");
        /* A devpts instance of our own: ptys made inside are invisible outside. gid=5 (tty) only where that group
         * is mapped. */
        r = mount_fs("devpts", "devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
                     c->privileged ? "newinstance,ptmxmode=0666,mode=0620,gid=5" : "newinstance,ptmxmode=0666,mode=0620");
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, r, "/dev/pts");
        r = mount_scratch(staging_fd, "shm", "/dev/shm");
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_DEV, r, "/dev/shm");
        return 0;
}

/* A /proc for the new PID namespace, over the host's. The kernel knobs under it stay read-only: as root the
 * command's uid is the host's uid 0, and proc_sys_permission() grants global uid 0 write access by mode bits
 * alone, whatever capabilities it holds; /proc/sysrq-trigger has no capability check at all. The host's procfs
 * stays below, covered and read-only like the rest of the host's tree: in a nested user namespace it is locked
 * read-only (MNT_LOCK_READONLY), and ours has locked mounts over its knobs, so neither lets a new writable procfs
 * be mounted there (mount_too_revealing()). */
static int setup_proc(SandboxError *e) {
        static const char *const readonly[] = {
                "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
        };
        int r;

        r = mount_fs("proc", "proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_PROC, r, "/proc");
        for (size_t i = 0; i < ELEMENTSOF(readonly); i++) {
                r = bind_mount(readonly[i], readonly[i], true);
                if (r == -ENOENT)
                        continue;
                if (r >= 0)
                        r = make_readonly(readonly[i], true);
                if (r < 0)
                        return sandbox_error(e, SANDBOX_STEP_PROC, r, readonly[i]);
        }
        return 0;
}

/* A small /proc file into buf, NUL-terminated, without malloc() (init may share nsrun's heap). */
static ssize_t read_text(const char *path, char *buf, size_t len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t n = 0;
        ssize_t k;

        if (fd < 0)
                return -errno;
        while (n + 1 < len && (k = read(fd, buf + n, len - 1 - n)) > 0)
                n += (size_t) k;
        if (k < 0)
                return -errno;
        buf[n] = '\0';
        return n + 1 < len ? (ssize_t) n : -EFBIG;
}

/* name in the staging tmpfs, holding text, bound read-only over target: a root command cannot change it (EROFS),
 * and in a nested mount namespace cannot unmount it to see the host's file beneath (MNT_LOCKED). */
static int bind_text(int staging_fd, const char *name, const char *text, size_t n, const char *target) {
        _cleanup_close_ int fd = -EBADF;
        char p[PATH_MAX];
        int r;

        fd = openat(staging_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd < 0)
                return -errno;
        if (write(fd, text, n) != (ssize_t) n)
                return errno > 0 ? -errno : -EIO;
        r = bind_mount(fd_child_path(p, staging_fd, name), target, false);
        return r < 0 ? r : make_readonly(target, false);
}

/* With a memory view (sandbox.h), /proc/meminfo reads as a machine of that size, and /proc/swaps lists no swap
 * (only when the host's lists some: its header alone needs no bind). Static, taken at start: live figures would
 * need a FUSE daemon per sandbox, as lxcfs runs one per host. Best effort: a failure leaves the host's files,
 * which is how a sandbox without a cap looks, and `nsrun doctor` (machine-view) reports it. */
static void setup_machine_view(const SandboxSpec *s, int staging_fd) {
        char host[8192], view[8192], *eol;
        int r;

        if (s->mem_view.total == 0)
                return;
        if (read_text("/proc/meminfo", host, sizeof host) >= 0) {
                r = meminfo_rewrite(host, &s->mem_view, view, sizeof view);
                if (r >= 0)
                        (void) bind_text(staging_fd, "meminfo", view, (size_t) r, "/proc/meminfo");
        }
        eol = read_text("/proc/swaps", host, sizeof host) > 0 ? strchr(host, '\n') : NULL;
        if (eol && eol[1])
                (void) bind_text(staging_fd, "swaps", host, (size_t) (eol + 1 - host), "/proc/swaps");
}

/* The staging tmpfs, and the --keep-writes directory attached in it, so that overlayfs takes layers there. */
static int setup_staging(const SandboxSpec *s, Sources *src, SandboxError *e) {
        int r;

        r = mount_fs("tmpfs", "nsrun", STAGING, MS_NOSUID | MS_NODEV, "mode=0700");
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_STAGING, r, STAGING);
        src->staging_fd = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (src->staging_fd < 0)
                return sandbox_error(e, SANDBOX_STEP_STAGING, -errno, STAGING);
        if (src->keep_writes_fd < 0)
                return 0;
        if (mkdirat(src->staging_fd, "keep", 0700) < 0 ||
            move_mount(src->keep_writes_fd, "", src->staging_fd, "keep", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return sandbox_error(e, SANDBOX_STEP_STAGING, -errno, s->keep_writes);
        return 0;
}

static void close_sources(Sources *src) {
        for (size_t i = 0; src->fds && i < 2 * src->n; i++)
                safe_close(src->fds[i]);
        src->fds = mfree(src->fds);
        src->keep_writes_fd = safe_close(src->keep_writes_fd);
        src->staging_fd = safe_close(src->staging_fd);
}

static int setup_mounts(const SandboxChildContext *c, Sources *src, sem_t *proc_mounted, SandboxError *e) {
        struct mount_attr attr = { .propagation = MS_PRIVATE };
        int r;

        /* Private, before anything is mounted: a mount made here never reaches the host, and one the host makes
         * later (a USB stick under /media) never appears here, writable, past the read-only step below. The
         * sandbox keeps the host's filesystems it shows busy until it ends, as any copy of a mount does. */
        if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr) < 0)
                return sandbox_error(e, SANDBOX_STEP_MOUNT_PRIVATE, -errno, "/");
        /* Closed again once everything is mounted (close_sources()): neither init nor the command keeps a way
         * back to the host's paths. */
        r = open_sources(c, src, e);
        if (r < 0)
                return r;
        /* The whole host tree read-only, nosuid and nodev in one call, before anything of ours is mounted on
         * it. */
        r = make_readonly("/", true);
        if (r < 0)
                return sandbox_error(e, SANDBOX_STEP_ROOT_READONLY, r, "/");
        /* /proc first: init's main thread waits for it to write the command's identity maps */
        r = setup_proc(e);
        if (r < 0)
                return r;
        if (proc_mounted)
                (void) sem_post(proc_mounted);
        r = setup_staging(c->spec, src, e);
        if (r < 0)
                return r;
        setup_machine_view(c->spec, src->staging_fd);
        r = setup_dev(c, src->staging_fd, e);
        if (r < 0)
                return r;
        return setup_user_mounts(c, src, e);
}

int sandbox_setup_mounts(const SandboxChildContext *c, sem_t *proc_mounted, SandboxError *e) {
        Sources src = { .keep_writes_fd = -EBADF, .staging_fd = -EBADF };
        int r;

        r = setup_mounts(c, &src, proc_mounted, e);
        close_sources(&src);
        return r;
}
