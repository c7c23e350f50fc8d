/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "runner-job.h"
#include "runner.h"

struct json_object;

/* Where the jobs come from: a pytest command (collected and split), 'CMD {} ::: a b c', --jobs-file, or one
 * plain command. */

typedef enum DistMode {
        DIST_LOADFILE,  /* one job per test file: module fixtures stay together */
        DIST_TEST,      /* one job per test */
} DistMode;

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
        int sigfd;                      /* SIGINT, SIGTERM, SIGHUP: blocked for the whole run, read here */
        int *signal;                    /* where the first one is recorded */
} SourceContext;

typedef struct Source {
        JobList jobs;
        bool pytest;
        bool pytest_xdist;      /* pytest-xdist is active: jobs get '-n 0' */
        char **pytest_options;  /* the command every pytest job shares: argv less the files/ids */
        char *collect_log;
        bool collect_reused;    /* pytest's collection came from the cache: nothing it reads had changed */
} Source;

/* argv[0] is pytest, py.test, pytest-3, or python* -m pytest: returns the index of pytest's first argument. */
int pytest_args_start(char *const *argv);

/* Builds the jobs. Logs and returns <0 on errors the user must fix (-EINVAL bad input, -EBADMSG a pytest
 * collection that failed: exit status 2); -ECANCELED the machine refuses sandboxes (exit status 3). */
int source_build(const SourceContext *c, char **command, const char *jobs_file, Source *ret);
void source_done(Source *s);

/* Batching: several pytest files in one job, when one job per file would spend too much on pytest's start-up.
 * BATCH_AUTO batches only past 4 files per worker: on a first run into about 4 jobs per worker (by test count);
 * once the history knows a job's start-up (startup_s >= 0) and every file's time, into at most as many as keep
 * start-up within BATCH_STARTUP_SHARE of the run, between 2 and 16 per worker: the count whose simulated run is
 * shortest among those that make the jobs a multiple of the workers. Batches are of decreasing size
 * (sched_pack()). Serial jobs and per-test jobs are never batched. Files are split by test id first (unless
 * --batch off): see split_plan() in runner-batch.c. */
#define BATCH_AUTO 0
#define BATCH_OFF UINT_MAX
#define BATCH_STARTUP_SHARE 0.05
int source_batch(Source *s, unsigned workers, unsigned batch, double startup_s);
/* The most jobs source_batch() can make of s: a file it may split counts as its tests. The worker count is
 * planned on it, so that a single file can be spread over workers. */
size_t source_jobs_bound(const Source *s, unsigned batch);
/* How many jobs BATCH_AUTO makes of n files with total expected seconds (<0: unknown) on workers. */
size_t batch_auto_count(size_t n_files, double total_s, double startup_s, unsigned workers);

/* pytest's last collection, in runner-collect.c: reused while the command, what pytest reads from the
 * environment, nsrun's plugin and every file of the project (and of the packages of tests outside it) are the
 * same, by content, and so is --setup's command. load returns 1 and the plugin's document in
 * *ret when it may be reused, else 0; store keeps doc, quietly (a cache). */
int collect_cache_load(const SourceContext *c, char **command, struct json_object **ret);
void collect_cache_store(const SourceContext *c, char **command, struct json_object *doc);

/* The pytest part, in runner-pytest.c. */
int pytest_source(const SourceContext *c, char **command, Source *ret);

/* Runs argv in a sandbox like a job (same isolation, run_dir shared, output to out_fd) and waits; keep_writes
 * (or NULL) keeps what it wrote. A signal on c->sigfd kills it: -EINTR, with the signal in *c->signal. */
int run_sandboxed_once(const SourceContext *c, char **argv, char **extra_env, int out_fd, const char *keep_writes,
                       SandboxResult *ret);
