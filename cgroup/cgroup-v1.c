/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup v1 backend, also used in hybrid layouts where the controllers are on v1
 * (Documentation/admin-guide/cgroup-v1/). Every controller is its own hierarchy, so a job is one directory per
 * hierarchy, "<own path in it>/nsrun-<pid>-<starttime>/<job>", and a process is attached to each. v1 has no
 * "no internal process" rule: nsrun stays where it is.
 *
 * memory is required (unless the caller runs without caps); pids, freezer and cpuacct only add a fork limit, a
 * race-free kill and a CPU figure, and are skipped when not mounted or not writable. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "fileio.h"
#include "macro.h"

static const char *const v1_controller[_CGROUP_V1_MAX] = {
        [CGROUP_V1_MEMORY] = "memory",
        [CGROUP_V1_PIDS] = "pids",
        [CGROUP_V1_FREEZER] = "freezer",
        [CGROUP_V1_CPUACCT] = "cpuacct",
};

const char *cgroup_v1_controller(CgroupV1Hierarchy h) {
        return h >= 0 && h < _CGROUP_V1_MAX ? v1_controller[h] : NULL;
}

static void v1_manager_done(CgroupManager *m) {
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++) {
                CgroupV1Dir *d = &m->v1[h];

                if (d->run_fd >= 0) {
                        d->run_fd = safe_close(d->run_fd);
                        (void) cg_rmdir(d->own_fd, m->run_name);
                }
                d->own_fd = safe_close(d->own_fd);
        }
}

/* Was this hierarchy already opened under another controller's name ("cpu,cpuacct" co-mounted)? */
static bool v1_same_hierarchy(CgroupManager *m, CgroupV1Hierarchy h) {
        struct stat a, b;

        if (fstat(m->v1[h].own_fd, &a) < 0)
                return false;
        for (CgroupV1Hierarchy k = 0; k < h; k++)
                if (m->v1[k].own_fd >= 0 && fstat(m->v1[k].own_fd, &b) >= 0 && a.st_dev == b.st_dev)
                        return true;
        return false;
}

static int v1_open_own(CgroupManager *m, CgroupV1Hierarchy h, const char *sysfs_root, const char *self) {
        CgroupV1Dir *d = &m->v1[h];
        _cleanup_free_ char *path = NULL;
        int r;

        r = cgroup_v1_locate(sysfs_root, self, v1_controller[h], &d->mount, &d->own);
        if (r < 0)
                return r;
        path = cg_path_join(d->mount, d->own);
        if (!path)
                return -ENOMEM;
        d->own_fd = cg_open_dir(AT_FDCWD, path);
        if (d->own_fd < 0)
                return d->own_fd;
        if (v1_same_hierarchy(m, h)) {
                d->own_fd = safe_close(d->own_fd);
                return -EEXIST;
        }
        return 0;
}

static void v1_clean_stale(CgroupManager *m) {
        int fds[_CGROUP_V1_MAX];

        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++)
                fds[h] = m->v1[h].own_fd;
        (void) cgroup_clean_stale_dirs(fds, _CGROUP_V1_MAX, NULL);
}

static int v1_memory_refused(CgroupManager *m, int r, char **ret_why) {
        CgroupV1Dir *d = &m->v1[CGROUP_V1_MEMORY];

        if (!d->mount) {
                cg_why(ret_why, "the memory controller is not mounted (no memory hierarchy in /proc/self/cgroup "
                       "and the cgroup file system)");
                return -ENOMEDIUM;
        }
        cg_why(ret_why, "cannot create cgroups under %s%s (%s)", d->mount, streq(d->own, "/") ? "" : d->own,
               strerror(-r));
        return r;
}

int cgroup_v1_open(CgroupManager *m, const char *sysfs_root, const char *self, bool require_memory,
                   char **ret_why) {
        int r = 0;

        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++) {
                int q = v1_open_own(m, h, sysfs_root, self);
                if (h == CGROUP_V1_MEMORY)
                        r = q;
        }
        if (r < 0 && require_memory) {
                r = v1_memory_refused(m, r, ret_why);
                v1_manager_done(m);
                return r;
        }
        v1_clean_stale(m);
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++) {
                CgroupV1Dir *d = &m->v1[h];

                if (d->own_fd < 0)
                        continue;
                d->run_fd = cg_mkdir_open(d->own_fd, m->run_name);
                if (d->run_fd < 0 && h == CGROUP_V1_MEMORY && require_memory) {
                        r = v1_memory_refused(m, d->run_fd, ret_why);
                        v1_manager_done(m);
                        return r;
                }
        }
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX && !m->run_path; h++)
                if (m->v1[h].run_fd >= 0) {
                        _cleanup_free_ char *own = cg_path_join(m->v1[h].mount, m->v1[h].own);
                        m->run_path = own ? cg_path_join(own, m->run_name) : NULL;
                        if (!m->run_path) {
                                v1_manager_done(m);
                                return -ENOMEM;
                        }
                }
        if (!m->run_path) {
                cg_why(ret_why, "no cgroup v1 hierarchy under %s can be written", sysfs_root);
                v1_manager_done(m);
                return -EACCES;
        }
        m->ops = &cgroup_v1_ops;
        m->kind = CGROUP_BACKEND_V1;
        return 0;
}

static int v1_set_memory(int fd, uint64_t limit) {
        int r;

        /* memory.memsw.limit_in_bytes (memory + swap) may never be below memory.limit_in_bytes, so the order
         * matters: lower the memory limit first, then set memsw to the same value to allow no swap. */
        r = cg_write_u64(fd, "memory.limit_in_bytes", limit);
        if (r < 0)
                return r;
        r = cg_write_u64(fd, "memory.memsw.limit_in_bytes", limit);
        if (r != -ENOENT)
                return r;
        /* No swap accounting (swapaccount=0): at least ask reclaim not to swap this cgroup's memory. */
        (void) cg_write(fd, "memory.swappiness", "0");
        return 0;
}

static int v1_job_create(CgroupJob *j, const CgroupLimits *limits) {
        CgroupManager *m = j->manager;
        int r;

        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++) {
                if (m->v1[h].run_fd < 0)
                        continue;
                j->v1_fd[h] = cg_mkdir_open(m->v1[h].run_fd, j->name);
                if (j->v1_fd[h] < 0)
                        return j->v1_fd[h];
        }
        j->v1_tcp_error = -ENOMEDIUM;
        if (limits->mem_max != CGROUP_LIMIT_MAX) {
                if (j->v1_fd[CGROUP_V1_MEMORY] < 0)
                        return -ENOMEDIUM;
                r = v1_set_memory(j->v1_fd[CGROUP_V1_MEMORY], limits->mem_max);
                if (r < 0)
                        return r;
                /* v1 charges socket buffers to a counter of their own, and only in a cgroup whose
                 * memory.kmem.tcp.limit_in_bytes was set; a socket made before that is never charged, so it is
                 * set here, before any task is in the cgroup (Documentation/admin-guide/cgroup-v1/memory.rst,
                 * 2.7.2). Without it a job under a 64 MiB cap held 400 MiB in loopback TCP buffers. Where the
                 * kernel has no such file (no kmem accounting) or refuses it, the job still runs: `nsrun
                 * doctor` warns. */
                j->v1_tcp_error = cg_write_u64(j->v1_fd[CGROUP_V1_MEMORY], "memory.kmem.tcp.limit_in_bytes",
                                               limits->mem_max);
        }
        if (limits->pids_max != CGROUP_LIMIT_MAX && j->v1_fd[CGROUP_V1_PIDS] >= 0) {
                r = cg_write_u64(j->v1_fd[CGROUP_V1_PIDS], "pids.max", limits->pids_max);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_job_fd(CgroupJob *j) {
        return -EOPNOTSUPP; /* CLONE_INTO_CGROUP is cgroup v2 only */
}

static int v1_job_attach(CgroupJob *j, pid_t pid) {
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++)
                if (j->v1_fd[h] >= 0) {
                        int r = cg_attach(j->v1_fd[h], pid);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int v1_job_sample(CgroupJob *j) {
        return 0; /* memory.max_usage_in_bytes is a kernel-kept high-water mark */
}

static int v1_job_stats(CgroupJob *j, CgroupStats *ret) {
        int mem = j->v1_fd[CGROUP_V1_MEMORY], pids = j->v1_fd[CGROUP_V1_PIDS], acct = j->v1_fd[CGROUP_V1_CPUACCT];
        CgroupStats s = {};
        uint64_t v;

        if (mem >= 0) {
                (void) cg_read_u64(mem, "memory.max_usage_in_bytes", &s.peak_mem);
                (void) cg_read_u64(mem, "memory.usage_in_bytes", &s.current_mem);
                /* "oom_kill" is 4.13+; older kernels only say under_oom, which is no count. */
                (void) cg_read_keyed(mem, "memory.oom_control", "oom_kill", &s.oom_kills);
        }
        if (acct >= 0 && cg_read_u64(acct, "cpuacct.usage", &v) >= 0)
                s.cpu_usec = v / 1000;
        if (pids >= 0 && cg_read_keyed(pids, "pids.events", "max", &v) >= 0)
                s.pids_limited = v > 0;
        *ret = s;
        return 0;
}

static int v1_freeze(int fd, bool freeze) {
        uint64_t deadline = now_usec() + UINT64_C(1000000);
        int r;

        r = cg_write(fd, "freezer.state", freeze ? "FROZEN" : "THAWED");
        if (r < 0 || !freeze)
                return r;
        /* "FREEZING" until every task has stopped; a task in uninterruptible sleep can keep it there. */
        for (;;) {
                _cleanup_free_ char *state = NULL;

                r = read_one_line_file_at(fd, "freezer.state", &state);
                if (r < 0 || streq(state, "FROZEN") || now_usec() > deadline)
                        return r;
                cg_sleep_usec(1000);
        }
}

static int v1_primary_fd(CgroupJob *j) {
        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++)
                if (j->v1_fd[h] >= 0)
                        return j->v1_fd[h];
        return -EBADF;
}

/* Freeze so nothing forks between reading cgroup.procs and the kills, SIGKILL everyone, thaw so the pending
 * signals are acted on (frozen v1 tasks only die once thawed), and repeat until the job is empty. */
static int v1_job_kill(CgroupJob *j) {
        int fd = v1_primary_fd(j);

        return fd < 0 ? 0 : cg_kill_loop(fd, v1_freeze, j->v1_fd[CGROUP_V1_FREEZER]);
}

static int v1_job_remove(CgroupJob *j) {
        int r = 0;

        for (CgroupV1Hierarchy h = 0; h < _CGROUP_V1_MAX; h++) {
                int q;

                if (j->v1_fd[h] < 0)
                        continue;
                j->v1_fd[h] = safe_close(j->v1_fd[h]);
                q = cg_rmdir(j->manager->v1[h].run_fd, j->name);
                if (q < 0 && r == 0)
                        r = q;
        }
        return r;
}

static int v1_job_sockets_charged(CgroupJob *j, char **ret_why) {
        int r = j->v1_tcp_error;

        if (r == 0 || r == -ENOMEDIUM)
                return r;
        cg_why(ret_why, "cgroup v1 charges socket buffers only up to memory.kmem.tcp.limit_in_bytes, and %s%s",
               r == -ENOENT ? "this kernel has no such file (built without kmem accounting)"
                            : "this kernel refused to set it: ", r == -ENOENT ? "" : strerror(-r));
        return -EOPNOTSUPP;
}

const CgroupOps cgroup_v1_ops = {
        .manager_done = v1_manager_done,
        .job_create = v1_job_create,
        .job_fd = v1_job_fd,
        .job_attach = v1_job_attach,
        .job_sample = v1_job_sample,
        .job_stats = v1_job_stats,
        .job_kill = v1_job_kill,
        .job_remove = v1_job_remove,
        .job_sockets_charged = v1_job_sockets_charged,
};
