/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a job sees of its machine, CPUs side: libraries that start one thread per CPU they see (OpenMP, BLAS,
 * numexpr, rayon) are told the job's share instead. (Memory: /proc/meminfo, see SandboxMemView.) */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cgroup.h"
#include "log.h"
#include "macro.h"
#include "runner-machine.h"

/* Read by OpenMP (libgomp, libomp), OpenBLAS, MKL, numexpr, Accelerate (macOS, harmless here) and rayon. */
static const char *const thread_vars[] = {
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS",
};

unsigned cpu_share(double budget, unsigned workers, unsigned cpus_per_job) {
        unsigned n;

        if (cpus_per_job > 0)
                return cpus_per_job;
        n = workers > 0 ? (unsigned) (budget / workers) : (unsigned) budget;
        return MAX(n, 1u);
}

int setenv_cpu_share(unsigned n) {
        char buf[16];

        (void) snprintf(buf, sizeof buf, "%u", n);
        for (size_t i = 0; i < ELEMENTSOF(thread_vars); i++)
                if (setenv(thread_vars[i], buf, /* overwrite= */ 0) < 0) /* the user's own value wins */
                        return -errno;
        return 0;
}

int check_cpus_per_job(unsigned n) {
        CpuBudget b;
        unsigned max;
        int r;

        r = cpu_budget_get(NULL, &b);
        if (r < 0)
                return log_error_errno(r, "Cannot read this machine's CPU budget: %m");
        max = MAX((unsigned) b.cpus, 1u);
        if (n > max)
                return log_error("--cpus-per-job %u: more than the %u CPU%s tests may use here (%s); give at most %u",
                                 n, max, max == 1 ? "" : "s", b.source, max),
                       -EINVAL;
        return 0;
}
