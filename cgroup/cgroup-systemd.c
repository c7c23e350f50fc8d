/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The systemd backend, for pure cgroup v2 hosts where nsrun may not write the cgroup it was started in (an
 * unprivileged user in session-N.scope, or root sharing its scope with a shell). We ask the service manager for
 * what `systemd-run --scope -p Delegate=yes` gets: a transient scope "nsrun-<pid>-<starttime>.scope" holding
 * only nsrun, with the cgroup below it delegated to us (systemd's docs/CGROUP_DELEGATION.md). Then the v2
 * backend runs inside it as it would anywhere else.
 *
 * Root talks to the system manager, everyone else to their user manager; both first over the manager's private
 * socket (no D-Bus daemon needed, as systemctl does), then over the bus. The user manager can only delegate
 * the controllers it was given itself: `systemctl show user@$UID.service -p DelegateControllers` must list
 * memory (upstream's user@.service has Delegate=pids memory cpu).
 *
 * When nsrun exits, the scope is empty and systemd removes it (CollectMode=inactive-or-failed, so a failed one
 * too). Jobs that outlive a SIGKILLed nsrun keep their old scope alive; they are not cleaned by the next run,
 * whose scope is a new one: `systemctl [--user] stop 'nsrun-*.scope'` removes them. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "config.h"
#include "macro.h"

#if HAVE_SYSTEMD

#include "sd-bus-util.h"

#define SCOPE_TIMEOUT_USEC (30 * UINT64_C(1000000))

typedef struct ScopeWait {
        const char *job;        /* our job's object path, once StartTransientUnit has returned */
        char *result;           /* its JobRemoved result: "done", "failed", "timeout", ... */
} ScopeWait;

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        ScopeWait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sym_sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (w->job && !w->result && streq(path, w->job))
                w->result = strdup(result);
        return 0;
}

/* The manager's private socket, as systemctl and systemd-run prefer: it works without a D-Bus daemon. */
static int bus_connect_private(bool system, sd_bus **ret) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_free_ char *address = NULL;
        const char *runtime = system ? "/run" : getenv("XDG_RUNTIME_DIR");
        int r;

        if (!runtime || runtime[0] != '/')
                return -ENXIO;
        if (asprintf(&address, "unix:path=%s/systemd/private", runtime) < 0)
                return -ENOMEM;
        if (access(address + strlen("unix:path="), F_OK) < 0)
                return -errno;
        r = sym_sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sym_sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        r = sym_sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

static int bus_connect(bool system, sd_bus **ret) {
        if (bus_connect_private(system, ret) >= 0)
                return 0;
        return system ? sym_sd_bus_open_system(ret) : sym_sd_bus_open_user(ret);
}

static int append_properties(sd_bus_message *m) {
        char desc[64];
        int r;

        (void) snprintf(desc, sizeof desc, "nsrun test run of pid %d", (int) getpid());
        r = sym_sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        r = sym_sd_bus_message_append(m, "(sv)", "Description", "s", desc);
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t) getpid());
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "(sv)", "Delegate", "b", 1);
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed");
        if (r < 0)
                return r;
        r = sym_sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sym_sd_bus_message_append(m, "a(sa(sv))", 0); /* no auxiliary units */
}

static int start_scope_call(sd_bus *bus, const char *unit, sd_bus_error *error, char **ret_job) {
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        const char *job;
        int r;

        r = sym_sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r < 0)
                return r;
        r = sym_sd_bus_message_append(m, "ss", unit, "fail");
        if (r < 0)
                return r;
        r = append_properties(m);
        if (r < 0)
                return r;
        r = sym_sd_bus_call(bus, m, 0, error, &reply);
        if (r < 0)
                return r;
        r = sym_sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        *ret_job = strdup(job);
        return *ret_job ? 0 : -ENOMEM;
}

/* Like systemd-run --scope: the scope exists (and we are in it) once its start job is removed. */
static int wait_job(sd_bus *bus, ScopeWait *w) {
        uint64_t deadline = now_usec() + SCOPE_TIMEOUT_USEC;

        while (!w->result) {
                uint64_t now;
                int r = sym_sd_bus_process(bus, NULL);

                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sym_sd_bus_wait(bus, deadline - now);
                if (r < 0)
                        return r;
        }
        return streq(w->result, "done") ? 0 : -EIO;
}

static int start_scope(bool system, const char *unit, char **ret_why) {
        const char *who = system ? "system" : "user";
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_slot_ sd_bus_slot *slot = NULL;
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_free_ char *job = NULL;
        const char *dlerr = NULL;
        ScopeWait w = {};
        int r;

        r = dlopen_libsystemd(&dlerr);
        if (r < 0) {
                cg_why(ret_why, "cannot ask systemd for a delegated scope: libsystemd.so.0 did not load (%s)",
                       dlerr ?: "not found");
                return r;
        }
        r = bus_connect(system, &bus);
        if (r < 0) {
                cg_why(ret_why, "no systemd %s manager is reachable over D-Bus (%s)", who,
                       r == -ENOMEDIUM ? "neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set" :
                       r == -ENOENT    ? "no bus socket" : strerror(-r));
                return r;
        }
        /* Subscribe before asking, or the signal may come before we listen. On a direct connection there is
         * no sender to match. */
        r = sym_sd_bus_match_signal(bus, &slot, sym_sd_bus_is_bus_client(bus) > 0 ? "org.freedesktop.systemd1" : NULL,
                                "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved",
                                on_job_removed, &w);
        if (r >= 0)
                r = start_scope_call(bus, unit, &error, &job);
        if (r < 0) {
                r = bus_error_errno(&error, r);
                cg_why(ret_why, "the systemd %s manager refused a delegated scope (%s)", who,
                       bus_error_message(&error, r));
                return r;
        }
        w.job = job;
        r = wait_job(bus, &w);
        if (r < 0)
                cg_why(ret_why, "the systemd %s manager did not start %s (%s)", who, unit,
                       w.result ? w.result : strerror(-r));
        free(w.result);
        return r;
}

int cgroup_systemd_open(CgroupManager *m, const char *mount, bool require_memory, char **ret_why) {
        _cleanup_free_ char *unit = NULL, *self = NULL, *own = NULL;
        size_t n;
        int r;

        if (asprintf(&unit, "%s.scope", m->run_name) < 0)
                return -ENOMEM;
        r = start_scope(geteuid() == 0, unit, ret_why);
        if (r < 0)
                return r;
        r = cgroup_read_proc_self(NULL, &self);
        if (r >= 0)
                r = cgroup_parse_proc_self(self, NULL, &own);
        n = own ? strlen(own) : 0;
        if (r < 0 || n <= strlen(unit) || !streq(own + n - strlen(unit), unit) || own[n - strlen(unit) - 1] != '/') {
                cg_why(ret_why, "systemd started %s but nsrun is not in it (/proc/self/cgroup says %s)", unit,
                       own ? own : "nothing");
                return r < 0 ? r : -ESRCH;
        }
        r = cgroup_v2_open(m, mount, own, require_memory, ret_why);
        if (r < 0)
                return r;
        m->kind = CGROUP_BACKEND_SYSTEMD;
        return 0;
}

#else

int cgroup_systemd_open(CgroupManager *m, const char *mount, bool require_memory, char **ret_why) {
        cg_why(ret_why, "this nsrun was built without systemd support, so it cannot ask for a delegated scope");
        return -EOPNOTSUPP;
}

#endif
