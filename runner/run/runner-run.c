/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The run: each free worker takes the next job, in a fresh sandbox and cgroup of its own. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "escape.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "path-util.h"
#include "runner-batch.h"
#include "runner-fork.h"
#include "runner-launch.h"
#include "runner-machine.h"
#include "runner-parallel.h"
#include "runner-pytest-cache.h"
#include "runner-pytest-results.h"
#include "runner-report.h"
#include "runner-run.h"
#include "runner-sched.h"

extern char **environ;

typedef struct Slot {
        unsigned index;
        Job *job;
        Sandbox *sandbox;
        CgroupJob *cgroup;
        uint64_t started;       /* usec, monotonic */
        uint64_t deadline;      /* usec, 0 = none; once timed out, when SIGKILL follows SIGTERM */
        bool timed_out;         /* SIGTERM sent for --timeout */
        bool killed;            /* and SIGKILL after --timeout-grace */
        bool halted;            /* killed by --halt now: reported as not run */
        uint64_t slow_shown;    /* SLOW lines printed for this attempt */
        bool interrupted;       /* running when a signal stopped the run: killed by nsrun, not failed */
        bool forked;            /* forked from the worker's prepared interpreter (--fork) */
        bool asked;             /* asked to hand the tests it has not reached over (ask_handover()) */
        bool answered;          /* and its answer read */
        bool gave;              /* and a new job took tests over from it: it ends "interrupted" after its last */
} Slot;

/* A finished job's sandbox and cgroup, removed after the next job has started: off the critical path. */
typedef struct Remains {
        Job *job;
        Sandbox *sandbox;
        CgroupJob *cgroup;
        uint64_t ended;         /* when its command ended */
} Remains;

typedef struct Loop {
        RunContext *rc;
        Reporter *rep;
        Slot *slots;
        struct pollfd *pfds;    /* [0] the signalfd, then one per running job, then winch_fd */
        unsigned *pfd_slot;
        size_t next;            /* in rc->order: every job before it has been started */
        unsigned running;
        unsigned failures;      /* jobs that ended as failures, for -x and --halt */
        uint64_t tests_failed;  /* pytest: tests that failed or errored in all jobs, for pytest's -x, --maxfail */
        SchedPolicy policy;     /* the budget and options the scheduling decisions (runner-sched.c) read */
        SchedRunning *view;     /* the running jobs, as those decisions see them (running_view()) */
        Job **alone;            /* killed for memory at a learned request: each reruns alone, before the rest */
        size_t n_alone;
        Remains *remains;       /* at most one per worker: jobs that ended since the last dispatch */
        size_t n_remains;
        CgroupJob *ready;       /* made ahead, while the jobs run, for the next job to start: ready_job's */
        const Job *ready_job;   /* next attempt, capped at ready_limit */
        unsigned ready_attempt;
        uint64_t ready_limit;
        bool stop;              /* no more dispatching: -x or a signal */
        bool aborted;           /* the loop itself failed: no attempt may start, since none would be waited for */
        Forker *forker;         /* the workers' prepared interpreters (--fork), or NULL */
        unsigned handovers;     /* jobs added for tests a running job handed over, at most JOB_HANDOVERS_MAX */
        unsigned asking;        /* attempts asked to hand over that have not answered */
        uint64_t t0;            /* the run's start */
        int winch_fd;           /* SIGWINCH, while a status line is shown: it is cut to the new width */
} Loop;

static void sanitize(char *s) {
        for (; *s; s++)
                if (*s == '/' || *s == ' ' || *s == ':' || *s == '[' || *s == ']' || *s == '\'' || *s == '"')
                        *s = '_';
}

/* The job's own environment: the caller's, plus where it runs, its own coverage data file, and for pytest where
 * nsrun's plugin is and where it writes the files' times. */
static char **job_env(const RunContext *rc, const Job *j, const char *dir, size_t index, unsigned worker) {
        char **v = strv_copy(environ), buf[PATH_MAX + 64];
        const char *pp = getenv("PYTHONPATH");
        int r = v ? 0 : -ENOMEM;

        (void) snprintf(buf, sizeof buf, "NSRUN_WORKER=%u", worker);
        r = r ?: strv_env_set(&v, buf);
        (void) snprintf(buf, sizeof buf, "NSRUN_WORKERS=%u", rc->plan.workers);
        r = r ?: strv_env_set(&v, buf);
        (void) snprintf(buf, sizeof buf, "NSRUN_JOB=%s", j->name);
        r = r ?: strv_env_set(&v, buf);
        /* coverage.py writes here; nsrun copies the files into the project afterwards for 'coverage combine'
         * (collect_coverage(), which takes only this name and coverage.py's parallel suffixes of it) */
        (void) snprintf(buf, sizeof buf, "COVERAGE_FILE=%s/" COVERAGE_PREFIX "%zu-%u", dir, index, j->attempts);
        r = r ?: strv_env_set(&v, buf);
        r = r ?: job_env_cpu_share(&v, j, rc->opt->cap.cpus_per_job); /* a learned request, not the share */
        if (rc->src.pytest && j->times_path) {
                (void) snprintf(buf, sizeof buf, "NSRUN_TIMES_OUT=%s", j->times_path);
                r = r ?: strv_env_set(&v, buf);
                (void) snprintf(buf, sizeof buf, "NSRUN_CACHE_OUT=%s/" PYTEST_CACHE_RECORD, dir);
                r = r ?: strv_env_set(&v, buf);
                /* where the plugin says a test's report it cut is whole */
                (void) snprintf(buf, sizeof buf, "NSRUN_LOG=%s", j->log_path ?: "");
                r = r ?: strv_env_set(&v, buf);
                (void) snprintf(buf, sizeof buf, "NSRUN_HYPOTHESIS_OUT=%s/" HYPOTHESIS_RECORD, dir);
                r = r ?: strv_env_set(&v, buf);
                (void) snprintf(buf, sizeof buf, "PYTHONPATH=%s%s%s", rc->source.pytest_plugin_dir, pp ? ":" : "",
                                pp ?: "");
                r = r ?: strv_env_set(&v, buf);
        }
        if (r < 0) {
                strv_free(v);
                return NULL;
        }
        return v;
}

/* pytest writes its JUnit report into the attempt's own directory, and nsrun's plugin the seconds each file
 * took. {%} in the command is the worker's slot. */
static char **job_argv(const RunContext *rc, Job *j, const char *dir, unsigned worker) {
        _cleanup_free_ char *opt = NULL;
        /* {%}: the worker's slot, from 1 as in GNU parallel */
        char **argv = j->slot_parts ? slot_parts_join(j->slot_parts, worker + 1) : strv_copy(j->argv);

        /* the tests a killed attempt had not reached: the command every pytest job shares, and their ids */
        if (argv && j->rest.attempt == j->attempts) {
                strv_free(argv);
                argv = strv_copy(rc->src.pytest_options);
                for (size_t i = 0; argv && j->rest.args[i]; i++)
                        if (strv_push(&argv, j->rest.args[i]) < 0)
                                strv_free(argv), argv = NULL;
        }
        if (!argv || !rc->src.pytest)
                return argv;
        free(j->junit_path);
        free(j->times_path);
        j->junit_path = j->times_path = NULL;
        if (asprintf(&j->junit_path, "%s/junit.xml", dir) < 0 || asprintf(&j->times_path, "%s/times.json", dir) < 0 ||
            asprintf(&opt, "--junitxml=%s", j->junit_path) < 0 || strv_push(&argv, opt) < 0 ||
            strv_push(&argv, "-p") < 0 || strv_push(&argv, "nsrun_pytest") < 0) {
                strv_free(argv);
                return NULL;
        }
        return argv;
}

/* A job's log is named after it ("tests/test_a.py" -> tests_test_a.py.log), readable and the same in every run.
 * A name is any length (a long 'sh -c' line, a parametrized test id), a file name at most NAME_MAX bytes: a name
 * past LOG_NAME_MAX keeps its first bytes (cut where a UTF-8 character starts) and a hash of the whole, so that
 * two long names that begin alike still get two logs. */
#define LOG_NAME_MAX 128
static char *log_name(const Job *j) {
        char *name = strdup(j->name);
        size_t cut = LOG_NAME_MAX;

        if (!name)
                return NULL;
        sanitize(name);
        if (strlen(name) <= LOG_NAME_MAX)
                return name;
        while (cut > 0 && ((unsigned char) name[cut] & 0xc0) == 0x80)
                cut--;
        (void) snprintf(name + cut, strlen(name) + 1 - cut, "-%016" PRIx64, fnv1a64(j->name));
        return name;
}

static int open_log(const RunContext *rc, Job *j) {
        _cleanup_free_ char *name = log_name(j);
        int fd, r;

        if (!name)
                return -ENOMEM;
        free(j->log_path);
        j->log_path = NULL;
        r = j->repeat_index > 0 ? asprintf(&j->log_path, "%s/%s.%u.log", rc->opt->log_dir, name, j->repeat_index)
                                : asprintf(&j->log_path, "%s/%s.log", rc->opt->log_dir, name);
        if (r < 0)
                return -ENOMEM;
        fd = open(j->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (j->attempts == 1 ? O_TRUNC : 0), 0644);
        return fd < 0 ? -errno : fd;
}

/* The cgroup of the job's next attempt, "job-<index>-<attempt>", capped as the policy says
 * (sched_attempt_limit()). */
static int new_job_cgroup(const Loop *l, const Job *j, CgroupJob **ret) {
        const RunContext *rc = l->rc;
        CgroupLimits limits = { .mem_max = sched_attempt_limit(&l->policy, j) ?: CGROUP_LIMIT_MAX,
                                .pids_max = rc->opt->cap.pids_max };
        char name[64];

        (void) snprintf(name, sizeof name, "job-%zu-%u", (size_t) (j - rc->src.jobs.jobs), j->attempts + 1);
        return cgroup_job_new(rc->cgroups, name, &limits, ret);
}

static bool ready_for(const Loop *l, const Job *j) {
        return l->ready && l->ready_job == j && l->ready_attempt == j->attempts + 1 &&
               l->ready_limit == sched_attempt_limit(&l->policy, j);
}

/* While the jobs run, the cgroup of the job that starts next is made ahead, off the critical path. */
static void prepare_next(Loop *l) {
        const RunContext *rc = l->rc;
        const Job *next = l->n_alone > 0 ? l->alone[l->n_alone - 1] : NULL;

        for (size_t i = l->next; !next && !l->stop && i < rc->src.jobs.n; i++)
                if (rc->src.jobs.jobs[rc->order[i]].status == JOB_PENDING)
                        next = &rc->src.jobs.jobs[rc->order[i]];
        if (!next || l->stop || ready_for(l, next))
                return;
        l->ready = cgroup_job_free(l->ready);
        if (new_job_cgroup(l, next, &l->ready) < 0) {
                l->ready = NULL;
                return;
        }
        l->ready_job = next;
        l->ready_attempt = next->attempts + 1;
        l->ready_limit = sched_attempt_limit(&l->policy, next);
}

static int start_attempt(Loop *l, Slot *s, Job *j) {
        RunContext *rc = l->rc;
        size_t index = (size_t) (j - rc->src.jobs.jobs);
        SandboxSpec spec = SANDBOX_SPEC_INIT;
        _cleanup_free_ SandboxMount *mounts = NULL;
        _cleanup_close_ int log_fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        char **argv = NULL, **envp = NULL;
        uint64_t t0 = now_usec(), view;
        int r;

        s->asked = s->answered = s->gave = false;
        if (ready_for(l, j))
                s->cgroup = TAKE_PTR(l->ready);
        else {
                r = new_job_cgroup(l, j, &s->cgroup);
                if (r < 0)
                        return r;
        }
        j->attempts++;
        j->status = JOB_RUNNING;
        j->mem_limit = sched_attempt_limit(&l->policy, j); /* what it is admitted with, until its slot is free */
        s->job = j;
        s->timed_out = s->killed = s->halted = s->interrupted = false;
        s->slow_shown = 0;
        log_fd = open_log(rc, j);
        if (log_fd < 0)
                return log_fd;
        /* The attempt's own directory, the one host path it may write: its JUnit report, times, coverage data.
         * Only it is bound into the sandbox, so no job can plant or replace another's files, or write
         * anywhere nsrun copies from into the project (see collect_coverage()). */
        if (asprintf(&dir, "%s/" JOB_DIR_FORMAT, rc->run_dir, index, j->attempts) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0755) < 0)
                return -errno;
        argv = job_argv(rc, j, dir, s->index);
        envp = job_env(rc, j, dir, index, s->index);
        r = launch_spec_init(&spec, &rc->opt->sandbox, dir, rc->src.pytest ? rc->source.pytest_plugin_dir : NULL,
                             &mounts);
        if (!argv || !envp || r < 0) {
                r = -ENOMEM;
                goto finish;
        }
        spec.argv = argv;
        spec.envp = envp;
        spec.cwd = rc->source.cwd;
        spec.base_layers = rc->source.base_layers;
        spec.new_session = true;
        /* The machine a job sees is its slot, also when a learned request caps it lower: a test that sizes itself
         * to the machine (skips below N GiB) sees the same machine every run, and one that outgrows its request is
         * rerun alone; shown its request, it would skip itself, stay small, and never run again. */
        view = j->mem_limit ? MAX(j->mem_limit, rc->plan.mem_per_job) : 0;
        spec.mem_view = (SandboxMemView) { .total = view, .available = view }; /* a new cgroup: nothing used */
        spec.stdio[0] = rc->null_fd;
        spec.stdio[1] = spec.stdio[2] = log_fd;
        if (rc->opt->no_capture) { /* as it runs, where nsrun's own output goes; one job at a time (-j 1) */
                spec.stdio[1] = STDOUT_FILENO;
                spec.stdio[2] = STDERR_FILENO;
        }
        r = forker_launch(l->forker, s->index, argv, j->rest.attempt == j->attempts ? j->rest.args : j->args, envp,
                          &spec.mem_view, log_fd, dir, s->cgroup, &s->sandbox);
        s->forked = r > 0;
        free(j->live_dir);
        j->live_dir = s->forked ? forker_live_dir(l->forker, s->index, dir) : NULL;
        if (r == 0)
                r = launch_sandbox(&spec, s->cgroup, &s->sandbox);
finish:
        strv_free(argv);
        strv_free(envp);
        s->started = now_usec();
        j->setup_s = (double) (s->started - t0) / 1e6;
        j->start_s = (double) (s->started - l->t0) / 1e6;
        s->deadline = rc->opt->timeout_usec ? s->started + rc->opt->timeout_usec : 0;
        log_debug("%s: attempt %u started on worker %u, memory limit %s, in %.1f ms", j->name, j->attempts,
                  s->index + 1, j->mem_limit ? FORMAT_SIZE(j->mem_limit) : "none", j->setup_s * 1e3);
        return r;
}

static void release_slot(Loop *l, Slot *s) {
        s->sandbox = sandbox_free(s->sandbox);
        s->cgroup = cgroup_job_free(s->cgroup);
        s->job = NULL;
}

/* Frees the slot for the next job at once; its sandbox and cgroup go when remove_remains() runs. */
static void vacate_slot(Loop *l, Slot *s, uint64_t ended) {
        l->remains[l->n_remains++] = (Remains) { s->job, TAKE_PTR(s->sandbox), TAKE_PTR(s->cgroup), ended };
        release_slot(l, s);
}

static void remove_remains(Loop *l) {
        for (size_t i = 0; i < l->n_remains; i++) {
                Remains *x = &l->remains[i];
                sandbox_free(x->sandbox);
                cgroup_job_free(x->cgroup);
                x->job->teardown_s = (double) (now_usec() - x->ended) / 1e6;
        }
        l->n_remains = 0;
}

static int read_test_counts(const RunContext *rc, Job *j) {
        unsigned tests = 0, failures = 0, skipped = 0;
        int r;

        j->tests_passed = j->tests_failed = j->tests_skipped = j->tests_errors = j->tests_xfailed = j->tests_xpassed =
                j->tests_rerun = 0;
        if (!rc->src.pytest || !j->junit_path)
                return 0;
        r = junit_read_counts(j->junit_path, &tests, &failures, &skipped);
        if (r < 0)
                return r;
        j->tests_failed = failures;
        j->tests_skipped = skipped;
        j->tests_passed = tests >= failures + skipped ? tests - failures - skipped : 0;
        return 0;
}

/* A pytest job killed before pytest ended (a timeout, an out-of-memory kill, a crash) wrote no times document; the
 * plugin's progress.json, rewritten as each test starts and ends, keeps what it had counted and the test it was
 * in: its finished tests keep their results, and the test running then is named and counted as an error. */
static int read_progress(Job *j) {
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL;
        json_object *current;
        int r;

        if (asprintf(&path, "%.*s/" PROGRESS_FILE, (int) (strrchr(j->times_path, '/') - j->times_path),
                     j->times_path) < 0)
                return -ENOMEM;
        r = read_job_file_at(AT_FDCWD, path, JOB_FILE_MAX, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        doc = json_tokener_parse(text);
        if (!doc || !json_object_is_type(doc, json_type_object))
                return 0;
        pytest_counts_from_times(j, doc);
        if (json_object_object_get_ex(doc, "current", &current) && json_object_is_type(current, json_type_string)) {
                j->killed_in = escape_name(json_object_get_string(current));
                if (!j->killed_in)
                        return -ENOMEM;
                j->tests_errors++;
        }
        return 0;
}

/* The seconds each of the job's files took, as nsrun's plugin wrote them; NULL if it did not (a killed job). The
 * plugin's keys are its names of the files, escaped here as the jobs' names are (escape_name()). */
static int read_file_times(Job *j) {
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_free_ char *text = NULL;
        json_object *files;
        char *single[2];
        char *const *names = job_files(j, single);
        size_t n = strv_length(names);
        int r;

        j->file_s = mfree(j->file_s);
        j->killed_in = mfree(j->killed_in);
        if (!j->times_path)
                return 0;
        r = read_job_file_at(AT_FDCWD, j->times_path, JOB_FILE_MAX, &text, NULL);
        if (r < 0)
                return r;
        doc = json_tokener_parse(text);
        pytest_counts_from_times(j, doc);
        if (!doc || !json_object_object_get_ex(doc, "files", &files) || !json_object_is_type(files, json_type_object) ||
            !(j->file_s = new0(double, n)))
                return 0;
        json_object_object_foreach(files, key, value) {
                _cleanup_free_ char *name = escape_name(key);
                for (size_t i = 0; name && i < n; i++)
                        if (streq(names[i], name))
                                j->file_s[i] = json_object_get_double(value);
        }
        return 0;
}

/* What the job left in its directory. A report that is missing or cut short (a killed job) is simply not read;
 * one that only something in the job could have made so (a symbolic link, a FIFO, a device, one over
 * JOB_FILE_MAX) makes the job an error, named. */
static int read_results(const RunContext *rc, Reporter *rep, Job *j) {
        const char *name = j->junit_path ? strrchr(j->junit_path, '/') + 1 : NULL;
        int r;

        j->tests_counted = false;
        r = read_test_counts(rc, j);
        if (r == -ENOENT || r == -EBADMSG || r == -EOPNOTSUPP)
                r = 0;
        if (r >= 0) {
                name = j->times_path ? strrchr(j->times_path, '/') + 1 : NULL;
                r = read_file_times(j);
        }
        if (r == -ENOENT && j->times_path) { /* killed before pytest ended: what the plugin had counted */
                name = PROGRESS_FILE;
                r = read_progress(j);
        }
        if (r >= 0 || r == -ENOENT) /* each failed test's own report, its -v lines */
                r = reporter_job_results(rep, j, &name);
        if (r >= 0 || r == -ENOENT || r == -ENOMEM)
                return 0;
        free(j->error);
        j->error = NULL;
        (void) asprintf(&j->error, "its report %s %s; something in the job replaced it, and nsrun reads only regular "
                        "files it wrote", name, job_file_error(r));
        return r;
}

/* A pytest job that ended well but ran fewer tests than the run's collection gave it lost some without a word
 * (pytest 7 took the tests of two files outside the rootdir, named by id, for one file's: 325ec75's jobs handed
 * tests of an installed package over ran 32 of 40 and passed). An error, named, so that no run passes on tests
 * that did not run. */
static bool ran_fewer(Job *j) {
        unsigned ran = j->tests_passed + j->tests_failed + j->tests_skipped + j->tests_errors + j->tests_xfailed +
                       j->tests_xpassed;

        if (!j->tests_counted || ran >= j->n_tests)
                return false;
        free(j->error);
        j->error = NULL;
        (void) asprintf(&j->error, "its pytest ran %u of the %u tests the run's collection gave it: its own "
                        "collection found fewer (a plugin or conftest that selects over the whole collection?)",
                        ran, j->n_tests);
        return true;
}

static JobStatus classify(const RunContext *rc, Slot *s, const SandboxResult *res, const CgroupStats *st) {
        Job *j = s->job;
        char why[1024];

        j->exit_code = res->outcome == SANDBOX_EXITED ? res->code : -1;
        j->signal = res->outcome == SANDBOX_SIGNALED || res->outcome == SANDBOX_KILLED ? res->code : 0;
        j->oom_kills = st->oom_kills;
        if (s->timed_out)
                return JOB_TIMEOUT;
        /* Also when the command itself passed: a process of it was killed under nsrun's cap, so what passed is
         * not what runs without nsrun (a fallback path, a half-done check); and at a learned request it reruns
         * alone with more room, as any job killed for memory does. */
        if (st->oom_kills > 0)
                return JOB_OOM;
        switch (res->outcome) {
        case SANDBOX_EXITED:
                if (res->code == 0 || (rc->src.pytest && res->code == 5)) /* 5: pytest found no test */
                        return JOB_PASSED;
                return rc->src.pytest && res->code >= 2 ? JOB_ERROR : JOB_FAILED;
        case SANDBOX_SIGNALED:
        case SANDBOX_KILLED:
                return JOB_FAILED;
        case SANDBOX_EXEC_FAILED: {
                _cleanup_free_ char *argv0 = escape_name(j->argv[0]);
                free(j->error);
                j->error = NULL;
                (void) asprintf(&j->error, "%s: %s", argv0 ?: "?",
                                res->error == ENOENT ? "command not found" : strerror(res->error));
                return JOB_ERROR;
        }
        case SANDBOX_SETUP_FAILED:
                if (sandbox_explain(0, res, why, sizeof why))
                        ((RunContext *) rc)->refused = true;
                free(j->error);
                j->error = strdup(why);
                return JOB_ERROR;
        }
        return JOB_ERROR;
}

/* -x, --halt soon,fail=N: no new job starts; --halt now,fail=N: the running ones are killed too. */
static void halt(Loop *l) {
        l->stop = true;
        for (unsigned w = 0; l->rc->opt->halt_now && w < l->rc->plan.workers; w++)
                if (l->slots[w].job) {
                        l->slots[w].halted = true;
                        (void) sandbox_kill(l->slots[w].sandbox, SIGKILL);
                        (void) cgroup_job_kill(l->slots[w].cgroup);
                }
}

/* A pytest attempt killed in the middle of its tests (a timeout, an out-of-memory kill, a crash): the tests it had
 * not reached run once in a new attempt, as pytest-xdist replaces a crashed worker. True if that started. */
static bool start_rest(Loop *l, Slot *s, Job *j, JobStatus status) {
        _cleanup_free_ char *dir = NULL;
        char **args = NULL;
        int r;

        if (!l->rc->src.pytest || j->rest.attempt || !j->killed_in ||
            !(status == JOB_TIMEOUT || status == JOB_OOM || (status == JOB_ERROR && j->signal)))
                return false;
        if (asprintf(&dir, "%s/" JOB_DIR_FORMAT, l->rc->run_dir, (size_t) (j - l->rc->src.jobs.jobs), j->attempts) < 0 ||
            pytest_attempt_unreached(dir, &args, NULL) < 0 || !args)
                return false;
        j->rest = (JobRest) { .attempt = j->attempts + 1, .tests = (unsigned) strv_length(args), .args = args,
                              .killed_status = status };
        log_debug("%s: killed while running %s; its %u tests not reached run in a new attempt", j->name, j->killed_in,
                  j->rest.tests);
        r = start_attempt(l, s, j);
        if (r < 0) {
                release_slot(l, s);
                j->rest.status = JOB_NOT_RUN;
                return false;
        }
        l->running++;
        return true;
}

/* What the killed attempt left, kept while the rest of its tests run (see start_rest()). */
typedef struct KilledOutcome {
        int exit_code, signal;
        double wall_s;
        char *killed_in, *error;
        unsigned passed, failed, skipped, errors, xfailed, xpassed;
} KilledOutcome;

static void killed_outcome_take(Job *j, KilledOutcome *o) {
        *o = (KilledOutcome) { j->exit_code, j->signal, j->wall_s, TAKE_PTR(j->killed_in), TAKE_PTR(j->error),
                               j->tests_passed, j->tests_failed, j->tests_skipped, j->tests_errors, j->tests_xfailed,
                               j->tests_xpassed };
}

/* The job's outcome is its killed attempt's, its counts both attempts'; the new attempt's own end in j->rest. */
static JobStatus rest_ended(Job *j, JobStatus status, KilledOutcome *o) {
        j->rest.status = status;
        j->rest.signal = j->signal;
        free(j->rest.killed_in);
        j->rest.killed_in = TAKE_PTR(j->killed_in);
        j->killed_in = TAKE_PTR(o->killed_in);
        free(j->error);
        j->error = TAKE_PTR(o->error);
        j->exit_code = o->exit_code;
        j->signal = o->signal;
        j->wall_s += o->wall_s;
        j->tests_passed += o->passed;
        j->tests_failed += o->failed;
        j->tests_skipped += o->skipped;
        j->tests_errors += o->errors;
        j->tests_xfailed += o->xfailed;
        j->tests_xpassed += o->xpassed;
        return j->rest.killed_status;
}

/* Handing over. With a worker idle and no job left to start, a running pytest job whose tests not reached would
 * take the longest (at its pace so far; at least HANDOVER_MIN_S, and 4 times the median start-up of the jobs that
 * ended) is asked to hand about half of them over:
 * nsrun creates HANDOVER_ASK in the directory the attempt writes, and nsrun's plugin answers in HANDOVER_FILE at the
 * end of its current test with the tests it keeps and those it gives, each as its argument and its file's name
 * (nsrun_pytest.py's _handover_check()), then ends after the last it keeps. The tests given become a new job, run
 * by the idle worker, so that a long file started late no longer sets the run's end; the job that gave them keeps
 * the rest (its argv, should it run again, names those only). The answer is what a job wrote: read as any job file,
 * each test's argument must be one (not an option), and each file one of the job's own. */
#define HANDOVER_ASK "handover-ask"
#define HANDOVER_FILE "handover.json"
#define HANDOVER_MIN_S 1.0
/* an answer lists one job's tests (about 100 bytes each): what json-c would make of a larger one grows nsrun */
#define HANDOVER_FILE_MAX (8U << 20)

static void ask_handover(Loop *l) {
        RunContext *rc = l->rc;
        Slot *best = NULL;
        double most = HANDOVER_MIN_S;
        uint64_t now = now_usec();
        bool idle = false;
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;

        if (!rc->src.pytest || rc->opt->batch == BATCH_OFF || l->stop || l->n_alone > 0 ||
            l->handovers + l->asking >= JOB_HANDOVERS_MAX)
                return;
        for (size_t i = l->next; i < rc->src.jobs.n; i++)
                if (rc->src.jobs.jobs[rc->order[i]].status == JOB_PENDING)
                        return;
        for (unsigned w = 0; w < rc->plan.workers; w++)
                idle = idle || !l->slots[w].job;
        if (!idle)
                return;
        /* the new job gets about half, and must save more than its own start-up */
        most = MAX(most, 4 * jobs_startup_median(&rc->src.jobs));
        for (unsigned w = 0; w < rc->plan.workers; w++) {
                Slot *s = &l->slots[w];
                const Job *j = s->job;
                _cleanup_close_ int d = -EBADF;
                unsigned done;
                double left;

                if (!j || s->asked || s->timed_out || j->serial || j->rest.attempt || j->attempts != 1 ||
                    !j->times_path || sched_runs_alone(j) || (d = job_attempt_dir_open(j)) < 0)
                        continue;
                done = pytest_attempt_done(d);
                if (done == 0 || j->n_tests < done + 2)
                        continue;
                left = (double) (now - s->started) / 1e6 / done * (j->n_tests - done);
                if (left > most) {
                        most = left;
                        best = s;
                        safe_close(dfd);
                        dfd = TAKE_FD(d);
                }
        }
        if (!best)
                return;
        best->asked = true;
        /* O_EXCL: a file of that name the job made itself is no question of nsrun's, and its answer is not read */
        fd = openat(dfd, HANDOVER_ASK, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
                best->answered = true;
                return;
        }
        l->asking++;
        log_debug("%s: asked to hand over half of the tests it has not reached (about %.1fs left)", best->job->name, most);
}

/* Whether arg, an absolute "path::id", is in one of the files the job runs (its arguments name them relative to
 * where the jobs start, or absolute after a handover). */
static bool arg_is_the_jobs(const RunContext *rc, const Job *j, const char *arg) {
        _cleanup_free_ char *path = strndup(arg, job_arg_path_len(arg));
        _cleanup_free_ char *rel = path ? path_relative_to(path, rc->source.cwd) : NULL;

        for (size_t i = 0; rel && j->args && j->args[i]; i++) {
                const char *a = j->args[i], *want = a[0] == '/' ? path : rel;
                if (job_arg_path_len(a) == strlen(want) && strneq(a, want, strlen(want)))
                        return true;
        }
        return false;
}

/* The arguments and file names of the answer's list key, each checked: an absolute argument (no option), in a
 * file the job runs, whose name is one of the job's files. */
static int handover_list(const RunContext *rc, const Job *j, json_object *doc, const char *key, char *const *files,
                         char ***ret_args, char ***ret_files) {
        json_object *list, *arg, *file;
        _cleanup_(strv_freep) char **args = NULL, **names = NULL;

        if (!json_object_object_get_ex(doc, key, &list) || !json_object_is_type(list, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *e = json_object_array_get_idx(list, i);
                const char *a, *f;
                if (!json_object_object_get_ex(e, "arg", &arg) || !json_object_object_get_ex(e, "file", &file) ||
                    !json_object_is_type(arg, json_type_string) || !json_object_is_type(file, json_type_string))
                        return -EBADMSG;
                a = json_object_get_string(arg);
                f = json_object_get_string(file);
                if (a[0] != '/' || strlen(a) != (size_t) json_object_get_string_len(arg) || !strv_contains(files, f) ||
                    !arg_is_the_jobs(rc, j, a))
                        return -EBADMSG;
                if (strv_push(&args, a) < 0 || (!strv_contains(names, f) && strv_push(&names, f) < 0))
                        return -ENOMEM;
        }
        *ret_args = TAKE_PTR(args);
        *ret_files = TAKE_PTR(names);
        return 0;
}

/* The answer of an attempt asked to hand over, once it is there: the tests it gave become a new job, at the end
 * of the order (every job before it has started). */
static void take_handover(Loop *l, Slot *s) {
        RunContext *rc = l->rc;
        Job *j = s->job, *nj;
        char *single[2];
        char *const *files = job_files(j, single);
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *text = NULL, *name = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_(strv_freep) char **keep = NULL, **keep_files = NULL, **give = NULL, **give_files = NULL;
        char **argv = NULL, **kept_argv = NULL, *escaped = NULL;
        unsigned n_give;
        int r;

        if (!s->asked || s->answered)
                return;
        dfd = job_attempt_dir_open(j);
        r = dfd < 0 ? dfd : read_job_file_at(dfd, HANDOVER_FILE, HANDOVER_FILE_MAX, &text, NULL);
        if (r == -ENOENT)
                return;
        s->answered = true;
        l->asking--;
        if (r < 0 || l->handovers >= JOB_HANDOVERS_MAX || !(doc = json_tokener_parse(text)) || !json_object_is_type(doc, json_type_object) ||
            handover_list(rc, j, doc, "keep", files, &keep, &keep_files) < 0 ||
            handover_list(rc, j, doc, "give", files, &give, &give_files) < 0 || !give || !keep ||
            strv_length(give) >= j->n_tests) {
                log_debug("%s: no tests handed over (%s)", j->name, r < 0 ? strerror(-r) : "its answer gives none");
                return;
        }
        argv = strv_copy(rc->src.pytest_options);
        kept_argv = strv_copy(rc->src.pytest_options);
        if (!argv || !kept_argv || strv_push_n(&argv, give, strv_length(give)) < 0 ||
            strv_push_n(&kept_argv, keep, strv_length(keep)) < 0 ||
            asprintf(&name, "%s [handed over]", j->name) < 0 || !(escaped = escape_name(name))) {
                strv_free(argv);
                strv_free(kept_argv);
                return (void) log_oom();
        }
        n_give = (unsigned) strv_length(give);
        nj = &rc->src.jobs.jobs[rc->src.jobs.n];
        *nj = (Job) {
                .name = escaped,
                .argv = argv,
                .n_tests = n_give,
                .args = TAKE_PTR(give),
                .members = TAKE_PTR(give_files),
                .repeat_index = j->repeat_index,
                .seq = (unsigned) rc->src.jobs.n + 1,
                .hist_wall_s = -1,
                .hist_peak = j->hist_peak,
                .hist_cpus = j->hist_cpus,
                .mem_request = j->mem_request,
                .heavy = j->heavy,
                .cpu_request = j->cpu_request,
                .status = JOB_PENDING,
        };
        nj->expected_s = j->expected_s < 0 ? -1 : j->expected_s * nj->n_tests / MAX(j->n_tests, 1u);
        /* should it run again (a retry, a rerun alone for memory), the job that gave them runs the rest only */
        j->handed_over = nj->n_tests;
        j->n_tests -= nj->n_tests;
        strv_free(j->argv);
        j->argv = kept_argv;
        strv_free(j->args);
        j->args = TAKE_PTR(keep);
        rc->order[rc->src.jobs.n] = rc->src.jobs.n;
        rc->src.jobs.n++;
        l->handovers++;
        s->gave = true;
        log_debug("%s: %u tests handed over to a new job", j->name, j->handed_over);
}

static void finish_slot(Loop *l, Slot *s) {
        RunContext *rc = l->rc;
        SandboxResult res = {};
        CgroupStats st = {};
        Job *j = s->job;
        JobStatus status;
        bool failed_before = j->attempts > 1 + (j->oom_limit > 0); /* a rerun alone is not a flaky pass */
        bool is_rest = j->rest.attempt && j->rest.attempt == j->attempts;
        KilledOutcome killed = {};
        uint64_t ended = now_usec();
        int r;

        if (is_rest)
                killed_outcome_take(j, &killed);
        take_handover(l, s); /* an answer the job wrote just before it ended */
        r = sandbox_wait(s->sandbox, &res);
        j->wall_s = (double) (ended - s->started) / 1e6;
        if (s->forked) {
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, "%s/" JOB_DIR_FORMAT, rc->run_dir, (size_t) (j - rc->src.jobs.jobs), j->attempts) >= 0)
                        forker_finish(l->forker, s->index, dir);
                j->live_dir = mfree(j->live_dir);
        }
        (void) cgroup_job_stats(s->cgroup, &st);
        j->peak_mem = MAX(j->peak_mem, st.peak_mem);
        j->cpu_s = (double) st.cpu_usec / 1e6;
        if (r < 0) {
                res.outcome = SANDBOX_SETUP_FAILED;
                res.error = -r;
        }
        status = classify(rc, s, &res, &st);
        if (read_results(rc, l->rep, j) < 0)
                status = JOB_ERROR;
        if (status == JOB_FAILED && j->signal && j->killed_in) {
                status = JOB_ERROR;
                free(j->error);
                j->error = NULL;
                (void) asprintf(&j->error, "crashed: signal %d (SIG%s) while running %s", j->signal,
                                sigabbrev_np(j->signal) ?: "?", j->killed_in);
        }
        /* it stopped after the last test it kept, as pytest's -x stops a session: pytest's "interrupted" */
        if (s->gave && status == JOB_ERROR && j->exit_code == 2 && !j->error)
                status = j->tests_failed || j->tests_errors ? JOB_FAILED : JOB_PASSED;
        if (status == JOB_PASSED && ran_fewer(j))
                status = JOB_ERROR;
        if (s->halted) {
                status = JOB_NOT_RUN;
                free(j->error);
                j->error = strdup("stopped by --halt now");
        }
        if (s->interrupted && status != JOB_PASSED) {
                status = JOB_INTERRUPTED;
                free(j->error);
                j->error = NULL;
                (void) asprintf(&j->error, "interrupted by SIG%s", sigabbrev_np(rc->signal) ?: "?");
        }
        if (is_rest)
                status = rest_ended(j, status, &killed);
        vacate_slot(l, s, ended);
        l->running--;
        /* the tests a killed attempt had not reached run once, neither again nor alone */
        if (!is_rest && !l->aborted && !rc->signal && sched_should_rerun_alone(&l->policy, j, status)) {
                j->oom_limit = j->mem_limit;
                j->status = JOB_PENDING;
                l->alone[l->n_alone++] = j;
                return;
        }
        if (!is_rest && !l->aborted && !rc->signal && sched_should_retry(&l->policy, j, status)) {
                r = start_attempt(l, s, j);
                if (r >= 0) {
                        l->running++;
                        return;
                }
                release_slot(l, s);
                status = JOB_ERROR;
        }
        if (!l->aborted && !rc->signal && !l->stop && start_rest(l, s, j, status))
                return;
        if (status == JOB_PASSED && failed_before && !j->rest.attempt)
                status = JOB_FLAKY;
        j->status = status;
        reporter_job_finished(l->rep, j);
        l->failures += job_status_is_failure(status, rc->opt->flaky_fails);
        if (rc->refused)
                l->stop = true;
        l->tests_failed += j->tests_failed + j->tests_errors;
        if (rc->opt->halt_fail && l->failures >= rc->opt->halt_fail && !l->stop)
                halt(l);
        /* pytest's own -x/--maxfail: each job stops itself; the run stops as pytest-xdist's controller does */
        if (rc->src.pytest_maxfail && l->tests_failed >= rc->src.pytest_maxfail && !l->stop)
                halt(l);
}

/* The running jobs as the scheduling decisions see them, in l->view; returns how many. */
static size_t running_view(Loop *l) {
        uint64_t now = now_usec();
        size_t n = 0;

        for (unsigned w = 0; w < l->rc->plan.workers; w++)
                if (l->slots[w].job)
                        l->view[n++] = (SchedRunning) { l->slots[w].job,
                                                        (double) (now - l->slots[w].started) / 1e6 };
        return n;
}

/* The next job to start, or NULL to wait: a job rerun alone after an out-of-memory kill first, once nothing
 * runs; else as sched_next() says. */
static Job *next_job(Loop *l) {
        RunContext *rc = l->rc;
        size_t n = running_view(l);

        if (l->stop)
                return NULL;
        if (l->n_alone > 0)
                return n == 0 ? l->alone[--l->n_alone] : NULL;
        return sched_next(&l->policy, &rc->src.jobs, rc->order, &l->next, l->view, n);
}

static void stop_on_signal(Loop *l);

static void dispatch(Loop *l) {
        for (unsigned w = 0; w < l->rc->plan.workers; w++) {
                Slot *s = &l->slots[w];
                Job *j;
                int r;

                if (s->job)
                        continue;
                if (sched_alone_running(l->view, running_view(l)))
                        return;
                j = next_job(l);
                if (!j)
                        return;
                r = start_attempt(l, s, j);
                if (r == -EINTR) { /* the signal came while it waited for its prepared interpreter (read there) */
                        release_slot(l, s);
                        j->status = JOB_NOT_RUN;
                        stop_on_signal(l);
                        return;
                }
                if (r < 0) {
                        release_slot(l, s);
                        j->status = JOB_ERROR;
                        free(j->error);
                        j->error = NULL;
                        (void) asprintf(&j->error, "could not start: %s", strerror(-r));
                        reporter_job_finished(l->rep, j);
                        continue;
                }
                l->running++;
                if (sched_runs_alone(j))
                        return;
        }
}

/* Stops everything still running: SIGKILL to each sandbox's init takes its whole PID namespace; the cgroup kill
 * catches anything that is in the cgroup but not (yet) in the namespace. */
static void kill_running(Loop *l) {
        for (unsigned w = 0; w < l->rc->plan.workers; w++)
                if (l->slots[w].job) {
                        (void) sandbox_kill(l->slots[w].sandbox, SIGKILL);
                        (void) cgroup_job_kill(l->slots[w].cgroup);
                }
}

/* --timeout: SIGTERM to the job's command (init forwards it; nsrun's pytest plugin has faulthandler print each
 * thread's traceback into the log, then pytest dies of it), and --timeout-grace later SIGKILL to all of it, for
 * a command that ignores SIGTERM or a child that outlives it. */
static void check_deadlines(Loop *l, uint64_t now) {
        for (unsigned w = 0; w < l->rc->plan.workers; w++) {
                Slot *s = &l->slots[w];
                if (!s->job || !s->deadline || now < s->deadline || s->killed)
                        continue;
                if (!s->timed_out && l->rc->opt->timeout_grace_usec > 0) {
                        s->timed_out = true;
                        s->deadline = now + l->rc->opt->timeout_grace_usec;
                        (void) sandbox_kill(s->sandbox, SIGTERM);
                        continue;
                }
                s->timed_out = s->killed = true;
                (void) sandbox_kill(s->sandbox, SIGKILL);
                (void) cgroup_job_kill(s->cgroup);
        }
}

static int poll_timeout(const Loop *l, uint64_t now, bool ticking) {
        uint64_t t = l->asking > 0 ? 20 * USEC_PER_MSEC : ticking ? 200 * USEC_PER_MSEC : UINT64_MAX;

        for (unsigned w = 0; w < l->rc->plan.workers; w++) {
                const Slot *s = &l->slots[w];
                if (s->job && s->deadline && !s->killed)
                        t = MIN(t, s->deadline > now ? s->deadline - now : 0);
        }
        return t == UINT64_MAX ? -1 : (int) ((t + 999) / 1000);
}

static uint64_t memory_in_use(const Loop *l) {
        uint64_t sum = 0;

        for (unsigned w = 0; w < l->rc->plan.workers; w++) {
                CgroupStats st = {};
                if (l->slots[w].job && cgroup_job_stats(l->slots[w].cgroup, &st) >= 0)
                        sum += st.current_mem;
        }
        return sum;
}

/* --slow-timeout: a line for each job at each multiple of the period it has run. */
static void report_slow(Loop *l, uint64_t now) {
        uint64_t period = l->rc->opt->slow_usec ?: SLOW_USEC_DEFAULT;

        if (period == UINT64_MAX)
                return;
        for (unsigned w = 0; w < l->rc->plan.workers; w++) {
                Slot *s = &l->slots[w];
                uint64_t k = s->job && now > s->started ? (now - s->started) / period : 0;
                if (k > s->slow_shown) {
                        s->slow_shown = k;
                        reporter_slow(l->rep, s->job, k * period);
                }
        }
}

/* A signal stops the run: nothing more starts, what runs is killed and counted as interrupted. */
static void stop_on_signal(Loop *l) {
        l->stop = true;
        for (unsigned w = 0; w < l->rc->plan.workers; w++)
                l->slots[w].interrupted = l->slots[w].job != NULL;
        kill_running(l);
}

static void on_signal(Loop *l, int sfd) {
        struct signalfd_siginfo si;

        if (read(sfd, &si, sizeof si) != sizeof si)
                return;
        if (!l->rc->signal)
                l->rc->signal = (int) si.ssi_signo;
        stop_on_signal(l);
}

static void on_winch(Loop *l) {
        struct signalfd_siginfo si;

        while (read(l->winch_fd, &si, sizeof si) == sizeof si)
                ;
        reporter_resize(l->rep);
}

static int loop_once(Loop *l, int sfd, bool ticking) {
        struct pollfd *p = l->pfds;
        unsigned n = 1, n_jobs, *who = l->pfd_slot;
        int r;

        p[0] = (struct pollfd) { .fd = sfd, .events = POLLIN };
        for (unsigned w = 0; w < l->rc->plan.workers; w++)
                if (l->slots[w].job) {
                        who[n] = w;
                        p[n++] = (struct pollfd) { .fd = sandbox_fd(l->slots[w].sandbox), .events = POLLIN };
                }
        n_jobs = n;
        if (l->winch_fd >= 0)
                p[n++] = (struct pollfd) { .fd = l->winch_fd, .events = POLLIN };
        r = poll(p, n, poll_timeout(l, now_usec(), ticking));
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        if (p[0].revents & POLLIN)
                on_signal(l, sfd);
        if (n > n_jobs && p[n_jobs].revents & POLLIN)
                on_winch(l);
        for (unsigned i = 1; i < n_jobs; i++)
                if (p[i].revents)
                        finish_slot(l, &l->slots[who[i]]);
        check_deadlines(l, now_usec());
        return 0;
}

/* SIGWINCH, read on a signalfd of its own while the status line is shown (blocked meanwhile; its default action
 * is to be ignored, and each job's command starts with no signal blocked): the line is cut to the terminal's
 * new width at once. *old: the mask to restore. */
static int watch_winch(sigset_t *old) {
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &mask, old) < 0)
                return -errno;
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0) {
                (void) sigprocmask(SIG_SETMASK, old, NULL);
                return -errno;
        }
        return fd;
}

int run_jobs(RunContext *rc) {
        Loop l = {
                .rc = rc,
                .t0 = now_usec(),
                .winch_fd = -EBADF,
                .policy = {
                        .usable_bytes = rc->plan.usable_bytes,
                        .job_max = rc->plan.job_max,
                        .cpus = rc->plan.cpu_workers,
                        .capped = !rc->opt->cap.mem_cap_off,
                        .learned = rc->plan_input.learned,
                        .retries = rc->opt->retries,
                },
        };
        sigset_t winch_old;
        Job *jobs;
        size_t *order;
        int r = 0;

        /* room for the jobs handovers add (take_handover()), made before anything points at a job */
        jobs = reallocarray(rc->src.jobs.jobs, rc->src.jobs.n + JOB_HANDOVERS_MAX, sizeof(Job));
        order = jobs ? reallocarray(rc->order, rc->src.jobs.n + JOB_HANDOVERS_MAX, sizeof(size_t)) : NULL;
        if (jobs)
                rc->src.jobs.jobs = jobs;
        if (order)
                rc->order = order;
        l.slots = new0(Slot, rc->plan.workers);
        l.pfds = new0(struct pollfd, rc->plan.workers + 2);
        l.pfd_slot = new0(unsigned, rc->plan.workers + 1);
        l.view = new0(SchedRunning, rc->plan.workers);
        l.alone = new0(Job *, rc->src.jobs.n + JOB_HANDOVERS_MAX + 1);
        l.remains = new0(Remains, rc->plan.workers);
        l.rep = reporter_new(rc);
        if (!jobs || !order || !l.slots || !l.pfds || !l.pfd_slot || !l.view || !l.alone || !l.remains || !l.rep) {
                r = log_oom();
                goto done;
        }
        for (unsigned w = 0; w < rc->plan.workers; w++)
                l.slots[w].index = w;
        l.forker = TAKE_PTR(rc->forker);
        if (reporter_live(l.rep))
                l.winch_fd = watch_winch(&winch_old);
        while (r >= 0) {
                dispatch(&l);
                ask_handover(&l);
                remove_remains(&l);
                prepare_next(&l);
                if (l.running == 0 && (l.stop || (l.n_alone == 0 && l.next >= rc->src.jobs.n)))
                        break;
                r = loop_once(&l, rc->source.sigfd, true);
                for (unsigned w = 0; w < rc->plan.workers; w++)
                        if (l.slots[w].job)
                                take_handover(&l, &l.slots[w]);
                reporter_poll_tests(l.rep);
                reporter_tick(l.rep, l.view, running_view(&l), memory_in_use(&l));
                report_slow(&l, now_usec());
        }
        if (r < 0) {
                l.aborted = l.stop = true;
                remove_remains(&l);
                kill_running(&l);
                for (unsigned w = 0; w < rc->plan.workers; w++)
                        if (l.slots[w].job)
                                finish_slot(&l, &l.slots[w]);
                remove_remains(&l);
        }
        /* stopped before their rerun alone: they stay killed for memory */
        for (size_t i = 0; i < l.n_alone; i++) {
                l.alone[i]->status = JOB_OOM;
                l.alone[i]->oom_limit = 0;
                reporter_job_finished(l.rep, l.alone[i]);
        }
        for (size_t i = 0; i < rc->src.jobs.n; i++)
                if (rc->src.jobs.jobs[i].status == JOB_PENDING)
                        rc->src.jobs.jobs[i].status = JOB_NOT_RUN;
        rc->wall_s = (double) (now_usec() - l.t0) / 1e6;
        l.forker = forker_free(l.forker);
        reporter_summary(l.rep);
done:
        forker_free(l.forker);
        if (l.winch_fd >= 0) {
                safe_close(l.winch_fd);
                (void) sigprocmask(SIG_SETMASK, &winch_old, NULL);
        }
        reporter_free(l.rep);
        free(l.slots);
        free(l.pfds);
        free(l.pfd_slot);
        free(l.view);
        free(l.alone);
        free(l.remains);
        cgroup_job_free(l.ready);
        return r;
}
