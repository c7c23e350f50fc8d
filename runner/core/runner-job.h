/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "strv.h"

typedef enum JobStatus {
        JOB_PENDING,
        JOB_RUNNING,
        JOB_PASSED,
        JOB_FAILED,
        JOB_FLAKY,      /* failed, then passed on a retry */
        JOB_OOM,        /* the kernel killed something in it for memory */
        JOB_TIMEOUT,    /* --timeout expired; its whole cgroup was killed */
        JOB_ERROR,      /* could not be run, or the test runner itself failed (pytest exit 2-4) */
        JOB_NOT_RUN,    /* never started: -x stopped the run, or Ctrl-C */
        JOB_INTERRUPTED, /* killed by nsrun on Ctrl-C, SIGTERM, SIGHUP or SIGPIPE: neither passed nor failed */
        _JOB_STATUS_MAX,
} JobStatus;

const char *job_status_to_string(JobStatus s);
/* Did it end badly (counts towards exit status 1)? flaky_fails: --flaky-fails. */
bool job_status_is_failure(JobStatus s, bool flaky_fails);

/* A pytest job killed in the middle of its tests (a timeout, an out-of-memory kill, a crash) keeps the results of
 * the tests it finished, its culprit is an error, and the tests it had not reached run once in a new attempt, as
 * pytest-xdist replaces a crashed worker. The job's outcome stays the killed attempt's (status, exit, culprit),
 * its counts are both attempts'. */
typedef struct JobRest {
        unsigned attempt;       /* the attempt that ran them (the killed one is the one before); 0: none */
        unsigned tests;         /* how many */
        char **args;            /* their pytest arguments: absolute path and the rest of the id */
        JobStatus killed_status; /* how the killed attempt ended */
        JobStatus status;       /* how the new one ended */
        int signal;             /* the signal that killed it, or 0 */
        char *killed_in;        /* the test the new one was killed in, if it died too (escaped); NULL */
} JobRest;

typedef struct Job {
        char *name;             /* what the user reads: "tests/test_model.py", an argument, a command line */
        char **argv;            /* the command, NULL-terminated */
        char **args;            /* pytest: the files or test ids it runs (the tail of argv), else NULL */
        char **members;         /* pytest batches: the names of the files it holds, else NULL */
        char **ids;             /* pytest, one job per file: its tests as arguments ("tests/t.py::test_a[1]"),
                                 * in collection order, so that a long file can be split; else NULL */
        unsigned n_tests;       /* tests it holds (pytest), 0 if not known */
        bool serial;            /* runs alone, after the rest (--serial GLOB, pytest markers serial/no_parallel) */
        unsigned repeat_index;  /* --repeat: which copy this is (0-based) */
        unsigned seq;           /* its number in input order, from 1 ({#}, --joblog's Seq) */
        char ***slot_parts;     /* 'CMD {%} ::: ...': argv's words split at each {%}, filled in at its start; or NULL */

        /* from the history of earlier runs */
        double hist_wall_s;     /* < 0: never seen */
        uint64_t hist_peak;
        double hist_cpus;       /* CPUs it kept busy (CPU time over wall time), 0: not measured */
        bool hist_failed;       /* failed the last time it ran */
        double expected_s;      /* what the scheduler sorts by */
        uint64_t mem_request;   /* memory it is admitted with and capped at (see plan_mem_request()), 0: no cap */
        bool heavy;             /* its request is more than a fair share: started first */
        unsigned cpu_request;   /* CPUs it is admitted with (see plan_cpu_request()) */

        /* the outcome */
        JobStatus status;
        int exit_code;
        int signal;
        unsigned attempts;
        double start_s;         /* when the last attempt started, seconds from the run's start */
        double wall_s;          /* of the last attempt */
        double setup_s;         /* sandbox and cgroup creation before the command started */
        double teardown_s;      /* from the command's end to its sandbox and cgroup being gone */
        uint64_t peak_mem;      /* bytes, max over attempts */
        double cpu_s;           /* CPU time (user+system) of the last attempt, 0: not measured */
        uint64_t mem_limit;     /* of the last attempt */
        uint64_t oom_limit;     /* killed for memory at this learned request, then retried alone; else 0 */
        uint64_t oom_kills;     /* processes the kernel killed for memory in the last attempt (cgroup oom_kill) */
        unsigned tests_passed, tests_failed, tests_skipped;
        unsigned tests_errors, tests_xfailed, tests_xpassed; /* pytest's words, when its plugin counted them; else
                                                               * errors are in tests_failed, xfails in
                                                               * tests_skipped and xpasses in tests_passed */
        unsigned tests_rerun;   /* pytest-rerunfailures' reruns (a test's attempts before its last), as pytest's
                                 * final line counts them: not tests of their own */
        bool tests_counted;     /* the counts above are the plugin's, of every test the attempt ran */
        char *log_path;         /* its output */
        char *junit_path;       /* pytest's per-job JUnit XML, NULL for other jobs */
        char *times_path;       /* pytest: seconds per file, written by nsrun's plugin */
        char *live_dir;         /* where its running attempt writes, while that is not times_path's directory (a
                                 * forked job's files are in its prepared interpreter's area until it ends) */
        double *file_s;         /* pytest: each file's test time (members, or the job itself), from times_path;
                                 * NULL if the plugin did not write them (a killed job) */
        char *error;            /* why it could not run (JOB_ERROR), or NULL */
        char *killed_in;        /* pytest: the test it was running when it was killed or crashed (escaped), from
                                 * its attempt's progress.json; NULL if it ended on its own or between tests */
        JobRest rest;           /* pytest: the tests a killed attempt had not reached, run once in a new attempt */
        unsigned handed_over;   /* pytest: tests its attempt handed to a new job (see runner-run.c), then ended */
} Job;

/* At most so many jobs are added during a run, each the tests a running job handed over to an idle worker: the
 * list has room for them from the start, so that no Job moves while the run points at it. */
#define JOB_HANDOVERS_MAX 16

typedef struct JobList {
        Job *jobs;
        size_t n;
} JobList;

/* Appends a job; takes ownership of name and argv (even on failure). A NULL name or argv, as a failed strdup()
 * or strv_copy() gives, is -ENOMEM, never a job. The name a job is known by everywhere (the terminal, --json,
 * --junit, the history, its log's file name) is name escaped (escape_name()): printable, valid UTF-8, the same
 * in every run. */
int job_list_add(JobList *l, char *name, char **argv, unsigned n_tests, bool serial);
/* A pytest job's own start-up and wind-down: its command's time less the time its tests took, as nsrun's plugin
 * measured them; <0 when not known (not pytest, or killed before the plugin wrote its times). */
double job_startup_s(const Job *j);
/* The CPUs its last attempt kept busy on average: its CPU time over its command's wall time; <0 not measured
 * (no CPU accounting for its cgroup). */
double job_cpus(const Job *j);
/* ... measured only over a wall time this long: the cgroup's CPU time also counts the sandbox's set-up, which the
 * command's wall time does not, so a job of a few milliseconds shows CPUs it never used ('printf': 2.6 ms of CPU in
 * 2.5 ms, 1.06 CPUs; a CI run had one learn 1.5 or more, and tell the next run's 'printf' it had 2). */
#define JOB_CPUS_MIN_WALL_S 0.5
/* The median job_startup_s() of the jobs that ran, or <0. */
double jobs_startup_median(const JobList *l);
/* The files a pytest job runs, for reports and history: its members, or itself. single is storage for the
 * latter. */
char *const *job_files(const Job *j, char *single[static 2]);
/* The length of a pytest argument's path ("tests/t.py::test_a[1]"): up to its "::". */
size_t job_arg_path_len(const char *arg);
/* The directory its current attempt writes (live_dir while it runs forked, else times_path's); NULL for a job
 * that is not pytest's, or on failure. */
char *job_attempt_dir(const Job *j);
/* That directory, opened (O_NOFOLLOW: a job's own symlink is not followed); -errno. */
int job_attempt_dir_open(const Job *j);
/* Frees what one job owns. */
void job_done(Job *j);
void job_list_done(JobList *l);
