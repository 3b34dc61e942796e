/*
 * csv.c -- splitting CSV lines in place: plain and quoted fields, escaped
 * quotes, empty fields, columns for messages, and the names lookup.
 */
#include <string.h>

#include "csv.h"
#include "tap.h"

static csv_field f[8];
static char line[256];

static int split(const char *text, int max)
{
    snprintf(line, sizeof line, "%s", text);
    return csv_split(line, strlen(line), f, max);
}

static int field_is(int i, const char *want)
{
    return f[i].len == strlen(want) && memcmp(f[i].s, want, f[i].len) == 0;
}

int main(void)
{
    plan(27);

    is_int(split("a,bc,,d", 8), 4, "four fields");
    ok(field_is(0, "a") && field_is(1, "bc") && field_is(2, "") && field_is(3, "d"),
       "their text");
    is_int(f[0].col, 1, "first column is 1");
    is_int(f[1].col, 3, "second field starts at byte 3");
    is_int(f[3].col, 7, "fourth field starts at byte 7");

    is_int(split("x,", 8), 2, "a trailing comma makes an empty last field");
    ok(field_is(1, "") && f[1].col == 3, "empty, at column 3");
    is_int(split("", 8), 1, "an empty line is one empty field");

    is_int(split("\"a,b\",c", 8), 2, "a comma inside quotes does not split");
    ok(field_is(0, "a,b"), "quotes removed");
    is_int(f[0].col, 1, "column of a quoted field is its quote's");
    ok(field_is(1, "c") && f[1].col == 7, "the next field after it");

    is_int(split("\"say \"\"hi\"\"\",2", 8), 2, "escaped quotes");
    ok(field_is(0, "say \"hi\""), "\"\" is one quote");
    ok(field_is(1, "2"), "the field after the escaped one is intact");
    is_int(split("\"\",x", 8), 2, "an empty quoted field");
    ok(field_is(0, "") && field_is(1, "x"), "is empty");
    is_int(split("\"ab\"cd,e", 8), 2, "text after a closing quote is kept");
    ok(field_is(0, "abcd"), "as Python's csv does");

    is_int(split("\"open", 8), -1, "an unterminated quote is refused");
    is_int(split("1,2,3,4,5", 2), 5, "the true count when more than max");
    ok(field_is(0, "1") && field_is(1, "2"), "the first max fields are filled");

    split("Date, Open ,HIGH", 8);
    ok(csv_field_is(&f[1], "open"), "csv_field_is ignores case and spaces");
    ok(!csv_field_is(&f[0], "dat"), "but not a prefix");
    is_int(csv_find(f, 3, "high"), 2, "csv_find finds by name");
    is_int(csv_find(f, 3, "low"), -1, "and -1 when absent");
    split("a\tb", 8);
    ok(field_is(0, "a\tb"), "a tab is not a separator");
    return done();
}
