/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "runner-job.h"

/* Sharding across CI machines: each of N machines runs with the same jobs and the same history and computes the
 * same split on its own, then keeps its share.
 *
 * Jobs with history are spread longest-processing-time-first over the N shares (ties by name, so every machine
 * agrees); jobs without history go by a stable hash of their name, so shares stay stable as tests are added. */

typedef struct Shard {
        unsigned index;         /* 0-based */
        unsigned total;
} Shard;

/* "K/N" with 1 <= K <= N. */
int shard_parse(const char *s, Shard *ret);
/* From the CI's own variables: GitLab (CI_NODE_INDEX 1-based, CI_NODE_TOTAL), CircleCI (CIRCLE_NODE_INDEX,
 * CIRCLE_NODE_TOTAL), Buildkite (BUILDKITE_PARALLEL_JOB, BUILDKITE_PARALLEL_JOB_COUNT), Kubernetes indexed Jobs
 * (JOB_COMPLETION_INDEX, with the count in NSRUN_SHARD_TOTAL). -ENOENT: none set; *ret_source names the one used. */
int shard_from_environment(Shard *ret, const char **ret_source);

/* Fills share[i] (0..total-1) for every job, and, if not NULL, load[k] with each share's expected seconds. */
void shard_assign(const JobList *l, unsigned total, unsigned *share, double *load);
/* Keeps only the jobs of share index. */
int shard_select(JobList *l, const Shard *s);
