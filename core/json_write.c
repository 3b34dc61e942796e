/*
 * json_write.c -- bytes as a JSON string (json_write.h).
 */
#include "json_write.h"

#include <stdio.h>

size_t json_write_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else
        return 0; /* a continuation byte, 0xC0/0xC1 (always overlong), 0xF5.. */
    if (need > n)
        return 0;
    for (size_t i = 1; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* The lead byte alone cannot tell these; its second byte can. */
    if ((c == 0xE0 && s[1] < 0xA0) ||  /* overlong 3-byte form */
        (c == 0xED && s[1] >= 0xA0) || /* a surrogate */
        (c == 0xF0 && s[1] < 0x90) ||  /* overlong 4-byte form */
        (c == 0xF4 && s[1] >= 0x90))   /* beyond U+10FFFF */
        return 0;
    return need;
}

/* How many bytes from s go out unescaped: printable ASCII but the quote
 * and backslash, and whole well-formed UTF-8 sequences. */
static size_t json_write_plain_len(const unsigned char *s, size_t n)
{
    size_t i = 0, len;

    while (i < n) {
        if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"' && s[i] != '\\')
            i++;
        else if (s[i] >= 0x80 && (len = json_write_utf8_len(s + i, n - i)) != 0)
            i += len;
        else
            break;
    }
    return i;
}

static void json_write_escape(json_write_put_fn put, void *ud, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};

    switch (c) {
    case '"':
    case '\\':
        esc[1] = (char)c;
        break;
    case '\n':
        esc[1] = 'n';
        break;
    case '\r':
        esc[1] = 'r';
        break;
    case '\t':
        esc[1] = 't';
        break;
    default:
        put(ud, esc, sizeof esc);
        return;
    }
    put(ud, esc, 2);
}

/* Bytes that are not well-formed UTF-8 as \u00XX, or as U+FFFD when
 * `replace` is set. */
static void json_write_quoted(json_write_put_fn put, void *ud, const char *s, size_t n,
                              int replace)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run;

    put(ud, "\"", 1);
    while (i < n) {
        run = json_write_plain_len(p + i, n - i);
        if (run > 0) {
            put(ud, s + i, run);
            i += run;
        }
        if (i >= n)
            break;
        if (replace && p[i] >= 0x80)
            put(ud, "\xEF\xBF\xBD", 3);
        else
            json_write_escape(put, ud, p[i]);
        i++;
    }
    put(ud, "\"", 1);
}

void json_write_string(json_write_put_fn put, void *ud, const char *s, size_t n)
{
    json_write_quoted(put, ud, s, n, 0);
}

void json_write_text(json_write_put_fn put, void *ud, const char *s, size_t n)
{
    json_write_quoted(put, ud, s, n, 1);
}

void json_write_file(void *file, const char *p, size_t n)
{
    fwrite(p, 1, n, file);
}
