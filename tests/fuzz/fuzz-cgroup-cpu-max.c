/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup_parse_cpu_max(): cpu.max ("max 100000", "150000 100000"). A ratio is finite and >= 0. */
#include <errno.h>
#include <math.h>

#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        double ratio = -1;
        int r;

        r = cgroup_parse_cpu_max(text, &ratio);
        if (r == 0)
                fuzz_assert(isfinite(ratio) && ratio >= 0);
        else
                fuzz_assert(ratio == -1 && (r == -EINVAL || r == -ERANGE));
        free(text);
        return 0;
}
