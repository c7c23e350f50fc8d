/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nsrun [OPTIONS] -- COMMAND: the runner's command line. */

#include <getopt.h>

#include "runner-run.h"

/* Parses the runner's command line into *o (defaults set by the caller): 1 to run, 0 when done (--help,
 * --version), <0 on bad usage (logged). */
int parse_run_args(int argc, char *argv[], RunOptions *o);
int verb_run(int argc, char *argv[]);
/* nsrun --help, nsrun help */
int verb_help(void);
void print_version(void);
/* nsrun exec and nsrun xdist: the keys of the settings file and the options of NSRUN_OPTS that the verb has
 * (verb_options: its getopt table), before its command line's, which win; the runner's are left to it. *ret: a
 * new argv (argv[0], the settings, then argv[1..]), to be freed. Returns the index in *ret of the verb's command
 * (its "--", as find_command() finds it), or <0 (logged). */
int settings_for_verb(const struct option *verb_options, const char *verb, int argc, char *argv[], char ***ret);
