/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What this process may really use: CPUs and memory after every bound the host and its cgroups set, and which
 * bound won, for `nsrun doctor` and for messages like "--mem-per-worker 30G: 22.1 GiB available".
 *
 * Bounds are read from nsrun's own cgroup up to the root of each hierarchy, because a limit anywhere above
 * applies too (a container's limit sits on /docker/<id>, a Kubernetes pod's on the pod, not on the leaf).
 * Files that do not exist (the root cgroup has no cpu.max; controllers not enabled on a level) are no bound.
 *
 * Everything is read below sysfs_root and proc_root so tests can point both at fixture trees. With a proc_root
 * other than /proc, the CPUs online come from <proc_root>/stat and the affinity mask from
 * <proc_root>/self/status, where the real case asks sysconf() and sched_getaffinity(). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "fileio.h"
#include "macro.h"
#include "parse-util.h"

#define SYSFS_CGROUP "/sys/fs/cgroup"
#define PROC "/proc"

/* One hierarchy as the budget sees it: where it is mounted, where we are in it, which file names it uses. */
typedef struct Hierarchy {
        char *mount;
        char *own;
        bool v2;
} Hierarchy;

static void hierarchy_done(Hierarchy *h) {
        free(h->mount);
        free(h->own);
}

static bool proc_is_real(const char *proc_root) {
        return streq(proc_root, PROC);
}

static int read_text(const char *root, const char *file, char **ret) {
        _cleanup_free_ char *p = cg_path_join(root, file);

        if (!p)
                return -ENOMEM;
        return read_full_file_at(AT_FDCWD, p, ret, NULL);
}

/* The hierarchy holding a controller: its v1 hierarchy if /proc/self/cgroup names one, else the cgroup2 mount
 * (sysfs_root itself, or "unified" in hybrid layouts). */
static int hierarchy_locate(const char *sysfs_root, const char *self, const char *controller, Hierarchy *ret) {
        _cleanup_free_ char *mount = NULL, *own = NULL, *probe = NULL;

        if (cgroup_v1_locate(sysfs_root, self, controller, &ret->mount, &ret->own) >= 0) {
                ret->v2 = false;
                return 0;
        }
        if (cgroup_parse_proc_self(self, NULL, &own) < 0)
                return -ENOENT;
        mount = strdup(sysfs_root);
        probe = cg_path_join(sysfs_root, "cgroup.controllers");
        if (!mount || !probe)
                return -ENOMEM;
        if (access(probe, F_OK) < 0) {
                free(mount);
                mount = cg_path_join(sysfs_root, "unified");
                free(probe);
                probe = mount ? cg_path_join(mount, "cgroup.controllers") : NULL;
                if (!probe)
                        return -ENOMEM;
                if (access(probe, F_OK) < 0)
                        return -ENOENT;
        }
        ret->mount = TAKE_PTR(mount);
        ret->own = TAKE_PTR(own);
        ret->v2 = true;
        return 0;
}

/* Calls visit for our cgroup and each ancestor up to the hierarchy's root, nearest first, until it returns
 * non-zero. */
typedef int (*visit_fn)(int fd, const char *path, bool v2, void *userdata);

static int hierarchy_walk(const Hierarchy *h, visit_fn visit, void *userdata) {
        _cleanup_close_ int root = -EBADF;
        _cleanup_free_ char *path = strdup(h->own);

        if (!path)
                return -ENOMEM;
        root = cg_open_dir(AT_FDCWD, h->mount);
        if (root < 0)
                return root;
        for (;;) {
                _cleanup_close_ int fd = cg_open_dir(root, path[1] ? path + 1 : ".");
                char *slash;

                if (fd >= 0 && visit(fd, path, h->v2, userdata) != 0)
                        return 0;
                slash = strrchr(path, '/');
                if (!slash || slash == path) {
                        if (!path[1])
                                return 0;
                        path[1] = '\0';
                } else
                        *slash = '\0';
        }
}

static int walk_controller(const char *sysfs_root, const char *self, const char *controller, visit_fn visit,
                           void *userdata) {
        _cleanup_(hierarchy_done) Hierarchy h = {};
        int r;

        r = hierarchy_locate(sysfs_root, self, controller, &h);
        if (r < 0)
                return r;
        return hierarchy_walk(&h, visit, userdata);
}

/* ---- CPU ---- */

typedef struct QuotaBound {
        double ratio;           /* smallest quota/period seen, 0 if none */
        uint64_t quota, period;
        char path[128];
        bool v2;
} QuotaBound;

static int read_quota(int fd, bool v2, uint64_t *ret_quota, uint64_t *ret_period) {
        _cleanup_free_ char *text = NULL;
        uint64_t q, p;
        double ratio;
        int r;

        if (v2) {
                r = read_full_file_at(fd, "cpu.max", &text, NULL);
                if (r < 0 || cgroup_parse_cpu_max(text, &ratio) < 0 || ratio <= 0)
                        return -ENODATA;
                if (sscanf(text, "%" SCNu64 " %" SCNu64, &q, &p) != 2)
                        return -ENODATA;
        } else {
                /* cfs_quota_us is -1 for none, which cgroup_parse_limit() reads as no limit. */
                r = cg_read_limit(fd, "cpu.cfs_quota_us", &q);
                if (r < 0 || q == CGROUP_LIMIT_MAX || q == 0)
                        return -ENODATA;
                r = cg_read_u64(fd, "cpu.cfs_period_us", &p);
                if (r < 0 || p == 0)
                        return -ENODATA;
        }
        *ret_quota = q;
        *ret_period = p;
        return 0;
}

static int visit_quota(int fd, const char *path, bool v2, void *userdata) {
        QuotaBound *b = userdata;
        uint64_t q, p;
        double ratio;

        if (read_quota(fd, v2, &q, &p) < 0)
                return 0;
        ratio = (double) q / (double) p;
        if (b->ratio == 0 || ratio < b->ratio) {
                *b = (QuotaBound) { .ratio = ratio, .quota = q, .period = p, .v2 = v2 };
                (void) snprintf(b->path, sizeof b->path, "%s", path);
        }
        return 0;
}

typedef struct CpusetBound {
        unsigned count;
        char path[128];
        bool v2;
} CpusetBound;

/* The nearest cpuset file is already the effective set (the intersection with every ancestor's). */
static int visit_cpuset(int fd, const char *path, bool v2, void *userdata) {
        CpusetBound *b = userdata;
        _cleanup_free_ char *text = NULL;
        unsigned n;

        if (read_full_file_at(fd, v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus", &text, NULL) < 0)
                return 0;
        if (cgroup_parse_cpu_list(text, &n) < 0 || n == 0)
                return 0;
        b->count = n;
        b->v2 = v2;
        (void) snprintf(b->path, sizeof b->path, "%s", path);
        return 1;
}

static int cpus_online(const char *proc_root, unsigned *ret) {
        _cleanup_free_ char *text = NULL;
        long n;
        int r;

        if (!proc_is_real(proc_root)) {
                r = read_text(proc_root, "stat", &text);
                return r < 0 ? r : proc_stat_parse_online(text, ret);
        }
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
                return -EIO;
        *ret = (unsigned) n;
        return 0;
}

static int cpus_affinity(const char *proc_root, unsigned *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (!proc_is_real(proc_root)) {
                r = read_text(proc_root, "self/status", &text);
                return r < 0 ? r : proc_status_parse_cpus_allowed(text, ret);
        }
        /* The mask is sized by the kernel's nr_cpu_ids, which can exceed CPU_SETSIZE: grow until it fits. */
        for (size_t ncpus = 1024; ncpus <= (1U << 20); ncpus *= 2) {
                cpu_set_t *set = CPU_ALLOC(ncpus);
                size_t size = CPU_ALLOC_SIZE(ncpus);

                if (!set)
                        return -ENOMEM;
                if (sched_getaffinity(0, size, set) >= 0) {
                        *ret = (unsigned) CPU_COUNT_S(size, set);
                        CPU_FREE(set);
                        return 0;
                }
                r = -errno;
                CPU_FREE(set);
                if (r != -EINVAL)
                        return r;
        }
        return -EINVAL;
}

static void cpu_pick_bound(CpuBudget *b, const CpusetBound *cs, const QuotaBound *q) {
        b->cpus = b->online;
        (void) snprintf(b->source, sizeof b->source, "%u CPUs online", b->online);
        if (b->affinity > 0 && b->affinity < b->cpus) {
                b->cpus = b->affinity;
                (void) snprintf(b->source, sizeof b->source, "affinity mask (%u of %u online CPUs)", b->affinity,
                                b->online);
        }
        if (cs->count > 0 && cs->count < b->cpus) {
                b->cpus = cs->count;
                (void) snprintf(b->source, sizeof b->source, "%s of %s (%u CPUs)",
                                cs->v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus", cs->path, cs->count);
        }
        if (q->ratio > 0 && q->ratio < b->cpus) {
                b->cpus = q->ratio;
                (void) snprintf(b->source, sizeof b->source, "%s of %s (%" PRIu64 "/%" PRIu64 " = %g CPU%s)",
                                q->v2 ? "cpu.max" : "cpu.cfs_quota_us", q->path, q->quota, q->period, q->ratio,
                                q->ratio == 1 ? "" : "s");
        }
}

int cpu_budget_get_full(const char *sysfs_root, const char *proc_root, CpuBudget *ret) {
        _cleanup_free_ char *self = NULL;
        CpuBudget b = {};
        CpusetBound cs = {};
        QuotaBound q = {};
        int r;

        if (!ret)
                return -EINVAL;
        sysfs_root = sysfs_root ? sysfs_root : SYSFS_CGROUP;
        proc_root = proc_root ? proc_root : PROC;
        r = cpus_online(proc_root, &b.online);
        if (r < 0)
                return r;
        if (cpus_affinity(proc_root, &b.affinity) < 0)
                b.affinity = 0;
        if (cgroup_read_proc_self(proc_root, &self) >= 0) {
                (void) walk_controller(sysfs_root, self, "cpuset", visit_cpuset, &cs);
                (void) walk_controller(sysfs_root, self, "cpu", visit_quota, &q);
        }
        b.cpuset = cs.count;
        b.quota = q.ratio;
        cpu_pick_bound(&b, &cs, &q);
        *ret = b;
        return 0;
}

int cpu_budget_get(const char *sysfs_root, CpuBudget *ret) {
        return cpu_budget_get_full(sysfs_root, NULL, ret);
}

/* ---- memory ---- */

typedef struct MemBound {
        uint64_t available;     /* smallest limit - usage seen, CGROUP_LIMIT_MAX if none */
        uint64_t limit, usage;
        char path[128];
        bool v2;
} MemBound;

/* Usage as the kernel would see it under pressure: inactive file pages are reclaimed before anyone is OOM
 * killed, so they count as available, as in MemAvailable (and kubelet's and docker's "working set"). */
static uint64_t working_set(int fd, bool v2, uint64_t usage) {
        uint64_t inactive;

        if (cg_read_keyed(fd, "memory.stat", v2 ? "inactive_file" : "total_inactive_file", &inactive) < 0)
                return usage;
        return inactive < usage ? usage - inactive : 0;
}

static int visit_memory(int fd, const char *path, bool v2, void *userdata) {
        MemBound *b = userdata;
        uint64_t limit, usage, avail;

        if (cg_read_limit(fd, v2 ? "memory.max" : "memory.limit_in_bytes", &limit) < 0 || limit == CGROUP_LIMIT_MAX)
                return 0;
        if (cg_read_u64(fd, v2 ? "memory.current" : "memory.usage_in_bytes", &usage) < 0)
                return 0;
        usage = working_set(fd, v2, usage);
        avail = limit > usage ? limit - usage : 0;
        if (avail < b->available) {
                *b = (MemBound) { .available = avail, .limit = limit, .usage = usage, .v2 = v2 };
                (void) snprintf(b->path, sizeof b->path, "%s", path);
        }
        return 0;
}

int mem_budget_get(const char *sysfs_root, const char *proc_root, MemBudget *ret) {
        _cleanup_free_ char *self = NULL, *meminfo = NULL;
        MemBound mb = { .available = CGROUP_LIMIT_MAX };
        MemBudget b = {};
        int r;

        if (!ret)
                return -EINVAL;
        sysfs_root = sysfs_root ? sysfs_root : SYSFS_CGROUP;
        proc_root = proc_root ? proc_root : PROC;
        r = read_text(proc_root, "meminfo", &meminfo);
        if (r < 0)
                return r;
        r = meminfo_parse_available(meminfo, &b.mem_available);
        if (r < 0)
                return r;
        if (cgroup_read_proc_self(proc_root, &self) >= 0)
                (void) walk_controller(sysfs_root, self, "memory", visit_memory, &mb);
        b.bytes = b.mem_available;
        b.cgroup_limit = CGROUP_LIMIT_MAX;
        (void) snprintf(b.source, sizeof b.source, "MemAvailable (%s)", FORMAT_SIZE(b.mem_available));
        if (mb.available < b.bytes) {
                b.bytes = mb.available;
                b.cgroup_limit = mb.limit;
                b.cgroup_usage = mb.usage;
                (void) snprintf(b.source, sizeof b.source, "%s of %s: %s limit, %s in use",
                                mb.v2 ? "memory.max" : "memory.limit_in_bytes", mb.path, FORMAT_SIZE(mb.limit),
                                FORMAT_SIZE(mb.usage));
        }
        *ret = b;
        return 0;
}
