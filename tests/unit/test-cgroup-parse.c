/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup/ parsers on kernel text, including what the kernel never writes: truncations, garbage, overflow.
 * Every input is copied to a heap buffer of its exact size, so valgrind or ASan sees any read past the NUL. */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "proc-util.h"
#include "cgroup.h"
#include "macro.h"
#include "tap.h"

#define GiB (UINT64_C(1) << 30)

static const char hybrid_self[] = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
                                  "4:memory:/process_api/344a612b\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

static void test_proc_self(void) {
        static const struct {
                const char *text, *controller;
                int r;
                const char *path;
        } cases[] = {
                { "0::/user.slice/user-1000.slice/session-2.scope\n", NULL, 0,
                  "/user.slice/user-1000.slice/session-2.scope" },
                { "0::/docker/abc", "", 0, "/docker/abc" },
                { hybrid_self, "memory", 0, "/process_api/344a612b" },
                { hybrid_self, "cpu", 0, "/" },
                { hybrid_self, "cpuacct", 0, "/" },
                { hybrid_self, NULL, 0, "/" },
                { hybrid_self, "name=systemd", 0, "/" },
                { hybrid_self, "hugetlb", -ENODATA, NULL },
                { "5:cpu,cpuacct:/user.slice/build\n4:memory:/m\n", "cpuacct", 0, "/user.slice/build" },
                { "5:cpu,cpuacct:/user.slice/build\n4:memory:/m\n", "cpu", 0, "/user.slice/build" },
                { "5:cpu,cpuacct:/user.slice/build\n", "cpua", -ENODATA, NULL },
                { "5:cpu,cpuacct:/user.slice/build\n", NULL, -ENODATA, NULL },
                { "0::/a:b:c\n", NULL, 0, "/a:b:c" },
                { "0::/gone (deleted)\n", NULL, -ENOENT, NULL },
                { "0::relative\n", NULL, -EINVAL, NULL },
                { "0::\n", NULL, -EINVAL, NULL },
                { "0:\n", NULL, -ENODATA, NULL },
                { "::::\n", NULL, -ENODATA, NULL },
                { "10:memory\n", "memory", -ENODATA, NULL },
                { "", NULL, -ENODATA, NULL },
                { "\n\n\n", "memory", -ENODATA, NULL },
                { "00::/x\n", NULL, -ENODATA, NULL },
        };
        char *path = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char name[96];
                int r;

                path = NULL;
                r = cgroup_parse_proc_self(cases[i].text, cases[i].controller, &path);
                (void) snprintf(name, sizeof name, "proc_self case %zu (%s)", i,
                                cases[i].controller ? cases[i].controller : "v2");
                is_int(r, cases[i].r, name);
                if (r == 0)
                        is_str(path, cases[i].path, name);
                free(path);
        }
        path = NULL;
        is_int(cgroup_parse_proc_self(NULL, NULL, &path), -EINVAL, "proc_self(NULL)");
        ok(!path, "proc_self leaves ret_path alone on failure");
}

static void test_cpu_max(void) {
        static const struct {
                const char *text;
                int r;
                double ratio;
        } cases[] = {
                { "150000 100000\n", 0, 1.5 },  { "max 100000\n", 0, 0 },    { "max", 0, 0 },
                { "50000 100000", 0, 0.5 },     { "200000 50000\n", 0, 4 },  { "100000 0\n", -EINVAL, 0 },
                { "0 100000\n", -EINVAL, 0 },   { "abc 100000\n", -EINVAL, 0 }, { "150000\n", -EINVAL, 0 },
                { "", -EINVAL, 0 },             { "\n", -EINVAL, 0 },        { "150000 100000 7\n", -EINVAL, 0 },
                { "-1 100000\n", -EINVAL, 0 },  { "150000  100000\n", -EINVAL, 0 },
                { "99999999999999999999999 100000\n", -ERANGE, 0 }, { "max max\n", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                double ratio = -1;
                char name[96];
                int r = cgroup_parse_cpu_max(cases[i].text, &ratio);

                (void) snprintf(name, sizeof name, "cpu.max \"%.*s\"", (int) strcspn(cases[i].text, "\n"),
                                cases[i].text);
                is_int(r, cases[i].r, name);
                if (r == 0)
                        ok(ratio == cases[i].ratio, "%s -> %g", name, ratio);
                else
                        ok(ratio == -1, "%s leaves ret alone", name);
        }
}

static void test_keyed(void) {
        static const char events[] = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        static const char oom_control[] = "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n";
        static const char cpu_stat[] = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n";
        uint64_t v = 0;

        is_int(cgroup_parse_keyed(events, "oom_kill", &v), 0, "memory.events oom_kill");
        is_u64(v, 2, "memory.events oom_kill value");
        is_int(cgroup_parse_keyed(events, "oom", &v), 0, "memory.events oom");
        is_u64(v, 3, "memory.events oom is not oom_kill");
        is_int(cgroup_parse_keyed(events, "max", &v), 0, "memory.events max");
        is_u64(v, 12, "memory.events max value");
        is_int(cgroup_parse_keyed(events, "oom_group", &v), -ENODATA, "a prefix of a key is no key");
        is_int(cgroup_parse_keyed(oom_control, "oom_kill", &v), 0, "oom_control oom_kill");
        is_u64(v, 7, "oom_control: oom_kill, not oom_kill_disable");
        is_int(cgroup_parse_keyed(cpu_stat, "usage_usec", &v), 0, "cpu.stat usage_usec");
        is_u64(v, 123456, "cpu.stat usage_usec value");
        is_int(cgroup_parse_keyed("max 5", "max", &v), 0, "pids.events without newline");
        is_u64(v, 5, "pids.events max value");
        v = 99;
        is_int(cgroup_parse_keyed("oom_kill x\n", "oom_kill", &v), -EINVAL, "non-numeric value");
        is_int(cgroup_parse_keyed("oom_kill\n", "oom_kill", &v), -ENODATA, "key without value");
        is_int(cgroup_parse_keyed("oom_kill -1\n", "oom_kill", &v), -EINVAL, "negative value");
        is_int(cgroup_parse_keyed("oom_kill 99999999999999999999\n", "oom_kill", &v), -ERANGE, "overflow");
        is_u64(v, 99, "ret untouched on failure");
        is_int(cgroup_parse_keyed(events, "", &v), -EINVAL, "empty key");
        is_int(cgroup_parse_keyed("", "oom_kill", &v), -ENODATA, "empty text");
}

static void test_limit(void) {
        static const struct {
                const char *text;
                int r;
                uint64_t v;
        } cases[] = {
                { "max\n", 0, CGROUP_LIMIT_MAX },
                { "104857600\n", 0, 104857600 },
                { "9223372036854771712\n", 0, CGROUP_LIMIT_MAX }, /* v1 "unlimited" with 4 KiB pages */
                { "9223372036854775807\n", 0, CGROUP_LIMIT_MAX },
                { "4611686018427387903\n", 0, UINT64_C(4611686018427387903) },
                { "4611686018427387904\n", 0, CGROUP_LIMIT_MAX },
                { "-1\n", 0, CGROUP_LIMIT_MAX },
                { "0\n", 0, 0 },
                { "", -EINVAL, 0 },
                { "12abc\n", -EINVAL, 0 },
                { "maxx\n", -EINVAL, 0 },
                { " 5\n", -EINVAL, 0 },
                { "-2\n", -EINVAL, 0 },
                { "18446744073709551616\n", -ERANGE, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 0;
                char name[96];
                int r = cgroup_parse_limit(cases[i].text, &v);

                (void) snprintf(name, sizeof name, "limit \"%.*s\"", (int) strcspn(cases[i].text, "\n"),
                                cases[i].text);
                is_int(r, cases[i].r, name);
                if (r == 0)
                        is_u64(v, cases[i].v, name);
        }
}

static void test_meminfo(void) {
        static const char meminfo[] = "MemTotal:       24684092 kB\nMemFree:        23000000 kB\n"
                                      "MemAvailable:   24436932 kB\nBuffers:            1234 kB\n";
        uint64_t v = 7;

        is_int(meminfo_parse_available(meminfo, &v), 0, "meminfo");
        is_u64(v, UINT64_C(24436932) * 1024, "MemAvailable in bytes");
        is_int(meminfo_parse_available("MemAvailable: 100 kB", &v), 0, "meminfo without newline");
        is_u64(v, 102400, "100 kB");
        is_int(meminfo_parse_available("MemTotal: 100 kB\nMemFree: 50 kB\n", &v), -ENODATA, "no MemAvailable");
        is_int(meminfo_parse_available("XMemAvailable: 100 kB\n", &v), -ENODATA, "key must start the line");
        is_int(meminfo_parse_available("MemAvailable: abc kB\n", &v), -EINVAL, "non-numeric");
        is_int(meminfo_parse_available("MemAvailable: 100 MB\n", &v), -EINVAL, "unknown unit");
        is_int(meminfo_parse_available("MemAvailable:\n", &v), -EINVAL, "no value");
        is_int(meminfo_parse_available("MemAvailable: 18014398509481984 kB\n", &v), -ERANGE, "overflow");
        is_u64(v, 102400, "ret untouched on failure");
}

static void test_cpu_list(void) {
        static const struct {
                const char *text;
                int r;
                unsigned n;
        } cases[] = {
                { "0-3,8-11\n", 0, 8 }, { "0\n", 0, 1 },         { "0,2,4-5", 0, 4 },  { "", 0, 0 },
                { "\n", 0, 0 },         { "3-1\n", -EINVAL, 0 }, { "0-3,\n", -EINVAL, 0 },
                { ",0\n", -EINVAL, 0 }, { "0-\n", -EINVAL, 0 },  { "-3\n", -EINVAL, 0 },
                { "a\n", -EINVAL, 0 },  { "0,,1\n", -EINVAL, 0 }, { "0-99999999\n", -ERANGE, 0 },
                { "0-7:2/4\n", -EINVAL, 0 }, { "0-1 \n", 0, 2 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned n = 0;
                char name[96];
                int r = cgroup_parse_cpu_list(cases[i].text, &n);

                (void) snprintf(name, sizeof name, "cpu list \"%.*s\"", (int) strcspn(cases[i].text, "\n"),
                                cases[i].text);
                is_int(r, cases[i].r, name);
                if (r == 0)
                        is_int(n, cases[i].n, name);
        }
}

static void test_proc_files(void) {
        static const char stat[] = "4242 (we ird) S 1 4242 4242 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 987654 "
                                   "1000 100 18446744073709551615\n";
        static const char evil[] = "4242 (x) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19) R 1 2 3 4 5 6 "
                                   "7 8 9 10 11 12 13 14 15 16 17 18 555\n";
        unsigned n = 0;
        uint64_t start = 0;
        char state = 0;

        is_int(proc_parse_stat(stat, &state, &start), 0, "/proc/pid/stat");
        ok(state == 'S', "state S (got %c)", state);
        is_u64(start, 987654, "starttime");
        is_int(proc_parse_stat(evil, &state, &start), 0, "comm with ') Z' inside");
        ok(state == 'R', "fields counted from the last ')' (got %c)", state);
        is_u64(start, 555, "starttime after a tricky comm");
        is_int(proc_parse_stat("4242 (x) S 1 2 3\n", &state, &start), -EINVAL, "truncated stat");
        is_int(proc_parse_stat("4242 (x)", &state, &start), -EINVAL, "stat ends at comm");
        is_int(proc_parse_stat("no paren", &state, &start), -EINVAL, "stat without comm");

        is_int(proc_status_parse_cpus_allowed("Name:\tx\nCpus_allowed:\tf\nCpus_allowed_list:\t0-2,5\n", &n), 0,
               "status Cpus_allowed_list");
        is_int(n, 4, "Cpus_allowed_list count");
        is_int(proc_status_parse_cpus_allowed("Cpus_allowed:\tf\n", &n), -ENODATA, "no Cpus_allowed_list");
        is_int(proc_stat_parse_online("cpu  1 2 3\ncpu0 1 2\ncpu1 1 2\ncpu3 1 2\nintr 5\n", &n), 0, "/proc/stat");
        is_int(n, 3, "cpuN lines (offline cpu2 is simply missing)");
        is_int(proc_stat_parse_online("cpu  1 2 3\nintr 5\n", &n), -ENODATA, "/proc/stat without cpuN");
}

static void test_run_name(void) {
        static const struct {
                const char *name;
                int r;
                pid_t pid;
                uint64_t start;
        } cases[] = {
                { "nsrun-123-456", 0, 123, 456 },    { "nsrun-1-0", 0, 1, 0 },
                { "nsrun-0-1", -EINVAL, 0, 0 },      { "nsrun-12", -EINVAL, 0, 0 },
                { "nsrun-12-", -EINVAL, 0, 0 },      { "nsrun-012-5", -EINVAL, 0, 0 },
                { "nsrun-1-05", -EINVAL, 0, 0 },     { "nsrun-test-budget", -EINVAL, 0, 0 },
                { "nsrun-99999999999-1", -EINVAL, 0, 0 }, { "nsrun-1-2-3", -EINVAL, 0, 0 },
                { "supervisor", -EINVAL, 0, 0 },     { "nsrun--1", -EINVAL, 0, 0 },
                { "nsrun-5-1.scope", -EINVAL, 0, 0 }, { "", -EINVAL, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                pid_t pid = 0;
                uint64_t start = 0;
                char name[96];
                int r = cgroup_parse_run_name(cases[i].name, &pid, &start);

                (void) snprintf(name, sizeof name, "run name \"%s\"", cases[i].name);
                is_int(r, cases[i].r, name);
                if (r == 0)
                        ok(pid == cases[i].pid && start == cases[i].start, "%s -> %d, %" PRIu64, name, (int) pid,
                           start);
        }
}

/* ---- robustness: every prefix of every sample, then random mutations ---- */

static const char *const samples[] = {
        hybrid_self,
        "0::/user.slice/user-1000.slice/session-2.scope\n",
        "150000 100000\n",
        "max 100000\n",
        "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\n",
        "9223372036854771712\n",
        "MemTotal: 24684092 kB\nMemAvailable:   24436932 kB\n",
        "0-3,8-11\n",
        "4242 (we ird) S 1 4242 4242 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 987654 1000\n",
        "Cpus_allowed_list:\t0-2,5\n",
        "cpu  1 2\ncpu0 1 2\n",
        "nsrun-123-456",
};

static void run_all_parsers(const char *text) {
        char *path = NULL, state;
        double ratio;
        uint64_t v;
        unsigned n;
        pid_t pid;

        if (cgroup_parse_proc_self(text, NULL, &path) == 0)
                free(path);
        if (cgroup_parse_proc_self(text, "memory", &path) == 0)
                free(path);
        (void) cgroup_parse_cpu_max(text, &ratio);
        (void) cgroup_parse_keyed(text, "oom_kill", &v);
        (void) cgroup_parse_keyed(text, "max", &v);
        (void) cgroup_parse_limit(text, &v);
        (void) meminfo_parse_available(text, &v);
        (void) cgroup_parse_cpu_list(text, &n);
        (void) proc_parse_stat(text, &state, &v);
        (void) proc_status_parse_cpus_allowed(text, &n);
        (void) proc_stat_parse_online(text, &n);
        (void) cgroup_parse_run_name(text, &pid, &v);
}

static void run_exact(const char *text, size_t len) {
        char *copy = malloc(len + 1);

        if (!copy)
                abort();
        memcpy(copy, text, len);
        copy[len] = '\0';
        run_all_parsers(copy);
        free(copy);
}

static void test_robustness(void) {
        static const char alphabet[] = "0123456789 :\n\t-,/()maxkBoMemAvailable_ZS";
        uint32_t seed = 12345;
        unsigned runs = 0;

        for (size_t i = 0; i < ELEMENTSOF(samples); i++)
                for (size_t len = 0; len <= strlen(samples[i]); len++, runs++)
                        run_exact(samples[i], len);
        for (unsigned k = 0; k < 20000; k++, runs++) {
                const char *s = samples[k % ELEMENTSOF(samples)];
                size_t len = strlen(s);
                char buf[256];

                memcpy(buf, s, len + 1);
                for (unsigned m = 0; m < 1 + k % 4; m++) {
                        seed = seed * 1103515245 + 12345;
                        buf[(seed >> 8) % len] = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
                }
                run_exact(buf, len);
        }
        ok(runs > 20000, "%u truncated and mutated inputs through every parser without a crash", runs);
}

int main(void) {
        test_proc_self();
        test_cpu_max();
        test_keyed();
        test_limit();
        test_meminfo();
        test_cpu_list();
        test_proc_files();
        test_run_name();
        test_robustness();
        return tap_done();
}
