/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Prepared interpreters (--fork): one per worker, a sandbox of the run in which Python has imported pytest, its
 * plugins, the conftest files and the test modules (a collection pass); each pytest job of that worker is then
 * forked from it into namespaces, mounts and a cgroup of its own (runner/sources/pytest/nsrun_fork.py), instead
 * of starting a fresh interpreter. */

#include "runner-context.h"
#include "sandbox.h"

typedef struct Forker Forker;

/* Starts one prepared interpreter per worker when rc's options and command allow it (--fork, a pytest source
 * whose Python nsrun can name); NULL otherwise, or on failure (then every job starts as before). */
Forker *forker_new(RunContext *rc);
/* Forks the job of worker into its own sandbox, in cgroup (moved there before it runs anything), with argv and
 * envp, stdout and stderr to log_fd; dir is the attempt's directory. 1 with *ret the job's sandbox
 * (sandbox_adopt()); 0 when this worker has no prepared interpreter (any more, or it was not safe to fork): the
 * caller starts the job as before; <0 on failure. Waits for the prepared interpreter's collection the first
 * time. */
int forker_launch(Forker *f, unsigned worker, char **argv, char **envp, int log_fd, const char *dir,
                  CgroupJob *cgroup, Sandbox **ret);
/* After the job's sandbox ended: its reports into dir, where nsrun reads them. */
void forker_finish(Forker *f, unsigned worker, const char *dir);
/* Ends the prepared interpreters. Accepts NULL. */
Forker *forker_free(Forker *f);
