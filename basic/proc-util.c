/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "parse-util.h"
#include "proc-util.h"

int proc_parse_stat(const char *text, char *ret_state, uint64_t *ret_starttime) {
        const char *p;
        uint64_t start;
        char state;
        int r;

        if (!text || !ret_state || !ret_starttime)
                return -EINVAL;
        /* comm may hold spaces and ")", so fields are counted from the last ")". */
        p = strrchr(text, ')');
        if (!p || p[1] != ' ' || !p[2])
                return -EINVAL;
        state = p[2];
        p += 2;
        /* state is field 3, starttime field 22: skip 19 separators. */
        for (unsigned field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EINVAL;
                p++;
        }
        r = parse_u64_span(p, strcspn(p, " \n"), &start);
        if (r < 0)
                return r;
        *ret_state = state;
        *ret_starttime = start;
        return 0;
}

int proc_pid_stat(pid_t pid, char *ret_state, uint64_t *ret_starttime) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        r = read_full_file_at(AT_FDCWD, path, &text, NULL);
        if (r < 0)
                return r;
        return proc_parse_stat(text, ret_state, ret_starttime);
}

uint64_t proc_pid_starttime(pid_t pid) {
        uint64_t start;
        char state;

        return proc_pid_stat(pid, &state, &start) < 0 ? 0 : start;
}

/* pids are read in our PID namespace: an owner in another one that shares our cgroup or cache directory would be
 * misjudged, but runs only appear below the cgroup and project an nsrun was started in, and containers do not
 * share theirs. */
int proc_pid_alive_since(pid_t pid, uint64_t starttime) {
        uint64_t start;
        char state;
        int r;

        if (kill(pid, 0) < 0 && errno == ESRCH)
                return 0;
        /* The pid exists (EPERM: another user's): it is the owner only if it started at the same tick. */
        r = proc_pid_stat(pid, &state, &start);
        if (r == -ENOENT || r == -ESRCH)
                return 0;
        if (r < 0)
                return r;
        return start == starttime && state != 'Z' && state != 'X';
}
