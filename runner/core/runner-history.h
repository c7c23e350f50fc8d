/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "runner-job.h"

/* The history of earlier runs: per job name, its last wall time, peak memory, CPUs kept busy
 * and outcome, in DIR/history.json.
 * Two runs in one project at once are safe: the file is rewritten under an flock() on DIR/history.lock by
 * write-to-temporary and rename(), and merged with what the other run wrote meanwhile. */

#define HISTORY_VERSION 1

typedef struct History History;

/* Reads DIR/history.json. A missing file is an empty history. A corrupt file, or one written by a newer nsrun,
 * is ignored: *ret_warning (if not NULL) then says why and what happens, and the newer one is never overwritten.
 * Returns <0 only for errors of the machine (ENOMEM). */
int history_load(const char *dir, History **ret, char **ret_warning);
History *history_free(History *h);

/* Copies what the history knows into the jobs' hist_* fields. */
void history_annotate(const History *h, JobList *l);

/* One entry to keep: a job, or one file of a pytest job. The strings are borrowed. */
typedef struct HistoryRecord {
        const char *name;
        double wall_s;
        uint64_t peak_mem;
        double cpus;            /* CPU time over wall time; <0 not measured (not written) */
        const char *status;
} HistoryRecord;

/* The records of the jobs that ran (repeats and jobs that never ran are left out). *ret borrows from l. */
int history_records_from_jobs(const JobList *l, HistoryRecord **ret, size_t *ret_n);
/* Records them, merged under the lock with the file as it is now, with the run's pytest start-up per job
 * (seconds; <0 keeps what the file has). */
int history_save(const char *dir, const HistoryRecord *r, size_t n, double startup_s);
/* What one pytest job spent starting (interpreter, imports, collection of its files) in the last run that
 * measured it, or <0. Batching sizes its jobs by it. */
double history_startup_s(const History *h);

/* For the fuzzer and unit tests: parses history text. -EBADMSG corrupt, -EPROTONOSUPPORT newer version. */
int history_parse(const char *text, History **ret);
/* Records one job's outcome over its entry (its run count goes on). */
int history_record(History *h, const HistoryRecord *rec);
/* The document history_save() writes, as text. */
int history_format(const History *h, char **ret);
/* Has the history an entry for the job named name? */
bool history_knows(const History *h, const char *name);
/* The names of the jobs it has an entry for (a NULL-terminated list; NULL for none). */
int history_job_names(const History *h, char ***ret);
