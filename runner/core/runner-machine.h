/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a job sees of its machine, CPUs side (memory: SandboxSpec.mem_view). */

/* Each job's CPU share, --cpus-per-job N or the CPU budget over the workers (at least 1). */
unsigned cpu_share(double budget, unsigned workers, unsigned cpus_per_job);
/* OMP_NUM_THREADS and the like, in nsrun's environment (which jobs inherit) where the user did not set them. */
int setenv_cpu_share(unsigned n);
/* --cpus-per-job N within the CPU budget, or one line naming the limit and -EINVAL. */
int check_cpus_per_job(unsigned n);
