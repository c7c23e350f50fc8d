/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parsers that decide whose cgroups and run directories nsrun removes: basic's proc_parse_stat()
 * (/proc/PID/stat: state and start time, to tell a dead owner from a reused pid), cgroup-parse.c's
 * cgroup_parse_run_name() ("nsrun-<pid>-<starttime>": only canonical names, since it names directories whose
 * processes are killed), proc_status_parse_cpus_allowed() and proc_stat_parse_online(). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "cgroup-internal.h"
#include "fuzz.h"
#include "proc-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size), state = 0, canon[64];
        uint64_t start = 0;
        unsigned n = 0;
        pid_t pid = 0;

        if (proc_parse_stat(text, &state, &start) == 0)
                fuzz_assert(state != '\0' && strrchr(text, ')'));
        if (cgroup_parse_run_name(text, &pid, &start) == 0) {
                /* accepted names are exactly the ones nsrun makes, so no two names mean one owner */
                (void) snprintf(canon, sizeof canon, "nsrun-%d-%" PRIu64, (int) pid, start);
                fuzz_assert(pid > 0 && strcmp(canon, text) == 0);
        }
        if (proc_status_parse_cpus_allowed(text, &n) == 0)
                fuzz_assert(strstr(text, "Cpus_allowed_list:"));
        if (proc_stat_parse_online(text, &n) == 0)
                fuzz_assert(n > 0 && strstr(text, "cpu"));
        free(text);
        return 0;
}
