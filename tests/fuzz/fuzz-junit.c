/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JUnit XML each pytest job writes into the run directory (which the job itself can fill with anything),
 * read by nsrun (possibly root) with libxml2: junit_read_counts() for the job's test counts, and
 * report_write_junit() merging it into --junit FILE. Both take a path: the input is written to a memfd and
 * read back through /proc/self/fd/N, as nsrun reads a file; the merged report goes to /dev/null. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "runner-report.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned tests = 0xdeadbeef, failures = 0xdeadbeef, skipped = 0xdeadbeef;
        int r;

        if (memfd < 0) {
                memfd = memfd_create("junit.xml", MFD_CLOEXEC);
                fuzz_assert(memfd >= 0);
                (void) snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
        }
        fuzz_assert(ftruncate(memfd, 0) == 0);
        fuzz_assert(pwrite(memfd, data, size, 0) == (ssize_t) size);
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
