/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the merged JUnit report (--junit, pytest's own --junitxml) says of a pytest job beyond its last attempt's
 * report, as the tools that read JUnit (Jenkins, GitLab) expect it:
 *   - a job retried with --retries: each test that failed in an earlier attempt gets, as Maven Surefire, nextest
 *     and pytest-rerunfailures' consumers know them, a flakyFailure/flakyError child when it passed in the end,
 *     a rerunFailure/rerunError child when it failed again; each with that attempt's message, traceback and
 *     captured output;
 *   - a job killed in the middle of its tests (a timeout, an out-of-memory kill, a crash): one testcase for each
 *     test it finished, as nsrun's plugin recorded it (results.jsonl), the test it was running as an error with
 *     the reason, and the tests it had not reached as the new attempt that ran them reported them, or skipped as
 *     not run if that one died too.
 * Everything here was written by a job: read as every job file is, and escaped before it goes into the XML. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "json-util.h"
#include "macro.h"
#include "runner-pytest-junit.h"
#include "runner-pytest-results.h"

typedef struct Totals {
        unsigned tests, failures, errors, skipped;
        double time;
} Totals;

/* An attribute's value, in place; NULL if absent. */
static const char *attr(xmlNodePtr n, const char *name) {
        xmlAttrPtr a = sym_xmlHasProp(n, BAD_CAST name);

        return a && a->children ? (const char *) a->children->content : NULL;
}

static xmlNodePtr child(xmlNodePtr n, const char *name) {
        for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && sym_xmlStrEqual(c->name, BAD_CAST name))
                        return c;
        return NULL;
}

/* A job's text, for XML: printable and valid UTF-8 (escape_name()), line by line so that a traceback keeps its
 * lines. */
static char *escape_text(const char *s) {
        size_t n = 0, len = 0;
        char *out = NULL;

        for (const char *p = s; p; n++, p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                ;
        out = malloc(strlen(s) * 4 + n + 1);
        if (!out)
                return NULL;
        for (const char *p = s; p;) {
                const char *nl = strchr(p, '\n');
                _cleanup_free_ char *line = strndup(p, nl ? (size_t) (nl - p) : strlen(p));
                _cleanup_free_ char *esc = line ? escape_name(line) : NULL;
                if (!esc)
                        return mfree(out);
                memcpy(out + len, esc, strlen(esc));
                len += strlen(esc);
                if (nl)
                        out[len++] = '\n';
                p = nl ? nl + 1 : NULL;
        }
        out[len] = '\0';
        return out;
}

static void set_escaped(xmlNodePtr n, const char *name, const char *value) {
        _cleanup_free_ char *v = escape_name(value ?: "");

        sym_xmlNewProp(n, BAD_CAST name, BAD_CAST(v ?: ""));
}

/* A child element with text content, escaped (xmlNewTextChild() escapes '<' and '&' for XML). */
static xmlNodePtr add_text_child(xmlNodePtr parent, const char *name, const char *text) {
        _cleanup_free_ char *t = text && *text ? escape_text(text) : NULL;

        return sym_xmlNewTextChild(parent, NULL, BAD_CAST name, t ? BAD_CAST t : NULL);
}

/* ---- tests that failed in an earlier attempt ---- */

static bool same(const char *a, const char *b) {
        return a && b ? streq(a, b) : a == b;
}

static xmlNodePtr find_case(xmlNodePtr suite, const char *classname, const char *name) {
        for (xmlNodePtr c = suite->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && sym_xmlStrEqual(c->name, BAD_CAST "testcase") &&
                    same(attr(c, "classname"), classname) && same(attr(c, "name"), name))
                        return c;
        return NULL;
}

/* One earlier failure (its <failure> or <error>, bad, in the testcase earlier) on the final testcase. */
static void add_rerun(xmlDocPtr out, xmlNodePtr final, xmlNodePtr earlier, xmlNodePtr bad) {
        bool error = sym_xmlStrEqual(bad->name, BAD_CAST "error");
        bool failed_again = child(final, "failure") || child(final, "error");
        const char *kind = failed_again ? (error ? "rerunError" : "rerunFailure") : (error ? "flakyError" : "flakyFailure");
        xmlNodePtr e = sym_xmlNewChild(final, NULL, BAD_CAST kind, NULL), trace;
        const char *msg = attr(bad, "message");

        if (msg)
                sym_xmlNewProp(e, BAD_CAST "message", BAD_CAST msg);
        sym_xmlNewProp(e, BAD_CAST "type", BAD_CAST(attr(bad, "type") ?: (error ? "error" : "failure")));
        trace = sym_xmlNewChild(e, NULL, BAD_CAST "stackTrace", NULL);
        for (xmlNodePtr c = bad->children; c; c = c->next)
                sym_xmlAddChild(trace, sym_xmlDocCopyNode(c, out, 1));
        for (const char *const *o = (const char *const[]) { "system-out", "system-err", NULL }; *o; o++)
                if (child(earlier, *o))
                        sym_xmlAddChild(e, sym_xmlDocCopyNode(child(earlier, *o), out, 1));
}

void pytest_junit_mark_reruns(const RunContext *rc, const Job *j, xmlDocPtr out, xmlNodePtr suite) {
        size_t index = (size_t) (j - rc->src.jobs.jobs);

        if (j->rest.attempt) /* its attempts are one run of its tests, split */
                return;
        for (unsigned a = 1; a < j->attempts; a++) {
                _cleanup_xml_doc_ xmlDocPtr in = NULL;
                _cleanup_free_ char *path = NULL;
                xmlNodePtr s;

                if (asprintf(&path, "%s/" JOB_DIR_FORMAT "/junit.xml", rc->run_dir, index, a) < 0 ||
                    junit_read_job_xml(path, &in) < 0 || !(s = junit_first_suite(in)))
                        continue; /* killed before pytest wrote it */
                for (xmlNodePtr c = s->children; c; c = c->next) {
                        xmlNodePtr bad, final;
                        if (c->type != XML_ELEMENT_NODE || !sym_xmlStrEqual(c->name, BAD_CAST "testcase"))
                                continue;
                        bad = child(c, "failure") ?: child(c, "error");
                        final = bad ? find_case(suite, attr(c, "classname"), attr(c, "name")) : NULL;
                        if (final && !child(final, "skipped"))
                                add_rerun(out, final, c, bad);
                }
        }
}

/* ---- a job killed in the middle of its tests ---- */

/* The JUnit names pytest's junitxml gives a node id: "tests/test_a.py::TestX::test_y[1]" is classname
 * "tests.test_a.TestX", name "test_y[1]". */
static int junit_names(const char *nodeid, char **ret_classname, char **ret_name) {
        size_t head = strcspn(nodeid, "[");
        _cleanup_free_ char *path = strndup(nodeid, head);
        char *last, *sep;

        if (!path)
                return -ENOMEM;
        for (last = path; (sep = strstr(last, "::")); last = sep + 2)
                ;
        if (last == path) { /* a file */
                *ret_classname = strdup("");
                *ret_name = strdup(nodeid);
        } else {
                last[-2] = '\0';
                sep = strstr(path, "::");
                if (sep)
                        *sep = '\0';
                for (char *p = path; *p; p++)
                        if (*p == '/')
                                *p = '.';
                if (strlen(path) > 3 && streq(path + strlen(path) - 3, ".py"))
                        path[strlen(path) - 3] = '\0';
                if (asprintf(ret_name, "%s%s", last, nodeid + head) < 0)
                        *ret_name = NULL;
                if (asprintf(ret_classname, "%s%s%s", path, sep ? "." : "", sep ? sep + 2 : "") < 0)
                        *ret_classname = NULL;
                if (sep) /* "TestX::Inner" -> "TestX.Inner" */
                        for (char *p = *ret_classname ? strstr(*ret_classname, "::") : NULL; p; p = strstr(p, "::")) {
                                *p = '.';
                                memmove(p + 1, p + 2, strlen(p + 2) + 1);
                        }
        }
        return *ret_classname && *ret_name ? 0 : -ENOMEM;
}

/* A testcase: kind is "passed", "failure", "error" or "skipped". */
static void add_case(xmlNodePtr suite, Totals *t, const char *classname, const char *name, double time,
                     const char *kind, const char *message, const char *text) {
        xmlNodePtr c = sym_xmlNewChild(suite, NULL, BAD_CAST "testcase", NULL), e;
        char num[32];

        set_escaped(c, "classname", classname);
        set_escaped(c, "name", name);
        (void) snprintf(num, sizeof num, "%.3f", time);
        sym_xmlNewProp(c, BAD_CAST "time", BAD_CAST num);
        t->tests++;
        t->time += time;
        if (streq(kind, "passed"))
                return;
        t->failures += streq(kind, "failure");
        t->errors += streq(kind, "error");
        t->skipped += streq(kind, "skipped");
        _cleanup_free_ char *msg = escape_text(message ?: "");
        e = add_text_child(c, kind, text);
        sym_xmlNewProp(e, BAD_CAST "message", BAD_CAST(msg ?: ""));
}

static void add_node_case(xmlNodePtr suite, Totals *t, const char *nodeid, const char *kind, const char *message) {
        _cleanup_free_ char *classname = NULL, *name = NULL;

        if (junit_names(nodeid, &classname, &name) >= 0)
                add_case(suite, t, classname, name, 0, kind, message, NULL);
}

/* The tests an attempt finished, as the plugin recorded them; their node ids into done. */
static void add_results(xmlNodePtr suite, Totals *t, const char *dir, json_object *done) {
        _cleanup_(json_object_putp) json_object *results = pytest_attempt_results(dir);

        for (size_t i = 0; results && i < json_object_array_length(results); i++) {
                json_object *r = json_object_array_get_idx(results, i), *time;
                const char *kind = json_get_string(r, "outcome");

                if (!streq(kind, "passed") && !streq(kind, "failure") && !streq(kind, "error") && !streq(kind, "skipped"))
                        continue;
                (void) json_object_object_get_ex(r, "time", &time);
                add_case(suite, t, json_get_string(r, "classname"), json_get_string(r, "name"),
                         json_object_get_double(time), kind, json_get_string(r, "message"), json_get_string(r, "text"));
                json_object_object_add(done, json_get_string(r, "nodeid"), NULL);
        }
}

/* The test an attempt was running when it was killed: an error, with the reason. */
static void add_culprit(xmlNodePtr suite, Totals *t, const char *dir, json_object *done, const char *reason) {
        _cleanup_free_ char *current = pytest_attempt_current(dir);

        if (!current || json_object_object_get_ex(done, current, NULL))
                return;
        add_node_case(suite, t, current, "error", reason);
        json_object_object_add(done, current, NULL);
}

static char *attempt_dir(const RunContext *rc, const Job *j, unsigned attempt) {
        char *dir = NULL;

        return asprintf(&dir, "%s/" JOB_DIR_FORMAT, rc->run_dir, (size_t) (j - rc->src.jobs.jobs), attempt) < 0 ? NULL
                                                                                                                  : dir;
}

/* The new attempt's own report, when it ended on its own: its testcases, as pytest wrote them. */
static bool copy_rest_report(xmlDocPtr out, xmlNodePtr suite, Totals *t, const char *dir) {
        _cleanup_xml_doc_ xmlDocPtr in = NULL;
        _cleanup_free_ char *path = NULL;
        xmlNodePtr s;

        if (asprintf(&path, "%s/junit.xml", dir) < 0 || junit_read_job_xml(path, &in) < 0 || !(s = junit_first_suite(in)))
                return false;
        for (xmlNodePtr c = s->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && sym_xmlStrEqual(c->name, BAD_CAST "testcase"))
                        sym_xmlAddChild(suite, sym_xmlDocCopyNode(c, out, 1));
        t->tests += junit_attr_uint(s, "tests");
        t->failures += junit_attr_uint(s, "failures");
        t->errors += junit_attr_uint(s, "errors");
        t->skipped += junit_attr_uint(s, "skipped");
        return true;
}

xmlNodePtr pytest_junit_killed_suite(const RunContext *rc, const Job *j, xmlDocPtr out, const char *reason) {
        unsigned killed = j->rest.attempt ? j->rest.attempt - 1 : j->attempts;
        _cleanup_free_ char *kdir = attempt_dir(rc, j, killed), *rdir = NULL;
        _cleanup_(json_object_putp) json_object *done = json_object_new_object();
        xmlNodePtr suite;
        Totals t = {};
        char num[32];

        if (!kdir || !done)
                return NULL;
        suite = sym_xmlNewNode(NULL, BAD_CAST "testsuite");
        set_escaped(suite, "name", j->name);
        add_results(suite, &t, kdir, done);
        add_culprit(suite, &t, kdir, done, reason);
        if (t.tests == 0) { /* nothing recorded: nsrun's one testcase says why */
                sym_xmlFreeNode(suite);
                return NULL;
        }
        if (j->rest.attempt && (rdir = attempt_dir(rc, j, j->rest.attempt))) {
                _cleanup_(strv_freep) char **unreached = NULL, **args = NULL;
                bool killed_too = j->rest.status == JOB_TIMEOUT || j->rest.status == JOB_OOM || j->rest.killed_in;
                char why[512], not_run[600], how[64];

                if (killed_too || !copy_rest_report(out, suite, &t, rdir)) {
                        if (j->rest.status == JOB_TIMEOUT)
                                (void) snprintf(how, sizeof how, "killed, timeout");
                        else if (j->rest.status == JOB_OOM)
                                (void) snprintf(how, sizeof how, "killed, out of memory");
                        else if (j->rest.signal)
                                (void) snprintf(how, sizeof how, "crashed: signal %d (SIG%s)", j->rest.signal,
                                                sigabbrev_np(j->rest.signal) ?: "?");
                        else
                                (void) snprintf(how, sizeof how, "%s", job_status_to_string(j->rest.status));
                        (void) snprintf(why, sizeof why, "the new job running the tests %s had not reached ended too: %s",
                                        j->name, how);
                        add_results(suite, &t, rdir, done);
                        add_culprit(suite, &t, rdir, done, why);
                        (void) snprintf(not_run, sizeof not_run, "not run: %s", why + 4);
                        (void) pytest_attempt_unreached(kdir, &args, &unreached);
                        for (size_t i = 0; unreached && unreached[i]; i++)
                                if (!json_object_object_get_ex(done, unreached[i], NULL))
                                        add_node_case(suite, &t, unreached[i], "skipped", not_run);
                }
        }
        junit_set_totals(suite, t.tests, t.failures, t.errors);
        (void) snprintf(num, sizeof num, "%u", t.skipped);
        sym_xmlNewProp(suite, BAD_CAST "skipped", BAD_CAST num);
        (void) snprintf(num, sizeof num, "%.3f", t.time);
        sym_xmlNewProp(suite, BAD_CAST "time", BAD_CAST num);
        return suite;
}
