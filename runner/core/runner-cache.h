/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cache directory of a project ($NSRUN_CACHE_DIR, or PROJECT/.nsrun) and what killed runs leave in it:
 *
 *   runs/<pid>-<starttime>/     a run's private directory (reports of its jobs); removed at exit, left behind
 *                               when nsrun is killed
 *   history.json.<pid>.tmp      history_save() writes this under history.lock and renames it; left behind when
 *                               nsrun is killed between the two
 *
 * Every run removes its project's leftovers at start; `nsrun clean` does it on demand. Nothing here prints. */

#include <stdbool.h>
#include <sys/types.h>

/* $NSRUN_CACHE_DIR if set and not empty, else ROOT_DIR/.nsrun. */
int cache_dir_get(const char *root_dir, char **ret);

/* Where .nsrun/ belongs for a run started in start (absolute): the nearest directory up from it that holds
 * pytest's configuration (pytest.ini, .pytest.ini, [pytest] in tox.ini, [tool:pytest] in setup.cfg,
 * [tool.pytest.ini_options] in pyproject.toml: where pytest puts its rootdir) when pytest is true, else (or
 * when there is none) the nearest holding .git, else start; a directory found but not writable gives start.
 * So a run from tests/ shares the history of a run from the project's top. */
int cache_project_root(const char *start, bool pytest, char **ret);

/* Called for each leftover: error 0 when it was removed, -errno when it could not be. */
typedef void (*CacheRemovedFunc)(const char *path, int error, void *userdata);

/* Removes the run directories in RUNS_DIR whose nsrun is gone. A missing RUNS_DIR is fine. Returns how many
 * were removed, or -errno if RUNS_DIR cannot be read. */
int cache_remove_stale_runs(const char *runs_dir, CacheRemovedFunc removed, void *userdata);

/* Removes CACHE_DIR/history.json.*.tmp. It takes history.lock first: every writer holds it for as long as its
 * temporary file exists, so under the lock any such file is a leftover, whatever its pid says (pids are
 * reused). Returns how many were removed, or -errno. */
int cache_remove_stale_history_tmp(const char *cache_dir, CacheRemovedFunc removed, void *userdata);

/* Where --setup keeps a run's layers: /var/tmp/nsrun-<uid>, outside every overlaid path (overlayfs refuses a
 * layer inside another layer). Created private (0700) and checked to be this user's own, not a trap another user
 * laid in the shared /var/tmp: -EPERM otherwise. */
int cache_setup_layers_base(char **ret);
