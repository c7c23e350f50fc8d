/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsrun exec: one command in one sandbox, its exit status passed through. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner-cli.h"
#include "cgroup.h"
#include "log.h"
#include "parse-util.h"
#include "signal-util.h"
#include "runner-exec.h"
#include "runner-launch.h"
#include "runner-options.h"

extern char **environ;

static void exec_help(void) {
        printf("Usage: nsrun exec [OPTIONS] -- COMMAND [ARG...]\n"
               "\n"
               "Run COMMAND in a fresh, isolated, throwaway sandbox: its own user, mount, PID,\n"
               "network, IPC and UTS namespaces; the project directory and $HOME overlaid so\n"
               "writes stay private; fresh /tmp, /var/tmp and /dev/shm; every other path\n"
               "read-only; only a loopback network.\n"
               "\n"
               "Memory and processes:\n"
               "      --mem SIZE           cap its memory (and swap) at SIZE (K, M, G, T); past\n"
               "                           it the kernel kills it and nsrun says so\n"
               "      --pids-max N         at most N processes and threads\n"
               "      --mem-cap off        with --pids-max where memory cannot be capped: cap\n"
               "                           only the processes\n"
               "\n"
               "Sandbox:\n"
               SANDBOX_OPTIONS_HELP
               "\n"
               "  -h, --help               show this help\n"
               "\n"
               "Exit status: COMMAND's own; 128+N if it was killed by signal N (137 when out\n"
               "of memory); 126 COMMAND is not executable; 127 COMMAND was not found; 123 this\n"
               "machine refuses sandboxes (the message says what to change; see 'nsrun\n"
               "doctor'); 125 bad usage, or the sandbox could not be built.\n");
}

static int parse_exec_option(ExecArgs *a, int c, const char *arg) {
        int r;

        switch (c) {
        case ARG_MEM:
                return parse_mem_size("--mem", arg, &a->mem);
        case ARG_STATUS_DIR:
                free(a->status_dir);
                a->status_dir = realpath(arg, NULL);
                if (!a->status_dir)
                        return log_error_errno(errno, "--status-dir %s: %m; give an existing directory", arg), -EINVAL;
                return 0;
        }
        /* of the cap options, the table above has --pids-max and --mem-cap */
        r = cap_options_parse(&a->cap, c, arg) ?: sandbox_options_parse(&a->sandbox, c, arg);
        return r > 0 ? 0 : r < 0 ? r : -EINVAL;
}

int parse_exec_args(int argc, char *argv[], ExecArgs *a) {
        static const struct option options[] = {
                SANDBOX_LONG_OPTIONS,
                { "mem", required_argument, NULL, ARG_MEM },
                { "pids-max", required_argument, NULL, ARG_PIDS_MAX },
                { "mem-cap", required_argument, NULL, ARG_MEM_CAP },
                { "status-dir", required_argument, NULL, ARG_STATUS_DIR }, /* internal: nsrun xdist */
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r, dashdash;

        /* the sandbox a project's settings describe (--rw, --net, ...) is the one its jobs run in */
        dashdash = settings_for_verb(options, "exec", argc, argv, &a->argv);
        if (dashdash < 0)
                return dashdash;
        argv = a->argv;
        argc = (int) strv_length(argv);
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(dashdash, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        exec_help();
                        return 0;
                case '?':
                case ':':
                        return log_getopt_error("exec", argv, c);
                default:
                        r = parse_exec_option(a, c, optarg);
                        if (r < 0)
                                return r;
                }
        }
        if (optind < dashdash)
                return log_error_errno(EINVAL, "exec: unexpected argument '%s' before '--'; see 'nsrun exec --help'",
                                       argv[optind]);
        if (a->cap.mem_cap_off && a->mem)
                return log_error_errno(EINVAL, "exec: --mem and --mem-cap off exclude each other; give one of them");
        if (a->mem) {
                MemBudget mb;
                if (mem_budget_get(NULL, NULL, &mb) >= 0 && a->mem > mb.bytes)
                        return log_error_errno(EINVAL,
                                               "--mem %s: only %s is available here (%s); use at most %" PRIu64 "M",
                                               FORMAT_SIZE(a->mem), FORMAT_SIZE(mb.bytes), mb.source, mb.bytes >> 20);
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
        int fd = sandbox_pidfd(s) >= 0 ? sandbox_pidfd(s) : sandbox_fd(s);

        if (sfd < 0)
                return -errno;
        for (;;) {
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
                struct signalfd_siginfo si;

                /* errno is not to be trusted here while init shares nsrun's memory (SandboxSpec.share_memory):
                 * with every signal that could interrupt it blocked, poll() fails only for want of memory, and is
                 * retried */
                if (poll(p, 2, -1) < 0)
                        continue;
                if (p[1].revents & POLLIN && read(sfd, &si, sizeof si) == sizeof si)
                        (void) sandbox_kill(s, (int) si.ssi_signo);
                if (p[0].revents)
                        return sandbox_wait(s, ret);
        }
}

static int report_result(const SandboxResult *res, const CgroupStats *st, const ExecArgs *a) {
        char **command = a->command;
        char why[1024];

        /* The command's status is passed through as it is: say what it does not. */
        if (st->oom_kills > 0 && res->outcome == SANDBOX_EXITED && res->code == 0 && a->status_fd < 0)
                log_warning("a process of the command was killed for memory (oom_kill %" PRIu64 "; limit %s, peak %s), "
                            "though the command exited 0",
                            st->oom_kills, FORMAT_SIZE(a->mem), FORMAT_SIZE(st->peak_mem));
        /* The kernel's OOM killer picks a process in the cgroup: whatever died, memory is why. */
        if (st->oom_kills > 0 && !(res->outcome == SANDBOX_EXITED && res->code == 0)) {
                /* under nsrun xdist the record says it, and nsrun names the worker and its test */
                if (a->status_fd < 0)
                        log_error("killed: out of memory (limit %s, peak %s)", FORMAT_SIZE(a->mem),
                                  FORMAT_SIZE(st->peak_mem));
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

/* --status-dir DIR, for nsrun xdist. pytest-xdist starts its popen workers one at a time and waits for each to
 * answer its bootstrap before it starts the next (execnet's Group.makegateway; a crashed worker's replacement
 * too), so the Nth exec to claim a slot is the Nth gateway, "gwN". The slot's record DIR/N.exec is created
 * O_EXCL, so no two execs share one, and stays locked while this exec lives: nsrun xdist waits for the lock
 * before it reads. Inside, NSRUN_XDIST_SLOT=DIR/N/w lets nsrun's worker plugin write DIR/N/w.worker (the
 * worker's id) and DIR/N/w.test (the test it is running): DIR/N is the one directory bound read-write into
 * this sandbox, so no worker can touch the records, or another worker's files. */
static int status_claim(ExecArgs *a) {
        _cleanup_close_ int dfd = open(a->status_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char name[32], *slot = NULL;

        if (dfd < 0)
                return log_error_errno(errno, "--status-dir %s: %m", a->status_dir);
        for (unsigned k = 0; k < 65536; k++) {
                (void) snprintf(name, sizeof name, "%u.exec", k);
                a->status_fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (a->status_fd < 0 && errno == EEXIST)
                        continue;
                if (a->status_fd < 0)
                        return log_error_errno(errno, "Cannot create %s/%s: %m", a->status_dir, name);
                (void) flock(a->status_fd, LOCK_EX);
                (void) write(a->status_fd, "state=running\n", 14);
                (void) snprintf(name, sizeof name, "%u", k);
                if (mkdirat(dfd, name, 0755) < 0)
                        return log_error_errno(errno, "Cannot create %s/%s: %m", a->status_dir, name);
                if (asprintf(&a->slot_dir, "%s/%u", a->status_dir, k) < 0 || asprintf(&slot, "%s/w", a->slot_dir) < 0 ||
                    setenv("NSRUN_XDIST_SLOT", slot, 1) < 0) {
                        free(slot);
                        return log_oom();
                }
                free(slot);
                return 0;
        }
        return log_error_errno(ENOSPC, "--status-dir %s: every slot is taken; remove the directory", a->status_dir);
}

/* The record: key=value lines. Written once at the end; oom and peak only when the command ran. */
static void status_write(ExecArgs *a, int status, const SandboxResult *res, const CgroupStats *st) {
        char buf[256];
        int n;

        if (a->status_fd < 0)
                return;
        n = snprintf(buf, sizeof buf, "state=done\nstatus=%d\noom=%d\nlimit=%" PRIu64 "\npeak=%" PRIu64 "\nsignal=%d\n",
                     status, st && st->oom_kills > 0 && !(res->outcome == SANDBOX_EXITED && res->code == 0),
                     a->mem, st ? st->peak_mem : 0,
                     res && (res->outcome == SANDBOX_SIGNALED || res->outcome == SANDBOX_KILLED) ? res->code : 0);
        if (ftruncate(a->status_fd, 0) < 0 || pwrite(a->status_fd, buf, (size_t) n, 0) != n)
                log_warning_errno(errno, "Cannot write the record of this worker in %s: %m", a->status_dir);
        a->status_fd = safe_close(a->status_fd);
}

/* A cgroup only when a cap was asked for: without one the PID namespace alone takes every process along. */
static int exec_cgroup(const ExecArgs *a, CgroupManager **ret_m, CgroupJob **ret_j) {
        CgroupLimits limits = { .mem_max = a->mem ?: CGROUP_LIMIT_MAX, .pids_max = a->cap.pids_max ?: CGROUP_LIMIT_MAX };
        int r;

        if (!a->mem && !a->cap.pids_max)
                return 0;
        r = launch_open_cgroups(a->mem > 0, ret_m);
        if (r < 0)
                return r;
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
        _cleanup_free_ char *cwd = NULL;
        /* freed in reverse: the sandbox (all its processes gone), its cgroup, then the manager */
        _cleanup_(cgroup_manager_freep) CgroupManager *cgm = NULL;
        _cleanup_(cgroup_job_freep) CgroupJob *cg = NULL;
        _cleanup_(sandbox_freep) Sandbox *s = NULL;
        CgroupStats st = {};
        SandboxResult res;
        sigset_t mask, old;
        char why[1024];
        int r;

        if (a->status_dir) {
                r = status_claim(a);
                if (r < 0)
                        return EXIT_EXEC_USAGE;
        }
        r = launch_spec_init(&spec, &a->sandbox, a->slot_dir, NULL, &mounts);
        if (r < 0)
                return log_oom(), EXIT_EXEC_USAGE;
        /* the physical path: a logical $PWD through a symbolic link (cd /tmp/link-to-project) need not exist
         * inside the sandbox, which has a /tmp of its own */
        spec.cwd = cwd = getcwd(NULL, 0);
        if (!cwd)
                return log_error_errno(errno, "Cannot determine the current directory: %m"), EXIT_EXEC_USAGE;
        spec.argv = a->command;
        spec.envp = environ;
        spec.keep_writes = a->sandbox.keep_writes;
        spec.want_pidfd = true; /* one wake-up, when it is all over (wait_forwarding_signals()) */
        spec.share_memory = true; /* nothing but waiting until then; see the killed case in run_exec() */
        /* /proc/meminfo inside: a machine of the cap's size; the cgroup is new, so all of it is free at start */
        spec.mem_view = (SandboxMemView) { .total = a->mem, .available = a->mem };

        r = exec_cgroup(a, &cgm, &cg);
        if (r < 0)
                return r == -ECANCELED ? EXIT_EXEC_REFUSED : EXIT_EXEC_USAGE;

        block_signals(signals, ELEMENTSOF(signals), &mask, &old);

        r = launch_sandbox(&spec, cg, &s);
        if (r < 0 && !s) {
                bool refused = sandbox_explain(r, NULL, why, sizeof why);
                log_error("cannot create a sandbox: %s", why);
                return refused ? EXIT_EXEC_REFUSED : EXIT_EXEC_USAGE;
        }
        if (r >= 0)
                r = wait_forwarding_signals(s, &mask, &res);
        /* Init killed from outside (it reports otherwise) may have held a lock of malloc() in the memory it
         * shared with nsrun: exit now, with no malloc() or free() on the way (_exit() runs no cleanup), as the
         * sandbox did. */
        if (r >= 0 && spec.share_memory && res.outcome == SANDBOX_KILLED) {
                r = sandbox_result_exit_status(&res);
                status_write(a, r, &res, NULL);
                _exit(r);
        }
        s = sandbox_free(s);
        if (cg)
                (void) cgroup_job_stats(cg, &st);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return log_error_errno(r, "Lost track of the sandbox: %m"), EXIT_EXEC_USAGE;
        r = report_result(&res, &st, a);
        status_write(a, r, &res, &st);
        return r;
}

void exec_args_done(ExecArgs *a) {
        sandbox_options_done(&a->sandbox);
        a->status_dir = mfree(a->status_dir);
        a->slot_dir = mfree(a->slot_dir);
        strv_free(a->argv);
        a->argv = NULL;
}

int verb_exec(int argc, char *argv[]) {
        ExecArgs a = { .status_fd = -EBADF };
        int r;

        r = parse_exec_args(argc, argv, &a);
        if (r <= 0) {
                exec_args_done(&a);
                return r < 0 ? EXIT_EXEC_USAGE : 0;
        }
        r = run_exec(&a);
        status_write(&a, r, NULL, NULL); /* the command never ran */
        exec_args_done(&a);
        return r;
}
