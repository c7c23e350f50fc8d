/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
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

/* Batches of decreasing size: 40 equal files in 8 batches, the first about four times the last. */
static void test_pack_shape(void) {
        double load[40], bins[8];
        size_t bin[40];
        bool decreasing = true;

        for (size_t i = 0; i < 40; i++)
                load[i] = 1;
        ok(sched_pack(load, 40, 8, bin, bins) == 0, "sched_pack() packs 40 files into 8 batches");
        for (size_t k = 1; k < 8; k++)
                decreasing = decreasing && bins[k] <= bins[k - 1];
        ok(decreasing && bins[0] >= 3 * bins[7] && bins[7] > 0,
           "... of decreasing size, the last a quarter of the first (%.0f ... %.0f)", bins[0], bins[7]);
}

/* A pytest suite of files, each with its load (seconds, or <0: never run) and test count, batched and split by
 * source_batch() for w workers with a start-up of startup_s per job; returns the simulated makespan of the jobs
 * it made, dispatched in sched_order(), each paying the start-up (in tests on a first run: none). */
typedef struct FileSpec {
        double load;
        unsigned tests;
        unsigned copies;
} FileSpec;

static double run_suite(const FileSpec *spec, size_t n_spec, unsigned w, double startup_s, size_t *ret_jobs,
                        size_t *ret_tests, double *ret_bound) {
        Source s = { .pytest = true };
        double total = 0, longest = 0, ms, *d;
        size_t *order, tests = 0;
        bool first_run = true;

        strv_push(&s.pytest_options, "pytest");
        for (size_t k = 0; k < n_spec; k++)
                for (unsigned c = 0; c < spec[k].copies; c++) {
                        char *name, **argv = NULL, **ids = NULL;
                        Job *j;
                        asprintf(&name, "tests/test_%zu_%u.py", k, c);
                        strv_push(&argv, "pytest");
                        strv_push(&argv, name);
                        for (unsigned t = 0; t < spec[k].tests; t++) {
                                char *id;
                                asprintf(&id, "%s::test_%u", name, t);
                                strv_push(&ids, id);
                                free(id);
                        }
                        job_list_add(&s.jobs, strdup(name), argv, spec[k].tests, false);
                        j = &s.jobs.jobs[s.jobs.n - 1];
                        strv_push(&j->args, name);
                        j->ids = ids;
                        j->hist_wall_s = spec[k].load;
                        first_run = first_run && spec[k].load < 0;
                        /* the unit of a first run is the test; the longest indivisible item is one test */
                        total += spec[k].load >= 0 ? spec[k].load : spec[k].tests;
                        longest = MAX(longest, (spec[k].load >= 0 ? spec[k].load : spec[k].tests) / spec[k].tests);
                        free(name);
                }
        sched_estimate(&s.jobs);
        source_batch(&s, w, BATCH_AUTO, startup_s);
        d = calloc(s.jobs.n, sizeof *d);
        order = calloc(s.jobs.n, sizeof *order);
        for (size_t i = 0; i < s.jobs.n; i++) {
                d[i] = (first_run ? s.jobs.jobs[i].n_tests : s.jobs.jobs[i].expected_s) + (first_run ? 0 : startup_s);
                tests += s.jobs.jobs[i].n_tests;
        }
        sched_order(&s.jobs, order);
        ms = sched_simulate(d, order, s.jobs.n, w);
        *ret_jobs = s.jobs.n;
        *ret_tests = tests;
        *ret_bound = MAX(total / w, longest);
        free(d);
        free(order);
        job_list_done(&s.jobs);
        strv_free(s.pytest_options);
        return ms;
}

static void check_suite(const char *what, const FileSpec *spec, size_t n_spec, unsigned w, double startup_s,
                        double within) {
        size_t jobs, tests, want = 0;
        double bound, ms = run_suite(spec, n_spec, w, startup_s, &jobs, &tests, &bound);

        for (size_t k = 0; k < n_spec; k++)
                want += (size_t) spec[k].tests * spec[k].copies;
        ok(ms <= bound * within && tests == want,
           "%s, %u workers: %zu jobs, makespan %.2f within %.2fx of the bound max(total/workers, longest test) "
           "%.2f (%.3fx), every test once",
           what, w, jobs, ms, within, bound, ms / bound);
}

/* The scipy.optimize shape: five jobs of about 12 s on two workers, one worker ran three (36 s against 30).
 * The stated fractions include every job's start-up (0.5 s), which the bound leaves out. */
static void test_tail(void) {
        check_suite("5 equal files of 12 s", (FileSpec[]) { { 12, 20, 5 } }, 1, 2, 0.5, 1.08);
        check_suite("scipy-like: a 12 s file and 40 files of 1.2 s", (FileSpec[]) { { 12, 20, 1 }, { 1.2, 5, 40 } },
                    2, 2, 0.5, 1.08);
        check_suite("one file of 40 s and 30 of 1 s", (FileSpec[]) { { 40, 40, 1 }, { 1, 3, 30 } }, 2, 2, 0.5, 1.08);
        check_suite("500 tiny files", (FileSpec[]) { { 0.05, 1, 500 } }, 1, 4, 0.2, 1.15);
        check_suite("3 files of 10 s", (FileSpec[]) { { 10, 30, 3 } }, 1, 8, 0.2, 1.25);
        check_suite("first run: one file of 4 tests", (FileSpec[]) { { -1, 4, 1 } }, 1, 2, -1, 1.0);
        check_suite("first run: a file of 80 tests and two of 10", (FileSpec[]) { { -1, 80, 1 }, { -1, 10, 2 } }, 2, 2,
                    -1, 1.05);
        check_suite("first run: 3 files of 10 tests", (FileSpec[]) { { -1, 10, 3 } }, 1, 4, -1, 1.15);
}

/* ---- the dispatch policy ---- */

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

/* A pending job asking for request bytes, expected to take expected_s. */
static void pending(JobList *l, const char *name, uint64_t request, double expected_s) {
        add(l, name, 1, expected_s, false, false);
        l->jobs[l->n - 1].mem_request = request;
        l->jobs[l->n - 1].expected_s = expected_s;
}

static void test_fits(void) {
        SchedPolicy p = { .usable_bytes = 4 * GiB, .capped = true, .learned = true };
        Job a = { .mem_request = 3 * GiB, .mem_limit = 3 * GiB }, b = { .mem_request = GiB, .mem_limit = GiB },
            big = { .mem_request = 4 * GiB }, over = { .mem_request = GiB + 1 };
        SchedRunning run[2] = { { &a, 1 }, { &b, 1 } };

        ok(sched_fits(&p, NULL, 0, &big), "fits: a job asking for the whole budget fits when nothing runs");
        ok(sched_fits(&p, run, 1, &b), "fits: 3 GiB running, 1 GiB more fits a 4 GiB budget exactly");
        ok(!sched_fits(&p, run, 1, &over), "fits: ... one byte more does not");
        ok(!sched_fits(&p, run, 2, &b), "fits: 4 GiB running, nothing more fits");
        /* what a running job holds is its cap (mem_limit), not what it asked for first */
        a.mem_limit = 4 * GiB;
        ok(!sched_fits(&p, run, 1, &b), "fits: a running job counts with its cap, here its rerun's whole budget");
}

/* Learned CPU demand packs jobs as memory does: both budgets must hold. */
static void test_fits_cpus(void) {
        SchedPolicy p = { .usable_bytes = 4 * GiB, .cpus = 2, .capped = true, .learned = true };
        Job busy = { .mem_request = GiB, .mem_limit = GiB, .cpu_request = 2 },
            one = { .mem_request = GiB, .mem_limit = GiB, .cpu_request = 1 },
            fat = { .mem_request = 3 * GiB + 1, .mem_limit = 3 * GiB + 1, .cpu_request = 1 },
            unset = { .mem_request = GiB };
        SchedRunning run[2] = { { &one, 1 }, { &busy, 1 } };

        ok(sched_fits(&p, NULL, 0, &busy), "cpus: a job asking for every CPU fits when nothing runs");
        ok(sched_fits(&p, run, 1, &one), "cpus: 1 of 2 CPUs running, a 1-CPU job fits (memory too: 2 of 4 GiB)");
        ok(!sched_fits(&p, run, 1, &busy), "cpus: ... a 2-CPU job does not, though its memory would fit");
        ok(!sched_fits(&p, run + 1, 1, &one), "cpus: beside a 2-CPU job nothing fits, memory to spare or not");
        ok(!sched_fits(&p, run, 1, &fat), "cpus: a CPU free, but 1 GiB + 3 GiB and a byte is past the memory");
        ok(!sched_fits(&p, run, 2, &unset), "cpus: a request of 0 counts as 1 CPU");
        ok(sched_fits(&p, run, 1, &unset), "cpus: ... which fits beside one 1-CPU job");
        p.cpus = 0;
        ok(sched_fits(&p, run + 1, 1, &one), "cpus: no CPU budget given (0): only memory counts");
}

static void test_next(void) {
        SchedPolicy p = { .usable_bytes = 4 * GiB, .capped = true, .learned = true };
        JobList l = {};
        size_t order[4] = { 0, 1, 2, 3 }, next = 0;
        Job *running_heavy, *heavy, *quick;
        SchedRunning run[1];
        const Job *got;

        pending(&l, "running", 3 * GiB, 10);
        pending(&l, "heavy", 3 * GiB, 10);
        pending(&l, "quick", 512 * MiB, 2);
        pending(&l, "slow", 512 * MiB, 30);
        running_heavy = &l.jobs[0], heavy = &l.jobs[1], quick = &l.jobs[2]; /* the array is final now */

        is_str(sched_next(&p, &l, order, &next, NULL, 0)->name, "running", "next: nothing runs, the first in order");
        running_heavy->status = JOB_RUNNING;
        running_heavy->mem_limit = 3 * GiB;
        run[0] = (SchedRunning) { running_heavy, 4 }; /* 6 s left */
        got = sched_next(&p, &l, order, &next, run, 1);
        is_str(got ? got->name : "(none)", "quick",
               "backfill: a light job that ends before the heavy one would have room (2 s < 6 s) jumps it");
        is_int((int) next, 1, "... and the heavy one stays the head of the queue");
        quick->status = JOB_PASSED;
        got = sched_next(&p, &l, order, &next, run, 1);
        ok(!got, "backfill: a light job expected to end after the heavy one would have room (30 s > 6 s) waits");
        run[0].elapsed_s = 100; /* overran its expectation: room any moment now */
        ok(!sched_next(&p, &l, order, &next, run, 1), "backfill: ... also once the running job overran its time");
        running_heavy->expected_s = -1;
        run[0].elapsed_s = 0;
        ok(!sched_next(&p, &l, order, &next, run, 1), "backfill: none when a running job's end is unknown");
        running_heavy->status = JOB_PASSED;
        got = sched_next(&p, &l, order, &next, NULL, 0);
        is_str(got ? got->name : "(none)", "heavy", "next: the heavy one starts once the memory is free");
        is_int((int) next, 1, "... the queue's head moved past the finished job");

        heavy->serial = true;
        heavy->status = JOB_PENDING;
        run[0] = (SchedRunning) { quick, 0 };
        quick->status = JOB_RUNNING;
        quick->mem_limit = 512 * MiB;
        ok(!sched_next(&p, &l, order, &next, run, 1), "serial: waits while anything runs, nothing backfills it");
        is_str(sched_next(&p, &l, order, &next, NULL, 0)->name, "heavy", "serial: starts when nothing runs");
        ok(sched_runs_alone(heavy) && sched_alone_running((SchedRunning[]) { { heavy, 0 } }, 1),
           "serial: runs alone");
        ok(!sched_alone_running(run, 1), "a light job does not hold the machine");
        job_list_done(&l);
}

static void test_retry(void) {
        SchedPolicy p = { .usable_bytes = 4 * GiB, .capped = true, .learned = true, .retries = 2 };
        Job j = { .attempts = 1 };

        ok(sched_should_retry(&p, &j, JOB_FAILED) && sched_should_retry(&p, &j, JOB_TIMEOUT) &&
           sched_should_retry(&p, &j, JOB_OOM), "retry: failed, timed out, out of memory, with retries left");
        ok(!sched_should_retry(&p, &j, JOB_PASSED) && !sched_should_retry(&p, &j, JOB_ERROR),
           "retry: never a pass or an error (a missing command stays missing)");
        j.attempts = 3;
        ok(!sched_should_retry(&p, &j, JOB_FAILED), "retry: --retries 2 gives 3 attempts in all");
        j.oom_limit = GiB; /* one of the 3 was the rerun alone, which is not a retry */
        ok(sched_should_retry(&p, &j, JOB_FAILED), "retry: a rerun alone does not use up a retry");
        p.retries = 0;
        j = (Job) { .attempts = 1 };
        ok(!sched_should_retry(&p, &j, JOB_FAILED), "retry: none without --retries");
}

static void test_rerun_alone(void) {
        SchedPolicy p = { .usable_bytes = 20 * GiB, .capped = true, .learned = true };
        Job j = { .hist_peak = 300 * MiB, .mem_request = 364 * MiB, .mem_limit = 364 * MiB, .attempts = 1 };

        ok(sched_should_rerun_alone(&p, &j, JOB_OOM), "rerun alone: out of memory at its learned request");
        ok(!sched_should_rerun_alone(&p, &j, JOB_FAILED), "rerun alone: not for a failure");
        j.oom_limit = j.mem_limit;
        ok(!sched_should_rerun_alone(&p, &j, JOB_OOM), "rerun alone: only once");
        is_u64(sched_attempt_limit(&p, &j), 20 * GiB, "rerun alone: with the whole budget");
        j.oom_limit = 0;
        is_u64(sched_attempt_limit(&p, &j), 364 * MiB, "otherwise an attempt is capped at its request");
        j.hist_peak = 0;
        ok(!sched_should_rerun_alone(&p, &j, JOB_OOM), "rerun alone: not for a job the history never measured");
        j.hist_peak = 300 * MiB;
        p.learned = false;
        ok(!sched_should_rerun_alone(&p, &j, JOB_OOM), "rerun alone: not with fixed slots");
        p.learned = true;
        j.mem_limit = 20 * GiB;
        ok(!sched_should_rerun_alone(&p, &j, JOB_OOM), "rerun alone: not when killed at the whole budget already");
        p.capped = false;
        is_u64(sched_attempt_limit(&p, &j), 0, "--mem-cap off: no attempt is capped");
}

/* --mem-per-worker SIZE given: a hard cap per job, also for a rerun alone. */
static void test_hard_cap(void) {
        SchedPolicy p = { .usable_bytes = 20 * GiB, .job_max = 2 * GiB, .capped = true, .learned = true };
        Job j = { .hist_peak = 1200 * MiB, .mem_request = 1500 * MiB, .mem_limit = 1500 * MiB, .attempts = 1 };

        ok(sched_should_rerun_alone(&p, &j, JOB_OOM), "hard cap: killed at its learned 1.5 GiB, below 2 GiB: rerun alone");
        j.oom_limit = j.mem_limit;
        is_u64(sched_attempt_limit(&p, &j), 2 * GiB, "hard cap: ... at the 2 GiB given, not the 20 GiB budget");
        j = (Job) { .hist_peak = 2 * GiB, .mem_request = 2 * GiB, .mem_limit = 2 * GiB, .attempts = 1 };
        ok(!sched_should_rerun_alone(&p, &j, JOB_OOM), "hard cap: killed at the cap itself: out of memory, no rerun");
        p.job_max = 0;
        ok(sched_should_rerun_alone(&p, &j, JOB_OOM), "without it, the same job reruns alone with the budget");
}

/* The CPUs a job kept busy, which its next run is told: not from a job too short to measure them. */
static void test_job_cpus(void) {
        Job quick = { .cpu_s = 0.0026, .wall_s = 0.0015 }, busy = { .cpu_s = 1.9, .wall_s = 1.0 }, none = { .wall_s = 2 };

        ok(job_cpus(&quick) < 0, "job_cpus: a 1.5 ms job (1.7 CPUs by its times) is not measured");
        ok(job_cpus(&busy) > 1.89 && job_cpus(&busy) < 1.91, "job_cpus: a 1 s job that used 1.9 s of CPU kept 1.9 busy");
        ok(job_cpus(&none) < 0, "job_cpus: no CPU time, not measured");
}

int main(void) {
        test_job_cpus();
        test_fits();
        test_fits_cpus();
        test_next();
        test_retry();
        test_rerun_alone();
        test_hard_cap();
        test_order();
        test_batch_count();
        test_makespan();
        test_pack_shape();
        test_tail();
        return tap_done();
}
