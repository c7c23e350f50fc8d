/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The collection report of nsrun's pytest plugin (.nsrun/runs/ID/collect.json) turned into jobs:
 * pytest_jobs_from_collection() and path_relative_to(). The report is written inside the sandbox by pytest and
 * the project's conftest.py, so it can hold anything; nsrun must refuse it cleanly, never crash on it.
 *
 * The first byte of the input picks the pytest command line and --dist; the rest is the JSON document. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "path-util.h"
#include "runner-pytest.h"

#include "fuzz.h"

static char *commands[][8] = {
        { "pytest", NULL },
        { "pytest", "-q", "tests", NULL },
        { "python3", "-m", "pytest", "-k", "ledger and not refund", "tests/test_a.py::test_b", NULL },
        { "/usr/bin/pytest", "tests/test_a.py", "-v", "-n", "auto", "tests/sub", NULL },
};

/* The absolute path that dir + "/" + rel names, ".." resolved; NULL if rel climbs above "/". */
static char *resolve(const char *dir, const char *rel) {
        char *out = malloc(strlen(dir) + strlen(rel) + 3), *o;
        const char *p = rel;

        fuzz_assert(out);
        o = stpcpy(out, dir);
        if (o > out && o[-1] == '/') /* "/" itself: components are appended as "/name" */
                *--o = '\0';
        if (streq(rel, "."))
                return *out ? out : strcpy(out, "/");
        while (*p) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        char *slash = strrchr(out, '/');
                        if (!slash)
                                return free(out), NULL;
                        *slash = '\0';
                        o = slash;
                } else {
                        *o++ = '/';
                        memcpy(o, p, n);
                        o += n;
                        *o = '\0';
                }
                p += n;
                if (*p == '/')
                        p++;
        }
        if (!*out)
                strcpy(out, "/");
        return out;
}

/* Absolute and normalised, as pytest reports paths: no "//", no "." or ".." component, no trailing "/". */
static bool normalised(const char *p) {
        size_t n = strlen(p);

        if (p[0] != '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") || (n > 1 && p[n - 1] == '/'))
                return false;
        return !(n >= 2 && (streq(p + n - 2, "/.") || (n >= 3 && streq(p + n - 3, "/.."))));
}

static void check_relative_to(const char *path, const char *dir) {
        char *rel, *back;

        if (!normalised(path) || !normalised(dir))
                return;
        rel = path_relative_to(path, dir);
        fuzz_assert(rel);
        fuzz_assert(rel[0] != '/' && rel[0] != '\0');
        back = resolve(dir, rel);
        if (!back || !streq(back, path))
                fprintf(stderr, "path_relative_to(\"%s\", \"%s\") = \"%s\", which names \"%s\"\n", path, dir, rel,
                        back ?: "(above /)");
        fuzz_assert(back && streq(back, path));
        free(back);
        free(rel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SourceContext c = {};
        Source s = {};
        json_object *doc, *items;
        char *text, **command;
        const char *rootdir, *invdir;
        int r;

        if (size < 1)
                return 0;
        command = commands[(data[0] >> 1) % ELEMENTSOF(commands)];
        c.dist = data[0] & 1 ? DIST_TEST : DIST_LOADFILE;
        text = fuzz_strndup(data + 1, size - 1);
        doc = json_tokener_parse(text);
        free(text);
        if (!doc)
                return 0;

        rootdir = json_get_string(doc, "rootdir");
        invdir = json_get_string(doc, "invocation_dir");
        if (rootdir && invdir)
                check_relative_to(rootdir, invdir);
        items = json_get_array(doc, "items");
        for (size_t i = 0; items && i < json_object_array_length(items) && i < 4; i++) {
                const char *p = json_get_string(json_object_array_get_idx(items, i), "path");
                if (p && invdir)
                        check_relative_to(p, invdir);
        }

        r = pytest_jobs_from_collection(&c, command, pytest_args_start(command), doc, &s);
        fuzz_assert(r >= 0 || r == -EBADMSG || r == -ENOMEM);
        for (size_t i = 0; r >= 0 && i < s.jobs.n; i++) {
                const Job *j = &s.jobs.jobs[i];
                fuzz_assert(j->name && j->argv && j->argv[0]);
                fuzz_assert(streq(j->argv[0], command[0])); /* the user's pytest, never a name from the report */
        }
        source_done(&s);
        json_object_put(doc);
        return 0;
}
