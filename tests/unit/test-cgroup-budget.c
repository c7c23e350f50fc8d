/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CPU and memory budgets on fixture trees shaped like /sys/fs/cgroup and /proc of real hosts
 * (tests/fixtures/cgroup/README.md says which). */

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "tap.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)
#define FIX FIXTURES_DIR "/cgroup/"

typedef struct Expect {
        const char *tree;
        double cpus;
        unsigned online, affinity, cpuset;
        double quota;
        const char *cpu_source;
        uint64_t mem, mem_available, limit, usage;
        const char *mem_source;
} Expect;

static const Expect expected[] = {
        { "v2-container", 1.5, 8, 8, 8, 1.5, "cpu.max of /docker/abc (150000/100000 = 1.5 CPUs)",
          4 * GiB, 12 * GiB, 5 * GiB, 1 * GiB, "memory.max of /docker/abc: 5 GiB limit, 1 GiB in use" },
        /* memory.stat's total_inactive_file (0.2 GiB) is reclaimable, so it does not count as in use */
        { "hybrid", 2, 2, 2, 2, 0, "2 CPUs online",
          5 * GiB - UINT64_C(1288490188), UINT64_C(24436932) * 1024, 5 * GiB, UINT64_C(1288490188),
          "memory.limit_in_bytes of /process_api/x: 5 GiB limit, 1.2 GiB in use" },
        { "v1-quota", 0.5, 8, 4, 6, 0.5, "cpu.cfs_quota_us of /user.slice/build (50000/100000 = 0.5 CPUs)",
          6 * GiB, 6 * GiB, CGROUP_LIMIT_MAX, 0, "MemAvailable (6 GiB)" },
        { "v2-nested", 1, 4, 4, 3, 1, "cpu.max of /a (100000/100000 = 1 CPU)",
          512 * MiB, 12 * GiB, 2 * GiB, 3 * GiB / 2, "memory.max of /a: 2 GiB limit, 1.5 GiB in use" },
        { "unlimited", 4, 4, 4, 4, 0, "4 CPUs online",
          UINT64_C(7864320) * 1024, UINT64_C(7864320) * 1024, CGROUP_LIMIT_MAX, 0, "MemAvailable (7.5 GiB)" },
        { "affinity", 4, 8, 4, 8, 0, "affinity mask (4 of 8 online CPUs)",
          UINT64_C(7864320) * 1024, UINT64_C(7864320) * 1024, CGROUP_LIMIT_MAX, 0, "MemAvailable (7.5 GiB)" },
        { "v2-cpuset", 3, 8, 8, 3, 0, "cpuset.cpus.effective of /machine.slice/vm (3 CPUs)",
          UINT64_C(7864320) * 1024, UINT64_C(7864320) * 1024, CGROUP_LIMIT_MAX, 0, "MemAvailable (7.5 GiB)" },
};

static void test_tree(const Expect *e) {
        char sys[512], proc[512], name[128];
        CpuBudget c = {};
        MemBudget m = {};

        (void) snprintf(sys, sizeof sys, FIX "%s/sys", e->tree);
        (void) snprintf(proc, sizeof proc, FIX "%s/proc", e->tree);

        (void) snprintf(name, sizeof name, "%s: cpu_budget_get_full", e->tree);
        is_int(cpu_budget_get_full(sys, proc, &c), 0, name);
        ok(fabs(c.cpus - e->cpus) < 1e-9, "%s: %g CPUs (want %g)", e->tree, c.cpus, e->cpus);
        ok(c.online == e->online && c.affinity == e->affinity && c.cpuset == e->cpuset,
           "%s: online %u, affinity %u, cpuset %u (want %u, %u, %u)", e->tree, c.online, c.affinity, c.cpuset,
           e->online, e->affinity, e->cpuset);
        ok(fabs(c.quota - e->quota) < 1e-9, "%s: quota %g (want %g)", e->tree, c.quota, e->quota);
        (void) snprintf(name, sizeof name, "%s: cpu source", e->tree);
        is_str(c.source, e->cpu_source, name);

        (void) snprintf(name, sizeof name, "%s: mem_budget_get", e->tree);
        is_int(mem_budget_get(sys, proc, &m), 0, name);
        (void) snprintf(name, sizeof name, "%s: memory budget", e->tree);
        is_u64(m.bytes, e->mem, name);
        (void) snprintf(name, sizeof name, "%s: MemAvailable", e->tree);
        is_u64(m.mem_available, e->mem_available, name);
        (void) snprintf(name, sizeof name, "%s: bounding cgroup limit", e->tree);
        is_u64(m.cgroup_limit, e->limit, name);
        (void) snprintf(name, sizeof name, "%s: bounding cgroup usage", e->tree);
        is_u64(m.cgroup_usage, e->usage, name);
        (void) snprintf(name, sizeof name, "%s: memory source", e->tree);
        is_str(m.source, e->mem_source, name);
}

static void test_missing(void) {
        CpuBudget c = { .cpus = 42 };
        MemBudget m = { .bytes = 42 };

        is_int(mem_budget_get(FIX "nonexistent/sys", FIX "nonexistent/proc", &m), -ENOENT,
               "no meminfo: the error, not a guess");
        is_u64(m.bytes, 42, "MemBudget untouched on failure");
        is_int(cpu_budget_get_full(FIX "nonexistent/sys", FIX "nonexistent/proc", &c), -ENOENT,
               "no /proc/stat: the error, not a guess");
        ok(c.cpus == 42, "CpuBudget untouched on failure");
        /* A missing /sys/fs/cgroup is no bound, not an error: the host's figures remain. */
        is_int(cpu_budget_get_full(FIX "nonexistent/sys", FIX "unlimited/proc", &c), 0, "no cgroup tree");
        ok(c.cpus == 4, "no cgroup tree: online CPUs (got %g)", c.cpus);
}

/* The real host: figures must agree with what libc says, whatever this machine is. */
static void test_real(void) {
        CpuBudget c = {};
        MemBudget m = {};
        cpu_set_t set;

        is_int(cpu_budget_get(NULL, &c), 0, "cpu_budget_get on this host");
        is_int(c.online, sysconf(_SC_NPROCESSORS_ONLN), "online CPUs as sysconf() says");
        if (sched_getaffinity(0, sizeof set, &set) == 0)
                is_int(c.affinity, CPU_COUNT(&set), "affinity as sched_getaffinity() says");
        ok(c.cpus > 0 && c.cpus <= c.online, "this host: %g CPUs, from %s", c.cpus, c.source);
        is_int(mem_budget_get(NULL, NULL, &m), 0, "mem_budget_get on this host");
        ok(m.bytes > 0 && m.bytes <= m.mem_available, "this host: %" PRIu64 " bytes, from %s", m.bytes, m.source);
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                test_tree(&expected[i]);
        test_missing();
        test_real();
        return tap_done();
}
