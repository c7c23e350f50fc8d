/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The project's cache directory, and the leftovers of killed runs in it. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "proc-util.h"
#include "runner-cache.h"

int cache_dir_get(const char *root_dir, char **ret) {
        const char *env = getenv("NSRUN_CACHE_DIR");
        char *dir;

        if (env && *env)
                dir = strdup(env);
        else if (asprintf(&dir, "%s/.nsrun", root_dir) < 0)
                dir = NULL;
        if (!dir)
                return -ENOMEM;
        *ret = dir;
        return 0;
}

/* What pytest takes as its configuration file, as its rootdir search does (pytest's _pytest/config/findpaths.py):
 * pytest.ini and .pytest.ini whatever they hold, the others only with pytest's section. */
static bool has_pytest_config(int dir_fd) {
        static const struct {
                const char *file, *section;
        } configs[] = {
                { "pytest.ini", NULL },
                { ".pytest.ini", NULL },
                { "pyproject.toml", "[tool.pytest.ini_options]" },
                { "tox.ini", "[pytest]" },
                { "setup.cfg", "[tool:pytest]" },
        };

        for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                _cleanup_free_ char *text = NULL;
                if (configs[i].section ? read_full_file_at(dir_fd, configs[i].file, &text, NULL) < 0
                                       : faccessat(dir_fd, configs[i].file, F_OK, 0) < 0)
                        continue;
                if (!configs[i].section || strstr(text, configs[i].section))
                        return true;
        }
        return false;
}

int cache_project_root(const char *start, bool pytest, char **ret) {
        _cleanup_free_ char *dir = strdup(start), *git = NULL;
        char *found = NULL;

        if (!dir)
                return -ENOMEM;
        for (char *slash = dir + strlen(dir); !found; slash = strrchr(dir, '/')) {
                _cleanup_close_ int fd = -EBADF;

                if (!slash)
                        break;
                *slash = '\0'; /* the whole path first: its own end is "cut" at the terminating NUL */
                fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0 && pytest && has_pytest_config(fd))
                        found = *dir ? dir : (char *) "/";
                else if (fd >= 0 && !git && faccessat(fd, ".git", F_OK, AT_SYMLINK_NOFOLLOW) >= 0 &&
                         !(git = strdup(*dir ? dir : "/")))
                        return -ENOMEM;
                if (!*dir)
                        break;
        }
        found = found ?: git;
        if (!found || access(found, W_OK) < 0)
                found = (char *) start;
        found = strdup(found);
        if (!found)
                return -ENOMEM;
        *ret = found;
        return 0;
}

/* "<pid>-<starttime>" and nothing else: a name we did not make is never ours to remove. */
static bool parse_run_dir_name(const char *name, int *ret_pid, unsigned long long *ret_start) {
        int pid, end = 0;
        unsigned long long start;

        if (sscanf(name, "%d-%llu%n", &pid, &start, &end) != 2 || name[end] != '\0' || pid <= 0)
                return false;
        *ret_pid = pid;
        *ret_start = start;
        return true;
}

static void report(CacheRemovedFunc removed, const char *dir, const char *name, int error, void *userdata) {
        _cleanup_free_ char *path = NULL;

        if (removed && asprintf(&path, "%s/%s", dir, name) >= 0)
                removed(path, error, userdata);
}

int cache_remove_stale_runs(const char *runs_dir, CacheRemovedFunc removed, void *userdata) {
        _cleanup_(closedirp) DIR *d = opendir(runs_dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                unsigned long long start;
                int pid, r;

                if (!parse_run_dir_name(de->d_name, &pid, &start) || proc_pid_alive_since(pid, start) != 0)
                        continue;
                r = rm_rf_at(dirfd(d), de->d_name);
                n += r >= 0;
                report(removed, runs_dir, de->d_name, r, userdata);
        }
        return n;
}

static bool is_history_tmp(const char *name) {
        static const char prefix[] = "history.json.", suffix[] = ".tmp";
        size_t n = strlen(name);

        return n > strlen(prefix) + strlen(suffix) && strneq(name, prefix, strlen(prefix)) &&
               streq(name + n - strlen(suffix), suffix);
}

/* Calls f for every history.json.*.tmp in the directory open as dir_fd; stops at f's first error. */
static int for_each_history_tmp(int dir_fd, int (*f)(int dir_fd, const char *name, void *userdata), void *userdata) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = opendir_at(dir_fd, ".", &d);
        if (r < 0)
                return r;
        while (r >= 0 && (de = readdir(d)))
                if (is_history_tmp(de->d_name))
                        r = f(dirfd(d), de->d_name, userdata);
        return r;
}

static int found(int dir_fd, const char *name, void *userdata) {
        return -EEXIST; /* one is enough */
}

typedef struct RemoveContext {
        const char *cache_dir;
        CacheRemovedFunc removed;
        void *userdata;
        int n;
} RemoveContext;

static int remove_one(int dir_fd, const char *name, void *userdata) {
        RemoveContext *c = userdata;
        int r = RET_NERRNO(unlinkat(dir_fd, name, 0));

        c->n += r >= 0;
        report(c->removed, c->cache_dir, name, r, c->userdata);
        return 0;
}

int cache_remove_stale_history_tmp(const char *cache_dir, CacheRemovedFunc removed, void *userdata) {
        _cleanup_close_ int dir_fd = -EBADF, lock_fd = -EBADF;
        RemoveContext c = { .cache_dir = cache_dir, .removed = removed, .userdata = userdata };
        int r;

        dir_fd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = for_each_history_tmp(dir_fd, found, NULL);
        if (r != -EEXIST)
                return r; /* none (0), or the directory cannot be read: no need to create the lock file */
        /* The lock history_save() (runner-history.c) holds for as long as its temporary file exists. */
        lock_fd = openat(dir_fd, "history.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0)
                return -errno;
        r = for_each_history_tmp(dir_fd, remove_one, &c);
        return r < 0 ? r : c.n;
}

int cache_setup_layers_base(char **ret) {
        _cleanup_free_ char *base = NULL;
        struct stat st;

        if (asprintf(&base, "/var/tmp/nsrun-%u", (unsigned) geteuid()) < 0)
                return -ENOMEM;
        if (mkdir(base, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (lstat(base, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
                return -EPERM;
        *ret = TAKE_PTR(base);
        return 0;
}
