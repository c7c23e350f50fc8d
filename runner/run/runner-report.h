/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "runner-context.h"
#include "runner-sched.h"

/* What the user reads of a run: progress, the summary, --json, --junit and the --dry-run plan. */
typedef struct Reporter Reporter;
Reporter *reporter_new(const RunContext *rc);
Reporter *reporter_free(Reporter *r);
void reporter_job_finished(Reporter *r, const Job *j);
/* Is a live status line shown (stderr is a terminal)? */
bool reporter_live(const Reporter *r);
/* The status line, redrawn: progress, elapsed time and ETA, memory, the running jobs' names, cut to the
 * terminal's width. */
void reporter_tick(Reporter *r, const SchedRunning *running, size_t n_running, uint64_t mem_in_use);
/* pytest: the running jobs' -v lines (shown as they come) and tests done (for the status line). */
void reporter_poll_tests(Reporter *r);
/* pytest: what the job's plugin reported of its tests (its -v lines left, its failed tests' reports), read as
 * its attempt ends; -errno for a report only the job could have made so, *ret_file naming it. */
int reporter_job_results(Reporter *r, const Job *j, const char **ret_file);
/* Reads the terminal's width again (after SIGWINCH). */
void reporter_resize(Reporter *r);
/* A job still running after elapsed_usec (a multiple of --slow-timeout): one line, when not on a terminal. */
void reporter_slow(Reporter *r, const Job *j, uint64_t elapsed_usec);
void reporter_summary(Reporter *r);
int report_write_json(const RunContext *rc, const char *path);
int report_write_junit(const RunContext *rc, const char *path);
int report_print_plan(const RunContext *rc);
int junit_read_counts(const char *path, unsigned *tests, unsigned *failures, unsigned *skipped);
