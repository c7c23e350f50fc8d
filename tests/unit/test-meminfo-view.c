/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* meminfo_rewrite(): the host's /proc/meminfo as a machine of the job's cap (sandbox-meminfo.c). */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox-internal.h"
#include "tap.h"

#define MiB (UINT64_C(1) << 20)

/* This machine's, 24 GiB, trimmed. */
static const char host[] =
        "MemTotal:       24683664 kB\n"
        "MemFree:        23592236 kB\n"
        "MemAvailable:   24112276 kB\n"
        "Buffers:           22288 kB\n"
        "Cached:           674676 kB\n"
        "SwapCached:         1024 kB\n"
        "Inactive(anon):     8500 kB\n"
        "SwapTotal:       8388604 kB\n"
        "SwapFree:        8388604 kB\n"
        "CommitLimit:    12341832 kB\n"
        "VmallocTotal:   34359738367 kB\n"
        "HugePages_Total:       0\n"
        "Hugepagesize:       2048 kB\n"
        "DirectMap1G:    25165824 kB\n";

static long long field(const char *text, const char *name) {
        char key[64];
        const char *p;

        (void) snprintf(key, sizeof key, "\n%s:", name);
        p = strncmp(text, key + 1, strlen(key + 1)) == 0 ? text : strstr(text, key);
        if (!p)
                return -1;
        p = strchr(p + 1, ':');
        return strtoll(p + 1, NULL, 10);
}

static void test_view(void) {
        SandboxMemView v = { .total = 1024 * MiB, .available = 1000 * MiB };
        char buf[4096];
        int r;

        r = meminfo_rewrite(host, &v, buf, sizeof buf);
        ok(r > 0 && (size_t) r == strlen(buf), "rewrites a 1 GiB view (%d bytes)", r);
        is_int(field(buf, "MemTotal"), 1048576, "MemTotal is the cap");
        is_int(field(buf, "MemFree"), 1024000, "MemFree is what is available");
        is_int(field(buf, "MemAvailable"), 1024000, "MemAvailable too");
        is_int(field(buf, "Cached"), 24576, "a field counting use is at most what is used (24 MiB)");
        is_int(field(buf, "Inactive(anon)"), 8500, "... and keeps a smaller host value");
        is_int(field(buf, "SwapTotal") + field(buf, "SwapFree") + field(buf, "SwapCached"), 0, "no swap");
        is_int(field(buf, "CommitLimit"), 1048576 / 2, "CommitLimit keeps the host's ratio (half, no swap)");
        is_int(field(buf, "VmallocTotal"), 1048576, "VmallocTotal is not above MemTotal");
        is_int(field(buf, "DirectMap1G"), 1048576, "DirectMap is scaled, not above MemTotal");
        is_int(field(buf, "Hugepagesize"), 2048, "Hugepagesize is a size and stays");
        ok(strstr(buf, "HugePages_Total:       0\n") != NULL, "a line that is no kB figure is kept as it was");
        ok(strncmp(buf, "MemTotal:        1048576 kB\nMemFree:         1024000 kB\n", 56) == 0,
           "the kernel's layout: name and colon in 16 columns, value in 8");
        ok(strstr(buf, "Inactive(anon):     8500 kB\n") != NULL, "... for a 15-character name too");
}

static void test_edges(void) {
        SandboxMemView v = { .total = 64 * MiB, .available = 128 * MiB }, tiny = { .total = 512 };
        char buf[4096], small[64];

        ok(meminfo_rewrite(host, &v, buf, sizeof buf) > 0 && field(buf, "MemAvailable") == 65536,
           "available above the total is cut to the total");
        is_int(meminfo_rewrite(host, &tiny, buf, sizeof buf), -EINVAL, "a view under 1 KiB is refused");
        is_int(meminfo_rewrite(host, &v, small, sizeof small), -ENOBUFS, "a buffer too small is -ENOBUFS");
        ok(meminfo_rewrite("", &v, buf, sizeof buf) == 0 && buf[0] == '\0', "empty text gives empty text");
        ok(meminfo_rewrite("Weird: 12 kB trailing\nNoNewline: 5 kB", &v, buf, sizeof buf) > 0 &&
           strcmp(buf, "Weird: 12 kB trailing\nNoNewline:             0 kB\n") == 0,
           "a line that is not 'Name: value kB' is kept; the last line gets its newline");
}

int main(void) {
        test_view();
        test_edges();
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}
