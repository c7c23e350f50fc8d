/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Prepared interpreters (--fork): one per worker, a sandbox of the run in which pytest has collected the run's
 * tests (its plugins, the conftest files and the test modules imported); each pytest job of that worker is then
 * forked from it into namespaces, mounts and a cgroup of its own, and runs its tests in that session
 * (runner/sources/pytest/nsrun_fork.py), instead of starting a fresh interpreter that collects them again. The
 * first worker's collection is the run's: they start before it. */

#include "runner-context.h"
#include "sandbox.h"

typedef struct Forker Forker;

/* Starts a prepared interpreter for each of workers when rc's options and command allow it (--fork, a pytest
 * command whose Python nsrun can name), before the collection; NULL otherwise, or on failure (then every job
 * starts as before). */
Forker *forker_new(RunContext *rc, unsigned workers);
/* The collection the first worker's interpreter made (a SourceContext.prepared_collection): 1 and its report's
 * path in *ret once it said it is done, 0 where it did not collect (it failed: the collection runs as without
 * it, and shows why), <0 on a signal. Accepts NULL. */
int forker_collection(void *userdata, char **ret);
/* Once the jobs are planned (rc->src, rc->plan): the interpreters of the workers the plan has; NULL (f freed,
 * every job a fresh interpreter) where forking is not worth it, a job a worker or fewer under --fork auto. */
Forker *forker_plan(Forker *f);
/* Forks the job of worker into its own sandbox, in cgroup (moved there before it runs anything), with argv and
 * envp, running tests (its files or ids) in the prepared session, seeing the machine view, stdout and stderr to
 * log_fd; dir is the attempt's directory. 1 with *ret the job's sandbox
 * (sandbox_adopt()); 0 when this worker has no prepared interpreter (any more, or it was not safe to fork): the
 * caller starts the job as before; <0 on failure. Waits for the prepared interpreter's collection the first
 * time. */
int forker_launch(Forker *f, unsigned worker, char **argv, char **tests, char **envp, const SandboxMemView *view,
                  int log_fd, const char *dir, CgroupJob *cgroup, Sandbox **ret);
/* Where the running job of worker whose attempt directory is dir writes it, until forker_finish(). */
char *forker_live_dir(Forker *f, unsigned worker, const char *dir);
/* After the job's sandbox ended: its reports into dir, where nsrun reads them. */
void forker_finish(Forker *f, unsigned worker, const char *dir);
/* Ends the prepared interpreters. Accepts NULL. */
Forker *forker_free(Forker *f);
