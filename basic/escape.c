/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "escape.h"
#include "macro.h"

/* The length of the UTF-8 character at s (1 to 4) and its code point, or 0 if s does not start a valid one
 * (overlong forms, surrogates and code points past U+10FFFF are not valid: RFC 3629). */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        size_t len;
        uint32_t cp, min;

        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f, min = 0x80;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f, min = 0x800;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07, min = 0x10000;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return len;
}

static bool is_control(uint32_t cp) {
        return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/* "ESC [ digits and semicolons m": the length of an SGR sequence at s, 0 if there is none. */
static size_t sgr_len(const unsigned char *s, size_t n) {
        size_t i = 2;

        if (n < 3 || s[0] != 0x1b || s[1] != '[')
                return 0;
        while (i < n && i < 64 && ((s[i] >= '0' && s[i] <= '9') || s[i] == ';'))
                i++;
        return i < n && s[i] == 'm' ? i + 1 : 0;
}

static void escape_to(FILE *f, const unsigned char *s, size_t n, bool output) {
        for (size_t i = 0; i < n;) {
                uint32_t cp = 0;
                size_t len = utf8_char(s + i, n - i, &cp), sgr;

                if (output && (s[i] == '\n' || s[i] == '\t'))
                        len = 1;
                else if (output && (sgr = sgr_len(s + i, n - i)) > 0)
                        len = sgr;
                else if (len == 0 || is_control(cp)) {
                        for (size_t k = 0; k < MAX(len, (size_t) 1); k++)
                                (void) fprintf(f, "\\x%02x", s[i + k]);
                        i += MAX(len, (size_t) 1);
                        continue;
                }
                (void) fwrite(s + i, 1, len, f);
                i += len;
        }
}

char *escape_name(const char *s) {
        const unsigned char *u = (const unsigned char *) s;
        size_t n = strlen(s), size = 0;
        char *buf = NULL;
        FILE *f;
        bool clean = true;

        for (size_t i = 0, len; clean && i < n; i += len) {
                uint32_t cp = 0;
                len = utf8_char(u + i, n - i, &cp);
                clean = len > 0 && !is_control(cp);
        }
        if (clean)
                return strdup(s);
        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        escape_to(f, u, n, false);
        if (fclose(f) != 0)
                return mfree(buf);
        return buf;
}

void fwrite_output_escaped(const char *s, size_t n, FILE *f) {
        escape_to(f, (const unsigned char *) s, n, true);
}

uint64_t fnv1a64(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(0x100000001b3);
        return h;
}

/* wcwidth() answers from LC_CTYPE, which nsrun leaves at "C" (ASCII only): the widths come from C.UTF-8,
 * which glibc always has, used for the call alone. */
static locale_t utf8_locale(void) {
        static locale_t loc = (locale_t) 0;
        static bool tried = false;

        if (!tried) {
                tried = true;
                loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
        }
        return loc;
}

size_t text_fit_columns(const char *s, size_t cols, size_t *ret_width) {
        locale_t loc = utf8_locale(), old = loc ? uselocale(loc) : (locale_t) 0;
        size_t i = 0, width = 0, n = strlen(s);

        while (i < n) {
                uint32_t cp;
                size_t len = utf8_char((const unsigned char *) s + i, n - i, &cp);
                int w = 1;

                if (len == 0) /* not UTF-8: a byte is a column, as escape_name() would show it, cut or not */
                        len = 1;
                else if (loc && cp >= 0x80)
                        w = wcwidth((wchar_t) cp);
                w = w < 0 ? 1 : w; /* unassigned: most terminals give it one column */
                if (width + (size_t) w > cols)
                        break;
                width += (size_t) w;
                i += len;
        }
        if (loc)
                (void) uselocale(old);
        if (ret_width)
                *ret_width = width;
        return i;
}

size_t text_columns(const char *s) {
        size_t width;

        (void) text_fit_columns(s, SIZE_MAX, &width);
        return width;
}
