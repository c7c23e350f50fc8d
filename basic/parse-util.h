/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "time-util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "2G", "512M", "1.5G", "100000", "4KiB". Binary units (K = 1024). Rejects 0 unless allow_zero, negative
 * numbers, unknown suffixes and values that overflow 64 bits. Returns -EINVAL / -ERANGE. */
int parse_size(const char *s, bool allow_zero, uint64_t *ret);

/* "30s", "5m", "1h30m", "250ms", "90" (seconds). Result in microseconds. Rejects 0 and negatives. */
int parse_duration(const char *s, uint64_t *ret_usec);

/* A whole number in [min, max]. */
int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret);
int parse_uint64(const char *s, uint64_t *ret);
/* Decimal digits in [s, s+n), nothing else (no sign, no space), no overflow: -EINVAL / -ERANGE. */
int parse_u64_span(const char *s, size_t n, uint64_t *ret);

/* Human-readable size ("1.5 GiB", "100 MiB", "512 KiB", "12 B") into buf. */
const char *format_size(char *buf, size_t len, uint64_t bytes);
#define FORMAT_SIZE_MAX 32
#define FORMAT_SIZE(b) format_size((char[FORMAT_SIZE_MAX]){}, FORMAT_SIZE_MAX, (b))

/* Duration in seconds, "850ms", "12.3s", "4m05s". */
const char *format_duration(char *buf, size_t len, uint64_t usec);
#define FORMAT_DURATION_MAX 32
#define FORMAT_DURATION(u) format_duration((char[FORMAT_DURATION_MAX]){}, FORMAT_DURATION_MAX, (u))

/* How often: "once", "twice", "3 times". */
const char *format_times(char *buf, size_t len, unsigned n);
#define FORMAT_TIMES_MAX 24
#define FORMAT_TIMES(n) format_times((char[FORMAT_TIMES_MAX]){}, FORMAT_TIMES_MAX, (n))

