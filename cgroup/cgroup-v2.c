/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup v2 backend (Documentation/admin-guide/cgroup-v2.rst).
 *
 * Layout, below the cgroup O that nsrun was started in:
 *
 *   O/nsrun-<pid>-<starttime>/            the run R: memory and pids enabled in its subtree_control
 *   O/nsrun-<pid>-<starttime>/supervisor  nsrun itself, and whatever it forks before a job attaches
 *   O/nsrun-<pid>-<starttime>/<job>       one per job, with memory.max, memory.swap.max, pids.max
 *
 * Why nsrun moves itself: a job can only have memory.max if R passes the memory controller down, which needs
 * O to pass it to R, and a non-root cgroup that passes controllers down may not hold processes itself ("no
 * internal process" rule). nsrun is in O, so it first moves into R/supervisor, then enables the controllers
 * on O and R. If O still holds other processes afterwards (the shell that started nsrun in the same session
 * scope, PID 1 of a container), enabling fails with EBUSY and the run is refused: those processes are not
 * ours to move. Running nsrun as the only process of its cgroup (exec, `systemd-run --scope`), or letting
 * the systemd backend make such a cgroup, fixes it. The root cgroup is exempt from the rule.
 *
 * On teardown the controllers this run enabled on O are disabled again and nsrun moves back to O, so O is
 * left as it was found. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "fileio.h"
#include "macro.h"

static const struct {
        unsigned mask;
        const char *enable, *disable;
} v2_controllers[] = {
        { CGROUP_MASK_MEMORY, "+memory", "-memory" },
        { CGROUP_MASK_PIDS, "+pids", "-pids" },
};

/* Enables what is in want on fd's subtree_control, one controller per write so one failure does not cost the
 * others. Returns the first error; *ret_enabled gets what was newly enabled. */
static int v2_enable(int fd, unsigned want, unsigned *ret_enabled) {
        unsigned have = 0, enabled = 0;
        int r = 0;

        (void) cg_read_mask(fd, "cgroup.subtree_control", &have);
        for (size_t i = 0; i < ELEMENTSOF(v2_controllers); i++) {
                int q;

                if (!(want & v2_controllers[i].mask) || (have & v2_controllers[i].mask))
                        continue;
                q = cg_write(fd, "cgroup.subtree_control", v2_controllers[i].enable);
                if (q >= 0)
                        enabled |= v2_controllers[i].mask;
                else if (r == 0)
                        r = q;
        }
        *ret_enabled = enabled;
        return r;
}

static void v2_disable(int fd, unsigned mask) {
        for (size_t i = 0; i < ELEMENTSOF(v2_controllers); i++)
                if (mask & v2_controllers[i].mask)
                        (void) cg_write(fd, "cgroup.subtree_control", v2_controllers[i].disable);
}

/* Undoes cgroup_v2_open() step by step, from wherever it got to. Best effort: it runs at exit. */
static void v2_manager_done(CgroupManager *m) {
        if (m->v2.run_fd >= 0)
                v2_disable(m->v2.run_fd, m->v2.available);
        /* Only now may O take processes again (it passes no controllers down any more). */
        if (m->v2.own_fd >= 0)
                v2_disable(m->v2.own_fd, m->v2.enabled_own);
        m->v2.enabled_own = 0;
        if (m->v2.moved_self && cg_attach(m->v2.own_fd, 0) >= 0)
                m->v2.moved_self = false;
        if (m->v2.run_fd >= 0) {
                (void) cg_rmdir(m->v2.run_fd, CGROUP_SUPERVISOR);
                m->v2.run_fd = safe_close(m->v2.run_fd);
                (void) cg_rmdir(m->v2.own_fd, m->run_name);
        }
        m->v2.own_fd = safe_close(m->v2.own_fd);
}

static int v2_enable_for_jobs(CgroupManager *m, unsigned available, bool require_memory, char **ret_why) {
        unsigned want = available & (CGROUP_MASK_MEMORY | CGROUP_MASK_PIDS), have = 0, enabled;
        int r;

        r = v2_enable(m->v2.own_fd, want, &m->v2.enabled_own);
        (void) cg_read_mask(m->v2.own_fd, "cgroup.subtree_control", &have);
        if (require_memory && !(have & CGROUP_MASK_MEMORY)) {
                if (r == -EBUSY)
                        cg_why(ret_why, "cannot enable the memory controller for the children of %s (%s): it "
                               "also holds other processes, such as the shell that started nsrun, and cgroup "
                               "v2 does not let a cgroup hold processes and limit its children at once",
                               m->v2.own_path, strerror(-r));
                else
                        cg_why(ret_why, "cannot enable the memory controller for the children of %s (%s)",
                               m->v2.own_path, strerror(r < 0 ? -r : ENOMEDIUM));
                return r < 0 ? r : -ENOMEDIUM;
        }
        r = v2_enable(m->v2.run_fd, have & want, &enabled);
        m->v2.available = enabled;
        if (require_memory && !(enabled & CGROUP_MASK_MEMORY)) {
                cg_why(ret_why, "cannot enable the memory controller in %s/%s (%s)", m->v2.own_path,
                       m->run_name, strerror(r < 0 ? -r : EIO));
                return r < 0 ? r : -EIO;
        }
        return 0;
}

static int v2_setup_run(CgroupManager *m, bool require_memory, char **ret_why) {
        _cleanup_close_ int sup_fd = -EBADF;
        unsigned available = 0;
        int r;

        r = cg_read_mask(m->v2.own_fd, "cgroup.controllers", &available);
        if (r < 0) {
                cg_why(ret_why, "cannot read %s/cgroup.controllers (%s)", m->v2.own_path, strerror(-r));
                return r;
        }
        if (require_memory && !(available & CGROUP_MASK_MEMORY)) {
                cg_why(ret_why, "the memory controller is not available in %s (not listed in its "
                       "cgroup.controllers)", m->v2.own_path);
                return -ENOMEDIUM;
        }
        m->v2.run_fd = cg_mkdir_open(m->v2.own_fd, m->run_name);
        if (m->v2.run_fd < 0) {
                cg_why(ret_why, "cannot create cgroups under %s (%s)", m->v2.own_path, strerror(-m->v2.run_fd));
                return m->v2.run_fd;
        }
        sup_fd = cg_mkdir_open(m->v2.run_fd, CGROUP_SUPERVISOR);
        r = sup_fd < 0 ? sup_fd : cg_attach(sup_fd, 0);
        if (r < 0) {
                cg_why(ret_why, "cannot move nsrun into %s/%s/" CGROUP_SUPERVISOR " (%s)", m->v2.own_path,
                       m->run_name, strerror(-r));
                return r;
        }
        m->v2.moved_self = true;
        return v2_enable_for_jobs(m, available, require_memory, ret_why);
}

/* Before creating ours: a dead run's jobs may still run, and hold memory this run counts on. */
static void v2_clean_stale(CgroupManager *m, const char *own) {
        const char *base = strrchr(own, '/');
        uint64_t start;
        pid_t pid;

        (void) cgroup_clean_stale_dirs(&m->v2.own_fd, 1, NULL);
        /* In a scope an nsrun got from systemd, this one's or a parent nsrun's: runs killed together with
         * their nsrun are left in the sibling scopes. */
        if (base && cgroup_is_run_scope(base + 1, &pid, &start)) {
                _cleanup_close_ int parent = cg_open_dir(m->v2.own_fd, "..");
                if (parent >= 0)
                        (void) cgroup_clean_stale_scopes(parent, NULL);
        }
}

int cgroup_v2_open(CgroupManager *m, const char *mount, const char *own, bool require_memory, char **ret_why) {
        int r;

        /* The systemd backend calls this again after a refusal: start from a clean slate. */
        free(m->v2.own_path);
        m->v2.available = m->v2.enabled_own = 0;
        m->v2.moved_self = false;
        m->v2.own_path = cg_path_join(mount, own);
        if (!m->v2.own_path)
                return -ENOMEM;
        m->v2.own_fd = cg_open_dir(AT_FDCWD, m->v2.own_path);
        if (m->v2.own_fd < 0) {
                cg_why(ret_why, "cannot open %s (%s)", m->v2.own_path, strerror(-m->v2.own_fd));
                return m->v2.own_fd;
        }
        v2_clean_stale(m, own);
        r = v2_setup_run(m, require_memory, ret_why);
        if (r < 0) {
                v2_manager_done(m);
                return r;
        }
        m->run_path = cg_path_join(m->v2.own_path, m->run_name);
        if (!m->run_path) {
                v2_manager_done(m);
                return -ENOMEM;
        }
        m->ops = &cgroup_v2_ops;
        m->kind = CGROUP_BACKEND_V2;
        return 0;
}

static int v2_job_create(CgroupJob *j, const CgroupLimits *limits) {
        CgroupManager *m = j->manager;
        int r;

        j->fd = cg_mkdir_open(m->v2.run_fd, j->name);
        if (j->fd < 0)
                return j->fd;
        if (limits->mem_max != CGROUP_LIMIT_MAX) {
                if (!(m->v2.available & CGROUP_MASK_MEMORY))
                        return -ENOMEDIUM;
                r = cg_write_u64(j->fd, "memory.max", limits->mem_max);
                if (r < 0)
                        return r;
                /* No swap beyond the cap, or a job that is over it would just swap instead of failing.
                 * memory.swap.max is missing without swap accounting (CONFIG_MEMCG_SWAP, swapaccount=0). */
                r = cg_write(j->fd, "memory.swap.max", "0");
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        /* pids is optional: without it a fork bomb is stopped by the memory cap instead. */
        if (limits->pids_max != CGROUP_LIMIT_MAX && (m->v2.available & CGROUP_MASK_PIDS)) {
                r = cg_write_u64(j->fd, "pids.max", limits->pids_max);
                if (r < 0)
                        return r;
        }
        j->has_peak = cg_file_exists(j->fd, "memory.peak");
        return 0;
}

static int v2_job_fd(CgroupJob *j) {
        return j->fd;
}

static int v2_job_attach(CgroupJob *j, pid_t pid) {
        return cg_attach(j->fd, pid);
}

/* memory.current, remembered as the peak where the kernel keeps none. 0 without the memory controller. */
static int v2_read_current(CgroupJob *j, uint64_t *ret) {
        uint64_t cur = 0;
        int r;

        r = cg_read_u64(j->fd, "memory.current", &cur);
        if (r < 0 && r != -ENOENT)
                return r;
        j->sampled_peak = MAX(j->sampled_peak, cur);
        *ret = cur;
        return 0;
}

static int v2_job_sample(CgroupJob *j) {
        uint64_t cur;

        return j->has_peak ? 0 : v2_read_current(j, &cur);
}

static int v2_job_stats(CgroupJob *j, CgroupStats *ret) {
        CgroupStats s = {};
        uint64_t v;
        int r;

        r = v2_read_current(j, &s.current_mem);
        if (r < 0)
                return r;
        s.peak_mem = j->sampled_peak;
        if (j->has_peak)
                (void) cg_read_u64(j->fd, "memory.peak", &s.peak_mem);
        /* cpu.stat's usage_usec is there without the cpu controller (4.15+). */
        (void) cg_read_keyed(j->fd, "cpu.stat", "usage_usec", &s.cpu_usec);
        (void) cg_read_keyed(j->fd, "memory.events", "oom_kill", &s.oom_kills);
        if (cg_read_keyed(j->fd, "pids.events", "max", &v) >= 0)
                s.pids_limited = v > 0;
        *ret = s;
        return 0;
}

static int v2_freeze(int fd, bool freeze) {
        uint64_t deadline = now_usec() + UINT64_C(1000000), frozen = !freeze;
        int r;

        r = cg_write(fd, "cgroup.freeze", freeze ? "1" : "0");
        if (r < 0)
                return r;
        /* Freezing is asynchronous; "frozen" in cgroup.events says when every task has stopped. */
        while (freeze && cg_read_keyed(fd, "cgroup.events", "frozen", &frozen) >= 0 && !frozen &&
               now_usec() < deadline)
                cg_sleep_usec(1000);
        return 0;
}

/* Before 5.14: freeze so nothing forks while we read cgroup.procs, SIGKILL everyone, thaw so the signals are
 * acted on. Before 5.2 there is no freezer at all and we just repeat until nothing is left. */
static int v2_kill_legacy(int fd) {
        return cg_kill_loop(fd, v2_freeze, fd);
}

static int v2_job_kill(CgroupJob *j) {
        int r;

        (void) v2_job_sample(j); /* the last chance to see memory.current before it drops */
        r = cg_write(j->fd, "cgroup.kill", "1");
        if (r == -ENOENT)
                return v2_kill_legacy(j->fd);
        if (r < 0)
                return r;
        return cg_wait_empty(j->fd, CGROUP_KILL_TIMEOUT_USEC);
}

static int v2_job_remove(CgroupJob *j) {
        if (j->fd < 0) /* never created: the name may be another job's (EEXIST) */
                return 0;
        j->fd = safe_close(j->fd);
        return cg_rmdir(j->manager->v2.run_fd, j->name);
}

/* Socket buffers are charged to memory.current like any other memory (Documentation/admin-guide/cgroup-v2.rst,
 * "sock"), unless the kernel was booted with cgroup.memory=nosocket. */
static int v2_job_sockets_charged(CgroupJob *j, char **ret_why) {
        _cleanup_free_ char *cmdline = NULL;
        uint64_t max;

        if (cg_read_limit(j->fd, "memory.max", &max) < 0 || max == CGROUP_LIMIT_MAX)
                return -ENOMEDIUM;
        if (read_one_line_file_at(AT_FDCWD, "/proc/cmdline", &cmdline) < 0)
                return 0;
        for (char *save = NULL, *w = strtok_r(cmdline, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (strneq(w, "cgroup.memory=", strlen("cgroup.memory=")) && strstr(w, "nosocket")) {
                        cg_why(ret_why, "the kernel was booted with cgroup.memory=nosocket: socket buffers are "
                               "charged to no cgroup");
                        return -EOPNOTSUPP;
                }
        }
        return 0;
}

const CgroupOps cgroup_v2_ops = {
        .manager_done = v2_manager_done,
        .job_create = v2_job_create,
        .job_fd = v2_job_fd,
        .job_attach = v2_job_attach,
        .job_sample = v2_job_sample,
        .job_stats = v2_job_stats,
        .job_kill = v2_job_kill,
        .job_remove = v2_job_remove,
        .job_sockets_charged = v2_job_sockets_charged,
};
