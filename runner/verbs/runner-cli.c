/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsrun [OPTIONS] -- COMMAND: the runner's command line, and the run from start to exit status. */

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "log.h"
#include "parse-util.h"
#include "proc-util.h"
#include "signal-util.h"
#include "strv.h"
#include "runner-batch.h"
#include "runner-cache.h"
#include "runner-cli.h"
#include "runner-config.h"
#include "runner-fork.h"
#include "runner-history.h"
#include "runner-launch.h"
#include "runner-machine.h"
#include "runner-parallel.h"
#include "runner-pytest.h"
#include "runner-pytest-cache.h"
#include "runner-report.h"
#include "runner-rewrite.h"
#include "runner-run.h"
#include "runner-sched.h"
#include "runner-shard.h"
#include "runner-source.h"

enum {
        ARG_DRY_RUN = _ARG_SANDBOX_MAX,
        ARG_DIST,
        ARG_FORK,
        ARG_SERIAL,
        ARG_JOBS_FILE,
        ARG_TIMEOUT,
        ARG_TIMEOUT_GRACE,
        ARG_RETRIES,
        ARG_REPEAT,
        ARG_FLAKY_FAILS,
        ARG_JUNIT,
        ARG_JSON,
        ARG_LOG_DIR,
        ARG_BATCH,
        ARG_SHARD,
        ARG_SETUP,
        ARG_HALT,
        ARG_JOBLOG,
        ARG_SLOW_TIMEOUT,
        ARG_COLOR,
        ARG_SUCCESS_OUTPUT,
        ARG_NO_CAPTURE,
};

void print_version(void) {
        printf("nsrun %s\n", NSRUN_VERSION);
        printf("features: +overlayfs +userns +libnl %csystemd\n", HAVE_SYSTEMD ? '+' : '-');
}

int verb_help(void) {
        printf("Usage: nsrun [OPTIONS] -- COMMAND [ARG...]\n"
               "       nsrun [OPTIONS] -- COMMAND {} ::: ARG... [::: ARG...] [:::: FILE]\n"
               "       nsrun [OPTIONS] --jobs-file FILE\n"
               "       nsrun COMMAND [OPTIONS] ...\n"
               "\n"
               "Run a test suite in parallel, each job in a fresh Linux sandbox with a memory\n"
               "cap of its own. A pytest command is collected and split into one job per test\n"
               "file; 'CMD {} ::: a b c' runs one job per argument, as GNU parallel does; any\n"
               "other command runs as one sandboxed, capped job.\n"
               "\n"
               "Commands:\n"
               "  exec         run one command in one sandbox\n"
               "  xdist        run pytest-xdist, each of its workers in a sandbox\n"
               "  merge        combine the reports and history of --shard runs\n"
               "  doctor       check what this machine allows: namespaces, memory caps\n"
               "  clean        remove what killed runs left: cgroups, run directories\n"
               "  help         show this help ('nsrun COMMAND --help': a command's own)\n"
               "\n"
               "Sizing:\n"
               "  -j, --jobs N             at most N workers (default: the CPU budget)\n"
               "      --mem-per-worker SIZE\n"
               "                           cap each job at SIZE (K, M, G, T) and run as many\n"
               "                           workers as fit in memory; 'auto': from earlier peaks\n"
               "      --mem-reserve R      memory kept from tests: '10%%' (default) or a SIZE\n"
               "      --pids-max N         at most N processes per job (default %u)\n"
               "      --cpus-per-job N     CPUs each job is told it has, in OMP_NUM_THREADS and\n"
               "                           the like unless set (default: the CPUs it kept busy\n"
               "                           last run, else CPU budget / workers)\n"
               "      --mem-cap off        run where memory cannot be capped\n"
               "      --dry-run            print the plan (budgets, workers, jobs); run nothing\n"
               "\n"
               "Jobs:\n"
               "      --dist MODE          pytest: 'loadfile' (a job per file, default), 'test'\n"
               "      --fork auto|on|off   pytest: fork each job into its own sandbox from a\n"
               "                           prepared interpreter per worker, which collected the\n"
               "                           tests (start-up paid once); 'auto' (default): if\n"
               "                           safe, with more jobs than workers\n"
               "      --batch N|auto|off   pytest: several files per job, N jobs in all; 'auto':\n"
               "                           as start-up and the tail need; a long file is split\n"
               "      --serial GLOB        matching jobs run alone, after the rest (repeatable)\n"
               "      --jobs-file FILE     one shell command per line, each a job ('-': stdin)\n"
               "      --setup CMD          run CMD once, in a sandbox; its writes are a layer\n"
               "                           under every job (install the project, warm caches)\n"
               "      --timeout DURATION   stop a job after DURATION (30s, 5m, 1h30m): SIGTERM\n"
               "                           (pytest prints each thread's traceback), then\n"
               "      --timeout-grace DURATION\n"
               "                           SIGKILL this much later (default 10s)\n"
               "      --retries N          rerun a failed job up to N times; a pass is flaky\n"
               "      --flaky-fails        count flaky jobs as failures\n"
               "      --repeat N           run every job N times\n"
               "  -x, --exitfirst          start no new job after the first failure\n"
               "      --halt WHEN          'soon,fail=N': start no new job after N failures;\n"
               "                           'now,fail=N': also kill the running ones\n"
               "      --shard K/N|auto     run only share K of N, split by history\n"
               "  -q, --quote              put arguments into a shell's -c script unquoted\n"
               "\n"
               "Reports:\n"
               "      --junit FILE         one merged JUnit XML report ('-': stdout)\n"
               "      --json FILE          a JSON report, with --dry-run the plan ('-': stdout)\n"
               "      --joblog FILE        GNU parallel's job log: one line per job\n"
               "  -k, --keep-order         print each job's line in input order\n"
               "      --slow-timeout DURATION\n"
               "                           off a terminal, print 'SLOW' for a job each time it\n"
               "                           has run DURATION longer (default 60s; 'off')\n"
               "      --success-output     show a passing job's output too, after its line\n"
               "      --no-capture         show each job's output as it runs, not after it ends;\n"
               "                           implies -j 1, so that no two jobs' lines interleave\n"
               "      --color WHEN         'auto' (default), 'always' or 'never'\n"
               "      --log-dir DIR        each job's output (default: .nsrun/logs)\n"
               "\n"
               "Sandbox:\n"
               SANDBOX_OPTIONS_HELP_JOBS
               "\n"
               "  -h, --help               show this help\n"
               "  -V, --version            show the version and the features built in\n"
               "\n"
               "Replacement strings: {} the argument, {.} without extension, {/} basename,\n"
               "{//} dirname, {/.} basename without extension, {#} job number, {%%} worker\n"
               "slot, {1} {2} ... one list's argument. In a shell's -c script each is quoted\n"
               "as one shell word; elsewhere it is passed as it is. ':::: FILE': one argument\n"
               "per line ('-': stdin).\n"
               "\n"
               "Exit status: 0 all jobs passed (flaky ones too, unless --flaky-fails); 1 some\n"
               "failed; 2 bad usage, or not even one worker fits in memory; 3 this machine\n"
               "refuses sandboxes or memory caps; 4 pytest's usage error and 5 pytest\n"
               "collected no tests, as pytest; 128+N interrupted by signal N.\n"
               "\n"
               "Settings: [tool.nsrun] in pyproject.toml or .nsrun.toml (long options as keys:\n"
               "mem-per-worker = \"2G\"), then NSRUN_OPTS, then the command line, which wins.\n"
               "\n"
               "Environment: NSRUN_CACHE_DIR (history, logs; default PROJECT/.nsrun), NO_COLOR,\n"
               "FORCE_COLOR, CLICOLOR_FORCE; GITHUB_ACTIONS, GITLAB_CI (failed jobs' output\n"
               "folded, as those logs fold it).\n",
               PIDS_MAX_DEFAULT);
        return 0;
}

/* GNU parallel's --halt, as far as nsrun has it: never, soon,fail=N, now,fail=N. */
static int parse_halt(const char *arg, RunOptions *o) {
        const char *n = NULL;

        if (streq(arg, "never")) {
                o->halt_fail = 0;
                return 0;
        }
        if (strneq(arg, "soon,fail=", 10) || strneq(arg, "now,fail=", 9))
                n = strchr(arg, '=') + 1;
        if (!n || parse_unsigned(n, 1, UINT_MAX, &o->halt_fail) < 0)
                return log_bad_option("--halt", arg, "give 'soon,fail=N' (start no new job after N failures), "
                                                     "'now,fail=N' (kill the running ones too) or 'never'");
        o->halt_now = arg[0] == 'n';
        return 0;
}

#define KEYWORDS(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* A keyword option: *ret is arg's index in names (KEYWORDS(), in its enum's order); else the one line naming
 * them all. */
static int parse_keyword(const char *option, const char *arg, const char *const *names, int *ret) {
        char hint[128] = "use ";
        size_t n = 0;

        for (; names[n]; n++)
                if (streq(arg, names[n])) {
                        *ret = (int) n;
                        return 0;
                }
        for (size_t i = 0; i < n; i++)
                (void) snprintf(hint + strlen(hint), sizeof hint - strlen(hint), "%s'%s'",
                                i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
        return log_bad_option(option, arg, hint);
}

static int parse_one(RunOptions *o, int c, const char *arg) {
        int r, k;

        switch (c) {
        case 'x':
                if (!o->halt_fail)
                        o->halt_fail = 1;
                return 0;
        case 'k':
                o->keep_order = true;
                return 0;
        case 'q':
                o->quote_raw = true;
                return 0;
        case ARG_HALT:
                return parse_halt(arg, o);
        case ARG_DRY_RUN:
                o->dry_run = true;
                return 0;
        case ARG_DIST:
                r = parse_keyword("--dist", arg, KEYWORDS("loadfile", "test"), &k);
                if (r >= 0)
                        o->dist = (DistMode) k;
                return r;
        case ARG_FORK:
                r = parse_keyword("--fork", arg, KEYWORDS("auto", "on", "off"), &k);
                if (r >= 0)
                        o->fork = (ForkMode) k;
                return r;
        case ARG_BATCH:
                if (streq(arg, "auto"))
                        o->batch = BATCH_AUTO;
                else if (streq(arg, "off"))
                        o->batch = BATCH_OFF;
                else if (parse_unsigned(arg, 1, 1000000, &o->batch) < 0)
                        return log_bad_option("--batch", arg, "give a number of jobs, 'auto' or 'off'");
                return 0;
        case ARG_SETUP:
                if (!*arg)
                        return log_bad_option("--setup", "''", "give a shell command, such as 'python3 -m compileall -q .'");
                free(o->setup);
                o->setup = strdup(arg);
                return o->setup ? 0 : log_oom();
        case ARG_SHARD: {
                Shard sh;
                if (!streq(arg, "auto") && shard_parse(arg, &sh) < 0)
                        return log_bad_option("--shard", arg, "give K/N with 1 <= K <= N, such as 2/4, or 'auto'");
                free(o->shard);
                o->shard = strdup(arg);
                return o->shard ? 0 : log_oom();
        }
        case ARG_SERIAL:
                return strv_push(&o->serial_globs, arg) < 0 ? log_oom() : 0;
        case ARG_JOBS_FILE:
                free(o->jobs_file);
                o->jobs_file = strdup(arg);
                return o->jobs_file ? 0 : log_oom();
        case ARG_TIMEOUT:
                if (parse_duration(arg, &o->timeout_usec) < 0)
                        return log_bad_option("--timeout", arg, "give a duration such as 30s, 5m or 1h30m");
                return 0;
        case ARG_TIMEOUT_GRACE:
                if (parse_duration(arg, &o->timeout_grace_usec) < 0)
                        return log_bad_option("--timeout-grace", arg, "give a duration such as 10s or 1m, or 0");
                return 0;
        case ARG_SLOW_TIMEOUT:
                if (streq(arg, "off"))
                        o->slow_usec = UINT64_MAX;
                else if (parse_duration(arg, &o->slow_usec) < 0 || o->slow_usec < USEC_PER_SEC)
                        return log_bad_option("--slow-timeout", arg, "give a duration of at least 1s, such as "
                                                                     "60s or 5m, or 'off'");
                return 0;
        case ARG_COLOR:
                return parse_keyword("--color", arg, KEYWORDS("auto", "always", "never"), &o->color);
        case ARG_RETRIES:
                return parse_count("--retries", arg, 0, 100, &o->retries);
        case ARG_REPEAT:
                return parse_count("--repeat", arg, 1, 10000, &o->repeat);
        case ARG_FLAKY_FAILS:
                o->flaky_fails = true;
                return 0;
        case ARG_SUCCESS_OUTPUT:
                o->success_output = true;
                return 0;
        case ARG_NO_CAPTURE:
                o->no_capture = true;
                return 0;
        case ARG_JUNIT:
        case ARG_JSON:
        case ARG_JOBLOG:
        case ARG_LOG_DIR: {
                char **dst = c == ARG_JUNIT ? &o->junit_path : c == ARG_JSON ? &o->json_path
                             : c == ARG_JOBLOG ? &o->joblog_path : &o->log_dir;
                free(*dst);
                if (streq(arg, "-") && c != ARG_LOG_DIR) { /* standard output */
                        *dst = strdup(arg);
                        return *dst ? 0 : log_oom();
                }
                *dst = realpath(".", NULL);
                if (!*dst)
                        return log_oom();
                if (arg[0] == '/') {
                        free(*dst);
                        *dst = strdup(arg);
                } else {
                        char *abs = NULL;
                        if (asprintf(&abs, "%s/%s", *dst, arg) < 0)
                                return log_oom();
                        free(*dst);
                        *dst = abs;
                }
                return *dst ? 0 : log_oom();
        }
        }
        if (c == ARG_KEEP_WRITES)
                return log_bad_option("--keep-writes", arg, "not with a run of jobs: " KEEP_WRITES_EXEC_ONLY);
        r = cap_options_parse(&o->cap, c, arg) ?: sandbox_options_parse(&o->sandbox, c, arg);
        return r > 0 ? 0 : r < 0 ? r : -EINVAL;
}

/* A path given to pytest that no job can see (under /tmp, outside the project): pytest would say "not found",
 * or collect nothing, with nothing to tell why. */
static int check_pytest_paths(const RunOptions *o) {
        /* pytest's common options without a value: what follows another option may be its value (--basetemp
         * /tmp/t, a report's path), which need not be visible */
        static const char *const flags[] = { "-q", "-v", "-vv", "-x", "-s", "-l", "--quiet", "--verbose",
                                             "--exitfirst", "--lf", "--last-failed", "--ff", "--failed-first",
                                             "--nf", "--new-first", "--sw", "--stepwise", "--pyargs", "--co",
                                             "--collect-only", "--strict-markers", "--showlocals", "--", NULL };
        int start = o->command ? pytest_args_start(o->command) : -EINVAL;

        for (int i = start; start > 0 && o->command[i]; i++) {
                const char *a = o->command[i], *prev = o->command[i - 1], *sep = strstr(a, "::"), *scratch;
                _cleanup_free_ char *path = NULL, *real = NULL, *why = NULL;
                struct stat st;

                if (a[0] == '-' || (i > start && prev[0] == '-' && !strchr(prev, '=') && !strv_contains((char **) flags, prev)))
                        continue;
                if (!(path = sep ? strndup(a, sep - a) : strdup(a)))
                        return log_oom();
                real = realpath(path, NULL);
                if (!real || stat(real, &st) < 0 || !(scratch = sandbox_options_hidden_under(&o->sandbox, real)))
                        continue;
                if (!S_ISDIR(st.st_mode))
                        *strrchr(real, '/') = '\0';
                if (asprintf(&why, "outside the project (%s), under %s, which every job has fresh and empty but "
                             "for the project: run nsrun from %s, or give --root-dir %s", o->sandbox.root_dir,
                             scratch, real, real) < 0)
                        return log_oom();
                return log_bad_option("pytest's argument", a, why);
        }
        return 0;
}

/* A report that cannot be written should fail the run at its start, not after an hour of tests. */
static int check_output_path(const char *option, const char *path) {
        _cleanup_free_ char *dir = NULL;
        struct stat st;

        if (!path)
                return 0;
        if (streq(path, "-"))
                return 0;
        if (stat(path, &st) >= 0 && S_ISDIR(st.st_mode))
                return log_bad_option(option, path, "a directory; give a file name");
        dir = strdup(path);
        if (!dir)
                return log_oom();
        *strrchr(dir, '/') = '\0'; /* paths are made absolute when parsed */
        if (access(*dir ? dir : "/", W_OK) < 0)
                return log_error_errno(errno, "%s %s: cannot write in %s: %m; give a path in a writable directory",
                                       option, path, *dir ? dir : "/"),
                       -EINVAL;
        return 0;
}

/* ---- settings: the settings file, NSRUN_OPTS, the command line, in that order: the last value wins ---- */

static const struct option run_options[] = {
        SANDBOX_LONG_OPTIONS,
        CAP_LONG_OPTIONS,
        { "cpus-per-job", required_argument, NULL, ARG_CPUS_PER_JOB },
        { "exitfirst", no_argument, NULL, 'x' },
        { "dry-run", no_argument, NULL, ARG_DRY_RUN },
        { "dist", required_argument, NULL, ARG_DIST },
        { "fork", required_argument, NULL, ARG_FORK },
        { "serial", required_argument, NULL, ARG_SERIAL },
        { "jobs-file", required_argument, NULL, ARG_JOBS_FILE },
        { "timeout", required_argument, NULL, ARG_TIMEOUT },
        { "timeout-grace", required_argument, NULL, ARG_TIMEOUT_GRACE },
        { "retries", required_argument, NULL, ARG_RETRIES },
        { "repeat", required_argument, NULL, ARG_REPEAT },
        { "flaky-fails", no_argument, NULL, ARG_FLAKY_FAILS },
        { "junit", required_argument, NULL, ARG_JUNIT },
        { "json", required_argument, NULL, ARG_JSON },
        { "log-dir", required_argument, NULL, ARG_LOG_DIR },
        { "batch", required_argument, NULL, ARG_BATCH },
        { "shard", required_argument, NULL, ARG_SHARD },
        { "setup", required_argument, NULL, ARG_SETUP },
        { "halt", required_argument, NULL, ARG_HALT },
        { "joblog", required_argument, NULL, ARG_JOBLOG },
        { "slow-timeout", required_argument, NULL, ARG_SLOW_TIMEOUT },
        { "color", required_argument, NULL, ARG_COLOR },
        { "success-output", no_argument, NULL, ARG_SUCCESS_OUTPUT },
        { "no-capture", no_argument, NULL, ARG_NO_CAPTURE },
        { "keep-order", no_argument, NULL, 'k' },
        { "quote", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        {},
};

static const struct option *find_option(const char *name, int c) {
        for (const struct option *opt = run_options; opt->name; opt++)
                if (name ? streq(opt->name, name) : opt->val == c)
                        return opt;
        return NULL;
}

/* Options that add up rather than replace each other: every --serial GLOB applies. */
static bool option_repeatable(const char *name) {
        static const char *const names[] = { "serial", "rw", "overlay", "tmpfs" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(name, names[i]))
                        return true;
        return false;
}

static int record_setting(RunOptions *o, int c, const char *arg, const char *source, unsigned line) {
        const struct option *opt = find_option(NULL, c);
        Setting *grown;

        if (!opt)
                return 0;
        if (!option_repeatable(opt->name))
                for (size_t i = 0; i < o->n_settings; i++)
                        if (streq(o->settings[i].option, opt->name)) {
                                setting_done(o->settings + i);
                                memmove(o->settings + i, o->settings + i + 1,
                                        (o->n_settings - i - 1) * sizeof(Setting));
                                o->n_settings--;
                                break;
                        }
        grown = reallocarray(o->settings, o->n_settings + 1, sizeof(Setting));
        if (!grown)
                return log_oom();
        o->settings = grown;
        grown[o->n_settings] = (Setting) {
                .option = strdup(opt->name),
                .value = arg ? strdup(arg) : NULL,
                .source = strdup(source),
                .line = line,
        };
        if (!grown[o->n_settings].option || !grown[o->n_settings].source || (arg && !grown[o->n_settings].value)) {
                setting_done(grown + o->n_settings);
                return log_oom();
        }
        o->n_settings++;
        return 0;
}

/* One getopt pass over argv[1..end) from one source; returns 1 to go on, 0 after --help or --version, <0 on a
 * bad option (logged). *ret_optind: where the options ended. */
static int parse_words(RunOptions *o, int end, char *argv[], const char *source, unsigned line, int *ret_optind) {
        int c, r;

        optind = 0; /* glibc: start afresh, a new argv */
        opterr = 0;
        while ((c = getopt_long(end, argv, ":hj:xkqV", run_options, NULL)) >= 0) {
                const char *hint = c == '?' ? parallel_option_hint(option_name(argv, optopt)) : NULL;
                if (c == 'h')
                        return verb_help(), 0;
                if (c == 'V')
                        return print_version(), 0;
                if (hint)
                        return log_error_errno(EINVAL,
                                               "%s: not an option of nsrun; %s", option_name(argv, optopt), hint);
                r = log_getopt_error(NULL, argv, c) ?: parse_one(o, c, optarg) ?: record_setting(o, c, optarg, source, line);
                if (r < 0)
                        return r;
        }
        *ret_optind = optind;
        return 1;
}

/* Where the settings file is looked for: the project root, as for .nsrun/ (prepare_dirs()); --root-dir, from the
 * command line or NSRUN_OPTS, names it. */
static int settings_root(int end, char *argv[], char **env_words, char **command, char **ret) {
        _cleanup_free_ char *cwd = NULL;
        const char *given = NULL;

        for (char **w = env_words; w && *w; w++)
                if (streq(*w, "--root-dir") && w[1])
                        given = w[1];
                else if (strneq(*w, "--root-dir=", 11))
                        given = *w + strlen("--root-dir=");
        for (int i = 1; i < end; i++)
                if (streq(argv[i], "--root-dir") && i + 1 < end)
                        given = argv[i + 1];
                else if (strneq(argv[i], "--root-dir=", 11))
                        given = argv[i] + strlen("--root-dir=");
        if (given) {
                *ret = realpath(given, NULL); /* a bad one is reported by --root-dir's own parser */
                return 0;
        }
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return log_error_errno(errno, "Cannot determine the current directory: %m");
        if (cache_project_root(cwd, command && pytest_args_start(command) > 0, ret) < 0)
                return log_oom();
        return 0;
}

/* One key of the file as option words ("--serial", "a", "--serial", "b"), parsed by the same parser as the
 * command line's, with the file's name, line and column before any message. */
static int apply_entry(RunOptions *o, const char *path, const char *source, const ConfigEntry *e) {
        const struct option *opt = find_option(e->key, 0);
        _cleanup_(strv_freep) char **words = NULL;
        _cleanup_free_ char *prefix = NULL, *dashed = NULL;
        int r, end;

        if (asprintf(&prefix, "%s:%u:%u: ", path, e->line, e->column) < 0 || asprintf(&dashed, "--%s", e->key) < 0)
                return log_oom();
        if (!opt || opt->val == 'h' || opt->val == 'V')
                return log_error_errno(EINVAL, "%s'%s' is not a setting of nsrun; keys are its long options without "
                                       "'--', such as mem-per-worker = \"2G\" (see nsrun --help)", prefix, e->key);
        if ((opt->has_arg == no_argument) != (e->type == CONFIG_BOOLEAN))
                return log_error_errno(EINVAL, opt->has_arg == no_argument
                                               ? "%s'%s' is a flag; write %s = true or false"
                                               : "%s'%s' takes a value, not true or false: write %s = \"VALUE\"",
                                       prefix, e->key, e->key);
        if (e->type == CONFIG_ARRAY && !option_repeatable(e->key) && strv_length(e->values) != 1)
                return log_error_errno(EINVAL, "%s'%s' takes one value, not a list of %zu", prefix, e->key,
                                       strv_length(e->values));
        if (e->type == CONFIG_BOOLEAN && streq(e->values[0], "false"))
                return 0;
        r = strv_push(&words, "nsrun");
        for (char **v = e->values; r >= 0 && *v; v++) {
                r = strv_push(&words, dashed);
                if (r >= 0 && e->type != CONFIG_BOOLEAN)
                        r = strv_push(&words, *v);
        }
        if (r < 0)
                return log_oom();
        log_set_prefix(prefix);
        r = parse_words(o, (int) strv_length(words), words, source, e->line, &end);
        log_set_prefix(NULL);
        return r;
}

/* What is done with each key of the settings file: 1 to go on, 0 to stop, <0 (logged). */
typedef int (*ApplyEntry)(void *userdata, const char *dir, const char *path, const char *source, const ConfigEntry *e);

static int apply_run_entry(void *userdata, const char *dir, const char *path, const char *source,
                           const ConfigEntry *e) {
        return apply_entry(userdata, path, source, e);
}

/* .nsrun.toml (top-level keys), else [tool.nsrun] of pyproject.toml, in dir, each key given to apply; relative
 * paths in it are relative to dir, as pytest takes its ini file's. Returns 1 to go on, 0 after --help in the
 * file, <0 (logged). */
static int load_settings_file(const char *dir, ApplyEntry apply, void *userdata) {
        static const struct {
                const char *file, *table;
        } files[] = {
                { ".nsrun.toml", NULL },
                { "pyproject.toml", "tool.nsrun" },
        };
        _cleanup_close_ int dir_fd = -EBADF, cwd_fd = -EBADF;
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        const char *used = NULL;
        int r = 1;

        dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || cwd_fd < 0 || !cwd)
                return 1; /* no project to read settings from: the command line alone */
        for (size_t i = 0; r > 0 && i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *text = NULL, *path = NULL, *source = NULL;
                ConfigEntry *entries = NULL;
                ConfigError err = {};
                size_t n = 0;
                bool found;

                r = read_full_file_at(dir_fd, files[i].file, &text, NULL);
                if (r == -ENOENT) {
                        r = 1;
                        continue;
                }
                /* shown as the user would write it: relative to where nsrun runs, when inside it */
                if (asprintf(&path, "%s/%s", dir, files[i].file) < 0)
                        return log_oom();
                const char *shown = strneq(path, cwd, strlen(cwd)) && path[strlen(cwd)] == '/' ? path + strlen(cwd) + 1 : path;
                if (r < 0)
                        return log_error_errno(r, "Cannot read %s: %m; make it readable, or remove it", shown);
                r = config_parse(text, files[i].table, &entries, &n, &found, &err);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "%s:%u:%u: %s", shown, err.line, err.column, err.message);
                r = 1;
                if (found && used) {
                        config_entries_free(entries, n);
                        return log_error_errno(EINVAL, "settings in both %s and %s; keep them in one file", used,
                                               shown);
                }
                if (!found)
                        continue;
                used = files[i].file;
                if (asprintf(&source, "%s%s%s%s", shown, files[i].table ? " [" : "", files[i].table ?: "",
                             files[i].table ? "]" : "") < 0) {
                        config_entries_free(entries, n);
                        return log_oom();
                }
                if (fchdir(dir_fd) < 0) {
                        config_entries_free(entries, n);
                        return log_error_errno(errno, "Cannot enter %s: %m", dir);
                }
                for (size_t k = 0; r > 0 && k < n; k++)
                        r = apply(userdata, dir, shown, source, &entries[k]);
                config_entries_free(entries, n);
                if (fchdir(cwd_fd) < 0)
                        return log_error_errno(errno, "Cannot return to %s: %m", cwd);
        }
        return r;
}

/* NSRUN_OPTS as words (*ret_split), and as getopt's argv (*ret_words: a program name first); both NULL when unset. */
static int split_nsrun_opts(char ***ret_split, char ***ret_words) {
        const char *env = getenv("NSRUN_OPTS");
        int r;

        if (!env)
                return 0;
        if (config_split_words(env, ret_split) < 0)
                return log_error_errno(EINVAL, "NSRUN_OPTS: an unclosed quote or a trailing backslash; quote as a "
                                               "shell does: NSRUN_OPTS=\"-j 2 --serial 'tests/test_db*'\"");
        r = strv_push(ret_words, "nsrun");
        for (char **w = *ret_split; r >= 0 && *w; w++)
                r = strv_push(ret_words, *w);
        return r < 0 ? log_oom() : 0;
}

/* The settings file's, then NSRUN_OPTS's options; the command line's come after and win. */
static int load_settings(RunOptions *o, int end, char *argv[], char **command) {
        _cleanup_(strv_freep) char **split = NULL, **env_words = NULL;
        _cleanup_free_ char *root = NULL;
        int r, env_end;

        /* --help and --version answer whatever the settings hold */
        for (int i = 1; i < end; i++)
                if (streq(argv[i], "--help") || streq(argv[i], "-h") || streq(argv[i], "--version") ||
                    streq(argv[i], "-V"))
                        return 1;
        r = split_nsrun_opts(&split, &env_words);
        if (r < 0)
                return r;
        r = settings_root(end, argv, split, command, &root);
        if (r < 0)
                return r;
        if (root) {
                r = load_settings_file(root, apply_run_entry, o);
                if (r <= 0)
                        return r;
        }
        if (!split || !*split)
                return 1;
        for (char **w = env_words + 1; *w; w++)
                if (streq(*w, "--"))
                        return log_error_errno(EINVAL, "NSRUN_OPTS holds options only; give the command after '--' "
                                                       "on the command line");
        log_set_prefix("NSRUN_OPTS: ");
        r = parse_words(o, (int) strv_length(env_words), env_words, "NSRUN_OPTS", 0, &env_end);
        log_set_prefix(NULL);
        if (r > 0 && env_words[env_end])
                return log_error_errno(EINVAL, "NSRUN_OPTS: '%s' is not an option; it holds options only, such as "
                                               "NSRUN_OPTS='-j 2 --mem-per-worker 2G'", env_words[env_end]);
        return r;
}


int parse_run_args(int argc, char *argv[], RunOptions *o) {
        int r, end = argc;

        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--")) {
                        end = i;
                        break;
                }
        r = load_settings(o, end, argv, end < argc ? argv + end + 1 : NULL);
        if (r <= 0)
                return r;
        r = parse_words(o, end, argv, "command line", 0, &optind);
        if (r <= 0)
                return r;
        if (optind < end)
                return log_error_errno(EINVAL,
                                       "unexpected argument '%s'; put the command after '--': nsrun [OPTIONS] -- "
                                       "COMMAND",
                                       argv[optind]);
        if (end < argc && end + 1 >= argc)
                return log_error_errno(EINVAL, "no command after '--'; write: nsrun [OPTIONS] -- COMMAND [ARG...]");
        if (end == argc && !o->jobs_file)
                return log_error_errno(EINVAL,
                                       "no command given; write: nsrun [OPTIONS] -- COMMAND [ARG...], or --jobs-file "
                                       "FILE");
        if (end < argc && o->jobs_file)
                return log_error_errno(EINVAL,
                                       "--jobs-file and a command after '--' exclude each other; give one of them");
        o->command = end < argc ? argv + end + 1 : NULL;
        if (!!(o->json_path && streq(o->json_path, "-")) + !!(o->junit_path && streq(o->junit_path, "-")) +
                    !!(o->joblog_path && streq(o->joblog_path, "-")) > 1)
                return log_error_errno(EINVAL,
                                       "--json, --junit and --joblog: only one of them can write to standard output "
                                       "('-'); "
                                       "give the others a file");
        /* one job at a time, as nextest's --no-capture: two jobs' output on one terminal, line by line, would not
         * say which line is whose */
        if (o->no_capture)
                o->cap.jobs_max = 1;
        r = cap_options_check(&o->cap, NULL);
        if (r >= 0)
                r = check_output_path("--json", o->json_path);
        if (r >= 0)
                r = check_output_path("--junit", o->junit_path);
        if (r >= 0)
                r = check_output_path("--joblog", o->joblog_path);
        if (r < 0)
                return r;
        o->root_dir_given = o->sandbox.root_dir;
        r = sandbox_options_finish(&o->sandbox);
        if (r >= 0)
                r = check_pytest_paths(o);
        return r < 0 ? r : 1;
}

/* ---- directories ---- */

static int prepare_dirs(RunOptions *o, RunContext *rc) {
        _cleanup_free_ char *runs = NULL, *project = NULL;
        int r = 0;

        /* one .nsrun/ per project, wherever in it nsrun is started */
        if (!o->root_dir_given)
                r = cache_project_root(o->sandbox.root_dir, o->command && pytest_args_start(o->command) > 0, &project);
        if (r < 0 || cache_dir_get(project ?: o->sandbox.root_dir, &o->cache_dir) < 0)
                return log_oom();
        if (!o->log_dir && asprintf(&o->log_dir, "%s/logs", o->cache_dir) < 0)
                return log_oom();
        if (asprintf(&runs, "%s/runs", o->cache_dir) < 0 ||
            asprintf(&rc->run_dir, "%s/%d-%" PRIu64, runs, (int) getpid(), proc_pid_starttime(getpid())) < 0)
                return log_oom();
        (void) cache_remove_stale_runs(runs, NULL, NULL);
        const char *dirs[] = { o->log_dir, rc->run_dir };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                r = mkdir_p(dirs[i], 0755);
                if (r < 0)
                        return log_error_errno(r, "Cannot create %s: %m; give --log-dir, or NSRUN_CACHE_DIR, a writable place",
                                               dirs[i]);
        }
        /* pytest's collection writes its report here (and --setup's command runs with it bound, too); each job
         * attempt gets a directory of its own beside it (start_attempt()) */
        if (asprintf(&rc->collect_dir, "%s/collect", rc->run_dir) < 0)
                return log_oom();
        r = mkdir_p(rc->collect_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Cannot create the run directory %s: %m", rc->run_dir);
        return 0;
}

/* coverage.py's parallel data files: COVERAGE_FILE itself, or it with ".<host>.<pid>.<random>" after it. */
static bool is_coverage_name(const char *name, const char *want) {
        size_t n = strlen(want);

        if (!strneq(name, want, n))
                return false;
        if (name[n] == '\0')
                return true;
        return name[n] == '.' && name[n + 1] != '\0' &&
               name[n + 1 + strspn(name + n + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")] ==
                       '\0';
}

/* How much of one coverage data file nsrun copies: coverage.py's SQLite files reach hundreds of MiB with
 * per-test contexts; copied through a small buffer, so this bounds the disk, not nsrun's memory. */
#define COVERAGE_FILE_MAX (UINT64_C(1) << 30)

/* Copies (never moves: a hard link would bring another file along) a regular file of a job's directory into a
 * new file of the project, which then replaces name only if that is absent or a regular file (an earlier run's
 * coverage data of the same name). */
static int copy_coverage(int from_dir, const char *name, int project_fd) {
        char tmp[64];
        struct stat st;
        int r;

        (void) snprintf(tmp, sizeof tmp, ".nsrun-coverage-%d.tmp", (int) getpid());
        r = copy_job_file_at(from_dir, name, COVERAGE_FILE_MAX, project_fd, tmp);
        if (r < 0)
                return r;
        if (fstatat(project_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && !S_ISREG(st.st_mode))
                r = -EEXIST;
        if (r == 0 && renameat(project_fd, tmp, project_fd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(project_fd, tmp, 0);
        return r;
}

/* coverage.py's data files go back into the project, named as 'coverage combine' expects (.coverage.*): from each
 * attempt's own directory, where no other job could write, only the files named as its COVERAGE_FILE said. */
static void collect_coverage(const RunContext *rc) {
        _cleanup_close_ int project_fd = open(rc->opt->sandbox.root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int run_fd = open(rc->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (project_fd < 0 || run_fd < 0)
                return;
        for (size_t i = 0; i < rc->src.jobs.n; i++)
                for (unsigned a = 1; a <= rc->src.jobs.jobs[i].attempts; a++) {
                        char dir[64], want[64];
                        struct dirent *de;
                        DIR *d;
                        int fd;

                        (void) snprintf(dir, sizeof dir, JOB_DIR_FORMAT, i, a);
                        (void) snprintf(want, sizeof want, COVERAGE_PREFIX "%zu-%u", i, a);
                        fd = openat(run_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0 || !(d = fdopendir(fd))) {
                                safe_close(fd);
                                continue;
                        }
                        while ((de = readdir(d))) {
                                int r;
                                if (!is_coverage_name(de->d_name, want))
                                        continue;
                                r = copy_coverage(dirfd(d), de->d_name, project_fd);
                                if (r < 0)
                                        log_warning("Not copying coverage data %s of job %s into the project: it %s",
                                                    de->d_name, rc->src.jobs.jobs[i].name,
                                                    r == -EEXIST ? "would replace something that is not a file"
                                                                 : job_file_error(r));
                        }
                        closedir(d);
                }
}

/* '--json -' and '--junit -': the report goes to the standard output nsrun started with (rc->stdout_fd), by
 * way of a memfd, as the writers take a path. */
static int write_report(const RunContext *rc, int (*writer)(const RunContext *, const char *), const char *path) {
        _cleanup_close_ int fd = -EBADF;
        char proc[64];
        int r;

        if (!streq(path, "-"))
                return writer(rc, path);
        fd = memfd_create("nsrun-report", MFD_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Cannot write the report to standard output: %m");
        (void) snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        r = writer(rc, proc);
        if (r < 0)
                return r;
        r = lseek(fd, 0, SEEK_SET) < 0 ? -errno : copy_fd(fd, rc->stdout_fd, UINT64_MAX);
        if (r < 0)
                return log_error_errno(r, "Cannot write the report to standard output: %m");
        return 0;
}

/* --joblog: GNU parallel's job log, one tab-separated line per job that ran, in the order they started. The
 * command is the job's words, each quoted as parallel quotes them. */
static int job_start_cmp(const void *a, const void *b) {
        const Job *x = *(const Job *const *) a, *y = *(const Job *const *) b;
        return x->start_s < y->start_s ? -1 : x->start_s > y->start_s ? 1 : 0;
}

static void joblog_line(FILE *f, const Job *j, double run_start) {
        struct stat st;

        fprintf(f, "%u\t:\t%.3f\t%10.3f\t0\t%lld\t%d\t%d\t", j->seq, run_start + j->start_s, j->wall_s,
                j->log_path && stat(j->log_path, &st) >= 0 ? (long long) st.st_size : 0LL, j->exit_code,
                j->signal);
        for (size_t k = 0; j->argv[k]; k++) {
                _cleanup_free_ char *q = parallel_quote(j->argv[k]);
                fprintf(f, "%s%s", k ? " " : "", q ?: "");
        }
        fputc('\n', f);
}

static int write_joblog(const RunContext *rc, const char *path) {
        const JobList *l = &rc->src.jobs;
        _cleanup_free_ const Job **v = new0(const Job *, l->n + 1);
        struct timespec now;
        size_t n = 0;
        FILE *f;
        int r;

        if (!v)
                return log_oom();
        f = streq(path, "-") ? fdopen(dup(rc->stdout_fd), "we") : fopen(path, "we");
        if (!f)
                return log_error_errno(errno, "--joblog %s: cannot write it: %m", path), -EIO;
        for (size_t i = 0; i < l->n; i++)
                if (l->jobs[i].attempts > 0)
                        v[n++] = &l->jobs[i];
        qsort(v, n, sizeof *v, job_start_cmp);
        clock_gettime(CLOCK_REALTIME, &now);
        fputs("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n", f);
        for (size_t i = 0; i < n; i++)
                joblog_line(f, v[i], (double) now.tv_sec + (double) now.tv_nsec / 1e9 - rc->wall_s);
        r = ferror(f) ? -EIO : 0;
        if (fclose(f) != 0 || r < 0)
                return log_error_errno(errno ?: EIO, "--joblog %s: cannot write it: %m", path), -EIO;
        return 0;
}

/* ---- the run ---- */

static int make_repeats(RunContext *rc, unsigned repeat) {
        size_t n = rc->src.jobs.n;

        for (unsigned k = 1; k < repeat; k++)
                for (size_t i = 0; i < n; i++) {
                        Job *j = &rc->src.jobs.jobs[i];
                        char ***parts = slot_parts_copy(j->slot_parts);
                        if ((j->slot_parts && !parts) ||
                            job_list_add(&rc->src.jobs, strdup(j->name), strv_copy(j->argv), j->n_tests, j->serial) < 0) {
                                slot_parts_free(parts);
                                return log_oom();
                        }
                        j = &rc->src.jobs.jobs[rc->src.jobs.n - 1];
                        j->repeat_index = k;
                        j->seq = (unsigned) rc->src.jobs.n;
                        j->slot_parts = parts;
                }
        return 0;
}

static int plan(RunContext *rc) {
        const RunOptions *o = rc->opt;
        uint64_t peak = 0;
        bool learned = false;

        /* Once the history knows peaks, each job asks for its own (runs without caps have nothing to admit). */
        for (size_t i = 0; i < rc->src.jobs.n; i++) {
                learned = learned || (rc->src.jobs.jobs[i].hist_peak > 0 && !o->cap.mem_cap_off);
                peak = MAX(peak, rc->src.jobs.jobs[i].hist_peak);
        }
        /* a file may be split over the workers: as many jobs as it could become */
        return plan_from_budgets(&o->cap, rc->mem_at_start.source[0] ? &rc->mem_at_start : NULL,
                                 source_jobs_bound(&rc->src, o->batch), learned, peak, &rc->plan_input, &rc->plan);
}

/* Each job's memory request: its learned peak plus headroom, or the fixed slot; and its CPU request, the CPUs it
 * kept busy last time (after batching, which sums files into jobs). */
static void assign_requests(RunContext *rc) {
        for (size_t i = 0; i < rc->src.jobs.n; i++) {
                Job *j = &rc->src.jobs.jobs[i];
                j->mem_request = rc->opt->cap.mem_cap_off ? 0 : plan_mem_request(&rc->plan, j->hist_peak);
                j->heavy = rc->plan_input.learned && plan_request_is_heavy(&rc->plan, j->mem_request);
                j->cpu_request = plan_cpu_request(&rc->plan, j->hist_cpus);
        }
}

static int setup_layers_dir(char **ret) {
        _cleanup_free_ char *base = NULL;
        int r;

        r = cache_setup_layers_base(&base);
        if (r == -EPERM)
                return log_error("--setup: /var/tmp/nsrun-%u is not a private directory of this user; remove it and "
                                 "run again",
                                 (unsigned) geteuid()),
                       r;
        if (r < 0)
                return log_error_errno(r, "--setup: cannot create /var/tmp/nsrun-%u: %m", (unsigned) geteuid());
        (void) cache_remove_stale_runs(base, NULL, NULL);
        if (asprintf(ret, "%s/%d-%" PRIu64, base, (int) getpid(), proc_pid_starttime(getpid())) < 0)
                return log_oom();
        return 0;
}

/* --setup: once, in a sandbox whose writes are kept; they become a layer under every later sandbox. */
static int run_setup(RunContext *rc) {
        const RunOptions *o = rc->opt;
        _cleanup_free_ char *log_path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", o->setup, NULL };
        SandboxResult res;
        uint64_t t0;
        bool oom;
        int r;

        if (!o->setup)
                return 0;
        r = setup_layers_dir(&rc->setup_dir);
        if (r < 0)
                return r;
        if (asprintf(&log_path, "%s/setup.log", o->log_dir) < 0)
                return log_oom();
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(errno, "Cannot create %s: %m", log_path);
        t0 = now_usec();
        r = run_sandboxed_once(&rc->source, "setup", rc->source.setup_mem_max, argv, NULL, fd, rc->setup_dir, &res,
                               &oom);
        if (r < 0)
                return r;
        rc->setup_s = seconds_since(t0);
        if (oom)
                return log_error_errno(ENOMEM,
                                       "--setup '%s' was killed out of memory at its cap of %s (the memory for "
                                       "tests); its output is in %s; give the run more memory, or a smaller "
                                       "--mem-reserve", o->setup, FORMAT_SIZE(rc->source.setup_mem_max), log_path);
        if (res.outcome != SANDBOX_EXITED || res.code != 0)
                return log_error_errno(EINVAL,
                                       "--setup '%s' failed (%s %d); its output is in %s; fix the command and run "
                                       "again",
                                       o->setup, res.outcome == SANDBOX_EXITED ? "exit status" : "signal", res.code,
                                       log_path);
        rc->source.base_layers = rc->setup_dir;
        log_info("setup done in %.1fs: '%s' (output in %s)", rc->setup_s, o->setup, log_path);
        return 0;
}

/* Every machine computes the same split from the same jobs and history, and keeps its share. */
static int select_shard(RunContext *rc) {
        const char *source = "--shard";
        Shard sh;
        int r;

        if (!rc->opt->shard)
                return 0;
        if (streq(rc->opt->shard, "auto")) {
                r = shard_from_environment(&sh, &source);
                if (r == -ENOENT)
                        return log_error_errno(EINVAL,
                                               "--shard auto: no CI variables say which share this is (CI_NODE_INDEX, "
                                               "CIRCLE_NODE_INDEX, BUILDKITE_PARALLEL_JOB, JOB_COMPLETION_INDEX); give "
                                               "--shard K/N");
                if (r < 0)
                        return log_error_errno(EINVAL,
                                               "--shard auto: %s are set but not a valid index and count; give "
                                               "--shard K/N",
                                               source);
        } else
                (void) shard_parse(rc->opt->shard, &sh);
        (void) snprintf(rc->shard, sizeof rc->shard, "%u/%u", sh.index + 1, sh.total);
        r = shard_select(&rc->src.jobs, &sh);
        if (r < 0)
                return log_oom();
        log_info("shard %s (%s): %zu %s of this share", rc->shard, source, rc->src.jobs.n,
                 PLURAL(rc->src.jobs.n, "job"));
        return 0;
}

static int save_history(const char *dir, const JobList *l) {
        _cleanup_free_ HistoryRecord *records = NULL;
        size_t n;
        int r;

        r = history_records_from_jobs(l, &records, &n);
        return r < 0 ? r : history_save(dir, records, n, jobs_startup_median(l));
}

static int exit_status(const RunContext *rc) {
        if (rc->signal)
                return 128 + rc->signal;
        if (rc->refused)
                return EXIT_REFUSED;
        for (size_t i = 0; i < rc->src.jobs.n; i++)
                if (job_status_is_failure(rc->src.jobs.jobs[i].status, rc->opt->flaky_fails))
                        return EXIT_RUN_FAILURES;
        return 0;
}

static int run(RunOptions *o, RunContext *rc) {
        History *h = NULL;
        RewriteCache *rewriter;
        _cleanup_free_ char *warning = NULL;
        double cpus = 0;
        unsigned bound;
        Plan bound_plan = {};
        int r;

        rc->source = (SourceContext) {
                .cwd = rc->cwd,
                .sigfd = rc->source.sigfd,
                .signal = rc->source.signal,
                .sandbox = &o->sandbox,
                .run_dir = rc->collect_dir,
                .pytest_plugin_dir = pytest_plugin_dir(),
                .log_dir = o->log_dir,
                .cache_dir = o->cache_dir,
                .setup = o->setup,
                .dist = o->dist,
                .serial_globs = o->serial_globs,
                .quote_raw = o->quote_raw,
                .cgroups = rc->cgroups,
                .pids_max = o->cap.pids_max,
                .mem_size_given = o->cap.mem_per_worker > 0,
        };
        /* The plan's memory budget is the one read now, before anything of the run: the prepared interpreters'
         * memory (--fork) stands in for what each job's own start-up would have taken, and depends on how far
         * their imports got when it is read. What runs before the jobs is capped from it as jobs are: --setup at
         * the memory for tests, the collection as a job alone (plan_alone_limit()), each prepared interpreter at
         * a worker's share, which its jobs share with it. */
        bound = plan_workers_bound(&o->cap, &cpus, &rc->mem_at_start, &bound_plan);
        rc->source.setup_mem_max = rc->source.collect_mem_max = rc->source.prepared_mem_max = CGROUP_LIMIT_MAX;
        if (bound > 0 && !o->cap.mem_cap_off) {
                rc->source.setup_mem_max = bound_plan.usable_bytes;
                rc->source.collect_mem_max = plan_alone_limit(bound_plan.usable_bytes, bound_plan.job_max);
                rc->source.prepared_mem_max = bound_plan.mem_per_job;
        }
        r = run_setup(rc);
        if (r < 0)
                goto out;
        /* --fork: the prepared interpreters collect while nothing else runs, the first one for the run; what
         * they import sizes its threads to a worker's share of the CPUs, as the plan will. */
        if (bound > 0 && setenv_cpu_share(cpu_share(cpus, bound, o->cap.cpus_per_job)) < 0) {
                r = log_oom();
                goto out;
        }
        rewrite_cache_offer(rc);
        rc->forker = forker_new(rc, bound);
        rc->source.prepared_collection = forker_collection;
        rc->source.prepared_userdata = rc->forker;
        r = source_build(&rc->source, o->command, o->jobs_file, &rc->src);
        if (r < 0)
                goto out;
        if (rc->src.jobs.n == 0) {
                /* pytest's "no tests ran" and its exit status 5, which CI scripts check for */
                rc->no_tests = true;
                r = (log_error("pytest collected no tests; check the paths and -k/-m selections"), -EINVAL);
                goto out;
        }
        r = make_repeats(rc, o->repeat);
        if (r < 0)
                goto out;
        r = history_load(o->cache_dir, &h, &warning);
        if (r < 0)
                goto out;
        if (warning)
                log_warning("%s", warning);
        history_annotate(h, &rc->src.jobs);
        sched_estimate(&rc->src.jobs);
        r = select_shard(rc);
        if (r < 0)
                goto out;
        r = plan(rc);
        if (r >= 0 && setenv_cpu_share(cpu_share(rc->plan_input.cpu.cpus, rc->plan.workers, o->cap.cpus_per_job)) < 0)
                r = log_oom();
        if (r < 0)
                goto out;
        r = source_batch(&rc->src, rc->plan.workers, o->batch, history_startup_s(h));
        if (r < 0) {
                r = log_oom();
                goto out;
        }
        if (rc->src.jobs.n < rc->plan.workers) { /* fewer jobs than planned for: each gets a larger share */
                rc->plan_input.n_jobs = rc->src.jobs.n;
                (void) plan_compute(&rc->plan_input, &rc->plan);
        }
        rc->order = new0(size_t, rc->src.jobs.n);
        if (!rc->order) {
                r = log_oom();
                goto out;
        }
        assign_requests(rc);
        sched_order(&rc->src.jobs, rc->order);
        rc->forker = forker_plan(rc->forker);
        if (o->dry_run) {
                r = o->json_path ? write_report(rc, report_write_json, o->json_path) : report_print_plan(rc);
                goto out;
        }
        rewriter = rewrite_cache_start(rc);
        r = run_jobs(rc);
        rewriter = rewrite_cache_stop(rewriter);
        if (r >= 0 && o->json_path)
                r = write_report(rc, report_write_json, o->json_path);
        if (r >= 0 && o->junit_path)
                r = write_report(rc, report_write_junit, o->junit_path);
        /* pytest's own --junitxml=PATH: one document of every job's tests, as pytest-xdist writes it */
        if (r >= 0 && rc->src.pytest && pytest_user_junitxml(rc->src.pytest_options))
                r = write_report(rc, report_write_junit, pytest_user_junitxml(rc->src.pytest_options));
        if (r >= 0 && o->joblog_path)
                r = write_joblog(rc, o->joblog_path);
        collect_coverage(rc);
        pytest_cache_merge(rc);
        pytest_hypothesis_merge(rc);
        /* A shard leaves the history as it found it: every shard must split the same jobs by the same history,
         * whenever it runs; nsrun merge --history keeps their times. */
        if (!o->shard && save_history(o->cache_dir, &rc->src.jobs) < 0)
                log_warning("Cannot save the history in %s; the next run will order jobs without it", o->cache_dir);
out:
        rc->forker = forker_free(rc->forker);
        history_free(h);
        free((char *) rc->source.pytest_plugin_dir);
        return r;
}

static bool report_to_stdout(const RunOptions *o) {
        const char *paths[] = { o->json_path, o->junit_path, o->joblog_path };

        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (paths[i] && streq(paths[i], "-"))
                        return true;
        return false;
}

int verb_run(int argc, char *argv[]) {
        RunOptions o = { .cap = CAP_OPTIONS_WORKERS, .repeat = 1, .timeout_grace_usec = TIMEOUT_GRACE_USEC_DEFAULT };
        RunContext rc = { .opt = &o, .null_fd = -EBADF, .stdout_fd = STDOUT_FILENO, .source.sigfd = -EBADF };
        sigset_t mask, old_mask, pipe_only;
        int r, status;

        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        r = parse_run_args(argc, argv, &o);
        if (r <= 0) {
                run_options_done(&o);
                return r < 0 ? EXIT_USAGE : 0;
        }
        if (report_to_stdout(&o)) {
                /* standard output carries the report alone, valid JSON or XML: the rest goes to stderr */
                rc.stdout_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
                if (rc.stdout_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
                        log_error_errno(errno, "Cannot set standard output aside for the report: %m");
                        run_options_done(&o);
                        return EXIT_USAGE;
                }
        }
        rc.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        /* the physical path: a logical $PWD through a symbolic link (cd /tmp/link-to-project) need not exist
         * inside the sandbox, which has a /tmp of its own */
        rc.cwd = getcwd(NULL, 0);
        if (!rc.cwd) {
                log_error_errno(errno, "Cannot determine the current directory: %m");
                run_context_done(&rc);
                run_options_done(&o);
                return EXIT_USAGE;
        }
        /* From here on SIGINT, SIGTERM and SIGHUP only stop the run: whatever it is doing (a setup step,
         * collection, jobs) is killed, the partial summary printed, everything removed, then 128+N. So does
         * SIGPIPE, which a write to a closed pipe (nsrun ... | head) raises: blocked, the write fails with EPIPE
         * and the signal waits on the signalfd. The jobs get neither: init starts each command with no signal
         * blocked and every disposition as the kernel's default. */
        BLOCK_SIGNALS(&mask, &old_mask, SIGINT, SIGTERM, SIGHUP, SIGPIPE);
        rc.source.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
        rc.source.signal = &rc.signal;
        r = prepare_dirs(&o, &rc);
        if (r >= 0)
                r = launch_open_cgroups(!o.cap.mem_cap_off, &rc.cgroups);
        if (r >= 0)
                r = run(&o, &rc);
        if (rc.signal && rc.wall_s == 0)
                log_error("interrupted by SIG%s before any job ran; nothing was left behind", sigabbrev_np(rc.signal));
        status = rc.signal ? 128 + rc.signal
                 : r == -ECANCELED || rc.refused ? EXIT_REFUSED
                 : rc.no_tests ? EXIT_NO_TESTS
                 : rc.src.pytest_usage_error ? EXIT_PYTEST_USAGE
                 : r < 0 ? EXIT_USAGE
                         : exit_status(&rc);
        /* the summary, or a message, written to a closed pipe after the jobs: the same status */
        if (sigtimedwait(&pipe_only, NULL, &(struct timespec) {}) == SIGPIPE && !rc.signal)
                status = 128 + SIGPIPE;
        run_context_done(&rc); /* its signalfd closed before the signals are unblocked */
        (void) sigprocmask(SIG_SETMASK, &old_mask, NULL);
        run_options_done(&o);
        return status;
}

/* ---- the settings of nsrun exec and nsrun xdist: the keys that are theirs ---- */

typedef struct VerbSettings {
        const struct option *options;   /* the verb's */
        char **words;                   /* "--rw", "/abs/path", "--net", "host", ... */
} VerbSettings;

static bool verb_has(const VerbSettings *v, const char *name) {
        for (const struct option *opt = v->options; opt->name; opt++)
                if (streq(opt->name, name) && opt->val != 'h')
                        return true;
        return false;
}

/* The options whose value is a path: relative in the file, it is relative to the file's directory. */
static bool option_is_path(const char *name) {
        return streq(name, "root-dir") || streq(name, "keep-writes") || streq(name, "rw") || streq(name, "overlay") ||
               streq(name, "tmpfs");
}

static int collect_verb_entry(void *userdata, const char *dir, const char *path, const char *source,
                              const ConfigEntry *e) {
        VerbSettings *v = userdata;
        const struct option *opt = find_option(e->key, 0);
        _cleanup_free_ char *dashed = NULL;
        int r = 0;

        /* the runner's keys (and mistakes, which the runner reports) are left alone */
        if (!opt || !verb_has(v, e->key) || (opt->has_arg == no_argument) != (e->type == CONFIG_BOOLEAN))
                return 1;
        if (e->type == CONFIG_BOOLEAN && streq(e->values[0], "false"))
                return 1;
        if (asprintf(&dashed, "--%s", e->key) < 0)
                return log_oom();
        for (char **val = e->values; r >= 0 && *val; val++) {
                _cleanup_free_ char *abs = NULL;
                r = strv_push(&v->words, dashed);
                if (r < 0 || e->type == CONFIG_BOOLEAN)
                        continue;
                if (option_is_path(e->key) && (*val)[0] != '/' && asprintf(&abs, "%s/%s", dir, *val) < 0)
                        return log_oom();
                r = strv_push(&v->words, abs ?: *val);
        }
        return r < 0 ? log_oom() : 1;
}

int settings_for_verb(const struct option *verb_options, const char *verb, int argc, char *argv[], char ***ret) {
        _cleanup_(strv_freep) char **split = NULL, **env_words = NULL, **out = NULL;
        _cleanup_free_ char *root = NULL;
        VerbSettings v = { .options = verb_options };
        int r, c, end = argc;

        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--")) {
                        end = i;
                        break;
                }
        /* --help answers whatever the settings hold; nsrun xdist gives its workers' nsrun exec every setting
         * itself (--status-dir) */
        for (int i = 1; i < end; i++)
                if (streq(argv[i], "--help") || streq(argv[i], "-h") || streq(argv[i], "--status-dir") ||
                    strneq(argv[i], "--status-dir=", 13)) {
                        *ret = strv_copy(argv);
                        return *ret ? find_command(argc, *ret, 1, verb) : log_oom();
                }
        r = split_nsrun_opts(&split, &env_words);
        if (r < 0)
                return r;
        r = settings_root(end, argv, split, end < argc ? argv + end + 1 : NULL, &root);
        if (r < 0)
                return r;
        if (root) {
                r = load_settings_file(root, collect_verb_entry, &v);
                if (r < 0) {
                        strv_free(v.words);
                        return r;
                }
        }
        /* NSRUN_OPTS's options, read as the runner reads them; the verb's own go on */
        optind = 0;
        opterr = 0;
        while (env_words && (c = getopt_long((int) strv_length(env_words), env_words, ":hj:xkqV", run_options, NULL)) >= 0) {
                const struct option *opt = find_option(NULL, c);
                _cleanup_free_ char *dashed = NULL;
                if (c == '?' || c == ':' || !opt || !verb_has(&v, opt->name))
                        continue;
                if (asprintf(&dashed, "--%s", opt->name) < 0 || strv_push(&v.words, dashed) < 0 ||
                    (optarg && strv_push(&v.words, optarg) < 0)) {
                        strv_free(v.words);
                        return log_oom();
                }
        }
        r = strv_push(&out, argv[0]);
        for (char **w = v.words; r >= 0 && w && *w; w++)
                r = strv_push(&out, *w);
        for (int i = 1; r >= 0 && i < argc; i++)
                r = strv_push(&out, argv[i]);
        strv_free(v.words);
        if (r < 0)
                return log_oom();
        *ret = TAKE_PTR(out);
        return find_command((int) strv_length(*ret), *ret, 1, verb);
}
