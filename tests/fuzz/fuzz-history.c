/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* history_parse() and what a run then does with the parsed history (.nsrun/history.json, which any earlier
 * run, another nsrun version, a crash half-way through a write or the user may have left in any state):
 * annotate jobs, find the largest peak, record new outcomes over old entries, write the file again. The file
 * nsrun writes must be one it reads back. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "runner-history.h"

#include "fuzz.h"

#define MAX_JOBS 16

static const JobStatus statuses[] = { JOB_PASSED, JOB_FAILED, JOB_FLAKY, JOB_OOM, JOB_TIMEOUT, JOB_ERROR };

static void jobs_from_history(const History *h, JobList *l) {
        char **names = NULL, **argv = NULL;

        /* the jobs the history knows, and one it does not */
        fuzz_assert(history_job_names(h, &names) == 0);
        for (size_t n = 0; names && names[n] && n < MAX_JOBS; n++) {
                char **job_argv = NULL;
                fuzz_assert(strv_push(&job_argv, "true") == 0);
                fuzz_assert(job_list_add(l, strdup(names[n]), job_argv, 0, false) == 0);
        }
        strv_free(names);
        fuzz_assert(strv_push(&argv, "true") == 0);
        fuzz_assert(job_list_add(l, strdup("tests/test_not_in_history.py"), argv, 0, false) == 0);
        for (size_t i = 0; i < l->n; i++) {
                l->jobs[i].status = statuses[i % ELEMENTSOF(statuses)];
                l->jobs[i].wall_s = (double) i / 3;
                l->jobs[i].peak_mem = (uint64_t) i << 20;
                l->jobs[i].cpu_s = (double) (i % 3) / 2; /* 0: not measured, kept out of the record */
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        History *h = NULL, *again = NULL;
        JobList l = {};
        int r;

        r = history_parse(text, &h);
        if (r < 0) {
                fuzz_assert(!h && (r == -EBADMSG || r == -EPROTONOSUPPORT));
                free(text);
                return 0;
        }
        jobs_from_history(h, &l);
        history_annotate(h, &l);
        for (size_t i = 0; i < l.n; i++) {
                fuzz_assert(l.jobs[i].hist_wall_s == -1 || (l.jobs[i].hist_wall_s >= 0 && l.jobs[i].hist_wall_s < 1e9));
                fuzz_assert(l.jobs[i].hist_peak < UINT64_C(18000000000000000000));
                fuzz_assert(l.jobs[i].hist_cpus >= 0 && l.jobs[i].hist_cpus < 1e6);
        }

        /* what history_save() does under its lock, minus the file: record, serialise, and read back */
        {
                HistoryRecord *recs = NULL;
                size_t n = 0;

                fuzz_assert(history_records_from_jobs(&l, &recs, &n) == 0);
                for (size_t i = 0; i < n; i++)
                        fuzz_assert(history_record(h, &recs[i]) == 0);
                free(recs);
        }
        {
                char *out = NULL;

                fuzz_assert(history_format(h, &out) == 0);
                r = history_parse(out, &again);
                if (r < 0)
                        fprintf(stderr, "nsrun cannot read back the history it wrote (%s):\n%s\n", strerror(-r), out);
                fuzz_assert(r == 0);
                for (size_t i = 0; i < l.n; i++)
                        fuzz_assert(history_knows(again, l.jobs[i].name));
                free(out);
        }
        history_free(again);
        history_free(h);
        job_list_done(&l);
        free(text);
        return 0;
}
