/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "runner-job.h"
#include "runner.h"

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
        const char *cwd;                /* where every sandbox of the run starts (nsrun's own cwd) */
        int sigfd;                      /* SIGINT, SIGTERM, SIGHUP: blocked for the whole run, read here */
        int *signal;                    /* where the first one is recorded */
} SourceContext;

typedef struct Source {
        JobList jobs;
        bool pytest;
        bool pytest_xdist;      /* pytest-xdist is active: jobs get '-n 0' */
        char **pytest_options;  /* the command every pytest job shares: argv less the files/ids */
        char *collect_log;
} Source;

/* argv[0] is pytest, py.test, pytest-3, or python* -m pytest: returns the index of pytest's first argument. */
int pytest_args_start(char *const *argv);

/* Builds the jobs. Logs and returns <0 on errors the user must fix (-EINVAL bad input, -EBADMSG a pytest
 * collection that failed: exit status 2); -ECANCELED the machine refuses sandboxes (exit status 3). */
int source_build(const SourceContext *c, char **command, const char *jobs_file, Source *ret);
void source_done(Source *s);

/* Batching: several pytest files in one job, when one job per file would spend too much on pytest's start-up.
 * BATCH_AUTO batches only when there are more than 4 files per worker, into 4 jobs per worker of balanced
 * expected time (longest-processing-time-first over the files' history, or test counts on a first run). Serial
 * jobs and per-test jobs are never batched. */
#define BATCH_AUTO 0
#define BATCH_OFF UINT_MAX
int source_batch(Source *s, unsigned workers, unsigned batch);

/* The pytest part, in runner-pytest.c. */
int pytest_source(const SourceContext *c, char **command, Source *ret);

/* Runs argv in a sandbox like a job (same isolation, run_dir shared, output to out_fd) and waits; keep_writes
 * (or NULL) keeps what it wrote. A signal on c->sigfd kills it: -EINTR, with the signal in *c->signal. */
int run_sandboxed_once(const SourceContext *c, char **argv, char **extra_env, int out_fd, const char *keep_writes,
                       SandboxResult *ret);
