/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The narrow functions through which cgroup/ changes anything: cgroupfs writes, mkdir/rmdir, and SIGKILL. All of
 * it works relative to directory fds opened once, so a path renamed or replaced under us is never re-resolved. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "fileio.h"
#include "macro.h"
#include "parse-util.h"

int cg_open_dir(int dirfd, const char *path) {
        /* No O_NOFOLLOW: v1 mounts are reached through symlinks like "cpuacct -> cpu,cpuacct". */
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

int cg_mkdir_open(int dirfd, const char *name) {
        int fd;

        if (mkdirat(dirfd, name, 0755) < 0)
                return -errno;
        fd = cg_open_dir(dirfd, name);
        if (fd < 0)
                (void) unlinkat(dirfd, name, AT_REMOVEDIR);
        return fd;
}

int cg_rmdir(int dirfd, const char *name) {
        uint64_t deadline = now_usec() + 500 * UINT64_C(1000);

        /* The last task leaving does not always make the cgroup removable in the same instant (v1 drops its
         * css references asynchronously), so give EBUSY a moment. */
        for (;;) {
                if (unlinkat(dirfd, name, AT_REMOVEDIR) >= 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || now_usec() > deadline)
                        return -errno;
                cg_sleep_usec(5000);
        }
}

bool cg_file_exists(int dirfd, const char *file) {
        return faccessat(dirfd, file, F_OK, 0) >= 0;
}

int cg_write(int dirfd, const char *file, const char *value) {
        return write_string_file_at(dirfd, file, value);
}

int cg_write_u64(int dirfd, const char *file, uint64_t value) {
        char buf[32];

        if (value == CGROUP_LIMIT_MAX)
                return cg_write(dirfd, file, "max");
        (void) snprintf(buf, sizeof buf, "%" PRIu64, value);
        return cg_write(dirfd, file, buf);
}

int cg_read_u64(int dirfd, const char *file, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_one_line_file_at(dirfd, file, &s);
        if (r < 0)
                return r;
        return parse_uint64(s, ret);
}

int cg_read_limit(int dirfd, const char *file, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_full_file_at(dirfd, file, &s, NULL);
        if (r < 0)
                return r;
        return cgroup_parse_limit(s, ret);
}

int cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_full_file_at(dirfd, file, &s, NULL);
        if (r < 0)
                return r;
        return cgroup_parse_keyed(s, key, ret);
}

int cg_attach(int dirfd, pid_t pid) {
        char buf[32];

        if (pid < 0)
                return -EINVAL;
        (void) snprintf(buf, sizeof buf, "%d", pid == 0 ? (int) getpid() : (int) pid);
        return cg_write(dirfd, "cgroup.procs", buf);
}

int cg_read_pids(int dirfd, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *s = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, size = 0;
        char *save = NULL;
        int r;

        r = read_full_file_at(dirfd, "cgroup.procs", &s, &size);
        if (r < 0)
                return r;
        pids = calloc(size / 2 + 1, sizeof(pid_t)); /* at least "1\n" per pid */
        if (!pids)
                return -ENOMEM;
        for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned v;

                if (parse_unsigned(line, 1, INT32_MAX, &v) < 0)
                        return -EBADMSG;
                pids[n++] = (pid_t) v;
        }
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

int cg_kill_listed(int dirfd) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n;
        int r;

        r = cg_read_pids(dirfd, &pids, &n);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (size_t i = 0; i < n; i++) {
                /* Our own cgroups never hold nsrun itself or init; refuse to shoot them if a bug or a
                 * confused administrator put them there. */
                if (pids[i] <= 1 || pids[i] == getpid())
                        continue;
                if (kill(pids[i], SIGKILL) < 0 && errno != ESRCH)
                        return -errno;
        }
        return (int) MIN(n, (size_t) INT32_MAX);
}

static int cg_is_empty(int dirfd) {
        _cleanup_free_ pid_t *pids = NULL;
        uint64_t populated;
        size_t n;
        int r;

        /* v2: "populated" also covers descendants, and drops as soon as the last task has exited. */
        if (cg_read_keyed(dirfd, "cgroup.events", "populated", &populated) >= 0)
                return populated == 0;
        r = cg_read_pids(dirfd, &pids, &n);
        if (r < 0)
                return r;
        return n == 0;
}

int cg_wait_empty(int dirfd, uint64_t timeout_usec) {
        uint64_t deadline = now_usec() + timeout_usec, delay = 1000;

        for (;;) {
                int r = cg_is_empty(dirfd);

                if (r != 0)
                        return r < 0 ? r : 0;
                if (now_usec() > deadline)
                        return -EBUSY;
                cg_sleep_usec(delay);
                delay = MIN(delay * 2, 50 * UINT64_C(1000));
        }
}

int cg_kill_loop(int dirfd, CgroupFreezeFunc freeze, int freeze_fd) {
        uint64_t deadline = now_usec() + CGROUP_KILL_TIMEOUT_USEC;

        for (;;) {
                bool frozen = freeze && freeze_fd >= 0 && freeze(freeze_fd, true) >= 0;
                int r = cg_kill_listed(dirfd);

                if (frozen)
                        (void) freeze(freeze_fd, false);
                if (r < 0)
                        return r;
                if (r == 0 || cg_wait_empty(dirfd, 20 * UINT64_C(1000)) >= 0)
                        return cg_wait_empty(dirfd, CGROUP_KILL_TIMEOUT_USEC);
                if (now_usec() > deadline)
                        return -EBUSY;
        }
}

/* Kills until empty, for cgroups nobody will freeze first (stale runs). */
static int cg_kill_until_empty(int dirfd) {
        if (cg_write(dirfd, "cgroup.kill", "1") >= 0) /* 5.14+: one write, forks included */
                return cg_wait_empty(dirfd, CGROUP_KILL_TIMEOUT_USEC);
        return cg_kill_loop(dirfd, NULL, -EBADF);
}

static int cg_trim_children(int fd);

int cg_thaw_tree(int fd) {
        _cleanup_(closedirp) DIR *d = NULL;
        int r = 0;

        if (cg_file_exists(fd, "freezer.state"))
                r = cg_write(fd, "freezer.state", "THAWED");
        else if (cg_file_exists(fd, "cgroup.freeze"))
                r = cg_write(fd, "cgroup.freeze", "0");
        if (opendir_at(fd, ".", &d) < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_close_ int child = -EBADF;
                int q;

                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                child = cg_open_dir(dirfd(d), de->d_name);
                q = child < 0 ? child : cg_thaw_tree(child);
                if (q < 0 && r == 0)
                        r = q;
        }
        return r;
}

int cg_trim_contents(int fd) {
        int r, q;

        r = cg_kill_until_empty(fd);
        q = cg_trim_children(fd);
        return r < 0 ? r : q;
}

static int cg_trim_children(int fd) {
        DIR *d;
        int r;

        r = opendir_at(fd, ".", &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                int q;

                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                q = cg_trim(dirfd(d), de->d_name);
                if (q < 0 && r == 0)
                        r = q;
        }
        (void) closedir(d);
        return r;
}

int cg_trim(int dirfd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        int r, q;

        fd = cg_open_dir(dirfd, name);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        r = cg_trim_contents(fd);
        fd = safe_close(fd);
        q = cg_rmdir(dirfd, name);
        return r < 0 ? r : q;
}

int cg_read_mask(int dirfd, const char *file, unsigned *ret) {
        _cleanup_free_ char *s = NULL;
        unsigned mask = 0;
        char *save = NULL;
        int r;

        r = read_full_file_at(dirfd, file, &s, NULL);
        if (r < 0)
                return r;
        for (char *w = strtok_r(s, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                if (streq(w, "memory"))
                        mask |= CGROUP_MASK_MEMORY;
                else if (streq(w, "pids"))
                        mask |= CGROUP_MASK_PIDS;
        }
        *ret = mask;
        return 0;
}

void cg_sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = (time_t) (usec / 1000000), .tv_nsec = (long) (usec % 1000000) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

char *cg_path_join(const char *a, const char *b) {
        size_t la = strlen(a);
        char *s;

        while (la > 1 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        if (!*b)
                return strndup(a, la);
        if (asprintf(&s, "%.*s%s%s", (int) la, a, la > 0 && a[la - 1] == '/' ? "" : "/", b) < 0)
                return NULL;
        return s;
}

void cg_why(char **ret_why, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        if (!ret_why)
                return;
        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        free(*ret_why);
        *ret_why = r < 0 ? NULL : s;
}
