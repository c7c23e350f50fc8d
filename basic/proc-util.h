/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* /proc/<pid>/stat text -> state letter (field 3) and start time in clock ticks after boot (field 22), robust
 * against spaces and ")" in comm. -EINVAL for anything the kernel did not write. */
int proc_parse_stat(const char *text, char *ret_state, uint64_t *ret_starttime);

/* The same, read for pid (in our PID namespace): -ENOENT/-ESRCH if there is no such process. */
int proc_pid_stat(pid_t pid, char *ret_state, uint64_t *ret_starttime);

/* The start time of pid, 0 if it cannot be read: with the pid, a name no later process can reuse. */
uint64_t proc_pid_starttime(pid_t pid);

/* 1 if pid runs and started at starttime (not a zombie: its parent has only not reaped it yet), 0 if not,
 * <0 if that cannot be told. An owner recorded as pid + start time is alive exactly when this says 1. */
int proc_pid_alive_since(pid_t pid, uint64_t starttime);
