/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* meminfo_rewrite(): any text in, NUL-terminated text out within the buffer, no figure above MemTotal. */
#include <errno.h>

#include "fuzz.h"
#include "sandbox-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SandboxMemView v = { .total = UINT64_C(1) << 30, .available = UINT64_C(1) << 29 };
        char *text = fuzz_strndup(data, size), buf[8192];
        int r;

        r = meminfo_rewrite(text, &v, buf, sizeof buf);
        fuzz_assert(r == -ENOBUFS || (r >= 0 && (size_t) r < sizeof buf && strlen(buf) == (size_t) r));
        free(text);
        return 0;
}
