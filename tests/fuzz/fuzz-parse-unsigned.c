/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parse_unsigned() and parse_uint64() (-j, --retries, --repeat, --pids-max): no crash; a result is within
 * [min, max] and agrees with parse_uint64(); nothing but decimal digits is accepted. The first 8 bytes of the
 * input give min and max, the rest is the text. */
#include <errno.h>

#include "fuzz.h"
#include "parse-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned min = 0, max = 0, v = 0xdeadbeef;
        uint64_t w = 0;
        char *s;
        int r, rw;

        if (size < 8)
                return 0;
        memcpy(&min, data, 4);
        memcpy(&max, data + 4, 4);
        s = fuzz_strndup(data + 8, size - 8);
        r = parse_unsigned(s, min, max, &v);
        rw = parse_uint64(s, &w);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0) {
                fuzz_assert(v >= min && v <= max);
                fuzz_assert(rw == 0 && w == v);
                for (const char *p = s; *p; p++)
                        fuzz_assert(*p >= '0' && *p <= '9');
        } else
                fuzz_assert(v == 0xdeadbeef);
        if (rw == 0 && w >= min && w <= max)
                fuzz_assert(r == 0);
        free(s);
        return 0;
}
