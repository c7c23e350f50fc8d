/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stddef.h>

#include "runner-context.h"

/* Batching: several pytest files in one job, when one job per file would spend too much on pytest's start-up.
 * BATCH_AUTO batches only past 4 files per worker: on a first run into about 4 jobs per worker (by test count);
 * once the history knows a job's start-up (startup_s >= 0) and every file's time, into at most as many as keep
 * start-up within BATCH_STARTUP_SHARE of the run, between 2 and 16 per worker: the count whose simulated run is
 * shortest among those that make the jobs a multiple of the workers. Batches are of decreasing size
 * (sched_pack()). Serial jobs and per-test jobs are never batched. Files are split by test id first (unless
 * --batch off): see split_plan() in runner-batch.c. */
#define BATCH_AUTO 0
#define BATCH_OFF UINT_MAX
#define BATCH_STARTUP_SHARE 0.05
int source_batch(Source *s, unsigned workers, unsigned batch, double startup_s);
/* The most jobs source_batch() can make of s: a file it may split counts as its tests. The worker count is
 * planned on it, so that a single file can be spread over workers. */
size_t source_jobs_bound(const Source *s, unsigned batch);
/* How many jobs BATCH_AUTO makes of n files with total expected seconds (<0: unknown) on workers. */
size_t batch_auto_count(size_t n_files, double total_s, double startup_s, unsigned workers);
