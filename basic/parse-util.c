/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"

static const struct {
        const char *suffix;
        uint64_t factor;
} size_units[] = {
        { "",    1 },
        { "B",   1 },
        { "K",   UINT64_C(1) << 10 }, { "KB", UINT64_C(1) << 10 }, { "KiB", UINT64_C(1) << 10 },
        { "M",   UINT64_C(1) << 20 }, { "MB", UINT64_C(1) << 20 }, { "MiB", UINT64_C(1) << 20 },
        { "G",   UINT64_C(1) << 30 }, { "GB", UINT64_C(1) << 30 }, { "GiB", UINT64_C(1) << 30 },
        { "T",   UINT64_C(1) << 40 }, { "TB", UINT64_C(1) << 40 }, { "TiB", UINT64_C(1) << 40 },
};

/* Reads a non-negative decimal number with an optional fraction ("1.5"); refuses signs, hex, exponents,
 * spaces, which strtod() would all accept. */
static int parse_decimal(const char *s, double *ret, const char **ret_end) {
        const char *p = s;
        bool digits = false;

        while (isdigit((unsigned char) *p)) {
                p++;
                digits = true;
        }
        if (*p == '.') {
                p++;
                while (isdigit((unsigned char) *p)) {
                        p++;
                        digits = true;
                }
        }
        if (!digits)
                return -EINVAL;
        *ret = strtod(s, NULL);
        *ret_end = p;
        return 0;
}

int parse_size(const char *s, bool allow_zero, uint64_t *ret) {
        const char *end;
        double v;

        if (!s || parse_decimal(s, &v, &end) < 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(size_units); i++) {
                if (strcasecmp(end, size_units[i].suffix) != 0)
                        continue;
                double bytes = v * (double) size_units[i].factor;
                if (bytes >= 18446744073709549568.0) /* largest double below 2^64 */
                        return -ERANGE;
                if (bytes < 1 && !allow_zero)
                        return -EINVAL;
                *ret = (uint64_t) bytes;
                return 0;
        }
        return -EINVAL;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                double factor;
        } units[] = {
                { "ms", 1e3 }, { "s", 1e6 }, { "sec", 1e6 }, { "m", 60e6 }, { "min", 60e6 }, { "h", 3600e6 },
        };
        double total = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        while (*p) {
                const char *end, *u;
                double v;
                size_t n;
                bool found = false;

                if (parse_decimal(p, &v, &end) < 0)
                        return -EINVAL;
                for (u = end; isalpha((unsigned char) *u); u++)
                        ;
                n = (size_t) (u - end);
                if (n == 0) {
                        if (*u != '\0' || p != s) /* a bare number must stand alone: "90" */
                                return -EINVAL;
                        total += v * 1e6;
                        break;
                }
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (strlen(units[i].suffix) == n && strneq(end, units[i].suffix, n)) {
                                total += v * units[i].factor;
                                found = true;
                        }
                if (!found)
                        return -EINVAL;
                p = u;
        }
        if (total < 1)
                return -EINVAL;
        if (total > 1e16)
                return -ERANGE;
        *ret_usec = (uint64_t) total;
        return 0;
}

/* Decimal digits in [s, s+n), nothing else, no overflow. */
int parse_u64_span(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned d;

                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                d = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int parse_uint64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        uint64_t v;
        int r;

        r = parse_uint64(s, &v);
        if (r < 0)
                return r;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

const char *format_size(char *buf, size_t len, uint64_t bytes) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = (double) bytes;
        size_t i = 0;

        while (v >= 1024 && i + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                i++;
        }
        if (i == 0)
                (void) snprintf(buf, len, "%" PRIu64 " B", bytes);
        else if (v >= 100 || v == floor(v))
                (void) snprintf(buf, len, "%.0f %s", v, units[i]);
        else
                (void) snprintf(buf, len, "%.1f %s", v, units[i]);
        return buf;
}

const char *format_times(char *buf, size_t len, unsigned n) {
        if (n <= 2)
                (void) snprintf(buf, len, "%s", n == 1 ? "once" : n == 2 ? "twice" : "0 times");
        else
                (void) snprintf(buf, len, "%u times", n);
        return buf;
}

const char *format_duration(char *buf, size_t len, uint64_t usec) {
        if (usec < USEC_PER_SEC)
                (void) snprintf(buf, len, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
        else if (usec < 60 * USEC_PER_SEC)
                (void) snprintf(buf, len, "%.1fs", (double) usec / 1e6);
        else
                (void) snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", usec / (60 * USEC_PER_SEC),
                                (usec / USEC_PER_SEC) % 60);
        return buf;
}
