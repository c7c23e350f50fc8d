/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsrun merge: the shards' reports made one, and their times kept in the history, so the next split balances
 * better. */

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"
#include "log.h"
#include "runner-history.h"
#include "runner-merge.h"
#include "runner-options.h"
#include "xml-util.h"

typedef struct MergeArgs {
        const char *json;
        const char *junit;
        const char *history;
        char **reports;
} MergeArgs;

static void merge_help(void) {
        printf("Usage: nsrun merge [--json FILE] [--junit FILE] [--history DIR] REPORT...\n"
               "\n"
               "Combine the reports of the shards of one run (nsrun --shard K/N, each with --json and/or --junit):\n"
               "REPORTs ending in .xml are JUnit reports, the others nsrun's JSON reports.\n"
               "\n"
               "  --json FILE     write one JSON report with every shard's jobs and the totals\n"
               "  --junit FILE    write one JUnit report with every shard's test suites\n"
               "  --history DIR   keep the jobs' times in DIR/history.json (the .nsrun directory the next\n"
               "                  run's shards read), so the next split balances better\n"
               "  -h, --help      show this help\n"
               "\n"
               "Exit status: 0 merged; 2 bad usage or an unreadable report.\n");
}

static bool is_xml(const char *path) {
        size_t n = strlen(path);
        return n > 4 && streq(path + n - 4, ".xml");
}

static int add_int(json_object *o, const char *key, int64_t v) {
        json_object *cur;
        int64_t old = json_object_object_get_ex(o, key, &cur) ? json_object_get_int64(cur) : 0;
        return json_object_object_add(o, key, json_object_new_int64(old + v));
}

static int64_t get_int(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* Appends one shard's jobs, totals and history records. */
static int merge_one_json(const char *path, json_object *out, json_object *docs, HistoryRecord **records, size_t *n) {
        json_object *doc = json_object_from_file(path), *jobs, *totals, *v;
        static const char *const counts[] = { "jobs", "tests_passed", "tests_failed", "tests_skipped" };

        if (!doc || !json_object_object_get_ex(doc, "jobs", &jobs) || !json_object_is_type(jobs, json_type_array))
                return json_object_put(doc), log_error("merge: %s is not an nsrun JSON report; give the files "
                                                       "written by --json (or JUnit files ending in .xml)",
                                                       path),
                       -EINVAL;
        json_object_array_add(docs, doc); /* keeps the strings the records borrow alive */
        add_int(out, "workers", get_int(doc, "workers"));
        if (json_object_object_get_ex(doc, "wall_s", &v) &&
            json_object_get_double(v) > json_object_get_double(json_object_object_get(out, "wall_s")))
                json_object_object_add(out, "wall_s", json_object_new_double(json_object_get_double(v)));
        if (json_object_object_get_ex(doc, "totals", &totals))
                for (size_t i = 0; i < ELEMENTSOF(counts); i++)
                        add_int(json_object_object_get(out, "totals"), counts[i], get_int(totals, counts[i]));
        for (size_t i = 0; i < json_object_array_length(jobs); i++) {
                json_object *j = json_object_array_get_idx(jobs, i), *secs, *status, *name, *cpu;
                HistoryRecord base;
                double wall;
                HistoryRecord *m;

                json_object_array_add(json_object_object_get(out, "jobs"), json_object_get(j));
                if (!json_object_object_get_ex(j, "status", &status) || !json_object_object_get_ex(j, "name", &name) ||
                    streq(json_object_get_string(status), "not-run") || streq(json_object_get_string(status), "pending") ||
                    streq(json_object_get_string(status), "interrupted")) /* a time cut short is not its time */
                        continue;
                wall = json_object_get_double(json_object_object_get(j, "wall_s"));
                base = (HistoryRecord) {
                        .name = json_object_get_string(name),
                        .wall_s = wall,
                        .peak_mem = (uint64_t) get_int(j, "peak_mem_bytes"),
                        /* the CPUs it kept busy, as job_cpus(): null cpu_s is not measured */
                        .cpus = json_object_object_get_ex(j, "cpu_s", &cpu) && cpu && wall >= JOB_CPUS_MIN_WALL_S
                                        ? json_object_get_double(cpu) / wall : -1,
                        .status = json_object_get_string(status),
                };
                m = reallocarray(*records, *n + (json_object_object_get_ex(j, "file_seconds", &secs)
                                                         ? (size_t) json_object_object_length(secs) : 1),
                                 sizeof **records);
                if (!m)
                        return log_oom();
                *records = m;
                if (!json_object_object_get_ex(j, "file_seconds", &secs)) {
                        (*records)[(*n)++] = base;
                        continue;
                }
                json_object_object_foreach(secs, file, s) {
                        (*records)[*n] = base;
                        (*records)[*n].name = file;
                        (*records)[(*n)++].wall_s = json_object_get_double(s);
                }
        }
        return 0;
}

static int merge_junit(const MergeArgs *a) {
        _cleanup_xml_doc_ xmlDocPtr out = NULL;
        xmlNodePtr root;
        const char *dlerr = NULL;
        unsigned tests = 0, failures = 0, errors = 0;

        if (dlopen_libxml2(&dlerr) < 0)
                return log_error_errno(EINVAL,
                                       "merge: libxml2.so.2 did not load (%s); install libxml2", dlerr ?: "not found");
        out = sym_xmlNewDoc(BAD_CAST "1.0");
        root = sym_xmlNewNode(NULL, BAD_CAST "testsuites");
        sym_xmlDocSetRootElement(out, root);
        sym_xmlNewProp(root, BAD_CAST "name", BAD_CAST "nsrun");
        for (size_t i = 0; a->reports[i]; i++) {
                _cleanup_xml_doc_ xmlDocPtr in = NULL;
                xmlNodePtr r, s;

                if (!is_xml(a->reports[i]))
                        continue;
                in = sym_xmlReadFile(a->reports[i], NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
                r = in ? sym_xmlDocGetRootElement(in) : NULL;
                if (!r)
                        return log_error_errno(EINVAL, "merge: %s is not a JUnit report", a->reports[i]);
                s = sym_xmlStrEqual(r->name, BAD_CAST "testsuites") ? r->children : r;
                for (; s; s = s == r ? NULL : s->next) {
                        if (s->type != XML_ELEMENT_NODE || !sym_xmlStrEqual(s->name, BAD_CAST "testsuite"))
                                continue;
                        tests += junit_attr_uint(s, "tests");
                        failures += junit_attr_uint(s, "failures");
                        errors += junit_attr_uint(s, "errors");
                        sym_xmlAddChild(root, sym_xmlDocCopyNode(s, out, 1));
                }
        }
        junit_set_totals(root, tests, failures, errors);
        if (sym_xmlSaveFormatFileEnc(a->junit, out, "UTF-8", 1) < 0)
                return log_error_errno(EIO, "merge: --junit %s: cannot write it", a->junit);
        return 0;
}

static int merge(const MergeArgs *a) {
        _cleanup_(json_object_putp) json_object *out = json_object_new_object(), *docs = json_object_new_array();
        _cleanup_free_ HistoryRecord *records = NULL;
        size_t n = 0, shards = 0;
        int r;

        json_object_object_add(out, "jobs", json_object_new_array());
        json_object_object_add(out, "totals", json_object_new_object());
        json_object_object_add(out, "wall_s", json_object_new_double(0));
        for (size_t i = 0; a->reports[i]; i++) {
                if (is_xml(a->reports[i]))
                        continue;
                r = merge_one_json(a->reports[i], out, docs, &records, &n);
                if (r < 0)
                        return r;
                shards++;
        }
        json_object_object_add(out, "merged_from", json_object_new_int64((int64_t) shards));
        if (a->json && json_object_to_file_ext(a->json, out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
                return log_error_errno(EIO, "merge: --json %s: cannot write it", a->json);
        if (a->junit) {
                r = merge_junit(a);
                if (r < 0)
                        return r;
        }
        if (a->history) {
                r = history_save(a->history, records, n, -1);
                if (r < 0)
                        return log_error_errno(r, "merge: cannot write %s/history.json: %m", a->history);
        }
        return 0;
}

int verb_merge(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", required_argument, NULL, 'J' },
                { "junit", required_argument, NULL, 'U' },
                { "history", required_argument, NULL, 'H' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        MergeArgs a = {};
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        merge_help();
                        return 0;
                case 'J':
                        a.json = optarg;
                        break;
                case 'U':
                        a.junit = optarg;
                        break;
                case 'H':
                        a.history = optarg;
                        break;
                case ':':
                        return log_error("merge: option '%s' needs a value; see 'nsrun merge --help'", argv[optind - 1]),
                               EXIT_USAGE;
                default:
                        return log_error("merge: unknown option '%s'; see 'nsrun merge --help'", argv[optind - 1]),
                               EXIT_USAGE;
                }
        if (optind >= argc)
                return log_error("merge: no reports given; write: nsrun merge --json OUT.json SHARD.json..."), EXIT_USAGE;
        if (!a.json && !a.junit && !a.history)
                return log_error("merge: nothing to write; give --json FILE, --junit FILE or --history DIR"), EXIT_USAGE;
        a.reports = argv + optind;
        return merge(&a) < 0 ? EXIT_USAGE : 0;
}
