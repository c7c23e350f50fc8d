/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strv.h"

#include "runner-launch.h"
#include "runner-pytest.h"
#include "runner-rewrite.h"

extern char **environ;

/* a run's files beyond this many wait for a later run (each is an argument of one command) */
#define REWRITE_FILES_MAX 8192U

struct RewriteCache {
        Sandbox *sandbox;
        CgroupJob *cgroup;
};

void rewrite_cache_offer(RunContext *rc) {
        _cleanup_free_ char *dir = NULL;

        if (!rc->source.cache_dir || pytest_args_start(rc->opt->command) < 0 || rc->opt->dry_run ||
            asprintf(&dir, "%s/pytest-rewrite", rc->source.cache_dir) < 0)
                return;
        if (mkdir_p(dir, 0755) < 0 || setenv("NSRUN_REWRITE_CACHE", dir, 1) < 0) {
                log_debug("Cannot keep pytest's assertion rewriting in %s: %m", dir);
                return;
        }
        rc->rewrite_dir = TAKE_PTR(dir);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The Python files the jobs' arguments name ("path" or "path::id"), each once, sorted, appended to *argv: the
 * program's arguments after its own. A file split by test id is named by its ids in a row. */
static int files_of_jobs(const RunContext *rc, char ***argv) {
        size_t first = strv_length(*argv), k = first, n = 0;

        for (size_t i = 0; i < rc->src.jobs.n && n < REWRITE_FILES_MAX; i++)
                for (char **a = rc->src.jobs.jobs[i].args; a && *a && n < REWRITE_FILES_MAX; a++) {
                        const char *sep = strstr(*a, "::");
                        size_t len = sep ? (size_t) (sep - *a) : strlen(*a);

                        if (len < 3 || !strneq(*a + len - 3, ".py", 3) ||
                            (n > 0 && strlen((*argv)[first + n - 1]) == len && strneq((*argv)[first + n - 1], *a, len)))
                                continue;
                        _cleanup_free_ char *path = strndup(*a, len);
                        if (!path || strv_push(argv, path) < 0)
                                return -ENOMEM;
                        n++;
                }
        qsort(*argv + first, n, sizeof(char *), compare_strings);
        for (size_t i = first; (*argv)[i]; i++)
                if (i == first || !streq((*argv)[i], (*argv)[k - 1]))
                        (*argv)[k++] = (*argv)[i];
                else
                        free((*argv)[i]);
        (*argv)[k] = NULL;
        return (int) (k - first);
}

RewriteCache *rewrite_cache_start(RunContext *rc) {
        const SourceContext *c = &rc->source;
        SandboxSpec spec = SANDBOX_SPEC_INIT;
        _cleanup_free_ SandboxMount *mounts = NULL;
        _cleanup_free_ char *python = NULL, *script = NULL;
        _cleanup_(strv_freep) char **argv = NULL, **envp = strv_copy(environ);
        _cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        RewriteCache *w = NULL;
        int r;

        if (!rc->rewrite_dir || !rc->src.pytest || !envp || null_fd < 0 ||
            pytest_interpreter(rc->opt->command, &python) < 0 || !is_python(python) ||
            asprintf(&script, "%s/nsrun_rewrite.py", c->pytest_plugin_dir) < 0 || strv_push(&argv, python) < 0 ||
            strv_push(&argv, script) < 0 || strv_push(&argv, rc->rewrite_dir) < 0 || files_of_jobs(rc, &argv) <= 0 ||
            launch_spec_init(&spec, c->sandbox, rc->rewrite_dir, c->pytest_plugin_dir, &mounts) < 0 ||
            !(w = new0(RewriteCache, 1)))
                return NULL;
        spec.argv = argv;
        spec.envp = envp;
        spec.cwd = c->cwd;
        spec.base_layers = c->base_layers;
        spec.new_session = true;
        spec.stdio[0] = spec.stdio[1] = spec.stdio[2] = null_fd;
        r = launch_sandbox_capped(&spec, c->cgroups, "pytest-rewrite", c->collect_mem_max, c->pids_max, &w->cgroup,
                                  &w->sandbox);
        if (r < 0) {
                log_debug("No sandbox for pytest's assertion rewriting: %s", strerror(-r));
                return rewrite_cache_stop(w);
        }
        return w;
}

RewriteCache *rewrite_cache_stop(RewriteCache *w) {
        SandboxResult res;

        if (!w)
                return NULL;
        if (w->sandbox) {
                (void) sandbox_kill(w->sandbox, SIGKILL);
                (void) sandbox_wait(w->sandbox, &res);
                sandbox_free(w->sandbox);
        }
        cgroup_job_free(w->cgroup);
        free(w);
        return NULL;
}
