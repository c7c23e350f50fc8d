/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strv.h"

#include "runner-launch.h"
#include "runner-pytest.h"
#include "runner-rewrite.h"

extern char **environ;

struct RewriteCache {
        Sandbox *sandbox;
        CgroupJob *cgroup;
};

void rewrite_cache_offer(RunContext *rc) {
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!rc->source.cache_dir || pytest_args_start(rc->opt->command) < 0 || rc->opt->dry_run ||
            asprintf(&dir, "%s/pytest-rewrite", rc->source.cache_dir) < 0)
                return;
        r = mkdir_p(dir, 0755);
        if (r >= 0 && setenv("NSRUN_REWRITE_CACHE", dir, 1) < 0)
                r = -errno;
        if (r < 0) {
                log_debug("Cannot keep pytest's assertion rewriting in %s: %s", dir, strerror(-r));
                return;
        }
        rc->rewrite_dir = TAKE_PTR(dir);
}

/* The Python files the jobs' arguments name ("path" or "path::id"), each once, sorted. */
static int files_of_jobs(const RunContext *rc, char ***ret) {
        _cleanup_(strv_freep) char **v = NULL;
        size_t n = 0, k = 0;

        for (size_t i = 0; i < rc->src.jobs.n; i++)
                for (char **a = rc->src.jobs.jobs[i].args; a && *a; a++) {
                        size_t len = job_arg_path_len(*a);
                        _cleanup_free_ char *path = NULL;

                        if (len < 3 || !strneq(*a + len - 3, ".py", 3))
                                continue;
                        path = strndup(*a, len);
                        if (!path || strv_push(&v, path) < 0)
                                return -ENOMEM;
                        n++;
                }
        if (n == 0)
                return 0;
        qsort(v, n, sizeof(char *), strcmp_ptr);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || !streq(v[i], v[k - 1]))
                        v[k++] = v[i];
                else
                        free(v[i]);
        v[k] = NULL;
        *ret = TAKE_PTR(v);
        return (int) k;
}

/* The files, each followed by a NUL, in a memory file read from its start: the program's standard input (a
 * suite's paths can be more than a command line holds). */
static int files_fd(char **files) {
        _cleanup_close_ int fd = memfd_create("nsrun-rewrite-files", MFD_CLOEXEC);

        if (fd < 0)
                return -errno;
        for (char **f = files; *f; f++)
                for (const char *p = *f, *end = *f + strlen(*f) + 1; p < end;) {
                        ssize_t k = write(fd, p, (size_t) (end - p));

                        if (k < 0 && errno != EINTR)
                                return -errno;
                        p += MAX(k, (ssize_t) 0);
                }
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        return TAKE_FD(fd);
}

RewriteCache *rewrite_cache_start(RunContext *rc) {
        const SourceContext *c = &rc->source;
        SandboxSpec spec = SANDBOX_SPEC_INIT;
        _cleanup_free_ SandboxMount *mounts = NULL;
        _cleanup_free_ char *python = NULL, *script = NULL;
        _cleanup_(strv_freep) char **files = NULL, **envp = strv_copy(environ);
        _cleanup_close_ int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC), list_fd = -EBADF;
        RewriteCache *w = NULL;
        int r;

        if (!rc->rewrite_dir || !rc->src.pytest || !envp || null_fd < 0 ||
            pytest_interpreter(rc->opt->command, &python) < 0 || !is_python(python) ||
            asprintf(&script, "%s/nsrun_rewrite.py", c->pytest_plugin_dir) < 0 || files_of_jobs(rc, &files) <= 0 ||
            (list_fd = files_fd(files)) < 0 ||
            launch_spec_init(&spec, c->sandbox, rc->rewrite_dir, c->pytest_plugin_dir, &mounts) < 0 ||
            !(w = new0(RewriteCache, 1)))
                return NULL;
        char *argv[] = { python, script, rc->rewrite_dir, NULL };
        spec.argv = argv;
        spec.envp = envp;
        spec.cwd = c->cwd;
        spec.base_layers = c->base_layers;
        spec.new_session = true;
        spec.stdio[0] = list_fd;
        spec.stdio[1] = spec.stdio[2] = null_fd;
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
