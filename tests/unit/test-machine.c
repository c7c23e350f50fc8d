/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a job is told of its CPUs: setenv_cpu_share() in nsrun's environment, job_env_cpu_share() in a job's. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runner-machine.h"
#include "strv.h"
#include "tap.h"

extern char **environ;

/* NAME's value in env, or NULL. */
static const char *env_get(char **env, const char *name) {
        size_t k = strlen(name);

        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, k) == 0 && env[i][k] == '=')
                        return env[i] + k + 1;
        return NULL;
}

/* The job's environment as job_env() makes it: nsrun's, then its learned request over it. */
static char **job_env(const Job *j, unsigned cpus_per_job) {
        char **env = strv_copy(environ);

        if (!env || job_env_cpu_share(&env, j, cpus_per_job) < 0) {
                strv_free(env);
                return NULL;
        }
        return env;
}

int main(void) {
        Job learned = { .hist_cpus = 1.95, .cpu_request = 2 }, quiet = { .hist_cpus = 0.01, .cpu_request = 1 },
            unknown = { .cpu_request = 1 };
        char **env;

        is_int(cpu_share(2, 2, 0), 1, "two workers on two CPUs: a share of 1");
        is_int(cpu_share(8, 2, 0), 4, "two workers on eight CPUs: 4");
        is_int(cpu_share(1, 4, 0), 1, "... never less than 1");
        is_int(cpu_share(8, 2, 3), 3, "--cpus-per-job 3 sets it by hand");

        /* the user set OMP_NUM_THREADS, nsrun sets the other five */
        for (const char *const *v = (const char *const[]) { "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                                                             "RAYON_NUM_THREADS", NULL };
             *v; v++)
                unsetenv(*v);
        setenv("OMP_NUM_THREADS", "3", 1);
        is_int(setenv_cpu_share(1), 0, "setenv_cpu_share(1)");
        is_str(getenv("OPENBLAS_NUM_THREADS"), "1", "... sets OPENBLAS_NUM_THREADS");
        is_str(getenv("RAYON_NUM_THREADS"), "1", "... and RAYON_NUM_THREADS");
        is_str(getenv("OMP_NUM_THREADS"), "3", "... keeps the user's OMP_NUM_THREADS");

        env = job_env(&learned, 0);
        is_str(env_get(env, "OPENBLAS_NUM_THREADS"), "2", "a job learned at 2 CPUs is told 2");
        is_str(env_get(env, "VECLIB_MAXIMUM_THREADS"), "2", "... in each of the variables nsrun set");
        is_str(env_get(env, "OMP_NUM_THREADS"), "3", "... but not in the user's");
        strv_free(env);

        env = job_env(&quiet, 0);
        is_str(env_get(env, "MKL_NUM_THREADS"), "1", "a job learned at 1 CPU is told 1");
        strv_free(env);

        (void) setenv_cpu_share(4); /* a share of 4: a job never measured keeps it, a learned one gets its request */
        env = job_env(&unknown, 0);
        is_str(env_get(env, "MKL_NUM_THREADS"), "4", "a job never measured is told the share");
        strv_free(env);
        env = job_env(&quiet, 0);
        is_str(env_get(env, "MKL_NUM_THREADS"), "1", "... a job learned at 1 CPU its request, below the share");
        strv_free(env);
        is_int(setenv_cpu_share(cpu_share(8, 2, 3)), 0, "--cpus-per-job 3");
        env = job_env(&learned, 3);
        is_str(env_get(env, "MKL_NUM_THREADS"), "3", "... a job learned at 2 CPUs is told 3 too");
        strv_free(env);
        is_str(getenv("OMP_NUM_THREADS"), "3", "the user's OMP_NUM_THREADS survives a second setenv_cpu_share()");
        return tap_done();
}
