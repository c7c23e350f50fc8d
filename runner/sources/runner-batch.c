/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Several pytest files per job, when one job per file would spend the run starting pytest; and a file much
 * longer than the rest split by test id, when it alone would be the run's tail. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "runner-batch.h"

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
        uint64_t peak = 0;
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
                peak = MAX(peak, f->hist_peak);
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
        j->hist_peak = known ? peak : 0; /* each file's record holds the peak of the job it last ran in */
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

/* Part k of n of a file's tests: a job of its own, named "tests/test_big.py [2/3]", whose one member is the file
 * (so its time and peak go into the file's history, summed over the parts). */
static int make_part(const Source *s, const Job *f, size_t from, size_t count, unsigned k, unsigned parts,
                     JobList *out) {
        char **argv = strv_copy(s->pytest_options), **args = NULL, **members = NULL, *name = NULL;
        size_t n = strv_length(f->ids);
        Job *j;

        if (!argv || strv_push(&members, f->name) < 0 || asprintf(&name, "%s [%u/%u]", f->name, k, parts) < 0)
                goto oom;
        for (size_t i = from; i < from + count; i++)
                if (strv_push(&argv, f->ids[i]) < 0 || strv_push(&args, f->ids[i]) < 0)
                        goto oom;
        if (job_list_add(out, name, argv, (unsigned) count, false) < 0) {
                strv_free(args);
                strv_free(members);
                return -ENOMEM;
        }
        j = &out->jobs[out->n - 1];
        j->args = args;
        j->members = members;
        j->hist_wall_s = f->hist_wall_s * (double) count / (double) n;
        j->hist_peak = f->hist_peak;
        j->hist_failed = f->hist_failed;
        j->expected_s = f->expected_s * (double) count / (double) n;
        return 0;
oom:
        free(name);
        strv_free(argv);
        strv_free(args);
        strv_free(members);
        return -ENOMEM;
}

/* How many parts a file of load seconds and n tests becomes, in a run of total seconds on workers where each
 * job pays startup_s to start: the count that minimises the estimated makespan max((total + extra start-ups) /
 * workers, part + start-up); 1 unless that saves at least a tenth of the run and a second (splitting costs
 * the file's module fixtures a run per part, and tests that lean on the ones before them in the file). */
static unsigned split_count(double load, size_t n, double total, double startup_s, unsigned workers) {
        double o = MAX(startup_s, 0.0), whole = MAX(total / workers, load + o), best = whole;
        unsigned parts = 1;

        for (unsigned k = 2; k <= MIN(n, (size_t) workers * 4); k++) {
                double est = MAX((total + (k - 1) * o) / workers, load / k + o);
                if (est < best) {
                        best = est;
                        parts = k;
                }
        }
        return best <= whole * 0.9 && whole - best >= 1.0 ? parts : 1;
}

/* A file expected to take longer than a worker's fair share of the run would be its tail whatever the order:
 * it is split into consecutive runs of its tests (neighbours share classes and fixtures), as many as shorten
 * the run once each part's start-up is paid. Only with history: on a first run nothing says which file is
 * long. */
static int split_long_files(Source *s, unsigned workers, double startup_s) {
        JobList *l = &s->jobs, out = {};
        double total = 0, share;
        bool any = false;
        int r = 0;

        for (size_t i = 0; i < l->n; i++) {
                if (l->jobs[i].expected_s < 0 || l->jobs[i].hist_wall_s < 0)
                        continue;
                total += l->jobs[i].expected_s;
        }
        share = total / MAX(workers, 1u);
        for (size_t i = 0; i < l->n; i++) {
                const Job *j = &l->jobs[i];
                any = any || (!j->serial && j->hist_wall_s >= 0 && strv_length(j->ids) > 1 && j->expected_s > share);
        }
        if (!any || workers < 2)
                return 0;
        for (size_t i = 0; i < l->n && r >= 0; i++) {
                const Job *j = &l->jobs[i];
                size_t n = strv_length(j->ids);
                unsigned parts;

                parts = j->serial || j->hist_wall_s < 0 || n < 2 || j->expected_s <= share
                                ? 1
                                : split_count(j->expected_s, n, total, startup_s, workers);
                if (parts == 1) {
                        r = move_job(l, i, &out);
                        continue;
                }
                for (unsigned k = 0; k < parts && r >= 0; k++)
                        r = make_part(s, j, n * k / parts, n * (k + 1) / parts - n * k / parts, k + 1, parts, &out);
        }
        if (r < 0) {
                job_list_done(&out);
                return r;
        }
        job_list_done(l);
        *l = out;
        return 0;
}

size_t batch_auto_count(size_t n_files, double total_s, double startup_s, unsigned workers) {
        size_t lo = (size_t) workers * 2, hi = (size_t) workers * 16, n;

        if (n_files <= (size_t) workers * BATCHES_PER_WORKER)
                return n_files; /* few files: one job each, the strongest isolation */
        if (total_s < 0 || startup_s <= 0)
                n = (size_t) workers * BATCHES_PER_WORKER;
        else {
                /* n jobs start n times: n * startup <= share * (total + n * startup) */
                double fit = BATCH_STARTUP_SHARE * total_s / ((1 - BATCH_STARTUP_SHARE) * startup_s);
                n = fit >= (double) hi ? hi : fit <= (double) lo ? lo : (size_t) fit;
        }
        return MIN(n, n_files);
}

int source_batch(Source *s, unsigned workers, unsigned batch, double startup_s) {
        JobList *files = &s->jobs, out = {};
        _cleanup_free_ size_t *idx = NULL;
        Bin *bins = NULL;
        size_t n = 0, n_bins;
        int r = 0;

        if (!s->pytest || batch == BATCH_OFF)
                return 0;
        r = split_long_files(s, workers, startup_s);
        if (r < 0)
                return r;
        idx = new0(size_t, files->n + 1);
        if (!idx)
                return -ENOMEM;
        double total = 0;
        for (size_t i = 0; i < files->n; i++)
                if (batchable(&files->jobs[i])) {
                        idx[n++] = i;
                        total = total < 0 || files->jobs[i].hist_wall_s < 0 ? -1 : total + files->jobs[i].expected_s;
                }
        n_bins = batch == BATCH_AUTO ? batch_auto_count(n, total, startup_s, workers) : batch;
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
