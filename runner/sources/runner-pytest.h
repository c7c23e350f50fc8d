/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "runner-context.h"

/* arg0 names a Python interpreter: "python", "python3", "/usr/bin/python3.11". */
bool is_python(const char *arg0);
/* argv[0] is pytest, py.test, pytest-3, or python* -m pytest: returns the index of pytest's first argument. */
int pytest_args_start(char *const *argv);
/* The interpreter a pytest command runs under, as an absolute path: 'python3 -m pytest' names it, a pytest
 * script names it on its '#!' line ('#!/usr/bin/env python3' by $PATH). -ENOENT if it or its interpreter is not
 * found, -EINVAL if the script has no '#!' line. */
int pytest_interpreter(char **command, char **ret);

struct json_object;

/* The jobs of pytest's collection report (the plugin's document, doc), for command whose pytest arguments begin
 * at start. The report is written by Python code in the sandbox: anything it holds is refused (-EBADMSG), never
 * trusted (a job's command is always the user's pytest). */
int pytest_jobs_from_collection(const SourceContext *c, char **command, int start, struct json_object *doc,
                                Source *ret);

/* Collects the tests of a pytest command (or reuses the last collection) into one job per file or test. */
int pytest_source(const SourceContext *c, char **command, Source *ret);

/* Where nsrun's pytest plugins are: $NSRUN_PYTEST_DIR, else runner/ beside the binary (a build tree), else
 * DATADIR/nsrun/pytest. NULL only when out of memory. */
char *pytest_plugin_dir(void);
/* The path of pytest's own --junitxml (or --junit-xml) among the options the jobs share, or NULL: nsrun writes
 * the run's merged JUnit report there, as pytest-xdist's controller writes one for all its workers. */
const char *pytest_user_junitxml(char *const *options);
