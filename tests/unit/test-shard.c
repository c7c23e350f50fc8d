/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runner-sched.h"
#include "runner-shard.h"
#include "tap.h"

static void test_parse(void) {
        Shard s;
        is_int(shard_parse("1/4", &s), 0, "1/4");
        is_int(s.index, 0, "... is share 0");
        is_int(s.total, 4, "... of 4");
        is_int(shard_parse("4/4", &s), 0, "4/4");
        is_int(shard_parse("0/4", &s), -EINVAL, "0/4 is refused (1-based)");
        is_int(shard_parse("5/4", &s), -EINVAL, "5/4 is refused");
        is_int(shard_parse("2", &s), -EINVAL, "2 is refused");
        is_int(shard_parse("a/b", &s), -EINVAL, "a/b is refused");

        setenv("CI_NODE_INDEX", "3", 1);
        setenv("CI_NODE_TOTAL", "5", 1);
        const char *src = NULL;
        is_int(shard_from_environment(&s, &src), 0, "GitLab's variables");
        ok(s.index == 2 && s.total == 5 && strstr(src, "GitLab"), "... CI_NODE_INDEX is 1-based");
        unsetenv("CI_NODE_INDEX");
        setenv("CIRCLE_NODE_INDEX", "0", 1);
        setenv("CIRCLE_NODE_TOTAL", "2", 1);
        is_int(shard_from_environment(&s, &src), 0, "CircleCI's variables");
        ok(s.index == 0 && s.total == 2, "... CIRCLE_NODE_INDEX is 0-based");
        unsetenv("CIRCLE_NODE_INDEX");
        is_int(shard_from_environment(&s, &src), -ENOENT, "none set");
}

/* The case: 500 jobs with known times split 4 ways. */
static void test_balance(void) {
        enum { N = 500, K = 4 };
        JobList l = {};
        unsigned share[N], count[K] = {}, seed = 99;
        double load[K], lo = 1e9, hi = 0;
        char name[32];

        for (size_t i = 0; i < N; i++) {
                seed = seed * 1103515245u + 12345u;
                double u = (double) ((seed >> 8) % 10000) / 10000.0;
                snprintf(name, sizeof name, "tests/test_%03zu.py", i);
                job_list_add(&l, strdup(name), calloc(1, sizeof(char *)), 1, false);
                l.jobs[i].hist_wall_s = 0.05 + (u > 0.95 ? 30.0 * u : u * 2.0);
        }
        sched_estimate(&l);
        shard_assign(&l, K, share, load);
        for (size_t i = 0; i < N; i++)
                count[share[i]]++;
        ok(count[0] + count[1] + count[2] + count[3] == N, "every job is in exactly one share (%u+%u+%u+%u)", count[0],
           count[1], count[2], count[3]);
        for (int k = 0; k < K; k++) {
                lo = fmin(lo, load[k]);
                hi = fmax(hi, load[k]);
        }
        ok(hi <= lo * 1.05, "the shares' expected times are within 5%% of each other (%.1f s .. %.1f s)", lo, hi);

        /* Selecting each share in turn gives back every job once. */
        unsigned seen = 0;
        for (unsigned k = 0; k < K; k++) {
                JobList c = {};
                for (size_t i = 0; i < N; i++) {
                        job_list_add(&c, strdup(l.jobs[i].name), calloc(1, sizeof(char *)), 1, false);
                        c.jobs[i].hist_wall_s = l.jobs[i].hist_wall_s;
                }
                Shard s = { .index = k, .total = K };
                shard_select(&c, &s);
                seen += (unsigned) c.n;
                job_list_done(&c);
        }
        is_int(seen, N, "the four selections together hold every job once");
        job_list_done(&l);
}

/* Jobs without history go by a stable hash: adding a job moves no other one. */
static void test_stable(void) {
        JobList a = {}, b = {};
        unsigned sa[3], sb[4];

        const char *names[] = { "tests/test_a.py", "tests/test_b.py", "tests/test_c.py", "tests/test_new.py" };
        for (int i = 0; i < 3; i++)
                job_list_add(&a, strdup(names[i]), calloc(1, sizeof(char *)), 1, false);
        for (int i = 0; i < 4; i++)
                job_list_add(&b, strdup(names[i]), calloc(1, sizeof(char *)), 1, false);
        shard_assign(&a, 3, sa, NULL);
        shard_assign(&b, 3, sb, NULL);
        ok(sa[0] == sb[0] && sa[1] == sb[1] && sa[2] == sb[2], "adding a test file moves no other file's share");
        job_list_done(&a);
        job_list_done(&b);
}

/* A job list never holds a job without a name or a command: what a failed strdup() hands it is refused. */
static void test_add_null(void) {
        JobList l = {};

        is_int(job_list_add(&l, NULL, calloc(1, sizeof(char *)), 1, false), -ENOMEM, "a NULL name is refused");
        is_int(job_list_add(&l, strdup("a"), NULL, 1, false), -ENOMEM, "a NULL command is refused");
        is_int((int) l.n, 0, "... and neither is added");
        is_int(job_list_add(&l, strdup("a"), calloc(1, sizeof(char *)), 1, false), 0, "a whole job is added");
        is_int((int) l.n, 1, "... once");
        job_list_done(&l);
}

int main(void) {
        test_add_null();
        test_parse();
        test_balance();
        test_stable();
        return tap_done();
}
