/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Several pytest files per job, when one job per file would spend the run starting pytest. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "runner-source.h"

#define BATCHES_PER_WORKER 4

typedef struct Bin {
        size_t *members;        /* indexes into the per-file jobs */
        size_t n;
        double load;
} Bin;

static const JobList *cmp_list;

static int cmp_expected(const void *a, const void *b) {
        const Job *x = &cmp_list->jobs[*(const size_t *) a], *y = &cmp_list->jobs[*(const size_t *) b];
        double ex = x->expected_s >= 0 ? x->expected_s : x->n_tests, ey = y->expected_s >= 0 ? y->expected_s : y->n_tests;

        if (ex != ey)
                return ex > ey ? -1 : 1;
        return *(const size_t *) a < *(const size_t *) b ? -1 : 1;
}

static bool batchable(const Job *j) {
        return !j->serial && j->args && strv_length(j->args) == 1 && !strstr(j->args[0], "::");
}

/* One job for the files of a bin: the shared pytest options, then every file. */
static int make_batch(const Source *s, const JobList *files, const Bin *b, JobList *out) {
        char **argv = strv_copy(s->pytest_options), **args = NULL, **members = NULL, *name = NULL;
        const Job *first = &files->jobs[b->members[0]];
        double hist = 0;
        unsigned tests = 0;
        bool known = true, failed = false;

        if (!argv)
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
                const Job *f = &files->jobs[b->members[i]];
                if (strv_push(&argv, f->args[0]) < 0 || strv_push(&args, f->args[0]) < 0 ||
                    strv_push(&members, f->name) < 0)
                        goto oom;
                tests += f->n_tests;
                known = known && f->hist_wall_s >= 0;
                hist += f->hist_wall_s;
                failed = failed || f->hist_failed;
        }
        if (b->n == 1 ? !(name = strdup(first->name)) : asprintf(&name, "%s (+%zu files)", first->name, b->n - 1) < 0)
                goto oom;
        if (job_list_add(out, name, argv, tests, false) < 0) {
                strv_free(args);
                strv_free(members);
                return -ENOMEM;
        }
        Job *j = &out->jobs[out->n - 1];
        j->args = args;
        j->members = b->n > 1 ? members : (strv_free(members), NULL);
        j->hist_wall_s = known ? hist : -1;
        j->hist_failed = failed;
        j->expected_s = b->load;
        return 0;
oom:
        strv_free(argv);
        strv_free(args);
        strv_free(members);
        return -ENOMEM;
}

static int move_job(JobList *from, size_t i, JobList *to) {
        Job *j = &from->jobs[i];
        Job *n = reallocarray(to->jobs, to->n + 1, sizeof(Job));

        if (!n)
                return -ENOMEM;
        to->jobs = n;
        to->jobs[to->n++] = *j;
        *j = (Job) {}; /* owned by 'to' now: job_done() of it frees nothing */
        return 0;
}

int source_batch(Source *s, unsigned workers, unsigned batch) {
        JobList *files = &s->jobs, out = {};
        _cleanup_free_ size_t *idx = NULL;
        Bin *bins = NULL;
        size_t n = 0, n_bins;
        int r = 0;

        if (!s->pytest || batch == BATCH_OFF)
                return 0;
        idx = new0(size_t, files->n + 1);
        if (!idx)
                return -ENOMEM;
        for (size_t i = 0; i < files->n; i++)
                if (batchable(&files->jobs[i]))
                        idx[n++] = i;
        n_bins = batch == BATCH_AUTO ? (size_t) workers * BATCHES_PER_WORKER : batch;
        if (n <= n_bins || n_bins == 0)
                return 0; /* few enough files: one job each, the strongest isolation */
        bins = new0(Bin, n_bins);
        if (!bins)
                return -ENOMEM;
        /* longest-processing-time-first: each file, longest first, into the least loaded bin */
        cmp_list = files;
        qsort(idx, n, sizeof *idx, cmp_expected);
        cmp_list = NULL;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const Job *f = &files->jobs[idx[i]];
                Bin *b = &bins[0];
                size_t *m;
                for (size_t k = 1; k < n_bins; k++)
                        if (bins[k].load < b->load)
                                b = &bins[k];
                m = reallocarray(b->members, b->n + 1, sizeof(size_t));
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                b->members = m;
                b->members[b->n++] = idx[i];
                b->load += f->expected_s >= 0 ? f->expected_s : f->n_tests;
        }
        for (size_t k = 0; k < n_bins && r >= 0; k++)
                if (bins[k].n > 0)
                        r = make_batch(s, files, &bins[k], &out);
        for (size_t i = 0; i < files->n && r >= 0; i++)
                if (!batchable(&files->jobs[i]))
                        r = move_job(files, i, &out);
        for (size_t k = 0; k < n_bins; k++)
                free(bins[k].members);
        free(bins);
        if (r < 0) {
                job_list_done(&out);
                return r;
        }
        job_list_done(files);
        *files = out;
        return 0;
}
