/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsrun [OPTIONS] -- COMMAND: the runner's command line, and the run from start to exit status. */

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "log.h"
#include "parse-util.h"
#include "proc-util.h"
#include "runner-batch.h"
#include "runner-cache.h"
#include "runner-cli.h"
#include "runner-history.h"
#include "runner-launch.h"
#include "runner-pytest.h"
#include "runner-report.h"
#include "runner-run.h"
#include "runner-sched.h"
#include "runner-shard.h"
#include "runner-source.h"
#include "verbs.h"

enum {
        ARG_MEM_PER_WORKER = _ARG_SANDBOX_MAX,
        ARG_MEM_RESERVE,
        ARG_DRY_RUN,
        ARG_DIST,
        ARG_SERIAL,
        ARG_JOBS_FILE,
        ARG_TIMEOUT,
        ARG_RETRIES,
        ARG_REPEAT,
        ARG_FLAKY_FAILS,
        ARG_JUNIT,
        ARG_JSON,
        ARG_LOG_DIR,
        ARG_BATCH,
        ARG_SHARD,
        ARG_SETUP,
};

void print_version(void) {
        printf("nsrun %s\n", NSRUN_VERSION);
        printf("features: +overlayfs +userns +libnl %csystemd\n", HAVE_SYSTEMD ? '+' : '-');
}

int verb_help(void) {
        printf("Usage: nsrun [OPTIONS] -- COMMAND [ARG...]\n"
               "       nsrun [OPTIONS] -- COMMAND {} ::: ARG...\n"
               "       nsrun [OPTIONS] --jobs-file FILE\n"
               "       nsrun exec [OPTIONS] -- COMMAND [ARG...]\n"
               "\n"
               "Run a test suite in parallel, each job in a fresh Linux sandbox with a memory cap of its own.\n"
               "A pytest command is collected and split into one job per test file; 'CMD {} ::: a b c' runs\n"
               "one job per argument; any other command runs as one sandboxed, capped job.\n"
               "\n"
               "Commands:\n"
               "  exec                     run one command in one sandbox ('nsrun exec --help')\n"
               "  xdist                    run pytest-xdist with each of its workers in a sandbox ('nsrun xdist --help')\n"
               "  merge                    combine the reports and history of --shard runs ('nsrun merge --help')\n"
               "  doctor                   check what this machine allows: namespaces, overlayfs, memory caps\n"
               "  clean                    remove what killed runs left: cgroups, run directories, temporary files\n"
               "\n"
               "Sizing:\n"
               "  -j, --jobs N             at most N workers (default: the CPU budget)\n"
               "      --mem-per-worker SIZE  cap each job at SIZE (K, M, G, T) and run only as many\n"
               "                           workers as fit in memory; 'auto': from the peaks of earlier runs.\n"
               "                           Once the history knows each job's peak, each asks for its own\n"
               "                           (peak + 25%%) and jobs start while their requests fit\n"
               "      --mem-reserve R      memory kept back from tests: a percentage ('10%%', the default) or a SIZE\n"
               "      --pids-max N         at most N processes per job (default %u)\n"
               "      --mem-cap off        run where memory cannot be capped (jobs are still measured)\n"
               "      --dry-run            print the plan (budgets, workers, jobs in order) and run nothing\n"
               "\n"
               "Jobs:\n"
               "      --dist MODE          pytest: 'loadfile' (one job per file, the default) or 'test'\n"
               "      --batch N|auto|off   pytest: several files per job, N jobs in all; 'auto' (the default):\n"
               "                           past 4 files per worker, as few as keep start-up within 5%% of the run;\n"
               "                           with history a file longer than a worker's share is split by test id\n"
               "      --serial GLOB        jobs whose name matches run alone, after the rest (repeatable);\n"
               "                           so do pytest files with tests marked 'serial' or 'no_parallel'\n"
               "      --jobs-file FILE     one shell command per line, each a job ('-': stdin)\n"
               "      --setup CMD          run the shell command CMD once, in a sandbox, before anything else; what\n"
               "                           it writes to the project and $HOME is a read-only layer under every job\n"
               "                           (install the project, byte-compile, warm caches once)\n"
               "      --timeout DURATION   kill a job after DURATION (30s, 5m, 1h30m) and report a timeout\n"
               "      --retries N          rerun a failed job up to N times in a fresh sandbox; a pass on retry\n"
               "                           is reported as flaky\n"
               "      --flaky-fails        count flaky jobs as failures\n"
               "      --repeat N           run every job N times\n"
               "  -x, --exitfirst          start no new job after the first failure\n"
               "      --shard K/N|auto     run only share K of N, split by history so shares take equal time\n"
               "                           (auto: from GitLab, CircleCI, Buildkite or Kubernetes variables)\n"
               "\n"
               "Reports:\n"
               "      --junit FILE         one merged JUnit XML report\n"
               "      --json FILE          a JSON report (with --dry-run: the plan)\n"
               "      --log-dir DIR        each job's output (default: .nsrun/logs)\n"
               "\n"
               "Sandbox:\n"
               SANDBOX_OPTIONS_HELP
               "\n"
               "  -h, --help               show this help\n"
               "      --version            show the version and the features built in\n"
               "\n"
               "Exit status: 0 all jobs passed (flaky ones too, unless --flaky-fails); 1 some failed;\n"
               "2 bad usage, or not even one worker fits in memory; 3 this machine refuses sandboxes or\n"
               "memory caps; 130/143 interrupted by SIGINT/SIGTERM.\n"
               "\n"
               "Environment: NSRUN_CACHE_DIR (history, logs; default PROJECT/.nsrun), NO_COLOR.\n",
               PIDS_MAX_DEFAULT);
        return 0;
}

static int parse_count(const char *option, const char *arg, unsigned min, unsigned max, unsigned *ret) {
        int r = parse_unsigned(arg, min, max, ret);
        char why[128];

        if (r >= 0)
                return 0;
        (void) snprintf(why, sizeof why, "give a whole number from %u to %u", min, max);
        return log_bad_option(option, arg, why);
}

static int parse_one(RunOptions *o, int c, const char *arg) {
        unsigned n;
        int r;

        switch (c) {
        case 'j':
                return parse_count("-j", arg, 1, 4096, &o->jobs_max);
        case 'x':
                o->exitfirst = true;
                return 0;
        case ARG_MEM_PER_WORKER:
                if (streq(arg, "auto")) {
                        o->mem_per_worker_auto = true;
                        return 0;
                }
                r = parse_size(arg, false, &o->mem_per_worker);
                if (r == -ERANGE)
                        return log_bad_option("--mem-per-worker", arg, "too large; give a size such as 2G");
                if (r < 0 || o->mem_per_worker < 4096)
                        return log_bad_option("--mem-per-worker", arg,
                                              "not a size; give a number with K, M, G or T, such as 2G, or 'auto'");
                return 0;
        case ARG_MEM_RESERVE:
                return parse_mem_reserve(arg, &o->reserve_bytes, &o->reserve_percent);
        case ARG_PIDS_MAX:
                r = parse_count("--pids-max", arg, 8, 4194304, &n);
                o->pids_max = n;
                return r;
        case ARG_MEM_CAP:
                if (!streq(arg, "off"))
                        return log_bad_option("--mem-cap", arg, "the only value is 'off'");
                o->mem_cap_off = true;
                return 0;
        case ARG_DRY_RUN:
                o->dry_run = true;
                return 0;
        case ARG_DIST:
                if (streq(arg, "loadfile"))
                        o->dist = DIST_LOADFILE;
                else if (streq(arg, "test"))
                        o->dist = DIST_TEST;
                else
                        return log_bad_option("--dist", arg, "use 'loadfile' or 'test'");
                return 0;
        case ARG_BATCH:
                if (streq(arg, "auto"))
                        o->batch = BATCH_AUTO;
                else if (streq(arg, "off"))
                        o->batch = BATCH_OFF;
                else if (parse_unsigned(arg, 1, 1000000, &o->batch) < 0)
                        return log_bad_option("--batch", arg, "give a number of jobs, 'auto' or 'off'");
                return 0;
        case ARG_SETUP:
                if (!*arg)
                        return log_bad_option("--setup", "''", "give a shell command, such as 'python3 -m compileall -q .'");
                free(o->setup);
                o->setup = strdup(arg);
                return o->setup ? 0 : log_oom();
        case ARG_SHARD: {
                Shard sh;
                if (!streq(arg, "auto") && shard_parse(arg, &sh) < 0)
                        return log_bad_option("--shard", arg, "give K/N with 1 <= K <= N, such as 2/4, or 'auto'");
                free(o->shard);
                o->shard = strdup(arg);
                return o->shard ? 0 : log_oom();
        }
        case ARG_SERIAL:
                return strv_push(&o->serial_globs, arg) < 0 ? log_oom() : 0;
        case ARG_JOBS_FILE:
                free(o->jobs_file);
                o->jobs_file = strdup(arg);
                return o->jobs_file ? 0 : log_oom();
        case ARG_TIMEOUT:
                if (parse_duration(arg, &o->timeout_usec) < 0)
                        return log_bad_option("--timeout", arg, "give a duration such as 30s, 5m or 1h30m");
                return 0;
        case ARG_RETRIES:
                return parse_count("--retries", arg, 0, 100, &o->retries);
        case ARG_REPEAT:
                return parse_count("--repeat", arg, 1, 10000, &o->repeat);
        case ARG_FLAKY_FAILS:
                o->flaky_fails = true;
                return 0;
        case ARG_JUNIT:
        case ARG_JSON:
        case ARG_LOG_DIR: {
                char **dst = c == ARG_JUNIT ? &o->junit_path : c == ARG_JSON ? &o->json_path : &o->log_dir;
                free(*dst);
                *dst = realpath(".", NULL);
                if (!*dst)
                        return log_oom();
                if (arg[0] == '/') {
                        free(*dst);
                        *dst = strdup(arg);
                } else {
                        char *abs = NULL;
                        if (asprintf(&abs, "%s/%s", *dst, arg) < 0)
                                return log_oom();
                        free(*dst);
                        *dst = abs;
                }
                return *dst ? 0 : log_oom();
        }
        }
        r = sandbox_options_parse(&o->sandbox, c, arg);
        return r > 0 ? 0 : r < 0 ? r : -EINVAL;
}

/* A report that cannot be written should fail the run at its start, not after an hour of tests. */
static int check_output_path(const char *option, const char *path) {
        _cleanup_free_ char *dir = NULL;
        struct stat st;

        if (!path)
                return 0;
        if (stat(path, &st) >= 0 && S_ISDIR(st.st_mode))
                return log_bad_option(option, path, "a directory; give a file name");
        dir = strdup(path);
        if (!dir)
                return log_oom();
        *strrchr(dir, '/') = '\0'; /* paths are made absolute when parsed */
        if (access(*dir ? dir : "/", W_OK) < 0)
                return log_error_errno(errno, "%s %s: cannot write in %s: %m; give a path in a writable directory",
                                       option, path, *dir ? dir : "/"),
                       -EINVAL;
        return 0;
}

int parse_run_args(int argc, char *argv[], RunOptions *o) {
        static const struct option options[] = {
                SANDBOX_LONG_OPTIONS,
                { "jobs", required_argument, NULL, 'j' },
                { "exitfirst", no_argument, NULL, 'x' },
                { "mem-per-worker", required_argument, NULL, ARG_MEM_PER_WORKER },
                { "mem-reserve", required_argument, NULL, ARG_MEM_RESERVE },
                { "pids-max", required_argument, NULL, ARG_PIDS_MAX },
                { "mem-cap", required_argument, NULL, ARG_MEM_CAP },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "dist", required_argument, NULL, ARG_DIST },
                { "serial", required_argument, NULL, ARG_SERIAL },
                { "jobs-file", required_argument, NULL, ARG_JOBS_FILE },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "retries", required_argument, NULL, ARG_RETRIES },
                { "repeat", required_argument, NULL, ARG_REPEAT },
                { "flaky-fails", no_argument, NULL, ARG_FLAKY_FAILS },
                { "junit", required_argument, NULL, ARG_JUNIT },
                { "json", required_argument, NULL, ARG_JSON },
                { "log-dir", required_argument, NULL, ARG_LOG_DIR },
                { "batch", required_argument, NULL, ARG_BATCH },
                { "shard", required_argument, NULL, ARG_SHARD },
                { "setup", required_argument, NULL, ARG_SETUP },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r, end = argc;

        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--")) {
                        end = i;
                        break;
                }
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(end, argv, ":hj:x", options, NULL)) >= 0) {
                if (c == 'h')
                        return verb_help(), 0;
                if (c == ARG_VERSION)
                        return print_version(), 0;
                r = log_getopt_error(NULL, argv, c) ?: parse_one(o, c, optarg);
                if (r < 0)
                        return r;
        }
        if (optind < end)
                return log_error("unexpected argument '%s'; put the command after '--': nsrun [OPTIONS] -- COMMAND",
                                 argv[optind]),
                       -EINVAL;
        if (end < argc && end + 1 >= argc)
                return log_error("no command after '--'; write: nsrun [OPTIONS] -- COMMAND [ARG...]"), -EINVAL;
        if (end == argc && !o->jobs_file)
                return log_error("no command given; write: nsrun [OPTIONS] -- COMMAND [ARG...], or --jobs-file FILE"),
                       -EINVAL;
        if (end < argc && o->jobs_file)
                return log_error("--jobs-file and a command after '--' exclude each other; give one of them"),
                       -EINVAL;
        if (o->mem_cap_off && (o->mem_per_worker || o->mem_per_worker_auto))
                return log_error("--mem-cap off and --mem-per-worker exclude each other: there is no cap to set"),
                       -EINVAL;
        o->command = end < argc ? argv + end + 1 : NULL;
        r = check_output_path("--json", o->json_path);
        if (r >= 0)
                r = check_output_path("--junit", o->junit_path);
        if (r < 0)
                return r;
        r = sandbox_options_finish(&o->sandbox);
        return r < 0 ? r : 1;
}

/* ---- directories ---- */

static int prepare_dirs(RunOptions *o, RunContext *rc) {
        const char *env = getenv("NSRUN_CACHE_DIR");
        _cleanup_free_ char *runs = NULL;
        char *sub;
        int r;

        if (asprintf(&o->cache_dir, "%s", env && *env ? env : "") < 0 ||
            (!(env && *env) && (free(o->cache_dir), asprintf(&o->cache_dir, "%s/.nsrun", o->sandbox.root_dir) < 0)))
                return log_oom();
        if (!o->log_dir && asprintf(&o->log_dir, "%s/logs", o->cache_dir) < 0)
                return log_oom();
        if (asprintf(&runs, "%s/runs", o->cache_dir) < 0 ||
            asprintf(&rc->run_dir, "%s/%d-%" PRIu64, runs, (int) getpid(), proc_pid_starttime(getpid())) < 0)
                return log_oom();
        (void) cache_remove_stale_runs(runs, NULL, NULL);
        const char *dirs[] = { o->log_dir, rc->run_dir };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                r = mkdir_p(dirs[i], 0755);
                if (r < 0)
                        return log_error_errno(r, "Cannot create %s: %m; give --log-dir, or NSRUN_CACHE_DIR, a writable place",
                                               dirs[i]);
        }
        for (size_t i = 0; i < 2; i++) {
                if (asprintf(&sub, "%s/%s", rc->run_dir, i ? "junit" : "coverage") < 0)
                        return log_oom();
                r = mkdir_p(sub, 0755);
                free(sub);
                if (r < 0)
                        return log_error_errno(r, "Cannot create the run directory %s: %m", rc->run_dir);
        }
        return 0;
}

/* coverage.py's data files go back into the project, named as 'coverage combine' expects (.coverage.*). */
static void collect_coverage(const RunContext *rc) {
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        DIR *d;

        if (asprintf(&dir, "%s/coverage", rc->run_dir) < 0 || !(d = opendir(dir)))
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *from = NULL, *to = NULL;
                if (de->d_name[0] != '.' || !strneq(de->d_name, ".coverage", 9))
                        continue;
                if (asprintf(&from, "%s/%s", dir, de->d_name) < 0 ||
                    asprintf(&to, "%s/%s", rc->opt->sandbox.root_dir, de->d_name) < 0)
                        break;
                if (rename(from, to) < 0)
                        log_warning_errno(errno, "Cannot move coverage data %s into the project: %m", from);
        }
        closedir(d);
}

/* ---- the run ---- */

static int make_repeats(RunContext *rc, unsigned repeat) {
        size_t n = rc->src.jobs.n;

        for (unsigned k = 1; k < repeat; k++)
                for (size_t i = 0; i < n; i++) {
                        Job *j = &rc->src.jobs.jobs[i];
                        if (job_list_add(&rc->src.jobs, strdup(j->name), strv_copy(j->argv), j->n_tests, j->serial) < 0)
                                return log_oom();
                        rc->src.jobs.jobs[rc->src.jobs.n - 1].repeat_index = k;
                }
        return 0;
}

static int plan(RunContext *rc, const History *h) {
        const RunOptions *o = rc->opt;
        PlanInput *in = &rc->plan_input;
        char why[1024];
        int r;

        r = cpu_budget_get(NULL, &in->cpu);
        if (r >= 0)
                r = mem_budget_get(NULL, NULL, &in->mem);
        if (r < 0)
                return log_error_errno(r, "Cannot read this machine's CPU and memory budgets: %m");
        in->reserve_bytes = o->reserve_bytes;
        in->reserve_percent = o->reserve_percent;
        in->mem_per_worker = o->mem_per_worker;
        in->jobs_max = o->jobs_max;
        in->n_jobs = rc->src.jobs.n;
        /* Once the history knows peaks, each job asks for its own (runs without caps have nothing to admit). */
        for (size_t i = 0; i < rc->src.jobs.n && !o->mem_cap_off; i++)
                in->learned = in->learned || rc->src.jobs.jobs[i].hist_peak > 0;
        if (o->mem_per_worker_auto) {
                /* the largest peak seen so far, with a quarter more as headroom; unknown: a fair share */
                uint64_t peak = 0;
                for (size_t i = 0; i < rc->src.jobs.n; i++)
                        peak = MAX(peak, rc->src.jobs.jobs[i].hist_peak);
                in->mem_per_worker = peak ? MAX(peak + peak / 4, UINT64_C(64) << 20) : 0;
        }
        r = plan_compute(in, &rc->plan);
        if (r == -ENOSPC) {
                plan_explain_no_fit(in, &rc->plan, why, sizeof why);
                log_error("--mem-per-worker %s: %s", FORMAT_SIZE(in->mem_per_worker), why);
                return -ENOSPC;
        }
        if (rc->plan.bound == PLAN_BOUND_MEMORY)
                log_notice("%u workers, not %u: %s each fits %u times in the %s available to tests (%s)",
                           rc->plan.workers, MIN(rc->plan.cpu_workers, o->jobs_max ?: UINT_MAX),
                           FORMAT_SIZE(in->mem_per_worker), rc->plan.workers, FORMAT_SIZE(rc->plan.usable_bytes),
                           in->mem.source);
        return r;
}

/* Each job's memory request: its learned peak plus headroom, or the fixed slot (after batching, which sums
 * files into jobs). */
static void assign_requests(RunContext *rc) {
        for (size_t i = 0; i < rc->src.jobs.n; i++) {
                Job *j = &rc->src.jobs.jobs[i];
                j->mem_request = rc->opt->mem_cap_off ? 0 : plan_mem_request(&rc->plan, j->hist_peak);
                j->heavy = rc->plan_input.learned && plan_request_is_heavy(&rc->plan, j->mem_request);
        }
}

static int setup_layers_dir(char **ret) {
        _cleanup_free_ char *base = NULL;
        int r;

        r = cache_setup_layers_base(&base);
        if (r == -EPERM)
                return log_error("--setup: /var/tmp/nsrun-%u is not a private directory of this user; remove it and "
                                 "run again",
                                 (unsigned) geteuid()),
                       r;
        if (r < 0)
                return log_error_errno(r, "--setup: cannot create /var/tmp/nsrun-%u: %m", (unsigned) geteuid());
        (void) cache_remove_stale_runs(base, NULL, NULL);
        if (asprintf(ret, "%s/%d-%" PRIu64, base, (int) getpid(), proc_pid_starttime(getpid())) < 0)
                return log_oom();
        return 0;
}

/* --setup: once, in a sandbox whose writes are kept; they become a layer under every later sandbox. */
static int run_setup(RunContext *rc) {
        const RunOptions *o = rc->opt;
        _cleanup_free_ char *log_path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", o->setup, NULL };
        SandboxResult res;
        uint64_t t0;
        int r;

        if (!o->setup)
                return 0;
        r = setup_layers_dir(&rc->setup_dir);
        if (r < 0)
                return r;
        if (asprintf(&log_path, "%s/setup.log", o->log_dir) < 0)
                return log_oom();
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(errno, "Cannot create %s: %m", log_path);
        t0 = now_usec();
        r = run_sandboxed_once(&rc->source, argv, NULL, fd, rc->setup_dir, &res);
        if (r < 0)
                return r;
        rc->setup_s = seconds_since(t0);
        if (res.outcome != SANDBOX_EXITED || res.code != 0)
                return log_error("--setup '%s' failed (%s %d); its output is in %s; fix the command and run again",
                                 o->setup, res.outcome == SANDBOX_EXITED ? "exit status" : "signal", res.code, log_path),
                       -EINVAL;
        rc->source.base_layers = rc->setup_dir;
        log_info("setup done in %.1fs: '%s' (output in %s)", rc->setup_s, o->setup, log_path);
        return 0;
}

/* Every machine computes the same split from the same jobs and history, and keeps its share. */
static int select_shard(RunContext *rc) {
        const char *source = "--shard";
        Shard sh;
        int r;

        if (!rc->opt->shard)
                return 0;
        if (streq(rc->opt->shard, "auto")) {
                r = shard_from_environment(&sh, &source);
                if (r == -ENOENT)
                        return log_error("--shard auto: no CI variables say which share this is (CI_NODE_INDEX, "
                                         "CIRCLE_NODE_INDEX, BUILDKITE_PARALLEL_JOB, JOB_COMPLETION_INDEX); give "
                                         "--shard K/N"),
                               -EINVAL;
                if (r < 0)
                        return log_error("--shard auto: %s are set but not a valid index and count; give --shard K/N",
                                         source),
                               -EINVAL;
        } else
                (void) shard_parse(rc->opt->shard, &sh);
        (void) snprintf(rc->shard, sizeof rc->shard, "%u/%u", sh.index + 1, sh.total);
        r = shard_select(&rc->src.jobs, &sh);
        if (r < 0)
                return log_oom();
        log_info("shard %s (%s): %zu jobs of this share", rc->shard, source, rc->src.jobs.n);
        return 0;
}

static int save_history(const char *dir, const JobList *l) {
        _cleanup_free_ HistoryRecord *records = NULL;
        size_t n;
        int r;

        r = history_records_from_jobs(l, &records, &n);
        return r < 0 ? r : history_save(dir, records, n, jobs_startup_median(l));
}

static int exit_status(const RunContext *rc) {
        if (rc->signal)
                return 128 + rc->signal;
        if (rc->refused)
                return EXIT_REFUSED;
        for (size_t i = 0; i < rc->src.jobs.n; i++)
                if (job_status_is_failure(rc->src.jobs.jobs[i].status, rc->opt->flaky_fails))
                        return EXIT_RUN_FAILURES;
        return 0;
}

static int run(RunOptions *o, RunContext *rc) {
        History *h = NULL;
        _cleanup_free_ char *warning = NULL;
        int r;

        rc->source = (SourceContext) {
                .cwd = rc->cwd,
                .sigfd = rc->source.sigfd,
                .signal = rc->source.signal,
                .sandbox = &o->sandbox,
                .run_dir = rc->run_dir,
                .pytest_plugin_dir = pytest_plugin_dir(),
                .log_dir = o->log_dir,
                .cache_dir = o->cache_dir,
                .setup = o->setup,
                .dist = o->dist,
                .serial_globs = o->serial_globs,
        };
        r = run_setup(rc);
        if (r < 0)
                goto out;
        r = source_build(&rc->source, o->command, o->jobs_file, &rc->src);
        if (r < 0)
                goto out;
        if (rc->src.jobs.n == 0) {
                r = (log_error("pytest collected no tests; check the paths and -k/-m selections"), -EINVAL);
                goto out;
        }
        r = make_repeats(rc, o->repeat);
        if (r < 0)
                goto out;
        r = history_load(o->cache_dir, &h, &warning);
        if (r < 0)
                goto out;
        if (warning)
                log_warning("%s", warning);
        history_annotate(h, &rc->src.jobs);
        sched_estimate(&rc->src.jobs);
        r = select_shard(rc);
        if (r < 0)
                goto out;
        r = plan(rc, h);
        if (r < 0)
                goto out;
        r = source_batch(&rc->src, rc->plan.workers, o->batch, history_startup_s(h));
        if (r < 0) {
                r = log_oom();
                goto out;
        }
        rc->order = new0(size_t, rc->src.jobs.n);
        if (!rc->order) {
                r = log_oom();
                goto out;
        }
        assign_requests(rc);
        sched_order(&rc->src.jobs, rc->order);
        if (o->dry_run) {
                r = o->json_path ? report_write_json(rc, o->json_path) : report_print_plan(rc);
                goto out;
        }
        r = run_jobs(rc);
        if (r >= 0 && o->json_path)
                r = report_write_json(rc, o->json_path);
        if (r >= 0 && o->junit_path)
                r = report_write_junit(rc, o->junit_path);
        collect_coverage(rc);
        /* A shard leaves the history as it found it: every shard must split the same jobs by the same history,
         * whenever it runs; nsrun merge --history keeps their times. */
        if (!o->shard && save_history(o->cache_dir, &rc->src.jobs) < 0)
                log_warning("Cannot save the history in %s; the next run will order jobs without it", o->cache_dir);
out:
        history_free(h);
        free((char *) rc->source.pytest_plugin_dir);
        return r;
}

int verb_run(int argc, char *argv[]) {
        RunOptions o = { .reserve_percent = 10, .pids_max = PIDS_MAX_DEFAULT, .repeat = 1 };
        RunContext rc = { .opt = &o, .null_fd = -EBADF, .source.sigfd = -EBADF };
        sigset_t mask, old_mask;
        int r, status;

        r = parse_run_args(argc, argv, &o);
        if (r <= 0) {
                run_options_done(&o);
                return r < 0 ? EXIT_USAGE : 0;
        }
        rc.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        rc.cwd = get_current_dir_name();
        if (!rc.cwd) {
                log_error_errno(errno, "Cannot determine the current directory: %m");
                run_context_done(&rc);
                run_options_done(&o);
                return EXIT_USAGE;
        }
        /* From here on SIGINT, SIGTERM and SIGHUP only stop the run: whatever it is doing (a setup step,
         * collection, jobs) is killed, the partial summary printed, everything removed, then 128+N. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, &old_mask);
        rc.source.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
        rc.source.signal = &rc.signal;
        r = prepare_dirs(&o, &rc);
        if (r >= 0)
                r = launch_open_cgroups(!o.mem_cap_off, &rc.cgroups);
        if (r >= 0)
                r = run(&o, &rc);
        if (rc.signal && rc.wall_s == 0)
                log_error("interrupted by SIG%s before any job ran; nothing was left behind", sigabbrev_np(rc.signal));
        status = rc.signal ? 128 + rc.signal
                 : r == -ECANCELED || rc.refused ? EXIT_REFUSED
                 : r < 0 ? EXIT_USAGE
                         : exit_status(&rc);
        run_context_done(&rc); /* its signalfd closed before the signals are unblocked */
        (void) sigprocmask(SIG_SETMASK, &old_mask, NULL);
        run_options_done(&o);
        return status;
}
