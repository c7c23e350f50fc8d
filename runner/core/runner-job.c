/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "macro.h"
#include "runner-job.h"
#include "strv.h"
#include "runner-parallel.h"

static const char *const status_names[_JOB_STATUS_MAX] = {
        [JOB_PENDING] = "pending", [JOB_RUNNING] = "running", [JOB_PASSED] = "passed",
        [JOB_FAILED] = "failed",   [JOB_FLAKY] = "flaky",     [JOB_OOM] = "oom",
        [JOB_TIMEOUT] = "timeout", [JOB_ERROR] = "error",     [JOB_NOT_RUN] = "not-run",
        [JOB_INTERRUPTED] = "interrupted",
};

const char *job_status_to_string(JobStatus s) {
        return s < _JOB_STATUS_MAX ? status_names[s] : "?";
}

bool job_status_is_failure(JobStatus s, bool flaky_fails) {
        return s == JOB_FAILED || s == JOB_OOM || s == JOB_TIMEOUT || s == JOB_ERROR || (flaky_fails && s == JOB_FLAKY);
}

double job_startup_s(const Job *j) {
        char *single[2];
        size_t n = strv_length(job_files(j, single));
        double tests = 0;

        if (!j->file_s || j->attempts == 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                tests += j->file_s[i];
        return MAX(j->wall_s - tests, 0.0);
}

double job_cpus(const Job *j) {
        return j->cpu_s > 0 && j->wall_s >= JOB_CPUS_MIN_WALL_S ? j->cpu_s / j->wall_s : -1;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

double jobs_startup_median(const JobList *l) {
        _cleanup_free_ double *v = new0(double, l->n + 1);
        size_t n = 0;

        if (!v)
                return -1;
        for (size_t i = 0; i < l->n; i++)
                if (job_startup_s(&l->jobs[i]) >= 0)
                        v[n++] = job_startup_s(&l->jobs[i]);
        if (n == 0)
                return -1;
        qsort(v, n, sizeof *v, cmp_double);
        return v[n / 2];
}

char *job_attempt_dir(const Job *j) {
        const char *slash = j->times_path ? strrchr(j->times_path, '/') : NULL;

        if (j->live_dir)
                return strdup(j->live_dir);
        return slash ? strndup(j->times_path, (size_t) (slash - j->times_path)) : NULL;
}

int job_attempt_dir_open(const Job *j) {
        _cleanup_free_ char *dir = job_attempt_dir(j);
        int fd;

        if (!dir)
                return -ENOMEM;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

char *const *job_files(const Job *j, char *single[static 2]) {
        if (j->members)
                return j->members;
        single[0] = j->name;
        single[1] = NULL;
        return single;
}

size_t job_arg_path_len(const char *arg) {
        const char *sep = strstr(arg, "::");
        return sep ? (size_t) (sep - arg) : strlen(arg);
}

int job_list_add(JobList *l, char *name, char **argv, unsigned n_tests, bool serial) {
        Job *j = name && argv ? reallocarray(l->jobs, l->n + 1, sizeof(Job)) : NULL;
        char *escaped = name ? escape_name(name) : NULL;

        /* name and argv are taken over, and may come straight from a strdup() or strv_copy() that failed */
        free(name);
        name = escaped;
        if (j)
                l->jobs = j;
        if (!j || !name) {
                free(name);
                strv_free(argv);
                return -ENOMEM;
        }
        l->jobs[l->n++] = (Job) {
                .name = name,
                .argv = argv,
                .n_tests = n_tests,
                .serial = serial,
                .hist_wall_s = -1,
                .status = JOB_PENDING,
        };
        return 0;
}

void job_done(Job *j) {
        free(j->name);
        strv_free(j->argv);
        strv_free(j->args);
        strv_free(j->members);
        strv_free(j->ids);
        slot_parts_free(j->slot_parts);
        free(j->log_path);
        free(j->junit_path);
        free(j->times_path);
        free(j->live_dir);
        free(j->file_s);
        free(j->error);
        free(j->killed_in);
        strv_free(j->rest.args);
        free(j->rest.killed_in);
        *j = (Job) {};
}

void job_list_done(JobList *l) {
        for (size_t i = 0; i < l->n; i++)
                job_done(&l->jobs[i]);
        free(l->jobs);
        *l = (JobList) {};
}
