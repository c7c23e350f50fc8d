/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsrun xdist -- pytest ...: pytest-xdist keeps its own scheduling; each of its workers is an `nsrun exec` sandbox
 * with a memory cap, sized as the runner sizes its workers.
 *
 * How the workers are wrapped (execnet 1.9, pytest-xdist 3.1): '--tx N*popen//python=X' makes N popen gateways;
 * execnet splits the spec on "//" (XSpec: no key or value may contain it) and then X with shlex.split() (POSIX
 * rules: single quotes keep spaces), and starts shlex.split(X) + ["-u", "-c", bootstrap] with stdin and stdout as
 * the gateway's pipes and the controller's cwd and environment. So X is "nsrun exec --mem ... -- PYTHON", each
 * word single-quoted where needed; nsrun exec leaves stdin and stdout to the command as they are. A popen
 * worker without chdir= runs in the controller's directory with the controller's sys.path (xdist sends it), so
 * it imports the project as pytest itself does, from the sandbox's private overlay of it. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner-cli.h"
#include "cgroup.h"
#include "escape.h"
#include "fileio.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "proc-util.h"
#include "signal-util.h"
#include "runner-cache.h"
#include "runner-launch.h"
#include "runner-machine.h"
#include "runner-options.h"
#include "runner-plan.h"
#include "runner-pytest.h"
#include "runner-run.h"
#include "runner-source.h"
#include "runner-xdist.h"

extern char **environ;

/* A worker's record and the files its plugin writes are a few lines: what nsrun reads of each at most. */
#define RECORD_MAX 65536

enum {
        ARG_X_DRY_RUN = _ARG_SANDBOX_MAX,
};

typedef struct XdistArgs {
        SandboxOptions sandbox;
        CapOptions cap;         /* -j, --mem-per-worker, --mem-reserve, --pids-max, --mem-cap */
        bool dry_run;
        char **command;         /* borrowed from argv */
        char **argv;            /* the command line with the settings file's and NSRUN_OPTS's keys of xdist first */
} XdistArgs;

typedef struct XdistRun {
        PlanInput in;
        Plan plan;
        char *run_dir;          /* PROJECT/.nsrun/runs/<pid>-<starttime>: py/, the worker plugin */
        char *status_dir;       /* run_dir/status: the workers' records, N.exec, each worker's N/ */
        char *python;           /* the interpreter the workers start */
        char *tx;               /* the --tx value */
        char **argv;            /* the pytest command */
        char **env;             /* what it gets on top of ours: NAME=value */
} XdistRun;

static void xdist_help(void) {
        printf("Usage: nsrun xdist [OPTIONS] -- pytest [ARG...]\n"
               "\n"
               "Run pytest with pytest-xdist's own scheduling, each of its workers in a sandbox of its own\n"
               "('nsrun exec') with a memory cap: as many workers as the runner would run, started with\n"
               "--tx N*popen//python='nsrun exec --mem SIZE ... -- python3'. pytest itself runs unsandboxed.\n"
               "After pytest, nsrun names every worker that died, and why: out of memory, a signal.\n"
               "\n"
               "Sizing:\n"
               "  -j, --jobs N             at most N workers (default: the CPU budget)\n"
               "      --mem-per-worker SIZE  cap each worker at SIZE (K, M, G, T) and start only as many\n"
               "                           as fit in memory (default: a fair share of the memory budget)\n"
               "      --mem-reserve R      memory kept back from tests: a percentage ('10%%', the default) or a SIZE\n"
               "      --pids-max N         at most N processes per worker (default %u)\n"
               "      --mem-cap off        run where memory cannot be capped (workers are capped in processes only)\n"
               "      --dry-run            print the sizing, where each number came from, and the pytest command\n"
               "\n"
               "Sandbox (of each worker):\n"
               "      --root-dir DIR       the project directory, overlaid so writes stay private (default: .)\n"
               "      --rw PATH            share PATH with the host, writable (repeatable)\n"
               "      --overlay PATH       overlay PATH too: host files visible, writes private (repeatable)\n"
               "      --tmpfs PATH         an empty private tmpfs on PATH (repeatable)\n"
               "      --no-home            do not overlay $HOME (it stays read-only)\n"
               "      --net MODE           'loopback' (default: only lo, private) or 'host'\n"
               "\n"
               "  -h, --help               show this help\n"
               "\n"
               "pytest's own -n, --numprocesses, --tx and -d are nsrun's to give. --dist is yours (default: load).\n"
               "\n"
               "Exit status: pytest's own; 1 if pytest said 0 but a worker died; 2 bad usage, or not even one\n"
               "worker fits in memory; 3 this machine refuses sandboxes or memory caps.\n",
               PIDS_MAX_DEFAULT);
}

/* ---- the command line ---- */

static int parse_one(XdistArgs *a, int c, const char *arg) {
        int r;

        switch (c) {
        case ARG_X_DRY_RUN:
                a->dry_run = true;
                return 0;
        case ARG_KEEP_WRITES:
                return log_bad_option("--keep-writes", arg, "not with nsrun xdist: " KEEP_WRITES_EXEC_ONLY);
        }
        r = cap_options_parse(&a->cap, c, arg) ?: sandbox_options_parse(&a->sandbox, c, arg);
        return r > 0 ? 0 : r < 0 ? r : -EINVAL;
}

/* Where pytest's arguments begin, as the runner reads a pytest command; 0 if it is not one. */
static size_t pytest_words(char **command) {
        int r = pytest_args_start(command);
        return r > 0 ? (size_t) r : 0;
}

/* The options that choose the workers are nsrun's: -n, --numprocesses, --maxprocesses, --tx and -d. */
static const char *worker_option(const char *arg) {
        static const char *const long_opts[] = { "--numprocesses", "--maxprocesses", "--tx", "--distload" };

        for (size_t i = 0; i < ELEMENTSOF(long_opts); i++) {
                size_t n = strlen(long_opts[i]);
                if (strneq(arg, long_opts[i], n) && (arg[n] == '\0' || arg[n] == '='))
                        return long_opts[i];
        }
        if (streq(arg, "-d"))
                return "-d";
        /* -n 4, -n4, -nauto; a letter inside a group of flags (-vn 4) too */
        if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0') {
                for (const char *p = arg + 1; *p && strchr("vqxsln", *p); p++)
                        if (*p == 'n')
                                return "-n";
        }
        return NULL;
}

static int check_command(char **command) {
        size_t start = pytest_words(command);

        if (start == 0)
                return log_error_errno(EINVAL,
                                       "xdist: '%s' is not pytest; write: nsrun xdist [OPTIONS] -- pytest [ARG...] (or "
                                       "python3 -m pytest)",
                                       command[0]);
        for (size_t i = start; command[i]; i++) {
                const char *o = worker_option(command[i]);
                if (streq(command[i], "--"))
                        break;
                if (o)
                        return log_error_errno(EINVAL,
                                               "xdist: pytest's %s chooses the workers, which is nsrun's part; drop "
                                               "it and "
                                               "give nsrun xdist -j N or --mem-per-worker SIZE",
                                               o);
        }
        return 0;
}

static int parse_xdist_args(int argc, char *argv[], XdistArgs *a) {
        static const struct option options[] = {
                SANDBOX_LONG_OPTIONS,
                CAP_LONG_OPTIONS,
                { "dry-run", no_argument, NULL, ARG_X_DRY_RUN },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r, dashdash;

        /* -j, --mem-per-worker and the sandbox's settings of the project hold for its pytest-xdist runs too */
        dashdash = settings_for_verb(options, "xdist", argc, argv, &a->argv);
        if (dashdash < 0)
                return dashdash;
        argv = a->argv;
        argc = (int) strv_length(argv);
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(dashdash, argv, ":hj:", options, NULL)) >= 0) {
                if (c == 'h')
                        return xdist_help(), 0;
                r = log_getopt_error("xdist", argv, c) ?: parse_one(a, c, optarg);
                if (r < 0)
                        return r;
        }
        if (optind < dashdash)
                return log_error_errno(EINVAL,
                                       "xdist: unexpected argument '%s' before '--'; see 'nsrun xdist --help'",
                                       argv[optind]);
        /* the runner's 'auto' sizes jobs by their peaks in its history; pytest-xdist's workers have none */
        if (a->cap.mem_per_worker_auto)
                return log_bad_option("--mem-per-worker", "auto",
                                      "not with nsrun xdist, which keeps no history of peaks; give a SIZE, or "
                                      "leave it out for a fair share of the memory");
        r = cap_options_check(&a->cap, "xdist");
        if (r < 0)
                return r;
        a->command = argv + dashdash + 1;
        r = check_command(a->command);
        if (r < 0)
                return r;
        r = sandbox_options_finish(&a->sandbox);
        return r < 0 ? r : 1;
}

static bool shell_safe(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%", *s))
                        return false;
        return true;
}

/* Appends s to *buf, single-quoted if needed, as sh and Python's shlex.split() both read it back. */
static int append_quoted(char **buf, const char *s) {
        size_t len = *buf ? strlen(*buf) : 0, need = len + 1 + strlen(s) * 4 + 3;
        char *b = realloc(*buf, need), *p;

        if (!b)
                return -ENOMEM;
        *buf = b;
        p = b + len;
        if (len > 0)
                *p++ = ' ';
        if (shell_safe(s)) {
                strcpy(p, s);
                return 0;
        }
        *p++ = '\'';
        for (; *s; s++) {
                if (*s == '\'') {
                        memcpy(p, "'\\''", 4);
                        p += 4;
                } else
                        *p++ = *s;
        }
        *p++ = '\'';
        *p = '\0';
        return 0;
}

/* ---- the workers' command ---- */

/* The interpreter pytest runs under, for the workers (pytest_interpreter()): not simply "python3", which may be
 * another Python (a pyenv shim) without pytest or the project's dependencies. */
static int worker_python(char **command, char **ret) {
        int r = pytest_interpreter(command, ret);

        if (r == -ENOENT && is_python(command[0]))
                return log_error_errno(ENOENT, "xdist: %s: not found on $PATH; give its absolute path", command[0]);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "xdist: %s: not found on $PATH, or the interpreter of its '#!' line "
                                       "is not; install pytest (Debian: python3-pytest python3-pytest-xdist) or "
                                       "write: nsrun xdist -- python3 -m pytest ...",
                                       command[0]);
        if (r < 0)
                return log_error_errno(EINVAL,
                                       "xdist: %s is not a Python script; write: nsrun xdist -- python3 -m pytest ...",
                                       command[0]);
        return 0;
}

/* Every sandbox has a fresh /tmp, /var/tmp and /dev/shm: an interpreter there (a virtualenv made in /tmp) is
 * not found by the workers unless it is overlaid or shared into them. */
static int check_python_visible(const XdistArgs *a, const char *python) {
        static const char *const private_dirs[] = { "/tmp", "/var/tmp", "/dev/shm" };

        for (size_t i = 0; i < ELEMENTSOF(private_dirs); i++) {
                size_t n = strlen(private_dirs[i]);
                if (!path_is_under(python, private_dirs[i]))
                        continue;
                for (size_t j = 0; j < a->sandbox.n_extra; j++)
                        if (a->sandbox.extra[j].type != SANDBOX_MOUNT_TMPFS && path_is_under(python, a->sandbox.extra[j].path))
                                return 0;
                return log_error_errno(EINVAL,
                                       "xdist: %s is in %s, which every sandbox replaces with an empty one; give "
                                       "--overlay %.*s so that the workers see it",
                                       python, private_dirs[i], (int) (n + 1 + strcspn(python + n + 1, "/")), python);
        }
        return 0;
}

/* The words of one worker's "nsrun exec ... -- PYTHON". */
static int exec_words(const XdistArgs *a, const XdistRun *x, char ***ret) {
        static const char *const type_option[] = {
                [SANDBOX_MOUNT_BIND_RW] = "--rw",
                [SANDBOX_MOUNT_OVERLAY] = "--overlay",
                [SANDBOX_MOUNT_TMPFS] = "--tmpfs",
        };
        char exe[PATH_MAX], num[32];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        int r = 0;

        if (n < 0)
                return log_error_errno(errno, "Cannot find nsrun's own executable: %m");
        exe[n] = '\0';
        r = strv_push(ret, exe) ?: strv_push(ret, "exec");
        if (a->cap.mem_cap_off)
                r = r ?: strv_push(ret, "--mem-cap") ?: strv_push(ret, "off");
        else {
                uint64_t m = x->plan.mem_per_job;
                (void) snprintf(num, sizeof num, "%" PRIu64 "%c", m % (UINT64_C(1) << 30) == 0 ? m >> 30
                                                                 : m % (UINT64_C(1) << 20) == 0 ? m >> 20 : m >> 10,
                                m % (UINT64_C(1) << 30) == 0 ? 'G' : m % (UINT64_C(1) << 20) == 0 ? 'M' : 'K');
                r = r ?: strv_push(ret, "--mem") ?: strv_push(ret, num);
        }
        (void) snprintf(num, sizeof num, "%" PRIu64, a->cap.pids_max);
        r = r ?: strv_push(ret, "--pids-max") ?: strv_push(ret, num);
        r = r ?: strv_push(ret, "--status-dir") ?: strv_push(ret, x->status_dir);
        r = r ?: strv_push(ret, "--root-dir") ?: strv_push(ret, a->sandbox.root_dir);
        for (size_t i = 0; i < a->sandbox.n_extra; i++)
                r = r ?: strv_push(ret, type_option[a->sandbox.extra[i].type]) ?:
                             strv_push(ret, a->sandbox.extra[i].path);
        if (a->sandbox.no_home)
                r = r ?: strv_push(ret, "--no-home");
        if (a->sandbox.net == SANDBOX_NET_HOST)
                r = r ?: strv_push(ret, "--net") ?: strv_push(ret, "host");
        r = r ?: strv_push(ret, "--") ?: strv_push(ret, x->python);
        return r < 0 ? log_oom() : 0;
}

/* "N*popen//python=WORDS": execnet cuts the spec at every "//", quoted or not, so no word may hold one. */
static int build_tx(const XdistArgs *a, XdistRun *x) {
        _cleanup_free_ char *value = NULL;
        char **words = NULL;
        int r;

        r = exec_words(a, x, &words);
        for (size_t i = 0; r >= 0 && words[i]; i++) {
                if (strstr(words[i], "//"))
                        r = log_error("xdist: '%s' holds '//', which pytest-xdist's --tx cannot carry (it splits "
                                      "there); use a path without it",
                                      words[i]);
                else if (append_quoted(&value, words[i]) < 0)
                        r = log_oom();
        }
        strv_free(words);
        if (r < 0)
                return r;
        if (asprintf(&x->tx, "%u*popen//python=%s", x->plan.workers, value) < 0)
                return log_oom();
        return 0;
}

/* pytest's words, then ours, then the user's arguments. '-n 0' keeps an addopts '-n auto' from replacing the
 * sandboxed workers with plain ones. No '--dist' here: it would override one in addopts; the plugin makes it
 * 'load' when nothing chose a mode. */
static int build_command(const XdistArgs *a, XdistRun *x) {
        size_t start = pytest_words(a->command);
        const char *plugins = getenv("PYTEST_PLUGINS"), *pypath = getenv("PYTHONPATH");
        char *e;
        int r = 0;

        for (size_t i = 0; i < start; i++)
                r = r ?: strv_push(&x->argv, a->command[i]);
        r = r ?: strv_push(&x->argv, "-n") ?: strv_push(&x->argv, "0") ?: strv_push(&x->argv, "--tx") ?: strv_push(&x->argv, x->tx);
        for (size_t i = start; a->command[i]; i++)
                r = r ?: strv_push(&x->argv, a->command[i]);
        if (r < 0)
                return log_oom();
        if (asprintf(&e, "PYTHONPATH=%s/py%s%s", x->run_dir, pypath && *pypath ? ":" : "", pypath ?: "") < 0)
                return log_oom();
        r = strv_push(&x->env, e);
        free(e);
        if (asprintf(&e, "PYTEST_PLUGINS=nsrun_xdist_worker%s%s", plugins && *plugins ? "," : "", plugins ?: "") < 0)
                return log_oom();
        r = r ?: strv_push(&x->env, e);
        free(e);
        if (asprintf(&e, "NSRUN_XDIST_TX=%s", x->tx) < 0)
                return log_oom();
        r = r ?: strv_push(&x->env, e);
        free(e);
        return r < 0 ? log_oom() : 0;
}

/* ---- sizing ---- */

static int xdist_plan(const XdistArgs *a, XdistRun *x) {
        int r;

        r = plan_from_budgets(&a->cap, NULL, 0, /* learned= */ false, 0, &x->in, &x->plan);
        if (r >= 0 && !a->cap.mem_per_worker && x->plan.mem_per_job >= (UINT64_C(1) << 20))
                x->plan.mem_per_job &= ~((UINT64_C(1) << 20) - 1); /* a fair share, in whole MiB */
        return r;
}

static void print_dry_run(const XdistArgs *a, const XdistRun *x) {
        _cleanup_free_ char *line = NULL;

        printf("CPU budget:     %.1f CPUs (%s)\n", x->in.cpu.cpus, x->in.cpu.source);
        printf("memory budget:  %s (%s), %s kept back, %s for tests\n", FORMAT_SIZE(x->in.mem.bytes),
               x->in.mem.source, FORMAT_SIZE(x->plan.reserve_bytes), FORMAT_SIZE(x->plan.usable_bytes));
        printf("workers:        %u (set by the %s)\n", x->plan.workers, plan_bound_to_string(x->plan.bound));
        if (a->cap.mem_cap_off)
                printf("each worker:    no memory cap (--mem-cap off), at most %" PRIu64 " processes\n", a->cap.pids_max);
        else
                printf("each worker:    capped at %s (%s), at most %" PRIu64 " processes\n", FORMAT_SIZE(x->plan.mem_per_job),
                       a->cap.mem_per_worker ? "--mem-per-worker" : "a fair share of the memory for tests", a->cap.pids_max);
        for (size_t i = 0; x->env[i]; i++)
                if (!strneq(x->env[i], "NSRUN_XDIST_TX=", 15) && append_quoted(&line, x->env[i]) < 0)
                        return (void) log_oom();
        for (size_t i = 0; x->argv[i]; i++)
                if (append_quoted(&line, x->argv[i]) < 0)
                        return (void) log_oom();
        printf("command:        %s\n", line);
}

/* ---- the run ---- */

static int prepare_run_dir(const XdistArgs *a, XdistRun *x, bool create) {
        _cleanup_free_ char *cache = NULL, *runs = NULL, *py = NULL, *plugin = NULL, *dir = NULL, *source = NULL,
                            *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size;
        int r;

        r = cache_dir_get(a->sandbox.root_dir, &cache);
        if (r < 0 || asprintf(&runs, "%s/runs", cache) < 0 ||
            asprintf(&x->run_dir, "%s/%d-%" PRIu64, runs, (int) getpid(), proc_pid_starttime(getpid())) < 0 ||
            asprintf(&x->status_dir, "%s/status", x->run_dir) < 0)
                return log_oom();
        if (!create)
                return 0;
        (void) cache_remove_stale_runs(runs, NULL, NULL);
        /* py/ is on the unsandboxed pytest's PYTHONPATH: no worker may write there, so the workers' records are
         * in status/, and each worker's sandbox gets only its own slot in that (nsrun exec --status-dir) */
        if (asprintf(&py, "%s/py", x->run_dir) < 0 || asprintf(&plugin, "%s/nsrun_xdist_worker.py", py) < 0)
                return log_oom();
        r = mkdir_p(py, 0755);
        if (r >= 0)
                r = mkdir_p(x->status_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Cannot create %s: %m; give NSRUN_CACHE_DIR a writable place", x->run_dir);
        /* A copy, not the installed file: the workers' sandboxes may not see where nsrun is installed (a build
         * tree under /tmp), while they do see the project. */
        dir = pytest_plugin_dir();
        if (!dir || asprintf(&source, "%s/nsrun_xdist_worker.py", dir) < 0)
                return log_oom();
        r = read_full_file_at(AT_FDCWD, source, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Cannot read nsrun's pytest plugin %s: %m; reinstall nsrun or set NSRUN_PYTEST_DIR",
                                       source);
        fd = open(plugin, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, size) != (ssize_t) size)
                return log_error_errno(errno, "Cannot write %s: %m", plugin);
        return 0;
}

/* Without pytest-xdist, pytest would stop at "unrecognized arguments: -n 0 --dist --tx": say what is missing. */
static int check_xdist_installed(const char *python) {
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return log_error_errno(errno, "Cannot start %s: %m", python);
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                (void) dup2(null, STDIN_FILENO);
                (void) dup2(null, STDOUT_FILENO);
                (void) dup2(null, STDERR_FILENO);
                execl(python, python, "-c", "import xdist", (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return log_error_errno(errno, "Cannot wait for %s: %m", python);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return log_error_errno(ENOENT,
                                       "xdist: cannot run %s; give the path of the Python that runs pytest", python);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(ENOENT,
                                       "xdist: pytest-xdist is not installed for %s; install it (Debian: apt-get "
                                       "install "
                                       "python3-pytest-xdist; else: %s -m pip install pytest-xdist)",
                                       python, python);
        return 0;
}

/* Refuse here, once, rather than have every worker refuse and pytest report it as a crash. */
static int check_cgroups(const XdistArgs *a) {
        CgroupManager *m = NULL;
        int r;

        r = launch_open_cgroups(!a->cap.mem_cap_off, &m);
        cgroup_manager_free(m);
        return r;
}

/* Runs pytest and returns its shell-style status. Signals to nsrun go on to pytest; a SIGINT from the
 * terminal reached pytest (and its workers) already. */
static int run_pytest(const XdistRun *x) {
        sigset_t mask, old;
        siginfo_t si;
        pid_t pid;
        int status;

        BLOCK_SIGNALS(&mask, &old, SIGINT, SIGTERM, SIGHUP, SIGCHLD);
        pid = fork();
        if (pid < 0) {
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                return log_error_errno(errno, "Cannot start pytest: %m"), EXIT_USAGE;
        }
        if (pid == 0) {
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                for (size_t i = 0; x->env[i]; i++)
                        (void) putenv(x->env[i]);
                execvp(x->argv[0], x->argv);
                int e = errno;
                log_error_errno(e, "%s: cannot execute: %m", x->argv[0]);
                _exit(e == ENOENT ? 127 : 126);
        }
        for (;;) {
                if (sigwaitinfo(&mask, &si) < 0)
                        continue;
                if (si.si_signo == SIGCHLD) {
                        if (waitpid(pid, &status, WNOHANG) == pid)
                                break;
                        continue;
                }
                if (si.si_signo != SIGINT || si.si_code == SI_USER)
                        (void) kill(pid, si.si_signo);
        }
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A worker's record: waits (up to 10 s) for its exec to let go of it; *ret_text NULL if there is none. */
static int read_record(const char *path, char **ret_text) {
        _cleanup_close_ int fd = open_job_file_at(AT_FDCWD, path, NULL);

        *ret_text = NULL;
        if (fd < 0)
                return fd;
        for (int i = 0; i < 100 && flock(fd, LOCK_SH | LOCK_NB) < 0; i++)
                (void) nanosleep(&(struct timespec) { .tv_nsec = 100 * 1000 * 1000 }, NULL);
        return read_job_file_at(AT_FDCWD, path, RECORD_MAX, ret_text, NULL);
}

/* The first line of a file the worker wrote in its slot, escaped for the terminal (a test id is the test's own
 * text); NULL if there is none, or it is not a small regular file. */
static char *read_slot_line(const char *status_dir, unsigned k, const char *suffix) {
        _cleanup_free_ char *path = NULL, *text = NULL;

        if (asprintf(&path, "%s/%u/w%s", status_dir, k, suffix) < 0 ||
            read_job_file_at(AT_FDCWD, path, RECORD_MAX, &text, NULL) < 0)
                return NULL;
        text[strcspn(text, "\n")] = '\0';
        return escape_name(text);
}

/* The value of "key=value" among the record's lines, 0 if it is not there. */
static uint64_t record_value(const char *text, const char *key) {
        size_t n = strlen(key);
        uint64_t v = 0;

        for (const char *line = text; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != '\0'))
                if (strneq(line, key, n) && line[n] == '=') {
                        (void) parse_uint64(strndupa(line + n + 1, strcspn(line + n + 1, "\n")), &v);
                        break;
                }
        return v;
}

/* One line for a worker that died; returns 1 if it did (2: refused, 3: out of memory), 0 if it ended well. */
static int report_worker(const char *status_dir, const char *python, unsigned k) {
        _cleanup_free_ char *path = NULL, *text = NULL, *name = NULL, *test = NULL;
        char during[1024] = "", gw[32];
        uint64_t status;
        int sig;

        if (asprintf(&path, "%s/%u.exec", status_dir, k) < 0 || read_record(path, &text) < 0)
                return 0;
        if (!strstr(text, "state=done\n")) {
                log_debug("worker %u: its nsrun exec was killed before it could report", k);
                return 0;
        }
        name = read_slot_line(status_dir, k, ".worker");
        test = read_slot_line(status_dir, k, ".test");
        if (test && *test)
                (void) snprintf(during, sizeof during, ", while running %s", test);
        (void) snprintf(gw, sizeof gw, "gw%u", k);
        status = record_value(text, "status");
        sig = (int) record_value(text, "signal");
        if (record_value(text, "oom")) {
                log_error("worker %s killed: out of memory (limit %s, peak %s)%s", name ?: gw,
                          FORMAT_SIZE(record_value(text, "limit")), FORMAT_SIZE(record_value(text, "peak")),
                          during);
                return 3;
        }
        if (status == 126 || status == 127) {
                log_error("worker %s could not start %s in its sandbox (the message above says why)", name ?: gw,
                          python);
                return 1;
        }
        if (status == EXIT_EXEC_REFUSED || status == EXIT_EXEC_USAGE) {
                log_error("worker %s could not start: its sandbox could not be made (the message above says why)",
                          name ?: gw);
                return status == EXIT_EXEC_REFUSED ? 2 : 1;
        }
        if (sig > 0) {
                log_error("worker %s killed by SIG%s%s", name ?: gw, sigabbrev_np(sig) ?: "?", during);
                return 1;
        }
        if (status != 0) {
                log_error("worker %s exited with status %" PRIu64 "%s", name ?: gw, status, during);
                return 1;
        }
        return 0;
}

/* After pytest: every worker that died, named, with what it was running. The records are 0.exec, 1.exec, ...
 * in the order the workers started. */
static int report_workers(const XdistArgs *a, const XdistRun *x, bool *ret_refused) {
        unsigned died = 0, oom = 0;

        *ret_refused = false;
        for (unsigned k = 0;; k++) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (asprintf(&path, "%s/%u.exec", x->status_dir, k) < 0 || access(path, F_OK) < 0)
                        break;
                r = report_worker(x->status_dir, x->python, k);
                died += r > 0;
                oom += r == 3;
                if (r == 2)
                        *ret_refused = true;
        }
        if (oom > 0)
                log_notice("%u worker%s out of memory at %s each: give more with --mem-per-worker SIZE (fewer "
                           "workers then fit), or make those tests need less",
                           oom, oom == 1 ? " was" : "s were", FORMAT_SIZE(x->plan.mem_per_job));
        (void) a;
        return (int) died;
}

static void xdist_run_done(XdistRun *x) {
        free(x->run_dir);
        free(x->status_dir);
        free(x->python);
        free(x->tx);
        strv_free(x->argv);
        strv_free(x->env);
}

static int xdist(const XdistArgs *a, XdistRun *x) {
        bool refused;
        int r, status, died;

        r = xdist_plan(a, x);
        /* each worker's CPU share, for the BLAS and OpenMP threads of its tests: the workers inherit it */
        if (r >= 0 && setenv_cpu_share(cpu_share(x->in.cpu.cpus, x->plan.workers, 0)) < 0)
                r = log_oom();
        if (r >= 0)
                r = worker_python(a->command, &x->python);
        if (r >= 0)
                r = check_python_visible(a, x->python);
        if (r >= 0)
                r = check_xdist_installed(x->python);
        if (r >= 0)
                r = prepare_run_dir(a, x, !a->dry_run);
        if (r >= 0)
                r = build_tx(a, x);
        if (r >= 0)
                r = build_command(a, x);
        if (r < 0)
                return EXIT_USAGE;
        if (a->dry_run) {
                print_dry_run(a, x);
                return 0;
        }
        if (check_cgroups(a) < 0)
                return EXIT_REFUSED;
        log_info("%u workers, each in a sandbox%s%s", x->plan.workers, a->cap.mem_cap_off ? "" : " capped at ",
                 a->cap.mem_cap_off ? "" : FORMAT_SIZE(x->plan.mem_per_job));
        (void) fflush(stdout);
        status = run_pytest(x);
        died = report_workers(a, x, &refused);
        if (refused)
                return EXIT_REFUSED;
        return status == 0 && died > 0 ? EXIT_RUN_FAILURES : status;
}

int verb_xdist(int argc, char *argv[]) {
        XdistArgs a = { .cap = CAP_OPTIONS_WORKERS };
        XdistRun x = {};
        int r;

        r = parse_xdist_args(argc, argv, &a);
        if (r <= 0) {
                sandbox_options_done(&a.sandbox);
                strv_free(a.argv);
                return r < 0 ? EXIT_USAGE : 0;
        }
        r = xdist(&a, &x);
        if (x.run_dir && !a.dry_run)
                (void) rm_rf_at(AT_FDCWD, x.run_dir);
        xdist_run_done(&x);
        sandbox_options_done(&a.sandbox);
        strv_free(a.argv);
        return r;
}
