/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The settings file's TOML, as much of it as [tool.nsrun] needs (runner-config.h), and NSRUN_OPTS's words. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner-config.h"
#include "strv.h"

#define TABLE_NAME_MAX 256

typedef struct Parser {
        const char *s;
        size_t i, line_start;
        unsigned line;
        ConfigError *err;
} Parser;

static char peek(const Parser *p, size_t ahead) {
        /* never past the terminating NUL: each step below stops at it */
        for (size_t k = 0; k < ahead; k++)
                if (!p->s[p->i + k])
                        return '\0';
        return p->s[p->i + ahead];
}

_printf_(2, 3) static int fail(Parser *p, const char *format, ...) {
        va_list ap;

        p->err->line = p->line;
        p->err->column = (unsigned) (p->i - p->line_start + 1);
        va_start(ap, format);
        (void) vsnprintf(p->err->message, sizeof p->err->message, format, ap);
        va_end(ap);
        return -EINVAL;
}

static void newline(Parser *p) {
        p->i++;
        p->line++;
        p->line_start = p->i;
}

static void skip_blanks(Parser *p) {
        while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
                p->i++;
}

static void skip_comment(Parser *p) {
        if (p->s[p->i] == '#')
                while (p->s[p->i] && p->s[p->i] != '\n')
                        p->i++;
}

/* Blanks, comments and line ends, as between an array's values. */
static void skip_space(Parser *p) {
        for (;;) {
                skip_blanks(p);
                skip_comment(p);
                if (p->s[p->i] == '\r' && peek(p, 1) == '\n')
                        p->i++;
                if (p->s[p->i] != '\n')
                        return;
                newline(p);
        }
}

static int end_of_line(Parser *p) {
        skip_blanks(p);
        skip_comment(p);
        if (p->s[p->i] == '\r' && peek(p, 1) == '\n')
                p->i++;
        if (p->s[p->i] == '\n') {
                newline(p);
                return 0;
        }
        if (!p->s[p->i])
                return 0;
        return fail(p, "unexpected '%c' after the value; one key = value per line", p->s[p->i]);
}

static bool is_bare(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void put_utf8(FILE *f, uint32_t c) {
        if (c < 0x80)
                fputc((int) c, f);
        else if (c < 0x800) {
                fputc((int) (0xc0 | (c >> 6)), f);
                fputc((int) (0x80 | (c & 0x3f)), f);
        } else if (c < 0x10000) {
                fputc((int) (0xe0 | (c >> 12)), f);
                fputc((int) (0x80 | ((c >> 6) & 0x3f)), f);
                fputc((int) (0x80 | (c & 0x3f)), f);
        } else {
                fputc((int) (0xf0 | (c >> 18)), f);
                fputc((int) (0x80 | ((c >> 12) & 0x3f)), f);
                fputc((int) (0x80 | ((c >> 6) & 0x3f)), f);
                fputc((int) (0x80 | (c & 0x3f)), f);
        }
}

static int parse_escape(Parser *p, FILE *f) {
        static const char simple[] = "b\bt\tn\nf\fr\r\"\"\\\\";
        char c = peek(p, 1);
        unsigned digits = c == 'u' ? 4 : c == 'U' ? 8 : 0;
        uint32_t v = 0;

        for (size_t k = 0; c && k + 1 < sizeof simple; k += 2)
                if (simple[k] == c) {
                        fputc(simple[k + 1], f);
                        p->i += 2;
                        return 0;
                }
        if (!digits)
                return fail(p, "unknown escape '\\%c'; TOML has \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX", c ?: ' ');
        for (unsigned k = 0; k < digits; k++) {
                char h = peek(p, 2 + k);
                int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0)
                        return fail(p, "'\\%c' needs %u hexadecimal digits", c, digits);
                v = v << 4 | (uint32_t) d;
        }
        if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return fail(p, "'\\%c' escape of U+%04" PRIX32 ": not a character an option can hold", c, v);
        put_utf8(f, v);
        p->i += 2 + digits;
        return 0;
}

/* A one-line basic ("...") or literal ('...') string. */
static int parse_string(Parser *p, char **ret) {
        char quote = p->s[p->i], *buf = NULL;
        size_t size = 0, start = p->i;
        FILE *f;
        int r = 0;

        if (peek(p, 1) == quote && peek(p, 2) == quote)
                return fail(p, "a multi-line string; nsrun's settings take one-line strings");
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (p->i++; r >= 0 && p->s[p->i] != quote;) {
                unsigned char c = (unsigned char) p->s[p->i];
                if (!c || c == '\n') {
                        p->i = start;
                        r = fail(p, "this string has no closing %c on its line", quote);
                } else if ((c < 0x20 && c != '\t') || c == 0x7f)
                        r = fail(p, "a control character (0x%02x) in a string; write it as an escape", c);
                else if (c == '\\' && quote == '"')
                        r = parse_escape(p, f);
                else {
                        fputc(c, f);
                        p->i++;
                }
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        p->i++;
        *ret = buf;
        return 0;
}

static int parse_integer(Parser *p, char **ret) {
        size_t start = p->i;
        bool negative = p->s[p->i] == '-';
        uint64_t v = 0;
        char *s;

        if (p->s[p->i] == '+' || p->s[p->i] == '-')
                p->i++;
        if (p->s[p->i] == '0' && is_bare(peek(p, 1)))
                return fail(p, "an integer with a leading zero or a 0x/0o/0b prefix; write it in decimal");
        if (p->s[p->i] < '0' || p->s[p->i] > '9')
                return fail(p, "a value nsrun reads: a string, an integer, true or false, or an array of strings");
        while (p->s[p->i] >= '0' && p->s[p->i] <= '9') {
                unsigned d = (unsigned) (p->s[p->i] - '0');
                if (v > (UINT64_C(1) << 63) / 10 || v * 10 + d > (UINT64_C(1) << 63) - !negative)
                        return fail(p, "an integer out of TOML's 64-bit range");
                v = v * 10 + d;
                p->i++;
                if (p->s[p->i] == '_' && peek(p, 1) >= '0' && peek(p, 1) <= '9')
                        p->i++;
        }
        if (is_bare(p->s[p->i]) || p->s[p->i] == '.' || p->s[p->i] == ':' || p->s[p->i] == '+') {
                p->i = start;
                return fail(p, "a float, date or time; nsrun's settings are strings, integers, booleans or arrays "
                               "of strings (quote a duration: timeout = \"5m\")");
        }
        if (asprintf(&s, "%s%" PRIu64, negative && v ? "-" : "", v) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int parse_array(Parser *p, char ***ret) {
        _cleanup_(strv_freep) char **v = NULL;
        int r;

        v = calloc(1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (p->i++;;) {
                char *s;
                skip_space(p);
                if (p->s[p->i] == ']')
                        break;
                if (p->s[p->i] != '"' && p->s[p->i] != '\'')
                        return fail(p, "an array of something else than strings; nsrun's arrays hold strings "
                                       "(serial = [\"tests/test_db*\"])");
                r = parse_string(p, &s);
                if (r < 0)
                        return r;
                r = strv_push(&v, s);
                free(s);
                if (r < 0)
                        return r;
                skip_space(p);
                if (p->s[p->i] == ',')
                        p->i++;
                else if (p->s[p->i] != ']')
                        return fail(p, "expected ',' or ']' in the array");
        }
        p->i++;
        *ret = TAKE_PTR(v);
        return 0;
}

static int parse_value(Parser *p, ConfigEntry *e) {
        char c = p->s[p->i], *s = NULL;
        int r;

        if (c == '[') {
                e->type = CONFIG_ARRAY;
                return parse_array(p, &e->values);
        }
        if (c == '"' || c == '\'') {
                e->type = CONFIG_STRING;
                r = parse_string(p, &s);
        } else if (strncmp(p->s + p->i, "true", 4) == 0 && !is_bare(peek(p, 4))) {
                e->type = CONFIG_BOOLEAN;
                s = strdup("true");
                p->i += 4;
                r = s ? 0 : -ENOMEM;
        } else if (strncmp(p->s + p->i, "false", 5) == 0 && !is_bare(peek(p, 5))) {
                e->type = CONFIG_BOOLEAN;
                s = strdup("false");
                p->i += 5;
                r = s ? 0 : -ENOMEM;
        } else if (c == '{')
                return fail(p, "an inline table; nsrun's settings are strings, integers, booleans or arrays of strings");
        else {
                e->type = CONFIG_INTEGER;
                r = parse_integer(p, &s);
        }
        if (r < 0)
                return r;
        r = strv_push(&e->values, s);
        free(s);
        return r;
}

/* A key: bare (jobs, mem-per-worker) or quoted ("jobs"). */
static int parse_key(Parser *p, char **ret) {
        size_t start = p->i;

        if (p->s[p->i] == '"' || p->s[p->i] == '\'')
                return parse_string(p, ret);
        while (is_bare(p->s[p->i]))
                p->i++;
        if (p->i == start)
                return fail(p, "expected a key (key = value), a [table] header or a comment");
        *ret = strndup(p->s + start, p->i - start);
        return *ret ? 0 : -ENOMEM;
}

static int parse_entry(Parser *p, ConfigEntry *entries, size_t n, ConfigEntry *e) {
        int r;

        e->line = p->line;
        e->column = (unsigned) (p->i - p->line_start + 1);
        r = parse_key(p, &e->key);
        if (r < 0)
                return r;
        skip_blanks(p);
        if (p->s[p->i] == '.')
                return fail(p, "a dotted key; nsrun's settings are plain keys: jobs = 2");
        if (p->s[p->i] != '=')
                return fail(p, "expected '=' after '%s'", e->key);
        for (size_t k = 0; k < n; k++)
                if (strcmp(entries[k].key, e->key) == 0) {
                        p->i = p->line_start + e->column - 1;
                        return fail(p, "'%s' set twice (first on line %u); keep one", e->key, entries[k].line);
                }
        p->i++;
        skip_blanks(p);
        r = parse_value(p, e);
        return r < 0 ? r : end_of_line(p);
}

/* Skips a string of a table that is not ours, one-line or multi-line, counting its lines. */
static int skip_string(Parser *p) {
        char q = p->s[p->i];
        bool multi = peek(p, 1) == q && peek(p, 2) == q;
        size_t start = p->i, start_line = p->line, start_line_start = p->line_start;

        for (p->i += multi ? 3 : 1;;) {
                char c = p->s[p->i];
                if (!c || (c == '\n' && !multi)) {
                        p->i = start;
                        p->line = (unsigned) start_line;
                        p->line_start = start_line_start;
                        return fail(p, "this string is never closed");
                }
                if (c == '\n')
                        newline(p);
                else if (c == '\\' && q == '"' && p->s[p->i + 1] && p->s[p->i + 1] != '\n')
                        p->i += 2; /* an escaped quote does not close the string */
                else if (c == '\\' && q == '"' && p->s[p->i + 1] == '\n' && multi)
                        p->i++; /* a line-ending backslash: the newline is counted by the next round */
                else if (c == q && (!multi || (peek(p, 1) == q && peek(p, 2) == q))) {
                        p->i += multi ? 3 : 1;
                        /* """a""""": up to two more quotes belong to the string */
                        for (unsigned k = 0; multi && k < 2 && p->s[p->i] == q; k++)
                                p->i++;
                        return 0;
                } else
                        p->i++;
        }
}

/* Skips one key = value of a table that is not ours: to the line end outside any string, array or inline
 * table. */
static int skip_line(Parser *p) {
        int depth = 0, r;

        for (;;) {
                char c = p->s[p->i];
                if (!c)
                        return 0;
                if (c == '\n') {
                        newline(p);
                        if (depth <= 0)
                                return 0;
                } else if (c == '#')
                        skip_comment(p);
                else if (c == '"' || c == '\'') {
                        r = skip_string(p);
                        if (r < 0)
                                return r;
                } else {
                        depth += c == '[' || c == '{' ? 1 : c == ']' || c == '}' ? -1 : 0;
                        p->i++;
                }
        }
}

/* [a.b."c"] or [[a.b]]: the dotted name in name[], as the components joined by '.'. */
static int parse_header(Parser *p, char name[static TABLE_NAME_MAX], bool *ret_array) {
        bool array = peek(p, 1) == '[';
        size_t len = 0;
        int r;

        p->i += array ? 2 : 1;
        for (;;) {
                _cleanup_free_ char *key = NULL;
                skip_blanks(p);
                r = parse_key(p, &key);
                if (r < 0)
                        return r;
                if (len + strlen(key) + 2 > TABLE_NAME_MAX)
                        return fail(p, "a table name longer than %d characters", TABLE_NAME_MAX - 2);
                len += (size_t) sprintf(name + len, "%s%s", len ? "." : "", key);
                skip_blanks(p);
                if (p->s[p->i] != '.')
                        break;
                p->i++;
        }
        if (p->s[p->i] != ']' || (array && peek(p, 1) != ']'))
                return fail(p, "expected '%s' to close the table header", array ? "]]" : "]");
        p->i += array ? 2 : 1;
        *ret_array = array;
        return end_of_line(p);
}

static int parse_text(Parser *p, const char *table, ConfigEntry **entries, size_t *n, bool *found) {
        char current[TABLE_NAME_MAX] = "";
        bool ours = !table;
        int r;

        for (;;) {
                skip_space(p);
                size_t at = p->i;
                char c = p->s[p->i];
                if (!c)
                        return 0;
                if (c == '[') {
                        unsigned at_line = p->line;
                        size_t at_line_start = p->line_start, tl;
                        bool array = false;
                        r = parse_header(p, current, &array);
                        if (r < 0)
                                return r;
                        if (!table) {
                                p->i = at;
                                p->line = at_line;
                                p->line_start = at_line_start;
                                return fail(p, "a table header; nsrun's settings in this file are top-level keys: "
                                               "jobs = 2");
                        }
                        tl = strlen(table);
                        ours = strcmp(current, table) == 0 && !array;
                        if ((ours && *found) || (strncmp(current, table, tl) == 0 &&
                                                 (current[tl] == '.' || (!current[tl] && array)))) {
                                p->i = at;
                                p->line = at_line;
                                p->line_start = at_line_start;
                                return fail(p, ours ? "[%s] a second time; keep one" : "[%s%s]: nsrun's settings are "
                                                      "keys of [%s], not tables", array ? "[" : "", current, table);
                        }
                        *found = *found || ours;
                        continue;
                }
                if (!ours) {
                        /* [tool] nsrun.jobs = 2, or nsrun = { ... }: valid TOML, but not the table this reads */
                        if (table && strcmp(current, "tool") == 0 && strcmp(table, "tool.nsrun") == 0 &&
                            strncmp(p->s + p->i, "nsrun", 5) == 0 && !is_bare(peek(p, 5)))
                                return fail(p, "nsrun's settings under [tool]; write them under a [tool.nsrun] header");
                        r = skip_line(p);
                        if (r < 0)
                                return r;
                        continue;
                }
                ConfigEntry *grown = reallocarray(*entries, *n + 1, sizeof(ConfigEntry));
                if (!grown)
                        return -ENOMEM;
                *entries = grown;
                grown[*n] = (ConfigEntry) {};
                (*n)++;
                r = parse_entry(p, grown, *n - 1, &grown[*n - 1]);
                if (r < 0)
                        return r;
        }
}

int config_parse(const char *text, const char *table, ConfigEntry **ret, size_t *ret_n, bool *ret_found,
                 ConfigError *err) {
        Parser p = { .s = text, .line = 1, .err = err };
        ConfigEntry *entries = NULL;
        size_t n = 0;
        bool found = !table;
        int r;

        r = parse_text(&p, table, &entries, &n, &found);
        if (r < 0) {
                config_entries_free(entries, n);
                return r;
        }
        *ret = entries;
        *ret_n = n;
        *ret_found = found;
        return 0;
}

void config_entries_free(ConfigEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].key);
                strv_free(e[i].values);
        }
        free(e);
}

int config_split_words(const char *s, char ***ret) {
        _cleanup_(strv_freep) char **words = calloc(1, sizeof(char *));
        char *buf = NULL;
        size_t size = 0;
        int r = 0;

        if (!words)
                return -ENOMEM;
        for (const char *c = s; *c;) {
                FILE *f;
                if (*c == ' ' || *c == '\t' || *c == '\n') {
                        c++;
                        continue;
                }
                f = open_memstream(&buf, &size);
                if (!f)
                        return -ENOMEM;
                while (r >= 0 && *c && *c != ' ' && *c != '\t' && *c != '\n') {
                        if (*c == '\'') {
                                const char *end = strchr(c + 1, '\'');
                                if (!end)
                                        r = -EINVAL;
                                else
                                        fwrite(c + 1, 1, (size_t) (end - c - 1), f);
                                c = end ? end + 1 : c;
                        } else if (*c == '"') {
                                for (c++; *c && *c != '"'; c++) {
                                        if (*c == '\\' && c[1] && strchr("\\\"$`", c[1]))
                                                c++;
                                        fputc(*c, f);
                                }
                                if (!*c)
                                        r = -EINVAL;
                                else
                                        c++;
                        } else if (*c == '\\') {
                                if (!c[1])
                                        r = -EINVAL;
                                else
                                        fputc(c[1], f);
                                c += c[1] ? 2 : 1;
                        } else
                                fputc(*c++, f);
                }
                if (fclose(f) != 0 && r >= 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = strv_push(&words, buf);
                buf = mfree(buf);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(words);
        return 0;
}

void setting_done(Setting *s) {
        free(s->option);
        free(s->value);
        free(s->source);
}

void settings_free(Setting *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                setting_done(s + i);
        free(s);
}
