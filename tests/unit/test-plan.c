/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "runner-plan.h"
#include "tap.h"

#define GiB (UINT64_C(1) << 30)

static PlanInput input(double cpus, uint64_t mem) {
        PlanInput in = { .cpu = { .cpus = cpus }, .mem = { .bytes = mem }, .reserve_percent = 10 };
        snprintf(in.mem.source, sizeof in.mem.source, "memory.max of /ci (5 GiB limit)");
        return in;
}

int main(void) {
        Plan p;
        PlanInput in;
        char buf[512];

        /* The case: a 5 GiB container, 4 CPUs, 2G per worker -> 2 workers, memory bound. */
        in = input(4, 5 * GiB);
        in.mem_per_worker = 2 * GiB;
        is_int(plan_compute(&in, &p), 0, "5 GiB, 2G per worker fits");
        is_int(p.workers, 2, "... 2 workers");
        ok(p.bound == PLAN_BOUND_MEMORY, "... bound by memory");
        is_u64(p.mem_per_job, 2 * GiB, "... each capped at 2G");

        /* CPU bound: plenty of memory. */
        in = input(2, 22 * GiB);
        in.mem_per_worker = 2 * GiB;
        is_int(plan_compute(&in, &p), 0, "22 GiB, 2 CPUs");
        is_int(p.workers, 2, "... 2 workers");
        ok(p.bound == PLAN_BOUND_CPU, "... bound by CPU");

        /* No --mem-per-worker: fair share of the usable memory. */
        in = input(4, 10 * GiB);
        is_int(plan_compute(&in, &p), 0, "fair share");
        is_u64(p.mem_per_job, 9 * GiB / 4, "... usable (90%) / 4 workers");

        /* Fractional quota rounds down, but never below one worker. */
        in = input(1.5, 8 * GiB);
        plan_compute(&in, &p);
        is_int(p.workers, 1, "1.5 CPUs -> 1 worker");
        in = input(0.5, 8 * GiB);
        plan_compute(&in, &p);
        is_int(p.workers, 1, "0.5 CPUs -> 1 worker");

        /* -j is an upper bound; memory stays a hard bound. */
        in = input(8, 64 * GiB);
        in.jobs_max = 3;
        plan_compute(&in, &p);
        is_int(p.workers, 3, "-j 3 on 8 CPUs");
        ok(p.bound == PLAN_BOUND_JOBS_OPTION, "... bound by -j");
        in = input(8, 5 * GiB);
        in.jobs_max = 6;
        in.mem_per_worker = 2 * GiB;
        plan_compute(&in, &p);
        is_int(p.workers, 2, "-j 6 but memory allows 2");
        ok(p.bound == PLAN_BOUND_MEMORY, "... bound by memory");

        /* Fewer jobs than workers. */
        in = input(8, 64 * GiB);
        in.n_jobs = 3;
        plan_compute(&in, &p);
        is_int(p.workers, 3, "3 jobs on 8 CPUs -> 3 workers");
        ok(p.bound == PLAN_BOUND_JOB_COUNT, "... bound by the job count");

        /* Not even one fits: the message names the numbers and the largest size that fits. */
        in = input(4, 24 * GiB);
        in.mem_per_worker = 30 * GiB;
        is_int(plan_compute(&in, &p), -ENOSPC, "30G in 24 GiB does not fit");
        plan_explain_no_fit(&in, &p, buf, sizeof buf);
        is_str(buf, "21.6 GiB is available to tests here (memory.max of /ci (5 GiB limit); 10% reserve); use at most 21G",
               "... explained");

        /* An absolute reserve. */
        in = input(4, 4 * GiB);
        in.reserve_bytes = GiB;
        in.mem_per_worker = GiB;
        plan_compute(&in, &p);
        is_int(p.workers, 3, "4 GiB less a 1 GiB reserve, 1G each -> 3 workers");
        /* Learned admission: workers as the CPUs allow, memory admitted per job. */
        in = input(4, 6 * GiB);
        in.mem_per_worker = 3 * GiB;
        in.learned = true;
        is_int(plan_compute(&in, &p), 0, "learned: 6 GiB, 3G slots");
        is_int(p.workers, 4, "... 4 workers, not the 1 fixed slots allow");
        ok(p.bound == PLAN_BOUND_ADMISSION, "... bound by CPUs, memory by admission");
        is_u64(plan_mem_request(&p, 0), 3 * GiB, "a job never measured asks for the slot");
        is_u64(plan_mem_request(&p, 2 * GiB), 2 * GiB + GiB / 2, "a 2 GiB peak asks for a quarter more");
        is_u64(plan_mem_request(&p, 20 << 20), (20 << 20) + PLAN_HEADROOM_MIN, "a 20 MiB peak: at least 64 MiB more");
        is_u64(plan_mem_request(&p, 5 * GiB), p.usable_bytes, "a peak past the budget asks for all of it");
        ok(plan_request_is_heavy(&p, 2 * GiB), "2 GiB of 5.4 on 4 workers is heavy");
        ok(!plan_request_is_heavy(&p, 1 * GiB), "1 GiB is not");
        in.mem_per_worker = 7 * GiB;
        is_int(plan_compute(&in, &p), -ENOSPC, "learned, but a slot larger than the budget still does not fit");
        /* --mem-per-worker SIZE (not auto) is a hard cap: learned requests stay below it */
        in.mem_per_worker = 3 * GiB;
        in.mem_hard_cap = true;
        is_int(plan_compute(&in, &p), 0, "learned under a hard 3G cap: fits");
        is_u64(p.job_max, 3 * GiB, "... each job's hard cap is the SIZE given");
        is_u64(plan_mem_request(&p, 2 * GiB), 2 * GiB + GiB / 2, "... a 2 GiB peak still asks for a quarter more");
        is_u64(plan_mem_request(&p, 2 * GiB + GiB / 2), 3 * GiB, "... a 2.5 GiB peak asks for 3 GiB, not 3.1");
        is_u64(plan_mem_request(&p, 5 * GiB), 3 * GiB, "... a peak past the cap asks for the cap, not the budget");
        in.mem_hard_cap = false;
        plan_compute(&in, &p);
        is_u64(p.job_max, 0, "auto (a size from the history): no hard cap");

        /* learned CPU demand: the CPUs a job kept busy, rounded, at least 1, at most the CPU budget */
        is_int(plan_cpu_request(&p, 0), 1, "cpus: never measured asks for 1");
        is_int(plan_cpu_request(&p, 0.05), 1, "cpus: a job that mostly waits asks for 1, not 0");
        is_int(plan_cpu_request(&p, 1.4), 1, "cpus: 1.4 busy rounds to 1");
        is_int(plan_cpu_request(&p, 1.6), 2, "cpus: 1.6 busy rounds to 2");
        is_int(plan_cpu_request(&p, 3.5), 4, "cpus: 3.5 rounds to the budget, 4");
        is_int(plan_cpu_request(&p, 9), 4, "cpus: 9 busy on a 4-CPU budget asks for 4");
        is_int(plan_cpu_request(&p, 1e300), 4, "cpus: a corrupt figure asks for the budget, no overflow");

        return tap_done();
}
