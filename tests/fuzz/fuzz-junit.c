/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JUnit XML each pytest job writes into the run directory (which the job itself can fill with anything),
 * read by nsrun (possibly root) with libxml2: junit_read_counts() for the job's test counts, and
 * report_write_junit() merging it into --junit FILE. Both take a path: the input is written to a regular file in
 * a directory of the fuzzer's own (not a memfd's /proc/self/fd/N: nsrun opens a job's files O_NOFOLLOW and
 * refuses that magic link, as it refuses any link a job plants); the merged report goes to /dev/null. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "runner-report.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned tests = 0xdeadbeef, failures = 0xdeadbeef, skipped = 0xdeadbeef;
        int r;

        int fd;

        if (!path[0]) {
                char dir[] = "/tmp/fuzz-junit.XXXXXX";
                fuzz_assert(mkdtemp(dir));
                (void) snprintf(path, sizeof path, "%s/junit.xml", dir);
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        fuzz_assert(fd >= 0);
        fuzz_assert(write(fd, data, size) == (ssize_t) size);
        (void) close(fd);
        r = junit_read_counts(path, &tests, &failures, &skipped);
        if (r < 0)
                fuzz_assert(r == -EBADMSG && tests == 0xdeadbeef);

        {
                Job job = { .name = (char *) "tests/test_fuzz.py", .status = r < 0 ? JOB_ERROR : JOB_PASSED,
                            .junit_path = path, .attempts = 1 };
                RunOptions opt = {};
                size_t order = 0;
                RunContext rc = { .opt = &opt, .src.jobs = { .jobs = &job, .n = 1 }, .order = &order };

                fuzz_assert(report_write_junit(&rc, "/dev/null") == 0);
        }
        return 0;
}
