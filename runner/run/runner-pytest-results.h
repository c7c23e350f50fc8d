/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "runner-job.h"

/* In a pytest job's attempt directory, nsrun's plugin's record of the test running now and the counts so far. */
#define PROGRESS_FILE "progress.json"

/* The job's tests by outcome as nsrun's plugin counted them in pytest's words (its times document's "counts"):
 * passed, failed, error, skipped, xfailed, xpassed. Left as the JUnit report gave them when the plugin wrote
 * none (a killed job). */
void pytest_counts_from_times(Job *j, json_object *times);

/* "2 failed, 3 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error", as pytest's final line orders and words them
 * (zeros left out), or "no tests ran". */
void pytest_counts_format(unsigned passed, unsigned failed, unsigned skipped, unsigned errors, unsigned xfailed,
                          unsigned xpassed, char *buf, size_t len);

/* What nsrun's plugin writes into a pytest attempt's directory as it goes, for a job killed in the middle: the
 * tests it collected (node id and the argument selecting each again) and one line per test as it ends. */
#define TESTS_FILE "tests.json"
#define RESULTS_FILE "results.jsonl"

/* The node id of the test the attempt in dir was running when it ended, as the plugin wrote it; NULL if none or
 * not known. Written by the job, so anything: read as every job file is (read_job_file_at()). */
char *pytest_attempt_current(const char *dir);

/* The tests the attempt finished, in order: an array of objects whose nodeid, classname, name, outcome
 * ("passed", "failure", "error", "skipped"), message and text are strings and time a number (lines that are not
 * are left out, as is a last line cut short); NULL when it wrote none. */
json_object *pytest_attempt_results(const char *dir);

/* The pytest arguments of the tests the attempt collected but neither finished nor was running, in collection
 * order; each an absolute path and the rest of the test's id (anything else the job wrote is left out, so that
 * it cannot slip an option into the command); and their node ids in *ret_ids (may be NULL). 0 with NULL when
 * there are none or nothing is known. */
int pytest_attempt_unreached(const char *dir, char ***ret_args, char ***ret_ids);
