/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pytest as a job source: collect in a sandbox with nsrun's plugin, then one job per file (or per test). */

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "escape.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "path-util.h"
#include "runner-collect.h"
#include "runner-context.h"
#include "runner-launch.h"
#include "runner-pytest.h"

/* The collection's list of modules for the prepared interpreters' environment: the plugin writes at most 256
 * names and paths (nsrun_pytest.py's IMPORTS_MAX), well under this; one variable may hold 128 KiB. */
#define PYTEST_IMPORTS_MAX (64U * 1024U)

bool is_python(const char *arg0) {
        return strneq(path_basename(arg0), "python", 6);
}

/* An executable's absolute path: as given if it has a '/', else the first match on $PATH. Symlinks are kept as
 * they are: a virtualenv's bin/python is a symlink, and Python finds the virtualenv by the path it was run as. */
static char *find_executable(const char *name) {
        const char *path = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin";
        _cleanup_free_ char *copy = strdup(path), *cwd = getcwd(NULL, 0); /* physical: see verb_run() */
        char *save = NULL, *p = NULL;

        if (!copy || !cwd)
                return NULL;
        if (strchr(name, '/')) {
                if (name[0] == '/')
                        return strdup(name);
                return asprintf(&p, "%s/%s", cwd, name) < 0 ? NULL : p;
        }
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                if (asprintf(&p, "%s%s%s/%s", dir[0] == '/' ? "" : cwd, dir[0] == '/' ? "" : "/", dir, name) < 0)
                        return NULL;
                if (access(p, X_OK) >= 0)
                        return p;
                p = mfree(p);
        }
        return NULL;
}

int pytest_interpreter(char **command, char **ret) {
        _cleanup_free_ char *script = NULL, *line = NULL;
        char *interp, *arg = NULL, *end;
        int r;

        if (is_python(command[0])) {
                *ret = find_executable(command[0]);
                return *ret ? 0 : -ENOENT;
        }
        script = find_executable(command[0]);
        if (!script)
                return -ENOENT;
        r = read_one_line_file_at(AT_FDCWD, script, &line);
        if (r < 0 || !strneq(line, "#!", 2))
                return -EINVAL;
        interp = line + 2 + strspn(line + 2, " \t");
        end = interp + strcspn(interp, " \t");
        if (*end) {
                *end = '\0';
                arg = end + 1 + strspn(end + 1, " \t");
                arg[strcspn(arg, " \t")] = '\0';
        }
        *ret = streq(path_basename(interp), "env") && arg && *arg ? find_executable(arg) : strdup(interp);
        return *ret ? 0 : -ENOENT;
}

int pytest_args_start(char *const *argv) {
        const char *b;

        if (!argv || !argv[0])
                return -EINVAL;
        b = path_basename(argv[0]);
        if (streq(b, "pytest") || streq(b, "py.test") || streq(b, "pytest-3"))
                return 1;
        if (is_python(argv[0]) && argv[1] && streq(argv[1], "-m") && argv[2] && streq(argv[2], "pytest"))
                return 3;
        return -EINVAL;
}

/* The i-th element of an array if it is a string, else NULL: the report is written by Python code running in
 * the sandbox, which a test's conftest.py could replace; nothing in it is trusted to be well-formed. */
static const char *array_str(json_object *a, size_t i) {
        json_object *v = json_object_array_get_idx(a, i);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* An item as nsrun's plugin writes it: string path, name, nodeid and suffix, markers a list of strings. */
static bool item_valid(json_object *item) {
        json_object *m = json_get_array(item, "markers");

        if (!json_object_is_type(item, json_type_object) || !json_get_string(item, "path") || !json_get_string(item, "name") ||
            !json_get_string(item, "nodeid") || !json_get_string(item, "suffix") || !m)
                return false;
        for (size_t i = 0; i < json_object_array_length(m); i++)
                if (!array_str(m, i))
                        return false;
        return true;
}

static bool has_marker(json_object *item, const char *name) {
        json_object *m = json_get_array(item, "markers");

        for (size_t i = 0; m && i < json_object_array_length(m); i++)
                if (streq(array_str(m, i) ?: "", name))
                        return true;
        return false;
}

/* What the collection adds to the user's pytest arguments, before them. */
static const char *const collect_options[] = { "-p", "nsrun_pytest", "--collect-only", "-q" };

static bool json_true(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

/* Which of the user's pytest arguments (command[start + i]) are positional: files, directories, ids, --pyargs
 * packages. The plugin asked pytest's own parser, so that '-p pkg --pyargs pkg' and '-k tests tests' keep the
 * option's value. Without its answer (a pytest whose parser it could not ask), the arguments equal to
 * file_or_dir's, matched in order. */
static bool *find_positional(char **command, int start, json_object *doc) {
        json_object *pos, *fod = json_get_array(doc, "file_or_dir");
        size_t n = strv_length(command + start), k = 0, n_fod = fod ? json_object_array_length(fod) : 0;
        bool *p = new0(bool, n + 1);

        if (!p)
                return NULL;
        if (json_object_object_get_ex(doc, "positional", &pos) && json_object_is_type(pos, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(pos); i++) {
                        json_object *v = json_object_array_get_idx(pos, i);
                        /* indexes into the user's arguments (NSRUN_ARGS_FROM told the plugin where they begin) */
                        int64_t x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
                        if (x >= 0 && (uint64_t) x < n)
                                p[x] = true;
                }
                return p;
        }
        for (size_t i = 0; i < n; i++)
                if (k < n_fod && streq(command[start + i], array_str(fod, k) ?: "")) {
                        p[i] = true;
                        k++;
                }
        return p;
}

/* argparse's '--': everything after it is positional. */
static bool only_positional_after(const bool *pos, size_t i, size_t n) {
        for (i++; i < n; i++)
                if (!pos[i])
                        return false;
        return true;
}

/* What every job shares: the user's pytest arguments without the positional ones (the jobs give their own
 * files or ids), in order, after the rootdir and inifile pytest found. A job's files alone would make pytest
 * look for them elsewhere: from an installed package's directory, with --pyargs, it finds no ini file and takes
 * that directory as its rootdir. What the user gave is kept as given. */
static char **user_options(char **command, int start, json_object *doc) {
        _cleanup_free_ bool *pos = find_positional(command, start, doc);
        _cleanup_free_ char *rootdir = NULL;
        _cleanup_(strv_freep) char **v = NULL;
        size_t n = strv_length(command + start);
        const char *ini = json_get_string(doc, "inifile");
        json_object *roots = json_get_array(doc, "nodeid_roots");

        if (!pos || strv_push_n(&v, command, (size_t) start) < 0)
                return NULL;
        if (!json_true(doc, "rootdir_given") &&
            (asprintf(&rootdir, "--rootdir=%s", json_get_string(doc, "rootdir")) < 0 || strv_push(&v, rootdir) < 0))
                return NULL;
        if (ini && !json_true(doc, "inifile_given") && (strv_push(&v, "-c") < 0 || strv_push(&v, ini) < 0))
                return NULL;
        for (size_t i = 0; roots && i < json_object_array_length(roots); i++) {
                _cleanup_free_ char *o = NULL;
                if (asprintf(&o, "--nsrun-nodeid-root=%s", array_str(roots, i) ?: "") < 0 || strv_push(&v, o) < 0)
                        return NULL;
        }
        for (int i = start; command[i]; i++) {
                size_t k = (size_t) (i - start);
                if (pos[k] || (streq(command[i], "--") && only_positional_after(pos, k, n)))
                        continue; /* and a "--" before them: the files, then nsrun's own options, follow */
                if (strv_push(&v, command[i]) < 0)
                        return NULL;
        }
        return TAKE_PTR(v);
}

static bool user_named_tests(json_object *doc) {
        json_object *fod = json_get_array(doc, "file_or_dir");

        for (size_t i = 0; fod && i < json_object_array_length(fod); i++)
                if (strstr(array_str(fod, i) ?: "", "::"))
                        return true;
        return false;
}

typedef struct Group {
        const char *path;       /* absolute file */
        size_t first, n;        /* items [first, first+n) of the collection, in collection order */
        bool serial;
} Group;

/* "<rel><suffix>" for each test of the group: the arguments that run them one by one. */
static char **test_args(json_object *items, const Group *g, const char *rel) {
        char **v = new0(char *, g->n + 1);

        for (size_t i = 0; v && i < g->n; i++) {
                json_object *it = json_object_array_get_idx(items, g->first + i);
                if (asprintf(&v[i], "%s%s", rel, json_get_string(it, "suffix")) < 0) {
                        v[i] = NULL;
                        strv_free(v);
                        return NULL;
                }
        }
        return v;
}

/* One job: the group's file (its tests' ids kept in j->ids, so that a long file can be split later), or its one
 * test. Files are given relative to the invocation directory, where the jobs start. */
static int add_job(Source *s, json_object *items, const Group *g, bool per_test, const char *invocation_dir) {
        _cleanup_free_ char *rel = path_relative_to(g->path, invocation_dir);
        json_object *first = json_object_array_get_idx(items, g->first);
        char *name = NULL, **argv = NULL, **args = NULL, **ids = NULL;
        Job *j;

        if (!rel)
                return log_oom();
        if (per_test)
                args = test_args(items, g, rel);
        else if (!(ids = test_args(items, g, rel)) || strv_push(&args, rel) < 0)
                goto oom;
        argv = strv_copy(s->pytest_options);
        for (size_t i = 0; argv && args && args[i]; i++)
                if (strv_push(&argv, args[i]) < 0)
                        goto oom;
        /* The job's name is the plugin's name of its file (relative to the rootdir, or for an installed
         * package's file, to the sys.path entry it is imported from), the same whatever directory nsrun runs in:
         * the key of its history and of the times the plugin writes. */
        if (!argv || !args ||
            asprintf(&name, "%s%s", json_get_string(first, "name"), per_test ? json_get_string(first, "suffix") : "") < 0)
                goto oom;
        if (job_list_add(&s->jobs, name, argv, (unsigned) g->n, g->serial) < 0) {
                strv_free(args);
                strv_free(ids);
                return log_oom();
        }
        j = &s->jobs.jobs[s->jobs.n - 1];
        j->args = args;
        j->ids = ids;
        return 0;
oom:
        strv_free(argv);
        strv_free(args);
        strv_free(ids);
        return log_oom();
}

static int cmp_test_place(const void *a, const void *b) {
        const TestPlace *x = a, *y = b;
        return x->hash < y->hash ? -1 : x->hash > y->hash ? 1 : x->index < y->index ? -1 : x->index > y->index;
}

int pytest_jobs_from_collection(const SourceContext *c, char **command, int start, json_object *doc, Source *s) {
        json_object *items = json_get_array(doc, "items"), *xd;
        const char *rootdir = json_get_string(doc, "rootdir"), *invdir = json_get_string(doc, "invocation_dir");
        bool per_test = c->dist == DIST_TEST || user_named_tests(doc);
        size_t n;
        int r = 0;

        if (!items || !rootdir || !invdir)
                return log_error_errno(EBADMSG,
                                       "pytest's collection report is incomplete; is runner/pytest/nsrun_pytest.py "
                                       "the one that came with this nsrun?");
        s->pytest_xdist = json_object_object_get_ex(doc, "xdist", &xd) && json_object_get_boolean(xd);
        s->pytest_options = user_options(command, start, doc);
        s->pytest_cache_clear = json_true(doc, "cache_clear");
        if (json_object_object_get_ex(doc, "maxfail", &xd) && json_object_is_type(xd, json_type_int))
                s->pytest_maxfail = (unsigned) MIN(MAX(json_object_get_int64(xd), 0), (int64_t) UINT_MAX);
        if (json_get_string(doc, "cache_dir") && !(s->pytest_cache_dir = strdup(json_get_string(doc, "cache_dir"))))
                return log_oom();
        if (json_get_string(doc, "hypothesis_db") &&
            !(s->pytest_hypothesis_db = strdup(json_get_string(doc, "hypothesis_db"))))
                return log_oom();
        /* passed on only to this run's prepared interpreters (which run the suite's code anyway), in their
         * environment: a list longer than the plugin writes is left out, as a hint the interpreters do without */
        if (json_object_object_get_ex(doc, "imports", &xd) && json_object_is_type(xd, json_type_array)) {
                const char *text = json_object_to_json_string_ext(xd, JSON_C_TO_STRING_PLAIN);
                if (text && strlen(text) <= PYTEST_IMPORTS_MAX && !(s->pytest_imports = strdup(text)))
                        return log_oom();
        }
        if (!s->pytest_options ||
            (s->pytest_xdist && (strv_push(&s->pytest_options, "-n") < 0 || strv_push(&s->pytest_options, "0") < 0)))
                return log_oom();
        n = json_object_array_length(items);
        for (size_t i = 0; i < n; i++)
                if (!item_valid(json_object_array_get_idx(items, i)))
                        return log_error_errno(EBADMSG,
                                               "pytest's collection report is malformed (item %zu); did a plugin or "
                                               "conftest.py rewrite $NSRUN_COLLECT_OUT? Run 'pytest --collect-only' "
                                               "to see "
                                               "what pytest collects",
                                               i);
        /* each test's place, to show the jobs' failures in pytest's order (name and suffix: the nodeid a job's
         * pytest gives it, see nsrun_pytest.py) */
        s->test_places = new0(TestPlace, n + 1);
        if (!s->test_places)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(items, i);
                _cleanup_free_ char *id = NULL;
                if (asprintf(&id, "%s%s", json_get_string(it, "name"), json_get_string(it, "suffix")) < 0)
                        return log_oom();
                s->test_places[i] = (TestPlace) { fnv1a64(id), i };
        }
        s->n_test_places = n;
        qsort(s->test_places, n, sizeof *s->test_places, cmp_test_place);
        for (size_t i = 0; i < n && r >= 0;) {
                json_object *it = json_object_array_get_idx(items, i);
                Group g = { .path = json_get_string(it, "path"), .first = i };
                /* per file: consecutive items of one file (pytest collects a file's items together) */
                while (i < n && streq(json_get_string(json_object_array_get_idx(items, i), "path") ?: "", g.path)) {
                        json_object *x = json_object_array_get_idx(items, i);
                        g.serial = g.serial || has_marker(x, "serial") || has_marker(x, "no_parallel");
                        g.n++;
                        i++;
                        if (per_test)
                                break;
                }
                r = add_job(s, items, &g, per_test, invdir);
        }
        return r;
}

static void show_collect_errors(const char *log_path) {
        FILE *f = fopen(log_path, "re");
        char line[1024];
        unsigned shown = 0;

        if (!f)
                return;
        /* pytest's "ERROR collecting ..." and "E   ..." lines say what is wrong, and argparse's "pytest: error:
         * unrecognized arguments: ..." after its usage banner; failing those (pytest itself could not start), its
         * last lines. The rest is in the log. */
        char *tail[5] = {};
        size_t n = 0;
        while (fgets(line, sizeof line, f)) {
                if (shown < 20 && (strstr(line, "ERROR") || strneq(line, "E ", 2) || strstr(line, ": error: "))) {
                        fputs("  ", stderr);
                        fwrite_output_escaped(line, strlen(line), stderr);
                        shown++;
                }
                free(tail[n % ELEMENTSOF(tail)]);
                tail[n++ % ELEMENTSOF(tail)] = strdup(line);
        }
        fclose(f);
        for (size_t i = n > ELEMENTSOF(tail) ? n - ELEMENTSOF(tail) : 0; shown == 0 && i < n; i++) {
                const char *t = tail[i % ELEMENTSOF(tail)] ?: "";
                fputs("  ", stderr);
                fwrite_output_escaped(t, strlen(t), stderr);
        }
        for (size_t i = 0; i < ELEMENTSOF(tail); i++)
                free(tail[i]);
}

/* The user's command with nsrun's plugin and --collect-only, before the user's arguments: after a '--' they
 * would be files. */
static char **collect_argv(char **command) {
        size_t start = (size_t) pytest_args_start(command); /* > 0: only pytest commands come here */
        _cleanup_(strv_freep) char **v = NULL;

        if (strv_push_n(&v, command, start) < 0 ||
            strv_push_n(&v, (char *const *) collect_options, ELEMENTSOF(collect_options)) < 0 ||
            strv_push_n(&v, command + start, strv_length(command + start)) < 0)
                return NULL;
        return TAKE_PTR(v);
}

/* The collection's report at path, written by the plugin where the project's conftest.py runs: read as any file a
 * job could have replaced. */
static int read_collection(const char *path, json_object **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_job_file_at(AT_FDCWD, path, JOB_FILE_MAX, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(EBADMSG, "pytest's collection report %s %s; did a plugin or conftest.py replace "
                                       "$NSRUN_COLLECT_OUT? nsrun reads only a regular file",
                                       path, job_file_error(r));
        *ret = text ? json_tokener_parse(text) : NULL;
        if (!*ret)
                return log_error_errno(EBADMSG,
                                       "pytest ran but nsrun's plugin wrote no collection report (%s); was '-p "
                                       "no:nsrun_pytest' given, or PYTHONPATH overridden by the test setup?",
                                       path);
        return 0;
}

/* The collection pass: argv (collect_argv()) in a sandbox of the run, its report read into *ret. */
static int collect(const SourceContext *c, char **argv, Source *s, json_object **ret) {
        _cleanup_free_ char *out = NULL, *env_out = NULL, *env_path = NULL;
        _cleanup_close_ int log_fd = -EBADF;
        const char *old_path = getenv("PYTHONPATH");
        char *extra_env[4], env_from[32];
        SandboxResult res;
        bool oom;
        int r;

        if (!argv || asprintf(&out, "%s/collect.json", c->run_dir) < 0 ||
            asprintf(&env_out, "NSRUN_COLLECT_OUT=%s", out) < 0 ||
            asprintf(&env_path, "PYTHONPATH=%s%s%s", c->pytest_plugin_dir, old_path ? ":" : "", old_path ?: "") < 0 ||
            asprintf(&s->collect_log, "%s/collect.log", c->log_dir) < 0)
                return log_oom();
        (void) snprintf(env_from, sizeof env_from, "NSRUN_ARGS_FROM=%zu", ELEMENTSOF(collect_options));
        extra_env[0] = env_out;
        extra_env[1] = env_path;
        extra_env[2] = env_from;
        extra_env[3] = NULL;
        log_fd = open(s->collect_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0)
                return log_error_errno(errno, "Cannot create %s: %m", s->collect_log);
        r = run_sandboxed_once(c, "collect", c->collect_mem_max, argv, extra_env, log_fd, NULL, &res, &oom);
        if (r < 0)
                return r;
        if (oom)
                return log_error_errno(ENOMEM, "pytest's collection was killed out of memory at its cap of %s (%s): "
                                       "what it imports does not fit; %s (its output is in %s)",
                                       FORMAT_SIZE(c->collect_mem_max),
                                       c->mem_size_given ? "--mem-per-worker" : "the memory for tests",
                                       c->mem_size_given ? "give a larger SIZE"
                                                         : "give the run more memory, or a smaller --mem-reserve",
                                       s->collect_log),
                       -EBADMSG;
        if (res.outcome != SANDBOX_EXITED || (res.code != 0 && res.code != 5)) {
                log_error("pytest could not collect the tests (%s %d); the errors it printed:",
                          res.outcome == SANDBOX_EXITED ? "exit status" : "signal", res.code);
                show_collect_errors(s->collect_log);
                log_error("fix them (the whole output is in %s; 'pytest --collect-only' shows the same)",
                          s->collect_log);
                s->pytest_usage_error = res.outcome == SANDBOX_EXITED && res.code == EXIT_PYTEST_USAGE;
                return -EBADMSG;
        }
        return read_collection(out, ret);
}

int pytest_source(const SourceContext *c, char **command, Source *s) {
        _cleanup_free_ char *prepared = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        char **argv = collect_argv(command);
        int r;

        s->pytest = true;
        if (argv && collect_cache_load(c, command, &doc) > 0) {
                strv_free(argv);
                s->collect_reused = true;
                return pytest_jobs_from_collection(c, command, pytest_args_start(command), doc, s);
        }
        /* a prepared interpreter's collection (--fork), made as this would be made; where it failed, collected
         * again here, to show why */
        r = argv && c->prepared_collection ? c->prepared_collection(c->prepared_userdata, &prepared) : 0;
        if (r > 0)
                r = read_collection(prepared, &doc);
        if (r >= 0 && !doc)
                r = collect(c, argv, s, &doc);
        strv_free(argv);
        if (r < 0)
                return r;
        r = pytest_jobs_from_collection(c, command, pytest_args_start(command), doc, s);
        if (r >= 0)
                collect_cache_store(c, command, doc);
        return r;
}

const char *pytest_user_junitxml(char *const *options) {
        const char *path = NULL;

        /* the last one counts, as for pytest's own parser */
        for (size_t i = 0; options && options[i]; i++) {
                if (strneq(options[i], "--junitxml=", 11) || strneq(options[i], "--junit-xml=", 12))
                        path = strchr(options[i], '=') + 1;
                else if ((streq(options[i], "--junitxml") || streq(options[i], "--junit-xml")) && options[i + 1])
                        path = options[++i];
        }
        return path && *path ? path : NULL;
}

char *pytest_plugin_dir(void) {
        char exe[PATH_MAX], *dir = NULL;
        const char *env = getenv("NSRUN_PYTEST_DIR");
        ssize_t n;

        if (env && *env)
                return strdup(env);
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
                exe[n] = '\0';
                *strrchr(exe, '/') = '\0';
                if (asprintf(&dir, "%s/runner/nsrun_pytest.py", exe) >= 0 && access(dir, R_OK) >= 0) {
                        *strrchr(dir, '/') = '\0';
                        return dir;
                }
                free(dir);
        }
        return strdup(NSRUN_DATADIR "/pytest");
}
