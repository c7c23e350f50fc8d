/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the libFuzzer targets. Every parser of nsrun takes a NUL-terminated string: the input is
 * copied into a heap block of exactly its size plus the NUL, so that AddressSanitizer catches a read one byte
 * past the end. Inputs holding a NUL are cut there (the real callers read files with read_full_file_at(),
 * which gives them the same string). */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Splits off the first line: *ret_first is a heap copy of it (exactly sized), the return value points at the
 * rest, a separate exactly sized copy the caller frees too. For targets that take a key and a text. */
static inline char *fuzz_split_first_line(const uint8_t *data, size_t size, char **ret_first) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = nl ? (size_t) (nl - data) : size;

        *ret_first = fuzz_strndup(data, n);
        return nl ? fuzz_strndup(nl + 1, size - n - 1) : fuzz_strndup(data + size, 0);
}

/* A failed invariant: abort(), which libFuzzer reports as a crash with the input that caused it. */
#define fuzz_assert(expr)                                                                               \
        do {                                                                                            \
                if (!(expr)) {                                                                          \
                        fprintf(stderr, "fuzz_assert failed at %s:%d: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                                        \
                }                                                                                       \
        } while (0)
