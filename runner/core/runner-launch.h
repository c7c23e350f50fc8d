/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one way the runner starts a sandbox: its spec from the options, spawned into its cgroup, and (outside the
 * scheduler: pytest's collection, --setup) run to its end. */

#include "cgroup.h"
#include "runner-context.h"
#include "sandbox.h"

/* Opens the cgroup backend (require_memory: one that can cap memory), or says on one line why this machine
 * cannot and returns -ECANCELED (exit status 3 for the runner, 123 for nsrun exec). */
int launch_open_cgroups(bool require_memory, CgroupManager **ret);

/* Fills spec's mounts (the project's and $HOME's overlays, the user's, then shared_rw and shared_ro as
 * sandbox_options_mounts() says) and network from the options. *ret_mounts is what spec->mounts points to, the
 * caller's to free. */
int launch_spec_init(SandboxSpec *spec, const SandboxOptions *o, const char *shared_rw, const char *shared_ro,
                     SandboxMount **ret_mounts);

/* Spawns spec's sandbox into job's cgroup (NULL: none) and lets it start: straight into the cgroup where the
 * backend gives a directory fd (CLONE_INTO_CGROUP), else paused until it is attached. If the spawn fails, returns
 * its -errno (sandbox_explain() tells why) with *ret untouched; once spawned, *ret is the sandbox even when
 * attaching or starting it failed (the caller frees it as any other), and the result is that failure or 0. */
int launch_sandbox(SandboxSpec *spec, CgroupJob *job, Sandbox **ret);
/* launch_sandbox() in a new cgroup of m, "<run>/name", capped at mem_max and pids_max (CGROUP_LIMIT_MAX: none),
 * given to *ret_cgroup (which stays NULL without m, and the sandbox in no cgroup of the run). */
int launch_sandbox_capped(SandboxSpec *spec, CgroupManager *m, const char *name, uint64_t mem_max,
                          uint64_t pids_max, CgroupJob **ret_cgroup, Sandbox **ret);
/* Whether the kernel killed a process in cgroup for memory (NULL: no). */
bool launch_oom_killed(CgroupJob *cgroup);

/* Waits until fd is ready, unless SIGINT, SIGTERM or SIGHUP comes first (on c->sigfd): then -EINTR, with the
 * signal recorded in *c->signal. */
int wait_fd_or_signal(const SourceContext *c, int fd);

/* Runs argv in a sandbox like a job (same isolation, run_dir shared, output to out_fd) and waits; keep_writes
 * (or NULL) keeps what it wrote. It runs alone, in a cgroup of the run named name (c->cgroups), capped at
 * mem_max (CGROUP_LIMIT_MAX: none); *ret_oom says whether that cap's out-of-memory killer ended it. A signal on
 * c->sigfd kills it: -EINTR, with the signal in *c->signal. */
int run_sandboxed_once(const SourceContext *c, const char *name, uint64_t mem_max, char **argv, char **extra_env,
                       int out_fd, const char *keep_writes, SandboxResult *ret, bool *ret_oom);
