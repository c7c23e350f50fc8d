/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "macro.h"
#include "parse-util.h"
#include "runner-plan.h"

const char *plan_bound_to_string(PlanBound b) {
        switch (b) {
        case PLAN_BOUND_CPU:
                return "CPU budget";
        case PLAN_BOUND_MEMORY:
                return "memory budget";
        case PLAN_BOUND_JOBS_OPTION:
                return "-j";
        case PLAN_BOUND_JOB_COUNT:
                return "number of jobs";
        case PLAN_BOUND_ADMISSION:
                return "CPU budget, with memory admitted by learned peaks";
        }
        return "?";
}

int plan_compute(const PlanInput *in, Plan *ret) {
        Plan p = {};
        uint64_t budget = in->mem.bytes;

        /* Whole CPUs: a 1.5-CPU quota runs one worker at full speed rather than two throttled ones. */
        p.cpu_workers = MAX(1u, (unsigned) floor(in->cpu.cpus + 1e-9));
        p.reserve_bytes = in->reserve_bytes ? in->reserve_bytes
                                            : (uint64_t) ((unsigned __int128) budget * in->reserve_percent / 100);
        p.usable_bytes = budget > p.reserve_bytes ? budget - p.reserve_bytes : 0;
        p.workers = p.cpu_workers;
        p.bound = in->learned ? PLAN_BOUND_ADMISSION : PLAN_BOUND_CPU;

        if (in->mem_per_worker > 0) {
                uint64_t fit = p.usable_bytes / in->mem_per_worker;
                if (fit == 0) {
                        *ret = p;
                        return -ENOSPC;
                }
                /* with learned requests memory bounds how many jobs run, not how many workers there are */
                if (fit < p.workers && !in->learned) {
                        p.workers = (unsigned) fit;
                        p.bound = PLAN_BOUND_MEMORY;
                }
        }
        if (in->jobs_max > 0 && in->jobs_max < p.workers) {
                p.workers = in->jobs_max;
                p.bound = PLAN_BOUND_JOBS_OPTION;
        }
        if (in->n_jobs > 0 && in->n_jobs < p.workers) {
                p.workers = (unsigned) in->n_jobs;
                p.bound = PLAN_BOUND_JOB_COUNT;
        }
        p.mem_per_job = in->mem_per_worker > 0 ? in->mem_per_worker : p.usable_bytes / p.workers;
        if (in->learned)
                p.mem_per_job = MIN(p.mem_per_job, p.usable_bytes);
        if (p.mem_per_job == 0) {
                *ret = p;
                return -ENOSPC;
        }
        p.job_max = in->mem_hard_cap ? p.mem_per_job : 0;
        *ret = p;
        return 0;
}

uint64_t plan_alone_limit(uint64_t usable_bytes, uint64_t job_max) {
        return job_max > 0 ? MIN(job_max, usable_bytes) : usable_bytes;
}

uint64_t plan_mem_request(const Plan *p, uint64_t hist_peak) {
        uint64_t headroom, request;

        if (hist_peak == 0)
                return p->mem_per_job;
        headroom = MAX(hist_peak / 4, PLAN_HEADROOM_MIN);
        request = hist_peak > p->usable_bytes - MIN(headroom, p->usable_bytes) ? p->usable_bytes : hist_peak + headroom;
        return p->job_max > 0 ? MIN(request, p->job_max) : request;
}

unsigned plan_cpu_request(const Plan *p, double hist_cpus) {
        double n = round(hist_cpus);

        return n <= 1 ? 1 : n >= p->cpu_workers ? MAX(p->cpu_workers, 1u) : (unsigned) n;
}

bool plan_request_is_heavy(const Plan *p, uint64_t request) {
        return request > p->usable_bytes / MAX(p->workers, 1u);
}

void plan_explain_no_fit(const PlanInput *in, const Plan *p, char *buf, size_t len) {
        char reserve[64];
        uint64_t gib = p->usable_bytes >> 30, mib = p->usable_bytes >> 20;

        if (in->reserve_bytes)
                (void) snprintf(reserve, sizeof reserve, "%s reserve", FORMAT_SIZE(p->reserve_bytes));
        else
                (void) snprintf(reserve, sizeof reserve, "%u%% reserve", in->reserve_percent);
        if (gib >= 1)
                (void) snprintf(buf, len, "%s is available to tests here (%s; %s); use at most %" PRIu64 "G",
                                FORMAT_SIZE(p->usable_bytes), in->mem.source, reserve, gib);
        else if (mib >= 1)
                (void) snprintf(buf, len, "%s is available to tests here (%s; %s); use at most %" PRIu64 "M",
                                FORMAT_SIZE(p->usable_bytes), in->mem.source, reserve, mib);
        else
                (void) snprintf(buf, len,
                                "no memory is available to tests here (%s; %s); free some memory or lower "
                                "--mem-reserve",
                                in->mem.source, reserve);
}
