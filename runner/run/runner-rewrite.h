/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* pytest's assertion rewriting, kept between runs in .nsrun/pytest-rewrite/ (docs/design.md, "pytest's assertion
 * rewriting, kept"): nsrun_rewrite.py writes it in a sandbox of its own while the jobs run, nsrun_pytest.py points
 * each pytest of the run at it (NSRUN_REWRITE_CACHE). */

#include "runner-context.h"

typedef struct RewriteCache RewriteCache;

/* Makes the cache's directory and sets NSRUN_REWRITE_CACHE for every pytest the run starts from now on (the
 * collection's, the prepared interpreters', the jobs'). Without a place for it, the run goes on as without. */
void rewrite_cache_offer(RunContext *rc);
/* Starts nsrun_rewrite.py, in the background, on the files rc's pytest jobs run, where rewrite_cache_offer() made
 * the cache; NULL when it did not start (nothing to write, no cache, not pytest). */
RewriteCache *rewrite_cache_start(RunContext *rc);
/* Kills what of it still runs, waits for it, and frees it; NULL. */
RewriteCache *rewrite_cache_stop(RewriteCache *w);
