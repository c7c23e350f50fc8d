/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Text a job controls (its name, a test id, its output) is shown on the user's terminal and written into JSON and
 * XML reports. Raw, an escape sequence in it would act on the terminal (retitle it, clear it, answer a query as
 * if typed), and a byte that is not UTF-8 makes a JSON document invalid.
 *
 * escape_name() writes every byte that is a control character (C0, DEL, or C1 such as U+009B, which some
 * terminals take as CSI) or is not part of valid UTF-8 as the four characters "\xNN", and keeps the rest. The
 * result is printable, valid UTF-8, and the same for the same input: a history keyed by it stays stable. It is
 * idempotent (a backslash is kept as is). NULL only when out of memory. */
char *escape_name(const char *s);

/* A job's output for a terminal: as escape_name(), except that newlines, tabs and SGR sequences (colours,
 * "ESC [ 1;31 m") are kept, so pytest's own coloured report still reads as it would. */
void fwrite_output_escaped(const char *s, size_t n, FILE *f);

/* Display columns, for a line that must fit a terminal's width: the length in bytes of the longest start of s that
 * takes at most cols columns (a CJK character or an emoji two, a combining accent none, as wcwidth() in a UTF-8
 * locale says), and its width in *ret_width (may be NULL). Never cuts a character in two. */
size_t text_fit_columns(const char *s, size_t cols, size_t *ret_width);
/* The columns all of s takes. */
size_t text_columns(const char *s);

/* FNV-1a, 64 bits: the same on every machine and in every nsrun version; not a defence against crafted
 * collisions. */
uint64_t fnv1a64(const char *s);
