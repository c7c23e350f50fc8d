/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "macro.h"
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
