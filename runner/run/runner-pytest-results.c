/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pytest job's results in pytest's own words. */

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "runner-pytest-results.h"

/* A count as the plugin wrote it: written by a job, so anything; a non-negative integer or 0. */
static unsigned count_of(json_object *counts, const char *word) {
        json_object *v;
        int64_t n;

        if (!json_object_object_get_ex(counts, word, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        n = json_object_get_int64(v);
        return n < 0 ? 0 : n > UINT_MAX ? UINT_MAX : (unsigned) n;
}

void pytest_counts_from_times(Job *j, json_object *times) {
        json_object *counts;

        j->tests_errors = j->tests_xfailed = j->tests_xpassed = 0;
        if (!json_object_object_get_ex(times, "counts", &counts) || !json_object_is_type(counts, json_type_object))
                return;
        j->tests_passed = count_of(counts, "passed");
        j->tests_failed = count_of(counts, "failed");
        j->tests_skipped = count_of(counts, "skipped");
        j->tests_errors = count_of(counts, "error");
        j->tests_xfailed = count_of(counts, "xfailed");
        j->tests_xpassed = count_of(counts, "xpassed");
}

void pytest_counts_format(unsigned passed, unsigned failed, unsigned skipped, unsigned errors, unsigned xfailed,
                          unsigned xpassed, char *buf, size_t len) {
        const struct {
                unsigned n;
                const char *one, *many;
        } parts[] = { /* pytest's order */
                { failed, "failed", "failed" },    { passed, "passed", "passed" },
                { skipped, "skipped", "skipped" }, { xfailed, "xfailed", "xfailed" },
                { xpassed, "xpassed", "xpassed" }, { errors, "error", "errors" },
        };
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                int w;
                if (parts[i].n == 0 || off >= len)
                        continue;
                w = snprintf(buf + off, len - off, "%s%u %s", off ? ", " : "", parts[i].n,
                             parts[i].n == 1 ? parts[i].one : parts[i].many);
                off += w > 0 ? (size_t) w : 0;
        }
        if (off == 0)
                (void) snprintf(buf, len, "no tests ran");
}
