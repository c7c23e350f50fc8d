/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "cgroup.h"
#include "runner-job.h"
#include "runner-plan.h"
#include "runner-source.h"

typedef struct RunOptions {
        SandboxOptions sandbox;
        char **command;
        char *jobs_file;
        unsigned jobs_max;
        uint64_t mem_per_worker;
        bool mem_per_worker_auto;
        uint64_t reserve_bytes;
        unsigned reserve_percent;
        uint64_t pids_max;
        unsigned cpus_per_job;          /* --cpus-per-job, 0: the CPU budget over the workers */
        bool mem_cap_off;
        bool dry_run;
        DistMode dist;
        unsigned batch;                 /* BATCH_AUTO, BATCH_OFF or a number of jobs */
        char *shard;                    /* --shard K/N or auto, NULL: all jobs */
        char *setup;                    /* --setup CMD, NULL: none */
        char **serial_globs;
        uint64_t timeout_usec;
        unsigned retries;
        unsigned repeat;
        unsigned halt_fail;             /* -x, --halt ...,fail=N: stop after N failed jobs; 0: never */
        bool halt_now;                  /* --halt now,...: kill the running jobs too */
        bool keep_order;                /* -k: each job's line in input order */
        bool quote_raw;                 /* -q */
        bool flaky_fails;
        char *junit_path;
        char *json_path;
        char *log_dir;
        char *cache_dir;
        char *joblog_path;              /* --joblog, GNU parallel's format */
} RunOptions;

#define PIDS_MAX_DEFAULT 4096

typedef struct RunContext {
        const RunOptions *opt;
        SourceContext source;
        Source src;
        CgroupManager *cgroups;
        Plan plan;
        PlanInput plan_input;
        size_t *order;
        char *run_dir;
        char *collect_dir;              /* run_dir/collect: bound into collection's (and --setup's) sandbox */
        char *cwd;                      /* nsrun's working directory, once for every sandbox */
        char *setup_dir;                /* --setup's layers: beside run_dir, never inside it (jobs may write there) */
        double setup_s;
        int null_fd;
        int stdout_fd;                  /* where '--json -' or '--junit -' go; nsrun's own stdout is then stderr */
        /* results */
        int signal;                     /* SIGINT/SIGTERM/SIGHUP that stopped the run, or 0 */
        double wall_s;
        char shard[32];                 /* "K/N" of this machine's share, "" for all */
        bool refused;                   /* the machine refused a sandbox: exit status 3 */
} RunContext;

/* Each attempt of a job has a directory of its own in the run directory, "job-<index>-<attempt>", the one host path
 * its sandbox may write; coverage.py's data file there is named COVERAGE_PREFIX "<index>-<attempt>". */
#define JOB_DIR_FORMAT "job-%zu-%u"
#define COVERAGE_PREFIX ".coverage.nsrun-"

/* Runs every job of rc->src.jobs in rc->order on rc->plan.workers workers. */
int run_jobs(RunContext *rc);

/* runner-report.c */
typedef struct Reporter Reporter;
Reporter *reporter_new(const RunContext *rc);
Reporter *reporter_free(Reporter *r);
void reporter_job_finished(Reporter *r, const Job *j);
void reporter_tick(Reporter *r, unsigned running, uint64_t mem_in_use);
void reporter_summary(Reporter *r);
int report_write_json(const RunContext *rc, const char *path);
int report_write_junit(const RunContext *rc, const char *path);
int report_print_plan(const RunContext *rc);
int junit_read_counts(const char *path, unsigned *tests, unsigned *failures, unsigned *skipped);
