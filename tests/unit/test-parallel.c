/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GNU parallel's command lines (runner-parallel.c): the expected values are what GNU parallel 20221122 gives for
 * the same command lines (parallel --dry-run, parallel -q). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runner-job.h"
#include "runner-parallel.h"
#include "tap.h"

static void test_quote(void) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "a.b", "a.b" },          { "dir/x-y_z+1", "dir/x-y_z+1" }, { "", "''" },
                { "c;d", "'c;d'" },        { "$(id)", "'$(id)'" },           { "a b", "'a b'" },
                { "it's", "'it'\"'\"'s'" }, { "'a'", "\"'\"'a'\"'\"" },       { "'", "\"'\"" },
                { "''x", "\"'\"''\"'\"'x'" },    { "é", "'é'" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *q = parallel_quote(cases[i].in);
                is_str(q, cases[i].out, cases[i].in);
                free(q);
        }
}

/* Expands argv (a command with ':::' lists) for the combination args and returns its words joined by '|'. */
static char *expand(char **command, bool raw, char **args, unsigned seq, int *ret) {
        ParallelCommand c = {};
        char err[512] = "", **argv = NULL, ***parts = NULL, *s;
        size_t len = 1;

        *ret = parallel_parse(command, raw, &c, err, sizeof err);
        if (*ret < 0)
                return strdup(err);
        *ret = parallel_expand(&c, args, seq, &argv, &parts);
        for (size_t i = 0; argv[i]; i++)
                len += strlen(argv[i]) + 1;
        s = calloc(1, len);
        for (size_t i = 0; argv[i]; i++) {
                if (i)
                        strcat(s, "|");
                strcat(s, argv[i]);
        }
        if (parts) {
                char **filled = slot_parts_join(parts, 7), *with_slot = NULL;
                if (asprintf(&with_slot, "%s|slot:%s", s, filled[strv_length(filled) - 1]) < 0)
                        with_slot = NULL;
                free(s);
                s = with_slot;
                strv_free(filled);
        }
        strv_free(argv);
        slot_parts_free(parts);
        parallel_done(&c);
        return s;
}

#define EXPANDS(want, raw, args, ...)                                                                   \
        do {                                                                                            \
                char *_cmd_[] = { __VA_ARGS__, NULL };                                                  \
                int _r_;                                                                                \
                char *_s_ = expand(_cmd_, raw, (char **) (args), 3, &_r_);                              \
                is_str(_s_, want, #__VA_ARGS__);                                                        \
                free(_s_);                                                                              \
        } while (0)

static void test_expand(void) {
        const char *one[] = { "dir.d/a.tar.gz", NULL }, *odd[] = { "/x/.bashrc", NULL }, *trail[] = { "a/b/", NULL };
        const char *two[] = { "a.b", "x y", NULL }, *inj[] = { "c;d", NULL };

        EXPANDS("echo|dir.d/a.tar.gz|dir.d/a.tar|a.tar.gz|dir.d|a.tar|3", false, one, "echo", "{}", "{.}", "{/}", "{//}",
                "{/.}", "{#}", ":::", "x");
        EXPANDS("echo|/x/.bashrc|/x/|.bashrc|/x|", false, odd, "echo", "{}", "{.}", "{/}", "{//}", "{/.}", ":::", "x");
        EXPANDS("echo|a/b/|a/b/||a|", false, trail, "echo", "{}", "{.}", "{/}", "{//}", "{/.}", ":::", "x");
        EXPANDS("echo|dir.d/a.tar.gz=dir.d/a.tar.gz", false, one, "echo", "{}={}", ":::", "x");
        EXPANDS("echo|x y|a|a.b|x y", false, two, "echo", "{2}", "{1.}", "{1}", "{2/}", ":::", "p", ":::", "q");
        EXPANDS("echo|a.b|x y", false, two, "echo", "{}", ":::", "p", ":::", "q");
        EXPANDS("echo|-a.b x y-", false, two, "echo", "-{}-", ":::", "p", ":::", "q");
        EXPANDS("echo|a.b|x y", false, two, "echo", ":::", "p", ":::", "q");
        EXPANDS("sh|-c|echo got-'c;d' 'c;d'", false, inj, "sh", "-c", "echo got-{} {}", ":::", "x");
        EXPANDS("sh|-c|echo got-c;d", true, inj, "sh", "-c", "echo got-{}", ":::", "x");
        EXPANDS("sh|-c|c;d", false, inj, "sh", "-c", "{}", ":::", "x");
        EXPANDS("env|A=1|/bin/bash|-e|-o|pipefail|--norc|-c|echo 'c;d'|c;d", false, inj, "env", "A=1", "/bin/bash",
                "-e", "-o", "pipefail", "--norc", "-c", "echo {}", "{}", ":::", "x");
        EXPANDS("sh|-ec|: a.b 'x y'", false, two, "sh", "-ec", ": {}", ":::", "p", ":::", "q");
        EXPANDS("sh|script.sh|c;d", false, inj, "sh", "script.sh", "{}", ":::", "x");
        EXPANDS("awk|{print $1}|c;d", false, inj, "awk", "{print $1}", "{}", ":::", "x");
        EXPANDS("sh|-c|echo ${HOME} \\{x} {a,b} 'c;d'", false, inj, "sh", "-c", "echo ${HOME} \\{x} {a,b} {}", ":::", "x");
        EXPANDS("echo|w{%}-3|slot:w7-3", false, inj, "echo", "w{%}-{#}", ":::", "x");
        EXPANDS("'{x}' is not one of nsrun's replacement strings ({} {.} {/} {//} {/.} {#} {%} {N} {N.} {N/} {N//} {N/.}); "
                "in a shell script, write \\{x} to keep it",
                false, inj, "echo", "{x}", ":::", "x");
        EXPANDS("'{3}': there are 2 argument lists; use {1} to {2}", false, two, "echo", "{3}", ":::", "p", ":::", "q");
        EXPANDS("'{= uc =}' is not one of nsrun's replacement strings ({} {.} {/} {//} {/.} {#} {%} {N} {N.} {N/} "
                "{N//} {N/.}); in a shell script, write \\{= uc =} to keep it",
                false, inj, "echo", "{= uc =}", ":::", "x");
        EXPANDS("':::' needs at least one argument after it: nsrun -- CMD {} ::: ARG...", false, inj, "echo", ":::", "x",
                ":::");
        EXPANDS("':::+': linked argument lists are not supported; give the combinations in one list, or each list with "
                "its own ':::'",
                false, inj, "echo", ":::", "x", ":::+", "y");
}

static void test_lines(void) {
        char **v = NULL, *big;
        size_t line = 0;

        is_int(parallel_split_lines("a\n\nb c", 6, &v, &line), 0, "lines");
        ok(strv_length(v) == 3 && strcmp(v[1], "") == 0 && strcmp(v[2], "b c") == 0, "... an empty one and a last one without newline");
        strv_free(v);
        is_int(parallel_split_lines("a\nb\0c\n", 6, &v, &line), -EBADMSG, "a NUL byte is refused");
        is_int(line, 2, "... naming its line");
        big = malloc(PARALLEL_LINE_MAX + 3);
        memset(big, 'x', PARALLEL_LINE_MAX + 3);
        big[0] = '\n';
        is_int(parallel_split_lines(big, PARALLEL_LINE_MAX + 2, &v, &line), -E2BIG, "a line over the limit is refused");
        is_int(line, 2, "... naming its line");
        is_int(parallel_split_lines(big, PARALLEL_LINE_MAX + 1, &v, &line), 0, "a line of the limit is taken");
        strv_free(v);
        free(big);
}

static void test_hints(void) {
        is_str(parallel_option_hint("-n"), "use -j N (nsrun's worker count)", "-n");
        ok(parallel_option_hint("--max-args=3") != NULL, "--max-args=3");
        ok(parallel_option_hint("--bogus") == NULL, "--bogus has none");
        ok(parallel_is_command((char *[]) { "echo", "::::", "f", NULL }), "':::: FILE' is a GNU parallel command line");
        ok(!parallel_is_command((char *[]) { "echo", "::", NULL }), "'::' is not");
}

int main(void) {
        test_quote();
        test_expand();
        test_lines();
        test_hints();
        return tap_done();
}
