/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parse_duration() (--timeout): no crash, no undefined behaviour; a result is at least 1 µs, at most 1e16 µs,
 * and the output is untouched on failure. */
#include <errno.h>

#include "fuzz.h"
#include "parse-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size);
        uint64_t v = UINT64_C(0xdeadbeef);
        int r;

        r = parse_duration(s, &v);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0) {
                fuzz_assert(v >= 1 && v <= UINT64_C(10000000000000000));
                (void) FORMAT_DURATION(v);
        } else
                fuzz_assert(v == UINT64_C(0xdeadbeef));
        free(s);
        return 0;
}
