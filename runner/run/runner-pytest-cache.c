/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pytest's cache (.pytest_cache) after a run. Each job reads the project's cache through its overlay, so --lf,
 * --ff, --nf and --sw select as they would in the project, and what it writes there goes with its sandbox; nsrun's
 * plugin records the values the job set (NSRUN_CACHE_OUT, the attempt's pytest-cache.json) and here they are
 * merged into the project's cache directory, so that the next 'pytest --lf' (under nsrun or not) runs this run's
 * failures:
 *   cache/lastfailed  the project's, less the tests some job removed (they passed), plus the ones some job added
 *   cache/nodeids     the union of the project's and every job's (each is the project's plus the job's tests)
 *   cache/stepwise    the first job's (in collection order) that names a test, else the last value set
 *   any other key     (a plugin's cache.set()) the value of the last job, in collection order, that set it
 * A job's record is hostile input: read as every job file is (read_job_file_at()), keys checked to be relative
 * paths below v/ without '..', and nothing written through a symbolic link below the cache directory. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "strv.h"
#include "runner-pytest-cache.h"

#define KEY_MAX 1024
#define KEY_DEPTH_MAX 16

typedef struct CacheMerge {
        json_object *added;     /* lastfailed: test id -> its value, added by some job */
        json_object *removed;   /* lastfailed: test ids some job removed, as keys */
        json_object *nodeids;   /* cache/nodeids of every job, as keys */
        json_object *stepwise;  /* cache/stepwise */
        json_object *values;    /* every other key: the last job's value */
        bool lastfailed, has_nodeids, has_stepwise;
} CacheMerge;

/* pytest's key: '/'-separated names, each a file or directory below v/. */
static bool key_valid(const char *key) {
        const char *p = key;

        if (!key || !*key || strlen(key) > KEY_MAX)
                return false;
        for (unsigned depth = 0;; depth++) {
                size_t n = strcspn(p, "/");
                if (n == 0 || depth >= KEY_DEPTH_MAX || (n == 1 && p[0] == '.') || (n == 2 && strneq(p, "..", 2)))
                        return false;
                if (!p[n])
                        return true;
                p += n + 1;
        }
}

static void merge_job(CacheMerge *m, json_object *doc) {
        json_object *lf, *values, *added, *removed;

        if (json_object_object_get_ex(doc, "lastfailed", &lf) && json_object_is_type(lf, json_type_object) &&
            json_object_object_get_ex(lf, "added", &added) && json_object_is_type(added, json_type_object) &&
            (removed = json_get_array(lf, "removed"))) {
                m->lastfailed = true;
                json_object_object_foreach(added, test, outcome)
                        json_object_object_add(m->added, test, json_object_get(outcome));
                for (size_t i = 0; i < json_object_array_length(removed); i++) {
                        json_object *id = json_object_array_get_idx(removed, i);
                        if (json_object_is_type(id, json_type_string))
                                json_object_object_add(m->removed, json_object_get_string(id), NULL);
                }
        }
        if (!json_object_object_get_ex(doc, "values", &values) || !json_object_is_type(values, json_type_object))
                return;
        json_object_object_foreach(values, key, value) {
                if (!key_valid(key) || streq(key, "cache/lastfailed"))
                        continue;
                if (streq(key, "cache/nodeids")) {
                        m->has_nodeids = true;
                        for (size_t i = 0; json_object_is_type(value, json_type_array) &&
                                           i < json_object_array_length(value); i++) {
                                json_object *id = json_object_array_get_idx(value, i);
                                if (json_object_is_type(id, json_type_string))
                                        json_object_object_add(m->nodeids, json_object_get_string(id), NULL);
                        }
                } else if (streq(key, "cache/stepwise")) {
                        if (!m->has_stepwise || (!m->stepwise && value)) {
                                json_object_put(m->stepwise);
                                m->stepwise = json_object_get(value);
                        }
                        m->has_stepwise = true;
                } else
                        json_object_object_add(m->values, key, json_object_get(value));
        }
}

/* Every job's record of its last attempt (a retried job's earlier attempts do not count, as its earlier outcomes
 * do not), in collection order. Returns how many were read. */
static size_t read_records(const RunContext *rc, CacheMerge *m) {
        _cleanup_close_ int run_fd = open(rc->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t n = 0;

        if (run_fd < 0)
                return 0;
        for (size_t i = 0; i < rc->src.jobs.n; i++) {
                const Job *j = &rc->src.jobs.jobs[i];
                _cleanup_(json_object_putp) json_object *doc = NULL;
                _cleanup_free_ char *text = NULL;
                char path[96];
                int r;

                if (j->attempts == 0)
                        continue;
                (void) snprintf(path, sizeof path, JOB_DIR_FORMAT "/" PYTEST_CACHE_RECORD, i, j->attempts);
                r = read_job_file_at(run_fd, path, JOB_FILE_MAX, &text, NULL);
                if (r == -ENOENT) /* -p no:cacheprovider, or killed before pytest ended */
                        continue;
                doc = r >= 0 ? json_tokener_parse(text) : NULL;
                if (!doc || !json_object_is_type(doc, json_type_object)) {
                        log_warning("Not merging job %s's pytest cache into the project: its record %s %s", j->name,
                                    PYTEST_CACHE_RECORD, r < 0 ? job_file_error(r) : "is not a JSON object");
                        continue;
                }
                merge_job(m, doc);
                n++;
        }
        return n;
}

/* The directory of key's file below the cache directory, made as needed, never through a symbolic link; *ret_name
 * points at the file's name in key. */
/* One directory below fd, made if missing, never through a symbolic link; replaces fd. */
static int enter_dir(int *fd, const char *name) {
        int sub;

        if (mkdirat(*fd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        sub = openat(*fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return -errno;
        safe_close(*fd);
        *fd = sub;
        return 0;
}

/* The directory of key's file below the cache directory's v/, made as needed; *ret_name points at the file's
 * name in key. */
static int open_key_dir(int cache_fd, const char *key, const char **ret_name) {
        _cleanup_close_ int fd = fcntl(cache_fd, F_DUPFD_CLOEXEC, 3);
        char part[KEY_MAX + 1];
        const char *p = key, *slash;
        int r;

        if (fd < 0)
                return -errno;
        r = enter_dir(&fd, "v");
        for (; r >= 0 && (slash = strchr(p, '/')); p = slash + 1) {
                memcpy(part, p, (size_t) (slash - p));
                part[slash - p] = '\0';
                r = enter_dir(&fd, part);
        }
        if (r < 0)
                return r;
        *ret_name = p;
        return TAKE_FD(fd);
}

/* The project's value of key, or NULL. */
static json_object *read_value(int cache_fd, const char *key) {
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *text = NULL;
        const char *name;

        dfd = open_key_dir(cache_fd, key, &name);
        if (dfd < 0 || read_job_file_at(dfd, name, JOB_FILE_MAX, &text, NULL) < 0)
                return NULL;
        return json_tokener_parse(text);
}

/* Written as pytest writes it (indented JSON), through a new file renamed over the old one. */
static int write_value(int cache_fd, const char *key, json_object *value) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        const char *name, *text;
        char tmp[64];
        size_t len;

        dfd = open_key_dir(cache_fd, key, &name);
        if (dfd < 0)
                return dfd;
        text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
        len = strlen(text);
        (void) snprintf(tmp, sizeof tmp, ".nsrun-%d.tmp", (int) getpid());
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        for (size_t off = 0; off < len;) {
                ssize_t w = write(fd, text + off, len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        int r = -errno;
                        (void) unlinkat(dfd, tmp, 0);
                        return r;
                }
                off += (size_t) w;
        }
        if (renameat(dfd, tmp, dfd, name) < 0) {
                int r = -errno;
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        return 0;
}

/* The keys of o, sorted; NULL on failure. Freed with free() alone: the strings are o's. */
static const char **sorted_keys(json_object *o, size_t *ret_n) {
        size_t n = 0;
        const char **v = new0(const char *, (size_t) json_object_object_length(o) + 1);

        if (!v)
                return NULL;
        json_object_object_foreach(o, key, value) {
                (void) value;
                v[n++] = key;
        }
        qsort(v, n, sizeof *v, strcmp_ptr);
        *ret_n = n;
        return v;
}

/* Writes the keys of set, sorted as pytest keeps them, to the cache's file name: as an array of the keys, or as
 * an object of each key and its value in set. */
static int write_sorted(int cache_fd, const char *name, json_object *set, bool keys_only) {
        _cleanup_(json_object_putp) json_object *out = keys_only ? json_object_new_array() : json_object_new_object();
        _cleanup_free_ const char **keys = NULL;
        size_t n;

        if (!out || !(keys = sorted_keys(set, &n)))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *v = NULL;
                if (keys_only) {
                        json_object_array_add(out, json_object_new_string(keys[i]));
                        continue;
                }
                (void) json_object_object_get_ex(set, keys[i], &v);
                json_object_object_add(out, keys[i], json_object_get(v));
        }
        return write_value(cache_fd, name, out);
}

/* lastfailed: the project's (nothing under --cache-clear), less what the jobs removed, plus what they added. */
static int write_lastfailed(int cache_fd, const CacheMerge *m, bool clear) {
        _cleanup_(json_object_putp) json_object *cur = clear ? NULL : read_value(cache_fd, "cache/lastfailed");

        if (!json_object_is_type(cur, json_type_object)) {
                json_object_put(cur);
                cur = json_object_new_object();
                if (!cur)
                        return -ENOMEM;
        }
        json_object_object_foreach(m->removed, gone, unused) {
                (void) unused;
                json_object_object_del(cur, gone);
        }
        json_object_object_foreach(m->added, id, value)
                json_object_object_add(cur, id, json_object_get(value));
        return write_sorted(cache_fd, "cache/lastfailed", cur, /* keys_only= */ false);
}

/* nodeids: the project's and every job's, sorted, as pytest keeps them. */
static int write_nodeids(int cache_fd, const CacheMerge *m, bool clear) {
        _cleanup_(json_object_putp) json_object *cur = clear ? NULL : read_value(cache_fd, "cache/nodeids");

        for (size_t i = 0; json_object_is_type(cur, json_type_array) && i < json_object_array_length(cur); i++) {
                json_object *id = json_object_array_get_idx(cur, i);
                if (json_object_is_type(id, json_type_string))
                        json_object_object_add(m->nodeids, json_object_get_string(id), NULL);
        }
        return write_sorted(cache_fd, "cache/nodeids", m->nodeids, /* keys_only= */ true);
}

/* The cache directory, made as pytest makes it (with its .gitignore, so that it is never committed) if it is not
 * there. */
static int open_cache_dir(const char *path) {
        static const struct {
                const char *name, *text;
        } files[] = {
                { "README.md", "# pytest cache directory #\n\nWritten by nsrun from the jobs of a run, as pytest's "
                               "cache plugin writes it\n(--lf, --ff, --nf, --sw read it). Do not commit it; "
                               "see `pytest --cache-show`.\n" },
                { ".gitignore", "# Created by pytest automatically.\n*\n" },
                { "CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"
                                  "# This file is a cache directory tag created by pytest's cache plugin.\n"
                                  "# For information about cache directory tags, see https://bford.info/cachedir/\n" },
        };
        bool made = access(path, F_OK) < 0;
        int fd, r;

        if (made && (r = mkdir_p(path, 0755)) < 0)
                return r;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; made && i < ELEMENTSOF(files); i++) {
                _cleanup_close_ int f = openat(fd, files[i].name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                               0644);
                if (f >= 0 && write(f, files[i].text, strlen(files[i].text)) < 0)
                        log_debug("Cannot write %s/%s: %m", path, files[i].name);
        }
        return fd;
}

void pytest_cache_merge(const RunContext *rc) {
        const char *dir = rc->src.pytest_cache_dir;
        CacheMerge m = {
                .added = json_object_new_object(),
                .removed = json_object_new_object(),
                .nodeids = json_object_new_object(),
                .values = json_object_new_object(),
        };
        _cleanup_close_ int cache_fd = -EBADF;
        int r = 0;

        if (!rc->src.pytest || !dir || rc->opt->dry_run)
                goto out;
        if (!m.added || !m.removed || !m.nodeids || !m.values) {
                r = -ENOMEM;
                goto out;
        }
        if (read_records(rc, &m) == 0)
                goto out;
        cache_fd = open_cache_dir(dir);
        if (cache_fd < 0) {
                r = cache_fd;
                goto out;
        }
        /* --cache-clear: every job started from an empty cache, and so does the project's */
        if (rc->src.pytest_cache_clear && (r = rm_rf_at(cache_fd, "v")) < 0 && r != -ENOENT)
                goto out;
        r = 0;
        if (m.lastfailed)
                r = write_lastfailed(cache_fd, &m, rc->src.pytest_cache_clear);
        if (r >= 0 && m.has_nodeids)
                r = write_nodeids(cache_fd, &m, rc->src.pytest_cache_clear);
        if (r >= 0 && m.has_stepwise)
                r = write_value(cache_fd, "cache/stepwise", m.stepwise);
        json_object_object_foreach(m.values, key, value)
                if (r >= 0)
                        r = write_value(cache_fd, key, value);
out:
        if (r < 0)
                log_warning("Cannot merge the jobs' pytest cache into %s (%s); 'pytest --lf' will not see this "
                            "run's failures",
                            dir, strerror(-r));
        json_object_put(m.added);
        json_object_put(m.removed);
        json_object_put(m.nodeids);
        json_object_put(m.stepwise);
        json_object_put(m.values);
}

/* ---- hypothesis's example database ---- */

/* hypothesis names a test's directory and each example file by a hash in hex; nothing else is taken. */
static bool example_name_valid(const char *s) {
        size_t n = strlen(s);

        return n > 0 && n <= 64 &&
               strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == n;
}

/* A job's example into the project's key directory, as a new file: one of the same name there is kept. */
static int copy_example(int from_dir, const char *name, int to_dir) {
        int r = copy_job_file_at(from_dir, name, HYPOTHESIS_EXAMPLE_MAX, to_dir, name);

        return r == -EEXIST ? 0 : r;
}

/* Why a directory of a job's copy could not be opened (O_DIRECTORY | O_NOFOLLOW), for a message. */
static const char *dir_error(int dir_fd, const char *name) {
        struct stat st;

        return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode) ? "is a symbolic link"
                                                                                          : "is not a directory";
}

static void refuse_example(const Job *j, const char *key, const char *value, const char *db, const char *why) {
        log_warning("Not adding job %s's hypothesis example %s%s%s to %s: it %s", j->name, key, value ? "/" : "",
                    value ?: "", db, why);
}

/* One job's copy (a directory per key, a file per example) into the project's database, opened as needed. */
static int merge_examples(const Job *j, int from, const char *db, int *db_fd, unsigned *n) {
        _cleanup_(closedirp) DIR *keys = fdopendir(from);
        struct dirent *k;
        int r;

        if (!keys) {
                safe_close(from);
                return -errno;
        }
        while ((k = readdir(keys))) {
                _cleanup_close_ int kfd = -EBADF, to = -EBADF;
                _cleanup_(closedirp) DIR *values = NULL;
                struct dirent *v;

                if (streq(k->d_name, ".") || streq(k->d_name, ".."))
                        continue;
                if (!example_name_valid(k->d_name)) {
                        refuse_example(j, k->d_name, NULL, db, "is not named as hypothesis names a test's examples");
                        continue;
                }
                kfd = openat(dirfd(keys), k->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (kfd < 0 || !(values = fdopendir(kfd))) {
                        refuse_example(j, k->d_name, NULL, db, dir_error(dirfd(keys), k->d_name));
                        continue;
                }
                kfd = -EBADF; /* values owns it */
                while ((v = readdir(values))) {
                        if (streq(v->d_name, ".") || streq(v->d_name, ".."))
                                continue;
                        if (!example_name_valid(v->d_name)) {
                                refuse_example(j, k->d_name, v->d_name, db, "is not named as hypothesis names examples");
                                continue;
                        }
                        if (++*n > HYPOTHESIS_EXAMPLES_MAX) {
                                refuse_example(j, k->d_name, v->d_name, db, "is one too many (the most is 10000 a job)");
                                return 0;
                        }
                        if (*db_fd < 0) {
                                if ((r = mkdir_p(db, 0755)) < 0)
                                        return r;
                                *db_fd = open(db, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                                if (*db_fd < 0)
                                        return -errno;
                        }
                        if (to < 0) {
                                to = fcntl(*db_fd, F_DUPFD_CLOEXEC, 3);
                                if (to < 0)
                                        return -errno;
                                if ((r = enter_dir(&to, k->d_name)) < 0)
                                        return r;
                        }
                        r = copy_example(dirfd(values), v->d_name, to);
                        if (r == -EFBIG)
                                refuse_example(j, k->d_name, v->d_name, db, "is larger than 1 MiB");
                        else if (r < 0 && r != -ENOENT)
                                refuse_example(j, k->d_name, v->d_name, db, job_file_error(r));
                }
        }
        return 0;
}

void pytest_hypothesis_merge(const RunContext *rc) {
        const char *db = rc->src.pytest_hypothesis_db;
        _cleanup_close_ int run_fd = -EBADF, db_fd = -EBADF;

        if (!rc->src.pytest || !db || rc->opt->dry_run)
                return;
        run_fd = open(rc->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (run_fd < 0)
                return;
        for (size_t i = 0; i < rc->src.jobs.n; i++) {
                const Job *j = &rc->src.jobs.jobs[i];
                unsigned n = 0;

                /* every attempt: an example that failed in an attempt a retry passed is still one to replay */
                for (unsigned a = 1; a <= j->attempts; a++) {
                        char path[96];
                        int fd, r;

                        (void) snprintf(path, sizeof path, JOB_DIR_FORMAT "/" HYPOTHESIS_RECORD, i, a);
                        fd = openat(run_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0) {
                                if (errno != ENOENT)
                                        refuse_example(j, HYPOTHESIS_RECORD, NULL, db, dir_error(run_fd, path));
                                continue;
                        }
                        r = merge_examples(j, fd, db, &db_fd, &n);
                        if (r < 0) {
                                log_warning("Cannot add the jobs' hypothesis examples to %s (%s); the next run will "
                                            "not replay this run's failures first",
                                            db, strerror(-r));
                                return;
                        }
                }
        }
}
