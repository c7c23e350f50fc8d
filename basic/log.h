/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* Only runner/ (the code that decides what the user sees) logs. Library-like code returns -errno. */

typedef enum LogLevel {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_NOTICE,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
} LogLevel;

void log_set_max_level(LogLevel level);
LogLevel log_get_max_level(void);
/* "error", "warning", "notice", "info" or "debug" -> its LogLevel; -EINVAL for anything else. */
int log_level_from_string(const char *s);
/* Sets the level from $NSRUN_LOG_LEVEL (default info), warning once about a value that is not a level. */
void log_setup_from_env(void);

/* Logs "nsrun: <message>" to stderr; %m expands to strerror(-error). Returns -abs(error), so a caller can
 * "return log_error_errno(r, ...)". error may be 0 for messages without an errno. */
/* Put prefix (not copied; NULL: none) before every message, after "nsrun: ": the settings file's
 * "pyproject.toml:3:18: " while its values are parsed by the option parsers. */
void log_set_prefix(const char *prefix);

int log_internal(LogLevel level, int error, const char *format, ...) _printf_(3, 4);

#define log_error_errno(error, ...) log_internal(LOG_LEVEL_ERROR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_internal(LOG_LEVEL_WARNING, (error), __VA_ARGS__)
#define log_error(...) log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
