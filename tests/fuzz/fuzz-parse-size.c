/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parse_size() (--mem-per-worker, --mem, --mem-reserve): no crash, no undefined behaviour, and the promises of
 * parse-util.h: 0 only when allowed, never a value past 64 bits, the same value with and without allow_zero. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>

#include "fuzz.h"
#include "parse-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size);
        uint64_t v = UINT64_C(0xdeadbeef), z = UINT64_C(0xdeadbeef);
        int r, rz;

        r = parse_size(s, false, &v);
        rz = parse_size(s, true, &z);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE);
        fuzz_assert(rz == 0 || rz == -EINVAL || rz == -ERANGE);
        if (r == 0) {
                fuzz_assert(v >= 1);
                fuzz_assert(rz == 0 && z == v);
                /* signs, blanks, hex and exponents are refused: a size starts with a digit or '.' */
                fuzz_assert(isdigit((unsigned char) s[0]) || s[0] == '.');
                (void) FORMAT_SIZE(v);
        } else
                fuzz_assert(v == UINT64_C(0xdeadbeef)); /* untouched on failure */
        if (rz == 0 && r != 0)
                fuzz_assert(z == 0 && r == -EINVAL);
        free(s);
        return 0;
}
