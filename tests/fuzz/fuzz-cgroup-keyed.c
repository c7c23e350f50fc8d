/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup_parse_keyed(): flat-keyed files (memory.events, memory.stat, cpu.stat, memory.oom_control). The first
 * line of the input is the key, the rest the file. A value found belongs to a line that starts with the key. */
#include <errno.h>

#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *key, *text = fuzz_split_first_line(data, size, &key);
        uint64_t v = UINT64_C(0xdeadbeef);
        int r;

        r = cgroup_parse_keyed(text, key, &v);
        if (r == 0)
                fuzz_assert(*key && strstr(text, key));
        else
                fuzz_assert(v == UINT64_C(0xdeadbeef) &&
                            (r == -EINVAL || r == -ERANGE || r == -ENODATA));
        free(key);
        free(text);
        return 0;
}
