/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sandbox.h"

/* Exit statuses. The runner's are its own; `nsrun exec` passes the command's status through and keeps two values
 * high up, as env(1) and podman do, for failures of nsrun itself. */
enum {
        EXIT_RUN_FAILURES = 1,          /* some job failed */
        EXIT_USAGE = 2,                 /* bad usage, or not even one worker fits */
        EXIT_REFUSED = 3,               /* this machine refuses sandboxes */
        EXIT_PYTEST_USAGE = 4,          /* pytest's usage error (an unknown option, a missing file), as pytest */
        EXIT_NO_TESTS = 5,              /* pytest collected no test: pytest's own status for it */
        EXIT_EXEC_REFUSED = 123,        /* nsrun exec: this machine refuses sandboxes */
        EXIT_EXEC_TIMEOUT = 124,        /* nsrun exec: --timeout expired */
        EXIT_EXEC_USAGE = 125,          /* nsrun exec: bad usage, or the sandbox could not be built */
};

/* The sandbox options shared by `nsrun exec` and the runner: what is isolated and how. */
typedef struct SandboxOptions {
        char *root_dir;                 /* the project directory, absolute and resolved */
        char *keep_writes;
        bool no_home;
        SandboxNet net;
        SandboxMount *extra;            /* --rw, --overlay, --tmpfs, in the order given */
        size_t n_extra;
} SandboxOptions;

void sandbox_options_done(SandboxOptions *o);
/* Handles one of the sandbox options (see SANDBOX_OPTIONS_*); returns 1 if it was one, 0 if not, <0 on error
 * (already logged). */
int sandbox_options_parse(SandboxOptions *o, int opt, const char *arg);
/* Fills defaults (project = cwd) and checks the combination. Logs and returns <0 on error. */
int sandbox_options_finish(SandboxOptions *o);
/* The mounts of one sandbox: the project's and $HOME's overlays, the user's, then, if not NULL, shared_rw
 * (nsrun's run directory, where jobs leave reports) and shared_ro (nsrun's own files a job needs, such as its
 * pytest plugin: they may live where the sandbox shows something else, like /tmp). Paths are borrowed. */
int sandbox_options_mounts(const SandboxOptions *o, const char *shared_rw, const char *shared_ro, SandboxMount **ret,
                           size_t *ret_n);

/* The scratch directory (/tmp, /var/tmp) under which path is, if the sandbox shows nothing of the host's there:
 * every sandbox has them fresh and empty but for the paths it shows from the host (the project, $HOME, --rw,
 * --overlay). NULL where path is visible. path is absolute and normalized. */
const char *sandbox_options_hidden_under(const SandboxOptions *o, const char *path);

/* --keep-writes is nsrun exec's alone: a run of jobs (nsrun, nsrun xdist) has writes per job */
#define KEEP_WRITES_EXEC_ONLY "every job has writes of its own; keep one command's with 'nsrun exec --keep-writes'"

#define SANDBOX_OPTIONS_HELP \
        SANDBOX_OPTIONS_HELP_ROOT_DIR \
        "      --keep-writes DIR    keep what the command wrote in DIR\n" \
        SANDBOX_OPTIONS_HELP_REST
/* the same but --keep-writes, for the verbs that run jobs */
#define SANDBOX_OPTIONS_HELP_JOBS SANDBOX_OPTIONS_HELP_ROOT_DIR SANDBOX_OPTIONS_HELP_REST
#define SANDBOX_OPTIONS_HELP_ROOT_DIR \
        "      --root-dir DIR       the project, overlaid so writes stay private (.)\n"
#define SANDBOX_OPTIONS_HELP_REST \
        "      --rw PATH            share PATH with the host, writable (repeatable)\n" \
        "      --overlay PATH       overlay PATH too: writes stay private (repeatable)\n" \
        "      --tmpfs PATH         an empty private tmpfs on PATH (repeatable)\n" \
        "      --no-home            do not overlay $HOME (it stays read-only)\n" \
        "      --net MODE           'loopback' (default: only lo, private) or 'host'\n"

enum {
        ARG_ROOT_DIR = 0x100,
        ARG_KEEP_WRITES,
        ARG_RW,
        ARG_OVERLAY,
        ARG_TMPFS,
        ARG_NO_HOME,
        ARG_NET,
        ARG_MEM,
        ARG_PIDS_MAX,
        ARG_MEM_CAP,
        ARG_MEM_PER_WORKER,
        ARG_MEM_RESERVE,
        ARG_CPUS_PER_JOB,
        ARG_VERSION,
        _ARG_SANDBOX_MAX,
};

#define SANDBOX_LONG_OPTIONS                                            \
        { "root-dir", required_argument, NULL, ARG_ROOT_DIR },          \
        { "keep-writes", required_argument, NULL, ARG_KEEP_WRITES },    \
        { "rw", required_argument, NULL, ARG_RW },                      \
        { "overlay", required_argument, NULL, ARG_OVERLAY },            \
        { "tmpfs", required_argument, NULL, ARG_TMPFS },                \
        { "no-home", no_argument, NULL, ARG_NO_HOME },                  \
        { "net", required_argument, NULL, ARG_NET }

/* The sizing and cap options: the runner's and nsrun xdist's (-j, --mem-per-worker, --mem-reserve, --pids-max,
 * --mem-cap; --cpus-per-job the runner's alone), and nsrun exec's --pids-max and --mem-cap. One parser, so that
 * the verbs take the same values and say the same of a bad one. */
typedef struct CapOptions {
        unsigned jobs_max;              /* -j N, 0: the CPU budget */
        uint64_t mem_per_worker;        /* --mem-per-worker SIZE, 0: not given */
        bool mem_per_worker_auto;       /* --mem-per-worker auto */
        uint64_t reserve_bytes;         /* --mem-reserve SIZE, 0: reserve_percent */
        unsigned reserve_percent;
        uint64_t pids_max;              /* --pids-max N, 0: none */
        unsigned cpus_per_job;          /* --cpus-per-job N, 0: the CPU budget over the workers */
        bool mem_cap_off;               /* --mem-cap off */
} CapOptions;

#define PIDS_MAX_DEFAULT 4096
#define MEM_SIZE_MIN (UINT64_C(1) << 20) /* --mem, --mem-per-worker: below a MiB not even Python starts */
/* The runner's and xdist's defaults: a 10% reserve, PIDS_MAX_DEFAULT processes per job. */
#define CAP_OPTIONS_WORKERS { .reserve_percent = 10, .pids_max = PIDS_MAX_DEFAULT }

#define CAP_LONG_OPTIONS                                                        \
        { "jobs", required_argument, NULL, 'j' },                               \
        { "mem-per-worker", required_argument, NULL, ARG_MEM_PER_WORKER },      \
        { "mem-reserve", required_argument, NULL, ARG_MEM_RESERVE },            \
        { "pids-max", required_argument, NULL, ARG_PIDS_MAX },                  \
        { "mem-cap", required_argument, NULL, ARG_MEM_CAP }

/* Handles one of the options above; returns 1 if it was one, 0 if not, <0 on a bad value (logged). */
int cap_options_parse(CapOptions *o, int opt, const char *arg);
/* Checks the combination (--mem-cap off with --mem-per-worker; --cpus-per-job within the CPU budget); verb
 * prefixes the message ("xdist"), NULL for the runner. Logs and returns -EINVAL. */
int cap_options_check(const CapOptions *o, const char *verb);
/* A memory size of at least MEM_SIZE_MIN, for --mem and --mem-per-worker; one line naming option and -EINVAL. */
int parse_mem_size(const char *option, const char *arg, uint64_t *ret);

/* Reports a bad option value on one line and returns -EINVAL. */
int log_bad_option(const char *option, const char *value, const char *why_and_fix);
/* A whole number from min to max, or "OPTION ARG: give a whole number from MIN to MAX" and -EINVAL. */
int parse_count(const char *option, const char *arg, unsigned min, unsigned max, unsigned *ret);

/* The option getopt_long() stopped at, for messages: "-q" for a letter (also inside "-qx"), else the argument. */
const char *option_name(char *argv[], int opt);

/* For getopt_long()'s '?' (unknown option) and ':' (missing value): logs one line naming the option and the
 * help of verb (NULL: the runner's) and returns -EINVAL; 0 for any other c. */
int log_getopt_error(const char *verb, char *argv[], int c);

/* Finds "--": returns its index, or logs a clear error naming the fix and returns <0. */
int find_command(int argc, char *argv[], int optind_, const char *verb);
