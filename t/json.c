/*
 * json.c -- the JSON facade over simdjson (core/json.h): fields in any order,
 * missing fields, nested arrays, numbers as text, scalars, escapes, malformed
 * documents, and parsing an unpadded buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

static json_parser *jp;

/* Parse a literal through the copying entry (literals have no padding). */
static int parse(const char *text, json_value *root)
{
    return json_parse_copy(jp, text, strlen(text), root);
}

/* The text of a field as a NUL-terminated string in buf ("" on failure). */
static const char *text_of(json_value *obj, const char *key, char *buf, size_t cap)
{
    json_value v;
    const char *s;
    size_t len;
    buf[0] = '\0';
    if (json_field(obj, key, &v) == 0 && json_number_text(&v, &s, &len) == 0 && len < cap) {
        memcpy(buf, s, len);
        buf[len] = '\0';
    }
    return buf;
}

static void test_fields_any_order(void)
{
    json_value root, v;
    int64_t a = 0, c = 0;
    const char *s;
    size_t len;

    ok(parse("{\"a\":1,\"b\":\"two\",\"c\":-3}", &root) == 0, "object parses");
    ok(json_field(&root, "c", &v) == 0 && json_int64(&v, &c) == 0 && c == -3,
       "last field first: c = -3");
    ok(json_field(&root, "a", &v) == 0 && json_int64(&v, &a) == 0 && a == 1,
       "then the first: a = 1");
    ok(json_field(&root, "b", &v) == 0 && json_string(&v, &s, &len) == 0 && len == 3 &&
           memcmp(s, "two", 3) == 0,
       "then the middle: b = two");
}

static void test_missing_field(void)
{
    json_value root, v;
    int64_t x = 0;

    ok(parse("{\"a\":1,\"b\":2}", &root) == 0, "parses");
    is_int(json_field(&root, "zz", &v), -1, "missing field is -1");
    ok(strstr(json_last_error(), "zz") != NULL, "error names the field: %s", json_last_error());
    ok(json_field(&root, "b", &v) == 0 && json_int64(&v, &x) == 0 && x == 2,
       "object still usable after a miss");
}

static void test_optional_field(void)
{
    json_value root, v;
    int64_t x = 0;

    ok(parse("{\"a\":1,\"b\":[2]}", &root) == 0, "parses");
    is_int(json_field_opt(&root, "zz", &v), 0, "json_field_opt: absent is 0");
    ok(json_field_opt(&root, "a", &v) == 1 && json_int64(&v, &x) == 0 && x == 1,
       "json_field_opt: present is 1");
    ok(json_field(&root, "b", &v) == 0 && json_field_opt(&v, "c", &root) == 0,
       "json_field_opt on an array: absent, 0");
    ok(parse("{\"a\":1,\"b\":", &root) == 0, "a cut document starts");
    is_int(json_field_opt(&root, "zz", &v), -1, "json_field_opt: malformed is -1");
}

static void test_nested_arrays(void)
{
    json_value root, arr, lvl, item;
    json_iter outer, inner;
    const char *s;
    size_t len;
    char got[256] = "";
    int rows = 0, rc;

    ok(parse("{\"b\":[[\"1.50\",\"2\"],[\"3\",\"4.25\",[]],[]],\"x\":true}", &root) == 0,
       "parses");
    ok(json_field(&root, "b", &arr) == 0 && json_array_begin(&arr, &outer) == 0,
       "array begins");
    while ((rc = json_array_next(&outer, &lvl)) == 1) {
        rows++;
        if (json_array_begin(&lvl, &inner) != 0)
            break;
        /* Read two elements at most; a third is left for the parser to skip. */
        for (int i = 0; i < 2 && json_array_next(&inner, &item) == 1; i++) {
            if (json_string(&item, &s, &len) == 0) {
                strncat(got, s, len);
                strcat(got, ";");
            }
        }
        strcat(got, "|");
    }
    is_int(rc, 0, "iteration ends with 0");
    is_int(rows, 3, "three rows, the last empty");
    is_str(got, "1.50;2;|3;4.25;||", "strings in order, extra element skipped");
    int b = 0;
    json_value x;
    ok(json_field(&root, "x", &x) == 0 && json_bool(&x, &b) == 0 && b == 1,
       "field after the array reads");
}

static void test_number_text(void)
{
    json_value root;
    char buf[64];

    ok(parse("{\"s\":\"61837.63000000\",\"n\":1e-05 ,\"i\":-42,\"z\":0.10\n}", &root) == 0,
       "parses");
    is_str(text_of(&root, "s", buf, sizeof buf), "61837.63000000", "string number as written");
    is_str(text_of(&root, "n", buf, sizeof buf), "1e-05", "bare number, trailing space trimmed");
    is_str(text_of(&root, "i", buf, sizeof buf), "-42", "negative integer");
    is_str(text_of(&root, "z", buf, sizeof buf), "0.10", "trailing newline trimmed");

    json_value t, v;
    const char *s;
    size_t len;
    ok(parse("{\"t\":true}", &t) == 0 && json_field(&t, "t", &v) == 0, "bool field");
    is_int(json_number_text(&v, &s, &len), -1, "a bool has no number text");
}

static void test_scalars(void)
{
    json_value root, v;
    int64_t i;
    uint64_t u;
    double d;
    int b;

    ok(parse("{\"big\":18446744073709551615,\"neg\":-9223372036854775808,\"d\":2.5,"
             "\"f\":false,\"n\":null,\"s\":\"x\"}",
             &root) == 0,
       "parses");
    ok(json_field(&root, "big", &v) == 0 && json_uint64(&v, &u) == 0 && u == UINT64_MAX,
       "uint64 max");
    ok(json_field(&root, "neg", &v) == 0 && json_int64(&v, &i) == 0 && i == INT64_MIN,
       "int64 min");
    ok(json_field(&root, "d", &v) == 0 && json_double(&v, &d) == 0 && d == 2.5, "double");
    ok(json_field(&root, "f", &v) == 0 && json_bool(&v, &b) == 0 && b == 0, "false");
    ok(json_field(&root, "n", &v) == 0 && json_is_null(&v) == 1, "null is null");
    ok(json_field(&root, "s", &v) == 0 && json_is_null(&v) == 0, "a string is not null");
    ok(json_field(&root, "s", &v) == 0 && json_int64(&v, &i) == -1, "a string is not an int");
    ok(json_field(&root, "big", &v) == 0 && json_int64(&v, &i) == -1,
       "2^64-1 does not fit int64");
}

static void test_escapes(void)
{
    json_value root, v;
    const char *s;
    size_t len;

    /* Keys are matched as written (simdjson does not unescape them); no
     * exchange escapes a key. Values are unescaped. */
    ok(parse("{\"key\":\"a\\\"b\\\\c\\u00e9\\n\"}", &root) == 0, "parses");
    ok(json_field(&root, "key", &v) == 0, "field found");
    ok(json_string(&v, &s, &len) == 0 && len == 8 && memcmp(s, "a\"b\\c\xc3\xa9\n", 8) == 0,
       "escapes decoded (quote, backslash, \\u00e9 as UTF-8, newline)");
}

static void test_root_scalar(void)
{
    json_value root;
    int64_t i = 0;

    ok(parse("  12345  ", &root) == 0 && json_int64(&root, &i) == 0 && i == 12345,
       "a scalar document reads through the root");
}

static void test_malformed(void)
{
    static const char *const docs[] = {
        "{\"a\":1,\"b\":}",      /* missing value */
        "{\"a\" 1}",             /* missing colon */
        "{\"a\":\"unterminated}", /* string never closed */
        "[1 2]",                 /* missing comma in an array */
        "",                      /* empty */
    };
    json_value root, v;
    json_iter it;
    int64_t x;

    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        int rc = parse(docs[i], &root);
        if (rc == 0) {
            /* On-demand: some errors show when the bad part is walked. */
            if (docs[i][0] == '[') {
                rc = json_array_begin(&root, &it);
                while (rc == 0 && (rc = json_array_next(&it, &v)) == 1)
                    rc = json_int64(&v, &x);
                rc = rc == 0 ? 0 : -1;
            } else {
                rc = json_field(&root, "b", &v);
                if (rc == 0)
                    rc = json_int64(&v, &x);
            }
        }
        ok(rc == -1 && json_last_error()[0], "malformed '%s' is -1: %s", docs[i],
           json_last_error());
    }
}

/* After a structural error simdjson's document is unusable: every later
 * call must fail with that error, never read through it. */
static void test_dead_document(void)
{
    json_value root, v;
    const char *s;
    size_t len;

    ok(parse("{\"e\":\"trade\",\"E\":1,", &root) == 0, "a cut document starts");
    is_int(json_field(&root, "data", &v), -1, "a missing field runs into the cut: -1");
    is_int(json_field(&root, "e", &v), -1, "a later field of the same document: -1");
    ok(strstr(json_last_error(), "ended early") != NULL, "with the first error: %s",
       json_last_error());
    ok(parse("{\"e\":\"x\"}", &root) == 0 && json_field(&root, "e", &v) == 0 &&
           json_string(&v, &s, &len) == 0 && len == 1,
       "the next document parses normally");
}

static void test_parse_copy_unpadded(void)
{
    /* The exact bytes, right at the end of a heap block: ASan sees any
     * read past len. */
    const char text[] = "{\"e\":\"trade\",\"p\":\"1.5\"}";
    size_t len = sizeof text - 1;
    char *buf = malloc(len);
    json_value root, v;
    char out[16];

    memcpy(buf, text, len);
    ok(json_parse_copy(jp, buf, len, &root) == 0, "unpadded buffer parses by copy");
    free(buf); /* the parser's copy must be what values point into */
    is_str(text_of(&root, "p", out, sizeof out), "1.5", "value read from the copy");
    ok(json_field(&root, "e", &v) == 0, "field e found");
}

static void test_padded_in_place(void)
{
    const char text[] = "{\"x\":[1,2,3]}";
    size_t len = sizeof text - 1;
    char *buf = calloc(1, len + JSON_PADDING);
    json_value root, arr, v;
    json_iter it;
    int64_t sum = 0, x;

    memcpy(buf, text, len);
    ok(json_parse(jp, buf, len, &root) == 0, "padded buffer parses in place");
    ok(json_field(&root, "x", &arr) == 0 && json_array_begin(&arr, &it) == 0, "array");
    while (json_array_next(&it, &v) == 1 && json_int64(&v, &x) == 0)
        sum += x;
    is_int(sum, 6, "sum of the elements");
    free(buf);
}

int main(void)
{
    plan(56);
    jp = json_parser_new();
    if (!jp)
        bail_out("json_parser_new failed");
    test_fields_any_order();
    test_missing_field();
    test_optional_field();
    test_nested_arrays();
    test_number_text();
    test_scalars();
    test_escapes();
    test_root_scalar();
    test_malformed();
    test_dead_document();
    test_parse_copy_unpadded();
    test_padded_in_place();
    json_parser_free(jp);
    return done();
}
