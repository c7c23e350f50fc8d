/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsers of kernel text: /proc/self/cgroup, cgroupfs files, /proc/meminfo. They see only a
 * NUL-terminated string, never touch the file system, and are meant to survive a fuzzer: every index is
 * bounded by the terminating NUL, every number by an overflow check. */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "macro.h"
#include "parse-util.h"

/* Beyond any real limit (4 EiB): v1 reports "no limit" as PAGE_COUNTER_MAX * PAGE_SIZE, 9223372036854771712
 * with 4 KiB pages and other values with other page sizes, so everything this large means none. */
#define CGROUP_V1_UNLIMITED_FLOOR (UINT64_C(1) << 62)
/* NR_CPUS is at most 8192 today; a list naming CPUs beyond this is not one the kernel wrote. */
#define CPU_INDEX_MAX (1U << 20)

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Length of s without trailing whitespace and newlines. */
static size_t trimmed_len(const char *s) {
        size_t n = strlen(s);

        while (n > 0 && (is_blank(s[n - 1]) || s[n - 1] == '\n'))
                n--;
        return n;
}

/* The line starting at p: its length, and where the next one starts (NULL at the end). */
static size_t line_span(const char *p, const char **ret_next) {
        const char *nl = strchr(p, '\n');

        *ret_next = nl && nl[1] ? nl + 1 : NULL;
        return nl ? (size_t) (nl - p) : strlen(p);
}

/* Is word, of length n, one of the comma-separated items in [list, list+len)? */
static bool list_has(const char *list, size_t len, const char *word, size_t n) {
        const char *p = list, *end = list + len;

        while (p <= end) {
                const char *c = memchr(p, ',', (size_t) (end - p));
                size_t k = c ? (size_t) (c - p) : (size_t) (end - p);

                if (k == n && memcmp(p, word, n) == 0)
                        return true;
                if (!c)
                        break;
                p = c + 1;
        }
        return false;
}

/* One "id:controllers:path" line: the path if it is the hierarchy asked for, else NULL. */
static const char *proc_self_line_match(const char *line, size_t len, const char *controller, size_t *ret_len) {
        const char *c1 = memchr(line, ':', len), *c2;
        size_t ctl_len;

        if (!c1)
                return NULL;
        c2 = memchr(c1 + 1, ':', (size_t) (line + len - c1 - 1));
        if (!c2)
                return NULL;
        ctl_len = (size_t) (c2 - c1 - 1);
        if (controller) {
                if (!list_has(c1 + 1, ctl_len, controller, strlen(controller)))
                        return NULL;
        } else if (!(c1 - line == 1 && line[0] == '0' && ctl_len == 0))
                return NULL;
        *ret_len = (size_t) (line + len - c2 - 1);
        return c2 + 1;
}

int cgroup_parse_proc_self(const char *text, const char *controller, char **ret_path) {
        static const char deleted[] = " (deleted)";
        const char *p = text;

        if (!text || !ret_path)
                return -EINVAL;
        if (controller && !*controller)
                controller = NULL;
        while (p && *p) {
                const char *next, *path;
                size_t len = line_span(p, &next), plen;
                char *s;

                path = proc_self_line_match(p, len, controller, &plen);
                p = next;
                if (!path)
                        continue;
                if (plen == 0 || path[0] != '/')
                        return -EINVAL;
                /* cgroup v2 marks a cgroup removed while we are in it: nothing usable is left there. */
                if (plen >= sizeof deleted - 1 && memcmp(path + plen - (sizeof deleted - 1), deleted,
                                                         sizeof deleted - 1) == 0)
                        return -ENOENT;
                s = strndup(path, plen);
                if (!s)
                        return -ENOMEM;
                *ret_path = s;
                return 0;
        }
        return -ENODATA;
}

int cgroup_parse_cpu_max(const char *text, double *ret_ratio) {
        const char *sp;
        uint64_t quota, period;
        size_t n;
        int r;

        if (!text || !ret_ratio)
                return -EINVAL;
        n = trimmed_len(text);
        if (n == 3 && memcmp(text, "max", 3) == 0) {
                *ret_ratio = 0;
                return 0;
        }
        sp = memchr(text, ' ', n);
        if (!sp)
                return -EINVAL;
        r = parse_u64_span(sp + 1, (size_t) (text + n - sp - 1), &period);
        if (r < 0)
                return r;
        if (period == 0)
                return -EINVAL;
        if (sp - text == 3 && memcmp(text, "max", 3) == 0) {
                *ret_ratio = 0;
                return 0;
        }
        r = parse_u64_span(text, (size_t) (sp - text), &quota);
        if (r < 0)
                return r;
        if (quota == 0)
                return -EINVAL;
        *ret_ratio = (double) quota / (double) period;
        return 0;
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret) {
        size_t klen;

        if (!text || !key || !*key || !ret)
                return -EINVAL;
        klen = strlen(key);
        for (const char *p = text; p && *p;) {
                const char *next;
                size_t len = line_span(p, &next);

                if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == ' ') {
                        const char *v = p + klen + 1;
                        size_t vlen = len - klen - 1;

                        while (vlen > 0 && is_blank(v[vlen - 1]))
                                vlen--;
                        return parse_u64_span(v, vlen, ret);
                }
                p = next;
        }
        return -ENODATA;
}

int cgroup_parse_limit(const char *text, uint64_t *ret) {
        uint64_t v;
        size_t n;
        int r;

        if (!text || !ret)
                return -EINVAL;
        n = trimmed_len(text);
        if ((n == 3 && memcmp(text, "max", 3) == 0) || (n == 2 && memcmp(text, "-1", 2) == 0)) {
                *ret = CGROUP_LIMIT_MAX;
                return 0;
        }
        r = parse_u64_span(text, n, &v);
        if (r < 0)
                return r;
        *ret = v >= CGROUP_V1_UNLIMITED_FLOOR ? CGROUP_LIMIT_MAX : v;
        return 0;
}

/* The value of a "Key:   value" line (meminfo, status), blanks skipped, up to the end of the line. */
static const char *colon_field(const char *text, const char *key, size_t *ret_len) {
        size_t klen = strlen(key);

        for (const char *p = text; p && *p;) {
                const char *next;
                size_t len = line_span(p, &next);

                if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == ':') {
                        const char *v = p + klen + 1, *end = p + len;

                        while (v < end && is_blank(*v))
                                v++;
                        while (end > v && is_blank(end[-1]))
                                end--;
                        *ret_len = (size_t) (end - v);
                        return v;
                }
                p = next;
        }
        return NULL;
}

int meminfo_parse_available(const char *text, uint64_t *ret) {
        const char *v;
        uint64_t kb;
        size_t len, digits = 0;
        int r;

        if (!text || !ret)
                return -EINVAL;
        v = colon_field(text, "MemAvailable", &len);
        if (!v)
                return -ENODATA; /* kernels before 3.14 */
        while (digits < len && is_digit(v[digits]))
                digits++;
        r = parse_u64_span(v, digits, &kb);
        if (r < 0)
                return r;
        while (digits < len && is_blank(v[digits]))
                digits++;
        if (digits != len && !(len - digits == 2 && memcmp(v + digits, "kB", 2) == 0))
                return -EINVAL;
        if (kb > UINT64_MAX / 1024)
                return -ERANGE;
        *ret = kb * 1024;
        return 0;
}

/* One "a" or "a-b" item of a CPU list: how many CPUs it names. */
static int cpu_range_count(const char *s, size_t n, uint64_t *ret) {
        const char *dash = memchr(s, '-', n);
        uint64_t a, b;
        int r;

        r = parse_u64_span(s, dash ? (size_t) (dash - s) : n, &a);
        if (r < 0)
                return r;
        b = a;
        if (dash) {
                r = parse_u64_span(dash + 1, (size_t) (s + n - dash - 1), &b);
                if (r < 0)
                        return r;
        }
        if (a > b)
                return -EINVAL;
        if (b >= CPU_INDEX_MAX)
                return -ERANGE;
        *ret = b - a + 1;
        return 0;
}

static int cpu_list_count_span(const char *s, size_t n, unsigned *ret_count) {
        uint64_t total = 0;
        const char *p = s, *end = s + n;

        while (p < end) {
                const char *c = memchr(p, ',', (size_t) (end - p));
                size_t k = c ? (size_t) (c - p) : (size_t) (end - p);
                uint64_t m;
                int r;

                r = cpu_range_count(p, k, &m);
                if (r < 0)
                        return r;
                total += m;
                if (total > UINT_MAX)
                        return -ERANGE;
                if (!c)
                        break;
                p = c + 1;
                if (p == end) /* "0-3," */
                        return -EINVAL;
        }
        *ret_count = (unsigned) total;
        return 0;
}

int cgroup_parse_cpu_list(const char *text, unsigned *ret_count) {
        if (!text || !ret_count)
                return -EINVAL;
        return cpu_list_count_span(text, trimmed_len(text), ret_count);
}

int proc_status_parse_cpus_allowed(const char *text, unsigned *ret_count) {
        const char *v;
        size_t len;

        if (!text || !ret_count)
                return -EINVAL;
        v = colon_field(text, "Cpus_allowed_list", &len);
        if (!v)
                return -ENODATA;
        return cpu_list_count_span(v, len, ret_count);
}

int proc_stat_parse_online(const char *text, unsigned *ret_count) {
        unsigned n = 0;

        if (!text || !ret_count)
                return -EINVAL;
        /* /proc/stat has one "cpuN" line per online CPU after the "cpu" total. */
        for (const char *p = text; p && *p;) {
                const char *next;
                size_t len = line_span(p, &next);

                if (len > 3 && memcmp(p, "cpu", 3) == 0 && is_digit(p[3]) && n < UINT_MAX)
                        n++;
                p = next;
        }
        if (n == 0)
                return -ENODATA;
        *ret_count = n;
        return 0;
}

int cgroup_parse_run_name(const char *name, pid_t *ret_pid, uint64_t *ret_starttime) {
        const char *p, *dash;
        uint64_t pid, start;
        size_t n = sizeof CGROUP_RUN_PREFIX - 1;

        if (!name || strncmp(name, CGROUP_RUN_PREFIX, n) != 0)
                return -EINVAL;
        p = name + n;
        dash = strchr(p, '-');
        if (!dash)
                return -EINVAL;
        /* Canonical numbers only: this names directories we will kill processes in, so no guessing. */
        if (p[0] == '0' || dash[1] == '\0' || (dash[1] == '0' && dash[2] != '\0'))
                return -EINVAL;
        if (parse_u64_span(p, (size_t) (dash - p), &pid) < 0 || pid == 0 || pid > INT_MAX)
                return -EINVAL;
        if (parse_u64_span(dash + 1, strlen(dash + 1), &start) < 0)
                return -EINVAL;
        *ret_pid = (pid_t) pid;
        *ret_starttime = start;
        return 0;
}
