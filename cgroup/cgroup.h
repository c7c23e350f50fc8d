/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cgroup/: caps and measures one sandbox's process tree. One interface over three backends (cgroup v2,
 * v1/hybrid, systemd transient scope + v2), picked once at start. Library code: never prints, returns -errno.
 *
 * Names: the run subtree is "<nsrun's own cgroup>/nsrun-<pid>-<starttime>" (pid and start time, in clock ticks
 * since boot, of the nsrun process, so a later run can tell a dead owner from a reused pid), jobs are
 * "<run>/<name>". On cgroup v2 nsrun moves itself into "<run>/supervisor" (see cgroup-v2.c for why); on v1 the
 * run exists once per hierarchy used (memory, pids, freezer, cpuacct). The systemd backend first gets a
 * transient scope "nsrun-<pid>-<starttime>.scope" with Delegate=yes and builds the same inside it.
 *
 * Order of calls:
 *   1. cgroup_manager_new() once, before forking any job (v2 moves nsrun itself; children forked earlier stay
 *      behind in the old cgroup). One manager per process.
 *   2. per job: cgroup_job_new(), then start the job's process in it: clone3(CLONE_INTO_CGROUP) with
 *      cgroup_job_fd() on v2, or cgroup_job_attach() (from the child before exec, or from the parent before
 *      letting the child go on). Processes nsrun forks outside jobs stay in "supervisor" (v2).
 *   3. while it runs: cgroup_job_sample() every ~100 ms (only v2 kernels < 5.19 need it, it is a no-op
 *      elsewhere: there is no memory.peak there, and peak_mem is the largest memory.current seen by
 *      cgroup_job_sample() and cgroup_job_stats()).
 *   4. when it ended (or timed out): cgroup_job_kill() for what is left, cgroup_job_stats(), cgroup_job_free().
 *   5. cgroup_manager_free() before exiting: kills and removes whatever is left and puts nsrun back where it
 *      was. Only the process that created the manager tears anything down; a forked child that frees its copy
 *      only frees memory.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define CGROUP_LIMIT_MAX UINT64_MAX

typedef enum CgroupLayout {
        CGROUP_LAYOUT_UNKNOWN,
        CGROUP_LAYOUT_V2,       /* pure cgroup2 at /sys/fs/cgroup */
        CGROUP_LAYOUT_HYBRID,   /* v1 controllers plus a cgroup2 mount (e.g. /sys/fs/cgroup/unified) */
        CGROUP_LAYOUT_V1,       /* v1 only */
        _CGROUP_LAYOUT_MAX,
} CgroupLayout;

typedef enum CgroupBackendKind {
        CGROUP_BACKEND_NONE,    /* --mem-cap off: jobs are measured where possible but never capped */
        CGROUP_BACKEND_V2,
        CGROUP_BACKEND_V1,
        CGROUP_BACKEND_SYSTEMD, /* a transient scope with Delegate=yes from the (user) manager, then v2 inside */
        _CGROUP_BACKEND_MAX,
} CgroupBackendKind;

const char *cgroup_layout_to_string(CgroupLayout l);
const char *cgroup_backend_to_string(CgroupBackendKind k);

typedef struct CgroupManagerOptions {
        bool allow_systemd;     /* may ask systemd over sd-bus for a delegated scope */
        bool require_memory;    /* false with --mem-cap off */
        const char *sysfs_root; /* NULL = "/sys/fs/cgroup"; tests point it at fixture trees */
} CgroupManagerOptions;

typedef struct CgroupManager CgroupManager;
typedef struct CgroupJob CgroupJob;

typedef struct CgroupLimits {
        uint64_t mem_max;       /* bytes, CGROUP_LIMIT_MAX = none; swap is never allowed beyond it */
        uint64_t pids_max;      /* CGROUP_LIMIT_MAX = none */
} CgroupLimits;

typedef struct CgroupStats {
        uint64_t peak_mem;      /* bytes, high-water mark of the job's cgroup */
        uint64_t current_mem;   /* bytes in use now */
        uint64_t cpu_usec;      /* user+system CPU of everything that ran in it */
        uint64_t oom_kills;     /* processes the kernel killed in it for memory */
        bool pids_limited;      /* a fork failed at pids.max */
} CgroupStats;

/* Detects the layout, picks the backend, creates this run's subtree under the cgroup nsrun runs in (never above
 * its own cgroup) and removes subtrees of earlier runs whose owner is gone.
 * On failure (-EPERM/-EACCES/-ENOMEDIUM: no backend can cap memory here), *ret_why, if given, gets one sentence
 * naming what was refused and the fix, for the caller to print. */
int cgroup_manager_new(const CgroupManagerOptions *opts, CgroupManager **ret, char **ret_why);
/* Kills whatever is left in the run's jobs and removes the run's subtree (and, systemd, the scope's children). */
CgroupManager *cgroup_manager_free(CgroupManager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupManager *, cgroup_manager_free);

CgroupBackendKind cgroup_manager_backend(const CgroupManager *m);
CgroupLayout cgroup_manager_layout(const CgroupManager *m);
/* Absolute path of the run's subtree, for messages and `nsrun doctor`; NULL for CGROUP_BACKEND_NONE. On v1 the
 * one in the memory hierarchy. */
const char *cgroup_manager_run_path(const CgroupManager *m);

/* Kills and removes the "nsrun-<pid>-<starttime>" subtrees under nsrun's own cgroup(s) whose owner is gone,
 * as cgroup_manager_new() does at start; for `nsrun clean`. *ret_removed, if given, counts runs removed. */
int cgroup_clean_stale(const CgroupManagerOptions *opts, unsigned *ret_removed);

/* A job cgroup, "<run>/<name>", with the limits written. name is one directory name (no "/", no leading ".",
 * not "supervisor", unique in the run). limits NULL = none. A mem_max the backend cannot enforce is
 * -ENOMEDIUM; a pids_max without a pids controller is ignored. CGROUP_BACKEND_NONE accepts anything. */
int cgroup_job_new(CgroupManager *m, const char *name, const CgroupLimits *limits, CgroupJob **ret);
/* For v2, an O_DIRECTORY fd of the job cgroup usable with clone3(CLONE_INTO_CGROUP); -EOPNOTSUPP otherwise.
 * The fd belongs to the job (O_CLOEXEC, valid until cgroup_job_free()): do not close it. */
int cgroup_job_fd(CgroupJob *j);
/* Moves pid (and, on v1, it in every hierarchy used) into the job. */
int cgroup_job_attach(CgroupJob *j, pid_t pid);
/* v2 before 5.19 (no memory.peak): reads memory.current and keeps the largest value, which is peak_mem. A
 * no-op where the kernel keeps a high-water mark itself. Call it periodically while the job runs. */
int cgroup_job_sample(CgroupJob *j);
/* Works after the job's processes exited, until cgroup_job_free(). All zero for CGROUP_BACKEND_NONE. */
int cgroup_job_stats(CgroupJob *j, CgroupStats *ret);
/* 0 if the job's socket buffers (loopback TCP) count against its memory cap: on v2 unless the kernel was booted
 * with cgroup.memory=nosocket, on v1 if memory.kmem.tcp.limit_in_bytes could be set to the cap (a counter of its
 * own there, so a job may hold its cap in memory and its cap again in TCP buffers). -EOPNOTSUPP if not, with
 * *ret_why, if given, saying why; -ENOMEDIUM if the job has no memory cap. For `nsrun doctor`. */
int cgroup_job_sockets_charged(CgroupJob *j, char **ret_why);
/* Kills every process in the job (cgroup.kill, or freeze + SIGKILL + thaw) and waits until it is empty. */
int cgroup_job_kill(CgroupJob *j);
/* Kills what is left and removes the cgroup. Accepts NULL. Jobs whose manager was freed first are only
 * freed (every other call on them returns -ESTALE). */
CgroupJob *cgroup_job_free(CgroupJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupJob *, cgroup_job_free);

/* ---- budgets: what this process may really use, and where each number came from ---- */

#define BUDGET_SOURCE_MAX 256

typedef struct CpuBudget {
        double cpus;                    /* the smallest bound, may be fractional (quota 150000/100000 = 1.5) */
        unsigned online;                /* CPUs online */
        unsigned affinity;              /* CPUs in sched_getaffinity() */
        unsigned cpuset;                /* CPUs in the effective cpuset, 0 if unknown */
        double quota;                   /* smallest cpu.max / cfs_quota ratio up the tree, 0 if none */
        char source[BUDGET_SOURCE_MAX]; /* which bound set cpus: "affinity mask", "cpu.max of /docker/abc (150000 100000)" */
} CpuBudget;

typedef struct MemBudget {
        uint64_t bytes;                 /* available to jobs: min(MemAvailable, every ancestor's limit - usage) */
        uint64_t mem_available;         /* /proc/meminfo MemAvailable */
        uint64_t cgroup_limit;          /* the limit that bound it, CGROUP_LIMIT_MAX if none */
        uint64_t cgroup_usage;          /* that cgroup's usage */
        char source[BUDGET_SOURCE_MAX]; /* "MemAvailable" or "memory.max of /kubepods/pod1 (5.0 GiB, 1.2 GiB used)" */
} MemBudget;

int cpu_budget_get(const char *sysfs_root, CpuBudget *ret);
/* Same, with /proc elsewhere too (NULL = "/proc"): then CPUs online come from <proc_root>/stat and the affinity
 * mask from <proc_root>/self/status instead of sysconf() and sched_getaffinity(). For fixture trees. */
int cpu_budget_get_full(const char *sysfs_root, const char *proc_root, CpuBudget *ret);
int mem_budget_get(const char *sysfs_root, const char *proc_root, MemBudget *ret);

/* ---- parsers, exposed for unit tests and fuzzing ---- */

/* /proc/self/cgroup: the v2 ("0::") path, or for v1 the path of the hierarchy with the given controller. */
int cgroup_parse_proc_self(const char *text, const char *controller, char **ret_path);
/* "max 100000" / "150000 100000" -> quota/period ratio, 0 for "max". */
int cgroup_parse_cpu_max(const char *text, double *ret_ratio);
/* A "key value" flat-keyed file (memory.events, memory.stat, cpu.stat, memory.oom_control): the value of key. */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* A single value file: a number or "max" (-> CGROUP_LIMIT_MAX). v1's 9223372036854771712 also means none. */
int cgroup_parse_limit(const char *text, uint64_t *ret);
/* /proc/meminfo: "MemAvailable:  123 kB" -> bytes. */
int meminfo_parse_available(const char *text, uint64_t *ret);
/* A CPU list ("0-3,8-11\n", cpuset.cpus.effective, Cpus_allowed_list) -> how many CPUs; "" -> 0. */
int cgroup_parse_cpu_list(const char *text, unsigned *ret_count);
