/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "runner-plan.h"
#include "runner-sched.h"

void sched_estimate(JobList *l) {
        double seconds = 0;
        unsigned tests = 0;

        for (size_t i = 0; i < l->n; i++)
                if (l->jobs[i].hist_wall_s >= 0 && l->jobs[i].n_tests > 0) {
                        seconds += l->jobs[i].hist_wall_s;
                        tests += l->jobs[i].n_tests;
                }
        for (size_t i = 0; i < l->n; i++) {
                Job *j = &l->jobs[i];
                if (j->hist_wall_s >= 0)
                        j->expected_s = j->hist_wall_s;
                else if (tests > 0)
                        j->expected_s = seconds / tests * MAX(j->n_tests, 1u);
                else
                        j->expected_s = -1; /* no history at all: order by test count */
        }
}

static const JobList *sort_list;

static int cmp_jobs(const void *a, const void *b) {
        size_t ia = *(const size_t *) a, ib = *(const size_t *) b;
        const Job *x = &sort_list->jobs[ia], *y = &sort_list->jobs[ib];

        if (x->serial != y->serial)
                return x->serial ? 1 : -1;
        if (x->hist_failed != y->hist_failed)
                return x->hist_failed ? -1 : 1;
        if (x->heavy != y->heavy)
                return x->heavy ? -1 : 1;
        if (x->expected_s >= 0 || y->expected_s >= 0) {
                if (x->expected_s != y->expected_s)
                        return x->expected_s > y->expected_s ? -1 : 1;
        } else if (x->n_tests != y->n_tests)
                return x->n_tests > y->n_tests ? -1 : 1;
        return ia < ib ? -1 : ia > ib;
}

void sched_order(const JobList *l, size_t *order) {
        for (size_t i = 0; i < l->n; i++)
                order[i] = i;
        sort_list = l;
        qsort(order, l->n, sizeof *order, cmp_jobs);
        sort_list = NULL;
}

double sched_simulate(const double *durations, const size_t *order, size_t n, unsigned w) {
        double *free_at = calloc(MAX(w, 1u), sizeof(double)), end = 0;

        if (!free_at)
                return -1;
        for (size_t i = 0; i < n; i++) {
                unsigned k = 0;
                for (unsigned x = 1; x < w; x++)
                        if (free_at[x] < free_at[k])
                                k = x;
                free_at[k] += durations[order[i]];
                end = MAX(end, free_at[k]);
        }
        free(free_at);
        return end;
}

double sched_lower_bound(const double *durations, size_t n, unsigned w) {
        double sum = 0, longest = 0;

        for (size_t i = 0; i < n; i++) {
                sum += durations[i];
                longest = MAX(longest, durations[i]);
        }
        return MAX(sum / MAX(w, 1u), longest);
}

static int cmp_double_desc(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x > y ? -1 : x < y;
}

double sched_jobs_makespan(const double *load, size_t n, double startup, unsigned w) {
        _cleanup_free_ double *d = new0(double, n + 1);
        _cleanup_free_ size_t *order = new0(size_t, n + 1);

        if (!d || !order)
                return -1;
        for (size_t i = 0; i < n; i++) {
                d[i] = load[i] + startup;
                order[i] = i;
        }
        qsort(d, n, sizeof *d, cmp_double_desc);
        return sched_simulate(d, order, n, w);
}

static const double *sort_loads;

static int cmp_items(const void *a, const void *b) {
        size_t ia = *(const size_t *) a, ib = *(const size_t *) b;

        if (sort_loads[ia] != sort_loads[ib])
                return sort_loads[ia] > sort_loads[ib] ? -1 : 1;
        return ia < ib ? -1 : ia > ib;
}

int sched_pack(const double *load, size_t n, size_t n_bins, size_t *ret_bin, double *ret_load) {
        _cleanup_free_ size_t *idx = new0(size_t, n + 1);
        _cleanup_free_ double *target = new0(double, n_bins + 1);
        double total = 0, weights = 0;

        if (n_bins == 0)
                return -EINVAL;
        if (!idx || !target)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                idx[i] = i;
                total += load[i];
        }
        for (size_t k = 0; k < n_bins; k++) {
                target[k] = n_bins == 1 ? 1 : 1 - (1 - SCHED_PACK_LAST) * (double) k / (double) (n_bins - 1);
                weights += target[k];
                ret_load[k] = 0;
        }
        for (size_t k = 0; k < n_bins; k++)
                target[k] *= total / weights;
        sort_loads = load;
        qsort(idx, n, sizeof *idx, cmp_items);
        sort_loads = NULL;
        for (size_t i = 0; i < n; i++) {
                size_t b = 0;
                for (size_t k = 1; k < n_bins; k++)
                        if (target[k] - ret_load[k] > target[b] - ret_load[b])
                                b = k;
                ret_bin[idx[i]] = b;
                ret_load[b] += load[idx[i]];
        }
        return 0;
}

/* A near-tie (within half a percent) goes to the option tried first: fewer jobs. */
#define SCHED_BETTER(a, best) ((a) < (best) * 0.995)

size_t sched_batch_count(const double *load, size_t n, const double *fixed, size_t n_fixed, double startup,
                         unsigned w, size_t min_jobs, size_t max_batches) {
        _cleanup_free_ size_t *bin = new0(size_t, n + 1), *used = new0(size_t, max_batches + 1);
        _cleanup_free_ double *jobs = new0(double, max_batches + n_fixed + 1);
        size_t best = max_batches;
        double best_ms = -1;

        w = MAX(w, 1u);
        if (!bin || !used || !jobs)
                return 0;
        for (size_t nb = 1; nb <= max_batches; nb++) {
                size_t m = 0;
                double ms;

                if (nb != max_batches && (nb + n_fixed < min_jobs || (nb + n_fixed) % w != 0))
                        continue;
                if (sched_pack(load, n, nb, bin, jobs) < 0)
                        return 0;
                memset(used, 0, nb * sizeof *used);
                for (size_t i = 0; i < n; i++)
                        used[bin[i]]++;
                for (size_t k = 0; k < nb; k++)
                        if (used[k] > 0)
                                jobs[m++] = jobs[k];
                memcpy(jobs + m, fixed, n_fixed * sizeof *fixed);
                ms = sched_jobs_makespan(jobs, m + n_fixed, startup, w);
                if (ms < 0)
                        return 0;
                if (best_ms < 0 || SCHED_BETTER(ms, best_ms)) {
                        best = nb;
                        best_ms = ms;
                }
        }
        return best;
}

/* Parts are cut by test count, as runner-batch.c cuts them: part k of p of an item of n tests holds
 * n(k+1)/p - nk/p of them, each test taking load/n. */
static double split_makespan(const double *load, const unsigned *max_parts, const unsigned *parts, size_t n,
                             const double *fixed, size_t n_fixed, double startup, unsigned w, double *jobs) {
        size_t m = 0;

        for (size_t i = 0; i < n; i++)
                for (unsigned k = 0; k < parts[i]; k++) {
                        uint64_t t = max_parts[i], p = parts[i];
                        jobs[m++] = load[i] * (double) (t * (k + 1) / p - t * k / p) / (double) t;
                }
        memcpy(jobs + m, fixed, n_fixed * sizeof *fixed);
        return sched_jobs_makespan(jobs, m + n_fixed, startup, w);
}

int sched_split(const double *load, const unsigned *max_parts, size_t n, const double *fixed, size_t n_fixed,
                double startup, unsigned w, size_t max_jobs, double min_gain, unsigned *ret_parts) {
        _cleanup_free_ unsigned *parts = new0(unsigned, n + 1);
        _cleanup_free_ double *jobs = new0(double, MAX(max_jobs, n + n_fixed) + 1);
        double base, best;

        if (!parts || !jobs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                parts[i] = ret_parts[i] = 1;
        base = best = split_makespan(load, max_parts, parts, n, fixed, n_fixed, startup, w, jobs);
        for (size_t m = n + n_fixed; m < max_jobs && base >= 0; m++) {
                size_t longest = n;
                double ms;

                for (size_t i = 0; i < n; i++)
                        if (parts[i] < max_parts[i] &&
                            (longest == n || load[i] / parts[i] > load[longest] / parts[longest]))
                                longest = i;
                if (longest == n)
                        break;
                parts[longest]++;
                ms = split_makespan(load, max_parts, parts, n, fixed, n_fixed, startup, w, jobs);
                if (ms < 0)
                        return -ENOMEM;
                if (SCHED_BETTER(ms, best)) {
                        best = ms;
                        memcpy(ret_parts, parts, n * sizeof *parts);
                }
        }
        if (base < 0)
                return -ENOMEM;
        if (!(best <= base * 0.9 && base - best >= min_gain))
                for (size_t i = 0; i < n; i++)
                        ret_parts[i] = 1;
        return 0;
}

/* ---- the dispatch policy ---- */

static uint64_t rerun_alone_limit(const SchedPolicy *p) {
        return plan_alone_limit(p->usable_bytes, p->job_max);
}

uint64_t sched_attempt_limit(const SchedPolicy *p, const Job *j) {
        if (!p->capped)
                return 0;
        return j->oom_limit > 0 ? rerun_alone_limit(p) : j->mem_request;
}

bool sched_fits(const SchedPolicy *p, const SchedRunning *running, size_t n_running, const Job *j) {
        uint64_t admitted = 0;
        unsigned cpus = MAX(j->cpu_request, 1u);

        for (size_t i = 0; i < n_running; i++) {
                admitted += running[i].job->mem_limit;
                cpus += MAX(running[i].job->cpu_request, 1u);
        }
        return n_running == 0 || (admitted + j->mem_request <= p->usable_bytes && (p->cpus == 0 || cpus <= p->cpus));
}

double sched_soonest_end(const SchedRunning *running, size_t n_running) {
        double soonest = -1;

        for (size_t i = 0; i < n_running; i++) {
                double left;
                if (running[i].job->expected_s < 0)
                        return -1;
                left = MAX(running[i].job->expected_s - running[i].elapsed_s, 0.0);
                soonest = soonest < 0 ? left : MIN(soonest, left);
        }
        return soonest;
}

bool sched_runs_alone(const Job *j) {
        return j->serial || j->oom_limit > 0;
}

bool sched_alone_running(const SchedRunning *running, size_t n_running) {
        for (size_t i = 0; i < n_running; i++)
                if (sched_runs_alone(running[i].job))
                        return true;
        return false;
}

Job *sched_next(const SchedPolicy *p, const JobList *l, const size_t *order, size_t *next,
                const SchedRunning *running, size_t n_running) {
        Job *head;
        double room_in;

        while (*next < l->n && l->jobs[order[*next]].status != JOB_PENDING)
                (*next)++;
        if (*next >= l->n)
                return NULL;
        head = &l->jobs[order[*next]];
        if (head->serial)
                return n_running == 0 ? head : NULL;
        if (sched_fits(p, running, n_running, head))
                return head;
        room_in = sched_soonest_end(running, n_running);
        if (room_in < 0)
                return NULL;
        for (size_t i = *next + 1; i < l->n; i++) {
                Job *j = &l->jobs[order[i]];
                if (j->status == JOB_PENDING && !j->serial && j->expected_s >= 0 && j->expected_s <= room_in &&
                    sched_fits(p, running, n_running, j))
                        return j;
        }
        return NULL;
}

bool sched_should_rerun_alone(const SchedPolicy *p, const Job *j, JobStatus st) {
        return st == JOB_OOM && p->capped && p->learned && j->hist_peak > 0 && j->oom_limit == 0 &&
               j->mem_limit < rerun_alone_limit(p);
}

bool sched_should_retry(const SchedPolicy *p, const Job *j, JobStatus st) {
        return j->attempts - (j->oom_limit > 0) <= p->retries &&
               (st == JOB_FAILED || st == JOB_TIMEOUT || st == JOB_OOM);
}
