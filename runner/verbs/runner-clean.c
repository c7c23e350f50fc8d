/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsrun clean: removes what runs that were killed (SIGKILL, the OOM killer, a reboot of the container) left
 * behind. Every run already does this for its own project when it starts; this is for the disk, the memory and
 * the processes in between, and for CI jobs that want a clean slate. */

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
#include "runner-cache.h"
#include "runner-clean.h"
#include "runner-options.h"

typedef struct CleanContext {
        unsigned removed;
        unsigned failed;
} CleanContext;

static void clean_help(void) {
        printf("Usage: nsrun clean [OPTIONS]\n"
               "\n"
               "Remove what runs that were killed left behind: the cgroups of their jobs (killing what still\n"
               "runs in them) below the cgroup nsrun runs in, their run directories in the project's\n"
               ".nsrun/runs/ (and in $NSRUN_CACHE_DIR), their --setup layers in /var/tmp/nsrun-UID/, and\n"
               "half-written history files. Runs that are still going are left alone. Every run does this\n"
               "for its own project when it starts.\n"
               "\n"
               "Options:\n"
               "      --root-dir DIR       the project directory (default: .)\n"
               "  -h, --help               show this help\n"
               "\n"
               "Exit status: 0 nothing was left, or all of it was removed; 1 something could not be removed\n"
               "(the message says what and why); 2 bad usage.\n");
}

static void removed_one(const char *path, int error, void *userdata) {
        CleanContext *c = userdata;

        if (error < 0) {
                log_error_errno(error, "Cannot remove %s: %m; remove it by hand, as its owner", path);
                c->failed++;
                return;
        }
        printf("removed %s\n", path);
        c->removed++;
}

static void clean_cache_dir(const char *dir, CleanContext *c) {
        _cleanup_free_ char *runs = NULL;
        int r;

        if (asprintf(&runs, "%s/runs", dir) < 0) {
                c->failed++;
                (void) log_oom();
                return;
        }
        r = cache_remove_stale_runs(runs, removed_one, c);
        if (r < 0) {
                log_error_errno(r, "Cannot read %s: %m", runs);
                c->failed++;
        }
        r = cache_remove_stale_history_tmp(dir, removed_one, c);
        if (r < 0) {
                log_error_errno(r, "Cannot clean the history files in %s: %m", dir);
                c->failed++;
        }
}

/* --setup keeps each run's setup layers in /var/tmp/nsrun-<uid>/<pid>-<starttime> (runner-cache.h). Only a
 * directory that is ours and private is looked into: in the shared /var/tmp another user could have put
 * anything there. */
static void clean_setup_layers(CleanContext *c) {
        _cleanup_free_ char *base = NULL;
        int r;

        if (cache_setup_layers_base(&base) < 0)
                return;
        r = cache_remove_stale_runs(base, removed_one, c);
        if (r < 0) {
                log_error_errno(r, "Cannot read %s: %m", base);
                c->failed++;
        }
}

static void clean_cgroups(CleanContext *c) {
        CgroupManagerOptions co = { .allow_systemd = true, .require_memory = false };
        unsigned n = 0;
        int r;

        r = cgroup_clean_stale(&co, &n);
        if (n > 0) {
                printf("removed the cgroups of %u killed run%s (and what still ran in them)\n", n, n == 1 ? "" : "s");
                c->removed += n;
        }
        if (r < 0) {
                log_error_errno(r, "Cannot remove the cgroups of killed runs below this process's cgroup: %m; run "
                                "'nsrun clean' as their owner (root, or the user they were delegated to)");
                c->failed++;
        }
}

static int parse_clean_args(int argc, char *argv[], char **ret_root) {
        static const struct option options[] = {
                { "root-dir", required_argument, NULL, ARG_ROOT_DIR },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        char buf[PATH_MAX];
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        clean_help();
                        return 0;
                case ARG_ROOT_DIR:
                        if (!realpath(optarg, buf))
                                return log_error_errno(errno, "--root-dir %s: %m; give the project's directory",
                                                       optarg);
                        free(*ret_root);
                        *ret_root = strdup(buf);
                        if (!*ret_root)
                                return log_oom();
                        break;
                default:
                        return log_getopt_error("clean", argv, c);
                }
        if (optind < argc)
                return log_error_errno(EINVAL,
                                       "clean: unexpected argument '%s'; see 'nsrun clean --help'", argv[optind]);
        if (!*ret_root && !(*ret_root = getcwd(NULL, 0)))
                return log_error_errno(errno, "Cannot determine the current directory: %m");
        return 1;
}

int verb_clean(int argc, char *argv[]) {
        _cleanup_free_ char *root = NULL, *cache = NULL, *pytest_root = NULL, *git_root = NULL;
        char *caches[4] = {};
        CleanContext c = {};
        int r;

        r = parse_clean_args(argc, argv, &root);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        /* With NSRUN_CACHE_DIR set, earlier runs without it may still have left things in the project; and a run
         * from here kept .nsrun/ at pytest's rootdir or the git top (cache_project_root()), older ones here. */
        if (cache_dir_get(root, &cache) < 0 || cache_project_root(root, true, &pytest_root) < 0 ||
            cache_project_root(root, false, &git_root) < 0 || asprintf(&caches[1], "%s/.nsrun", root) < 0 ||
            asprintf(&caches[2], "%s/.nsrun", pytest_root) < 0 || asprintf(&caches[3], "%s/.nsrun", git_root) < 0) {
                for (size_t i = 1; i < ELEMENTSOF(caches); i++)
                        free(caches[i]);
                return log_oom(), EXIT_RUN_FAILURES;
        }
        caches[0] = cache;

        clean_cgroups(&c);
        clean_setup_layers(&c);
        for (size_t i = 0; i < ELEMENTSOF(caches); i++) {
                bool seen = false;
                for (size_t k = 0; k < i; k++)
                        seen = seen || streq(caches[k], caches[i]);
                if (!seen)
                        clean_cache_dir(caches[i], &c);
        }
        for (size_t i = 1; i < ELEMENTSOF(caches); i++)
                free(caches[i]);

        if (c.removed == 0 && c.failed == 0)
                printf("nothing to clean\n");
        return c.failed > 0 ? EXIT_RUN_FAILURES : 0;
}
