/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public interface: picks a backend once, then every call goes through m->ops. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "macro.h"

#define SYSFS_CGROUP "/sys/fs/cgroup"

static const CgroupManagerOptions default_options = {
        .allow_systemd = true,
        .require_memory = true,
};

static const CgroupLimits no_limits = {
        .mem_max = CGROUP_LIMIT_MAX,
        .pids_max = CGROUP_LIMIT_MAX,
};

static CgroupManager *manager_alloc(void) {
        CgroupManager *m = calloc(1, sizeof *m);

        if (!m)
                return NULL;
        m->owner = getpid();
        m->v2.own_fd = m->v2.run_fd = -EBADF;
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++)
                m->v1[h].own_fd = m->v1[h].run_fd = -EBADF;
        return m;
}

/* Frees what is left whichever backend (if any) got how far. */
static void manager_release(CgroupManager *m) {
        m->v2.own_fd = safe_close(m->v2.own_fd);
        m->v2.run_fd = safe_close(m->v2.run_fd);
        free(m->v2.own_path);
        m->v2.own_path = NULL;
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++) {
                m->v1[h].own_fd = safe_close(m->v1[h].own_fd);
                m->v1[h].run_fd = safe_close(m->v1[h].run_fd);
                free(m->v1[h].mount);
                free(m->v1[h].own);
                m->v1[h].mount = m->v1[h].own = NULL;
        }
        free(m->run_path);
        m->run_path = NULL;
}

static bool is_owner(const CgroupManager *m) {
        return m && m->owner == getpid();
}

static void job_release(CgroupJob *j) {
        j->fd = safe_close(j->fd);
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++)
                j->v1_fd[h] = safe_close(j->v1_fd[h]);
}

static void job_unlink(CgroupJob *j) {
        CgroupManager *m = j->manager;

        if (j->prev)
                j->prev->next = j->next;
        else if (m)
                m->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        j->next = j->prev = NULL;
        j->manager = NULL;
}

/* Kills and removes the job's cgroup, in the process that made it only: a forked child that frees its copy
 * of the manager must not tear down its parent's cgroups. */
static void job_teardown(CgroupJob *j) {
        CgroupManager *m = j->manager;

        if (is_owner(m)) {
                (void) m->ops->job_kill(j);
                (void) m->ops->job_remove(j);
        }
        job_unlink(j);
        job_release(j);
}

CgroupManager *cgroup_manager_free(CgroupManager *m) {
        if (!m)
                return NULL;
        /* Jobs the caller still holds stay allocated but inert (-ESTALE) until cgroup_job_free(). */
        while (m->jobs)
                job_teardown(m->jobs);
        if (is_owner(m) && m->ops)
                m->ops->manager_done(m);
        manager_release(m);
        free(m->run_name);
        free(m);
        return NULL;
}

/* Permission and delegation problems a systemd scope with Delegate=yes solves. */
static bool systemd_may_help(int r) {
        return r == -EACCES || r == -EPERM || r == -EROFS || r == -EBUSY || r == -ENOMEDIUM;
}

static int open_v2(CgroupManager *m, const CgroupManagerOptions *opts, const char *mount, const char *self,
                   char **ret_why) {
        _cleanup_free_ char *own = NULL, *why2 = NULL;
        int r, q;

        r = cgroup_parse_proc_self(self, NULL, &own);
        if (r < 0) {
                cg_why(ret_why, "cannot find nsrun's cgroup v2 path in /proc/self/cgroup (%s)", strerror(-r));
                return r;
        }
        r = cgroup_v2_open(m, mount, own, opts->require_memory, ret_why);
        if (r >= 0 || !opts->allow_systemd || !systemd_may_help(r))
                return r;
        q = cgroup_systemd_open(m, mount, opts->require_memory, &why2);
        if (q >= 0)
                return q;
        if (ret_why && *ret_why && why2) {
                char *s;
                if (asprintf(&s, "%s and %s", *ret_why, why2) >= 0) {
                        free(*ret_why);
                        *ret_why = s;
                }
        }
        return r;
}

static int open_backend(CgroupManager *m, const CgroupManagerOptions *opts, const char *root, char **ret_why) {
        _cleanup_free_ char *self = NULL, *mount = NULL, *mem = NULL;
        int r;

        r = cgroup_read_proc_self(NULL, &self);
        if (r < 0) {
                cg_why(ret_why, "cannot read /proc/self/cgroup (%s)", strerror(-r));
                return r;
        }
        if (m->layout == CGROUP_LAYOUT_V1 ||
            (m->layout == CGROUP_LAYOUT_HYBRID && cgroup_parse_proc_self(self, "memory", &mem) >= 0))
                return cgroup_v1_open(m, root, self, opts->require_memory, ret_why);
        r = cgroup_v2_mount(root, m->layout, &mount);
        if (r < 0) {
                cg_why(ret_why, "no cgroup file system is mounted at %s", root);
                return -ENOMEDIUM;
        }
        return open_v2(m, opts, mount, self, ret_why);
}

/* One sentence: what was refused (from the backend), then how to get past it. */
static char *refusal(int r, const char *why) {
        const char *user = geteuid() == 0 ? "" : "--user ";
        char *s;
        int k;

        why = why ? why : "cannot set up cgroups for the jobs";
        if (r == -EBUSY)
                k = asprintf(&s, "%s; run nsrun as the only process of its cgroup (exec it, or start it with "
                             "'systemd-run %s--scope -p Delegate=yes'), or pass --mem-cap off to run without "
                             "memory caps", why, user);
        else if (r == -ENOMEDIUM)
                k = asprintf(&s, "%s; enable the memory controller (on cgroup v1 mount it, on cgroup v2 enable it "
                             "in the parent's cgroup.subtree_control and do not boot with cgroup_disable=memory), "
                             "or pass --mem-cap off to run without memory caps", why);
        else
                k = asprintf(&s, "%s; run as root, delegate a cgroup to this user (chown it), run under "
                             "'systemd-run %s--scope -p Delegate=yes', or pass --mem-cap off to run without "
                             "memory caps", why, user);
        return k < 0 ? NULL : s;
}

int cgroup_manager_new(const CgroupManagerOptions *opts, CgroupManager **ret, char **ret_why) {
        _cleanup_(cgroup_manager_freep) CgroupManager *m = NULL;
        _cleanup_free_ char *why = NULL;
        const char *root;
        int r;

        if (!ret)
                return -EINVAL;
        opts = opts ? opts : &default_options;
        root = opts->sysfs_root ? opts->sysfs_root : SYSFS_CGROUP;
        m = manager_alloc();
        if (!m)
                return -ENOMEM;
        r = cgroup_run_name(getpid(), &m->run_name);
        if (r < 0)
                return r;
        if (cgroup_layout_detect(root, &m->layout) < 0)
                m->layout = CGROUP_LAYOUT_UNKNOWN;
        r = open_backend(m, opts, root, &why);
        if (r < 0 && opts->require_memory) {
                if (ret_why)
                        *ret_why = refusal(r, why);
                return r;
        }
        if (r < 0) {
                manager_release(m);
                m->ops = &cgroup_none_ops;
                m->kind = CGROUP_BACKEND_NONE;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

CgroupBackendKind cgroup_manager_backend(const CgroupManager *m) {
        return m ? m->kind : CGROUP_BACKEND_NONE;
}

CgroupLayout cgroup_manager_layout(const CgroupManager *m) {
        return m ? m->layout : CGROUP_LAYOUT_UNKNOWN;
}

const char *cgroup_manager_run_path(const CgroupManager *m) {
        return m ? m->run_path : NULL;
}

/* A job name becomes one directory name in cgroupfs, next to the kernel's own files. */
static bool job_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > 200 || name[0] == '.' || streq(name, CGROUP_SUPERVISOR))
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '/' || (unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int cgroup_job_new(CgroupManager *m, const char *name, const CgroupLimits *limits, CgroupJob **ret) {
        CgroupJob *j;
        int r;

        if (!m || !ret || !m->ops)
                return -EINVAL;
        if (!job_name_valid(name))
                return -EINVAL;
        for (CgroupJob *k = m->jobs; k; k = k->next)
                if (streq(k->name, name))
                        return -EEXIST;
        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->fd = -EBADF;
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++)
                j->v1_fd[h] = -EBADF;
        j->manager = m;
        j->name = strdup(name);
        r = j->name ? m->ops->job_create(j, limits ? limits : &no_limits) : -ENOMEM;
        if (r < 0) {
                (void) m->ops->job_remove(j);
                job_release(j);
                free(j->name);
                free(j);
                return r;
        }
        j->next = m->jobs;
        if (m->jobs)
                m->jobs->prev = j;
        m->jobs = j;
        *ret = j;
        return 0;
}

int cgroup_job_fd(CgroupJob *j) {
        if (!j)
                return -EINVAL;
        return j->manager ? j->manager->ops->job_fd(j) : -ESTALE;
}

int cgroup_job_attach(CgroupJob *j, pid_t pid) {
        if (!j || pid < 0)
                return -EINVAL;
        return j->manager ? j->manager->ops->job_attach(j, pid) : -ESTALE;
}

int cgroup_job_sample(CgroupJob *j) {
        if (!j)
                return -EINVAL;
        return j->manager ? j->manager->ops->job_sample(j) : -ESTALE;
}

int cgroup_job_stats(CgroupJob *j, CgroupStats *ret) {
        if (!j || !ret)
                return -EINVAL;
        return j->manager ? j->manager->ops->job_stats(j, ret) : -ESTALE;
}

int cgroup_job_sockets_charged(CgroupJob *j, char **ret_why) {
        if (!j)
                return -EINVAL;
        return j->manager ? j->manager->ops->job_sockets_charged(j, ret_why) : -ESTALE;
}

int cgroup_job_kill(CgroupJob *j) {
        if (!j)
                return -EINVAL;
        return j->manager ? j->manager->ops->job_kill(j) : -ESTALE;
}

CgroupJob *cgroup_job_free(CgroupJob *j) {
        if (!j)
                return NULL;
        if (j->manager)
                job_teardown(j);
        job_release(j);
        free(j->name);
        free(j);
        return NULL;
}

/* nsrun's own cgroup in every hierarchy a run may have used, for cgroup_clean_stale(). */
static size_t open_own_dirs(const char *root, CgroupLayout layout, const char *self, int *fds, size_t max) {
        _cleanup_free_ char *mount = NULL, *own = NULL, *path = NULL;
        size_t n = 0;

        if (cgroup_v2_mount(root, layout, &mount) >= 0 && cgroup_parse_proc_self(self, NULL, &own) >= 0 &&
            (path = cg_path_join(mount, own)) && (fds[n] = cg_open_dir(AT_FDCWD, path)) >= 0)
                n++;
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX && n < max; h++) {
                _cleanup_free_ char *m1 = NULL, *o1 = NULL, *p1 = NULL;

                if (layout != CGROUP_LAYOUT_V1 && layout != CGROUP_LAYOUT_HYBRID)
                        break;
                if (cgroup_v1_locate(root, self, cgroup_v1_controller(h), &m1, &o1) < 0)
                        continue;
                p1 = cg_path_join(m1, o1);
                if (p1 && (fds[n] = cg_open_dir(AT_FDCWD, p1)) >= 0)
                        n++;
        }
        return n;
}

/* Where the systemd backend's scopes end up: the parent of our own cgroup if that is such a scope, and the
 * managers' default slices for transient units. */
static int clean_stale_scopes(const char *mount, const char *self, unsigned *removed) {
        _cleanup_free_ char *own = NULL, *user_slice = NULL;
        const char *candidates[3] = {};
        uint64_t start;
        pid_t pid;
        int r = 0;

        if (cgroup_parse_proc_self(self, NULL, &own) >= 0 && strrchr(own, '/') &&
            cgroup_is_run_scope(strrchr(own, '/') + 1, &pid, &start)) {
                *strrchr(own, '/') = '\0';
                candidates[0] = own;
        }
        if (geteuid() == 0)
                candidates[1] = "system.slice";
        else if (asprintf(&user_slice, "user.slice/user-%u.slice/user@%u.service/app.slice", (unsigned) getuid(),
                          (unsigned) getuid()) >= 0)
                candidates[2] = user_slice;
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                _cleanup_free_ char *p = candidates[i] ? cg_path_join(mount, candidates[i]) : NULL;
                _cleanup_close_ int fd = p ? cg_open_dir(AT_FDCWD, p) : -EBADF;
                int q = fd >= 0 ? cgroup_clean_stale_scopes(fd, removed) : 0;

                if (q < 0 && r == 0)
                        r = q;
        }
        return r;
}

int cgroup_clean_stale(const CgroupManagerOptions *opts, unsigned *ret_removed) {
        const char *root = opts && opts->sysfs_root ? opts->sysfs_root : SYSFS_CGROUP;
        _cleanup_free_ char *self = NULL;
        int fds[_CGROUP_V1_MAX + 1], r;
        unsigned removed = 0;
        CgroupLayout layout;
        size_t n;

        r = cgroup_layout_detect(root, &layout);
        if (r < 0)
                return r;
        r = cgroup_read_proc_self(NULL, &self);
        if (r < 0)
                return r;
        n = open_own_dirs(root, layout, self, fds, ELEMENTSOF(fds));
        r = cgroup_clean_stale_dirs(fds, n, &removed);
        for (size_t i = 0; i < n; i++)
                (void) safe_close(fds[i]);
        if (layout == CGROUP_LAYOUT_V2 && (!opts || opts->allow_systemd)) {
                int q = clean_stale_scopes(root, self, &removed);
                if (q < 0 && r >= 0)
                        r = q;
        }
        if (ret_removed)
                *ret_removed = removed;
        return r;
}
