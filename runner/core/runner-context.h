/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The data of one run, shared by its layers above core/: the options (RunOptions), what building its jobs needs
 * (SourceContext) and gives (Source), and the run as it goes (RunContext). Types and their destructors only. */

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"
#include "runner-config.h"
#include "runner-job.h"
#include "runner-options.h"
#include "runner-plan.h"
#include "time-util.h"

struct json_object;
struct Forker;

typedef enum DistMode {
        DIST_LOADFILE,  /* one job per test file: module fixtures stay together */
        DIST_TEST,      /* one job per test */
} DistMode;

typedef enum ForkMode {
        FORK_AUTO,      /* pytest jobs forked from a prepared interpreter when safe and there are more jobs than
                         * workers */
        FORK_ON,        /* whenever safe */
        FORK_OFF,       /* a fresh interpreter per job */
} ForkMode;

typedef struct SourceContext {
        const SandboxOptions *sandbox;
        const char *run_dir;            /* host directory bound writable into every sandbox */
        const char *pytest_plugin_dir;  /* holds nsrun_pytest.py */
        const char *log_dir;
        DistMode dist;
        char **serial_globs;
        const char *base_layers;        /* --setup's kept writes, a layer under every sandbox's overlays */
        const char *setup;              /* --setup's command, or NULL */
        const char *cwd;                /* where every sandbox of the run starts (nsrun's own cwd) */
        const char *cache_dir;          /* .nsrun: the history, and pytest's last collection */
        bool quote_raw;                 /* -q: no replacement string is quoted, not even in a shell's -c script */
        /* pytest's collection as a prepared interpreter made it (--fork): > 0 and the report's path in *ret, else
         * 0 and the collection is made as without one */
        int (*prepared_collection)(void *userdata, char **ret);
        void *prepared_userdata;
        /* what runs before the jobs is in a cgroup of the run (launch_sandbox_capped()), capped: --setup at the
         * memory for tests, the collection as a job alone (plan_alone_limit()), each prepared interpreter (--fork)
         * at a worker's share, --mem-per-worker SIZE or the budget over the workers; CGROUP_LIMIT_MAX: none
         * (--mem-cap off) */
        CgroupManager *cgroups;
        uint64_t setup_mem_max, collect_mem_max, prepared_mem_max, pids_max;
        bool mem_size_given;            /* the caps are --mem-per-worker SIZE's (the collection's, the interpreters') */
        int sigfd;                      /* SIGINT, SIGTERM, SIGHUP: blocked for the whole run, read here */
        int *signal;                    /* where the first one is recorded */
} SourceContext;

/* A collected test's place in the collection: its id's hash (fnv1a64()), for pytest's order in reports. */
typedef struct TestPlace {
        uint64_t hash;
        size_t index;
} TestPlace;

typedef struct Source {
        JobList jobs;
        bool pytest;
        bool pytest_xdist;      /* pytest-xdist is active: jobs get '-n 0' */
        char **pytest_options;  /* the command every pytest job shares: argv less the files/ids */
        char *collect_log;
        bool collect_reused;    /* pytest's collection came from the cache: nothing it reads had changed */
        char *pytest_cache_dir; /* pytest's cache directory as the collection resolved it; NULL without one */
        bool pytest_cache_clear; /* --cache-clear */
        char *pytest_hypothesis_db; /* hypothesis's example database directory, as the collection saw it; or NULL */
        char *pytest_imports;   /* JSON: the modules the collection imported, for prepared interpreters; or NULL */
        bool pytest_usage_error; /* the collection's pytest exited 4: its usage error, nsrun's exit status too */
        unsigned pytest_maxfail; /* -x, --maxfail=N: no job starts once this many tests failed in all; 0: never */
        TestPlace *test_places; /* pytest: every collected test, sorted by hash */
        size_t n_test_places;
} Source;

void source_done(Source *s);
/* Where pytest collected the test nodeid (0 the first), SIZE_MAX for one it did not collect. */
size_t source_test_place(const Source *s, const char *nodeid);

typedef struct RunOptions {
        SandboxOptions sandbox;
        char **command;
        char *jobs_file;
        CapOptions cap;                 /* -j, --mem-per-worker, --mem-reserve, --pids-max, --cpus-per-job, --mem-cap */
        bool dry_run;
        DistMode dist;
        ForkMode fork;                  /* --fork */
        unsigned batch;                 /* BATCH_AUTO, BATCH_OFF or a number of jobs */
        char *shard;                    /* --shard K/N or auto, NULL: all jobs */
        char *setup;                    /* --setup CMD, NULL: none */
        char **serial_globs;
        uint64_t timeout_usec;          /* --timeout: SIGTERM to the job's command after this long; 0: never */
        uint64_t timeout_grace_usec;    /* --timeout-grace: then SIGKILL to all of it this much later */
        unsigned retries;
        unsigned repeat;
        unsigned halt_fail;             /* -x, --halt ...,fail=N: stop after N failed jobs; 0: never */
        bool halt_now;                  /* --halt now,...: kill the running jobs too */
        bool keep_order;                /* -k: each job's line in input order */
        bool quote_raw;                 /* -q */
        bool flaky_fails;
        bool success_output;            /* --success-output: a passing job's output after its line */
        bool no_capture;                /* --no-capture: each job's output straight to nsrun's, as it runs; -j 1 */
        char *junit_path;
        char *json_path;
        char *log_dir;
        char *cache_dir;
        char *joblog_path;              /* --joblog, GNU parallel's format */
        bool root_dir_given;            /* --root-dir: also where .nsrun/ goes */
        int color;                      /* --color: COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER */
        uint64_t slow_usec;             /* --slow-timeout: a SLOW line per this long a job runs; 0: the default
                                         * (SLOW_USEC_DEFAULT), UINT64_MAX: off */
        Setting *settings;              /* what the settings file, NSRUN_OPTS and the command line set, for
                                         * --dry-run */
        size_t n_settings;
} RunOptions;

#define SLOW_USEC_DEFAULT (60 * USEC_PER_SEC)
#define TIMEOUT_GRACE_USEC_DEFAULT (10 * USEC_PER_SEC)

enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

typedef struct RunContext {
        const RunOptions *opt;
        SourceContext source;
        Source src;
        CgroupManager *cgroups;
        Plan plan;
        PlanInput plan_input;
        /* the memory budget as the run found it, before --setup, its collection and prepared interpreters
         * (whose memory is no job's); source[0] is '\0' where it could not be read */
        MemBudget mem_at_start;
        uint64_t prepared_peak;         /* the largest peak of the prepared interpreters, 0: none measured */
        struct Forker *forker;          /* --fork's prepared interpreters, started before the collection; the run of
                                         * the jobs takes them */
        size_t *order;
        char *run_dir;
        char *collect_dir;              /* run_dir/collect: bound into collection's (and --setup's) sandbox */
        char *cwd;                      /* nsrun's working directory, once for every sandbox */
        char *setup_dir;                /* --setup's layers: beside run_dir, never inside it (jobs may write there) */
        char *rewrite_dir;              /* .nsrun/pytest-rewrite: pytest's assertion rewriting, kept (runner-rewrite.h) */
        double setup_s;
        int null_fd;
        int stdout_fd;                  /* where '--json -' or '--junit -' go; nsrun's own stdout is then stderr */
        /* results */
        int signal;                     /* SIGINT/SIGTERM/SIGHUP that stopped the run, or 0 */
        double wall_s;
        char shard[32];                 /* "K/N" of this machine's share, "" for all */
        bool refused;                   /* the machine refused a sandbox: exit status 3 */
        bool no_tests;                  /* pytest collected no test: exit status 5, as pytest's */
} RunContext;

/* Each attempt of a job has a directory of its own in the run directory, "job-<index>-<attempt>", the one host path
 * its sandbox may write; coverage.py's data file there is named COVERAGE_PREFIX "<index>-<attempt>". */
#define JOB_DIR_FORMAT "job-%zu-%u"
#define COVERAGE_PREFIX ".coverage.nsrun-"

void run_options_done(RunOptions *o);
/* Removes what the run made (its cgroups with whatever still runs in them, its run directory, --setup's
 * layers) and frees the rest; the options stay. */
void run_context_done(RunContext *rc);
