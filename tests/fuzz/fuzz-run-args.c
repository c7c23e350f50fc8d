/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The command lines of 'nsrun [OPTIONS] -- COMMAND' and 'nsrun exec [OPTIONS] -- COMMAND': parse_run_args()
 * (runner-cli.c) and parse_exec_args() (runner-exec.c).
 * Only the parsing runs: no directory is made, no job or sandbox started. Every option value parser, option
 * combination and free of the options is exercised; LeakSanitizer checks that every path frees what it took.
 *
 * Input: the first byte picks the verb (even: run, odd: exec); the rest is the arguments, separated by NUL
 * or newline bytes. */
#include <getopt.h>
#include <stdlib.h>

#include "runner-cli.h"
#include "runner-exec.h"

#include "fuzz.h"

#define MAX_ARGS 64

/* glibc's getopt keeps a pointer into the previous argv between calls unless optind is 0; nsrun parses once
 * per process, the fuzzer many times, so reset it before every input. */
static void getopt_reset(void) {
        char *dummy[] = { (char *) "nsrun", NULL };

        optind = 0;
        (void) getopt_long(1, dummy, "", (const struct option[]) { {} }, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *argv[MAX_ARGS + 2], *buf;
        int argc = 1, r;
        bool exec;

        if (size < 1)
                return 0;
        exec = data[0] & 1;
        buf = fuzz_strndup(data + 1, size - 1);
        argv[0] = exec ? (char *) "exec" : (char *) "nsrun";
        for (char *p = buf, *end = buf + size - 1; argc < MAX_ARGS + 1;) {
                char *q = p;
                while (q < end && *q != '\n' && *q != '\0')
                        q++;
                *q = '\0'; /* at the end, q is the terminating NUL */
                argv[argc++] = p;
                if (q >= end)
                        break;
                p = q + 1;
        }
        argv[argc] = NULL;

        getopt_reset();
        if (exec) {
                ExecArgs a = {};
                r = parse_exec_args(argc, argv, &a);
                fuzz_assert(r <= 1);
                if (r == 1) {
                        fuzz_assert(a.command && a.command[0]);
                        fuzz_assert(a.sandbox.root_dir && a.sandbox.root_dir[0] == '/');
                        fuzz_assert(!(a.mem && a.cap.mem_cap_off));
                }
                exec_args_done(&a);
        } else {
                RunOptions o = { .cap = CAP_OPTIONS_WORKERS, .repeat = 1 };
                r = parse_run_args(argc, argv, &o);
                fuzz_assert(r <= 1);
                if (r == 1) {
                        fuzz_assert(!!o.command != !!o.jobs_file);
                        fuzz_assert(!o.command || o.command[0]);
                        fuzz_assert(o.sandbox.root_dir && o.sandbox.root_dir[0] == '/');
                        fuzz_assert(!(o.cap.mem_cap_off && (o.cap.mem_per_worker || o.cap.mem_per_worker_auto)));
                        fuzz_assert(o.repeat >= 1 && o.cap.pids_max >= 8 && o.cap.reserve_percent <= 90);
                }
                run_options_done(&o);
        }
        free(buf);
        return 0;
}
