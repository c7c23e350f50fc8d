/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runner-context.h"
#include "xml-util.h"

/* A retried pytest job (--retries): on each testcase of its last attempt's suite (suite, already in out) that
 * failed in an earlier attempt, a flakyFailure/flakyError child when it passed in the end, rerunFailure/rerunError
 * when it failed again, with the earlier failure's message, traceback and captured output. */
void pytest_junit_mark_reruns(const RunContext *rc, const Job *j, xmlDocPtr out, xmlNodePtr suite);

/* The suite of a pytest job killed in the middle of its tests (a timeout, an out-of-memory kill, a crash): each
 * test it finished with its outcome, the one it was running as an error with reason, and the tests it had not
 * reached as the new attempt that ran them reported them (skipped as not run if that one died too). NULL when
 * the job recorded no test (killed before its first): its one synthetic testcase says why. */
xmlNodePtr pytest_junit_killed_suite(const RunContext *rc, const Job *j, xmlDocPtr out, const char *reason);
