/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Prepared interpreters: nsrun's side of runner/sources/pytest/nsrun_fork.py. Each worker's is a sandbox of the
 * run started at the run's start, told the jobs over a control socket on its stdin; a job it forks says hello on
 * a socket of its own, whose SO_PASSCRED gives its pid as the kernel knows it, is moved into the job's cgroup and
 * only then told to go on. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "escape.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "runner-fork.h"
#include "runner-launch.h"
#include "runner-pytest.h"

extern char **environ;

typedef enum ZygoteState {
        ZYGOTE_PREPARING,       /* collecting: its "ready" not read yet */
        ZYGOTE_READY,
        ZYGOTE_OFF,             /* none, ended, or not safe to fork: fresh interpreters */
} ZygoteState;

typedef struct Zygote {
        Sandbox *sandbox;
        CgroupJob *cgroup;      /* "prepared-<worker>", capped at a worker's share (SourceContext.prepared_mem_max) */
        bool forked;            /* a job was forked from it */
        int ctl;                /* nsrun's end of the control socket */
        ZygoteState state;
        char *dir;              /* run_dir/fork-<worker>: its one writable path, where its jobs' reports start */
        char *log_path;
} Zygote;

struct Forker {
        RunContext *rc;
        Zygote *z;
        unsigned n;
        int start;              /* where pytest's own arguments begin in a job's argv */
        json_object *mounts;    /* the sandbox's mounts, as each forked job makes them again */
        bool told;              /* the fallback was said, once */
        char *python;           /* the interpreter to prepare */
        bool started;           /* the interpreters were started (forker_collection() or forker_plan()) */
        bool collected;         /* the first worker's interpreter collected, its report written */
        bool collect_failed;    /* ... or ended before: the run collected again, and said why if it failed */
};

/* Inside the prepared interpreter's sandbox, under its fresh /tmp: each overlaid path's host directory again
 * (FORK_LOWER "<i>", read-only: the lower layer of its jobs' own overlay there, as a fresh sandbox's is the
 * host's), its writable directory (FORK_RW), where each job's attempt directory starts, and a second /proc,
 * writable and hidden (SANDBOX_MOUNT_PROC), so that each job may mount a writable one of its own. Its jobs cover
 * /tmp with one of their own before they run anything. */
#define FORK_DIR "/tmp/.nsrun-fork"
#define FORK_LOWER FORK_DIR "/lower."
#define FORK_VIEW FORK_DIR "/view."
#define FORK_RW FORK_DIR "/rw"
#define FORK_PROC FORK_DIR "/hidden/proc"
/* more jobs than this a worker are small: a whole collection per worker costs less than each collecting its own */
#define FORK_SMALL_JOBS 4

static const char *mount_kind(SandboxMountType t) {
        return t == SANDBOX_MOUNT_OVERLAY ? "overlay" : t == SANDBOX_MOUNT_TMPFS ? "tmpfs" : "bind";
}

/* The scratch directories a job gets fresh, which it starts as the prepared interpreter left them (FORK_VIEW
 * "<name>") where the prepared interpreter's collection wrote files there. */
static const char *const scratch_dirs[][2] = { { "/tmp", "tmp" }, { "/var/tmp", "var-tmp" } };

static bool scratch_dir_present(size_t i) {
        struct stat st;
        return stat(scratch_dirs[i][0], &st) >= 0 && S_ISDIR(st.st_mode);
}

/* The sandbox's mounts as a job of it remakes them: [kind, path, its host directory's path and the prepared
 * interpreter's view of it for an overlay], then ["view", scratch directory, the prepared interpreter's view]. */
static json_object *mounts_json(const SandboxMount *m, size_t n) {
        json_object *a = json_object_new_array();
        char lower[64], view[64];

        for (size_t i = 0; a && i < n; i++) {
                json_object *x = json_object_new_array();

                json_object_array_add(x, json_object_new_string(mount_kind(m[i].type)));
                json_object_array_add(x, json_object_new_string(m[i].path));
                (void) snprintf(lower, sizeof lower, FORK_LOWER "%zu", i);
                (void) snprintf(view, sizeof view, FORK_VIEW "%zu", i);
                if (m[i].type == SANDBOX_MOUNT_OVERLAY) {
                        json_object_array_add(x, json_object_new_string(lower));
                        json_object_array_add(x, json_object_new_string(view));
                }
                json_object_array_add(a, x);
        }
        for (size_t i = 0; a && i < ELEMENTSOF(scratch_dirs); i++)
                if (scratch_dir_present(i)) {
                        json_object *x = json_object_new_array();
                        json_object_array_add(x, json_object_new_string("view"));
                        json_object_array_add(x, json_object_new_string(scratch_dirs[i][0]));
                        (void) snprintf(view, sizeof view, FORK_VIEW "%s", scratch_dirs[i][1]);
                        json_object_array_add(x, json_object_new_string(view));
                        json_object_array_add(a, x);
                }
        return a;
}

/* zygote_mounts()'s array, and the paths it made for the mounts it added from index from on */
static void zygote_mounts_free(SandboxMount *all, size_t from, size_t n) {
        for (size_t i = from; all && i < n; i++)
                if (all[i].type == SANDBOX_MOUNT_BIND_RO || all[i].type == SANDBOX_MOUNT_VIEW)
                        free(all[i].path);
        free(all);
}

/* The run's mounts, then for each overlay its host directory (a job's lower layer) and the prepared
 * interpreter's own view of it, its views of /tmp and /var/tmp (a job's lower layers where the collection wrote
 * there), and the writable directory (FORK_DIR). */
static int zygote_mounts(Forker *f, const char *dir, SandboxMount **ret, size_t *ret_n) {
        _cleanup_free_ SandboxMount *m = NULL;
        SandboxMount *all;
        size_t n, k;
        int r;

        r = sandbox_options_mounts(&f->rc->opt->sandbox, NULL, f->rc->source.pytest_plugin_dir, &m, &n);
        if (r < 0)
                return r;
        if (!f->mounts && !(f->mounts = mounts_json(m, n)))
                return -ENOMEM;
        all = new0(SandboxMount, 3 * n + ELEMENTSOF(scratch_dirs) + 2);
        if (!all)
                return -ENOMEM;
        memcpy(all, m, n * sizeof *m);
        k = n;
        for (size_t i = 0; i < n; i++)
                if (m[i].type == SANDBOX_MOUNT_OVERLAY) {
                        all[k] = (SandboxMount) { .type = SANDBOX_MOUNT_BIND_RO, .source = m[i].path };
                        all[k + 1] = (SandboxMount) { .type = SANDBOX_MOUNT_VIEW, .source = m[i].path };
                        if (asprintf(&all[k].path, FORK_LOWER "%zu", i) < 0 ||
                            asprintf(&all[k + 1].path, FORK_VIEW "%zu", i) < 0) {
                                zygote_mounts_free(all, n, k + 2);
                                return -ENOMEM;
                        }
                        k += 2;
                }
        for (size_t i = 0; i < ELEMENTSOF(scratch_dirs); i++)
                if (scratch_dir_present(i)) {
                        all[k] = (SandboxMount) { .type = SANDBOX_MOUNT_VIEW, .source = (char *) scratch_dirs[i][0] };
                        if (asprintf(&all[k++].path, FORK_VIEW "%s", scratch_dirs[i][1]) < 0) {
                                zygote_mounts_free(all, n, k);
                                return -ENOMEM;
                        }
                }
        all[k++] = (SandboxMount) { .type = SANDBOX_MOUNT_BIND_RW, .path = (char *) FORK_RW, .source = (char *) dir };
        all[k++] = (SandboxMount) { .type = SANDBOX_MOUNT_PROC, .path = (char *) FORK_PROC };
        *ret = all;
        *ret_n = k;
        return (int) n; /* where the paths this made begin */
}

static int zygote_start(Forker *f, unsigned w, bool whole) {
        RunContext *rc = f->rc;
        Zygote *z = &f->z[w];
        SandboxSpec spec = SANDBOX_SPEC_INIT;
        _cleanup_free_ SandboxMount *mounts = NULL;
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int log_fd = -EBADF;
        _cleanup_free_ char *pp = NULL, *imports = NULL;
        char **command = rc->opt->command, **argv = NULL, **envp = strv_copy(environ);
        int start = pytest_args_start(command), r;
        size_t made = 0;
        char name[32];

        if (asprintf(&z->dir, "%s/fork-%u", rc->run_dir, w) < 0 ||
            asprintf(&z->log_path, "%s/nsrun-prepared-%u.log", rc->opt->log_dir, w + 1) < 0 ||
            asprintf(&pp, "PYTHONPATH=%s%s%s", rc->source.pytest_plugin_dir, getenv("PYTHONPATH") ? ":" : "",
                     getenv("PYTHONPATH") ?: "") < 0 || !envp || strv_env_set(&envp, pp) < 0 ||
            strv_push(&argv, f->python) < 0 || strv_push(&argv, "-m") < 0 || strv_push(&argv, "nsrun_fork") < 0) {
                r = -ENOMEM;
                goto finish;
        }
        /* the user's pytest arguments, as the collection has them (nsrun_fork.py keeps pytest-xdist from
         * distributing); the first worker's interpreter writes the collection's report, which the run reads */
        if (strv_push_n(&argv, command + start, strv_length(command + start)) < 0 ||
            strv_env_set(&envp, whole ? "NSRUN_FORK_COLLECT=all" : "NSRUN_FORK_COLLECT=conftests") < 0 ||
            (w == 0 && whole && strv_env_set(&envp, "NSRUN_COLLECT_OUT=" FORK_RW "/collect.json") < 0) ||
            (!whole && rc->src.pytest_imports &&
             (asprintf(&imports, "NSRUN_FORK_IMPORT=%s", rc->src.pytest_imports) < 0 ||
              strv_env_set(&envp, imports) < 0))) {
                r = -ENOMEM;
                goto finish;
        }
        if (mkdir(z->dir, 0700) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = -errno;
                goto finish;
        }
        log_fd = open(z->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0) {
                r = -errno;
                goto finish;
        }
        r = zygote_mounts(f, z->dir, &mounts, &spec.n_mounts);
        if (r < 0)
                goto finish;
        made = (size_t) r;
        spec.mounts = mounts;
        spec.net = rc->opt->sandbox.net;
        spec.argv = argv;
        spec.envp = envp;
        spec.cwd = rc->source.cwd;
        spec.base_layers = rc->source.base_layers;
        spec.new_session = true;
        spec.stdio[0] = sp[1];
        spec.stdio[1] = spec.stdio[2] = log_fd;
        /* capped as a job of the worker is: what its collection imports, its jobs share */
        (void) snprintf(name, sizeof name, "prepared-%u", w + 1);
        r = launch_sandbox_capped(&spec, rc->cgroups, name, rc->source.prepared_mem_max, rc->source.pids_max,
                                  &z->cgroup, &z->sandbox);
        if (r >= 0) {
                z->ctl = TAKE_FD(sp[0]);
                z->state = ZYGOTE_PREPARING;
        }
finish:
        zygote_mounts_free(TAKE_PTR(mounts), made, spec.n_mounts);
        strv_free(argv);
        strv_free(envp);
        return r;
}

Forker *forker_new(RunContext *rc, unsigned workers) {
        _cleanup_free_ char *python = NULL;
        char **command = rc->opt->command;
        Forker *f;

        /* --setup's layer is under the prepared interpreter's overlays, not (yet) under its jobs'; with
         * --no-capture a job writes to nsrun's own output, which a prepared interpreter does not hold */
        if (rc->opt->fork == FORK_OFF || rc->opt->no_capture || rc->opt->dry_run || rc->source.base_layers ||
            workers == 0 || pytest_args_start(command) < 0)
                return NULL;
        if (pytest_interpreter(command, &python) < 0 || !is_python(python)) {
                log_notice("Each pytest job starts a fresh interpreter: %s is no Python nsrun can fork jobs from "
                           "(--fork off skips trying)", command[0]);
                return NULL;
        }
        f = new0(Forker, 1);
        if (!f || !(f->z = new0(Zygote, workers))) {
                free(f);
                return NULL;
        }
        f->rc = rc;
        f->n = workers;
        f->start = pytest_args_start(command);
        f->python = TAKE_PTR(python);
        for (unsigned w = 0; w < f->n; w++) {
                f->z[w].ctl = -EBADF;
                f->z[w].state = ZYGOTE_OFF;
        }
        return f;
}

/* Starts the interpreters: each collecting the whole run (whole: the first one's collection is the run's), or
 * importing the conftest files and the other modules the collection imported only (test modules aside), its
 * jobs collecting their own files in it. The number started. */
static unsigned forker_start(Forker *f, bool whole) {
        unsigned started = 0;

        f->started = true;
        for (unsigned w = 0; w < f->n; w++)
                if (zygote_start(f, w, whole) < 0)
                        log_debug("worker %u: no prepared interpreter", w + 1);
                else
                        started++;
        return started;
}

/* Ended, its cgroup's peak kept for the report where it forked jobs (RunContext.prepared_peak): the memory of what
 * it imported, which its jobs shared and their own peaks leave out. */
static void zygote_stop(Forker *f, Zygote *z) {
        CgroupStats st;

        if (z->forked && z->cgroup && cgroup_job_stats(z->cgroup, &st) >= 0)
                f->rc->prepared_peak = MAX(f->rc->prepared_peak, st.peak_mem);
        z->state = ZYGOTE_OFF;
        z->ctl = safe_close(z->ctl);
        z->sandbox = sandbox_free(z->sandbox);
        z->cgroup = cgroup_job_free(z->cgroup);
}

/* Why it ended, where its cgroup's out-of-memory killer ended it: "was killed out of memory at its cap of 1.5 GiB
 * (a worker's share of the memory for tests)", or "". */
static const char *zygote_oom(const Forker *f, const Zygote *z, char *buf, size_t len) {
        const SourceContext *c = &f->rc->source;

        buf[0] = '\0';
        if (launch_oom_killed(z->cgroup))
                (void) snprintf(buf, len, "was killed out of memory at its cap of %s (%s)",
                                FORMAT_SIZE(c->prepared_mem_max),
                                c->mem_size_given ? "--mem-per-worker" : "a worker's share of the memory for tests");
        return buf;
}

/* Its first word: "ready", or why not. Waits for the collection. quiet_end: an end before it is not said. */
static int zygote_ready(Forker *f, Zygote *z, bool quiet_end) {
        char msg[1024], oom[256];
        ssize_t n;
        int r;

        if (z->state != ZYGOTE_PREPARING)
                return z->state == ZYGOTE_READY;
        r = wait_fd_or_signal(&f->rc->source, z->ctl);
        if (r < 0)
                return r;
        n = recv(z->ctl, msg, sizeof msg - 1, MSG_DONTWAIT);
        msg[MAX(n, 0)] = '\0';
        /* either word comes after the collection, and its report */
        f->collected = f->collected || (z == f->z && (streq(msg, "ready") || strneq(msg, "unsafe ", 7)));
        if (n == 5 && streq(msg, "ready")) {
                z->state = ZYGOTE_READY;
                return 1;
        }
        if (strneq(msg, "unsafe ", 7)) {
                /* the same in every worker: all of them fall back, said once; the reason names threads the
                 * suite's code started, escaped as any text a job wrote */
                _cleanup_free_ char *why = escape_name(msg + 7);
                if (!f->told)
                        log_notice("Each pytest job starts a fresh interpreter: forking the prepared one is not "
                                   "safe, %s (--fork off skips preparing one)", why ?: "?");
                f->told = true;
                for (unsigned w = 0; w < f->n; w++)
                        zygote_stop(f, &f->z[w]);
                return 0;
        }
        /* killed for memory: said even where the run collects again (quiet_end), if that collection has more
         * room (a job alone's; else its own failure says it) */
        if (!quiet_end || f->rc->source.collect_mem_max > f->rc->source.prepared_mem_max)
                zygote_oom(f, z, oom, sizeof oom);
        else
                oom[0] = '\0';
        if (!f->told && (!quiet_end || oom[0]))
                log_notice("Each pytest job starts a fresh interpreter: the prepared one %s (its output is in %s)",
                           oom[0] ? oom : "ended", z->log_path);
        f->told = f->told || !quiet_end || oom[0];
        zygote_stop(f, z);
        return 0;
}

int forker_collection(void *userdata, char **ret) {
        Forker *f = userdata;
        int r;

        if (!f || (!f->started && forker_start(f, /* whole= */ true) == 0) || f->z[0].state == ZYGOTE_OFF)
                return 0;
        /* an end before its collection is the collection's failure, shown by collecting again */
        r = zygote_ready(f, f->z, /* quiet_end= */ true);
        if (r < 0)
                return r;
        if (!f->collected) {
                f->collect_failed = true;
                return 0;
        }
        return asprintf(ret, "%s/collect.json", f->z[0].dir) < 0 ? -ENOMEM : 1;
}

Forker *forker_plan(Forker *f) {
        const RunContext *rc = f ? f->rc : NULL;

        if (!f)
                return NULL;
        /* a job a worker or fewer: each fresh interpreter collects its own share, the prepared ones all of it */
        if (!rc->src.pytest || rc->src.jobs.n == 0 ||
            (rc->opt->fork == FORK_AUTO && rc->src.jobs.n <= rc->plan.workers))
                return forker_free(f);
        /* The collection was the history's (nothing it reads changed): with many small jobs a worker each
         * interpreter collects the whole run, for its jobs to take their tests from; with few large ones each
         * imports the conftest files and the libraries the collection imported only, and a job collects its own
         * files in it, as much as a fresh one would but without its start-up. */
        if (!f->started) {
                f->n = MIN(f->n, rc->plan.workers);
                if (forker_start(f, rc->src.jobs.n > FORK_SMALL_JOBS * rc->plan.workers) == 0)
                        return forker_free(f);
        }
        if (f->collect_failed && !f->told) /* and the collection without it did not */
                log_notice("Worker 1's jobs start fresh interpreters: its prepared one ended before its collection "
                           "(its output is in %s)", f->z[0].log_path);
        f->told = f->told || f->collect_failed;
        for (unsigned w = rc->plan.workers; w < f->n; w++)
                zygote_stop(f, &f->z[w]);
        return f;
}

static json_object *strv_json(char **v) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static int send_request(Forker *f, Zygote *z, char **argv, char **tests, char **envp, const SandboxMemView *view,
                        const char *dir, const int fds[static 3]) {
        char meminfo[8192];
        _cleanup_(json_object_putp) json_object *req = json_object_new_object();
        char cmsg[CMSG_SPACE(3 * sizeof(int))] = {};
        const char *text;
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cmsg, .msg_controllen = sizeof cmsg };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        if (!req)
                return -ENOMEM;
        json_object_object_add(req, "argv", strv_json(argv));
        json_object_object_add(req, "start", json_object_new_int(f->start));
        /* the files or test ids it runs, which the interpreter's session has collected, or the job collects */
        json_object_object_add(req, "tests", strv_json(tests));
        json_object_object_add(req, "env", strv_json(envp));
        json_object_object_add(req, "cwd", json_object_new_string(f->rc->source.cwd));
        json_object_object_add(req, "net", json_object_new_string(f->rc->opt->sandbox.net == SANDBOX_NET_HOST ? "host"
                                                                                                            : "loopback"));
        json_object_object_add(req, "mounts", json_object_get(f->mounts));
        json_object_object_add(req, "dir", json_object_new_string(dir));
        /* the machine it sees, as a fresh sandbox's (best effort there too: the host's where this fails) */
        if (view && view->total > 0 && sandbox_meminfo_view(view, meminfo, sizeof meminfo) >= 0)
                json_object_object_add(req, "meminfo", json_object_new_string(meminfo));
        /* where the attempt's directory is in the interpreter's sandbox */
        json_object_object_add(req, "fork_dir", json_object_new_string_len(FORK_RW "/", strlen(FORK_RW "/")));
        json_object_object_add(req, "fork_name", json_object_new_string(strrchr(dir, '/') + 1));
        text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
        iov = (struct iovec) { .iov_base = (void *) text, .iov_len = strlen(text) };
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(3 * sizeof(int));
        memcpy(CMSG_DATA(c), fds, 3 * sizeof(int));
        return sendmsg(z->ctl, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* The job's hello, and its pid from the kernel (SO_PASSCRED): what the process says of itself is not asked. */
static int read_hello(Forker *f, int fd, pid_t *ret) {
        char buf[16], cmsg[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cmsg, .msg_controllen = sizeof cmsg };
        ssize_t n;
        int r;

        r = wait_fd_or_signal(&f->rc->source, fd);
        if (r < 0)
                return r;
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (n == 5 && memcmp(buf, "hello", 5) == 0 && c->cmsg_level == SOL_SOCKET &&
                    c->cmsg_type == SCM_CREDENTIALS) {
                        struct ucred u;
                        memcpy(&u, CMSG_DATA(c), sizeof u);
                        if (u.pid <= 0)
                                break;
                        *ret = u.pid;
                        return 0;
                }
        return -EPROTO;
}

int forker_launch(Forker *f, unsigned worker, char **argv, char **tests, char **envp, const SandboxMemView *view,
                  int log_fd, const char *dir, CgroupJob *cgroup, Sandbox **ret) {
        Zygote *z;
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        _cleanup_free_ char *fork_dir = NULL;
        pid_t pid = 0;
        int r, one = 1;
        char oom[256];

        if (!f || worker >= f->n)
                return 0;
        z = &f->z[worker];
        r = zygote_ready(f, z, false);
        if (r <= 0)
                return r;
        if (asprintf(&fork_dir, "%s/%s", z->dir, strrchr(dir, '/') + 1) < 0)
                return -ENOMEM;
        if (mkdir(fork_dir, 0755) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
            setsockopt(sp[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
                return -errno;
        r = send_request(f, z, argv, tests, envp, view, dir, (const int[]) { sp[1], log_fd, f->rc->null_fd });
        sp[1] = safe_close(sp[1]);
        if (r >= 0)
                r = read_hello(f, sp[0], &pid);
        if (r >= 0) {
                pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                r = pidfd < 0 ? -errno : 0;
        }
        if (r >= 0 && cgroup)
                r = cgroup_job_attach(cgroup, pid);
        if (r >= 0 && send(sp[0], "go", 2, MSG_NOSIGNAL) != 2)
                r = -errno;
        if (r == -EINTR)
                return r;
        if (r < 0) {
                /* its interpreter is gone or confused: this worker's jobs start fresh from now on */
                if (pidfd >= 0)
                        (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                if (zygote_oom(f, z, oom, sizeof oom)[0])
                        log_notice("Worker %u's jobs start fresh interpreters: its prepared one %s (its output is in "
                                   "%s)", worker + 1, oom, z->log_path);
                else
                        log_notice("Worker %u's jobs start fresh interpreters: its prepared one did not fork a job (%s; "
                                   "its output is in %s)", worker + 1, strerror(-r), z->log_path);
                zygote_stop(f, z);
                (void) rmdir(fork_dir);
                return 0;
        }
        r = sandbox_adopt(pid, pidfd, sp[0], ret);
        if (r >= 0) {
                z->forked = true;
                TAKE_FD(pidfd);
                TAKE_FD(sp[0]);
        }
        return r < 0 ? r : 1;
}

char *forker_live_dir(Forker *f, unsigned worker, const char *dir) {
        char *fork_dir = NULL;

        if (!f || worker >= f->n || asprintf(&fork_dir, "%s/%s", f->z[worker].dir, strrchr(dir, '/') + 1) < 0)
                return NULL;
        return fork_dir;
}

void forker_finish(Forker *f, unsigned worker, const char *dir) {
        _cleanup_free_ char *fork_dir = forker_live_dir(f, worker, dir);

        if (!fork_dir)
                return;
        /* out of the interpreter's reach, where every other job's reports are */
        if (rename(fork_dir, dir) < 0 && errno != ENOENT)
                log_debug("cannot move %s to %s: %m", fork_dir, dir);
}

Forker *forker_free(Forker *f) {
        if (!f)
                return NULL;
        for (unsigned w = 0; f->z && w < f->n; w++) {
                zygote_stop(f, &f->z[w]);
                free(f->z[w].dir);
                free(f->z[w].log_path);
        }
        json_object_put(f->mounts);
        free(f->python);
        free(f->z);
        free(f);
        return NULL;
}
