/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "runner-context.h"
#include "runner-job.h"

/* In a pytest job's attempt directory, nsrun's plugin's record of the test running now and the counts so far. */
#define PROGRESS_FILE "progress.json"

/* The job's tests by outcome as nsrun's plugin counted them in pytest's words (its times document's "counts"):
 * passed, failed, error, skipped, xfailed, xpassed, rerun. Left as the JUnit report gave them when the plugin wrote
 * none (a killed job). */
void pytest_counts_from_times(Job *j, json_object *times);

/* "2 failed, 3 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error, 2 rerun", as pytest's final line orders and
 * words them (zeros left out), or "no tests ran". */
void pytest_counts_format(unsigned passed, unsigned failed, unsigned skipped, unsigned errors, unsigned xfailed,
                          unsigned xpassed, unsigned rerun, char *buf, size_t len);

/* In a pytest job's attempt directory, nsrun's plugin's reports of the job's failed and errored tests as pytest
 * renders them, and their short-summary lines (one JSON document a line, the first what -r resolved to); and with
 * -v, pytest -v's line for each test as it ends. */
#define REPORTS_FILE "reports.jsonl"
#define VERBOSE_FILE "verbose.log"

/* One test's report, read from a job's REPORTS_FILE: its text stays in the file, read again when shown. */
typedef struct PytestReport {
        size_t job;             /* its job's index */
        size_t place;           /* the test's place in the collection (source_test_place()), SIZE_MAX unknown */
        size_t seq;             /* its place in its job's file */
        char kind;              /* pytest's -r character: 'f' failed, 'E' error, 's', 'x', 'X', 'p' */
        bool has_text;          /* a FAILURES or ERRORS block */
        uint64_t offset;        /* of its line in the file */
        size_t size;
        char *summary;          /* its short-summary lines, escaped, one a line */
} PytestReport;

typedef struct PytestReports {
        PytestReport *v;
        size_t n, allocated;
        char reportchars[32];   /* pytest's resolved -r, as the jobs' plugin wrote it; "" until one did */
} PytestReports;

/* Reads the job's REPORTS_FILE in dir (a job-written file: read as read_job_file_at() reads), replacing what an
 * earlier attempt of the job gave. A file that does not exist is no report. */
int pytest_reports_read(PytestReports *rs, const Source *src, size_t job, const char *dir);
/* Sorts the reports in pytest's order: the collection's, then each job's own. */
void pytest_reports_sort(PytestReports *rs);
/* The job's reports of failed and errored tests (with a block of text, or with --tb=no a summary line only). */
size_t pytest_reports_failed(const PytestReports *rs, size_t job);
/* The block of text of r (from its job's REPORTS_FILE in dir), at most max bytes of it; NULL with *cut set when it
 * is longer, or unreadable. */
char *pytest_report_text(const PytestReport *r, const char *dir, size_t max, bool *cut);
void pytest_reports_done(PytestReports *rs);

/* What nsrun's plugin writes into a pytest attempt's directory as it goes, for a job killed in the middle: the
 * tests it collected (node id and the argument selecting each again) and one line per test as it ends. */
#define TESTS_FILE "tests.json"
#define RESULTS_FILE "results.jsonl"

/* The node id of the test the attempt in dir was running when it ended, as the plugin wrote it; NULL if none or
 * not known. Written by the job, so anything: read as every job file is (read_job_file_at()). */
/* One of the files the plugin writes in an attempt's directory, parsed; NULL if missing, over max bytes, refused
 * as read_job_file_at() refuses a job's file (a FIFO, a link), or not JSON. */
json_object *pytest_attempt_json(const char *dir, const char *name, size_t max);

char *pytest_attempt_current(const char *dir);
/* The tests a running attempt finished, from the progress.json nsrun's plugin rewrites as each test ends (at the
 * attempt's directory, opened): 0 if it is not there or not as the plugin writes it. Read each tick: 64 KiB at
 * most, whatever the job wrote there. */
unsigned pytest_attempt_done(int dirfd);

/* The tests the attempt finished, in order: an array of objects whose nodeid, classname, name, outcome
 * ("passed", "failure", "error", "skipped"), message and text are strings and time a number (lines that are not
 * are left out, as is a last line cut short); NULL when it wrote none. */
json_object *pytest_attempt_results(const char *dir);

/* The pytest arguments of the tests the attempt collected but neither finished nor was running, in collection
 * order; each an absolute path and the rest of the test's id (anything else the job wrote is left out, so that
 * it cannot slip an option into the command); and their node ids in *ret_ids (may be NULL). 0 with NULL when
 * there are none or nothing is known. */
int pytest_attempt_unreached(const char *dir, char ***ret_args, char ***ret_ids);
