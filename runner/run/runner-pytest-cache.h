/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runner-context.h"

/* What nsrun's plugin writes into each pytest job's attempt directory: the cache values the job set. */
#define PYTEST_CACHE_RECORD "pytest-cache.json"

/* Merges the values the jobs set in their pytest cache into the project's cache directory (rc->src.
 * pytest_cache_dir, as the collection resolved pytest's cache_dir), so that --lf, --ff, --nf and --sw see this
 * run; quietly nothing when the jobs wrote none (-p no:cacheprovider), a warning when it cannot be written. */
void pytest_cache_merge(const RunContext *rc);
