/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the user sees: a live status line on a terminal, one line per finished job otherwise, then the failures'
 * output and a summary; and the machine-readable reports (--json, --junit). */

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "runner-context.h"
#include "runner-pytest-junit.h"
#include "runner-pytest-results.h"
#include "runner-report.h"
#include "xml-util.h"

/* CI services that fold a failed job's output and point at it */
typedef enum CiLog { CI_NONE, CI_GITHUB, CI_GITLAB } CiLog;

struct Reporter {
        const RunContext *rc;
        bool tty;               /* a live status line on stderr */
        size_t cols;            /* the terminal's width: the status line never wraps */
        uint64_t t0;            /* the run's start, for the elapsed time */
        bool color;
        CiLog ci;
        size_t done;
        unsigned counts[_JOB_STATUS_MAX];
        bool line_shown;
        size_t printed;         /* job lines printed */
        bool *finished;         /* -k: by job index, finished and not printed yet */
        size_t next_in_order;   /* -k: the first job whose line is not printed yet */
        unsigned width;         /* columns, as pytest counts them for its separator lines */
        PytestReports reports;  /* pytest: the jobs' failed tests' reports and short-summary lines */
        struct {
                unsigned attempt;
                uint64_t offset;
        } *verbose;             /* pytest -v: by job index, how far its attempt's VERBOSE_FILE is shown */
        uint64_t tests_total, tests_ended, tests_running; /* pytest: collected; in ended jobs; done in running */
        uint64_t verbose_shown; /* pytest -v lines shown, for their percentage */
};

static bool env_set(const char *name) {
        const char *v = getenv(name);
        return v && *v && !streq(v, "0");
}

/* --color, then NO_COLOR (any value: https://no-color.org), then FORCE_COLOR or CLICOLOR_FORCE (any value but
 * 0), then whether standard output is a terminal. */
static bool want_color(int mode) {
        const char *term = getenv("TERM"), *no_color = getenv("NO_COLOR");

        if (mode != COLOR_AUTO)
                return mode == COLOR_ALWAYS;
        if (no_color && *no_color)
                return false;
        if (env_set("FORCE_COLOR") || env_set("CLICOLOR_FORCE"))
                return true;
        return isatty(STDOUT_FILENO) && !(term && streq(term, "dumb"));
}

/* pytest's terminal width: $COLUMNS, else standard output's terminal's, else 80; under 40 is 80. */
static unsigned terminal_width(void) {
        const char *columns = getenv("COLUMNS");
        struct winsize ws = {};
        unsigned w = 0;

        if (columns && parse_unsigned(columns, 1, 10000, &w) < 0)
                w = 0;
        if (w == 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0)
                w = ws.ws_col;
        return w < 40 ? 80 : w;
}

Reporter *reporter_new(const RunContext *rc) {
        Reporter *r = new0(Reporter, 1);
        const char *term = getenv("TERM");
        char num[32];

        if (!r)
                return NULL;
        r->rc = rc;
        if (rc->opt->keep_order && !(r->finished = new0(bool, rc->src.jobs.n + JOB_HANDOVERS_MAX + 1)))
                return mfree(r);
        /* --no-capture: the jobs write to the terminal themselves, and a status line would be drawn over them */
        r->tty = isatty(STDERR_FILENO) && !(term && streq(term, "dumb")) && !rc->opt->no_capture;
        r->t0 = now_usec();
        reporter_resize(r);
        r->color = want_color(rc->opt->color);
        r->ci = env_set("GITHUB_ACTIONS") ? CI_GITHUB : env_set("GITLAB_CI") ? CI_GITLAB : CI_NONE;
        r->width = terminal_width();
        if (rc->src.pytest && !(r->verbose = calloc(rc->src.jobs.n + JOB_HANDOVERS_MAX + 1, sizeof *r->verbose)))
                return reporter_free(r);
        for (size_t i = 0; i < rc->src.jobs.n; i++)
                r->tests_total += rc->src.jobs.jobs[i].n_tests;
        /* the jobs' pytest renders its reports as wide as this output, coloured as it is (nsrun_pytest.py);
         * the jobs inherit nsrun's environment */
        (void) snprintf(num, sizeof num, "%u", r->width);
        (void) setenv("NSRUN_COLUMNS", num, 1);
        (void) setenv("NSRUN_COLOR", r->color ? "1" : "0", 1);
        return r;
}

Reporter *reporter_free(Reporter *r) {
        if (r) {
                free(r->finished);
                free(r->verbose);
                pytest_reports_done(&r->reports);
        }
        free(r);
        return NULL;
}

static const char *status_word(const Reporter *r, JobStatus s) {
        static const char *const plain[_JOB_STATUS_MAX] = {
                [JOB_PASSED] = "PASS", [JOB_FAILED] = "FAIL", [JOB_FLAKY] = "FLAKY", [JOB_OOM] = "OOM",
                [JOB_TIMEOUT] = "TIMEOUT", [JOB_ERROR] = "ERROR", [JOB_NOT_RUN] = "NOT RUN",
                [JOB_INTERRUPTED] = "INTERRUPTED",
        };
        static const char *const colored[_JOB_STATUS_MAX] = {
                [JOB_PASSED] = "\033[32mPASS\033[0m",       [JOB_FAILED] = "\033[31mFAIL\033[0m",
                [JOB_FLAKY] = "\033[33mFLAKY\033[0m",       [JOB_OOM] = "\033[31mOOM\033[0m",
                [JOB_TIMEOUT] = "\033[31mTIMEOUT\033[0m",   [JOB_ERROR] = "\033[31mERROR\033[0m",
                [JOB_NOT_RUN] = "NOT RUN",                  [JOB_INTERRUPTED] = "\033[33mINTERRUPTED\033[0m",
        };
        return (r->color ? colored : plain)[s] ?: "?";
}

static void clear_line(Reporter *r) {
        if (r->tty && r->line_shown) {
                fputs("\r\033[K", stderr);
                r->line_shown = false;
        }
}

/* "tests/test_model.py: killed, out of memory (limit 2.0 GiB, peak 2.0 GiB)" and the like. */
static void describe(const Job *j, char *buf, size_t len) {
        switch (j->status) {
        case JOB_OOM:
                if (j->exit_code == 0)
                        (void) snprintf(buf, len, "a process was killed for memory (oom_kill %" PRIu64 "; limit %s, "
                                        "peak %s), though the command exited 0", j->oom_kills,
                                        FORMAT_SIZE(j->mem_limit), FORMAT_SIZE(j->peak_mem));
                else
                        (void) snprintf(buf, len, "killed, out of memory (limit %s, peak %s)%s%s",
                                        FORMAT_SIZE(j->mem_limit), FORMAT_SIZE(j->peak_mem),
                                        j->killed_in ? " while running " : "", j->killed_in ?: "");
                break;
        case JOB_TIMEOUT:
                (void) snprintf(buf, len, "killed, timeout after %s%s%s", FORMAT_DURATION((uint64_t) (j->wall_s * 1e6)),
                                j->killed_in ? " while running " : "", j->killed_in ?: "");
                break;
        case JOB_NOT_RUN: /* stopped by --halt now */
        case JOB_INTERRUPTED:
        case JOB_ERROR:
                if (j->error) {
                        (void) snprintf(buf, len, "%s", j->error);
                        break;
                }
                _fallthrough_;
        default:
                if (j->signal)
                        (void) snprintf(buf, len, "killed by signal %d", j->signal);
                else if (j->handed_over && j->exit_code == 2) /* it stopped after the tests it kept */
                        (void) snprintf(buf, len, "handed its last %u %s to a new job", j->handed_over,
                                        PLURAL(j->handed_over, "test"));
                else if (j->exit_code > 0)
                        (void) snprintf(buf, len, "exit status %d", j->exit_code);
                else
                        buf[0] = '\0';
        }
}

/* "out of memory at its learned 300 MiB, rerun alone with 5.0 GiB"; "the 4 tests it had not reached ran in a new
 * job" */
static void describe_rerun(const Job *j, char *buf, size_t len) {
        if (j->rest.attempt)
                (void) snprintf(buf, len, "the %u %s it had not reached ran in a new job%s", j->rest.tests,
                                PLURAL(j->rest.tests, "test"), j->rest.status == JOB_PASSED || j->rest.status == JOB_FAILED
                                                                       ? "" : ", which ended too");
        else if (j->oom_limit > 0)
                (void) snprintf(buf, len, "out of memory at its learned %s, rerun alone with %s",
                                FORMAT_SIZE(j->oom_limit), FORMAT_SIZE(j->mem_limit));
        else
                buf[0] = '\0';
}

/* A peak of 0 bytes is no measurement (memory not accounted here, as rootless with --mem-cap off): "n/a". */
static const char *format_peak(char buf[static FORMAT_SIZE_MAX], uint64_t peak) {
        return peak > 0 ? format_size(buf, FORMAT_SIZE_MAX, peak) : "n/a";
}
#define FORMAT_PEAK(p) format_peak((char[FORMAT_SIZE_MAX]){}, (p))

static void show_output(const Job *j);

static void print_job_line(Reporter *r, const Job *j) {
        char what[512], tests[96] = "", rerun[160];

        if (r->tty)
                clear_line(r);
        describe(j, what, sizeof what);
        describe_rerun(j, rerun, sizeof rerun);
        if (j->n_tests > 0 || j->tests_passed + j->tests_failed > 0)
                (void) snprintf(tests, sizeof tests, " %u passed, %u failed, %u skipped;", j->tests_passed,
                                j->tests_failed, j->tests_skipped);
        printf("[%zu/%zu] %s %s%s%s (%s;%s peak %s%s%s)\n", ++r->printed, r->rc->src.jobs.n, status_word(r, j->status),
               j->name, what[0] ? ": " : "", what, FORMAT_DURATION((uint64_t) (j->wall_s * 1e6)), tests,
               FORMAT_PEAK(j->peak_mem), rerun[0] ? "; " : j->attempts > 1 ? ", retried" : "", rerun);
        /* --success-output: a passing job's output, as a failed one's is shown (flaky ones are, with the failures) */
        if (r->rc->opt->success_output && j->status == JOB_PASSED)
                show_output(j);
        fflush(stdout);
}

/* -k: lines in input order; a job's line waits until every job before it has ended. */
static void print_in_order(Reporter *r, bool all) {
        const JobList *l = &r->rc->src.jobs;

        for (; r->next_in_order < l->n; r->next_in_order++)
                if (r->finished[r->next_in_order])
                        print_job_line(r, &l->jobs[r->next_in_order]);
                else if (!all)
                        break;
}

void reporter_job_finished(Reporter *r, const Job *j) {
        r->done++;
        r->tests_ended += j->n_tests;
        r->counts[j->status]++;
        if (!r->finished)
                return print_job_line(r, j);
        r->finished[j - r->rc->src.jobs.jobs] = true;
        print_in_order(r, false);
}

/* pytest: "tests 42/120 (35%)": the tests done in all jobs of those collected, as pytest's progress counts
 * them; "" for other runs. */
static const char *tests_progress(const Reporter *r, char *buf, size_t len) {
        uint64_t done = MIN(r->tests_ended + r->tests_running, r->tests_total);

        buf[0] = '\0';
        if (r->rc->src.pytest && r->tests_total > 0)
                (void) snprintf(buf, len, "tests %" PRIu64 "/%" PRIu64 " (%" PRIu64 "%%)", done, r->tests_total,
                                done * 100 / r->tests_total);
        return buf;
}

bool reporter_live(const Reporter *r) {
        return r->tty;
}

void reporter_resize(Reporter *r) {
        struct winsize ws = {};

        r->cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

/* The expected time left: what the pending jobs are expected to take, and the running ones beyond what they have
 * run, over the workers; <0 when a job has no estimate (a first run). */
static double eta_s(const Reporter *r, const SchedRunning *running, size_t n_running) {
        const JobList *l = &r->rc->src.jobs;
        double left = 0;

        for (size_t i = 0; i < l->n; i++)
                if (l->jobs[i].status == JOB_PENDING) {
                        if (l->jobs[i].expected_s < 0)
                                return -1;
                        left += l->jobs[i].expected_s;
                }
        for (size_t i = 0; i < n_running; i++) {
                if (running[i].job->expected_s < 0)
                        return -1;
                left += MAX(running[i].job->expected_s - running[i].elapsed_s, 0.0);
        }
        return left / MAX(r->rc->plan.workers, 1u);
}

/* "42s", "3m05s", "1h02m": whole seconds, which do not flicker in a line redrawn five times a second. */
static const char *format_clock(char buf[static 32], double seconds) {
        uint64_t t = seconds > 0 ? (uint64_t) (seconds + 0.5) : 0;

        if (t < 60)
                (void) snprintf(buf, 32, "%" PRIu64 "s", t);
        else if (t < 3600)
                (void) snprintf(buf, 32, "%" PRIu64 "m%02" PRIu64 "s", t / 60, t % 60);
        else
                (void) snprintf(buf, 32, "%" PRIu64 "h%02" PRIu64 "m", t / 3600, t / 60 % 60);
        return buf;
}

/* The status line's parts, in the order shown, then the running jobs' names in what width is left. A part is one
 * entry here (and one in status_drop[] if it may give way to the names on a narrow terminal). */
enum { STATUS_DONE, STATUS_TESTS, STATUS_COUNTS, STATUS_TIME, STATUS_MEM, _STATUS_PARTS };
#define STATUS_PART_MAX 128
/* Left out, in this order, until the first running job's name fits: the names are what the line is for. */
static const unsigned status_drop[] = { STATUS_MEM, STATUS_COUNTS };

static void status_parts(const Reporter *r, const SchedRunning *running, size_t n_running, uint64_t mem_in_use,
                         char parts[static _STATUS_PARTS][STATUS_PART_MAX]) {
        double eta = eta_s(r, running, n_running);
        char elapsed[32], left[32] = "?";

        (void) snprintf(parts[STATUS_DONE], STATUS_PART_MAX, "[%zu/%zu]", r->done, r->rc->src.jobs.n);
        (void) tests_progress(r, parts[STATUS_TESTS], STATUS_PART_MAX);
        (void) snprintf(parts[STATUS_COUNTS], STATUS_PART_MAX, "%u passed, %u failed",
                        r->counts[JOB_PASSED] + r->counts[JOB_FLAKY],
                        r->counts[JOB_FAILED] + r->counts[JOB_OOM] + r->counts[JOB_TIMEOUT] + r->counts[JOB_ERROR]);
        if (eta >= 0)
                (void) format_clock(left, eta);
        (void) snprintf(parts[STATUS_TIME], STATUS_PART_MAX, "%s, ETA %s",
                        format_clock(elapsed, (double) (now_usec() - r->t0) / 1e6), left);
        (void) snprintf(parts[STATUS_MEM], STATUS_PART_MAX, "mem %s/%s", FORMAT_SIZE(mem_in_use),
                        FORMAT_SIZE(r->rc->plan.usable_bytes));
}

/* Appends to line, which a long name may fill: it is cut there, as the terminal's width would cut it anyway. */
_printf_(3, 4) static void line_append(char *line, size_t size, const char *format, ...) {
        size_t len = strlen(line);
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(line + len, size - len, format, ap);
        va_end(ap);
}

#define RUNNING_PREFIX " | running: "
#define NAME_MIN_COLS 16 /* of the first name, kept on a narrow terminal */

/* "[3/10] 2 passed, 1 failed | 12s, ETA 40s | mem 1.2 GiB/20.0 GiB | running: test_a.py, test_b.py +2", cut to
 * the terminal's width in display columns (a name may hold CJK characters or emoji), one column short of it:
 * some terminals wrap once the last column is written. */
void reporter_tick(Reporter *r, const SchedRunning *running, size_t n_running, uint64_t mem_in_use) {
        char parts[_STATUS_PARTS][STATUS_PART_MAX], line[4096];
        size_t width = r->cols > 1 ? r->cols - 1 : 1, fixed = 0;

        if (!r->tty)
                return;
        status_parts(r, running, n_running, mem_in_use, parts);
        for (size_t d = 0;; d++) {
                line[0] = '\0';
                for (size_t i = 0; i < _STATUS_PARTS; i++)
                        if (parts[i][0])
                                line_append(line, sizeof line, "%s%s",
                                            !line[0] ? "" : streq(line, parts[STATUS_DONE]) ? " " : " | ", parts[i]);
                fixed = text_columns(line);
                if (n_running == 0 || d >= ELEMENTSOF(status_drop) ||
                    fixed + strlen(RUNNING_PREFIX) + MIN(text_columns(running[0].job->name), NAME_MIN_COLS) <= width)
                        break;
                parts[status_drop[d]][0] = '\0';
        }
        if (n_running > 0) {
                /* the first name, cut if need be to leave room for "+N" naming the others */
                const char *name = running[0].job->name;
                size_t used = text_columns(line) + strlen(RUNNING_PREFIX), room;
                char more[32] = "";
                if (n_running > 1)
                        (void) snprintf(more, sizeof more, " +%zu", n_running - 1);
                room = width > used + strlen(more) ? width - used - strlen(more) : 0;
                if (*more && text_columns(name) > room && room > 3) {
                        line_append(line, sizeof line, RUNNING_PREFIX "%.*s...%s",
                                    (int) text_fit_columns(name, room - 3, NULL), name, more);
                        n_running = 1; /* all named */
                } else
                        line_append(line, sizeof line, RUNNING_PREFIX "%s", name);
        }
        /* as many more names as fit, with room left for "+N" naming the rest */
        for (size_t i = 1; i < n_running; i++) {
                char more[32];
                (void) snprintf(more, sizeof more, " +%zu", n_running - i - 1);
                if (text_columns(line) + 2 + text_columns(running[i].job->name) +
                    (i + 1 < n_running ? strlen(more) : 0) > width) {
                        line_append(line, sizeof line, " +%zu", n_running - i);
                        break;
                }
                line_append(line, sizeof line, ", %s", running[i].job->name);
        }
        fprintf(stderr, "\r\033[K%.*s", (int) text_fit_columns(line, width, NULL), line);
        fflush(stderr);
        r->line_shown = true;
}

/* CI logs never look hung: nextest's "SLOW [> 60s]" line for a job still running, where no status line is. */
void reporter_slow(Reporter *r, const Job *j, uint64_t elapsed_usec) {
        if (r->tty)
                return;
        printf("SLOW [>%" PRIu64 "s] %s\n", elapsed_usec / USEC_PER_SEC, j->name);
        fflush(stdout);
}

/* The end of a failed job's output, where pytest prints its failures and summary: its last TAIL_LINES lines, read
 * from at most its last TAIL_BYTES bytes, so that nsrun's memory stays the same whatever a job prints (one line of
 * 300 MiB, or gigabytes). The job's own text, escaped for the terminal (fwrite_output_escaped()). */
#define TAIL_LINES 200
#define TAIL_BYTES (UINT64_C(128) << 10)
static void show_output(const Job *j) {
        _cleanup_close_ int fd = j->log_path ? open(j->log_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        uint64_t from;
        ssize_t n;
        char *p;
        size_t lines = 0;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
                return;
        from = (uint64_t) st.st_size > TAIL_BYTES ? (uint64_t) st.st_size - TAIL_BYTES : 0;
        buf = malloc(TAIL_BYTES + 1);
        if (!buf)
                return;
        n = pread(fd, buf, TAIL_BYTES, (off_t) from);
        if (n <= 0)
                return;
        buf[n] = '\0';
        p = buf;
        /* begin at a line's start: past the first newline when the window begins mid-file, unless that would
         * leave nothing (one line longer than the window: its end is shown) */
        if (from > 0 && memchr(buf, '\n', (size_t) n - 1))
                p = (char *) memchr(buf, '\n', (size_t) n - 1) + 1;
        /* back over TAIL_LINES line starts, from before the newline that ends the output */
        for (char *q = buf + n - (buf[n - 1] == '\n'); q > p; q--)
                if (q[-1] == '\n' && ++lines == TAIL_LINES) {
                        p = q;
                        break;
                }
        if (from > 0 || p != buf)
                printf("... (the output before is cut; all of it is in %s)\n", j->log_path);
        fwrite_output_escaped(p, (size_t) (buf + n - p), stdout);
        if (buf[n - 1] != '\n')
                putchar('\n');
}

/* A GitHub Actions workflow command's property (%, CR, LF, ':' and ',' escaped) or, with prop false, its message
 * (%, CR, LF): https://docs.github.com/actions/reference/workflow-commands-for-github-actions */
static void print_gh_escaped(const char *s, bool prop) {
        for (; *s; s++)
                if (*s == '%' || *s == '\r' || *s == '\n' || (prop && (*s == ':' || *s == ',')))
                        printf("%%%02X", (unsigned char) *s);
                else
                        putchar(*s);
}

/* A token for GitHub's ::stop-commands::, unguessable, or a job could print it and have its own commands read
 * again. */
static uint64_t ci_token(const char *seed) {
        uint64_t token = 0;

        if (getrandom(&token, sizeof token, GRND_NONBLOCK) != sizeof token)
                token = fnv1a64(seed) ^ now_usec() ^ (uint64_t) getpid() << 32;
        return token;
}

/* Before text a job wrote (its output, a test's report): on GitHub Actions an ::error annotation (title and
 * message, when given), and the text in a ::group:: with workflow commands stopped, so that nothing the job
 * printed is taken as one; on GitLab a collapsed section (https://docs.gitlab.com/ci/jobs/job_logs/
 * #custom-collapsible-sections). Returns the token ci_close() needs. */
static uint64_t ci_open(const Reporter *r, const char *title, const char *message, const char *group, size_t index) {
        uint64_t token = ci_token(group);

        if (r->ci == CI_GITHUB) {
                if (title) {
                        printf("::error title=");
                        print_gh_escaped(title, true);
                        printf("::");
                        print_gh_escaped(message, false);
                        printf("\n");
                }
                printf("::group::");
                print_gh_escaped(group, false);
                printf("\n::stop-commands::nsrun-%016" PRIx64 "\n", token);
        } else if (r->ci == CI_GITLAB)
                printf("\033[0Ksection_start:%ld:nsrun_job_%zu[collapsed=true]\r\033[0K", (long) time(NULL), index);
        return token;
}

static void ci_close(const Reporter *r, uint64_t token, size_t index) {
        if (r->ci == CI_GITHUB)
                printf("::nsrun-%016" PRIx64 "::\n::endgroup::\n", token);
        else if (r->ci == CI_GITLAB)
                printf("\033[0Ksection_end:%ld:nsrun_job_%zu\r\033[0K\n", (long) time(NULL), index);
}

/* A failed job's header and the end of its output. */
static void show_failure(const Reporter *r, const Job *j, size_t index) {
        _cleanup_free_ char *message = NULL;
        char what[512];
        uint64_t token;

        describe(j, what, sizeof what);
        if (asprintf(&message, "%s: %s%s%s", job_status_to_string(j->status), j->name, what[0] ? ": " : "", what) < 0)
                return;
        token = ci_open(r, j->name, message, j->name, index);
        if (r->ci == CI_NONE)
                printf("\n");
        printf("==== %s %s%s%s ====\n", status_word(r, j->status), j->name, what[0] ? ": " : "", what);
        if (r->rc->opt->no_capture)
                printf("(its output is above, shown as it ran: --no-capture)\n");
        show_output(j);
        ci_close(r, token, index);
}

/* pytest's separator line ("=== FAILURES ===", TerminalWriter.sep()): as wide as the terminal, sgr its colour. */
static void print_sep(const Reporter *r, char c, const char *title, const char *sgr) {
        size_t tw = text_columns(title), n = r->width > tw + 4 ? (r->width - tw - 2) / 2 : 1;
        bool color = r->color && sgr;

        printf("%s", color ? sgr : "");
        for (size_t i = 0; i < n; i++)
                putchar(c);
        printf(" %s ", title);
        for (size_t i = 0; i < n; i++)
                putchar(c);
        if (2 * n + tw + 3 <= r->width)
                putchar(c);
        printf("%s\n", color ? "\033[0m" : "");
}

/* pytest -v's line, "tests/test_a.py::test_x PASSED", and as pytest, the progress at the right edge. */
static void print_verbose_line(Reporter *r, const char *line) {
        _cleanup_free_ char *e = escape_name(line);
        char progress[32];
        size_t w, len;

        if (!e)
                return;
        r->verbose_shown++;
        (void) snprintf(progress, sizeof progress, " [%3" PRIu64 "%%]",
                        r->tests_total ? MIN(r->verbose_shown, r->tests_total) * 100 / r->tests_total : 100);
        w = text_columns(e);
        len = strlen(progress);
        printf("%s%*s\n", e, (int) MAX(r->width > w + 1 ? r->width - w - 1 : 0, len), progress);
}

/* pytest -v: the lines the job's running attempt added to its VERBOSE_FILE since the last call, complete ones
 * only unless final; read VERBOSE_CHUNK bytes at a time, whatever the job writes. */
#define VERBOSE_CHUNK (64U << 10)
static int drain_verbose(Reporter *r, const Job *j, bool final) {
        size_t index = (size_t) (j - r->rc->src.jobs.jobs);
        _cleanup_free_ char *dir = job_attempt_dir(j), *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t token = 0;
        struct stat st;

        if (!r->verbose || !dir)
                return 0;
        if (r->verbose[index].attempt != j->attempts) {
                r->verbose[index].attempt = j->attempts;
                r->verbose[index].offset = 0;
        }
        if (asprintf(&path, "%s/" VERBOSE_FILE, dir) < 0)
                return -ENOMEM;
        fd = open_job_file_at(AT_FDCWD, path, &st);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        if ((uint64_t) st.st_size > JOB_FILE_MAX)
                return -EFBIG;
        if (r->verbose[index].offset >= (uint64_t) st.st_size || !(buf = malloc(VERBOSE_CHUNK + 1)))
                return 0;
        while (r->verbose[index].offset < (uint64_t) st.st_size) {
                uint64_t off = r->verbose[index].offset;
                ssize_t n = pread(fd, buf, (size_t) MIN((uint64_t) VERBOSE_CHUNK, (uint64_t) st.st_size - off),
                                  (off_t) off);
                char *end;
                size_t used;

                if (n <= 0)
                        break;
                end = memrchr(buf, '\n', (size_t) n);
                /* up to its last newline; a line longer than a chunk, or the last, unfinished one once the job
                 * has ended, as it is */
                used = end ? (size_t) (end - buf) + 1 : final || n == VERBOSE_CHUNK ? (size_t) n : 0;
                if (used == 0)
                        break;
                buf[used - (buf[used - 1] == '\n')] = '\0';
                if (r->tty)
                        clear_line(r);
                if (r->ci == CI_GITHUB && token == 0)
                        printf("::stop-commands::nsrun-%016" PRIx64 "\n", token = ci_token(j->name) | 1);
                for (char *line = buf, *next; line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        print_verbose_line(r, line);
                }
                r->verbose[index].offset += used;
        }
        if (token)
                printf("::nsrun-%016" PRIx64 "::\n", token);
        fflush(stdout);
        return 0;
}

/* The tests the running attempt of a job has finished, from its plugin's progress.json. */
static uint64_t progress_done(const Job *j) {
        _cleanup_close_ int fd = job_attempt_dir_open(j);

        return fd < 0 ? 0 : MIN(pytest_attempt_done(fd), j->n_tests);
}

void reporter_poll_tests(Reporter *r) {
        const JobList *l = &r->rc->src.jobs;

        if (!r->rc->src.pytest)
                return;
        r->tests_running = 0;
        for (size_t i = 0; i < l->n; i++)
                if (l->jobs[i].status == JOB_RUNNING) {
                        (void) drain_verbose(r, &l->jobs[i], false);
                        if (r->tty)
                                r->tests_running += progress_done(&l->jobs[i]);
                }
}

int reporter_job_results(Reporter *r, const Job *j, const char **ret_file) {
        _cleanup_free_ char *dir = job_attempt_dir(j);
        int k;

        if (!r->rc->src.pytest || !dir)
                return 0;
        k = drain_verbose(r, j, true);
        if (k < 0) {
                *ret_file = VERBOSE_FILE;
                return k;
        }
        *ret_file = REPORTS_FILE;
        return pytest_reports_read(&r->reports, &r->rc->src, (size_t) (j - r->rc->src.jobs.jobs), dir);
}

/* Whether the job's failure is told by its tests' own reports (pytest's FAILURES and ERRORS sections) rather
 * than the end of its log: a pytest job that ended on its own, having reported some. A killed job keeps its
 * culprit line and the end of its log. */
static bool told_by_tests(const Reporter *r, const Job *j) {
        return r->rc->src.pytest && !j->signal && !j->killed_in && !j->error &&
               (j->status == JOB_FAILED || j->status == JOB_ERROR) &&
               pytest_reports_failed(&r->reports, (size_t) (j - r->rc->src.jobs.jobs)) > 0;
}

/* A pytest report's block cut at this size: the plugin cuts each at 64 KiB; a bigger one is not its. */
#define REPORT_TEXT_MAX (1U << 20)

/* pytest's FAILURES (kind 'f') or ERRORS ('E') section: each test's block as its job's pytest rendered it, in
 * pytest's order. */
static void show_test_reports(const Reporter *r, char kind, const char *title) {
        const JobList *l = &r->rc->src.jobs;
        bool any = false;

        for (size_t i = 0; i < r->reports.n; i++) {
                const PytestReport *x = &r->reports.v[i];
                const Job *j = &l->jobs[x->job];
                _cleanup_free_ char *dir = NULL, *text = NULL;
                uint64_t token;
                bool cut = false;

                if (x->kind != kind || !x->has_text)
                        continue;
                if (!any) {
                        printf("\n");
                        print_sep(r, '=', title, NULL);
                        any = true;
                }
                dir = job_attempt_dir(j);
                text = dir ? pytest_report_text(x, dir, REPORT_TEXT_MAX, &cut) : NULL;
                token = ci_open(r, j->name, x->summary ?: title, x->summary ?: j->name, l->n + i);
                if (text) {
                        fwrite_output_escaped(text, strlen(text), stdout);
                        if (text[0] && text[strlen(text) - 1] != '\n')
                                putchar('\n');
                } else
                        printf("%s: a test's report could not be read back%s; all of it is in %s\n", j->name,
                               cut ? " (over 1 MiB)" : "", j->log_path ?: "its log");
                ci_close(r, token, l->n + i);
        }
}

/* "SKIPPED [2] test_b.py:10: why": pytest's short summary folds skips of one place and reason, over all jobs. */
typedef struct Fold {
        char *line;             /* "SKIPPED [1] test_b.py:10: why", a copy */
        size_t word, rest;      /* "SKIPPED" is line[0, word), "test_b.py:10: why" starts at rest */
        uint64_t count;         /* 0: not in pytest's form, shown as it is */
        size_t first;
} Fold;

static int cmp_fold_key(const Fold *x, const Fold *y) {
        if (x->count == 0 || y->count == 0) /* never folded */
                return (x->first > y->first) - (x->first < y->first);
        if (x->word != y->word)
                return x->word < y->word ? -1 : 1;
        return strncmp(x->line, y->line, x->word) ?: strcmp(x->line + x->rest, y->line + y->rest);
}

static int cmp_fold(const void *a, const void *b) {
        const Fold *x = a, *y = b;
        return cmp_fold_key(x, y) ?: (x->first > y->first) - (x->first < y->first);
}

static int cmp_fold_first(const void *a, const void *b) {
        const Fold *x = a, *y = b;
        return (x->first > y->first) - (x->first < y->first);
}

static void show_folded_skips(const Reporter *r) {
        Fold *v = NULL;
        size_t n = 0, m = 0;

        for (size_t i = 0; i < r->reports.n; i++)
                for (const char *p = r->reports.v[i].kind == 's' ? r->reports.v[i].summary : NULL; p && *p;) {
                        const char *nl = strchr(p, '\n'), *open, *close;
                        Fold f = { .first = n };
                        Fold *grown = reallocarray(v, n + 1, sizeof *v);
                        if (!grown || !(f.line = strndup(p, nl ? (size_t) (nl - p) : strlen(p)))) {
                                v = grown ?: v;
                                goto done;
                        }
                        v = grown;
                        open = strstr(f.line, " [");
                        close = open ? strstr(open, "] ") : NULL;
                        if (close && parse_u64_span(open + 2, (size_t) (close - open - 2), &f.count) >= 0 && f.count) {
                                f.word = (size_t) (open - f.line);
                                f.rest = (size_t) (close + 2 - f.line);
                        } else
                                f.count = 0;
                        v[n++] = f;
                        p = nl ? nl + 1 : NULL;
                }
        if (n > 0)
                qsort(v, n, sizeof *v, cmp_fold);
        for (size_t i = 0; i < n; i++)
                if (m > 0 && cmp_fold_key(&v[m - 1], &v[i]) == 0) {
                        v[m - 1].count += v[i].count;
                        free(v[i].line);
                } else
                        v[m++] = v[i];
        n = m;
        if (n > 0)
                qsort(v, n, sizeof *v, cmp_fold_first);
        for (size_t i = 0; i < n; i++)
                if (v[i].count > 0)
                        printf("%.*s [%" PRIu64 "] %s\n", (int) v[i].word, v[i].line, v[i].count, v[i].line + v[i].rest);
                else
                        printf("%s\n", v[i].line);
done:
        for (size_t i = 0; i < n; i++)
                free(v[i].line);
        free(v);
}

/* pytest's "short test summary info", over all jobs, its -r characters' sections in their order; for 'E' also
 * the test each killed job was running. Last before nsrun's own line. */
static void show_short_summary(const Reporter *r) {
        const JobList *l = &r->rc->src.jobs;
        const char *chars = r->reports.reportchars[0] ? r->reports.reportchars : "fE";
        uint64_t token = 0;
        bool any = false;

        for (const char *c = chars; *c; c++) {
                bool fold = *c == 's';
                for (size_t i = 0; i < r->reports.n + (*c == 'E' ? l->n : 0); i++) {
                        const PytestReport *x = i < r->reports.n ? &r->reports.v[i] : NULL;
                        const Job *j = x ? NULL : &l->jobs[i - r->reports.n];
                        char what[512];

                        if (x ? x->kind != *c || !x->summary : !j->killed_in || !job_status_is_failure(j->status, true))
                                continue;
                        if (!any) {
                                printf("\n");
                                if (r->ci == CI_GITHUB) /* the reports' lines are the jobs' text */
                                        printf("::stop-commands::nsrun-%016" PRIx64 "\n", token = ci_token("summary"));
                                print_sep(r, '=', "short test summary info", "\033[36m\033[1m");
                                any = true;
                        }
                        if (fold) {
                                show_folded_skips(r);
                                break;
                        }
                        if (x) {
                                printf("%s\n", x->summary);
                                continue;
                        }
                        Job k = *j; /* its reason without " while running <the test>": the line names it */
                        k.killed_in = NULL;
                        describe(&k, what, sizeof what);
                        printf("%s %s - %s\n", r->color ? "\033[31mERROR\033[0m" : "ERROR", j->killed_in, what);
                }
        }
        if (token)
                printf("::nsrun-%016" PRIx64 "::\n", token);
}

static int cmp_wall(const void *a, const void *b) {
        const Job *x = *(const Job *const *) a, *y = *(const Job *const *) b;
        return x->wall_s < y->wall_s ? 1 : x->wall_s > y->wall_s ? -1 : 0;
}

static int cmp_peak(const void *a, const void *b) {
        const Job *x = *(const Job *const *) a, *y = *(const Job *const *) b;
        return x->peak_mem < y->peak_mem ? 1 : x->peak_mem > y->peak_mem ? -1 : 0;
}

static void show_top(const JobList *l, int (*cmp)(const void *, const void *), const char *title, bool mem,
                     const char *tail) {
        _cleanup_free_ const Job **v = new0(const Job *, l->n + 1);
        size_t n = 0;

        if (!v)
                return;
        for (size_t i = 0; i < l->n; i++)
                if (l->jobs[i].attempts > 0 && (!mem || l->jobs[i].peak_mem > 0)) /* measured */
                        v[n++] = &l->jobs[i];
        if (n < 2)
                return;
        qsort(v, n, sizeof *v, cmp);
        printf("%s:", title);
        for (size_t i = 0; i < MIN(n, (size_t) 5); i++)
                printf(" %s (%s)%s", v[i]->name,
                       mem ? FORMAT_SIZE(v[i]->peak_mem) : FORMAT_DURATION((uint64_t) (v[i]->wall_s * 1e6)),
                       i + 1 < MIN(n, (size_t) 5) ? "," : "");
        printf("%s\n", tail ?: "");
}

/* Where the jobs' time went besides their tests: sandbox and cgroup setup and teardown, and (pytest) each job's
 * own start-up. */
typedef struct Overhead {
        double job_s, sandbox_s, startup_s;
} Overhead;

static Overhead overhead(const JobList *l) {
        Overhead o = {};

        for (size_t i = 0; i < l->n; i++) {
                const Job *j = &l->jobs[i];
                if (j->attempts == 0)
                        continue;
                o.job_s += j->setup_s + j->wall_s + j->teardown_s;
                o.sandbox_s += j->setup_s + j->teardown_s;
                o.startup_s += MAX(job_startup_s(j), 0.0);
        }
        return o;
}

/* "2 passed, 1 interrupted": the counts that are not zero, in a fixed order. */
static void print_counts(const unsigned *counts, const char *const *words, size_t n) {
        const char *sep = "";

        for (size_t i = 0; i < n; i++)
                if (counts[i] > 0) {
                        printf("%s%u %s", sep, counts[i], words[i]);
                        sep = ", ";
                }
}

/* The last line: "nsrun: 3 jobs: 2 passed, 1 failed; tests: 40 passed, 2 failed; 2 workers, 1.5s". */
/* The tests of every job, in pytest's words, for the summary and --json's totals. */
typedef struct TestTotals {
        unsigned passed, failed, skipped, errors, xfailed, xpassed, rerun;
} TestTotals;

static TestTotals test_totals(const JobList *l) {
        TestTotals t = {};

        for (size_t i = 0; i < l->n; i++) {
                const Job *j = &l->jobs[i];
                t.passed += j->tests_passed;
                t.failed += j->tests_failed;
                t.skipped += j->tests_skipped;
                t.errors += j->tests_errors;
                t.xfailed += j->tests_xfailed;
                t.xpassed += j->tests_xpassed;
                t.rerun += j->tests_rerun;
        }
        return t;
}

/* The last line: jobs by outcome (zero counts left out), then for pytest the tests in pytest's words
 * (tests_what, as pytest_counts_format() wrote them). */
static void print_totals(const Reporter *r, const char *tests_what) {
        static const char *const job_words[] = { "passed", "failed", "flaky", "oom", "timeout", "error",
                                                 "interrupted", "not run" };
        const RunContext *rc = r->rc;
        size_t n = rc->src.jobs.n;
        const unsigned jobs[] = { r->counts[JOB_PASSED], r->counts[JOB_FAILED], r->counts[JOB_FLAKY],
                                  r->counts[JOB_OOM], r->counts[JOB_TIMEOUT], r->counts[JOB_ERROR],
                                  r->counts[JOB_INTERRUPTED], (unsigned) (n - r->done) + r->counts[JOB_NOT_RUN] };

        printf("nsrun: %zu %s: ", n, PLURAL(n, "job"));
        print_counts(jobs, job_words, ELEMENTSOF(jobs));
        if (rc->src.pytest)
                printf("; tests: %s", tests_what);
        printf("; %u %s, %s\n", rc->plan.workers, PLURAL(rc->plan.workers, "worker"),
               FORMAT_DURATION((uint64_t) (rc->wall_s * 1e6)));
        fflush(stdout);
}

void reporter_summary(Reporter *r) {
        const RunContext *rc = r->rc;
        const JobList *l = &rc->src.jobs;
        TestTotals t = test_totals(l);
        char what[512];

        clear_line(r);
        if (r->finished)
                print_in_order(r, true);
        for (size_t i = 0; i < l->n; i++)
                if (job_status_is_failure(l->jobs[i].status, true) && !told_by_tests(r, &l->jobs[i]))
                        show_failure(r, &l->jobs[i], i);
        pytest_reports_sort(&r->reports);
        show_test_reports(r, 'E', "ERRORS");
        show_test_reports(r, 'f', "FAILURES");
        printf("\n");
        show_top(l, cmp_wall, "slowest", false, NULL);
        /* forked jobs' peaks leave out the imports they share with their prepared interpreter (--fork) */
        if (rc->prepared_peak > 0)
                (void) snprintf(what, sizeof what, "; prepared interpreters up to %s (the imports their jobs share)",
                                FORMAT_SIZE(rc->prepared_peak));
        show_top(l, cmp_peak, "most memory", true, rc->prepared_peak > 0 ? what : NULL);
        Overhead o = overhead(l);
        if (o.job_s > 0 && rc->src.pytest)
                printf("start-up: %.0f%% of the jobs' time (sandboxes %.1f%%, pytest's own start-up %.0f%%)\n",
                       100 * (o.sandbox_s + o.startup_s) / o.job_s, 100 * o.sandbox_s / o.job_s,
                       100 * o.startup_s / o.job_s);
        else if (o.job_s > 0)
                printf("start-up: sandboxes %.1f%% of the jobs' time\n", 100 * o.sandbox_s / o.job_s);
        for (size_t i = 0; i < l->n; i++)
                if (l->jobs[i].status == JOB_OOM || l->jobs[i].status == JOB_TIMEOUT) {
                        describe(&l->jobs[i], what, sizeof what);
                        printf("%s: %s\n", l->jobs[i].name, what);
                } else if (l->jobs[i].oom_limit > 0) {
                        describe_rerun(&l->jobs[i], what, sizeof what);
                        printf("%s: %s: %s, peak %s (kept for its next request)\n", l->jobs[i].name, what,
                               job_status_to_string(l->jobs[i].status), FORMAT_SIZE(l->jobs[i].peak_mem));
                }
        if (rc->src.pytest)
                show_short_summary(r);
        pytest_counts_format(t.passed, t.failed, t.skipped, t.errors, t.xfailed, t.xpassed, t.rerun, what,
                             sizeof what);
        print_totals(r, what);
}

/* ---- --json ---- */

static json_object *job_json(const Job *j) {
        json_object *o = json_object_new_object(), *argv = json_object_new_array();

        json_object_object_add(o, "name", json_object_new_string(j->name));
        /* escaped as names are: an argument is the user's bytes, not always UTF-8, and JSON must be */
        for (size_t i = 0; j->argv && j->argv[i]; i++) {
                _cleanup_free_ char *word = escape_name(j->argv[i]);
                json_object_array_add(argv, json_object_new_string(word ?: ""));
        }
        json_object_object_add(o, "argv", argv);
        json_object_object_add(o, "status", json_object_new_string(j->status == JOB_PENDING ? "pending"
                                                                                           : job_status_to_string(j->status)));
        json_object_object_add(o, "exit_code", j->exit_code >= 0 && j->attempts ? json_object_new_int(j->exit_code) : NULL);
        json_object_object_add(o, "signal", j->signal ? json_object_new_int(j->signal) : NULL);
        json_object_object_add(o, "attempts", json_object_new_int((int) j->attempts));
        json_object_object_add(o, "wall_s", json_object_new_double(j->wall_s));
        json_object_object_add(o, "start_s", json_object_new_double(j->start_s));
        json_object_object_add(o, "setup_s", json_object_new_double(j->setup_s));
        json_object_object_add(o, "command_s", json_object_new_double(j->wall_s));
        json_object_object_add(o, "teardown_s", json_object_new_double(j->teardown_s));
        /* 0 is no measurement (rootless with --mem-cap off): null, as the job line's "peak n/a" */
        json_object_object_add(o, "peak_mem_bytes", j->peak_mem ? json_object_new_int64((int64_t) j->peak_mem) : NULL);
        json_object_object_add(o, "mem_request_bytes", json_object_new_int64((int64_t) j->mem_request));
        json_object_object_add(o, "mem_limit_bytes", json_object_new_int64((int64_t) j->mem_limit));
        json_object_object_add(o, "cpu_s", j->cpu_s > 0 ? json_object_new_double(j->cpu_s) : NULL);
        json_object_object_add(o, "cpu_request", json_object_new_int((int) j->cpu_request));
        json_object_object_add(o, "oom_kills", json_object_new_int64((int64_t) j->oom_kills));
        json_object_object_add(o, "oom_rerun_alone_after_bytes",
                               j->oom_limit ? json_object_new_int64((int64_t) j->oom_limit) : NULL);
        json_object_object_add(o, "tests", json_object_new_int((int) j->n_tests));
        json_object_object_add(o, "tests_passed", json_object_new_int((int) j->tests_passed));
        json_object_object_add(o, "tests_failed", json_object_new_int((int) j->tests_failed));
        json_object_object_add(o, "tests_skipped", json_object_new_int((int) j->tests_skipped));
        json_object_object_add(o, "tests_errors", json_object_new_int((int) j->tests_errors));
        json_object_object_add(o, "tests_xfailed", json_object_new_int((int) j->tests_xfailed));
        json_object_object_add(o, "tests_xpassed", json_object_new_int((int) j->tests_xpassed));
        json_object_object_add(o, "tests_rerun", json_object_new_int((int) j->tests_rerun));
        json_object_object_add(o, "serial", json_object_new_boolean(j->serial));
        json_object_object_add(o, "expected_s", j->expected_s >= 0 ? json_object_new_double(j->expected_s) : NULL);
        json_object_object_add(o, "log", j->log_path ? json_object_new_string(j->log_path) : NULL);
        if (j->members) {
                json_object *files = json_object_new_array();
                for (size_t i = 0; j->members[i]; i++)
                        json_object_array_add(files, json_object_new_string(j->members[i]));
                json_object_object_add(o, "files", files);
        }
        if (j->file_s) {
                /* what nsrun merge needs to keep each file's history exact */
                json_object *secs = json_object_new_object();
                char *single[2];
                char *const *names = job_files(j, single);
                for (size_t i = 0; names[i]; i++)
                        json_object_object_add(secs, names[i], json_object_new_double(j->file_s[i]));
                json_object_object_add(o, "file_seconds", secs);
        }
        json_object_object_add(o, "error", j->error ? json_object_new_string(j->error) : NULL);
        json_object_object_add(o, "killed_in", j->killed_in ? json_object_new_string(j->killed_in) : NULL);
        json_object_object_add(o, "handed_over", json_object_new_int((int) j->handed_over));
        return o;
}

static json_object *budget_json(const RunContext *rc) {
        const PlanInput *in = &rc->plan_input;
        json_object *o = json_object_new_object();

        json_object_object_add(o, "cpus", json_object_new_double(in->cpu.cpus));
        json_object_object_add(o, "cpu_source", json_object_new_string(in->cpu.source));
        json_object_object_add(o, "mem_bytes", json_object_new_int64((int64_t) in->mem.bytes));
        json_object_object_add(o, "mem_source", json_object_new_string(in->mem.source));
        json_object_object_add(o, "mem_reserve_bytes", json_object_new_int64((int64_t) rc->plan.reserve_bytes));
        json_object_object_add(o, "bound", json_object_new_string(plan_bound_to_string(rc->plan.bound)));
        return o;
}

/* Each setting with where it came from: the settings file (and its line), NSRUN_OPTS or the command line. */
static json_object *settings_json(const RunOptions *o) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < o->n_settings; i++) {
                const Setting *s = &o->settings[i];
                json_object *x = json_object_new_object();
                json_object_object_add(x, "option", json_object_new_string(s->option));
                json_object_object_add(x, "value", s->value ? json_object_new_string(s->value) : NULL);
                json_object_object_add(x, "source", json_object_new_string(s->source));
                json_object_object_add(x, "line", s->line ? json_object_new_int((int) s->line) : NULL);
                json_object_array_add(a, x);
        }
        return a;
}

int report_write_json(const RunContext *rc, const char *path) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *jobs = json_object_new_array(), *totals = json_object_new_object();
        TestTotals t = test_totals(&rc->src.jobs);

        json_object_object_add(root, "dry_run", json_object_new_boolean(rc->opt->dry_run));
        json_object_object_add(root, "workers", json_object_new_int((int) rc->plan.workers));
        json_object_object_add(root, "mem_per_worker_bytes", json_object_new_int64((int64_t) rc->plan.mem_per_job));
        json_object_object_add(root, "mem_learned", json_object_new_boolean(rc->plan_input.learned));
        json_object_object_add(root, "cpu_budget", json_object_new_double(rc->plan_input.cpu.cpus));
        json_object_object_add(root, "mem_budget_bytes", json_object_new_int64((int64_t) rc->plan.usable_bytes));
        json_object_object_add(root, "budget", budget_json(rc));
        json_object_object_add(root, "settings", settings_json(rc->opt));
        json_object_object_add(root, "wall_s", json_object_new_double(rc->wall_s));
        json_object_object_add(root, "shard", rc->shard[0] ? json_object_new_string(rc->shard) : NULL);
        json_object_object_add(root, "collection_reused",
                               rc->src.pytest ? json_object_new_boolean(rc->src.collect_reused) : NULL);
        json_object_object_add(root, "setup_s", rc->opt->setup ? json_object_new_double(rc->setup_s) : NULL);
        json_object_object_add(root, "prepared_peak_mem_bytes",
                               rc->prepared_peak > 0 ? json_object_new_int64((int64_t) rc->prepared_peak) : NULL);
        {
                Overhead o = overhead(&rc->src.jobs);
                json_object *x = json_object_new_object();
                json_object_object_add(x, "job_s", json_object_new_double(o.job_s));
                json_object_object_add(x, "sandbox_s", json_object_new_double(o.sandbox_s));
                json_object_object_add(x, "pytest_startup_s", rc->src.pytest ? json_object_new_double(o.startup_s) : NULL);
                json_object_object_add(x, "share", o.job_s > 0 ? json_object_new_double((o.sandbox_s + o.startup_s) / o.job_s) : NULL);
                json_object_object_add(root, "startup", x);
        }
        for (size_t i = 0; i < rc->src.jobs.n; i++)
                json_object_array_add(jobs, job_json(&rc->src.jobs.jobs[rc->order[i]]));
        json_object_object_add(root, "jobs", jobs);
        json_object_object_add(totals, "jobs", json_object_new_int((int) rc->src.jobs.n));
        json_object_object_add(totals, "tests_passed", json_object_new_int((int) t.passed));
        json_object_object_add(totals, "tests_failed", json_object_new_int((int) t.failed));
        json_object_object_add(totals, "tests_skipped", json_object_new_int((int) t.skipped));
        json_object_object_add(totals, "tests_errors", json_object_new_int((int) t.errors));
        json_object_object_add(totals, "tests_xfailed", json_object_new_int((int) t.xfailed));
        json_object_object_add(totals, "tests_xpassed", json_object_new_int((int) t.xpassed));
        json_object_object_add(totals, "tests_rerun", json_object_new_int((int) t.rerun));
        json_object_object_add(root, "totals", totals);
        if (json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
                return log_error_errno(EIO,
                                       "--json %s: cannot write it: %s", path, json_util_get_last_err() ?: "error");
        return 0;
}

/* ---- --junit ---- */

/* An attribute's value as a number, read in place (no copy to free). */
unsigned junit_attr_uint(xmlNodePtr n, const char *name) {
        xmlAttrPtr a = sym_xmlHasProp(n, BAD_CAST name);

        if (!a || !a->children || !a->children->content)
                return 0;
        return (unsigned) strtoul((const char *) a->children->content, NULL, 10);
}

/* A job's JUnit report, which the job could have replaced with anything: read as read_job_file_at() reads. */
int junit_read_job_xml(const char *path, xmlDocPtr *ret) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_job_file_at(AT_FDCWD, path, JOB_FILE_MAX, &text, &size);
        if (r < 0)
                return r;
        *ret = sym_xmlReadMemory(text, (int) size, path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        return *ret ? 0 : -EBADMSG;
}

xmlNodePtr junit_first_suite(xmlDocPtr doc) {
        xmlNodePtr root = sym_xmlDocGetRootElement(doc);

        if (root && sym_xmlStrEqual(root->name, BAD_CAST "testsuites"))
                for (xmlNodePtr c = root->children; c; c = c->next)
                        if (c->type == XML_ELEMENT_NODE && sym_xmlStrEqual(c->name, BAD_CAST "testsuite"))
                                return c;
        return root && sym_xmlStrEqual(root->name, BAD_CAST "testsuite") ? root : NULL;
}

void junit_set_totals(xmlNodePtr root, unsigned tests, unsigned failures, unsigned errors) {
        const struct {
                const char *name;
                unsigned value;
        } totals[] = { { "tests", tests }, { "failures", failures }, { "errors", errors } };
        char num[32];

        for (size_t i = 0; i < ELEMENTSOF(totals); i++) {
                (void) snprintf(num, sizeof num, "%u", totals[i].value);
                sym_xmlNewProp(root, BAD_CAST totals[i].name, BAD_CAST num);
        }
}

int junit_read_counts(const char *path, unsigned *tests, unsigned *failures, unsigned *skipped) {
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        xmlNodePtr s;
        int r;

        if (dlopen_libxml2(NULL) < 0)
                return -EOPNOTSUPP;
        r = junit_read_job_xml(path, &doc);
        if (r < 0)
                return r;
        *tests = *failures = *skipped = 0;
        for (s = junit_first_suite(doc); s; s = s->next)
                if (s->type == XML_ELEMENT_NODE && sym_xmlStrEqual(s->name, BAD_CAST "testsuite")) {
                        *tests += junit_attr_uint(s, "tests");
                        *failures += junit_attr_uint(s, "failures") + junit_attr_uint(s, "errors");
                        *skipped += junit_attr_uint(s, "skipped");
                }
        return 0;
}

/* A job without a JUnit report of its own (not pytest, or killed before pytest wrote it) becomes one testcase. */
static xmlNodePtr synthetic_suite(const Job *j) {
        xmlNodePtr s = sym_xmlNewNode(NULL, BAD_CAST "testsuite"), c;
        bool bad = job_status_is_failure(j->status, false);
        char buf[512], num[32];

        sym_xmlNewProp(s, BAD_CAST "name", BAD_CAST j->name);
        sym_xmlNewProp(s, BAD_CAST "tests", BAD_CAST "1");
        sym_xmlNewProp(s, BAD_CAST "failures", BAD_CAST(bad && j->status == JOB_FAILED ? "1" : "0"));
        sym_xmlNewProp(s, BAD_CAST "errors", BAD_CAST(bad && j->status != JOB_FAILED ? "1" : "0"));
        sym_xmlNewProp(s, BAD_CAST "skipped",
                       BAD_CAST(j->status == JOB_NOT_RUN || j->status == JOB_INTERRUPTED ? "1" : "0"));
        (void) snprintf(num, sizeof num, "%.3f", j->wall_s);
        sym_xmlNewProp(s, BAD_CAST "time", BAD_CAST num);
        c = sym_xmlNewChild(s, NULL, BAD_CAST "testcase", NULL);
        sym_xmlNewProp(c, BAD_CAST "classname", BAD_CAST "nsrun");
        sym_xmlNewProp(c, BAD_CAST "name", BAD_CAST(j->killed_in ?: j->name)); /* the test it was killed in */
        sym_xmlNewProp(c, BAD_CAST "time", BAD_CAST num);
        describe(j, buf, sizeof buf);
        if (j->status == JOB_NOT_RUN)
                sym_xmlNewChild(c, NULL, BAD_CAST "skipped", NULL);
        else if (j->status == JOB_INTERRUPTED) /* neither passed nor failed: it did not get to end */
                sym_xmlNewProp(sym_xmlNewChild(c, NULL, BAD_CAST "skipped", NULL), BAD_CAST "message", BAD_CAST buf);
        else if (bad)
                sym_xmlNewProp(sym_xmlNewChild(c, NULL, BAD_CAST(j->status == JOB_FAILED ? "failure" : "error"), NULL),
                           BAD_CAST "message", BAD_CAST(buf[0] ? buf : job_status_to_string(j->status)));
        return s;
}

int report_write_junit(const RunContext *rc, const char *path) {
        _cleanup_xml_doc_ xmlDocPtr out = NULL;
        const char *dlerr = NULL;
        xmlNodePtr root;
        unsigned tests = 0, failures = 0, errors = 0;
        char num[32], why[512];

        if (dlopen_libxml2(&dlerr) < 0)
                return log_error_errno(EOPNOTSUPP, "--junit %s: libxml2.so.2 did not load (%s); install libxml2", path,
                                       dlerr ?: "not found");
        out = sym_xmlNewDoc(BAD_CAST "1.0");
        root = sym_xmlNewNode(NULL, BAD_CAST "testsuites");
        sym_xmlDocSetRootElement(out, root);
        sym_xmlNewProp(root, BAD_CAST "name", BAD_CAST "nsrun");
        for (size_t i = 0; i < rc->src.jobs.n; i++) {
                const Job *j = &rc->src.jobs.jobs[rc->order[i]];
                _cleanup_xml_doc_ xmlDocPtr in = NULL;
                bool killed = j->status == JOB_OOM || j->status == JOB_TIMEOUT || (j->status == JOB_ERROR && j->signal);
                xmlNodePtr s = NULL;

                /* killed in the middle of its tests: the ones it finished, its culprit, the rest as run again */
                describe(j, why, sizeof why);
                if (rc->src.pytest && killed && (j->killed_in || j->rest.attempt))
                        s = pytest_junit_killed_suite(rc, j, out, why);
                /* not one whose report could not be read: nsrun's own testcase says why */
                else if (j->junit_path && !killed && j->status != JOB_INTERRUPTED && !(j->status == JOB_ERROR && j->error) &&
                         junit_read_job_xml(j->junit_path, &in) >= 0 && (s = junit_first_suite(in))) {
                        s = sym_xmlDocCopyNode(s, out, 1);
                        sym_xmlSetProp(s, BAD_CAST "name", BAD_CAST j->name);
                        pytest_junit_mark_reruns(rc, j, out, s);
                }
                if (!s)
                        s = synthetic_suite(j);
                sym_xmlAddChild(root, s);
                tests += junit_attr_uint(s, "tests");
                failures += junit_attr_uint(s, "failures");
                errors += junit_attr_uint(s, "errors");
        }
        junit_set_totals(root, tests, failures, errors);
        (void) snprintf(num, sizeof num, "%.3f", rc->wall_s);
        sym_xmlNewProp(root, BAD_CAST "time", BAD_CAST num);
        if (sym_xmlSaveFormatFileEnc(path, out, "UTF-8", 1) < 0)
                return log_error_errno(errno, "--junit %s: cannot write it: %m", path), -EIO;
        return 0;
}

/* ---- --dry-run ---- */

int report_print_plan(const RunContext *rc) {
        const PlanInput *in = &rc->plan_input;
        const Plan *p = &rc->plan;

        if (rc->opt->n_settings)
                printf("settings:\n");
        for (size_t i = 0; i < rc->opt->n_settings; i++) {
                const Setting *s = &rc->opt->settings[i];
                printf("  %s%s%s (%s)\n", s->option, s->value ? " " : "", s->value ?: "", s->source);
        }
        printf("CPU budget:    %.2f CPUs (%s)\n", in->cpu.cpus, in->cpu.source);
        printf("memory budget: %s (%s), less a %s reserve: %s for tests\n", FORMAT_SIZE(in->mem.bytes),
               in->mem.source, FORMAT_SIZE(p->reserve_bytes), FORMAT_SIZE(p->usable_bytes));
        printf("workers:       %u (set by the %s; CPUs allow %u)\n", p->workers, plan_bound_to_string(p->bound),
               p->cpu_workers);
        if (rc->opt->cap.mem_cap_off)
                printf("memory cap:    off (--mem-cap off)\n");
        else if (in->learned)
                printf("memory cap:    each job its peak in the history plus headroom (a quarter, at least %s); %s "
                       "for jobs never measured%s; jobs start while their requests fit\n",
                       FORMAT_SIZE(PLAN_HEADROOM_MIN), FORMAT_SIZE(p->mem_per_job),
                       in->mem_per_worker ? " (--mem-per-worker)" : " (a fair share of the budget)");
        else
                printf("memory cap:    %s per job%s\n", FORMAT_SIZE(p->mem_per_job),
                       in->mem_per_worker ? " (--mem-per-worker)" : " (a fair share of the budget)");
        printf("jobs:          %zu, in this order:\n", rc->src.jobs.n);
        for (size_t i = 0; i < rc->src.jobs.n; i++) {
                const Job *j = &rc->src.jobs.jobs[rc->order[i]];
                printf("  %4zu  %s", i + 1, j->name);
                if (j->n_tests)
                        printf("  (%u %s)", j->n_tests, PLURAL(j->n_tests, "test"));
                if (j->expected_s >= 0)
                        printf("  ~%s", FORMAT_DURATION((uint64_t) (j->expected_s * 1e6)));
                if (in->learned && j->mem_request)
                        printf("  %s%s", FORMAT_SIZE(j->mem_request), j->heavy ? " heavy" : "");
                if (j->hist_failed)
                        printf("  failed last time");
                if (j->serial)
                        printf("  serial");
                printf("\n");
        }
        return 0;
}
