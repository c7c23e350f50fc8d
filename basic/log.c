/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static LogLevel max_level = LOG_LEVEL_INFO;

void log_set_max_level(LogLevel level) {
        max_level = level;
}

LogLevel log_get_max_level(void) {
        return max_level;
}

int log_internal(LogLevel level, int error, const char *format, ...) {
        int e = error < 0 ? -error : error;

        if (level <= max_level) {
                char buf[4096];
                va_list ap;

                /* %m refers to 'error' when one is given; log_error() leaves errno as the caller left it. */
                if (e)
                        errno = e;
                va_start(ap, format);
                (void) vsnprintf(buf, sizeof buf, format, ap);
                va_end(ap);
                (void) fprintf(stderr, "nsrun: %s\n", buf);
        }
        return -e;
}
