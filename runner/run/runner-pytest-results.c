/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pytest job's results in pytest's own words. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
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

        j->tests_errors = j->tests_xfailed = j->tests_xpassed = j->tests_rerun = 0;
        j->tests_counted = json_object_object_get_ex(times, "counts", &counts) &&
                           json_object_is_type(counts, json_type_object);
        if (!j->tests_counted)
                return;
        j->tests_passed = count_of(counts, "passed");
        j->tests_failed = count_of(counts, "failed");
        j->tests_skipped = count_of(counts, "skipped");
        j->tests_errors = count_of(counts, "error");
        j->tests_xfailed = count_of(counts, "xfailed");
        j->tests_xpassed = count_of(counts, "xpassed");
        j->tests_rerun = count_of(counts, "rerun");
}

void pytest_counts_format(unsigned passed, unsigned failed, unsigned skipped, unsigned errors, unsigned xfailed,
                          unsigned xpassed, unsigned rerun, char *buf, size_t len) {
        const struct {
                unsigned n;
                const char *one, *many;
        } parts[] = { /* pytest's order */
                { failed, "failed", "failed" },    { passed, "passed", "passed" },
                { skipped, "skipped", "skipped" }, { xfailed, "xfailed", "xfailed" },
                { xpassed, "xpassed", "xpassed" }, { errors, "error", "errors" },
                { rerun, "rerun", "rerun" }, /* pytest-rerunfailures' own word, after pytest's */
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

static void forget(PytestReports *rs, size_t job) {
        size_t k = 0;

        for (size_t i = 0; i < rs->n; i++)
                if (rs->v[i].job == job)
                        free(rs->v[i].summary);
                else
                        rs->v[k++] = rs->v[i];
        rs->n = k;
}

static char kind_of(const char *category) {
        static const struct {
                const char *category;
                char kind;
        } kinds[] = { { "failed", 'f' }, { "error", 'E' },   { "skipped", 's' },
                      { "xfailed", 'x' }, { "xpassed", 'X' }, { "passed", 'p' } };

        for (size_t i = 0; category && i < ELEMENTSOF(kinds); i++)
                if (streq(category, kinds[i].category))
                        return kinds[i].kind;
        return 0;
}

/* Its short-summary lines, each escaped (one line each: a newline in them would be a line of the job's making),
 * at most SUMMARY_MAX bytes in all. */
#define SUMMARY_MAX 4096
static char *summary_of(json_object *doc) {
        json_object *lines = json_get_array(doc, "summary");
        size_t n = lines ? json_object_array_length(lines) : 0, len = 0;
        char *out = NULL;

        for (size_t i = 0; i < n && len < SUMMARY_MAX; i++) {
                json_object *l = json_object_array_get_idx(lines, i);
                _cleanup_free_ char *e = NULL;
                char *grown;
                if (!json_object_is_type(l, json_type_string))
                        continue;
                e = escape_name(json_object_get_string(l));
                if (!e || !(grown = realloc(out, len + strlen(e) + 2)))
                        return mfree(out);
                out = grown;
                len += (size_t) sprintf(out + len, "%s%s", len ? "\n" : "", e);
        }
        if (out && len > SUMMARY_MAX)
                out[SUMMARY_MAX] = '\0';
        return out;
}

int pytest_reports_read(PytestReports *rs, const Source *src, size_t job, const char *dir) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size, seq = 0;
        int r;

        forget(rs, job);
        if (asprintf(&path, "%s/" REPORTS_FILE, dir) < 0)
                return -ENOMEM;
        r = read_job_file_at(AT_FDCWD, path, JOB_FILE_MAX, &text, &size);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (char *line = text, *end; line < text + size; line = end + 1) {
                _cleanup_(json_object_putp) json_object *doc = NULL;
                const char *chars, *id;
                PytestReport *x;

                end = memchr(line, '\n', (size_t) (text + size - line));
                if (!end) /* cut short: the job was killed as it wrote it */
                        break;
                *end = '\0';
                doc = json_tokener_parse(line);
                if (!doc || !json_object_is_type(doc, json_type_object))
                        continue;
                chars = json_get_string(doc, "reportchars");
                if (chars) {
                        (void) snprintf(rs->reportchars, sizeof rs->reportchars, "%s", chars);
                        continue;
                }
                id = json_get_string(doc, "id");
                if (!id || !kind_of(json_get_string(doc, "category")))
                        continue;
                if (rs->n == rs->allocated) {
                        size_t m = MAX(rs->allocated * 2, (size_t) 16);
                        PytestReport *v = reallocarray(rs->v, m, sizeof *v);
                        if (!v)
                                return -ENOMEM;
                        rs->v = v;
                        rs->allocated = m;
                }
                x = &rs->v[rs->n];
                *x = (PytestReport) {
                        .job = job,
                        .place = source_test_place(src, id),
                        .seq = seq++,
                        .kind = kind_of(json_get_string(doc, "category")),
                        .has_text = json_get_string(doc, "text") != NULL,
                        .offset = (uint64_t) (line - text),
                        .size = (size_t) (end - line),
                        .summary = summary_of(doc),
                };
                rs->n++;
        }
        return 0;
}

static int cmp_report(const void *a, const void *b) {
        const PytestReport *x = a, *y = b;

        if (x->place != y->place)
                return x->place < y->place ? -1 : 1;
        if (x->job != y->job)
                return x->job < y->job ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void pytest_reports_sort(PytestReports *rs) {
        if (rs->n > 1)
                qsort(rs->v, rs->n, sizeof *rs->v, cmp_report);
}

size_t pytest_reports_failed(const PytestReports *rs, size_t job) {
        size_t n = 0;

        for (size_t i = 0; i < rs->n; i++)
                n += rs->v[i].job == job && (rs->v[i].kind == 'f' || rs->v[i].kind == 'E');
        return n;
}

char *pytest_report_text(const PytestReport *r, const char *dir, size_t max, bool *cut) {
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        *cut = true;
        if (r->size > max || asprintf(&path, "%s/" REPORTS_FILE, dir) < 0)
                return NULL;
        fd = open_job_file_at(AT_FDCWD, path, NULL);
        line = fd >= 0 ? malloc(r->size + 1) : NULL;
        if (!line)
                return NULL;
        n = pread(fd, line, r->size, (off_t) r->offset);
        if (n != (ssize_t) r->size)
                return NULL;
        line[n] = '\0';
        doc = json_tokener_parse(line);
        if (!doc || !json_get_string(doc, "text"))
                return NULL;
        *cut = false;
        return strdup(json_get_string(doc, "text"));
}

void pytest_reports_done(PytestReports *rs) {
        for (size_t i = 0; i < rs->n; i++)
                free(rs->v[i].summary);
        free(rs->v);
        *rs = (PytestReports) {};
}

json_object *pytest_attempt_json(const char *dir, const char *name, size_t max) {
        _cleanup_free_ char *path = NULL, *text = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0 || read_job_file_at(AT_FDCWD, path, max, &text, NULL) < 0)
                return NULL;
        return json_tokener_parse(text);
}

unsigned pytest_attempt_done(int dirfd) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        json_object *done;

        if (read_job_file_at(dirfd, PROGRESS_FILE, 64U << 10, &text, NULL) < 0 || !(doc = json_tokener_parse(text)) ||
            !json_object_object_get_ex(doc, "done", &done) || !json_object_is_type(done, json_type_int))
                return 0;
        return (unsigned) MIN(MAX(json_object_get_int64(done), (int64_t) 0), (int64_t) UINT_MAX);
}

char *pytest_attempt_current(const char *dir) {
        _cleanup_(json_object_putp) json_object *doc = pytest_attempt_json(dir, PROGRESS_FILE, JOB_FILE_MAX);
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
        _cleanup_(json_object_putp) json_object *tests = pytest_attempt_json(dir, TESTS_FILE, JOB_FILE_MAX);
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
