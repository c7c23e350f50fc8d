/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup_parse_cpu_list(): cpuset.cpus.effective, Cpus_allowed_list ("0-3,8-11"). A count never exceeds what
 * the list can name: each of its items names at most 2^20 CPUs. */
#include <errno.h>

#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        unsigned count = 0xdeadbeef;
        uint64_t items = 1;
        int r;

        for (const char *p = text; *p; p++)
                items += *p == ',';
        r = cgroup_parse_cpu_list(text, &count);
        if (r == 0)
                fuzz_assert((uint64_t) count <= items << 20);
        else
                fuzz_assert(count == 0xdeadbeef && (r == -EINVAL || r == -ERANGE));
        free(text);
        return 0;
}
