/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Several pytest files per job, when one job per file would spend the run starting pytest; and a file much
 * longer than the rest split by test id, when it alone would be the run's tail. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "runner-batch.h"
#include "runner-sched.h"

#define BATCHES_PER_WORKER 4

/* What packing and splitting weigh a job by: its expected time, or on a first run (no history at all, see
 * sched_estimate()) its test count. */
static double job_load(const Job *j) {
        return j->expected_s >= 0 ? j->expected_s : j->n_tests;
}

static bool batchable(const Job *j) {
        return !j->serial && j->args && strv_length(j->args) == 1 && !strstr(j->args[0], "::");
}

/* One job for the files of a bin: the shared pytest options, then every file. */
static int make_batch(const Source *s, const JobList *files, const size_t *members_idx, size_t n_members,
                      JobList *out) {
        char **argv = strv_copy(s->pytest_options), **args = NULL, **members = NULL, *name = NULL;
        const Job *first = &files->jobs[members_idx[0]];
        double hist = 0, expected = 0, cpus = 0;
        uint64_t peak = 0;
        unsigned tests = 0;
        bool known = true, failed = false;

        if (!argv)
                return -ENOMEM;
        for (size_t i = 0; i < n_members; i++) {
                const Job *f = &files->jobs[members_idx[i]];
                if (strv_push(&argv, f->args[0]) < 0 || strv_push(&args, f->args[0]) < 0 ||
                    strv_push(&members, f->name) < 0)
                        goto oom;
                tests += f->n_tests;
                known = known && f->hist_wall_s >= 0;
                hist += f->hist_wall_s;
                expected = expected < 0 || f->expected_s < 0 ? -1 : expected + f->expected_s;
                peak = MAX(peak, f->hist_peak);
                cpus = MAX(cpus, f->hist_cpus);
                failed = failed || f->hist_failed;
        }
        if (n_members == 1 ? !(name = strdup(first->name))
                           : asprintf(&name, "%s (+%zu %s)", first->name, n_members - 1,
                                      PLURAL(n_members - 1, "file")) < 0)
                goto oom;
        if (job_list_add(out, name, argv, tests, false) < 0) {
                strv_free(args);
                strv_free(members);
                return -ENOMEM;
        }
        Job *j = &out->jobs[out->n - 1];
        j->args = args;
        j->members = n_members > 1 ? members : (strv_free(members), NULL);
        j->hist_wall_s = known ? hist : -1;
        j->hist_peak = known ? peak : 0; /* each file's record holds the peak of the job it last ran in */
        j->hist_cpus = known ? cpus : 0; /* and the CPUs it kept busy */
        j->hist_failed = failed;
        j->expected_s = expected; /* <0 on a first run: ordered by test count, as its files would be */
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
        j->hist_wall_s = f->hist_wall_s < 0 ? -1 : f->hist_wall_s * (double) count / (double) n;
        j->hist_peak = f->hist_peak;
        j->hist_cpus = f->hist_cpus;
        j->hist_failed = f->hist_failed;
        j->expected_s = f->expected_s < 0 ? -1 : f->expected_s * (double) count / (double) n;
        return 0;
oom:
        free(name);
        strv_free(argv);
        strv_free(args);
        strv_free(members);
        return -ENOMEM;
}

/* How many parts a file of the given load and n tests becomes, in a run of total load on workers where each
 * job pays startup to start: the count that minimises the estimated makespan max((total + extra start-ups) /
 * workers, part + start-up); 1 unless that saves at least a tenth of the run and min_gain. Many files are
 * batched around the parts, so this is the estimate, not a simulation of jobs that do not exist yet. */
static unsigned split_count(double load, size_t n, double total, double startup, unsigned workers, double min_gain) {
        double whole = MAX(total / workers, load + startup), best = whole;
        unsigned parts = 1;

        for (unsigned k = 2; k <= MIN(n, (size_t) workers * 4); k++) {
                double est = MAX((total + (k - 1) * startup) / workers, load / k + startup);
                if (est < best) {
                        best = est;
                        parts = k;
                }
        }
        return best <= whole * 0.9 && whole - best >= min_gain ? parts : 1;
}

/* Which files to split into consecutive runs of their test ids (neighbours share classes and fixtures), and
 * into how many parts: fills parts[i] for each job of l. A file may be split once the history knows its time;
 * on a first run only when the files are fewer than the workers or it holds most of the tests, by test count.
 * With one job per file, the split is the one whose simulated run is shortest (sched_split()); when many files
 * are batched around it, a file is split only if it is longer than a worker's share (it would be the run's tail
 * in any order), into split_count() parts. Either way only if that saves a tenth of the run and, in seconds,
 * one second. The history keeps one peak per file, not per test, so the split goes by time (or tests) alone;
 * each part is admitted with the file's peak. */
static int split_plan(const JobList *l, unsigned workers, unsigned batch, double startup_s, unsigned *parts) {
        _cleanup_free_ double *load = new0(double, l->n + 1), *fixed = new0(double, l->n + 1);
        _cleanup_free_ unsigned *max_parts = new0(unsigned, l->n + 1), *item_parts = new0(unsigned, l->n + 1);
        _cleanup_free_ size_t *item = new0(size_t, l->n + 1);
        size_t n_par = 0, n_items = 0, n_fixed = 0, n_batchable = 0;
        double total = 0, tests = 0, o, min_gain;
        bool seconds = false, per_file;
        int r = 0;

        if (!load || !fixed || !max_parts || !item_parts || !item)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++) {
                const Job *j = &l->jobs[i];
                parts[i] = 1;
                if (j->serial)
                        continue;
                n_par++;
                total += job_load(j);
                tests += j->n_tests;
                seconds = seconds || j->expected_s >= 0;
                n_batchable += batchable(j);
        }
        if (workers < 2)
                return 0;
        /* in seconds, a job's start-up as the history measured it; in tests, unknown */
        o = seconds ? MAX(startup_s, 0.0) : 0;
        min_gain = seconds ? 1.0 : 0;
        for (size_t i = 0; i < l->n; i++) {
                const Job *j = &l->jobs[i];
                size_t n = strv_length(j->ids);
                if (j->serial)
                        continue;
                if (n > 1 && (j->hist_wall_s >= 0 || n_par < workers || j->n_tests * 2.0 > tests)) {
                        item[n_items] = i;
                        max_parts[n_items] = (unsigned) MIN(n, (size_t) UINT_MAX);
                        load[n_items++] = job_load(j);
                } else
                        fixed[n_fixed++] = job_load(j);
        }
        if (n_items == 0)
                return 0;
        per_file = batch == BATCH_AUTO ? n_batchable <= (size_t) workers * BATCHES_PER_WORKER : batch >= n_batchable;
        if (per_file)
                r = sched_split(load, max_parts, n_items, fixed, n_fixed, o, workers, n_par + 2 * (size_t) workers,
                                min_gain, item_parts);
        else
                for (size_t k = 0; k < n_items; k++)
                        item_parts[k] = load[k] > total / workers
                                                ? split_count(load[k], max_parts[k], total, o, workers, min_gain)
                                                : 1;
        for (size_t k = 0; k < n_items && r >= 0; k++)
                parts[item[k]] = item_parts[k];
        return r;
}

static int split_files(Source *s, unsigned workers, unsigned batch, double startup_s) {
        JobList *l = &s->jobs, out = {};
        _cleanup_free_ unsigned *parts = new0(unsigned, l->n + 1);
        bool any = false;
        int r;

        if (!parts)
                return -ENOMEM;
        r = split_plan(l, workers, batch, startup_s, parts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n; i++)
                any = any || parts[i] > 1;
        if (!any)
                return 0;
        for (size_t i = 0; i < l->n && r >= 0; i++) {
                const Job *j = &l->jobs[i];
                size_t n = strv_length(j->ids);

                if (parts[i] == 1) {
                        r = move_job(l, i, &out);
                        continue;
                }
                for (unsigned k = 0; k < parts[i] && r >= 0; k++)
                        r = make_part(s, j, n * k / parts[i], n * (k + 1) / parts[i] - n * k / parts[i], k + 1,
                                      parts[i], &out);
        }
        if (r < 0) {
                job_list_done(&out);
                return r;
        }
        job_list_done(l);
        *l = out;
        return 0;
}

size_t source_jobs_bound(const Source *s, unsigned batch) {
        size_t n = 0;

        for (size_t i = 0; i < s->jobs.n; i++) {
                const Job *j = &s->jobs.jobs[i];
                n += s->pytest && batch != BATCH_OFF && !j->serial ? MAX(strv_length(j->ids), (size_t) 1) : 1;
        }
        return n;
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
        _cleanup_free_ size_t *idx = NULL, *bin = NULL, *members = NULL, *start = NULL, *next = NULL;
        _cleanup_free_ double *load = NULL, *fixed = NULL, *bin_load = NULL;
        size_t n = 0, n_fixed = 0, n_bins;
        double total = 0;
        int r;

        if (!s->pytest || batch == BATCH_OFF)
                return 0;
        r = split_files(s, workers, batch, startup_s);
        if (r < 0)
                return r;
        idx = new0(size_t, files->n + 1);
        load = new0(double, files->n + 1);
        fixed = new0(double, files->n + 1);
        bin = new0(size_t, files->n + 1);
        if (!idx || !load || !fixed || !bin)
                return -ENOMEM;
        for (size_t i = 0; i < files->n; i++) {
                const Job *f = &files->jobs[i];
                if (batchable(f)) {
                        idx[n] = i;
                        load[n++] = job_load(f);
                        total = total < 0 || f->hist_wall_s < 0 ? -1 : total + f->expected_s;
                } else if (!f->serial)
                        fixed[n_fixed++] = job_load(f);
        }
        if (batch == BATCH_AUTO) {
                size_t most = batch_auto_count(n, total, startup_s, workers);
                bool measured = total >= 0 && startup_s > 0;
                if (n <= most)
                        return 0;
                /* at least 2 jobs per worker once start-up is measured, 4 before */
                n_bins = sched_batch_count(load, n, fixed, n_fixed, measured ? startup_s : 0, workers,
                                           measured ? 2 * (size_t) workers : most, most);
                if (n_bins == 0)
                        return -ENOMEM;
        } else
                n_bins = batch;
        if (n <= n_bins || n_bins == 0)
                return 0; /* few enough files: one job each, the strongest isolation */
        bin_load = new0(double, n_bins);
        start = new0(size_t, n_bins + 1);
        next = new0(size_t, n_bins);
        members = new0(size_t, n);
        if (!bin_load || !start || !next || !members)
                return -ENOMEM;
        r = sched_pack(load, n, n_bins, bin, bin_load);
        if (r < 0)
                return r;
        /* each batch's files in source order: members[start[k]..start[k+1]), filled through next[] */
        for (size_t i = 0; i < n; i++)
                start[bin[i] + 1]++;
        for (size_t k = 0; k < n_bins; k++) {
                start[k + 1] += start[k];
                next[k] = start[k];
        }
        for (size_t i = 0; i < n; i++)
                members[next[bin[i]]++] = idx[i];
        for (size_t k = 0; k < n_bins && r >= 0; k++)
                if (start[k + 1] > start[k])
                        r = make_batch(s, files, members + start[k], start[k + 1] - start[k], &out);
        for (size_t i = 0; i < files->n && r >= 0; i++)
                if (!batchable(&files->jobs[i]))
                        r = move_job(files, i, &out);
        if (r < 0) {
                job_list_done(&out);
                return r;
        }
        job_list_done(files);
        *files = out;
        return 0;
}
