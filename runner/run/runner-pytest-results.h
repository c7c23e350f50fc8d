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
