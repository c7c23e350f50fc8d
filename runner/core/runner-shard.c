/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "macro.h"
#include "parse-util.h"
#include "runner-shard.h"

int shard_parse(const char *s, Shard *ret) {
        _cleanup_free_ char *k = NULL;
        const char *slash = s ? strchr(s, '/') : NULL;
        unsigned index, total;

        if (!slash)
                return -EINVAL;
        k = strndup(s, (size_t) (slash - s));
        if (!k)
                return -ENOMEM;
        if (parse_unsigned(slash + 1, 1, 10000, &total) < 0 || parse_unsigned(k, 1, total, &index) < 0)
                return -EINVAL;
        *ret = (Shard) { .index = index - 1, .total = total };
        return 0;
}

int shard_from_environment(Shard *ret, const char **ret_source) {
        static const struct {
                const char *index, *total, *name;
                unsigned base;
        } ci[] = {
                { "CI_NODE_INDEX", "CI_NODE_TOTAL", "GitLab CI_NODE_INDEX/CI_NODE_TOTAL", 1 },
                { "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", "CircleCI CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL", 0 },
                { "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT",
                  "Buildkite BUILDKITE_PARALLEL_JOB/BUILDKITE_PARALLEL_JOB_COUNT", 0 },
                { "JOB_COMPLETION_INDEX", "NSRUN_SHARD_TOTAL", "Kubernetes JOB_COMPLETION_INDEX/NSRUN_SHARD_TOTAL", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(ci); i++) {
                const char *a = getenv(ci[i].index), *b = getenv(ci[i].total);
                unsigned index, total;

                if (!a || !*a)
                        continue;
                if (!b || parse_unsigned(b, 1, 10000, &total) < 0 ||
                    parse_unsigned(a, ci[i].base, total - 1 + ci[i].base, &index) < 0)
                        return -EINVAL;
                *ret = (Shard) { .index = index - ci[i].base, .total = total };
                if (ret_source)
                        *ret_source = ci[i].name;
                return 0;
        }
        return -ENOENT;
}

static int cmp_known(const void *a, const void *b, void *userdata) {
        const JobList *l = userdata;
        const Job *x = &l->jobs[*(const size_t *) a], *y = &l->jobs[*(const size_t *) b];

        if (x->hist_wall_s != y->hist_wall_s)
                return x->hist_wall_s > y->hist_wall_s ? -1 : 1;
        return strcmp(x->name, y->name);
}

void shard_assign(const JobList *l, unsigned total, unsigned *share, double *load) {
        _cleanup_free_ size_t *known = new0(size_t, l->n + 1);
        _cleanup_free_ double *w = new0(double, total);
        size_t n = 0;

        for (size_t i = 0; i < l->n; i++) {
                if (l->jobs[i].hist_wall_s >= 0 && known)
                        known[n++] = i;
                else
                        share[i] = (unsigned) (fnv1a64(l->jobs[i].name) % total);
        }
        qsort_r(known, n, sizeof *known, cmp_known, (void *) l);
        for (size_t i = 0; w && i < n; i++) {
                unsigned k = 0;
                for (unsigned x = 1; x < total; x++)
                        if (w[x] < w[k])
                                k = x;
                share[known[i]] = k;
                w[k] += l->jobs[known[i]].hist_wall_s;
        }
        if (load)
                for (unsigned k = 0; k < total; k++) {
                        load[k] = 0;
                        for (size_t i = 0; i < l->n; i++)
                                if (share[i] == k)
                                        load[k] += l->jobs[i].expected_s > 0 ? l->jobs[i].expected_s : 0;
                }
}

int shard_select(JobList *l, const Shard *s) {
        _cleanup_free_ unsigned *share = new0(unsigned, l->n + 1);
        size_t kept = 0;

        if (!share)
                return -ENOMEM;
        shard_assign(l, s->total, share, NULL);
        for (size_t i = 0; i < l->n; i++) {
                if (share[i] == s->index)
                        l->jobs[kept++] = l->jobs[i];
                else
                        job_done(&l->jobs[i]);
        }
        l->n = kept;
        return 0;
}
