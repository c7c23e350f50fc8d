/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <string.h>

/* The last component of path ("python3" of "/usr/bin/python3"); path itself if it has no '/'. */
static inline const char *path_basename(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

/* path is dir or below it, by components ("/tmpx" is not under "/tmp"); both absolute and normalized. */
static inline bool path_is_under(const char *path, const char *dir) {
        size_t n = strlen(dir);

        if (dir[0] == '/' && dir[1] == '\0')
                return path[0] == '/';
        return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The path from directory dir to path, both absolute and normalised: "tests/test_a.py", "../x/test_b.py", ".".
 * NULL when out of memory. */
char *path_relative_to(const char *path, const char *dir);
