/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);
DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);

/* Reads a whole (small, virtual) file relative to dirfd (AT_FDCWD for paths) into a NUL-terminated buffer. */
int read_full_file_at(int dirfd, const char *path, char **ret, size_t *ret_size);

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
