/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner-job.h"
#include "runner-options.h"
#include "runner-plan.h"

/* The worker count and each job's cap from this machine's budgets and the options (the runner's and xdist's one
 * sizing): reads the CPU and memory budgets into *in (the memory one: *mem where given, read before the run
 * started processes of its own), fills in the options, n_jobs and learned, and computes *ret. auto_peak: the
 * largest peak the history knows, for --mem-per-worker auto (0: none, a fair share). Logs why on failure
 * (-ENOSPC: not even one worker fits, the size to give named) and a notice when memory, not the CPUs, bounds the
 * workers. */
int plan_from_budgets(const CapOptions *o, const MemBudget *mem, size_t n_jobs, bool learned, uint64_t auto_peak,
                      PlanInput *in, Plan *ret);
/* The most workers a run could have, before its jobs are known (as many jobs as it likes, none learned), and
 * the CPUs they share in *ret_cpus, quietly; 0 where the budgets cannot be read or nothing fits. The memory
 * budget it read, in *ret_mem (zeroed where it could not be read), and the plan, in *ret_plan where given (its
 * mem_per_job a worker's share, usable_bytes what a process run alone may have). */
unsigned plan_workers_bound(const CapOptions *o, double *ret_cpus, MemBudget *ret_mem, Plan *ret_plan);

/* What a job sees of its machine, CPUs side (memory: SandboxSpec.mem_view). */

/* Each job's CPU share, --cpus-per-job N or the CPU budget over the workers (at least 1). */
unsigned cpu_share(double budget, unsigned workers, unsigned cpus_per_job);
/* OMP_NUM_THREADS and the like, in nsrun's environment (which jobs inherit) where the user did not set them. */
int setenv_cpu_share(unsigned n);
/* A job the history knows is told the CPUs it learned to keep busy instead, its cpu_request: sets them in its
 * environment env (a copy of nsrun's) where setenv_cpu_share() set them, unless --cpus-per-job N (cpus_per_job)
 * sets every job's by hand. */
int job_env_cpu_share(char ***env, const Job *j, unsigned cpus_per_job);
