/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GNU parallel's command lines (runner-parallel.c): the command and its ':::' lists, the replacement strings in
 * its words, where an argument is quoted, and the lines of a jobs or '::::' file. Every parse that succeeds is
 * expanded for the first combinations of its lists (a '::::' file counts as the list of its names); a {%} put
 * back by the slot's number must give the same words with "{%}" left in; quoting must give a word a shell reads
 * back as the argument (checked: no unquoted byte outside the safe set).
 *
 * Input: the first byte's low bit is -q; the rest is the words of the command line, separated by NUL or
 * newline bytes; the same bytes are also split as a file's lines. */
#include <errno.h>

#include "runner-job.h"
#include "runner-parallel.h"

#include "fuzz.h"

#define MAX_WORDS 64

static void check_quote(const char *arg) {
        char *q = parallel_quote(arg);

        fuzz_assert(q);
        if (strspn(arg, "-_.+/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(arg) || !*arg)
                fuzz_assert(q[0] == '\'' || q[0] == '"');
        fuzz_assert(strlen(q) <= strlen(arg) * 5 + 2);
        free(q);
}

static void expand_some(const ParallelCommand *c) {
        char *args[MAX_WORDS + 1] = {};
        size_t k = 0;

        for (size_t i = 0; i < c->n_sources; i++)
                for (size_t w = 0; c->sources[i].words[w]; w++) {
                        if (c->sources[i].files || w == 0) {
                                fuzz_assert(k < c->n_lists);
                                args[k++] = c->sources[i].words[w];
                        }
                        check_quote(c->sources[i].words[w]);
                        if (!c->sources[i].files)
                                break;
                }
        fuzz_assert(k == c->n_lists);
        for (unsigned seq = 1; seq <= 2; seq++) {
                char **argv = NULL, ***parts = NULL;
                fuzz_assert(parallel_expand(c, args, seq, &argv, &parts) == 0);
                fuzz_assert(!!parts == c->slot);
                if (parts) {
                        char **back = slot_parts_join(parts, 0), **filled = slot_parts_join(parts, 12);
                        fuzz_assert(back && filled && strv_length(back) == strv_length(argv));
                        for (size_t i = 0; argv[i]; i++)
                                fuzz_assert(strcmp(back[i], argv[i]) == 0);
                        strv_free(back);
                        strv_free(filled);
                }
                strv_free(argv);
                slot_parts_free(parts);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *words[MAX_WORDS + 2], *buf, **lines = NULL, err[512];
        ParallelCommand c = {};
        size_t n = 0, line = 0;
        bool raw;
        int r;

        if (size < 1)
                return 0;
        raw = data[0] & 1;
        r = parallel_split_lines((const char *) data + 1, size - 1, &lines, &line);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -E2BIG);
        fuzz_assert(r == 0 || line >= 1);
        strv_free(lines);

        buf = fuzz_strndup(data + 1, size - 1);
        for (char *p = buf, *end = buf + size - 1; n < MAX_WORDS;) {
                char *q = p;
                while (q < end && *q != '\n' && *q != '\0')
                        q++;
                *q = '\0';
                words[n++] = p;
                if (q >= end)
                        break;
                p = q + 1;
        }
        words[n] = NULL;
        if (parallel_is_command(words)) {
                r = parallel_parse(words, raw, &c, err, sizeof err);
                fuzz_assert(r == 0 || (r == -EINVAL && err[0]));
                if (r == 0) {
                        fuzz_assert(c.n_lists >= 1 && c.n_sources >= 1);
                        expand_some(&c);
                        parallel_done(&c);
                }
        }
        free(buf);
        return 0;
}
