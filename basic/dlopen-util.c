/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>

#include "dlopen-util.h"

int dlopen_many_sym(void **dlp, const char *filename, const char **ret_error, ...) {
        void *dl;
        va_list ap;

        if (*dlp)
                return 0;
        dl = dlopen(filename, RTLD_NOW | RTLD_NODELETE);
        if (!dl) {
                if (ret_error)
                        *ret_error = dlerror();
                return -EOPNOTSUPP;
        }
        va_start(ap, ret_error);
        for (;;) {
                void **fn = va_arg(ap, void **);
                const char *name;

                if (!fn)
                        break;
                name = va_arg(ap, const char *);
                *fn = dlsym(dl, name);
                if (!*fn) {
                        va_end(ap);
                        if (ret_error)
                                *ret_error = dlerror();
                        (void) dlclose(dl);
                        return -EOPNOTSUPP;
                }
        }
        va_end(ap);
        *dlp = dl;
        return 0;
}
