/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runner-context.h"

/* Where the jobs come from: a pytest command (collected and split), 'CMD {} ::: a b c', --jobs-file, or one
 * plain command. */

/* Builds the jobs. Logs and returns <0 on errors the user must fix (-EINVAL bad input, -EBADMSG a pytest
 * collection that failed: exit status 2); -ECANCELED the machine refuses sandboxes (exit status 3). */
int source_build(const SourceContext *c, char **command, const char *jobs_file, Source *ret);
