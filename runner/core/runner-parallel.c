/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GNU parallel's command lines: argument lists, replacement strings and where an argument is quoted.
 *
 * GNU parallel joins the command's words into one line for a shell and quotes each argument it puts in, so the
 * shell sees it as one word. nsrun runs no shell around the command: each word stays one argument (as with
 * parallel's -q), and an argument put into a word is passed as it is, except in the script of a shell's -c
 * (sh -c 'echo {}'), which a shell parses: there it is quoted as parallel quotes it, so that the script reads
 * exactly as the command line parallel would have run, and an argument such as '$(id)' stays data. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"
#include "runner-parallel.h"

static bool is_marker(const char *w) {
        return streq(w, ":::") || streq(w, "::::") || streq(w, ":::+") || streq(w, "::::+");
}

bool parallel_is_command(char *const *command) {
        for (size_t i = 0; command && command[i]; i++)
                if (is_marker(command[i]))
                        return true;
        return false;
}

static void word_done(ReplWord *w) {
        for (size_t i = 0; i < w->n; i++)
                free(w->pieces[i].text);
        free(w->pieces);
        *w = (ReplWord) {};
}

void parallel_done(ParallelCommand *c) {
        for (size_t i = 0; i < c->n_words; i++)
                word_done(&c->words[i]);
        free(c->words);
        for (size_t i = 0; i < c->n_sources; i++)
                strv_free(c->sources[i].words);
        free(c->sources);
        *c = (ParallelCommand) {};
}

static int push_piece(ReplWord *w, ReplKind kind, const char *text, size_t len, unsigned pos) {
        ReplPiece *p;

        if (kind == REPL_TEXT && len == 0)
                return 0;
        /* adjacent text is one piece */
        if (kind == REPL_TEXT && w->n > 0 && w->pieces[w->n - 1].kind == REPL_TEXT) {
                ReplPiece *last = &w->pieces[w->n - 1];
                size_t old = strlen(last->text);
                char *t = realloc(last->text, old + len + 1);
                if (!t)
                        return -ENOMEM;
                memcpy(t + old, text, len);
                t[old + len] = '\0';
                last->text = t;
                return 0;
        }
        p = reallocarray(w->pieces, w->n + 1, sizeof *p);
        if (!p)
                return -ENOMEM;
        w->pieces = p;
        p[w->n] = (ReplPiece) { .kind = kind, .pos = pos };
        if (kind == REPL_TEXT && !(p[w->n].text = strndup(text, len)))
                return -ENOMEM;
        w->n++;
        return 0;
}

/* The characters of GNU parallel's replacement strings (and of its --plus ones). Braces holding anything else
 * ('{print $1}', '{a,b}', '{"k": 1}') are not one: they are left alone, as parallel leaves them. */
static bool is_token_char(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               strchr("_.#%/+^:=-", ch);
}

/* The replacement string between '{' and '}' (tok, len bytes): 0 and its kind and position, or -EINVAL. */
static int parse_token(const char *tok, size_t len, size_t n_lists, ReplKind *ret_kind, unsigned *ret_pos) {
        static const struct {
                const char *suffix;
                ReplKind kind;
        } mods[] = {
                { "", REPL_ARG }, { ".", REPL_NO_EXT }, { "/", REPL_BASE }, { "//", REPL_DIR }, { "/.", REPL_BASE_NO_EXT },
        };
        unsigned long pos = 0;
        size_t d = 0;

        if (len == 1 && (tok[0] == '#' || tok[0] == '%')) {
                *ret_kind = tok[0] == '#' ? REPL_SEQ : REPL_SLOT;
                *ret_pos = 0;
                return 0;
        }
        while (d < len && tok[d] >= '0' && tok[d] <= '9' && d < 9)
                pos = pos * 10 + (unsigned long) (tok[d++] - '0');
        if (d > 0 && (pos == 0 || pos > n_lists))
                return -ERANGE;
        for (size_t i = 0; i < ELEMENTSOF(mods); i++)
                if (len - d == strlen(mods[i].suffix) && strneq(tok + d, mods[i].suffix, len - d)) {
                        *ret_kind = mods[i].kind;
                        *ret_pos = (unsigned) pos;
                        return 0;
                }
        return -EINVAL;
}

static void token_error(const char *tok, size_t len, int r, size_t n_lists, char *err, size_t errlen) {
        if (r == -ERANGE && n_lists == 1)
                (void) snprintf(err, errlen, "'{%.*s}': there is one argument list; use {} or {1}", (int) len, tok);
        else if (r == -ERANGE)
                (void) snprintf(err, errlen, "'{%.*s}': there are %zu argument lists; use {1} to {%zu}", (int) len, tok,
                                n_lists, n_lists);
        else
                (void) snprintf(err, errlen,
                                "'{%.*s}' is not one of nsrun's replacement strings ({} {.} {/} {//} {/.} {#} {%%} "
                                "{N} {N.} {N/} {N//} {N/.}); in a shell script, write \\{%.*s} to keep it",
                                (int) len, tok, (int) len, tok);
}

/* Compiles one word. A '{' after '$' (${var}) or '\' is the shell's, not a replacement string. */
static int compile_word(const char *s, size_t n_lists, ReplWord *w, bool *any_repl, bool *slot, char *err, size_t len) {
        const char *p = s;
        int r;

        while (*p) {
                const char *open = strchr(p, '{'), *close, *t;
                ReplKind kind;
                unsigned pos;

                if (!open)
                        return push_piece(w, REPL_TEXT, p, strlen(p), 0);
                close = strchr(open + 1, '}');
                for (t = open + 1; close && t < close && is_token_char(*t); t++)
                        ;
                /* '{=...=}', GNU parallel's Perl expressions, may hold any character */
                if (!close || (open > s && (open[-1] == '$' || open[-1] == '\\')) ||
                    (t < close && open[1] != '=')) {
                        r = push_piece(w, REPL_TEXT, p, (size_t) (open - p) + 1, 0);
                        if (r < 0)
                                return r;
                        p = open + 1;
                        continue;
                }
                r = parse_token(open + 1, (size_t) (close - open - 1), n_lists, &kind, &pos);
                if (r < 0) {
                        token_error(open + 1, (size_t) (close - open - 1), r, n_lists, err, len);
                        return -EINVAL;
                }
                r = push_piece(w, REPL_TEXT, p, (size_t) (open - p), 0);
                if (r >= 0)
                        r = push_piece(w, kind, NULL, 0, pos);
                if (r < 0)
                        return r;
                *any_repl = true;
                *slot = *slot || kind == REPL_SLOT;
                p = close + 1;
        }
        return 0;
}

static bool is_shell(const char *word) {
        static const char *const shells[] = { "sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "ash", "yash", "posh" };
        const char *base = strrchr(word, '/');

        base = base ? base + 1 : word;
        for (size_t i = 0; i < ELEMENTSOF(shells); i++)
                if (streq(base, shells[i]))
                        return true;
        return false;
}

/* The index of the script of 'SHELL [OPTIONS] -c SCRIPT' starting at words[i], or 0. The shell may follow a
 * wrapper (env, timeout, nice, docker exec ...): every word naming a shell is looked at. */
static size_t shell_script_at(char *const *words, size_t n, size_t i) {
        bool c = false;
        size_t j = i + 1;

        if (!is_shell(words[i]))
                return 0;
        for (; j < n; j++) {
                const char *w = words[j];
                if (streq(w, "--") || streq(w, "-")) {
                        j++;
                        break;
                }
                if ((w[0] != '-' && w[0] != '+') || w[1] == '\0')
                        break;
                if (w[1] == '-') /* --norc, --login */
                        continue;
                for (const char *o = w + 1; *o; o++) {
                        c = c || *o == 'c';
                        if (*o == 'o' || *o == 'O') /* -o pipefail: takes the next word */
                                j++;
                }
        }
        return c && j < n ? j : 0;
}

static int split_sources(char *const *command, size_t first, ParallelCommand *c, char *err, size_t len) {
        for (size_t i = first; command[i];) {
                const char *m = command[i];
                ParallelSource *s;
                size_t k = i + 1;

                if (streq(m, ":::+") || streq(m, "::::+"))
                        return snprintf(err, len, "'%s': linked argument lists are not supported; give the "
                                                  "combinations in one list, or each list with its own ':::'", m),
                               -EINVAL;
                s = reallocarray(c->sources, c->n_sources + 1, sizeof *s);
                if (!s)
                        return -ENOMEM;
                c->sources = s;
                s = &c->sources[c->n_sources++];
                *s = (ParallelSource) { .files = streq(m, "::::") };
                for (; command[k] && !is_marker(command[k]); k++)
                        if (strv_push(&s->words, command[k]) < 0)
                                return -ENOMEM;
                if (k == i + 1)
                        return snprintf(err, len, "'%s' needs %s after it: nsrun -- CMD {} %s %s", m,
                                        s->files ? "a file of arguments" : "at least one argument", m,
                                        s->files ? "FILE" : "ARG..."),
                               -EINVAL;
                c->n_lists += s->files ? k - i - 1 : 1;
                i = k;
        }
        return 0;
}

int parallel_parse(char *const *command, bool raw, ParallelCommand *ret, char *err, size_t len) {
        ParallelCommand c = {};
        size_t first = 0;
        int r;

        while (command[first] && !is_marker(command[first]))
                first++;
        r = split_sources(command, first, &c, err, len);
        if (r >= 0 && first > 0 && !(c.words = new0(ReplWord, first)))
                r = -ENOMEM;
        c.n_words = r >= 0 ? first : 0;
        for (size_t i = 0; r >= 0 && i < first; i++)
                r = compile_word(command[i], c.n_lists, &c.words[i], &c.any_repl, &c.slot, err, len);
        for (size_t i = 0; r >= 0 && i < first && !raw; i++) {
                size_t script = shell_script_at(command, first, i);
                if (script > 0)
                        c.words[script].shell = true;
        }
        if (r < 0) {
                parallel_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

char *parallel_quote(const char *s) {
        size_t n = 0;
        char *q, *p;

        if (!*s)
                return strdup("''");
        if (strspn(s, "-_.+/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == strlen(s))
                return strdup(s);
        for (const char *t = s; *t; t++)
                n += *t == '\'' ? 5 : 1;
        q = malloc(n + 3);
        if (!q)
                return NULL;
        p = q;
        *p++ = '\'';
        /* a quote ends the quoted part, stands in double quotes, and starts another: ' becomes '"'"' */
        for (const char *t = s; *t; t++)
                if (*t == '\'')
                        p = stpcpy(p, "'\"'\"'");
                else
                        *p++ = *t;
        *p++ = '\'';
        *p = '\0';
        /* an empty '' at either end is dropped, as parallel does */
        if (strneq(q, "''", 2) && q[2])
                memmove(q, q + 2, strlen(q + 2) + 1);
        n = strlen(q);
        if (n > 2 && q[n - 1] == '\'' && q[n - 2] == '\'')
                q[n - 2] = '\0';
        return q;
}

/* dirname(1), as GNU parallel's {//} (Perl's File::Basename::dirname): "a/b/" -> "a", "x" -> ".", "/" -> "/". */
static char *dir_of(const char *s) {
        size_t n = strlen(s);

        while (n > 1 && s[n - 1] == '/')
                n--;
        if (n == 0 || !memchr(s, '/', n))
                return strdup(".");
        while (n > 0 && s[n - 1] != '/')
                n--;
        while (n > 1 && s[n - 1] == '/')
                n--;
        return strndup(s, n);
}

/* An argument as a replacement string gives it: "{.}" "dir/a.tar.gz" -> "dir/a.tar". */
static char *transform(ReplKind kind, const char *arg) {
        const char *base = strrchr(arg, '/'), *dot;

        base = base ? base + 1 : arg;
        switch (kind) {
        case REPL_NO_EXT:
        case REPL_BASE_NO_EXT:
                if (kind == REPL_BASE_NO_EXT)
                        arg = base;
                dot = strrchr(base, '.');
                return dot ? strndup(arg, (size_t) (dot - arg)) : strdup(arg);
        case REPL_BASE:
                return strdup(base);
        case REPL_DIR:
                return dir_of(arg);
        default:
                return strdup(arg);
        }
}

typedef struct Buf {
        char *s;
        size_t n, cap;
        bool oom;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
        if (b->oom)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->n + n + 64);
                char *t = realloc(b->s, cap);
                if (!t) {
                        b->oom = true;
                        return;
                }
                b->s = t;
                b->cap = cap;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = '\0';
}

static void buf_add_arg(Buf *b, ReplKind kind, const char *arg, bool quote) {
        _cleanup_free_ char *v = transform(kind, arg), *q = v && quote ? parallel_quote(v) : NULL;
        const char *s = quote ? q : v;

        if (!s)
                b->oom = true;
        else
                buf_add(b, s, strlen(s));
}

/* One piece's text; {} and {.} ... with several lists: each list's argument, joined with spaces. */
static void buf_add_piece(Buf *b, const ParallelCommand *c, const ReplPiece *p, char *const *args, unsigned seq,
                          bool quote) {
        char num[16];

        switch (p->kind) {
        case REPL_TEXT:
                buf_add(b, p->text, strlen(p->text));
                return;
        case REPL_SEQ:
                (void) snprintf(num, sizeof num, "%u", seq);
                buf_add(b, num, strlen(num));
                return;
        case REPL_SLOT:
                return; /* the caller splits the word here */
        default:
                if (p->pos > 0)
                        return buf_add_arg(b, p->kind, args[p->pos - 1], quote);
                for (size_t i = 0; i < c->n_lists; i++) {
                        if (i > 0)
                                buf_add(b, " ", 1);
                        buf_add_arg(b, p->kind, args[i], quote);
                }
        }
}

static int push_parts(char ****parts, size_t *n, char **word_parts) {
        char ***v = reallocarray(*parts, *n + 2, sizeof *v);

        if (!v) {
                strv_free(word_parts);
                return -ENOMEM;
        }
        v[(*n)++] = word_parts;
        v[*n] = NULL;
        *parts = v;
        return 0;
}

/* One word of the template as its pieces between {%}s. A word that is only {} (or {.} ...) gives one word per
 * list, as in parallel; a shell script that is only a replacement is the argument itself, not quoted: the
 * argument is the script (sh -c {}). */
static int expand_word(const ParallelCommand *c, const ReplWord *w, char *const *args, unsigned seq,
                       char ****parts, size_t *n) {
        const ReplPiece *only = w->n == 1 && w->pieces[0].kind != REPL_TEXT ? &w->pieces[0] : NULL;
        bool quote = w->shell && !only;
        char **word_parts = NULL;
        Buf b = {};

        if (only && !w->shell && only->pos == 0 && c->n_lists > 1 && only->kind != REPL_SEQ && only->kind != REPL_SLOT) {
                for (size_t i = 0; i < c->n_lists; i++) {
                        char **one = new0(char *, 2);
                        if (!one || !(one[0] = transform(only->kind, args[i]))) {
                                strv_free(one);
                                return -ENOMEM;
                        }
                        if (push_parts(parts, n, one) < 0)
                                return -ENOMEM;
                }
                return 0;
        }
        buf_add(&b, "", 0);
        for (size_t i = 0; i < w->n && !b.oom; i++) {
                if (w->pieces[i].kind == REPL_SLOT) {
                        if (strv_push(&word_parts, b.s) < 0)
                                b.oom = true;
                        b.n = 0;
                        b.s[0] = '\0';
                        continue;
                }
                buf_add_piece(&b, c, &w->pieces[i], args, seq, quote);
        }
        if (b.oom || strv_push(&word_parts, b.s) < 0) {
                free(b.s);
                strv_free(word_parts);
                return -ENOMEM;
        }
        free(b.s);
        return push_parts(parts, n, word_parts);
}

char **slot_parts_join(char ***parts, unsigned slot) {
        char num[16], **argv = NULL;

        if (slot == 0)
                (void) snprintf(num, sizeof num, "{%%}");
        else
                (void) snprintf(num, sizeof num, "%u", slot);
        for (size_t i = 0; parts && parts[i]; i++) {
                Buf b = {};
                buf_add(&b, "", 0);
                for (size_t k = 0; parts[i][k]; k++) {
                        if (k > 0)
                                buf_add(&b, num, strlen(num));
                        buf_add(&b, parts[i][k], strlen(parts[i][k]));
                }
                if (b.oom || strv_push(&argv, b.s) < 0) {
                        free(b.s);
                        strv_free(argv);
                        return NULL;
                }
                free(b.s);
        }
        return argv ?: new0(char *, 1);
}

void slot_parts_free(char ***parts) {
        for (size_t i = 0; parts && parts[i]; i++)
                strv_free(parts[i]);
        free(parts);
}

char ***slot_parts_copy(char ***parts) {
        char ***c = NULL;
        size_t n = 0;

        for (size_t i = 0; parts && parts[i]; i++) {
                char **w = strv_copy(parts[i]);
                if (!w || push_parts(&c, &n, w) < 0) {
                        strv_free(w);
                        slot_parts_free(c);
                        return NULL;
                }
        }
        return c;
}

int parallel_expand(const ParallelCommand *c, char *const *args, unsigned seq, char ***ret_argv,
                    char ****ret_slot_parts) {
        char ***parts = NULL, **argv;
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < c->n_words; i++)
                r = expand_word(c, &c->words[i], args, seq, &parts, &n);
        /* no replacement string: the arguments are appended, one word each, as parallel does */
        for (size_t i = 0; r >= 0 && !c->any_repl && i < c->n_lists; i++) {
                char **one = new0(char *, 2);
                if (!one || !(one[0] = strdup(args[i]))) {
                        strv_free(one);
                        r = -ENOMEM;
                } else
                        r = push_parts(&parts, &n, one);
        }
        argv = r >= 0 ? slot_parts_join(parts, 0) : NULL;
        if (!argv) {
                slot_parts_free(parts);
                return -ENOMEM;
        }
        *ret_argv = argv;
        if (c->slot)
                *ret_slot_parts = parts;
        else {
                *ret_slot_parts = NULL;
                slot_parts_free(parts);
        }
        return 0;
}

int parallel_split_lines(const char *buf, size_t size, char ***ret, size_t *ret_line) {
        char **lines = NULL;
        size_t n = 0, cap = 0, line = 1;

        for (const char *p = buf, *end = buf + size; p < end; line++) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *stop = nl ?: end;
                if (memchr(p, '\0', (size_t) (stop - p)) || (size_t) (stop - p) > PARALLEL_LINE_MAX) {
                        strv_free(lines);
                        *ret_line = line;
                        return memchr(p, '\0', (size_t) (stop - p)) ? -EBADMSG : -E2BIG;
                }
                if (n + 2 > cap) {
                        char **v = reallocarray(lines, cap = MAX(cap * 2, 16), sizeof *v);
                        if (!v) {
                                strv_free(lines);
                                return -ENOMEM;
                        }
                        lines = v;
                }
                lines[n] = strndup(p, (size_t) (stop - p));
                if (!lines[n]) {
                        strv_free(lines);
                        return -ENOMEM;
                }
                lines[++n] = NULL;
                p = nl ? nl + 1 : end;
        }
        *ret = lines ?: new0(char *, 1);
        return *ret ? 0 : -ENOMEM;
}

const char *parallel_option_hint(const char *option) {
        static const struct {
                const char *name, *hint;
        } hints[] = {
                { "-n", "use -j N (nsrun's worker count)" },
                { "--numprocesses", "use -j N (nsrun's worker count)" },
                { "-P", "use -j N (nsrun's worker count)" },
                { "--max-procs", "use -j N (nsrun's worker count)" },
                { "-N", "nsrun runs one job per argument (or combination of lists); use several ':::' lists and {1} {2}" },
                { "--max-args", "nsrun runs one job per argument (or combination of lists); use several ':::' lists and {1} {2}" },
                { "-m", "nsrun runs one job per argument; it does not pack several into one command line" },
                { "-X", "nsrun runs one job per argument; it does not pack several into one command line" },
                { "--xargs", "nsrun runs one job per argument; it does not pack several into one command line" },
                { "-a", "use ':::: FILE' after the command" },
                { "--arg-file", "use ':::: FILE' after the command" },
                { "-I", "nsrun's replacement string is {} (and {.}, {/}, {//}, {/.}, {#}, {%}, {N})" },
                { "--link", "linked argument lists are not supported; give each list with its own ':::'" },
                { "--xapply", "linked argument lists are not supported; give each list with its own ':::'" },
                { "--dryrun", "use --dry-run" },
                { "--results", "each job's output is in --log-dir DIR (default .nsrun/logs)" },
                { "--files", "each job's output is in --log-dir DIR (default .nsrun/logs)" },
                { "--tag", "nsrun keeps each job's output apart, in --log-dir DIR, and prints failures' after the run" },
                { "--line-buffer", "nsrun keeps each job's output apart, in --log-dir DIR, and prints failures' after the run" },
                { "-u", "nsrun keeps each job's output apart, in --log-dir DIR, and prints failures' after the run" },
                { "--ungroup", "nsrun keeps each job's output apart, in --log-dir DIR, and prints failures' after the run" },
                { "--group", "nsrun keeps each job's output apart, in --log-dir DIR, and prints failures' after the run" },
                { "--eta", "nsrun shows a status line on a terminal; --json FILE has every job's times" },
                { "--progress", "nsrun shows a status line on a terminal; --json FILE has every job's times" },
                { "--bar", "nsrun shows a status line on a terminal; --json FILE has every job's times" },
                { "--resume", "nsrun runs the last run's failures first; --shard K/N splits a run" },
                { "--resume-failed", "nsrun runs the last run's failures first" },
                { "--retry-failed", "nsrun runs the last run's failures first" },
                { "--memfree", "use --mem-per-worker SIZE and --mem-reserve R" },
                { "--memsuspend", "use --mem-per-worker SIZE and --mem-reserve R" },
                { "-S", "use --shard K/N on each machine" },
                { "--sshlogin", "use --shard K/N on each machine" },
                { "--null", "give one argument per line" },
                { "-0", "give one argument per line" },
                { "-d", "give one argument per line" },
                { "--delimiter", "give one argument per line" },
                { "--pipe", "nsrun runs commands with arguments, not on pieces of its standard input" },
                { "--env", "the environment passes into every job" },
                { "--will-cite", "nsrun needs no such option; drop it" },
                { "--citation", "nsrun needs no such option; drop it" },
                { "--tx", "use 'nsrun xdist' to keep pytest-xdist's scheduling" },
        };
        size_t n = strcspn(option, "=");

        for (size_t i = 0; i < ELEMENTSOF(hints); i++)
                if (strlen(hints[i].name) == n && strneq(hints[i].name, option, n))
                        return hints[i].hint;
        return NULL;
}
