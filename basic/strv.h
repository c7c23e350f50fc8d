/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated arrays of strings (argv, environments), each string owned by the array. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

void strv_free(char **v);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
char **strv_copy(char *const *v);
size_t strv_length(char *const *v);
/* qsort()'s comparison of two pointers to strings (char * or const char *), as strcmp() orders them. */
int strcmp_ptr(const void *a, const void *b);
/* Whether v holds s. */
bool strv_contains(char *const *v, const char *s);
/* Appends s (copied) to *v. */
int strv_push(char ***v, const char *s);
/* Appends the first n strings of items (copied) to *v. */
int strv_push_n(char ***v, char *const *items, size_t n);
/* Sets "NAME=value" in an environment array, replacing an earlier value of NAME. */
int strv_env_set(char ***env, const char *assignment);
