/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nsrun [OPTIONS] -- COMMAND: the runner's command line. */

#include "runner-run.h"

/* Parses the runner's command line into *o (defaults set by the caller): 1 to run, 0 when done (--help,
 * --version), <0 on bad usage (logged). */
int parse_run_args(int argc, char *argv[], RunOptions *o);
int verb_run(int argc, char *argv[]);
/* nsrun --help, nsrun help */
int verb_help(void);
void print_version(void);
