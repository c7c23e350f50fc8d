/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/meminfo and /proc/swaps as a machine the size of the job's memory cap: suites size themselves from them
 * (tests that skip below some MemAvailable, psutil.virtual_memory(), `free`). Pure text work, so it is unit-tested
 * and fuzzed; sandbox-mount.c writes the result into the staging tmpfs and binds it over the file. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "sandbox-internal.h"

/* Fields that size the machine rather than count use: scaled with it, so that e.g. `CommitLimit` keeps the
 * host's overcommit ratio. */
static const char *const capacity_fields[] = {
        "CommitLimit", "DirectMap4k", "DirectMap2M", "DirectMap4M", "DirectMap1G",
};
/* What swap holds: nothing, jobs never swap (memory.swap.max = 0, or memsw at the cap on v1). */
static const char *const swap_fields[] = {
        "SwapTotal", "SwapFree", "SwapCached", "Zswap", "Zswapped",
};

/* Is the field name[0..n) called field? */
static bool field_is(const char *name, size_t n, const char *field) {
        return strlen(field) == n && strneq(name, field, n);
}

static bool field_in(const char *name, size_t n, const char *const *list, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (field_is(name, n, list[i]))
                        return true;
        return false;
}

/* v * num / den, at most num (the machine's size) */
static uint64_t scale_to(uint64_t v, uint64_t num, uint64_t den) {
        if (v >= den)
                return num;
        return (uint64_t) ((long double) v * num / den);
}

/* The host's MemTotal in kB, 0 if the text has none. */
static uint64_t host_total_kb(const char *host) {
        const char *p = strstr(host, "MemTotal:");
        unsigned long long v;

        return p && sscanf(p + strlen("MemTotal:"), "%llu", &v) == 1 ? v : 0;
}

/* One "Name:   value kB" line as the view shows it; lines without " kB" (HugePages_* counts) are kept. */
static uint64_t view_value(const char *name, size_t n, uint64_t v, uint64_t host_total, const SandboxMemView *m) {
        uint64_t total = m->total >> 10, avail = MIN(m->available, m->total) >> 10, used = total - avail;

        if (field_is(name, n, "MemTotal"))
                return total;
        if (field_is(name, n, "MemFree") || field_is(name, n, "MemAvailable"))
                return avail;
        if (field_in(name, n, swap_fields, ELEMENTSOF(swap_fields)))
                return 0;
        if (field_is(name, n, "Hugepagesize")) /* a page size, not an amount */
                return v;
        if (field_in(name, n, capacity_fields, ELEMENTSOF(capacity_fields)))
                return scale_to(v, total, host_total);
        if (field_is(name, n, "VmallocTotal")) /* address space, not memory: only kept from exceeding it */
                return MIN(v, total);
        /* everything else counts memory in use (page cache, slab, page tables, ...): what the job's cgroup used
         * at start bounds it, and never more than the machine */
        return MIN(v, used);
}

int meminfo_rewrite(const char *host, const SandboxMemView *m, char *buf, size_t len) {
        uint64_t host_total = host_total_kb(host);
        size_t out = 0;

        if (m->total < 1024 || len == 0)
                return -EINVAL;
        buf[0] = '\0';
        for (const char *line = host; *line;) {
                const char *eol = strchrnul(line, '\n'), *colon = memchr(line, ':', (size_t) (eol - line));
                unsigned long long v;
                int k, w = 0;

                if (colon && (size_t) (eol - line) > 3 && strneq(eol - 3, " kB", 3) &&
                    sscanf(colon + 1, "%llu%n", &v, &w) == 1 && colon + 1 + w == eol - 3) {
                        size_t n = (size_t) (colon - line);
                        /* the kernel's layout: the name and its colon in 16 columns, the value in 8 */
                        k = snprintf(buf + out, len - out, "%.*s:%*s%8" PRIu64 " kB\n", (int) n, line,
                                     n + 1 < 16 ? (int) (15 - n) : 0, "",
                                     view_value(line, n, v, host_total, m));
                } else
                        k = snprintf(buf + out, len - out, "%.*s\n", (int) (eol - line), line);
                if (k < 0 || (size_t) k >= len - out)
                        return -ENOBUFS;
                out += (size_t) k;
                line = *eol ? eol + 1 : eol;
        }
        return (int) out;
}

int sandbox_meminfo_view(const SandboxMemView *m, char *buf, size_t len) {
        _cleanup_free_ char *host = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/proc/meminfo", &host, NULL);
        return r < 0 ? r : meminfo_rewrite(host, m, buf, len);
}
