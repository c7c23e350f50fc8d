/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runner-context.h"

/* What nsrun's plugin writes into each pytest job's attempt directory: the cache values the job set. */
#define PYTEST_CACHE_RECORD "pytest-cache.json"

/* Merges the values the jobs set in their pytest cache into the project's cache directory (rc->src.
 * pytest_cache_dir, as the collection resolved pytest's cache_dir), so that --lf, --ff, --nf and --sw see this
 * run; quietly nothing when the jobs wrote none (-p no:cacheprovider), a warning when it cannot be written. */
void pytest_cache_merge(const RunContext *rc);

/* The directory in each pytest job's attempt directory where nsrun's plugin copies the examples the job added to
 * hypothesis's example database: <key>/<value>, as in the database. */
#define HYPOTHESIS_RECORD "hypothesis"
/* An example nsrun copies back at most: hypothesis's buffers are 8 KiB by default (settings.buffer_size). */
#define HYPOTHESIS_EXAMPLE_MAX (UINT64_C(1) << 20)
/* Examples taken from one job at most. */
#define HYPOTHESIS_EXAMPLES_MAX 10000

/* Adds the examples the jobs added to hypothesis's example database (rc->src.pytest_hypothesis_db, as the
 * collection saw it) to the project's: new examples added, the project's kept (none replaced or removed). Each
 * job's copy is hostile input: only directories of regular files at most HYPOTHESIS_EXAMPLE_MAX bytes, named
 * as hypothesis names them, are taken; a symbolic link, FIFO, device, larger file or other name is refused,
 * named in a warning; nothing is written through a symbolic link in the project's database. */
void pytest_hypothesis_merge(const RunContext *rc);
