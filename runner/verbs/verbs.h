/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The verbs of the command line, each in its own file of runner/verbs/; main.c picks one. */

int verb_exec(int argc, char *argv[]);          /* runner-exec.c */
int verb_run(int argc, char *argv[]);           /* runner-cli.c */
int verb_merge(int argc, char *argv[]);         /* runner-merge.c */
int verb_doctor(int argc, char *argv[]);        /* runner-doctor.c */
int verb_clean(int argc, char *argv[]);         /* runner-clean.c */
int verb_xdist(int argc, char *argv[]);         /* runner-xdist.c */
int verb_help(void);                            /* runner-cli.c */
void print_version(void);                       /* runner-cli.c */
