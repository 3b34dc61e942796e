/*
 * json_write.c -- bytes as a JSON string (core/json_write.h): the escapes,
 * well-formed UTF-8 kept, every kind of ill-formed UTF-8 as \u00XX, plain
 * bytes handed to the sink in runs, json_write_text's U+FFFD, the FILE
 * sink, and a property test: random bytes always make a string simdjson
 * accepts, and it decodes to the input with each ill-formed byte read as
 * Latin-1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json_write.h"
#include "rng.h"
#include "tap.h"

#define OUT_CAP 4096

/* A sink into a fixed buffer that counts its calls. */
typedef struct out_buf {
    char p[OUT_CAP];
    size_t len;
    int calls;
    int overflow;
} out_buf;

static void out_put(void *ud, const char *p, size_t n)
{
    out_buf *o = ud;

    o->calls++;
    if (o->len + n >= OUT_CAP) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
    o->p[o->len] = '\0';
}

typedef void (*writer_fn)(json_write_put_fn put, void *ud, const char *s, size_t n);

/* s (n bytes) as write makes it, in a static buffer. */
static const char *written_by(writer_fn write, const char *s, size_t n, int *calls)
{
    static out_buf o;

    memset(&o, 0, sizeof o);
    write(out_put, &o, s, n);
    if (calls)
        *calls = o.calls;
    return o.overflow ? "(overflow)" : o.p;
}

#define written(s, n, calls) written_by(json_write_string, (s), (n), (calls))

/* One input and the JSON string it must make. */
typedef struct write_case {
    const char *in;
    size_t len;
    const char *want;
    const char *name;
} write_case;

#define CASE(lit, want, name) {(lit), sizeof(lit) - 1, (want), (name)}
#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const write_case escapes[] = {
    CASE("", "\"\"", "the empty string"),
    CASE("plain text 123 ~", "\"plain text 123 ~\"", "printable ASCII as it is"),
    CASE("say \"hi\"", "\"say \\\"hi\\\"\"", "quotes backslashed"),
    CASE("C:\\tmp\\", "\"C:\\\\tmp\\\\\"", "backslashes backslashed"),
    CASE("a\nb\rc\td", "\"a\\nb\\rc\\td\"", "newline, return and tab as short escapes"),
    CASE("\x01\x08\x0c\x1b\x1f", "\"\\u0001\\u0008\\u000c\\u001b\\u001f\"",
         "other control bytes as \\u00XX"),
    CASE("a\0b", "\"a\\u0000b\"", "a NUL byte inside the bytes as \\u0000"),
    CASE("x\x7fy", "\"x\\u007fy\"", "DEL as \\u007f"),
};

static const write_case utf8_kept[] = {
    CASE("caf\xc3\xa9", "\"caf\xc3\xa9\"", "2-byte UTF-8 kept (U+00E9)"),
    CASE("\xc2\x80", "\"\xc2\x80\"", "the smallest 2-byte sequence kept (U+0080)"),
    CASE("\xe0\xa0\x80", "\"\xe0\xa0\x80\"", "the smallest 3-byte sequence kept (U+0800)"),
    CASE("\xe2\x82\xac", "\"\xe2\x82\xac\"", "3-byte UTF-8 kept (U+20AC)"),
    CASE("\xed\x9f\xbf\xee\x80\x80", "\"\xed\x9f\xbf\xee\x80\x80\"",
         "either side of the surrogates kept (U+D7FF, U+E000)"),
    CASE("\xef\xbf\xbf", "\"\xef\xbf\xbf\"", "U+FFFF kept"),
    CASE("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"", "the smallest 4-byte sequence kept"),
    CASE("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "4-byte UTF-8 kept (U+1F600)"),
    CASE("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "U+10FFFF, the last code point, kept"),
};

static const write_case utf8_refused[] = {
    CASE("\xc0\x80", "\"\\u00c0\\u0080\"", "overlong 2-byte NUL (C0 80) as bytes"),
    CASE("\xc1\xbf", "\"\\u00c1\\u00bf\"", "overlong 2-byte (C1 BF) as bytes"),
    CASE("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"", "overlong 3-byte '/' as bytes"),
    CASE("\xe0\x9f\xbf", "\"\\u00e0\\u009f\\u00bf\"", "the largest overlong 3-byte as bytes"),
    CASE("\xf0\x80\x80\xaf", "\"\\u00f0\\u0080\\u0080\\u00af\"", "overlong 4-byte '/' as bytes"),
    CASE("\xf0\x8f\xbf\xbf", "\"\\u00f0\\u008f\\u00bf\\u00bf\"",
         "the largest overlong 4-byte as bytes"),
    CASE("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"", "a high surrogate (U+D800) as bytes"),
    CASE("\xed\xbf\xbf", "\"\\u00ed\\u00bf\\u00bf\"", "a low surrogate (U+DFFF) as bytes"),
    CASE("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"",
         "U+110000, beyond U+10FFFF, as bytes"),
    CASE("\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\"", "lead byte F5 as bytes"),
    CASE("\xfe\xff", "\"\\u00fe\\u00ff\"", "FE and FF as bytes"),
    CASE("\x80", "\"\\u0080\"", "a lone continuation byte as a byte"),
    CASE("a\xbf\xbf" "b", "\"a\\u00bf\\u00bfb\"", "continuation bytes between ASCII"),
    CASE("ab\xc3", "\"ab\\u00c3\"", "a 2-byte sequence cut short at the end"),
    CASE("\xe2\x82", "\"\\u00e2\\u0082\"", "a 3-byte sequence cut short at the end"),
    CASE("\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\"", "a 4-byte sequence cut short at the end"),
    CASE("\xe2\x82" "A\xc3\xa9", "\"\\u00e2\\u0082A\xc3\xa9\"",
         "a sequence cut short by ASCII, then a whole one kept"),
    CASE("\xc3\"\xc3\xa9", "\"\\u00c3\\\"\xc3\xa9\"",
         "a lead byte before a quote: both escaped, the next sequence kept"),
};

/* json_write_text: the same, but U+FFFD for each ill-formed byte. */
static const write_case text_replaces[] = {
    CASE("a\xff" "b", "\"a\xef\xbf\xbd" "b\"", "text: a stray byte as U+FFFD"),
    CASE("\xed\xa0\x80\xc3", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
         "text: a surrogate and a cut-short sequence, one U+FFFD a byte"),
    CASE("\"\\\n\x01\x7f\xc3\xa9", "\"\\\"\\\\\\n\\u0001\\u007f\xc3\xa9\"",
         "text: escapes and well-formed UTF-8 as json_write_string has them"),
};

static void check_cases(writer_fn write, const write_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        is_str(written_by(write, c[i].in, c[i].len, NULL), c[i].want, "%s", c[i].name);
}

static void test_sink_calls(void)
{
    int calls = 0;

    is_str(written(NULL, 0, NULL), "\"\"", "NULL with no bytes is the empty string");
    written("plain run of bytes", 18, &calls);
    is_int(calls, 3, "plain bytes go to the sink in one run (quote, run, quote)");
    written("a\"b", 3, &calls);
    is_int(calls, 5, "an escape splits the run: quote, a, escape, b, quote");
}

static void test_utf8_len(void)
{
    const unsigned char euro[] = {0xe2, 0x82, 0xac};

    is_int(json_write_utf8_len((const unsigned char *)"A", 1), 1, "utf8_len: ASCII is 1");
    is_int(json_write_utf8_len(euro, 3), 3, "utf8_len: a whole 3-byte sequence");
    is_int(json_write_utf8_len(euro, 2), 0, "utf8_len: the same cut short by n");
    is_int(json_write_utf8_len(euro + 1, 2), 0, "utf8_len: starting at a continuation byte");
}

static void test_file_sink(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (!ok(mem != NULL, "open_memstream")) {
        ok(0, "the FILE sink");
        return;
    }
    json_write_string(json_write_file, mem, "t\xff\n", 3);
    fclose(mem);
    is_str(text, "\"t\\u00ff\\n\"", "the FILE sink writes the same string");
    free(text);
}

/* An independent reading of RFC 3629: decode, then check the code point
 * and the sequence's length. The length of a sequence at s, 0 if none. */
static size_t reference_utf8_len(const unsigned char *s, size_t n)
{
    size_t need = s[0] < 0x80   ? 1
                  : s[0] < 0xC0 ? 0
                  : s[0] < 0xE0 ? 2
                  : s[0] < 0xF0 ? 3
                  : s[0] < 0xF8 ? 4
                                : 0;
    unsigned long cp = need == 2 ? s[0] & 0x1F : need == 3 ? s[0] & 0x0F : s[0] & 0x07;
    static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000};

    if (need <= 1 || need > n)
        return need == 1;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < least[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

/* What a reader should get back: the input, each ill-formed byte as the
 * UTF-8 of U+00XX. */
static size_t expected_decoding(const unsigned char *s, size_t n, char *out)
{
    size_t i = 0, o = 0, len;

    while (i < n) {
        if ((len = reference_utf8_len(s + i, n - i)) != 0) {
            memcpy(out + o, s + i, len);
            o += len, i += len;
        } else {
            out[o++] = (char)(0xC0 | s[i] >> 6);
            out[o++] = (char)(0x80 | (s[i] & 0x3F));
            i++;
        }
    }
    return o;
}

/* Random bytes drawn mostly from the interesting ranges (controls, quote,
 * backslash, lead and continuation bytes). */
static size_t random_bytes(rng *r, unsigned char *s, size_t max)
{
    static const unsigned char pick[] = {0x00, 0x09, 0x0a, 0x1f, '"',  '\\', 'a',  0x7f,
                                         0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef,
                                         0xf0, 0xf4, 0xf5, 0xff, 0x90, 0xa0, 0x9f, 0x8f};
    size_t n = (size_t)rng_range(r, 0, (int64_t)max);

    for (size_t i = 0; i < n; i++)
        s[i] = rng_chance(r, 0.5) ? pick[rng_range(r, 0, sizeof pick - 1)]
                                  : (unsigned char)rng_range(r, 0, 255);
    return n;
}

static void test_random_bytes_round_trip(void)
{
    json_parser *jp = json_parser_new();
    unsigned char in[64];
    char want[256], doc[OUT_CAP + 16];
    int accepted = 0, decoded = 0, tries = 2000;
    rng r;

    if (!ok(jp != NULL, "a JSON parser")) {
        ok(0, "random bytes round trip");
        ok(0, "random bytes decode");
        return;
    }
    rng_seed(&r, 20240808, 11);
    for (int t = 0; t < tries; t++) {
        size_t n = random_bytes(&r, in, sizeof in), wn = expected_decoding(in, n, want), len;
        const char *body = written((const char *)in, n, NULL), *s;
        json_value root, v;

        snprintf(doc, sizeof doc, "{\"s\":%s}", body);
        if (json_parse_copy(jp, doc, strlen(doc), &root) != 0 || json_field(&root, "s", &v) != 0 ||
            json_string(&v, &s, &len) != 0) {
            diag("refused: %s (%s)", doc, json_last_error());
            continue;
        }
        accepted++;
        if (len == wn && memcmp(s, want, wn) == 0)
            decoded++;
        else
            diag("decoded differently: %s", doc);
    }
    is_int(accepted, tries, "random bytes always make a string simdjson accepts");
    is_int(decoded, tries, "and it decodes to the input, ill-formed bytes as Latin-1");
    json_parser_free(jp);
}

int main(void)
{
    plan(50);
    check_cases(json_write_string, escapes, NCASES(escapes));
    check_cases(json_write_string, utf8_kept, NCASES(utf8_kept));
    check_cases(json_write_string, utf8_refused, NCASES(utf8_refused));
    check_cases(json_write_text, text_replaces, NCASES(text_replaces));
    test_sink_calls();
    test_utf8_len();
    test_file_sink();
    test_random_bytes_round_trip();
    return done();
}
