/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "runner-sched.h"
#include "runner-batch.h"
#include "tap.h"

static void add(JobList *l, const char *name, unsigned tests, double hist, bool failed, bool serial) {
        job_list_add(l, strdup(name), calloc(1, sizeof(char *)), tests, serial);
        l->jobs[l->n - 1].hist_wall_s = hist;
        l->jobs[l->n - 1].hist_failed = failed;
}

static const char *nth(const JobList *l, const size_t *order, size_t i) {
        return l->jobs[order[i]].name;
}

static void test_order(void) {
        JobList l = {};
        size_t order[6];

        add(&l, "short", 10, 1.0, false, false);
        add(&l, "serial", 5, 9.0, false, true);
        add(&l, "long", 10, 8.0, false, false);
        add(&l, "failed", 10, 0.5, true, false);
        add(&l, "new-big", 10, -1, false, false); /* mean 18.5 s / 35 tests * 10 = 5.3 s */
        add(&l, "new-small", 1, -1, false, false);
        sched_estimate(&l);
        sched_order(&l, order);
        is_str(nth(&l, order, 0), "failed", "failed last time goes first");
        is_str(nth(&l, order, 1), "long", "then the longest");
        is_str(nth(&l, order, 2), "new-big", "an unseen job is estimated from its test count");
        is_str(nth(&l, order, 3), "short", "...");
        is_str(nth(&l, order, 4), "new-small", "...");
        is_str(nth(&l, order, 5), "serial", "serial jobs go last");
        job_list_done(&l);

        /* Learned memory: heavy jobs first (after failed ones), then the longest. */
        add(&l, "light-long", 10, 9.0, false, false);
        add(&l, "heavy-short", 10, 2.0, false, false);
        add(&l, "failed", 10, 0.5, true, false);
        add(&l, "heavy-long", 10, 4.0, false, false);
        l.jobs[1].heavy = l.jobs[3].heavy = true;
        sched_estimate(&l);
        sched_order(&l, order);
        is_str(nth(&l, order, 0), "failed", "learned: failed last time still first");
        is_str(nth(&l, order, 1), "heavy-long", "then heavy jobs, longest first");
        is_str(nth(&l, order, 2), "heavy-short", "...");
        is_str(nth(&l, order, 3), "light-long", "light ones after them");
        job_list_done(&l);

        /* No history at all: by test count, ties in source order. */
        add(&l, "a", 3, -1, false, false);
        add(&l, "b", 7, -1, false, false);
        add(&l, "c", 3, -1, false, false);
        sched_estimate(&l);
        sched_order(&l, order);
        is_str(nth(&l, order, 0), "b", "first run: most tests first");
        is_str(nth(&l, order, 1), "a", "... ties keep the source order");
        is_str(nth(&l, order, 2), "c", "...");
        job_list_done(&l);
}

/* A suite of 300 jobs with skewed durations (a few long, many short), as real suites have. */
static void test_makespan(void) {
        enum { N = 300 };
        JobList l = {};
        double d[N];
        size_t order[N], source[N];
        unsigned seed = 12345;

        for (size_t i = 0; i < N; i++) {
                seed = seed * 1103515245u + 12345u;
                double u = (double) ((seed >> 8) % 10000) / 10000.0;
                d[i] = 0.05 + (u > 0.97 ? 20.0 * u : u * u * 2.0);
                add(&l, "job", 1, d[i], false, false);
                source[i] = i;
        }
        sched_estimate(&l);
        sched_order(&l, order);
        for (unsigned w = 2; w <= 8; w *= 2) {
                double bound = sched_lower_bound(d, N, w);
                double ours = sched_simulate(d, order, N, w);
                double naive = sched_simulate(d, source, N, w);
                char name[128];
                snprintf(name, sizeof name, "%u workers: makespan %.2f s within 1.05x of the bound %.2f s (source order: %.2f s)",
                         w, ours, bound, naive);
                ok(ours <= bound * 1.05, "%s", name);
        }
        job_list_done(&l);
}

static void test_batch_count(void) {
        is_int((int) batch_auto_count(7, 8.0, 0.5, 2), 7, "7 files on 2 workers: one job each");
        is_int((int) batch_auto_count(300, -1, 0.5, 2), 8, "300 files, first run: 4 jobs per worker");
        is_int((int) batch_auto_count(300, 60.0, -1, 2), 8, "... start-up not measured yet: the same");
        /* 5% of 60 s at 1 s per start: 3 jobs, but at least 2 per worker */
        is_int((int) batch_auto_count(300, 60.0, 1.0, 2), 4, "60 s of tests, 1 s start-up: 4 jobs");
        /* 5% of 600 s at 0.5 s: 63 jobs, at most 16 per worker */
        is_int((int) batch_auto_count(300, 600.0, 0.5, 2), 32, "600 s of tests, 0.5 s start-up: 32 jobs");
        is_int((int) batch_auto_count(300, 600.0, 2.0, 2), 15, "600 s, 2 s start-up: 15 jobs");
}

int main(void) {
        test_order();
        test_batch_count();
        test_makespan();
        return tap_done();
}
