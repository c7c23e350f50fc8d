/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "json-util.h"
#include "macro.h"
#include "runner-history.h"

struct History {
        json_object *jobs; /* name -> { wall_s, peak_mem_bytes, cpus, status, runs, updated } */
        double startup_s;  /* a pytest job's own start-up (interpreter, imports, collection) last time; <0 unknown */
        bool newer;        /* written by a newer nsrun: read nothing, write nothing */
};

History *history_free(History *h) {
        if (h) {
                json_object_put(h->jobs);
                free(h);
        }
        return NULL;
}

static History *history_new_empty(void) {
        History *h = new0(History, 1);

        if (h && !(h->jobs = json_object_new_object()))
                h = mfree(h);
        if (h)
                h->startup_s = -1;
        return h;
}

int history_parse(const char *text, History **ret) {
        _cleanup_(json_object_putp) json_object *root = json_tokener_parse(text);
        json_object *version, *jobs, *startup;
        History *h;

        if (!root || !json_object_is_type(root, json_type_object) ||
            !json_object_object_get_ex(root, "version", &version) || !json_object_is_type(version, json_type_int))
                return -EBADMSG;
        if (json_object_get_int64(version) > HISTORY_VERSION)
                return -EPROTONOSUPPORT;
        if (json_object_get_int64(version) < 1 || !json_object_object_get_ex(root, "jobs", &jobs) ||
            !json_object_is_type(jobs, json_type_object))
                return -EBADMSG;
        h = new0(History, 1);
        if (!h)
                return -ENOMEM;
        h->jobs = json_object_get(jobs);
        h->startup_s = -1;
        if (json_object_object_get_ex(root, "startup_s", &startup) &&
            (json_object_is_type(startup, json_type_double) || json_object_is_type(startup, json_type_int))) {
                double d = json_object_get_double(startup);
                h->startup_s = d >= 0 && d < 1e6 ? d : -1;
        }
        *ret = h;
        return 0;
}

static int history_read(const char *path, History **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, path, &text, NULL);
        if (r == -ENOENT) {
                *ret = history_new_empty();
                return *ret ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        return history_parse(text, ret);
}

int history_load(const char *dir, History **ret, char **ret_warning) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/history.json", dir) < 0)
                return -ENOMEM;
        r = history_read(path, ret);
        if (r >= 0 || r == -ENOMEM)
                return r;
        *ret = history_new_empty();
        if (!*ret)
                return -ENOMEM;
        (*ret)->newer = r == -EPROTONOSUPPORT;
        if (ret_warning && r == -EPROTONOSUPPORT)
                (void) asprintf(ret_warning,
                                "%s was written by a newer nsrun; running without history and leaving it as it is "
                                "(upgrade nsrun, or delete the file to start a new history)",
                                path);
        else if (ret_warning)
                (void) asprintf(ret_warning,
                                "%s is unreadable (%s); running without history and starting a new one", path,
                                r == -EBADMSG ? "not a valid nsrun history" : strerror(-r));
        return 0;
}

static json_object *entry(const History *h, const char *name) {
        json_object *e;

        return h && json_object_object_get_ex(h->jobs, name, &e) && json_object_is_type(e, json_type_object) ? e
                                                                                                           : NULL;
}

static double get_double(json_object *e, const char *key, double dflt) {
        json_object *v;

        if (!json_object_object_get_ex(e, key, &v) ||
            !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
                return dflt;
        return json_object_get_double(v);
}

void history_annotate(const History *h, JobList *l) {
        for (size_t i = 0; i < l->n; i++) {
                Job *j = &l->jobs[i];
                json_object *e = entry(h, j->name), *st;
                double wall, peak, cpus;

                if (!e)
                        continue;
                wall = get_double(e, "wall_s", -1);
                peak = get_double(e, "peak_mem_bytes", 0);
                cpus = get_double(e, "cpus", 0); /* absent in histories from before it was kept */
                j->hist_wall_s = wall >= 0 && wall < 1e9 ? wall : -1;
                j->hist_peak = peak > 0 && peak < 1.8e19 ? (uint64_t) peak : 0;
                j->hist_cpus = cpus > 0 && cpus < 1e6 ? cpus : 0;
                j->hist_failed = json_object_object_get_ex(e, "status", &st) &&
                                 json_object_is_type(st, json_type_string) &&
                                 !streq(json_object_get_string(st), "passed") &&
                                 !streq(json_object_get_string(st), "flaky");
        }
}

int history_record(History *h, const HistoryRecord *rec) {
        json_object *e, *old = entry(h, rec->name);
        double d = old ? get_double(old, "runs", 0) : 0;
        int64_t runs = d >= 0 && d < 1e15 ? (int64_t) d : 0; /* a hand-edited or corrupt count starts over */

        e = json_object_new_object();
        if (!e)
                return -ENOMEM;
        json_object_object_add(e, "wall_s", json_object_new_double(rec->wall_s));
        json_object_object_add(e, "peak_mem_bytes", json_object_new_int64((int64_t) rec->peak_mem));
        if (rec->cpus >= 0)
                json_object_object_add(e, "cpus", json_object_new_double(rec->cpus));
        json_object_object_add(e, "status", json_object_new_string(rec->status));
        json_object_object_add(e, "runs", json_object_new_int64(runs + 1));
        json_object_object_add(e, "updated", json_object_new_int64((int64_t) time(NULL)));
        if (json_object_object_add(h->jobs, rec->name, e) < 0) {
                json_object_put(e);
                return -ENOMEM;
        }
        return 0;
}

/* A pytest job's files are kept one by one, with the time their tests took (nsrun's plugin measures it), so a
 * file's history means the same whether it ran alone or batched with others. */
int history_records_from_jobs(const JobList *l, HistoryRecord **ret, size_t *ret_n) {
        HistoryRecord *v = NULL;
        size_t n = 0;

        for (size_t i = 0; i < l->n; i++) {
                const Job *j = &l->jobs[i];
                char *single[2];
                char *const *files = job_files(j, single);
                size_t k = strv_length(files);
                HistoryRecord *m;

                if (j->status == JOB_PENDING || j->status == JOB_RUNNING || j->status == JOB_NOT_RUN ||
                    j->status == JOB_INTERRUPTED || j->repeat_index > 0) /* a time cut short is not its time */
                        continue;
                m = reallocarray(v, n + k, sizeof *v);
                if (!m) {
                        free(v);
                        return -ENOMEM;
                }
                v = m;
                for (size_t f = 0; f < k; f++)
                        v[n++] = (HistoryRecord) {
                                .name = files[f],
                                .wall_s = j->file_s ? j->file_s[f] : j->wall_s / (double) k,
                                .peak_mem = j->peak_mem,
                                .cpus = job_cpus(j),
                                .status = job_status_to_string(j->status),
                        };
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int history_format(const History *h, char **ret) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        char *text;

        if (!root)
                return -ENOMEM;
        json_object_object_add(root, "version", json_object_new_int(HISTORY_VERSION));
        json_object_object_add(root, "jobs", json_object_get(h->jobs));
        if (h->startup_s >= 0)
                json_object_object_add(root, "startup_s", json_object_new_double(h->startup_s));
        text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

bool history_knows(const History *h, const char *name) {
        return entry(h, name);
}

int history_job_names(const History *h, char ***ret) {
        char **v = NULL;

        json_object_object_foreach(h->jobs, name, e) {
                (void) e;
                if (strv_push(&v, name) < 0) {
                        strv_free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}

static int write_history(const char *path, const History *h) {
        _cleanup_free_ char *tmp = NULL, *text = NULL;
        FILE *f;
        int r;

        if (asprintf(&tmp, "%s.%d.tmp", path, (int) getpid()) < 0)
                return -ENOMEM;
        r = history_format(h, &text);
        if (r < 0)
                return r;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        if (fputs(text, f) < 0 || fputc('\n', f) < 0 || fflush(f) != 0)
                r = -errno;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

/* A file split into parts by test id has one record per part: its history is their sum (time), their maximum
 * (peak, CPUs) and the first that did not pass (status). */
static size_t combine_parts(const HistoryRecord *in, size_t n, HistoryRecord *out) {
        size_t m = 0;

        for (size_t i = 0; i < n; i++) {
                size_t k = 0;
                while (k < m && !streq(out[k].name, in[i].name))
                        k++;
                if (k == m) {
                        out[m++] = in[i];
                        continue;
                }
                out[k].wall_s += in[i].wall_s;
                out[k].peak_mem = MAX(out[k].peak_mem, in[i].peak_mem);
                out[k].cpus = MAX(out[k].cpus, in[i].cpus);
                if (streq(out[k].status, "passed"))
                        out[k].status = in[i].status;
        }
        return m;
}

double history_startup_s(const History *h) {
        return h ? h->startup_s : -1;
}

int history_save(const char *dir, const HistoryRecord *records, size_t n, double startup_s) {
        _cleanup_free_ HistoryRecord *combined = new0(HistoryRecord, n + 1);
        _cleanup_free_ char *path = NULL, *lock = NULL;
        _cleanup_close_ int fd = -EBADF;
        History *h = NULL;
        int r;

        if (!combined || asprintf(&path, "%s/history.json", dir) < 0 || asprintf(&lock, "%s/history.lock", dir) < 0)
                return -ENOMEM;
        n = combine_parts(records, n, combined);
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX) < 0)
                return -errno;
        r = history_read(path, &h);
        if (r == -EPROTONOSUPPORT)
                return 0; /* a newer nsrun's file: leave it alone */
        if (r < 0 && r != -ENOMEM)
                h = history_new_empty(); /* corrupt: start over */
        if (!h)
                return -ENOMEM;
        r = 0;
        if (startup_s >= 0)
                h->startup_s = startup_s;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = history_record(h, &combined[i]);
        if (r >= 0)
                r = write_history(path, h);
        history_free(h);
        return r;
}
