/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "path-util.h"

char *path_relative_to(const char *path, const char *dir) {
        size_t common = 0, up = 0;
        char *r, *p;

        /* the longest common prefix that ends at a component boundary */
        for (size_t i = 0;; i++) {
                bool end_p = path[i] == '/' || path[i] == '\0', end_d = dir[i] == '/' || dir[i] == '\0';
                if (end_p && end_d)
                        common = i;
                if (path[i] != dir[i] || path[i] == '\0')
                        break;
        }
        for (const char *d = dir + common; *d; d++)
                up += *d == '/' && d[1] != '\0';
        if (dir[common] == '/' && dir[common + 1] == '\0')
                up = 0;
        path += common;
        while (*path == '/')
                path++;
        r = malloc(up * 3 + strlen(path) + 2);
        if (!r)
                return NULL;
        p = r;
        for (size_t i = 0; i < up; i++)
                p = stpcpy(p, "../");
        if (*path)
                p = stpcpy(p, path);
        else if (up > 0)
                p[-1] = '\0';
        else
                strcpy(p, ".");
        return r;
}
