/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsrun exec: one command in one sandbox, its exit status passed through. */

#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "parse-util.h"
#include "runner.h"

extern char **environ;

typedef struct ExecArgs {
        SandboxOptions sandbox;
        uint64_t mem;           /* --mem, 0: none */
        uint64_t pids_max;      /* --pids-max, 0: none */
        bool mem_cap_off;
        char **command;
} ExecArgs;

static void exec_help(void) {
        printf("Usage: nsrun exec [OPTIONS] -- COMMAND [ARG...]\n"
               "\n"
               "Run COMMAND in a fresh, isolated, throwaway sandbox: its own user, mount, PID, network,\n"
               "IPC and UTS namespaces; the project directory and $HOME overlaid so writes stay private;\n"
               "fresh /tmp, /var/tmp and /dev/shm; every other path read-only; only a loopback network.\n"
               "\n"
               "Options:\n"
               SANDBOX_OPTIONS_HELP
               "      --mem SIZE           cap its memory (and swap) at SIZE (K, M, G, T); past it the kernel\n"
               "                           kills it and nsrun says so\n"
               "      --pids-max N         at most N processes and threads\n"
               "      --mem-cap off        with --pids-max where memory cannot be capped: cap only processes\n"
               "  -h, --help               show this help\n"
               "\n"
               "Exit status:\n"
               "  COMMAND's own status; 128+N if it was killed by signal N (137 when out of memory);\n"
               "  126 COMMAND is not executable; 127 COMMAND was not found;\n"
               "  123 this machine refuses sandboxes (the message says what to change; see 'nsrun doctor');\n"
               "  125 bad usage, or the sandbox could not be built.\n");
}

static int parse_exec_option(ExecArgs *a, int c, const char *arg) {
        unsigned n;
        int r;

        switch (c) {
        case ARG_MEM:
                r = parse_size(arg, false, &a->mem);
                if (r < 0 || a->mem < (UINT64_C(1) << 20))
                        return log_bad_option("--mem", arg,
                                              r == -ERANGE ? "too large; give a size such as 2G"
                                                           : "not a size; give at least 1M, such as 512M or 2G");
                return 0;
        case ARG_PIDS_MAX:
                r = parse_unsigned(arg, 8, 4194304, &n);
                if (r < 0)
                        return log_bad_option("--pids-max", arg, "give a whole number from 8 to 4194304");
                a->pids_max = n;
                return 0;
        case ARG_MEM_CAP:
                if (!streq(arg, "off"))
                        return log_bad_option("--mem-cap", arg, "the only value is 'off'");
                a->mem_cap_off = true;
                return 0;
        }
        r = sandbox_options_parse(&a->sandbox, c, arg);
        return r > 0 ? 0 : r < 0 ? r : -EINVAL;
}

static int parse_exec_args(int argc, char *argv[], ExecArgs *a) {
        static const struct option options[] = {
                SANDBOX_LONG_OPTIONS,
                { "mem", required_argument, NULL, ARG_MEM },
                { "pids-max", required_argument, NULL, ARG_PIDS_MAX },
                { "mem-cap", required_argument, NULL, ARG_MEM_CAP },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r, dashdash;

        dashdash = find_command(argc, argv, 1, "exec");
        if (dashdash < 0)
                return dashdash;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(dashdash, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        exec_help();
                        return 0;
                case '?':
                        return log_error("exec: unknown option '%s'; see 'nsrun exec --help'", option_name(argv, optopt)),
                               -EINVAL;
                case ':':
                        return log_error("exec: option '%s' needs a value; see 'nsrun exec --help'",
                                         option_name(argv, optopt)),
                               -EINVAL;
                default:
                        r = parse_exec_option(a, c, optarg);
                        if (r < 0)
                                return r;
                }
        }
        if (optind < dashdash)
                return log_error("exec: unexpected argument '%s' before '--'; see 'nsrun exec --help'",
                                 argv[optind]),
                       -EINVAL;
        if (a->mem_cap_off && a->mem)
                return log_error("exec: --mem and --mem-cap off exclude each other; give one of them"), -EINVAL;
        if (a->mem) {
                MemBudget mb;
                if (mem_budget_get(NULL, NULL, &mb) >= 0 && a->mem > mb.bytes)
                        return log_error("--mem %s: only %s is available here (%s); use at most %" PRIu64 "M",
                                         FORMAT_SIZE(a->mem), FORMAT_SIZE(mb.bytes), mb.source, mb.bytes >> 20),
                               -EINVAL;
        }
        r = sandbox_options_finish(&a->sandbox);
        if (r < 0)
                return r;
        a->command = argv + dashdash + 1;
        return 1;
}

/* Signals to nsrun go to the command. The sandbox has a process group of its own, so nothing sent to nsrun's
 * group reaches it twice. */
static int wait_forwarding_signals(Sandbox *s, const sigset_t *mask, SandboxResult *ret) {
        _cleanup_close_ int sfd = signalfd(-1, mask, SFD_CLOEXEC);

        if (sfd < 0)
                return -errno;
        for (;;) {
                struct pollfd p[2] = { { .fd = sandbox_fd(s), .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
                struct signalfd_siginfo si;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents & POLLIN && read(sfd, &si, sizeof si) == sizeof si)
                        (void) sandbox_kill(s, (int) si.ssi_signo);
                if (p[0].revents)
                        return sandbox_wait(s, ret);
        }
}

static int report_result(const SandboxResult *res, const CgroupStats *st, const ExecArgs *a) {
        char **command = a->command;
        char why[1024];

        /* The kernel's OOM killer picks a process in the cgroup: whatever died, memory is why. */
        if (st->oom_kills > 0 && !(res->outcome == SANDBOX_EXITED && res->code == 0)) {
                log_error("killed: out of memory (limit %s, peak %s)", FORMAT_SIZE(a->mem), FORMAT_SIZE(st->peak_mem));
                return 128 + SIGKILL;
        }

        switch (res->outcome) {
        case SANDBOX_EXEC_FAILED:
                if (res->error == ENOENT)
                        log_error("%s: command not found in the sandbox; check the name and $PATH", command[0]);
                else
                        log_error_errno(res->error, "%s: cannot execute: %m", command[0]);
                break;
        case SANDBOX_SETUP_FAILED:
                if (sandbox_explain(0, res, why, sizeof why)) {
                        log_error("cannot create a sandbox: %s", why);
                        return EXIT_EXEC_REFUSED;
                }
                log_error("cannot create a sandbox: %s", why);
                return EXIT_EXEC_USAGE;
        default:
                break;
        }
        return sandbox_result_exit_status(res);
}

/* A cgroup only when a cap was asked for: without one the PID namespace alone takes every process along. */
static int exec_cgroup(const ExecArgs *a, CgroupManager **ret_m, CgroupJob **ret_j) {
        CgroupManagerOptions co = { .allow_systemd = true, .require_memory = a->mem > 0 };
        CgroupLimits limits = { .mem_max = a->mem ?: CGROUP_LIMIT_MAX, .pids_max = a->pids_max ?: CGROUP_LIMIT_MAX };
        _cleanup_free_ char *why = NULL;
        int r;

        if (!a->mem && !a->pids_max)
                return 0;
        r = cgroup_manager_new(&co, ret_m, &why);
        if (r < 0) {
                log_error("cannot cap memory here: %s", why ?: strerror(-r));
                return -ECANCELED;
        }
        r = cgroup_job_new(*ret_m, "exec", &limits, ret_j);
        if (r < 0)
                return log_error_errno(r, "Cannot create a cgroup for the command under %s: %m",
                                       cgroup_manager_run_path(*ret_m));
        return 0;
}

static int run_exec(ExecArgs *a) {
        static const int signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH };
        SandboxSpec spec = SANDBOX_SPEC_INIT;
        _cleanup_free_ SandboxMount *mounts = NULL;
        CgroupManager *cgm = NULL;
        CgroupJob *cg = NULL;
        CgroupStats st = {};
        Sandbox *s = NULL;
        SandboxResult res;
        sigset_t mask, old;
        char why[1024];
        int r;

        r = sandbox_options_mounts(&a->sandbox, NULL, NULL, &mounts, &spec.n_mounts);
        if (r < 0)
                return log_oom(), EXIT_EXEC_USAGE;
        spec.argv = a->command;
        spec.envp = environ;
        spec.cwd = get_current_dir_name();
        spec.mounts = mounts;
        spec.keep_writes = a->sandbox.keep_writes;
        spec.net = a->sandbox.net;

        r = exec_cgroup(a, &cgm, &cg);
        if (r < 0) {
                cgroup_manager_free(cgm);
                free((char *) spec.cwd);
                return r == -ECANCELED ? EXIT_EXEC_REFUSED : EXIT_EXEC_USAGE;
        }
        spec.cgroup_fd = cg && cgroup_job_fd(cg) >= 0 ? cgroup_job_fd(cg) : -EBADF;
        spec.paused = cg && spec.cgroup_fd < 0; /* attached below, before it may start */

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                sigaddset(&mask, signals[i]);
        (void) sigprocmask(SIG_BLOCK, &mask, &old);

        r = sandbox_spawn(&spec, &s);
        if (r < 0) {
                bool refused = sandbox_explain(r, NULL, why, sizeof why);
                log_error("cannot create a sandbox: %s", why);
                cgroup_job_free(cg);
                cgroup_manager_free(cgm);
                free((char *) spec.cwd);
                return refused ? EXIT_EXEC_REFUSED : EXIT_EXEC_USAGE;
        }
        if (cg && spec.cgroup_fd < 0)
                r = cgroup_job_attach(cg, sandbox_pid(s));
        if (r >= 0)
                r = sandbox_start(s);
        if (r >= 0)
                r = wait_forwarding_signals(s, &mask, &res);
        s = sandbox_free(s);
        if (cg)
                (void) cgroup_job_stats(cg, &st);
        cgroup_job_free(cg);
        cgroup_manager_free(cgm);
        free((char *) spec.cwd);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return log_error_errno(r, "Lost track of the sandbox: %m"), EXIT_EXEC_USAGE;
        return report_result(&res, &st, a);
}

int verb_exec(int argc, char *argv[]) {
        ExecArgs a = {};
        int r;

        r = parse_exec_args(argc, argv, &a);
        if (r <= 0) {
                sandbox_options_done(&a.sandbox);
                return r < 0 ? EXIT_EXEC_USAGE : 0;
        }
        r = run_exec(&a);
        sandbox_options_done(&a.sandbox);
        return r;
}
