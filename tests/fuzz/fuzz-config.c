/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config_parse() (the settings file's TOML, pyproject.toml's [tool.nsrun] and .nsrun.toml) and
 * config_split_words() (NSRUN_OPTS): no crash, no undefined behaviour, no leak, and their promises: an error has
 * a line and column inside the text and a message; an entry has a key, at least one value unless it is an
 * array, an integer in plain decimal. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "runner-config.h"
#include "strv.h"

static void check(const char *s, const char *table) {
        ConfigEntry *e = NULL;
        ConfigError err = {};
        size_t n = 0, lines = 1;
        bool found = false;
        int r;

        for (const char *c = s; *c; c++)
                lines += *c == '\n';
        r = config_parse(s, table, &e, &n, &found, &err);
        fuzz_assert(r == 0 || r == -EINVAL);
        if (r < 0) {
                fuzz_assert(err.line >= 1 && err.line <= lines);
                fuzz_assert(err.column >= 1 && err.column <= strlen(s) + 1);
                fuzz_assert(err.message[0]);
                return;
        }
        fuzz_assert(n == 0 || found);
        for (size_t i = 0; i < n; i++) {
                fuzz_assert(e[i].key && e[i].values);
                fuzz_assert(e[i].line >= 1 && e[i].line <= lines && e[i].column >= 1);
                fuzz_assert(e[i].type == CONFIG_ARRAY || strv_length(e[i].values) == 1);
                if (e[i].type == CONFIG_INTEGER)
                        fuzz_assert(strspn(e[i].values[0] + (e[i].values[0][0] == '-'), "0123456789") ==
                                    strlen(e[i].values[0] + (e[i].values[0][0] == '-')));
                if (e[i].type == CONFIG_BOOLEAN)
                        fuzz_assert(!strcmp(e[i].values[0], "true") || !strcmp(e[i].values[0], "false"));
        }
        config_entries_free(e, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size), **words = NULL;
        int r;

        check(s, "tool.nsrun");
        check(s, NULL);
        r = config_split_words(s, &words);
        fuzz_assert(r == 0 || r == -EINVAL);
        if (r == 0)
                for (char **w = words; *w; w++)
                        fuzz_assert(strlen(*w) <= size);
        strv_free(words);
        free(s);
        return 0;
}
