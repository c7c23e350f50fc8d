/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup/ against the real kernel, as root: memory caps and OOM kills, pids.max, killing a job with a
 * double-forked process, CLONE_INTO_CGROUP, teardown leaving nothing behind, stale runs of a SIGKILLed nsrun,
 * and budgets inside a cgroup with a 5 GiB limit (and, v1, a one-CPU CFS quota).
 *
 * On a hybrid host it also runs the v2 backend on the "unified" cgroup2 mount, where no controller is
 * available: moving nsrun into "supervisor" and back, cgroup.kill, cpu.stat, clone3(CLONE_INTO_CGROUP).
 *
 * Skips (77) when not root or when no backend can cap memory; NSRUN_TESTS_MUST_RUN=1 makes that a failure. */

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cgroup.h"
#include "config.h"
#include "fileio.h"
#include "macro.h"
#include "tap.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TOUCH_STEP (4 * MiB)

/* struct clone_args of <linux/sched.h>, which clashes with glibc's <sched.h>. */
struct test_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
                cgroup;
};
#define TEST_CLONE_INTO_CGROUP UINT64_C(0x200000000)

static bool must_run(void) {
        const char *e = getenv("NSRUN_TESTS_MUST_RUN");
        return e && streq(e, "1");
}

static int skip_all(const char *why) {
        if (must_run()) {
                printf("Bail out! %s (NSRUN_TESTS_MUST_RUN=1 turns this skip into a failure)\n", why);
                return 1;
        }
        printf("1..0 # SKIP %s\n", why);
        return 77;
}

static void reap_all(void) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

static pid_t fork_flushed(void) {
        fflush(stdout);
        return fork();
}

/* Waits for pid, sampling the job as the runner must on v2 kernels without memory.peak. */
static int wait_sampling(pid_t pid, CgroupJob *j) {
        int status;

        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return status;
                if (r < 0)
                        return -1;
                (void) cgroup_job_sample(j);
                usleep(2000);
        }
}

static bool within(uint64_t got, uint64_t want, double fraction) {
        double d = (double) got - (double) want;
        return (d < 0 ? -d : d) <= fraction * (double) want;
}

/* The job's processes, from its cgroup.procs (the memory hierarchy's on v1). */
static int job_procs(CgroupManager *m, const char *job, pid_t **ret, size_t *ret_n) {
        _cleanup_close_ int fd = -EBADF;
        char path[4096];

        (void) snprintf(path, sizeof path, "%s/%s", cgroup_manager_run_path(m), job);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return cg_read_pids(fd, ret, ret_n);
}

static size_t job_nprocs(CgroupManager *m, const char *job) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;

        return job_procs(m, job, &pids, &n) < 0 ? SIZE_MAX : n;
}

/* ---- children ---- */

static _noreturn_ void child_touch(CgroupJob *j, size_t bytes) {
        char *p;

        if (cgroup_job_attach(j, 0) < 0)
                _exit(10);
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                _exit(11);
        for (size_t off = 0; off < bytes; off += TOUCH_STEP)
                memset(p + off, 0x5a, MIN(TOUCH_STEP, bytes - off));
        _exit(0);
}

static _noreturn_ void child_sleep(void) {
        for (;;)
                pause();
}

static _noreturn_ void child_fork_many(CgroupJob *j, unsigned n) {
        unsigned failed = 0;

        if (cgroup_job_attach(j, 0) < 0)
                _exit(255);
        for (unsigned i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid == 0)
                        child_sleep();
                if (pid < 0)
                        failed++;
        }
        _exit((int) MIN(failed, 200U));
}

/* Five sleepers, one double-forked sleeper in its own session, and itself; says so on ready_fd once all 7
 * exist and the middle of the double fork is gone. */
static _noreturn_ void child_family(CgroupJob *j, int ready_fd) {
        int gp[2];
        char c;
        pid_t pid;

        if (cgroup_job_attach(j, 0) < 0 || pipe(gp) < 0)
                _exit(10);
        for (unsigned i = 0; i < 5; i++)
                if (fork() == 0)
                        child_sleep();
        pid = fork();
        if (pid == 0) {
                if (fork() == 0) {
                        (void) setsid();
                        (void) write(gp[1], "x", 1);
                        child_sleep();
                }
                _exit(0);
        }
        (void) waitpid(pid, NULL, 0);
        if (read(gp[0], &c, 1) != 1 || write(ready_fd, "x", 1) != 1)
                _exit(11);
        child_sleep();
}

static _noreturn_ void child_spin(CgroupJob *j, uint64_t cpu_usec) {
        struct timespec ts;

        if (cgroup_job_attach(j, 0) < 0)
                _exit(10);
        do
                (void) clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        while ((uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000 < cpu_usec);
        _exit(0);
}

/* ---- tests ---- */

static void test_oom(CgroupManager *m) {
        CgroupLimits lim = { .mem_max = 100 * MiB, .pids_max = 64 };
        CgroupStats st = {};
        CgroupJob *j = NULL;
        pid_t pid;
        int status;

        is_int(cgroup_job_new(m, "oom", &lim, &j), 0, "job 'oom' with a 100 MiB cap");
        if (!j)
                return;
        pid = fork_flushed();
        if (pid == 0)
                child_touch(j, 300 * MiB);
        status = wait_sampling(pid, j);
        ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
           "a child touching 300 MiB under a 100 MiB cap is killed by SIGKILL (status 0x%x)", status);
        is_int(cgroup_job_stats(j, &st), 0, "stats of 'oom'");
        ok(st.oom_kills >= 1, "oom_kills >= 1 (got %" PRIu64 ")", st.oom_kills);
        ok(within(st.peak_mem, 100 * MiB, 0.05), "peak within 5%% of 100 MiB (got %" PRIu64 " = %.1f MiB)",
           st.peak_mem, (double) st.peak_mem / MiB);
        cgroup_job_free(j);
}

static void test_fits(CgroupManager *m) {
        CgroupLimits lim = { .mem_max = 400 * MiB, .pids_max = 64 };
        CgroupStats st = {};
        CgroupJob *j = NULL;
        pid_t pid;
        int status;

        is_int(cgroup_job_new(m, "fits", &lim, &j), 0, "job 'fits' with a 400 MiB cap");
        if (!j)
                return;
        pid = fork_flushed();
        if (pid == 0)
                child_touch(j, 300 * MiB);
        status = wait_sampling(pid, j);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "touching 300 MiB under 400 MiB succeeds (status 0x%x)",
           status);
        is_int(cgroup_job_stats(j, &st), 0, "stats of 'fits'");
        is_u64(st.oom_kills, 0, "no OOM kill under 400 MiB");
        ok(within(st.peak_mem, 300 * MiB, 0.05), "peak within 5%% of 300 MiB (got %" PRIu64 " = %.1f MiB)",
           st.peak_mem, (double) st.peak_mem / MiB);
        cgroup_job_free(j);
}

static void test_pids(CgroupManager *m) {
        CgroupLimits lim = { .mem_max = CGROUP_LIMIT_MAX, .pids_max = 20 };
        CgroupStats st = {};
        CgroupJob *j = NULL;
        pid_t pid;
        int status;

        is_int(cgroup_job_new(m, "pids", &lim, &j), 0, "job 'pids' with pids.max 20");
        if (!j)
                return;
        pid = fork_flushed();
        if (pid == 0)
                child_fork_many(j, 100);
        (void) waitpid(pid, &status, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) >= 70 && WEXITSTATUS(status) != 255,
           "forking 100 sleepers under pids.max 20: most forks fail (%d failed)", WEXITSTATUS(status));
        is_int(cgroup_job_stats(j, &st), 0, "stats of 'pids'");
        ok(st.pids_limited, "pids_limited is set");
        ok(job_nprocs(m, "pids") > 0, "the sleepers that did fork are in the job (%zu)", job_nprocs(m, "pids"));
        is_int(cgroup_job_kill(j), 0, "cgroup_job_kill('pids')");
        is_int(job_nprocs(m, "pids"), 0, "'pids' is empty after the kill");
        reap_all();
        cgroup_job_free(j);
}

static bool wait_nprocs(CgroupManager *m, const char *job, size_t n) {
        uint64_t deadline = now_usec() + 5000000;

        while (job_nprocs(m, job) != n && now_usec() < deadline)
                usleep(5000);
        return job_nprocs(m, job) == n;
}

static void diag_procs(const pid_t *pids, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *stat = NULL;
                char file[64];

                (void) snprintf(file, sizeof file, "/proc/%d/stat", (int) pids[i]);
                (void) read_one_line_file_at(AT_FDCWD, file, &stat);
                printf("#   %s\n", stat ? stat : "?");
        }
}

static void test_kill(CgroupManager *m, bool has_memory) {
        _cleanup_free_ pid_t *pids = NULL;
        CgroupJob *j = NULL;
        size_t n = 0;
        pid_t pid;
        int status, ready[2];
        bool all_gone = true;
        char c;

        is_int(cgroup_job_new(m, "kill", NULL, &j), 0, "job 'kill' without limits");
        if (!j || pipe2(ready, O_CLOEXEC) < 0)
                return;
        pid = fork_flushed();
        if (pid == 0)
                child_family(j, ready[1]);
        close(ready[1]);
        ok(read(ready[0], &c, 1) == 1, "the job's processes are ready");
        close(ready[0]);
        is_int(job_nprocs(m, "kill"), 7, "7 processes in 'kill', one double-forked");
        if (has_memory) {
                CgroupStats st = {};
                ok(cgroup_job_stats(j, &st) == 0 && st.current_mem > 0 && st.current_mem < 64 * MiB,
                   "current_mem of 7 sleepers: %" PRIu64 " bytes", st.current_mem);
        }
        (void) job_procs(m, "kill", &pids, &n);
        if (n != 7)
                diag_procs(pids, n);
        is_int(cgroup_job_kill(j), 0, "cgroup_job_kill('kill')");
        is_int(job_nprocs(m, "kill"), 0, "'kill' is empty afterwards");
        (void) waitpid(pid, &status, 0);
        ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the job's first process died of SIGKILL");
        reap_all(); /* we are the subreaper of the orphans */
        for (size_t i = 0; i < n; i++)
                if (kill(pids[i], 0) == 0 || errno != ESRCH)
                        all_gone = false;
        ok(n == 7 && all_gone, "all %zu processes, the double-forked one included, are gone", n);
        cgroup_job_free(j);
}

static void test_cpu(CgroupManager *m) {
        CgroupStats st = {};
        CgroupJob *j = NULL;
        pid_t pid;

        is_int(cgroup_job_new(m, "cpu", NULL, &j), 0, "job 'cpu'");
        if (!j)
                return;
        pid = fork_flushed();
        if (pid == 0)
                child_spin(j, 300000);
        (void) waitpid(pid, NULL, 0);
        is_int(cgroup_job_stats(j, &st), 0, "stats of 'cpu'");
        ok(st.cpu_usec >= 250000 && st.cpu_usec < 3000000, "a child spinning 300 ms of CPU: cpu_usec %" PRIu64,
           st.cpu_usec);
        cgroup_job_free(j);
}

/* Is the cgroup path "<run>/<job>", run given as an absolute path in the file system? */
static bool born_in(const char *run_path, const char *path, const char *job) {
        size_t n = strlen(path), k = strlen(job), rl = strlen(run_path);

        if (n <= k || !streq(path + n - k, job))
                return false;
        n -= k;
        return rl >= n && strncmp(run_path + rl - n, path, n) == 0;
}

static void test_clone_into_cgroup(CgroupManager *m) {
        struct test_clone_args args = { .exit_signal = SIGCHLD, .flags = TEST_CLONE_INTO_CGROUP };
        _cleanup_free_ char *text = NULL, *path = NULL;
        CgroupJob *j = NULL;
        char file[64];
        long pid;
        int fd;

        is_int(cgroup_job_new(m, "clone3", NULL, &j), 0, "job 'clone3'");
        if (!j)
                return;
        fd = cgroup_job_fd(j);
        if (cgroup_manager_backend(m) == CGROUP_BACKEND_V1) {
                is_int(fd, -EOPNOTSUPP, "v1: no fd for CLONE_INTO_CGROUP");
                cgroup_job_free(j);
                return;
        }
        ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "v2: cgroup_job_fd() is an O_CLOEXEC fd (%d)", fd);
        args.cgroup = (uint64_t) fd;
        fflush(stdout);
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0)
                child_sleep();
        ok(pid > 0, "clone3(CLONE_INTO_CGROUP) (%s)", pid > 0 ? "ok" : strerror(errno));
        if (pid > 0) {
                (void) snprintf(file, sizeof file, "/proc/%ld/cgroup", pid);
                (void) read_full_file_at(AT_FDCWD, file, &text, NULL);
                (void) cgroup_parse_proc_self(text ? text : "", NULL, &path);
                ok(path && born_in(cgroup_manager_run_path(m), path, "/clone3"),
                   "the child was born in the job's cgroup (%s)", path ? path : "?");
                is_int(cgroup_job_kill(j), 0, "kill 'clone3'");
                (void) waitpid((pid_t) pid, NULL, 0);
        }
        cgroup_job_free(j);
}

/* ---- teardown and stale runs ---- */

/* Where the hierarchy of one /proc/self/cgroup line is mounted. */
static int line_mount(const char *sysfs, const char *ctrls, char *buf, size_t len) {
        struct statfs sfs;
        struct stat st;

        if (!*ctrls) {
                (void) snprintf(buf, len, "%s", sysfs);
                if (statfs(buf, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
                        return 0;
                (void) snprintf(buf, len, "%s/unified", sysfs);
        } else
                (void) snprintf(buf, len, "%s/%s", sysfs, strncmp(ctrls, "name=", 5) == 0 ? ctrls + 5 : ctrls);
        return stat(buf, &st);
}

/* v2 while a manager lives we are in <own>/<run>/supervisor, and runs are looked for under <own>. */
static void strip_supervisor(char *dir) {
        char *slash = strrchr(dir, '/');
        uint64_t start;
        pid_t pid;

        if (!slash || !streq(slash + 1, CGROUP_SUPERVISOR))
                return;
        *slash = '\0';
        slash = strrchr(dir, '/');
        if (slash && cgroup_parse_run_name(slash + 1, &pid, &start) == 0)
                *slash = '\0';
}

/* How many "nsrun-<pid>-*" directories owned by pid exist under our own cgroup, over all hierarchies. */
static unsigned count_runs_of(pid_t owner, unsigned *ret_hierarchies) {
        _cleanup_free_ char *self = NULL;
        unsigned n = 0, h = 0;

        if (read_full_file_at(AT_FDCWD, "/proc/self/cgroup", &self, NULL) < 0)
                return UINT32_MAX;
        for (char *line = strtok(self, "\n"); line; line = strtok(NULL, "\n")) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, mount[512], dir[1024];
                DIR *d;

                if (!c2)
                        continue;
                *c2 = '\0';
                if (line_mount("/sys/fs/cgroup", c1 + 1, mount, sizeof mount) < 0)
                        continue;
                (void) snprintf(dir, sizeof dir, "%s%s", mount, c2 + 1);
                strip_supervisor(dir);
                d = opendir(dir);
                if (!d)
                        continue;
                h++;
                for (struct dirent *de; (de = readdir(d));) {
                        uint64_t start;
                        pid_t pid;
                        if (cgroup_parse_run_name(de->d_name, &pid, &start) == 0 && pid == owner)
                                n++;
                }
                closedir(d);
        }
        if (ret_hierarchies)
                *ret_hierarchies = h;
        return n;
}

static void test_teardown(CgroupManager *m, const char *v2_before) {
        _cleanup_free_ char *self = NULL, *v2_after = NULL;
        CgroupBackendKind kind = cgroup_manager_backend(m);
        unsigned hierarchies = 0, during = count_runs_of(getpid(), NULL);
        CgroupJob *left = NULL;

        /* A job the caller never freed: the manager must kill it and remove it anyway. */
        is_int(cgroup_job_new(m, "left-behind", NULL, &left), 0, "job 'left-behind'");
        if (left && fork_flushed() == 0) {
                (void) cgroup_job_attach(left, 0);
                child_sleep();
        }
        ok(left && wait_nprocs(m, "left-behind", 1), "a sleeper in 'left-behind'");
        ok(during >= 1, "the run exists in %u hierarchies while the manager lives", during);
        cgroup_manager_free(m);
        reap_all();
        is_int(count_runs_of(getpid(), &hierarchies), 0, "no nsrun-<our pid>-* directory after cgroup_manager_free");
        ok(hierarchies >= 1, "(looked in %u hierarchies)", hierarchies);
        is_int(cgroup_job_kill(left), -ESTALE, "a job outliving its manager is inert");
        cgroup_job_free(left);
        (void) read_full_file_at(AT_FDCWD, "/proc/self/cgroup", &self, NULL);
        (void) cgroup_parse_proc_self(self ? self : "", NULL, &v2_after);
        if (kind == CGROUP_BACKEND_V2)
                is_str(v2_after, v2_before, "v2: nsrun is back in the cgroup it started in");
        else /* v1 never moved us; systemd leaves us in our scope, which goes away when we exit */
                printf("# %s: nsrun is in %s\n", cgroup_backend_to_string(kind), v2_after ? v2_after : "?");
}

/* A child makes a run with a job holding a sleeper, then dies of SIGKILL without cleaning up. */
static void test_stale(const CgroupManagerOptions *opts, bool use_clean) {
        char buf[4096] = {};
        const char *run;
        int p[2], status;
        pid_t child, sleeper = 0;
        ssize_t k;

        if (pipe2(p, O_CLOEXEC) < 0) {
                ok(false, "pipe: %s", strerror(errno));
                return;
        }
        child = fork_flushed();
        if (child == 0) {
                CgroupManager *cm = NULL;
                CgroupJob *j = NULL;
                pid_t s;

                if (cgroup_manager_new(opts, &cm, NULL) < 0 || cgroup_job_new(cm, "job", NULL, &j) < 0)
                        _exit(1);
                s = fork();
                if (s == 0)
                        child_sleep();
                if (s < 0 || cgroup_job_attach(j, s) < 0)
                        _exit(1);
                (void) dprintf(p[1], "%d %s", (int) s, cgroup_manager_run_path(cm));
                child_sleep();
        }
        close(p[1]);
        k = read(p[0], buf, sizeof buf - 1);
        close(p[0]);
        if (k <= 0 || sscanf(buf, "%d", &sleeper) != 1) {
                ok(false, "the child made a run (%zd)", k);
                kill(child, SIGKILL);
                (void) waitpid(child, NULL, 0);
                return;
        }
        run = strchr(buf, ' ') ? strchr(buf, ' ') + 1 : "";
        ok(access(run, F_OK) == 0, "the child's run %s exists", run);
        kill(child, SIGKILL);
        (void) waitpid(child, NULL, 0); /* a zombie owner counts as dead, but be tidy */
        ok(access(run, F_OK) == 0, "it is still there after the child died of SIGKILL");
        if (use_clean) {
                unsigned removed = 0;
                is_int(cgroup_clean_stale(opts, &removed), 0, "cgroup_clean_stale()");
                ok(removed >= 1, "it counts the stale run (once, not per hierarchy): %u", removed);
        } else {
                CgroupManager *m2 = NULL;
                is_int(cgroup_manager_new(opts, &m2, NULL), 0, "a new manager");
                cgroup_manager_free(m2);
        }
        ok(access(run, F_OK) < 0 && errno == ENOENT, "the stale run is gone");
        (void) waitpid(sleeper, &status, 0);
        ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the stale job's sleeper was killed");
}

/* ---- budgets ---- */

typedef struct BudgetResult {
        int cpu_r, mem_r;
        CpuBudget cpu;
        MemBudget mem;
} BudgetResult;

/* v1: a cgroup with a one-CPU CFS quota in the cpu hierarchy, next to where we are in it. */
static int make_cpu_cgroup(char *path, size_t len) {
        _cleanup_free_ char *self = NULL, *own = NULL;
        char file[1100];

        if (read_full_file_at(AT_FDCWD, "/proc/self/cgroup", &self, NULL) < 0 ||
            cgroup_parse_proc_self(self, "cpu", &own) < 0)
                return -ENOENT;
        (void) snprintf(path, len, "/sys/fs/cgroup/cpu%s/test-cgroup-live-%d", streq(own, "/") ? "" : own,
                        (int) getpid());
        if (mkdir(path, 0755) < 0)
                return -errno;
        (void) snprintf(file, sizeof file, "%s/cpu.cfs_period_us", path);
        if (write_string_file_at(AT_FDCWD, file, "100000") < 0)
                return -EIO;
        (void) snprintf(file, sizeof file, "%s/cpu.cfs_quota_us", path);
        return write_string_file_at(AT_FDCWD, file, "100000");
}

static void budget_child(CgroupJob *j, const char *cpu_path, int fd) {
        BudgetResult res = {};
        char file[1100];

        if (cgroup_job_attach(j, 0) < 0)
                _exit(1);
        (void) snprintf(file, sizeof file, "%s/cgroup.procs", cpu_path);
        if (*cpu_path && write_string_file_at(AT_FDCWD, file, "0") < 0)
                _exit(2);
        res.cpu_r = cpu_budget_get(NULL, &res.cpu);
        res.mem_r = mem_budget_get(NULL, NULL, &res.mem);
        _exit(write(fd, &res, sizeof res) == sizeof res ? 0 : 3);
}

static void test_budget(CgroupManager *m) {
        CgroupLimits lim = { .mem_max = 5 * GiB, .pids_max = CGROUP_LIMIT_MAX };
        char cpu_path[1024] = "";
        BudgetResult res = {};
        CgroupJob *j = NULL;
        int p[2], status, r;
        pid_t pid;

        is_int(cgroup_job_new(m, "budget", &lim, &j), 0, "job 'budget' with a 5 GiB cap");
        if (!j || pipe2(p, O_CLOEXEC) < 0)
                return;
        if (cgroup_manager_backend(m) == CGROUP_BACKEND_V1)
                is_int(make_cpu_cgroup(cpu_path, sizeof cpu_path), 0, "v1: a cpu cgroup with quota 100000/100000");
        pid = fork_flushed();
        if (pid == 0)
                budget_child(j, cpu_path, p[1]);
        close(p[1]);
        ok(read(p[0], &res, sizeof res) == sizeof res, "the child in the job computed its budgets");
        close(p[0]);
        (void) waitpid(pid, &status, 0);
        is_int(res.mem_r, 0, "mem_budget_get() inside the job");
        if (res.mem.mem_available < 5 * GiB)
                ok(res.mem.bytes == res.mem.mem_available, "MemAvailable (%" PRIu64 ") is below 5 GiB and wins: %s",
                   res.mem.mem_available, res.mem.source);
        else
                ok(res.mem.bytes <= 5 * GiB && res.mem.bytes > 5 * GiB - 64 * MiB && res.mem.cgroup_limit == 5 * GiB,
                   "memory budget ~5 GiB: %" PRIu64 " bytes, from %s", res.mem.bytes, res.mem.source);
        is_int(res.cpu_r, 0, "cpu_budget_get() inside the job");
        if (*cpu_path) {
                ok(res.cpu.cpus == 1, "CPU budget 1 (got %g), from %s", res.cpu.cpus, res.cpu.source);
                r = rmdir(cpu_path) < 0 ? -errno : 0;
                is_int(r, 0, "cpu cgroup removed");
        } else
                ok(res.cpu.cpus > 0, "CPU budget %g, from %s", res.cpu.cpus, res.cpu.source);
        cgroup_job_free(j);
}

/* ---- refusal and --mem-cap off, as an unprivileged user ---- */

typedef struct RootlessResult {
        int r;
        CgroupBackendKind kind;
        int job_r, fd_r, attach_r, stats_r, kill_r;
        CgroupStats stats;
        char why[1024];
} RootlessResult;

static void rootless_child(const CgroupManagerOptions *opts, int fd) {
        RootlessResult res = { .kind = -1 };
        CgroupManager *m = NULL;
        CgroupJob *j = NULL;
        char *why = NULL;
        CgroupLimits lim = { .mem_max = 100 * MiB, .pids_max = 10 };

        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                _exit(1);
        /* The user manager is found through these; a user without a session has neither. */
        (void) unsetenv("XDG_RUNTIME_DIR");
        (void) unsetenv("DBUS_SESSION_BUS_ADDRESS");
        res.r = cgroup_manager_new(opts, &m, &why);
        (void) snprintf(res.why, sizeof res.why, "%s", why ? why : "");
        if (m) {
                res.kind = cgroup_manager_backend(m);
                res.job_r = cgroup_job_new(m, "job", &lim, &j);
                res.fd_r = cgroup_job_fd(j);
                res.attach_r = cgroup_job_attach(j, getpid());
                res.stats_r = cgroup_job_stats(j, &res.stats);
                res.kill_r = cgroup_job_kill(j);
                cgroup_job_free(j);
                cgroup_manager_free(m);
        }
        free(why);
        _exit(write(fd, &res, sizeof res) == sizeof res ? 0 : 2);
}

static int run_rootless(const CgroupManagerOptions *opts, RootlessResult *res) {
        int p[2];
        pid_t pid;
        ssize_t k;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork_flushed();
        if (pid == 0)
                rootless_child(opts, p[1]);
        close(p[1]);
        k = read(p[0], res, sizeof *res);
        close(p[0]);
        (void) waitpid(pid, NULL, 0);
        return k == sizeof *res ? 0 : -EIO;
}

static void test_refusal(const char *sysfs_root) {
        const CgroupManagerOptions opts = { .allow_systemd = true, .require_memory = true, .sysfs_root = sysfs_root };
        RootlessResult res = {};

        is_int(run_rootless(&opts, &res), 0, "a manager as user nobody");
        ok(res.r == -EACCES || res.r == -EPERM || res.r == -ENOMEDIUM, "refused: %s", strerror(-res.r));
        printf("#   why: %s\n", res.why);
        ok(strstr(res.why, "cannot create cgroups under") || strstr(res.why, "memory controller is not available"),
           "the reason names what was refused");
        ok(strstr(res.why, "--mem-cap off"), "the reason names a way out");
        if (sysfs_root)
                ok(strstr(res.why, HAVE_SYSTEMD ? "no systemd user manager is reachable over D-Bus" :
                                                  "built without systemd support"),
                   "v2 layout: the systemd user manager was asked too, where built in");
}

static void test_memcap_off(void) {
        const CgroupManagerOptions opts = { .allow_systemd = false, .require_memory = false };
        RootlessResult res = {};

        is_int(run_rootless(&opts, &res), 0, "--mem-cap off as user nobody");
        is_int(res.r, 0, "--mem-cap off: no refusal");
        is_int(res.kind, CGROUP_BACKEND_NONE, "--mem-cap off: backend none");
        ok(res.job_r == 0 && res.attach_r == 0 && res.stats_r == 0 && res.kill_r == 0,
           "jobs work as no-ops (%d %d %d %d)", res.job_r, res.attach_r, res.stats_r, res.kill_r);
        is_int(res.fd_r, -EOPNOTSUPP, "no fd for CLONE_INTO_CGROUP");
        ok(res.stats.peak_mem == 0 && res.stats.cpu_usec == 0 && res.stats.oom_kills == 0 && !res.stats.pids_limited,
           "stats all zero");
}

/* ---- suites ---- */

static void suite_main(const CgroupManagerOptions *opts, CgroupManager *m, const char *v2_before) {
        printf("# backend %s, layout %s, run %s\n", cgroup_backend_to_string(cgroup_manager_backend(m)),
               cgroup_layout_to_string(cgroup_manager_layout(m)), cgroup_manager_run_path(m));
        test_oom(m);
        test_fits(m);
        test_pids(m);
        test_kill(m, true);
        test_cpu(m);
        test_clone_into_cgroup(m);
        test_budget(m);
        test_teardown(m, v2_before);
        test_stale(opts, false);
        test_stale(opts, true);
}

/* Hybrid hosts: the v2 backend on the controller-less cgroup2 mount at /sys/fs/cgroup/unified. */
static void suite_unified(void) {
        static const CgroupManagerOptions opts = { .require_memory = false, .sysfs_root = "/sys/fs/cgroup/unified" };
        _cleanup_free_ char *before = NULL, *during = NULL, *text = NULL;
        CgroupManager *m = NULL;
        struct statfs sfs;

        if (statfs("/sys/fs/cgroup/unified", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                return;
        printf("# v2 backend on /sys/fs/cgroup/unified (no controllers there)\n");
        (void) read_full_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL);
        (void) cgroup_parse_proc_self(text, NULL, &before);
        is_int(cgroup_manager_new(&opts, &m, NULL), 0, "manager on the unified hierarchy");
        if (!m)
                return;
        is_int(cgroup_manager_backend(m), CGROUP_BACKEND_V2, "it is the v2 backend");
        free(text);
        text = NULL;
        (void) read_full_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL);
        (void) cgroup_parse_proc_self(text, NULL, &during);
        ok(during && strstr(during, "/" CGROUP_SUPERVISOR), "nsrun moved itself into the run's supervisor (%s)",
           during ? during : "?");
        test_kill(m, false);
        test_cpu(m);
        test_clone_into_cgroup(m);
        test_teardown(m, before);
        test_stale(&opts, false);
        test_stale(&opts, true);
}

int main(void) {
        static const CgroupManagerOptions opts = { .allow_systemd = true, .require_memory = true };
        _cleanup_free_ char *text = NULL, *v2_before = NULL, *why = NULL;
        CgroupManager *m = NULL;
        struct statfs sfs;
        int r;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (geteuid() != 0)
                return skip_all("needs root");
        /* Orphaned job processes come to us, so the tests can reap and count them. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        (void) read_full_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL);
        (void) cgroup_parse_proc_self(text ? text : "", NULL, &v2_before);
        r = cgroup_manager_new(&opts, &m, &why);
        if (r < 0) {
                char msg[1024];
                (void) snprintf(msg, sizeof msg, "no memory controller reachable: %s", why ? why : strerror(-r));
                return skip_all(msg);
        }
        suite_main(&opts, m, v2_before);
        suite_unified();
        test_refusal(NULL);
        if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
                test_refusal("/sys/fs/cgroup/unified"); /* a v2 layout without memory: systemd is asked */
        test_memcap_off();
        reap_all();
        return tap_done();
}
