/*
 * csv.c -- split one CSV line into fields, in place (see csv.h).
 */
#include "csv.h"

#include <string.h>

/*
 * A quoted field starting at line[at] (the opening quote). Its text is
 * compacted in place ("" becomes ") and anything between the closing quote
 * and the next comma is kept, as Python's csv module does.
 * @return the index just past the field, or -1 on an unterminated quote.
 */
static long csv_quoted(char *line, size_t len, size_t at, csv_field *f)
{
    size_t r = at + 1, w = at + 1;

    for (;;) {
        if (r >= len)
            return -1;
        if (line[r] == '"') {
            if (r + 1 < len && line[r + 1] == '"') {
                line[w++] = '"';
                r += 2;
                continue;
            }
            r++;
            break;
        }
        line[w++] = line[r++];
    }
    while (r < len && line[r] != ',')
        line[w++] = line[r++];
    f->s = line + at + 1;
    f->len = w - (at + 1);
    return (long)r;
}

int csv_split(char *line, size_t len, csv_field *fields, int max)
{
    size_t at = 0;
    int n = 0;

    for (;;) {
        csv_field f;
        size_t next;

        f.col = at + 1;
        if (at < len && line[at] == '"') {
            long r = csv_quoted(line, len, at, &f);
            if (r < 0)
                return -1;
            next = (size_t)r;
        } else {
            const char *comma = memchr(line + at, ',', len - at);
            next = comma ? (size_t)(comma - line) : len;
            f.s = line + at;
            f.len = next - at;
        }
        if (n < max)
            fields[n] = f;
        n++;
        if (next >= len)
            return n;
        at = next + 1; /* past the comma; a trailing comma makes an empty field */
    }
}

static int csv_is_space(char c)
{
    return c == ' ' || c == '\t';
}

static char csv_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int csv_field_is(const csv_field *f, const char *name)
{
    const char *s = f->s;
    size_t len = f->len, i, n = strlen(name);

    while (len > 0 && csv_is_space(*s)) {
        s++;
        len--;
    }
    while (len > 0 && csv_is_space(s[len - 1]))
        len--;
    if (len != n)
        return 0;
    for (i = 0; i < n; i++)
        if (csv_lower(s[i]) != csv_lower(name[i]))
            return 0;
    return 1;
}

int csv_find(const csv_field *fields, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (csv_field_is(&fields[i], name))
            return i;
    return -1;
}
