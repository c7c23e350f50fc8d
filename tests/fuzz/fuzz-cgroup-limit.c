/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup_parse_limit(): memory.max, pids.max, memory.limit_in_bytes. "max", "-1" and v1's huge "no limit"
 * values are CGROUP_LIMIT_MAX; anything else is below 2^62. */
#include <errno.h>

#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        uint64_t v = UINT64_C(0xdeadbeef);
        int r;

        r = cgroup_parse_limit(text, &v);
        if (r == 0)
                fuzz_assert(v == CGROUP_LIMIT_MAX || v < (UINT64_C(1) << 62));
        else
                fuzz_assert(v == UINT64_C(0xdeadbeef) && (r == -EINVAL || r == -ERANGE));
        free(text);
        return 0;
}
