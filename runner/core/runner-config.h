/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nsrun's settings file: [tool.nsrun] in pyproject.toml, or the top-level keys of .nsrun.toml, each key a long
 * option of the runner. Debian 12 packages no TOML library for C (only C++ ones: toml11, toml++, cpptoml), so
 * this is a reader of the part of TOML the table needs: strings, integers, booleans and arrays of strings, with
 * comments. Every other table of the file is skipped as TOML text (strings, multi-line strings, arrays and
 * inline tables spanning lines); anything else inside nsrun's table is refused with its line and column. The
 * reader does not print: the caller says what the user sees. */

#include <stdbool.h>
#include <stddef.h>

typedef enum ConfigType {
        CONFIG_STRING,
        CONFIG_INTEGER,
        CONFIG_BOOLEAN,
        CONFIG_ARRAY,   /* of strings */
} ConfigType;

typedef struct ConfigEntry {
        char *key;
        ConfigType type;
        char **values;          /* a string; an integer in decimal; "true"/"false"; an array's strings (may be empty) */
        unsigned line, column;  /* of the key, from 1 */
} ConfigEntry;

typedef struct ConfigError {
        unsigned line, column;
        char message[160];
} ConfigError;

/* Reads the keys of table ("tool.nsrun") in text, or with table NULL the top-level keys (then a table header
 * is an error). Returns 0 and the entries in file order (*ret_n may be 0), or -EINVAL with *err filled, or
 * -ENOMEM. *ret_found: whether the table's header appeared (always true for table NULL). */
int config_parse(const char *text, const char *table, ConfigEntry **ret, size_t *ret_n, bool *ret_found,
                 ConfigError *err);
void config_entries_free(ConfigEntry *e, size_t n);

/* Splits s into words as a POSIX shell does, without any expansion: blanks separate, '...' is literal, "..."
 * keeps all but \\, \", \$ and \`, a backslash elsewhere quotes the next character. -EINVAL for an unterminated
 * quote or a trailing backslash. */
int config_split_words(const char *s, char ***ret);

/* One setting as the run took it, for --dry-run: where it came from. */
typedef struct Setting {
        char *option;           /* its long name: "mem-per-worker" */
        char *value;            /* NULL for a flag */
        char *source;           /* "pyproject.toml [tool.nsrun]", "NSRUN_OPTS" or "command line" */
        unsigned line;          /* in the file; 0 elsewhere */
} Setting;

void setting_done(Setting *s);
void settings_free(Setting *s, size_t n);
