/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run names, and the removal of runs whose nsrun died without cleaning up (SIGKILL, the OOM killer, a crash):
 * their jobs may still be running and holding memory that this run's budget counts on. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "fileio.h"
#include "macro.h"
#include "proc-util.h"

int cgroup_run_name(pid_t pid, char **ret) {
        uint64_t start;
        char state;
        int r;

        r = proc_pid_stat(pid, &state, &start);
        if (r < 0)
                return r;
        if (asprintf(ret, CGROUP_RUN_PREFIX "%d-%" PRIu64, (int) pid, start) < 0)
                return -ENOMEM;
        return 0;
}

typedef struct NameList {
        char **names;
        size_t n;
} NameList;

static void name_list_done(NameList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->names[i]);
        free(l->names);
}

static int name_list_add(NameList *l, const char *name) {
        char **p;

        for (size_t i = 0; i < l->n; i++)
                if (streq(l->names[i], name))
                        return 0;
        p = realloc(l->names, (l->n + 1) * sizeof(char *));
        if (!p)
                return -ENOMEM;
        l->names = p;
        l->names[l->n] = strdup(name);
        if (!l->names[l->n])
                return -ENOMEM;
        l->n++;
        return 0;
}

bool cgroup_is_run_scope(const char *name, pid_t *ret_pid, uint64_t *ret_starttime) {
        static const char suffix[] = ".scope";
        _cleanup_free_ char *run = NULL;
        size_t n = strlen(name);

        if (n <= sizeof suffix - 1 || !streq(name + n - (sizeof suffix - 1), suffix))
                return false;
        run = strndup(name, n - (sizeof suffix - 1));
        return run && cgroup_parse_run_name(run, ret_pid, ret_starttime) >= 0;
}

/* Is this directory entry the run (or, scopes, the systemd scope of a run) of an owner that is gone? Anything
 * we cannot judge is left alone. */
static bool run_is_stale(const char *name, bool scopes) {
        uint64_t start;
        pid_t pid;

        if (scopes ? !cgroup_is_run_scope(name, &pid, &start) : cgroup_parse_run_name(name, &pid, &start) < 0)
                return false;
        return proc_pid_alive_since(pid, start) == 0;
}

static int collect_stale(int dirfd, bool scopes, NameList *l) {
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        r = opendir_at(dirfd, ".", &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d)) && r >= 0;)
                if (de->d_type == DT_DIR && run_is_stale(de->d_name, scopes))
                        r = name_list_add(l, de->d_name);
        return r;
}

int cgroup_clean_stale_dirs(const int *dirfds, size_t n, unsigned *ret_removed) {
        _cleanup_(name_list_done) NameList l = {};
        unsigned removed = 0;
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                int q = dirfds[i] >= 0 ? collect_stale(dirfds[i], false, &l) : 0;
                if (q < 0 && r == 0)
                        r = q;
        }
        for (size_t k = 0; k < l.n; k++) {
                bool ok = true;

                /* Thaw in every hierarchy first: with v1 the freezer is one hierarchy and the memory cgroup
                 * (emptied first) another. */
                for (size_t i = 0; i < n; i++) {
                        _cleanup_close_ int fd = dirfds[i] >= 0 ? cg_open_dir(dirfds[i], l.names[k]) : -EBADF;
                        if (fd >= 0)
                                (void) cg_thaw_tree(fd);
                }
                for (size_t i = 0; i < n; i++) {
                        int q = dirfds[i] >= 0 ? cg_trim(dirfds[i], l.names[k]) : 0;
                        if (q < 0) {
                                ok = false;
                                if (r == 0)
                                        r = q;
                        }
                }
                removed += ok;
        }
        if (ret_removed)
                *ret_removed = removed;
        return r;
}

/* The scope itself is systemd's: its parent slice is not ours to write, and systemd notices the empty scope
 * (cgroup.events) and stops and removes it. We only empty it. */
int cgroup_clean_stale_scopes(int slice_fd, unsigned *ret_removed) {
        _cleanup_(name_list_done) NameList l = {};
        int r;

        r = collect_stale(slice_fd, true, &l);
        for (size_t k = 0; k < l.n; k++) {
                _cleanup_close_ int fd = cg_open_dir(slice_fd, l.names[k]);
                int q = fd;

                if (fd >= 0) {
                        (void) cg_thaw_tree(fd);
                        q = cg_trim_contents(fd);
                }

                if (q >= 0 && ret_removed)
                        (*ret_removed)++;
                else if (q < 0 && r >= 0)
                        r = q;
        }
        return r;
}
