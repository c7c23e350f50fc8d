/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Job sources other than pytest: 'CMD {} ::: a b c', --jobs-file, one plain command. */

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "runner-pytest.h"
#include "runner-source.h"

static char *join_argv(char *const *argv) {
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; argv[i]; i++)
                len += strlen(argv[i]) + 1;
        s = malloc(len);
        if (!s)
                return NULL;
        p = s;
        for (size_t i = 0; argv[i]; i++)
                p += sprintf(p, "%s%s", i ? " " : "", argv[i]);
        *p = '\0';
        return s;
}

/* GNU parallel's replacement: every "{}" in the command becomes the argument; without one, it is appended. */
static char **substitute(char **cmd, size_t n_cmd, const char *arg) {
        char **v = NULL;
        bool replaced = false;

        for (size_t i = 0; i < n_cmd; i++) {
                const char *hole = strstr(cmd[i], "{}");
                _cleanup_free_ char *s = NULL;
                if (!hole) {
                        if (strv_push(&v, cmd[i]) < 0)
                                goto oom;
                        continue;
                }
                if (asprintf(&s, "%.*s%s%s", (int) (hole - cmd[i]), cmd[i], arg, hole + 2) < 0 || strv_push(&v, s) < 0)
                        goto oom;
                replaced = true;
        }
        if (!replaced && strv_push(&v, arg) < 0)
                goto oom;
        return v;
oom:
        strv_free(v);
        return NULL;
}

static int source_arguments(char **command, size_t sep, Source *s) {
        if (sep == 0)
                return log_error("':::' needs a command before it: nsrun -- CMD {} ::: ARG..."), -EINVAL;
        if (!command[sep + 1])
                return log_error("':::' needs at least one argument after it: nsrun -- CMD {} ::: ARG..."), -EINVAL;
        for (size_t i = sep + 1; command[i]; i++) {
                char **argv = substitute(command, sep, command[i]), *name = strdup(command[i]);
                if (!argv || !name) {
                        strv_free(argv);
                        free(name);
                        return log_oom();
                }
                if (job_list_add(&s->jobs, name, argv, 0, false) < 0)
                        return log_oom();
        }
        return 0;
}

static int source_jobs_file(const char *path, Source *s) {
        FILE *f = streq(path, "-") ? stdin : fopen(path, "re");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int r = 0;

        if (!f)
                return log_error_errno(errno, "--jobs-file %s: %m; give a file with one command per line", path), -EINVAL;
        struct stat st;
        if (fstat(fileno(f), &st) < 0 || S_ISDIR(st.st_mode)) {
                if (f != stdin)
                        fclose(f);
                return log_error("--jobs-file %s: a directory; give a file with one command per line", path), -EINVAL;
        }
        while (r >= 0 && (n = getline(&line, &cap, f)) >= 0) {
                char *l = line, **argv = NULL;
                while (*l == ' ' || *l == '\t')
                        l++;
                l[strcspn(l, "\n")] = '\0';
                if (*l == '\0' || *l == '#')
                        continue;
                /* each line is a shell command, as in GNU parallel and xargs -I */
                if (strv_push(&argv, "/bin/sh") < 0 || strv_push(&argv, "-c") < 0 || strv_push(&argv, l) < 0) {
                        strv_free(argv);
                        r = log_oom();
                        break;
                }
                r = job_list_add(&s->jobs, strdup(l), argv, 0, false);
        }
        free(line);
        if (f != stdin)
                fclose(f);
        if (r >= 0 && s->jobs.n == 0)
                return log_error("--jobs-file %s: no commands in it; write one command per line", path), -EINVAL;
        return r;
}

static int source_plain(char **command, Source *s) {
        char *name = join_argv(command), **argv = strv_copy(command);

        if (!name || !argv) {
                free(name);
                strv_free(argv);
                return log_oom();
        }
        return job_list_add(&s->jobs, name, argv, 0, false);
}

static int source_pick(const SourceContext *c, char **command, const char *jobs_file, Source *s) {
        if (jobs_file)
                return source_jobs_file(jobs_file, s);
        for (size_t i = 0; command[i]; i++)
                if (streq(command[i], ":::"))
                        return source_arguments(command, i, s);
        if (pytest_args_start(command) > 0)
                return pytest_source(c, command, s);
        return source_plain(command, s);
}

int source_build(const SourceContext *c, char **command, const char *jobs_file, Source *s) {
        int r;

        *s = (Source) {};
        r = source_pick(c, command, jobs_file, s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->jobs.n; i++)
                for (size_t k = 0; c->serial_globs && c->serial_globs[k]; k++)
                        if (fnmatch(c->serial_globs[k], s->jobs.jobs[i].name, 0) == 0)
                                s->jobs.jobs[i].serial = true;
        return 0;
}
