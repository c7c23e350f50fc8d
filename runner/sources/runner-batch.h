/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stddef.h>

#include "runner-context.h"

/* Batching: several pytest files in one job, when one job per file would spend too much on pytest's start-up.
 * BATCH_AUTO batches only past 4 files per worker: into 4 jobs per worker of balanced expected time
 * (longest-processing-time-first over the files' history, or test counts on a first run); once the history
 * knows a job's start-up (startup_s >= 0) and every file's time, into as many as keep start-up within
 * BATCH_STARTUP_SHARE of the run, between 2 and 16 per worker. Serial jobs and per-test jobs are never batched. A file expected to take
 * longer than a worker's share of the run is split by test id first (unless --batch off). */
#define BATCH_AUTO 0
#define BATCH_OFF UINT_MAX
#define BATCH_STARTUP_SHARE 0.05
int source_batch(Source *s, unsigned workers, unsigned batch, double startup_s);
/* How many jobs BATCH_AUTO makes of n files with total expected seconds (<0: unknown) on workers. */
size_t batch_auto_count(size_t n_files, double total_s, double startup_s, unsigned workers);
