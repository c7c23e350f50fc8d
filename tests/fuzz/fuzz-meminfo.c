/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* meminfo_parse_available(): /proc/meminfo's MemAvailable in kB, as bytes: a whole number of KiB, no overflow. */
#include <errno.h>

#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        uint64_t v = UINT64_C(0xdeadbeef);
        int r;

        r = meminfo_parse_available(text, &v);
        if (r == 0)
                fuzz_assert(v % 1024 == 0 && strstr(text, "MemAvailable:"));
        else
                fuzz_assert(v == UINT64_C(0xdeadbeef) && (r == -EINVAL || r == -ERANGE || r == -ENODATA));
        free(text);
        return 0;
}
