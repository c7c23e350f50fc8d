/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* GNU parallel's command lines, as its users write them: 'CMD {} ::: a b ::: x y', ':::: FILE', and the
 * replacement strings {} {.} {/} {//} {/.} {#} {%} and {N} {N.} {N/} {N//} {N/.}. Text only: no file is read
 * and nothing is printed here; an error fills err with one sentence naming the word and the fix. */

#define PARALLEL_FILE_MAX (16u << 20)   /* bytes read from a --jobs-file or a '::::' file */
#define PARALLEL_LINE_MAX (64u << 10)   /* bytes of one of its lines */
#define PARALLEL_JOBS_MAX 100000u       /* jobs from one command line or jobs file */

typedef enum ReplKind {
        REPL_TEXT,              /* literal text, not a replacement */
        REPL_ARG,               /* {}, {N} */
        REPL_NO_EXT,            /* {.}: without its extension */
        REPL_BASE,              /* {/}: without its directory */
        REPL_DIR,               /* {//}: its directory, as dirname(1) */
        REPL_BASE_NO_EXT,       /* {/.} */
        REPL_SEQ,               /* {#}: the job's number, from 1, in input order */
        REPL_SLOT,              /* {%}: the worker running it, from 1; known only when it starts */
} ReplKind;

typedef struct ReplPiece {
        ReplKind kind;
        char *text;             /* REPL_TEXT */
        unsigned pos;           /* {N}: N, from 1; 0: every list's argument */
} ReplPiece;

typedef struct ReplWord {
        ReplPiece *pieces;
        size_t n;
        bool shell;             /* a shell's -c script: each replacement lands quoted, as one shell word */
} ReplWord;

typedef struct ParallelSource {
        bool files;             /* '::::': each word names a file whose lines are one list */
        char **words;
} ParallelSource;

typedef struct ParallelCommand {
        ReplWord *words;        /* the command; none: each argument (combination) is a shell command */
        size_t n_words;
        bool any_repl;          /* else the arguments are appended, one word each */
        bool slot;              /* {%} appears: the command is finished when the job starts */
        ParallelSource *sources;
        size_t n_sources;
        size_t n_lists;         /* one per ':::' and one per file after '::::' */
} ParallelCommand;

/* Does command use ':::' or '::::' (or GNU parallel's linked ':::+', '::::+', refused by parse)? */
bool parallel_is_command(char *const *command);

/* Splits command at its ':::' and '::::' and compiles the words before the first into a template. raw (-q):
 * no replacement is quoted, not even in a shell's -c script. -EINVAL with err on bad input, -ENOMEM. */
int parallel_parse(char *const *command, bool raw, ParallelCommand *ret, char *err, size_t len);
void parallel_done(ParallelCommand *c);

/* One job's command for one argument of each list (args[n_lists]) and its number: *ret_argv, and, when the
 * command holds {%}, *ret_slot_parts: each word of *ret_argv as the pieces between its {%}s (see
 * slot_parts_join()); else NULL. In *ret_argv each {%} reads "{%}". -ENOMEM only. */
int parallel_expand(const ParallelCommand *c, char *const *args, unsigned seq, char ***ret_argv,
                    char ****ret_slot_parts);

/* GNU parallel's quoting of one shell word: as is when only [-_.+a-zA-Z0-9/], else in '...'. */
char *parallel_quote(const char *s);

/* Splits a file's content into its lines (a last one without '\n' too). -EBADMSG: a NUL byte, -E2BIG: a line
 * longer than PARALLEL_LINE_MAX; *ret_line is then the line's number, from 1. */
int parallel_split_lines(const char *buf, size_t size, char ***ret, size_t *ret_line);

/* For an option of GNU parallel (or xargs, or pytest-xdist) that nsrun does not have: what to use instead,
 * or NULL. option as typed: "-n", "--max-args", "--max-args=3". */
const char *parallel_option_hint(const char *option);

/* The words of argv with every {%} filled in: parts[i] holds argv[i]'s pieces between its {%}s. */
char **slot_parts_join(char ***parts, unsigned slot);
void slot_parts_free(char ***parts);
char ***slot_parts_copy(char ***parts);
