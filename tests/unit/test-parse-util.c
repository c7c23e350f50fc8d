/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "escape.h"
#include "parse-util.h"
#include "tap.h"

static void test_size(void) {
        static const struct {
                const char *s;
                int r;
                uint64_t v;
        } cases[] = {
                { "2G", 0, UINT64_C(2) << 30 },       { "512M", 0, UINT64_C(512) << 20 },
                { "1.5G", 0, UINT64_C(3) << 29 },     { "100000", 0, 100000 },
                { "4KiB", 0, 4096 },                  { "1t", 0, UINT64_C(1) << 40 },
                { "2X", -EINVAL, 0 },                 { "0", -EINVAL, 0 },
                { "-1G", -EINVAL, 0 },                { "99999999T", -ERANGE, 0 },
                { "", -EINVAL, 0 },                   { "G", -EINVAL, 0 },
                { " 1G", -EINVAL, 0 },                { "1G ", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },               { "1e9", -EINVAL, 0 },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t v = 0;
                int r = parse_size(cases[i].s, false, &v);
                char name[64];
                snprintf(name, sizeof name, "parse_size(\"%s\")", cases[i].s);
                is_int(r, cases[i].r, name);
                if (r == 0)
                        is_u64(v, cases[i].v, name);
        }
        uint64_t z = 1;
        is_int(parse_size("0", true, &z), 0, "parse_size(\"0\", allow_zero)");
        is_u64(z, 0, "zero allowed");
}

static void test_duration(void) {
        static const struct {
                const char *s;
                int r;
                uint64_t v;
        } cases[] = {
                { "30s", 0, 30000000 },      { "5m", 0, 300000000 },   { "1h30m", 0, 5400000000 },
                { "250ms", 0, 250000 },      { "90", 0, 90000000 },    { "1.5s", 0, 1500000 },
                { "2min", 0, 120000000 },    { "0", -EINVAL, 0 },      { "-5s", -EINVAL, 0 },
                { "5x", -EINVAL, 0 },        { "", -EINVAL, 0 },       { "s", -EINVAL, 0 },
                { "1h30", -EINVAL, 0 },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t v = 0;
                int r = parse_duration(cases[i].s, &v);
                char name[64];
                snprintf(name, sizeof name, "parse_duration(\"%s\")", cases[i].s);
                is_int(r, cases[i].r, name);
                if (r == 0)
                        is_u64(v, cases[i].v, name);
        }
}

static void test_format(void) {
        is_str(FORMAT_SIZE(100 << 20), "100 MiB", "format 100 MiB");
        is_str(FORMAT_SIZE(UINT64_C(3) << 29), "1.5 GiB", "format 1.5 GiB");
        is_str(FORMAT_SIZE(12), "12 B", "format 12 B");
        is_str(FORMAT_DURATION(850000), "850ms", "format 850ms");
        is_str(FORMAT_DURATION(12300000), "12.3s", "format 12.3s");
        is_str(FORMAT_DURATION(245000000), "4m05s", "format 4m05s");
}

static void test_unsigned(void) {
        unsigned v;
        is_int(parse_unsigned("4", 1, 100, &v), 0, "-j 4");
        is_int(parse_unsigned("0", 1, 100, &v), -ERANGE, "-j 0");
        is_int(parse_unsigned("abc", 1, 100, &v), -EINVAL, "-j abc");
        is_int(parse_unsigned("-1", 1, 100, &v), -EINVAL, "-j -1");
        is_int(parse_unsigned("99999999999999999999999", 1, 100, &v), -ERANGE, "-j huge");
}

/* The status line's cut: display columns, not bytes or characters. */
static void test_columns(void) {
        size_t w;

        is_int(text_columns("test_a.py"), 9, "ASCII: a column a byte");
        is_int(text_columns("名前"), 4, "CJK: two columns a character (6 bytes)");
        is_int(text_columns("e\xcc\x81t\xc3\xa9"), 3, "a combining accent takes none");
        is_int(text_fit_columns("名前です", 5, &w), 6, "5 columns of 名前です: 名前, never half of で");
        is_int(w, 4, "... which is 4 columns");
        is_int(text_fit_columns("abc", 10, &w), 3, "all of it when it fits");
        is_int(text_fit_columns("ab\xff" "cd", 3, &w), 3, "a byte that is not UTF-8 is one column");
        is_int(text_fit_columns("abc", 0, &w), 0, "0 columns: nothing");
}

int main(void) {
        test_size();
        test_duration();
        test_format();
        test_unsigned();
        test_columns();
        return tap_done();
}
