/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nsrun exec: one command in one sandbox, optionally capped. */

#include <stdbool.h>
#include <stdint.h>

#include "runner-options.h"

enum {
        ARG_STATUS_DIR = _ARG_SANDBOX_MAX,
};

typedef struct ExecArgs {
        SandboxOptions sandbox;
        uint64_t mem;           /* --mem, 0: none */
        CapOptions cap;         /* --pids-max (0: none), --mem-cap off */
        char *status_dir;       /* --status-dir (internal, for nsrun xdist), NULL: none */
        char *slot_dir;         /* its slot's directory in it, the one the worker may write */
        int status_fd;          /* its slot's record, locked while this exec lives */
        char **command;
        char **argv;            /* the command line with the settings file's and NSRUN_OPTS's keys of exec first */
} ExecArgs;

/* Parses exec's command line into *a: 1 to run a->command, 0 when done (--help), <0 on bad usage (logged). */
int parse_exec_args(int argc, char *argv[], ExecArgs *a);
void exec_args_done(ExecArgs *a);
int verb_exec(int argc, char *argv[]);
