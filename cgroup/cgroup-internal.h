/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to cgroup/: the backend table and the state the backends share. Nothing outside cgroup/ (but the
 * tests) includes this. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "time-util.h"

/* The run subtree is "nsrun-<pid>-<starttime>": the owner's pid and its start time in clock ticks after boot
 * (field 22 of /proc/<pid>/stat), so a later run can tell a dead owner from a live one whose pid was reused. */
#define CGROUP_RUN_PREFIX "nsrun-"
/* v2 only: the leaf nsrun moves itself into, so the run subtree has no processes of its own (see cgroup-v2.c). */
#define CGROUP_SUPERVISOR "supervisor"
/* How long killing a job (or a stale run) may take before we give up with -EBUSY: processes in
 * uninterruptible sleep (NFS, FUSE) can hold a cgroup populated for a long time. */
#define CGROUP_KILL_TIMEOUT_USEC (10 * UINT64_C(1000000))

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* The v1 hierarchies a job lives in. Only memory can be required; the others add limits or figures when
 * present. */
typedef enum CgroupV1Hierarchy {
        CGROUP_V1_MEMORY,
        CGROUP_V1_PIDS,
        CGROUP_V1_FREEZER,
        CGROUP_V1_CPUACCT,
        _CGROUP_V1_MAX,
} CgroupV1Hierarchy;

/* v2 controllers this library enables for its jobs. cpu.stat's usage_usec needs no controller. */
typedef enum CgroupMask {
        CGROUP_MASK_MEMORY = 1 << 0,
        CGROUP_MASK_PIDS = 1 << 1,
} CgroupMask;

typedef struct CgroupOps {
        /* Tears the run subtree down; jobs are already gone. Never fails: it is best effort at exit. */
        void (*manager_done)(CgroupManager *m);
        int (*job_create)(CgroupJob *j, const CgroupLimits *limits);
        int (*job_fd)(CgroupJob *j);
        int (*job_attach)(CgroupJob *j, pid_t pid);
        int (*job_sample)(CgroupJob *j);
        int (*job_stats)(CgroupJob *j, CgroupStats *ret);
        int (*job_kill)(CgroupJob *j);
        int (*job_remove)(CgroupJob *j);
        int (*job_sockets_charged)(CgroupJob *j, char **ret_why);
} CgroupOps;

typedef struct CgroupV1Dir {
        char *mount;            /* "/sys/fs/cgroup/memory" */
        char *own;              /* nsrun's cgroup in that hierarchy, "/process_api/x" */
        int own_fd;             /* <mount><own> */
        int run_fd;             /* <mount><own>/<run name>, -EBADF if this hierarchy is not used */
} CgroupV1Dir;

struct CgroupManager {
        const CgroupOps *ops;
        CgroupBackendKind kind;
        CgroupLayout layout;
        pid_t owner;            /* only this process tears down; a forked child's copy just frees memory */
        char *run_name;         /* "nsrun-<pid>-<starttime>" */
        char *run_path;         /* absolute path of the run subtree (v1: in the memory hierarchy) */
        CgroupJob *jobs;        /* so freeing the manager can clean up jobs the caller left */

        struct {
                char *own_path;         /* absolute path of the cgroup nsrun was started in */
                int own_fd, run_fd;
                unsigned available;     /* CgroupMask in the run subtree's cgroup.subtree_control */
                unsigned enabled_own;   /* CgroupMask this run added to own's subtree_control, to undo */
                bool moved_self;        /* nsrun sits in <run>/supervisor */
        } v2;
        CgroupV1Dir v1[_CGROUP_V1_MAX];
};

struct CgroupJob {
        CgroupManager *manager; /* NULL once the manager was freed first: the job is then inert */
        CgroupJob *next, *prev;
        char *name;
        int fd;                 /* v2: the job's cgroup */
        int v1_fd[_CGROUP_V1_MAX];
        int v1_tcp_error;       /* v1: what writing memory.kmem.tcp.limit_in_bytes returned; -ENOMEDIUM if no cap */
        bool has_peak;          /* v2: memory.peak exists (5.19+) */
        uint64_t sampled_peak;  /* v2 < 5.19: largest memory.current seen by cgroup_job_sample() */
};

extern const CgroupOps cgroup_v2_ops, cgroup_v1_ops, cgroup_none_ops;

/* ---- backends (cgroup-v2.c, cgroup-v1.c, cgroup-systemd.c) ---- */

/* Each sets up m's run subtree and m->ops, or returns -errno and, in *ret_why, what was refused (the caller
 * adds the fix). own is nsrun's cgroup path inside the hierarchy mounted at mount. */
int cgroup_v2_open(CgroupManager *m, const char *mount, const char *own, bool require_memory, char **ret_why);
int cgroup_v1_open(CgroupManager *m, const char *sysfs_root, const char *proc_self_cgroup, bool require_memory,
                   char **ret_why);
const char *cgroup_v1_controller(CgroupV1Hierarchy h);
int cgroup_systemd_open(CgroupManager *m, const char *mount, bool require_memory, char **ret_why);

/* ---- layout (cgroup-layout.c) ---- */

int cgroup_layout_detect(const char *sysfs_root, CgroupLayout *ret);
/* The cgroup2 mount for a layout: sysfs_root itself, or its "unified" directory in hybrid. */
int cgroup_v2_mount(const char *sysfs_root, CgroupLayout layout, char **ret);
/* v1: where the hierarchy holding controller is mounted ("<sysfs_root>/<controller>", which also works for
 * co-mounted "cpu,cpuacct" through the usual symlinks) and nsrun's path in it. -ENOENT if not mounted. */
int cgroup_v1_locate(const char *sysfs_root, const char *proc_self_cgroup, const char *controller,
                     char **ret_mount, char **ret_own);
/* Reads <proc_root>/self/cgroup. */
int cgroup_read_proc_self(const char *proc_root, char **ret);

/* ---- helpers (cgroup-util.c): every write to cgroupfs and every kill goes through here ---- */

int cg_open_dir(int dirfd, const char *path);
int cg_mkdir_open(int dirfd, const char *name);
int cg_rmdir(int dirfd, const char *name);
bool cg_file_exists(int dirfd, const char *file);
int cg_write(int dirfd, const char *file, const char *value);
int cg_write_u64(int dirfd, const char *file, uint64_t value);
int cg_read_u64(int dirfd, const char *file, uint64_t *ret);
int cg_read_limit(int dirfd, const char *file, uint64_t *ret);
int cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *ret);
/* Moves pid (0: the caller) into the cgroup open as dirfd. */
int cg_attach(int dirfd, pid_t pid);
int cg_read_pids(int dirfd, pid_t **ret, size_t *ret_n);
/* SIGKILLs every process listed in cgroup.procs once. Returns how many were listed. */
int cg_kill_listed(int dirfd);
/* Waits until cgroup.procs (and, v2, cgroup.events "populated") shows the cgroup empty. -EBUSY on timeout. */
int cg_wait_empty(int dirfd, uint64_t timeout_usec);
/* SIGKILLs every process listed in the cgroup until it is empty (-EBUSY after CGROUP_KILL_TIMEOUT_USEC). With a
 * freezer, each pass freezes first so nothing forks between reading cgroup.procs and the kills; without one, a
 * child forked in that gap lands in the same cgroup and the next pass takes it. */
typedef int (*CgroupFreezeFunc)(int fd, bool freeze);
int cg_kill_loop(int dirfd, CgroupFreezeFunc freeze, int freeze_fd);
/* Thaws fd and every cgroup below it (v1 freezer.state, v2 cgroup.freeze): the tasks of a run killed between a
 * freeze and its thaw stay frozen, and a frozen task acts on no signal, SIGKILL included. */
int cg_thaw_tree(int fd);
/* Kills everything in name below dirfd and removes it bottom-up (stale runs, failed setups). */
int cg_trim(int dirfd, const char *name);
/* The same for everything in and below fd, but fd's own directory stays. */
int cg_trim_contents(int fd);
/* A controller list file ("cpuset cpu memory pids") -> CgroupMask. */
int cg_read_mask(int dirfd, const char *file, unsigned *ret);
void cg_sleep_usec(uint64_t usec);
char *cg_path_join(const char *a, const char *b);
/* asprintf() into *ret_why if ret_why is non-NULL; a failed allocation just leaves it NULL. */
void cg_why(char **ret_why, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* ---- more parsers (cgroup-parse.c), private but fuzzed like the public ones ---- */

/* "nsrun-<pid>-<starttime>" -> its parts; -EINVAL for anything else. */
int cgroup_parse_run_name(const char *name, pid_t *ret_pid, uint64_t *ret_starttime);
/* /proc/self/status "Cpus_allowed_list:" -> number of CPUs. */
int proc_status_parse_cpus_allowed(const char *text, unsigned *ret_count);
/* /proc/stat -> number of "cpuN" lines, i.e. CPUs online. */
int proc_stat_parse_online(const char *text, unsigned *ret_count);

/* ---- run names and owners (cgroup-stale.c) ---- */

int cgroup_run_name(pid_t pid, char **ret);
/* Removes every stale "nsrun-*" subtree directly below each of the n directories (the same runs seen in
 * several v1 hierarchies). *ret_removed counts runs, not directories. */
int cgroup_clean_stale_dirs(const int *dirfds, size_t n, unsigned *ret_removed);
/* Empties every "nsrun-<pid>-<starttime>.scope" directly below slice_fd whose owner is gone: kills its processes
 * and removes the cgroups inside; systemd then collects the scope itself. Adds to *ret_removed. */
int cgroup_clean_stale_scopes(int slice_fd, unsigned *ret_removed);
/* Is name "nsrun-<pid>-<starttime>.scope"? */
bool cgroup_is_run_scope(const char *name, pid_t *ret_pid, uint64_t *ret_starttime);
