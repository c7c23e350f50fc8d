/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner-job.h"

/* The order jobs are dispatched in: pure logic over the history, no I/O.
 *
 * Parallel jobs first, serial ones after them. Among each: those that failed last time first (a failure is news
 * soonest), then heavy ones (whose learned memory request is more than a fair share: started early, only as many
 * as fit run at once, and the tail is light), then longest expected time first (longest-processing-time-first keeps the tail short). A job never
 * seen has no time of its own: with any history, it is estimated at the suite's mean time per test times its
 * test count; without history, jobs are ordered by test count. Ties keep the source order. */
void sched_estimate(JobList *l);
/* Fills order[0..n) with job indexes in dispatch order. */
void sched_order(const JobList *l, size_t *order);

/* Simulates dynamic dispatch of durations[order[i]] on w workers (each free worker takes the next job) and
 * returns the makespan; for tests and the benchmark's bound. */
double sched_simulate(const double *durations, const size_t *order, size_t n, unsigned w);
/* max(sum/w, longest): no schedule can beat it. */
double sched_lower_bound(const double *durations, size_t n, unsigned w);

/* Packing and splitting pytest files (runner-batch.c decides which files may be batched or split; these decide
 * how, over plain numbers). A load is a file's expected test time, or its test count on a first run; each job
 * pays startup (in the same unit, 0 when unknown) on top of its load. */

/* The makespan of jobs of these loads, each paying startup, dispatched longest first to w workers; <0 ENOMEM. */
double sched_jobs_makespan(const double *load, size_t n, double startup, unsigned w);

/* Packs n items into n_bins batches whose target sizes decrease linearly, the last SCHED_PACK_LAST of the
 * first: dispatched longest first, the last jobs to start are the shortest, so the workers finish close
 * together. Items go longest first into the batch furthest below its target. Fills ret_bin[0..n) and
 * ret_load[0..n_bins) (a batch may stay empty: load 0, no item). -ENOMEM, -EINVAL for no batch. */
#define SCHED_PACK_LAST 0.25
int sched_pack(const double *load, size_t n, size_t n_bins, size_t *ret_bin, double *ret_load);

/* How many batches to pack n items into, beside n_fixed jobs that are not batched: among the counts up to
 * max_batches that make at least min_jobs jobs in all and a multiple of the workers (so no worker is left one
 * job more than the others), or max_batches itself, the one whose packing (sched_pack()) has the shortest
 * simulated makespan, the fewest on a tie. 0 only for ENOMEM. */
size_t sched_batch_count(const double *load, size_t n, const double *fixed, size_t n_fixed, double startup,
                         unsigned w, size_t min_jobs, size_t max_batches);

/* Into how many parts to split each of n items (item i, of max_parts[i] tests, into at most that many parts, cut
 * by test count), beside n_fixed jobs that are not split: the longest part is split once more, up to max_jobs
 * jobs in all, and the split with the shortest simulated makespan is kept if it saves a tenth of the run and
 * min_gain; else every item stays whole (each part costs a start-up, the file's module fixtures again, and
 * tests that lean on earlier ones break). Fills ret_parts[0..n). -ENOMEM. */
int sched_split(const double *load, const unsigned *max_parts, size_t n, const double *fixed, size_t n_fixed,
                double startup, unsigned w, size_t max_jobs, double min_gain, unsigned *ret_parts);

/* ---- The dispatch policy: which job starts next, with what cap, and what happens after a failure. Pure: the
 * jobs, the running ones, the budget and the options go in, a decision comes out; the event loop (runner-run.c)
 * keeps the state and does what they say. ---- */

typedef struct SchedPolicy {
        uint64_t usable_bytes;  /* the memory budget for tests, which the running jobs' caps share */
        uint64_t job_max;       /* --mem-per-worker SIZE, a hard cap per job: no attempt above it; 0: none */
        unsigned cpus;          /* the CPU budget, which the running jobs' cpu_request share; 0: not counted */
        bool capped;            /* memory is capped (not --mem-cap off) */
        bool learned;           /* the jobs' requests are learned from the history */
        unsigned retries;       /* --retries */
} SchedPolicy;

typedef struct SchedRunning {
        const Job *job;         /* its mem_limit and cpu_request are what it was admitted with */
        double elapsed_s;       /* since its attempt started */
} SchedRunning;

/* The memory cap of j's next attempt: its request; rerun alone after an out-of-memory kill at its learned
 * request, the hard cap (job_max) or, without one, the whole budget; 0 when memory is not capped. */
uint64_t sched_attempt_limit(const SchedPolicy *p, const Job *j);
/* Does j fit beside the running jobs: the sum of their memory caps and j's memory request within the memory
 * budget, and the sum of their CPU requests and j's (each at least 1) within the CPU budget? Alone it always
 * does (its requests are at most the budgets). */
bool sched_fits(const SchedPolicy *p, const SchedRunning *running, size_t n_running, const Job *j);
/* The least time, by expectation, until one of the running jobs ends and gives back its memory; -1 unknown. */
double sched_soonest_end(const SchedRunning *running, size_t n_running);
/* A serial job, or one rerun alone, has the machine to itself: nothing starts beside it. */
bool sched_runs_alone(const Job *j);
bool sched_alone_running(const SchedRunning *running, size_t n_running);
/* The next job to start of l in order[*next..], or NULL to wait; *next moves past the jobs no longer pending.
 * Jobs start in order while their requests fit. When the first waiting job does not fit, a later one that does
 * may start in its place (EASY backfilling), but only if it is expected to end before any running job would give
 * the first one room, so a heavy job is never starved by a stream of light ones. A serial job waits until
 * nothing runs. */
Job *sched_next(const SchedPolicy *p, const JobList *l, const size_t *order, size_t *next,
                const SchedRunning *running, size_t n_running);
/* Killed for memory at a request learned from its history, below what a rerun alone would give it: it needs more
 * than it did last time. It reruns once, alone, capped at sched_attempt_limit(). Killed at the hard cap
 * (--mem-per-worker SIZE) it is out of memory: the user said no job needs more, so one that does is news. */
bool sched_should_rerun_alone(const SchedPolicy *p, const Job *j, JobStatus st);
/* Failed, timed out or out of memory, with retries left (a rerun alone is not one of them). */
bool sched_should_retry(const SchedPolicy *p, const Job *j, JobStatus st);
