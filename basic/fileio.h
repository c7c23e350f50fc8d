/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);
DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);

/* Reads a whole (small, virtual) file relative to dirfd (AT_FDCWD for paths) into a NUL-terminated buffer. */
int read_full_file_at(int dirfd, const char *path, char **ret, size_t *ret_size);

/* A file a sandboxed job could have written (its JUnit report, its times, a coverage data file, a worker's
 * record) is opened as one that may be hostile: never through a symbolic link in its last component (-ELOOP),
 * without blocking (O_NONBLOCK: a FIFO would otherwise hang nsrun in open()), and only if it is a regular file
 * (-EISDIR, -EBADFD for a FIFO, socket or device: /dev/zero would never end). Returns the fd, its stat in
 * *ret_st (may be NULL). */
int open_job_file_at(int dirfd, const char *path, struct stat *ret_st);

/* What nsrun reads into memory from one job-written file at most: 64 MiB, over ten times the JUnit report of a
 * suite of 10,000 tests. Larger is -EFBIG. */
#define JOB_FILE_MAX (UINT64_C(64) << 20)

/* open_job_file_at(), then its content, NUL-terminated: at most max bytes, or -EFBIG. */
int read_job_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);

/* open_job_file_at(), then its content copied into a new file to_name of to_dir (created, never opened if it
 * exists: -EEXIST; never through a symbolic link): at most max bytes, or -EFBIG, also for a file that grows while
 * copied. The new file is removed again on any failure. */
int copy_job_file_at(int dirfd, const char *path, uint64_t max, int to_dir, const char *to_name);

/* Why open_job_file_at() or read_job_file_at() refused a file, for a message: "is a symbolic link", ... */
const char *job_file_error(int r);

/* Reads the first line, without its newline. */
int read_one_line_file_at(int dirfd, const char *path, char **ret);

/* Writes s to an existing file in one write(2), as cgroup and proc files want. */
int write_string_file_at(int dirfd, const char *path, const char *s);

/* Removes a directory tree relative to dirfd; does not cross into other mounts. */
int rm_rf_at(int dirfd, const char *path);

/* A DIR stream on its own descriptor of the directory path (or "." for dirfd itself), so closedir() leaves
 * dirfd open. */
int opendir_at(int dirfd, const char *path, DIR **ret);

/* mkdir -p with mode; existing directories are fine. */
int mkdir_p(const char *path, unsigned mode);

/* Copies what is left to read of in to out, through a small buffer, partial writes and EINTR handled: at most
 * max bytes, -EFBIG if there is more. */
int copy_fd(int in, int out, uint64_t max);
