/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The machine as the runner and xdist size their workers for it: the plan from this machine's budgets, and
 * what a job sees of it, CPUs side: libraries that start one thread per CPU they see (OpenMP, BLAS, numexpr,
 * rayon) are told the job's share instead. (Memory: /proc/meminfo, see SandboxMemView.) */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cgroup.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "runner-machine.h"
#include "strv.h"

/* Read by OpenMP (libgomp, libomp), OpenBLAS, MKL, numexpr, Accelerate (macOS, harmless here) and rayon. */
static const char *const thread_vars[] = {
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS",
};
/* Those setenv_cpu_share() set, the user having not: only these follow a job's learned request. (The process's
 * environment is one per process; so is this.) */
static bool thread_var_ours[ELEMENTSOF(thread_vars)];

unsigned cpu_share(double budget, unsigned workers, unsigned cpus_per_job) {
        unsigned n;

        if (cpus_per_job > 0)
                return cpus_per_job;
        n = workers > 0 ? (unsigned) (budget / workers) : (unsigned) budget;
        return MAX(n, 1u);
}

int setenv_cpu_share(unsigned n) {
        char buf[16];

        (void) snprintf(buf, sizeof buf, "%u", n);
        for (size_t i = 0; i < ELEMENTSOF(thread_vars); i++) {
                if (!thread_var_ours[i] && getenv(thread_vars[i]))
                        continue; /* the user's own value wins */
                if (setenv(thread_vars[i], buf, /* overwrite= */ 1) < 0)
                        return -errno;
                thread_var_ours[i] = true;
        }
        return 0;
}

int job_env_cpu_share(char ***env, const Job *j, unsigned cpus_per_job) {
        char buf[64];

        if (cpus_per_job > 0 || j->hist_cpus <= 0)
                return 0; /* env has the share already: setenv_cpu_share() set it in the environment env copies */
        for (size_t i = 0; i < ELEMENTSOF(thread_vars); i++) {
                if (!thread_var_ours[i])
                        continue;
                (void) snprintf(buf, sizeof buf, "%s=%u", thread_vars[i], MAX(j->cpu_request, 1u));
                if (strv_env_set(env, buf) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int plan_input(const CapOptions *o, const MemBudget *mem, size_t n_jobs, bool learned, uint64_t auto_peak,
                      PlanInput *in) {
        int r;

        r = cpu_budget_get(NULL, &in->cpu);
        if (r >= 0 && mem)
                in->mem = *mem;
        else if (r >= 0)
                r = mem_budget_get(NULL, NULL, &in->mem);
        if (r < 0)
                return r;
        in->reserve_bytes = o->reserve_bytes;
        in->reserve_percent = o->reserve_percent;
        in->mem_per_worker = o->mem_per_worker;
        in->mem_hard_cap = o->mem_per_worker > 0; /* the user's SIZE; 'auto' is a guess from the history */
        in->jobs_max = o->jobs_max;
        in->n_jobs = n_jobs;
        in->learned = learned;
        /* auto: the largest peak seen so far, with a quarter more as headroom; unknown: a fair share */
        if (o->mem_per_worker_auto)
                in->mem_per_worker = auto_peak ? MAX(auto_peak + auto_peak / 4, UINT64_C(64) << 20) : 0;
        return 0;
}

unsigned plan_workers_bound(const CapOptions *o, double *ret_cpus, MemBudget *ret_mem, Plan *ret_plan) {
        PlanInput in = {};
        Plan p = {};

        if (plan_input(o, NULL, SIZE_MAX, false, 0, &in) < 0)
                return 0;
        *ret_mem = in.mem;
        if (plan_compute(&in, &p) < 0)
                return 0;
        *ret_cpus = in.cpu.cpus;
        if (ret_plan)
                *ret_plan = p;
        return p.workers;
}

int plan_from_budgets(const CapOptions *o, const MemBudget *mem, size_t n_jobs, bool learned, uint64_t auto_peak,
                      PlanInput *in, Plan *ret) {
        char why[1024];
        int r;

        r = plan_input(o, mem, n_jobs, learned, auto_peak, in);
        if (r < 0)
                return log_error_errno(r, "Cannot read this machine's CPU and memory budgets: %m");
        r = plan_compute(in, ret);
        if (r == -ENOSPC) {
                plan_explain_no_fit(in, ret, why, sizeof why);
                return log_error_errno(ENOSPC, "--mem-per-worker %s: %s", FORMAT_SIZE(in->mem_per_worker), why);
        }
        if (ret->bound == PLAN_BOUND_MEMORY)
                log_notice("%u %s, not %u: %s each fits %s in the %s available to tests (%s)", ret->workers,
                           PLURAL(ret->workers, "worker"), MIN(ret->cpu_workers, o->jobs_max ?: UINT_MAX),
                           FORMAT_SIZE(in->mem_per_worker), FORMAT_TIMES(ret->workers),
                           FORMAT_SIZE(ret->usable_bytes), in->mem.source);
        return r;
}
