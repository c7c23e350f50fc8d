/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup_parse_proc_self(): /proc/self/cgroup. The first line of the input is the controller ("" for the v2
 * "0::" line), the rest the file. A path found is absolute, one line, and never a removed cgroup. */
#include <errno.h>

#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *controller, *text = fuzz_split_first_line(data, size, &controller), *path = NULL;
        int r;

        r = cgroup_parse_proc_self(text, controller, &path);
        if (r == 0) {
                size_t n = strlen(path);
                fuzz_assert(path[0] == '/');
                fuzz_assert(!strchr(path, '\n'));
                fuzz_assert(n < 10 || strcmp(path + n - 10, " (deleted)") != 0);
                fuzz_assert(strstr(text, path));
        } else
                fuzz_assert(!path && (r == -EINVAL || r == -ENOENT || r == -ENODATA || r == -ENOMEM));
        free(path);
        free(controller);
        free(text);
        return 0;
}
