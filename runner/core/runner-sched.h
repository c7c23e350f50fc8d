/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

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
