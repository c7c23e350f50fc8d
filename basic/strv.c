/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

char **strv_copy(char *const *v) {
        size_t n = strv_length(v);
        char **c = new0(char *, n + 1);

        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i]) {
                        strv_free(c);
                        return NULL;
                }
        }
        return c;
}

int strv_push(char ***v, const char *s) {
        size_t n = strv_length(*v);
        char *copy = strdup(s);
        char **c;

        if (!copy)
                return -ENOMEM;
        c = realloc(*v, sizeof(char *) * (n + 2));
        if (!c) {
                free(copy);
                return -ENOMEM;
        }
        c[n] = copy;
        c[n + 1] = NULL;
        *v = c;
        return 0;
}

int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

bool strv_contains(char *const *v, const char *s) {
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

int strv_push_n(char ***v, char *const *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = strv_push(v, items[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int strv_env_set(char ***env, const char *assignment) {
        size_t k = strcspn(assignment, "=");

        for (size_t i = 0; *env && (*env)[i]; i++)
                if (strneq((*env)[i], assignment, k + 1)) {
                        char *copy = strdup(assignment);
                        if (!copy)
                                return -ENOMEM;
                        free((*env)[i]);
                        (*env)[i] = copy;
                        return 0;
                }
        return strv_push(env, assignment);
}
