/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pytest job's results in pytest's own words. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "json-util.h"
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

/* One of the attempt's files, parsed; NULL if missing or refused. */
static json_object *read_attempt_json(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL, *text = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0 || read_job_file_at(AT_FDCWD, path, JOB_FILE_MAX, &text, NULL) < 0)
                return NULL;
        return json_tokener_parse(text);
}

char *pytest_attempt_current(const char *dir) {
        _cleanup_(json_object_putp) json_object *doc = read_attempt_json(dir, PROGRESS_FILE);
        const char *current = json_object_is_type(doc, json_type_object) ? json_get_string(doc, "current") : NULL;

        return current ? strdup(current) : NULL;
}

static bool result_valid(json_object *o) {
        static const char *const strings[] = { "nodeid", "classname", "name", "outcome", "message", "text" };
        json_object *t;

        if (!json_object_is_type(o, json_type_object))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (!json_get_string(o, strings[i]))
                        return false;
        return json_object_object_get_ex(o, "time", &t) &&
               (json_object_is_type(t, json_type_double) || json_object_is_type(t, json_type_int));
}

json_object *pytest_attempt_results(const char *dir) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        json_object *results;

        if (asprintf(&path, "%s/" RESULTS_FILE, dir) < 0 || read_job_file_at(AT_FDCWD, path, JOB_FILE_MAX, &text, NULL) < 0)
                return NULL;
        results = json_object_new_array();
        for (char *line = text, *nl; results && (nl = strchr(line, '\n')); line = nl + 1) {
                json_object *o;
                *nl = '\0';
                o = json_tokener_parse(line);
                if (result_valid(o))
                        json_object_array_add(results, o);
                else
                        json_object_put(o);
        }
        return results;
}

int pytest_attempt_unreached(const char *dir, char ***ret_args, char ***ret_ids) {
        _cleanup_(json_object_putp) json_object *tests = read_attempt_json(dir, TESTS_FILE);
        _cleanup_(json_object_putp) json_object *results = pytest_attempt_results(dir);
        _cleanup_(json_object_putp) json_object *done = json_object_new_object();
        _cleanup_free_ char *current = pytest_attempt_current(dir);
        _cleanup_(strv_freep) char **args = NULL, **ids = NULL;

        *ret_args = NULL;
        if (ret_ids)
                *ret_ids = NULL;
        if (!done)
                return -ENOMEM;
        if (!json_object_is_type(tests, json_type_array))
                return 0;
        for (size_t i = 0; results && i < json_object_array_length(results); i++)
                json_object_object_add(done, json_get_string(json_object_array_get_idx(results, i), "nodeid"), NULL);
        if (current)
                json_object_object_add(done, current, NULL);
        for (size_t i = 0; i < json_object_array_length(tests); i++) {
                json_object *t = json_object_array_get_idx(tests, i);
                const char *id = json_object_is_type(t, json_type_object) ? json_get_string(t, "nodeid") : NULL;
                const char *arg = id ? json_get_string(t, "arg") : NULL;

                if (!arg || arg[0] != '/' || json_object_object_get_ex(done, id, NULL))
                        continue;
                if (strv_push(&args, arg) < 0 || (ret_ids && strv_push(&ids, id) < 0))
                        return -ENOMEM;
        }
        *ret_args = TAKE_PTR(args);
        if (ret_ids)
                *ret_ids = TAKE_PTR(ids);
        return 0;
}
