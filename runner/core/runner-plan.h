/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"

/* How many workers run at once, and the memory cap of each job: pure arithmetic over the budgets. */

typedef enum PlanBound {
        PLAN_BOUND_CPU,         /* the CPU budget */
        PLAN_BOUND_MEMORY,      /* the memory budget divided by --mem-per-worker */
        PLAN_BOUND_JOBS_OPTION, /* -j N */
        PLAN_BOUND_JOB_COUNT,   /* there are fewer jobs than workers */
        PLAN_BOUND_ADMISSION,   /* learned: workers as the CPUs allow, jobs admitted while their requests fit */
} PlanBound;

typedef struct PlanInput {
        CpuBudget cpu;
        MemBudget mem;
        uint64_t reserve_bytes;         /* absolute reserve, or 0 to use reserve_percent */
        unsigned reserve_percent;       /* default 10 */
        uint64_t mem_per_worker;        /* 0: not given; each job gets a fair share */
        bool mem_hard_cap;              /* mem_per_worker is the user's SIZE: no job is ever capped above it */
        unsigned jobs_max;              /* -j N, 0: not given */
        size_t n_jobs;
        bool learned;                   /* the history knows jobs' peaks: admission by request, not fixed slots */
} PlanInput;

typedef struct Plan {
        unsigned workers;
        unsigned cpu_workers;           /* what the CPU budget alone allows */
        uint64_t usable_bytes;          /* memory budget less the reserve */
        uint64_t reserve_bytes;
        uint64_t mem_per_job;           /* each job's cap */
        uint64_t job_max;               /* the hard cap per job (--mem-per-worker SIZE), 0: none */
        PlanBound bound;
} Plan;

/* -ENOSPC: not even one worker fits; *ret still holds usable_bytes and reserve_bytes for the message. */
int plan_compute(const PlanInput *in, Plan *ret);

const char *plan_bound_to_string(PlanBound b);

/* Learned memory admission. A job whose peak the history knows asks for that peak plus headroom (a quarter more,
 * at least 64 MiB), at most the whole usable budget and at most job_max; a job never measured asks for the fixed
 * slot (mem_per_job).
 * The scheduler starts jobs while the sum of the running ones' requests fits usable_bytes, and caps each job's
 * memory at its request. */
#define PLAN_HEADROOM_MIN (UINT64_C(64) << 20)
uint64_t plan_mem_request(const Plan *p, uint64_t hist_peak);
/* What one process run alone may have: the usable budget, at most the hard cap job_max (0: none). A job rerun
 * alone after an out-of-memory kill, and pytest's collection. */
uint64_t plan_alone_limit(uint64_t usable_bytes, uint64_t job_max);
/* Learned CPU admission, as memory: a job the history measured asks for the CPUs it kept busy (its CPU time
 * over its wall time, rounded), at least 1 and at most the CPU budget (cpu_workers); one never measured asks
 * for 1. The scheduler starts jobs while the sum of the running ones' requests fits the CPU budget. */
unsigned plan_cpu_request(const Plan *p, double hist_cpus);
/* Is a request heavy, more than a fair share of the budget per worker? Heavy jobs are started first. */
bool plan_request_is_heavy(const Plan *p, uint64_t request);

/* "--mem-per-worker 30G: 22.1 GiB is available to tests here (memory.max of /x: ...; 10% reserve); use at most
 * 19G" */
void plan_explain_no_fit(const PlanInput *in, const Plan *p, char *buf, size_t len);
