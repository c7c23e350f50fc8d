/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static LogLevel max_level = LOG_LEVEL_INFO;
static const char *log_prefix;

void log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

void log_set_max_level(LogLevel level) {
        max_level = level;
}

LogLevel log_get_max_level(void) {
        return max_level;
}

static const char *const level_names[] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_NOTICE] = "notice",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(s, level_names[i]))
                        return (int) i;
        return -EINVAL;
}

void log_setup_from_env(void) {
        const char *e = getenv("NSRUN_LOG_LEVEL");
        int level;

        if (!e || !*e)
                return;
        level = log_level_from_string(e);
        if (level < 0) {
                log_warning("NSRUN_LOG_LEVEL=%s is not a level; use error, warning, notice, info or debug", e);
                return;
        }
        max_level = (LogLevel) level;
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
                (void) fprintf(stderr, "nsrun: %s%s\n", log_prefix ?: "", buf);
        }
        return -e;
}
