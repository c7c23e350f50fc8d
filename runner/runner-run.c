/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The run: each free worker takes the next job, in a fresh sandbox and cgroup of its own. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "runner-run.h"

extern char **environ;

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

typedef struct Slot {
        unsigned index;
        Job *job;
        Sandbox *sandbox;
        CgroupJob *cgroup;
        uint64_t started;       /* usec, monotonic */
        uint64_t deadline;      /* usec, 0 = none */
        bool timed_out;
} Slot;

typedef struct Loop {
        RunContext *rc;
        Reporter *rep;
        Slot *slots;
        struct pollfd *pfds;    /* [0] the signalfd, then one per running job */
        unsigned *pfd_slot;
        size_t next;            /* in rc->order */
        unsigned running;
        bool stop;              /* no more dispatching: -x or a signal */
} Loop;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void sanitize(char *s) {
        for (; *s; s++)
                if (*s == '/' || *s == ' ' || *s == ':' || *s == '[' || *s == ']' || *s == '\'' || *s == '"')
                        *s = '_';
}

/* The job's own environment: the caller's, plus where it runs, its own coverage data file, and for pytest where
 * nsrun's plugin is and where it writes the files' times. */
static char **job_env(const RunContext *rc, const Job *j, size_t index, unsigned worker) {
        char **v = strv_copy(environ), buf[PATH_MAX + 64];
        const char *pp = getenv("PYTHONPATH");
        int r = v ? 0 : -ENOMEM;

        (void) snprintf(buf, sizeof buf, "NSRUN_WORKER=%u", worker);
        r = r ?: strv_env_set(&v, buf);
        (void) snprintf(buf, sizeof buf, "NSRUN_WORKERS=%u", rc->plan.workers);
        r = r ?: strv_env_set(&v, buf);
        (void) snprintf(buf, sizeof buf, "NSRUN_JOB=%s", j->name);
        r = r ?: strv_env_set(&v, buf);
        /* coverage.py writes here; nsrun moves the files into the project afterwards for 'coverage combine' */
        (void) snprintf(buf, sizeof buf, "COVERAGE_FILE=%s/coverage/.coverage.nsrun-%zu-%u", rc->run_dir, index,
                        j->attempts);
        r = r ?: strv_env_set(&v, buf);
        if (rc->src.pytest && j->times_path) {
                (void) snprintf(buf, sizeof buf, "NSRUN_TIMES_OUT=%s", j->times_path);
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

/* pytest writes its per-job JUnit report into the run directory, which every sandbox shares with nsrun, and
 * nsrun's plugin the seconds each file took. */
static char **job_argv(const RunContext *rc, Job *j, size_t index) {
        _cleanup_free_ char *opt = NULL;
        char **argv = strv_copy(j->argv);

        if (!argv || !rc->src.pytest)
                return argv;
        free(j->junit_path);
        free(j->times_path);
        j->junit_path = j->times_path = NULL;
        if (asprintf(&j->junit_path, "%s/junit/job-%zu.xml", rc->run_dir, index) < 0 ||
            asprintf(&j->times_path, "%s/junit/times-%zu.json", rc->run_dir, index) < 0 ||
            asprintf(&opt, "--junitxml=%s", j->junit_path) < 0 || strv_push(&argv, opt) < 0 ||
            strv_push(&argv, "-p") < 0 || strv_push(&argv, "nsrun_pytest") < 0) {
                strv_free(argv);
                return NULL;
        }
        return argv;
}

static int open_log(const RunContext *rc, Job *j) {
        _cleanup_free_ char *name = strdup(j->name);
        int fd, r;

        if (!name)
                return -ENOMEM;
        sanitize(name);
        free(j->log_path);
        j->log_path = NULL;
        r = j->repeat_index > 0 ? asprintf(&j->log_path, "%s/%s.%u.log", rc->opt->log_dir, name, j->repeat_index)
                                : asprintf(&j->log_path, "%s/%s.log", rc->opt->log_dir, name);
        if (r < 0)
                return -ENOMEM;
        fd = open(j->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (j->attempts == 1 ? O_TRUNC : 0), 0644);
        return fd < 0 ? -errno : fd;
}

static int start_attempt(Loop *l, Slot *s, Job *j) {
        RunContext *rc = l->rc;
        size_t index = (size_t) (j - rc->src.jobs.jobs);
        SandboxSpec spec = SANDBOX_SPEC_INIT;
        _cleanup_free_ SandboxMount *mounts = NULL;
        _cleanup_free_ char *cgname = NULL;
        _cleanup_close_ int log_fd = -EBADF;
        char **argv = NULL, **envp = NULL;
        CgroupLimits limits = { .mem_max = rc->plan.mem_per_job, .pids_max = rc->opt->pids_max };
        uint64_t t0 = now_usec();
        int r;

        j->attempts++;
        j->status = JOB_RUNNING;
        j->mem_limit = rc->opt->mem_cap_off ? 0 : rc->plan.mem_per_job;
        s->job = j;
        s->timed_out = false;
        log_fd = open_log(rc, j);
        if (log_fd < 0)
                return log_fd;
        if (asprintf(&cgname, "job-%zu-%u", index, j->attempts) < 0)
                return -ENOMEM;
        r = cgroup_job_new(rc->cgroups, cgname, &limits, &s->cgroup);
        if (r < 0)
                return r;
        argv = job_argv(rc, j, index);
        envp = job_env(rc, j, index, s->index);
        r = sandbox_options_mounts(&rc->opt->sandbox, rc->run_dir, rc->src.pytest ? rc->source.pytest_plugin_dir : NULL,
                                   &mounts, &spec.n_mounts);
        if (!argv || !envp || r < 0) {
                r = -ENOMEM;
                goto finish;
        }
        spec.argv = argv;
        spec.envp = envp;
        spec.cwd = rc->source.cwd;
        spec.mounts = mounts;
        spec.net = rc->opt->sandbox.net;
        spec.base_layers = rc->source.base_layers;
        spec.new_session = true;
        spec.stdio[0] = rc->null_fd;
        spec.stdio[1] = spec.stdio[2] = log_fd;
        spec.cgroup_fd = cgroup_job_fd(s->cgroup);
        if (spec.cgroup_fd < 0)
                spec.cgroup_fd = -EBADF;
        spec.paused = spec.cgroup_fd < 0; /* attached below, before it may start */
        r = sandbox_spawn(&spec, &s->sandbox);
        if (r < 0)
                goto finish;
        if (spec.cgroup_fd < 0)
                r = cgroup_job_attach(s->cgroup, sandbox_pid(s->sandbox));
        if (r >= 0)
                r = sandbox_start(s->sandbox);
finish:
        strv_free(argv);
        strv_free(envp);
        s->started = now_usec();
        j->setup_s = (double) (s->started - t0) / 1e6;
        s->deadline = rc->opt->timeout_usec ? s->started + rc->opt->timeout_usec : 0;
        return r;
}

static void release_slot(Slot *s) {
        s->sandbox = sandbox_free(s->sandbox);
        s->cgroup = cgroup_job_free(s->cgroup);
        s->job = NULL;
}

static void read_test_counts(const RunContext *rc, Job *j) {
        unsigned tests = 0, failures = 0, skipped = 0;

        j->tests_passed = j->tests_failed = j->tests_skipped = 0;
        if (!rc->src.pytest || !j->junit_path || junit_read_counts(j->junit_path, &tests, &failures, &skipped) < 0)
                return;
        j->tests_failed = failures;
        j->tests_skipped = skipped;
        j->tests_passed = tests >= failures + skipped ? tests - failures - skipped : 0;
}

/* The seconds each of the job's files took, as nsrun's plugin wrote them; NULL if it did not (a killed job). */
static void read_file_times(Job *j) {
        _cleanup_(json_object_putp) json_object *doc = j->times_path ? json_object_from_file(j->times_path) : NULL;
        json_object *files, *t;
        char *single[2];
        char *const *names = job_files(j, single);
        size_t n = strv_length(names);

        j->file_s = mfree(j->file_s);
        if (!doc || !json_object_object_get_ex(doc, "files", &files) || !(j->file_s = new0(double, n)))
                return;
        for (size_t i = 0; i < n; i++)
                j->file_s[i] = json_object_object_get_ex(files, names[i], &t) ? json_object_get_double(t) : 0;
}

static JobStatus classify(const RunContext *rc, Slot *s, const SandboxResult *res, const CgroupStats *st) {
        Job *j = s->job;
        char why[1024];

        j->exit_code = res->outcome == SANDBOX_EXITED ? res->code : -1;
        j->signal = res->outcome == SANDBOX_SIGNALED || res->outcome == SANDBOX_KILLED ? res->code : 0;
        if (s->timed_out)
                return JOB_TIMEOUT;
        if (st->oom_kills > 0 && !(res->outcome == SANDBOX_EXITED && res->code == 0))
                return JOB_OOM;
        switch (res->outcome) {
        case SANDBOX_EXITED:
                if (res->code == 0 || (rc->src.pytest && res->code == 5)) /* 5: pytest found no test */
                        return JOB_PASSED;
                return rc->src.pytest && res->code >= 2 ? JOB_ERROR : JOB_FAILED;
        case SANDBOX_SIGNALED:
        case SANDBOX_KILLED:
                return JOB_FAILED;
        case SANDBOX_EXEC_FAILED:
                free(j->error);
                j->error = NULL;
                (void) asprintf(&j->error, "%s: %s", j->argv[0],
                                res->error == ENOENT ? "command not found" : strerror(res->error));
                return JOB_ERROR;
        case SANDBOX_SETUP_FAILED:
                if (sandbox_explain(0, res, why, sizeof why))
                        ((RunContext *) rc)->refused = true;
                free(j->error);
                j->error = strdup(why);
                return JOB_ERROR;
        }
        return JOB_ERROR;
}

static bool should_retry(const RunContext *rc, const Job *j, JobStatus st) {
        return j->attempts <= rc->opt->retries && (st == JOB_FAILED || st == JOB_TIMEOUT || st == JOB_OOM) &&
               !rc->signal;
}

static void finish_slot(Loop *l, Slot *s) {
        RunContext *rc = l->rc;
        SandboxResult res = {};
        CgroupStats st = {};
        Job *j = s->job;
        JobStatus status;
        bool failed_before = j->attempts > 1;
        int r;

        r = sandbox_wait(s->sandbox, &res);
        j->wall_s = (double) (now_usec() - s->started) / 1e6;
        (void) cgroup_job_stats(s->cgroup, &st);
        j->peak_mem = MAX(j->peak_mem, st.peak_mem);
        if (r < 0) {
                res.outcome = SANDBOX_SETUP_FAILED;
                res.error = -r;
        }
        status = classify(rc, s, &res, &st);
        read_test_counts(rc, j);
        read_file_times(j);
        release_slot(s);
        l->running--;
        if (should_retry(rc, j, status)) {
                r = start_attempt(l, s, j);
                if (r >= 0) {
                        l->running++;
                        return;
                }
                release_slot(s);
                status = JOB_ERROR;
        }
        if (status == JOB_PASSED && failed_before)
                status = JOB_FLAKY;
        j->status = status;
        reporter_job_finished(l->rep, j);
        if (rc->refused || (rc->opt->exitfirst && job_status_is_failure(status, rc->opt->flaky_fails)))
                l->stop = true;
}

static Job *next_job(Loop *l) {
        RunContext *rc = l->rc;
        Job *j;

        if (l->stop || l->next >= rc->src.jobs.n)
                return NULL;
        j = &rc->src.jobs.jobs[rc->order[l->next]];
        /* A serial job waits until nothing else runs, and then runs alone. */
        if (j->serial && l->running > 0)
                return NULL;
        l->next++;
        return j;
}

static bool serial_running(const Loop *l) {
        for (unsigned w = 0; w < l->rc->plan.workers; w++)
                if (l->slots[w].job && l->slots[w].job->serial)
                        return true;
        return false;
}

static void dispatch(Loop *l) {
        for (unsigned w = 0; w < l->rc->plan.workers; w++) {
                Slot *s = &l->slots[w];
                Job *j;
                int r;

                if (s->job)
                        continue;
                if (serial_running(l))
                        return;
                j = next_job(l);
                if (!j)
                        return;
                r = start_attempt(l, s, j);
                if (r < 0) {
                        release_slot(s);
                        j->status = JOB_ERROR;
                        free(j->error);
                        j->error = NULL;
                        (void) asprintf(&j->error, "could not start: %s", strerror(-r));
                        reporter_job_finished(l->rep, j);
                        continue;
                }
                l->running++;
                if (j->serial)
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

static void check_deadlines(Loop *l, uint64_t now) {
        for (unsigned w = 0; w < l->rc->plan.workers; w++) {
                Slot *s = &l->slots[w];
                if (s->job && s->deadline && now >= s->deadline && !s->timed_out) {
                        s->timed_out = true;
                        (void) sandbox_kill(s->sandbox, SIGKILL);
                        (void) cgroup_job_kill(s->cgroup);
                }
        }
}

static int poll_timeout(const Loop *l, uint64_t now, bool ticking) {
        uint64_t t = ticking ? 200 * USEC_PER_MSEC : UINT64_MAX;

        for (unsigned w = 0; w < l->rc->plan.workers; w++) {
                const Slot *s = &l->slots[w];
                if (s->job && s->deadline && !s->timed_out)
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

static void on_signal(Loop *l, int sfd) {
        struct signalfd_siginfo si;

        if (read(sfd, &si, sizeof si) != sizeof si)
                return;
        if (!l->rc->signal)
                l->rc->signal = (int) si.ssi_signo;
        l->stop = true;
        kill_running(l);
}

static int loop_once(Loop *l, int sfd, bool ticking) {
        struct pollfd *p = l->pfds;
        unsigned n = 1, *who = l->pfd_slot;
        int r;

        p[0] = (struct pollfd) { .fd = sfd, .events = POLLIN };
        for (unsigned w = 0; w < l->rc->plan.workers; w++)
                if (l->slots[w].job) {
                        who[n] = w;
                        p[n++] = (struct pollfd) { .fd = sandbox_fd(l->slots[w].sandbox), .events = POLLIN };
                }
        r = poll(p, n, poll_timeout(l, now_usec(), ticking));
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        if (p[0].revents & POLLIN)
                on_signal(l, sfd);
        for (unsigned i = 1; i < n; i++)
                if (p[i].revents)
                        finish_slot(l, &l->slots[who[i]]);
        check_deadlines(l, now_usec());
        return 0;
}

int run_jobs(RunContext *rc) {
        Loop l = { .rc = rc };
        uint64_t t0 = now_usec();
        int r = 0;

        l.slots = new0(Slot, rc->plan.workers);
        l.pfds = new0(struct pollfd, rc->plan.workers + 1);
        l.pfd_slot = new0(unsigned, rc->plan.workers + 1);
        l.rep = reporter_new(rc);
        if (!l.slots || !l.pfds || !l.pfd_slot || !l.rep) {
                r = log_oom();
                goto done;
        }
        for (unsigned w = 0; w < rc->plan.workers; w++)
                l.slots[w].index = w;
        while (r >= 0) {
                dispatch(&l);
                if (l.running == 0 && (l.stop || l.next >= rc->src.jobs.n))
                        break;
                r = loop_once(&l, rc->source.sigfd, true);
                reporter_tick(l.rep, l.running, memory_in_use(&l));
        }
        if (r < 0) {
                kill_running(&l);
                for (unsigned w = 0; w < rc->plan.workers; w++)
                        if (l.slots[w].job)
                                finish_slot(&l, &l.slots[w]);
        }
        for (size_t i = 0; i < rc->src.jobs.n; i++)
                if (rc->src.jobs.jobs[i].status == JOB_PENDING)
                        rc->src.jobs.jobs[i].status = JOB_NOT_RUN;
        rc->wall_s = (double) (now_usec() - t0) / 1e6;
        reporter_summary(l.rep);
done:
        reporter_free(l.rep);
        free(l.slots);
        free(l.pfds);
        free(l.pfd_slot);
        return r;
}
