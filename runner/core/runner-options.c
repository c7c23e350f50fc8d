/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The options the verbs share: the sandbox options (`nsrun exec`, the runner, xdist) and the sizing and cap
 * options (CapOptions). */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "path-util.h"
#include "runner-options.h"

int log_bad_option(const char *option, const char *value, const char *why_and_fix) {
        if (value)
                log_error("%s %s: %s", option, value, why_and_fix);
        else
                log_error("%s: %s", option, why_and_fix);
        return -EINVAL;
}

static int parse_mem_reserve(const char *arg, uint64_t *bytes, unsigned *percent) {
        size_t n = strlen(arg);

        if (n > 1 && arg[n - 1] == '%') {
                _cleanup_free_ char *num = strndup(arg, n - 1);
                if (!num || parse_unsigned(num, 0, 90, percent) < 0)
                        return log_bad_option("--mem-reserve", arg, "give a percentage from 0% to 90%, or a size such as 2G");
                *bytes = 0;
                return 0;
        }
        if (parse_size(arg, false, bytes) < 0)
                return log_bad_option("--mem-reserve", arg, "give a percentage such as 10% or a size such as 2G");
        return 0;
}

int parse_mem_size(const char *option, const char *arg, uint64_t *ret) {
        uint64_t v;
        int r;

        r = parse_size(arg, false, &v);
        if (r == -ERANGE)
                return log_bad_option(option, arg, "too large; give a size such as 2G");
        if (r < 0)
                return log_bad_option(option, arg, "not a size; give a number with K, M, G or T, such as 512M or 2G");
        if (v < MEM_SIZE_MIN)
                return log_bad_option(option, arg, "too small; give at least 1M, such as 512M or 2G");
        *ret = v;
        return 0;
}

int parse_count(const char *option, const char *arg, unsigned min, unsigned max, unsigned *ret) {
        char why[128];

        if (parse_unsigned(arg, min, max, ret) >= 0)
                return 0;
        (void) snprintf(why, sizeof why, "give a whole number from %u to %u", min, max);
        return log_bad_option(option, arg, why);
}

int cap_options_parse(CapOptions *o, int opt, const char *arg) {
        unsigned n;
        int r;

        switch (opt) {
        case 'j':
                return parse_count("-j", arg, 1, 4096, &o->jobs_max) ?: 1;
        case ARG_MEM_PER_WORKER:
                o->mem_per_worker_auto = streq(arg, "auto");
                if (o->mem_per_worker_auto) {
                        o->mem_per_worker = 0;
                        return 1;
                }
                return parse_mem_size("--mem-per-worker", arg, &o->mem_per_worker) ?: 1;
        case ARG_MEM_RESERVE:
                return parse_mem_reserve(arg, &o->reserve_bytes, &o->reserve_percent) ?: 1;
        case ARG_PIDS_MAX:
                r = parse_count("--pids-max", arg, 8, 4194304, &n);
                if (r < 0)
                        return r;
                o->pids_max = n;
                return 1;
        case ARG_MEM_CAP:
                if (!streq(arg, "off"))
                        return log_bad_option("--mem-cap", arg, "the only value is 'off'");
                o->mem_cap_off = true;
                return 1;
        case ARG_CPUS_PER_JOB:
                return parse_count("--cpus-per-job", arg, 1, 4096, &o->cpus_per_job) ?: 1;
        }
        return 0;
}

static int check_cpus_per_job(unsigned n) {
        CpuBudget b;
        unsigned max;
        int r;

        r = cpu_budget_get(NULL, &b);
        if (r < 0)
                return log_error_errno(r, "Cannot read this machine's CPU budget: %m");
        max = MAX((unsigned) b.cpus, 1u);
        if (n > max)
                return log_error_errno(EINVAL,
                                       "--cpus-per-job %u: more than the %u CPU%s tests may use here (%s); give at "
                                       "most %u",
                                       n, max, max == 1 ? "" : "s", b.source, max);
        return 0;
}

int cap_options_check(const CapOptions *o, const char *verb) {
        if (o->mem_cap_off && (o->mem_per_worker || o->mem_per_worker_auto))
                return log_error_errno(EINVAL,
                                       "%s%s--mem-cap off and --mem-per-worker exclude each other: there is no cap "
                                       "to set",
                                       verb ?: "", verb ? ": " : "");
        return o->cpus_per_job ? check_cpus_per_job(o->cpus_per_job) : 0;
}

void sandbox_options_done(SandboxOptions *o) {
        free(o->root_dir);
        free(o->keep_writes);
        for (size_t i = 0; i < o->n_extra; i++)
                free(o->extra[i].path);
        free(o->extra);
        *o = (SandboxOptions) {};
}

/* An absolute, resolved path. A --tmpfs target may not exist yet: then its parent must. */
static int resolve_path(const char *option, const char *arg, bool must_exist, char **ret) {
        char buf[PATH_MAX];

        if (arg[0] != '/')
                return log_bad_option(option, arg, "give an absolute path");
        if (realpath(arg, buf)) {
                *ret = strdup(buf);
                return *ret ? 0 : log_oom();
        }
        if (errno != ENOENT || must_exist)
                return log_error_errno(errno, "%s %s: %m; give an existing path", option, arg), -EINVAL;
        if (strstr(arg, "/../") || strstr(arg, "/./"))
                return log_bad_option(option, arg, "give a normalised path without '.' or '..'");
        *ret = strdup(arg);
        return *ret ? 0 : log_oom();
}

static int add_extra(SandboxOptions *o, SandboxMountType type, const char *option, const char *arg) {
        SandboxMount *n;
        char *path;
        int r;

        r = resolve_path(option, arg, type != SANDBOX_MOUNT_TMPFS, &path);
        if (r < 0)
                return r;
        if (streq(path, "/")) {
                free(path);
                return log_bad_option(option, arg, "not on '/' itself; name a directory below it");
        }
        n = reallocarray(o->extra, o->n_extra + 1, sizeof *n);
        if (!n) {
                free(path);
                return log_oom();
        }
        o->extra = n;
        o->extra[o->n_extra++] = (SandboxMount) { .type = type, .path = path };
        return 0;
}

int sandbox_options_parse(SandboxOptions *o, int opt, const char *arg) {
        switch (opt) {
        case ARG_ROOT_DIR: {
                struct stat st;
                char buf[PATH_MAX];

                if (!realpath(arg, buf) || stat(buf, &st) < 0)
                        return log_error_errno(errno, "--root-dir %s: %m; give the project's directory", arg), -EINVAL;
                if (!S_ISDIR(st.st_mode))
                        return log_bad_option("--root-dir", arg, "not a directory; give the project's directory");
                if (streq(buf, "/"))
                        return log_bad_option("--root-dir", arg,
                                              "overlaying the whole filesystem is not supported; give the "
                                              "project's directory");
                free(o->root_dir);
                o->root_dir = strdup(buf);
                return o->root_dir ? 1 : log_oom();
        }
        case ARG_KEEP_WRITES:
                if (!*arg)
                        return log_bad_option("--keep-writes", "''", "give a directory");
                free(o->keep_writes);
                o->keep_writes = realpath(arg, NULL);
                if (!o->keep_writes && errno == ENOENT) {
                        /* created by the sandbox: resolve its parent, keep its name */
                        _cleanup_free_ char *copy = strdup(arg), *parent = NULL;
                        char *slash;
                        if (!copy)
                                return log_oom();
                        slash = strrchr(copy, '/');
                        if (slash)
                                *slash = '\0';
                        parent = realpath(slash ? (*copy ? copy : "/") : ".", NULL);
                        if (!parent)
                                return log_error_errno(errno, "--keep-writes %s: %m; its parent directory must exist", arg),
                                       -EINVAL;
                        if (asprintf(&o->keep_writes, "%s/%s", streq(parent, "/") ? "" : parent,
                                     slash ? slash + 1 : arg) < 0)
                                return log_oom();
                }
                if (!o->keep_writes)
                        return log_error_errno(errno, "--keep-writes %s: %m", arg), -EINVAL;
                return 1;
        case ARG_RW:
                return add_extra(o, SANDBOX_MOUNT_BIND_RW, "--rw", arg) ?: 1;
        case ARG_OVERLAY:
                return add_extra(o, SANDBOX_MOUNT_OVERLAY, "--overlay", arg) ?: 1;
        case ARG_TMPFS:
                return add_extra(o, SANDBOX_MOUNT_TMPFS, "--tmpfs", arg) ?: 1;
        case ARG_NO_HOME:
                o->no_home = true;
                return 1;
        case ARG_NET:
                if (streq(arg, "loopback"))
                        o->net = SANDBOX_NET_LOOPBACK;
                else if (streq(arg, "host"))
                        o->net = SANDBOX_NET_HOST;
                else
                        return log_bad_option("--net", arg, "unknown mode; use 'loopback' or 'host'");
                return 1;
        }
        return 0;
}

static const char *home_dir(const SandboxOptions *o) {
        const char *home = getenv("HOME");
        struct stat st;

        if (o->no_home || !home || home[0] != '/' || streq(home, "/") || stat(home, &st) < 0 ||
            !S_ISDIR(st.st_mode))
                return NULL;
        /* A project that contains $HOME already overlays it. */
        if (path_is_under(home, o->root_dir))
                return NULL;
        return home;
}

int sandbox_options_finish(SandboxOptions *o) {
        const char *home;

        if (!o->root_dir) {
                char buf[PATH_MAX];
                if (!getcwd(buf, sizeof buf))
                        return log_error_errno(errno, "Cannot determine the current directory: %m");
                if (streq(buf, "/"))
                        return log_bad_option("the current directory", "/",
                                              "overlaying the whole filesystem is not supported; cd into the "
                                              "project, or give --root-dir DIR");
                o->root_dir = strdup(buf);
                if (!o->root_dir)
                        return log_oom();
        }
        home = home_dir(o);
        if (o->keep_writes && (path_is_under(o->keep_writes, o->root_dir) || (home && path_is_under(o->keep_writes, home))))
                return log_bad_option("--keep-writes", o->keep_writes,
                                      "must be outside the overlaid project and home directories; use a "
                                      "directory such as /var/tmp/nsrun-writes");
        return 0;
}

const char *sandbox_options_hidden_under(const SandboxOptions *o, const char *path) {
        static const char *const scratch[] = { "/tmp", "/var/tmp" };
        const char *home = home_dir(o);

        if (path_is_under(path, o->root_dir) || (home && path_is_under(path, home)))
                return NULL;
        for (size_t i = 0; i < o->n_extra; i++)
                if (o->extra[i].type != SANDBOX_MOUNT_TMPFS && path_is_under(path, o->extra[i].path))
                        return NULL;
        for (size_t i = 0; i < ELEMENTSOF(scratch); i++)
                if (path_is_under(path, scratch[i]))
                        return scratch[i];
        return NULL;
}

int sandbox_options_mounts(const SandboxOptions *o, const char *shared_rw, const char *shared_ro, SandboxMount **ret,
                           size_t *ret_n) {
        const char *home = home_dir(o);
        size_t n = 0;
        SandboxMount *m = new0(SandboxMount, o->n_extra + 4);

        if (!m)
                return -ENOMEM;
        if (home)
                m[n++] = (SandboxMount) { .type = SANDBOX_MOUNT_OVERLAY, .path = (char *) home };
        m[n++] = (SandboxMount) { .type = SANDBOX_MOUNT_OVERLAY, .path = o->root_dir };
        for (size_t i = 0; i < o->n_extra; i++)
                m[n++] = o->extra[i];
        if (shared_rw)
                m[n++] = (SandboxMount) { .type = SANDBOX_MOUNT_BIND_RW, .path = (char *) shared_rw };
        if (shared_ro)
                m[n++] = (SandboxMount) { .type = SANDBOX_MOUNT_BIND_RO, .path = (char *) shared_ro,
                                          .source = (char *) shared_ro };
        *ret = m;
        *ret_n = n;
        return 0;
}

const char *option_name(char *argv[], int opt) {
        static char buf[3];

        /* getopt_long() sets optopt to a short option's letter; for a long one it is 0 (or its value), and the
         * whole argument is argv[optind - 1]. A letter inside a group ("-qx") is named on its own. */
        if (opt > 0 && opt < 0x100 && opt != '?' && opt != ':') {
                buf[0] = '-';
                buf[1] = (char) opt;
                return buf;
        }
        return argv[optind - 1];
}

int log_getopt_error(const char *verb, char *argv[], int c) {
        const char *prefix = verb ? verb : "", *sep = verb ? ": " : "", *help = verb ? " " : "";

        if (c == '?')
                return log_error_errno(EINVAL,
                                       "%s%sunknown option '%s'; see 'nsrun %s%s--help'",
                                       prefix, sep, option_name(argv, optopt),
                                       prefix, help);
        if (c == ':')
                return log_error_errno(EINVAL, "%s%soption '%s' needs a value; see 'nsrun %s%s--help'", prefix, sep,
                                       option_name(argv, optopt), prefix, help);
        return 0;
}

int find_command(int argc, char *argv[], int first, const char *verb) {
        for (int i = first; i < argc; i++)
                if (streq(argv[i], "--")) {
                        if (i + 1 >= argc)
                                return log_error_errno(EINVAL,
                                                       "%s: no command after '--'; write: nsrun %s [OPTIONS] -- "
                                                       "COMMAND [ARG...]",
                                                       verb, verb);
                        return i;
                }
        for (int i = first; i < argc; i++)
                if (streq(argv[i], "-h") || streq(argv[i], "--help"))
                        return argc; /* help needs no command */
        return log_error_errno(EINVAL,
                               "%s: missing '--' before the command; write: nsrun %s [OPTIONS] -- COMMAND [ARG...]",
                               verb,
                               verb);
}
