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
#include "runner-launch.h"
#include "runner-parallel.h"
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

/* Reads a --jobs-file or a '::::' file into its lines: at most PARALLEL_FILE_MAX bytes, lines of at most
 * PARALLEL_LINE_MAX, no NUL byte, so that '/dev/zero' or a binary file is refused instead of filling memory or
 * cutting a line short. Any file that can be read will do (a pipe, a FIFO, standard input as "-", once); a
 * signal while it waits for input stops the run. label names it in messages. */
static int read_capped(const SourceContext *c, int fd, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0;

        for (;;) {
                ssize_t k;
                int r = wait_fd_or_signal(c, fd);

                if (r < 0)
                        return r;
                if (n == cap) {
                        char *b;
                        if (cap > PARALLEL_FILE_MAX)
                                return -EFBIG;
                        cap = MIN(MAX(cap * 2, (size_t) 65536), (size_t) PARALLEL_FILE_MAX + 1);
                        b = realloc(buf, cap);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                k = read(fd, buf + n, cap - n);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > PARALLEL_FILE_MAX)
                        return -EFBIG;
                /* the lines so far are enough to name the line holding it */
                if (memchr(buf + n - (size_t) k, '\0', (size_t) k))
                        break;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int read_lines(const SourceContext *c, const char *label, const char *unit, const char *path, bool *stdin_used,
                      char ***ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0, line = 0;
        int r;

        if (streq(path, "-")) {
                if (*stdin_used)
                        return log_error_errno(EINVAL,
                                               "%s: standard input is read once, and it already was; give a file",
                                               label);
                *stdin_used = true;
        } else {
                /* O_NONBLOCK: a FIFO without a writer yet must not block here, where signals wait on c->sigfd */
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (fd < 0)
                        return log_error_errno(errno, "%s: %m; give a readable file", label), -EINVAL;
        }
        if (fstat(fd >= 0 ? fd : STDIN_FILENO, &st) >= 0 && S_ISDIR(st.st_mode))
                return log_error_errno(EINVAL, "%s: a directory; give a file", label);
        r = read_capped(c, fd >= 0 ? fd : STDIN_FILENO, &buf, &size);
        if (r == -EINTR)
                return r;
        if (r == -EFBIG)
                return log_error_errno(EINVAL, "%s: larger than %u MiB, the most nsrun reads; split it", label,
                                       PARALLEL_FILE_MAX >> 20);
        if (r < 0)
                return log_error_errno(r, "%s: cannot read it: %m", label), -EINVAL;
        r = parallel_split_lines(buf, size, ret, &line);
        if (r == -EBADMSG)
                return log_error_errno(EINVAL,
                                       "%s: line %zu holds a NUL byte; write text, one %s per line", label, line, unit);
        if (r == -E2BIG)
                return log_error_errno(EINVAL, "%s: line %zu is longer than %u KiB, the most nsrun takes", label, line,
                                       PARALLEL_LINE_MAX >> 10);
        return r < 0 ? log_oom() : 0;
}

/* Every list's arguments: one per ':::', one per file after '::::'. */
static int load_lists(const SourceContext *c, const ParallelCommand *pc, char ***lists, bool *stdin_used) {
        size_t k = 0;
        int r;

        for (size_t i = 0; i < pc->n_sources; i++) {
                const ParallelSource *s = &pc->sources[i];
                if (!s->files) {
                        lists[k] = strv_copy(s->words);
                        if (!lists[k++])
                                return log_oom();
                        continue;
                }
                for (size_t f = 0; s->words[f]; f++, k++) {
                        _cleanup_free_ char *label = NULL;
                        if (asprintf(&label, "':::: %s'", s->words[f]) < 0)
                                return log_oom();
                        r = read_lines(c, label, "argument", s->words[f], stdin_used, &lists[k]);
                        if (r < 0)
                                return r;
                        if (!lists[k][0])
                                return log_error_errno(EINVAL,
                                                       "%s: no arguments in it; write one argument per line", label);
                }
        }
        return 0;
}

/* One job per combination of the lists' arguments, in GNU parallel's order (the last list varies fastest),
 * numbered from 1 ({#}). Without a command, each combination is a shell command line. */
static int add_combinations(const ParallelCommand *pc, char ***lists, Source *s) {
        size_t n = pc->n_lists, total = 1;
        _cleanup_free_ size_t *idx = new0(size_t, n);
        _cleanup_free_ char **args = new0(char *, n + 1);
        int r;

        if (!idx || !args)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                size_t len = strv_length(lists[i]);
                if (total > PARALLEL_JOBS_MAX / len)
                        return log_error_errno(EINVAL,
                                               "the argument lists make more than %u jobs, the most nsrun runs at "
                                               "once; "
                                               "split the run",
                                               PARALLEL_JOBS_MAX);
                total *= len;
        }
        for (size_t seq = 1; seq <= total; seq++) {
                char **argv = NULL, ***parts = NULL, *name;
                for (size_t i = 0; i < n; i++)
                        args[i] = lists[i][idx[i]];
                name = join_argv(args);
                if (pc->n_words == 0) {
                        const char *sh[] = { "/bin/sh", "-c", name, NULL };
                        argv = name ? strv_copy((char **) sh) : NULL;
                        r = argv ? 0 : -ENOMEM;
                } else
                        r = name ? parallel_expand(pc, args, (unsigned) seq, &argv, &parts) : -ENOMEM;
                if (r < 0 || job_list_add(&s->jobs, name, argv, 0, false) < 0) {
                        if (r < 0)
                                free(name);
                        slot_parts_free(parts);
                        return log_oom();
                }
                s->jobs.jobs[s->jobs.n - 1].slot_parts = parts;
                for (size_t i = n; i-- > 0;) {
                        if (++idx[i] < strv_length(lists[i]))
                                break;
                        idx[i] = 0;
                }
        }
        return 0;
}

static int source_arguments(const SourceContext *c, char **command, bool raw, Source *s) {
        ParallelCommand pc = {};
        char err[512], ***lists = NULL;
        bool stdin_used = false;
        int r;

        r = parallel_parse(command, raw, &pc, err, sizeof err);
        if (r == -EINVAL)
                return log_error("%s", err), r;
        if (r < 0)
                return log_oom();
        lists = new0(char **, pc.n_lists + 1);
        r = lists ? load_lists(c, &pc, lists, &stdin_used) : log_oom();
        if (r >= 0)
                r = add_combinations(&pc, lists, s);
        for (size_t i = 0; lists && i < pc.n_lists; i++)
                strv_free(lists[i]);
        free(lists);
        parallel_done(&pc);
        return r;
}

static int source_jobs_file(const SourceContext *c, const char *path, Source *s) {
        _cleanup_free_ char *label = NULL;
        char **lines = NULL;
        bool stdin_used = false;
        int r;

        if (asprintf(&label, "--jobs-file %s", path) < 0)
                return log_oom();
        r = read_lines(c, label, "command", path, &stdin_used, &lines);
        for (size_t i = 0; r >= 0 && lines[i]; i++) {
                char *l = lines[i], **argv = NULL;
                while (*l == ' ' || *l == '\t')
                        l++;
                if (*l == '\0' || *l == '#')
                        continue;
                if (s->jobs.n >= PARALLEL_JOBS_MAX) {
                        r = log_error("%s: more than %u commands, the most nsrun runs at once; split it", label,
                                      PARALLEL_JOBS_MAX),
                        r = -EINVAL;
                        break;
                }
                /* each line is a shell command, as in GNU parallel and xargs -I */
                if (strv_push(&argv, "/bin/sh") < 0 || strv_push(&argv, "-c") < 0 || strv_push(&argv, l) < 0) {
                        strv_free(argv);
                        r = log_oom();
                        break;
                }
                r = job_list_add(&s->jobs, strdup(l), argv, 0, false);
        }
        strv_free(lines);
        if (r >= 0 && s->jobs.n == 0)
                return log_error_errno(EINVAL, "%s: no commands in it; write one command per line", label);
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
                return source_jobs_file(c, jobs_file, s);
        if (parallel_is_command(command))
                return source_arguments(c, command, c->quote_raw, s);
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
                s->jobs.jobs[i].seq = (unsigned) i + 1;
        for (size_t i = 0; i < s->jobs.n; i++)
                for (size_t k = 0; c->serial_globs && c->serial_globs[k]; k++)
                        if (fnmatch(c->serial_globs[k], s->jobs.jobs[i].name, 0) == 0)
                                s->jobs.jobs[i].serial = true;
        return 0;
}
