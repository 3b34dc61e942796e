/*
 * json.c -- the JSON facade over simdjson (core/json.h): fields in any order,
 * missing fields, nested arrays, numbers as text, scalars, escapes, malformed
 * documents, parsing an unpadded buffer, and reading rows of arrays in one
 * call (json_string_rows).
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

/* Absent fields of a nested object: before anything of it is read (one
 * pass tells), after a field (the rest, then from the first field), and
 * fields found again in any order after that. */
static void test_optional_nested(void)
{
    json_value root, d, v;
    int64_t x = 0;

    ok(parse("{\"d\":{\"a\":1,\"b\":2,\"c\":3},\"z\":0}", &root) == 0 &&
           json_field(&root, "d", &d) == 0,
       "nested object");
    is_int(json_field_opt(&d, "e", &v), 0, "absent, before any field of it is read: 0");
    ok(json_field_opt(&d, "b", &v) == 1 && json_int64(&v, &x) == 0 && x == 2, "then b = 2");
    is_int(json_field_opt(&d, "e", &v), 0, "absent, after b: 0");
    ok(json_field(&d, "c", &v) == 0 && json_int64(&v, &x) == 0 && x == 3, "then c = 3");
    ok(json_field(&d, "a", &v) == 0 && json_int64(&v, &x) == 0 && x == 1, "then a = 1");
    ok(json_field(&root, "z", &v) == 0 && json_int64(&v, &x) == 0 && x == 0,
       "and the field after the object");
    ok(parse("{\"d\":{\"a\":1,]}}", &root) == 0 && json_field(&root, "d", &d) == 0,
       "a broken nested object");
    is_int(json_field_opt(&d, "e", &v), -1, "absent there, before any field is read: -1");
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

    /* A string's text is as written: escapes stay (json_string decodes). */
    ok(parse("{\"e\":\"1\\u0032\" , \"q\":\"a\\\"b\"}", &t) == 0, "escapes parse");
    is_str(text_of(&t, "e", buf, sizeof buf), "1\\u0032", "number text keeps an escape");
    is_str(text_of(&t, "q", buf, sizeof buf), "a\\\"b", "an escaped quote does not end it");
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

    /* A field without a value: simdjson calls it a wrong type, but the
     * document is broken, and stays so. */
    int64_t x;
    ok(parse("{\"a\":,\"b\":2}", &root) == 0 && json_field(&root, "a", &v) == 0,
       "a field without a value is found");
    is_int(json_int64(&v, &x), -1, "reading it is -1");
    is_int(json_field(&root, "b", &v), -1, "and so is any later call: %s", json_last_error());
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

/* ---- json_string_rows ---- */

/* Rows of the array field key as "a,b|c,d|" (texts joined), reading
 * batches of at most batch rows; *rc gets the last call's result. */
static const char *rows_of(json_value *obj, const char *key, size_t cols, size_t batch,
                           int *rc, char *buf, size_t cap)
{
    json_value arr;
    json_iter it;
    json_text txt[64];
    size_t n, used = 0;

    buf[0] = '\0';
    *rc = -2;
    if (cols * batch > sizeof txt / sizeof txt[0] || json_field(obj, key, &arr) != 0 ||
        json_array_begin(&arr, &it) != 0)
        return buf;
    do {
        *rc = json_string_rows(&it, txt, cols, batch, &n);
        for (size_t i = 0; i < n * cols; i++)
            used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0, "%.*s%s",
                                     (int)txt[i].len, txt[i].s, (i + 1) % cols ? "," : "|");
    } while (*rc == 1 && used < cap);
    return buf;
}

static void test_rows(void)
{
    json_value root, v;
    char buf[512];
    int rc, b = 0;

    ok(parse("{\"b\":[[\"1.50\",\"2\"],[\"3\",\"4.25\"]],\"a\":[[ 7 , -1e-05 ],[\"8\",0]],"
             "\"x\":true}",
             &root) == 0,
       "parses");
    is_str(rows_of(&root, "b", 2, 16, &rc, buf, sizeof buf), "1.50,2|3,4.25|",
           "string pairs, row by row");
    is_int(rc, 0, "0: the array ended");
    is_str(rows_of(&root, "a", 2, 16, &rc, buf, sizeof buf), "7,-1e-05|8,0|",
           "bare numbers as written, whitespace trimmed");
    ok(json_field(&root, "x", &v) == 0 && json_bool(&v, &b) == 0 && b == 1,
       "the field after the arrays reads");

    ok(parse("{\"b\":[[\"1\",\"2\",\"9\"],[\"3\",\"4\",[5,{\"k\":[6]}],\"z\"],[\"a\\\"b\","
             "\"c\"]],\"x\":1}",
             &root) == 0,
       "rows with more elements parse");
    is_str(rows_of(&root, "b", 2, 16, &rc, buf, sizeof buf), "1,2|3,4|a\\\"b,c|",
           "elements beyond cols skipped, nested ones too; escapes as written");
    int64_t x = 0;
    ok(rc == 0 && json_field(&root, "x", &v) == 0 && json_int64(&v, &x) == 0 && x == 1,
       "the document goes on after the skipped elements");
    ok(parse("{\"b\":[[\"1\",\"2\",\"3\"],[\"4\",\"5\",\"6\"]]}", &root) == 0, "parses");
    is_str(rows_of(&root, "b", 3, 16, &rc, buf, sizeof buf), "1,2,3|4,5,6|",
           "three columns (KuCoin's price, size, sequence)");

    ok(parse("{\"b\":[]}", &root) == 0, "an empty array parses");
    is_str(rows_of(&root, "b", 2, 16, &rc, buf, sizeof buf), "", "no rows");
    is_int(rc, 0, "and 0");
}

/* One failing rows call on the array field "b": its result, *nrows, and
 * the error in err. */
static int rows_error(const char *doc, size_t cols, size_t *nrows, char *err, size_t cap)
{
    json_value root, arr;
    json_iter it;
    json_text txt[32];

    *nrows = 99;
    err[0] = '\0';
    if (parse(doc, &root) != 0 || json_field(&root, "b", &arr) != 0 ||
        json_array_begin(&arr, &it) != 0)
        return -2;
    int rc = json_string_rows(&it, txt, cols, 16, nrows);
    snprintf(err, cap, "%s", json_last_error());
    return rc;
}

static void test_rows_refused(void)
{
    char err[200];
    size_t n;

    is_int(rows_error("{\"b\":[[\"1\",\"2\"],[\"3\"]]}", 2, &n, err, sizeof err), -1,
           "a short row is -1");
    ok(n == 1 && strcmp(err, "[1]: 1 element, 2 wanted") == 0,
       "after the good row, naming the short one: %s", err);
    ok(rows_error("{\"b\":[[]]}", 2, &n, err, sizeof err) == -1 && n == 0 &&
           strcmp(err, "[0]: 0 elements, 2 wanted") == 0,
       "an empty row: %s", err);
    ok(rows_error("{\"b\":[[\"1\",\"2\"],\"3\"]}", 2, &n, err, sizeof err) == -1 && n == 1 &&
           strcmp(err, "[1]: not an array") == 0,
       "a row that is not an array: %s", err);
    ok(rows_error("{\"b\":[[\"1\",null]]}", 2, &n, err, sizeof err) == -1 &&
           strcmp(err, "[0][1]: not a number or a string") == 0,
       "an element that is null: %s", err);
    ok(rows_error("{\"b\":[[true,\"1\"]]}", 2, &n, err, sizeof err) == -1 &&
           strcmp(err, "[0][0]: not a number or a string") == 0,
       "an element that is a bool: %s", err);
    ok(rows_error("{\"b\":[[{},\"1\"]]}", 2, &n, err, sizeof err) == -1 &&
           strcmp(err, "[0][0]: not a number or a string") == 0,
       "an element that is an object: %s", err);
    is_int(rows_error("{\"b\":[[\"1\",\"2\"]]}", 0, &n, err, sizeof err), -1,
           "no columns asked for is -1");

    json_value root, arr;
    json_iter it;
    ok(parse("{\"b\":{\"p\":\"1\"}}", &root) == 0 && json_field(&root, "b", &arr) == 0,
       "an object field");
    is_int(json_array_begin(&arr, &it), -1, "is no array to read rows from");
}

/* A malformed document: the rows call fails, then every later call. */
/* Parse doc, read its field `first` (NULL: none), then begin the array
 * "b". @return 1 when all of it went. */
static int begin_rows(const char *doc, const char *first, json_value *root, json_iter *it)
{
    json_value v, arr;
    return parse(doc, root) == 0 && (!first || json_field(root, first, &v) == 0) &&
           json_field(root, "b", &arr) == 0 && json_array_begin(&arr, it) == 0;
}

static void test_rows_malformed(void)
{
    static const char *const docs[] = {
        "{\"b\":[[\"1\",\"2\"],[\"3\" \"4\"]],\"x\":1}", /* missing comma in a row */
        "{\"b\":[[\"1\",\"2\"] [\"3\",\"4\"]],\"x\":1}", /* missing comma between rows */
        "{\"b\":[[\"1\",\"2\"],[\"3\",}",                /* cut short */
        "{\"b\":[[\"1\",\"2\"],[\"3\",]]}",               /* trailing comma */
        "{\"b\":[[\"1\",\"2\"],],\"x\":1}",                 /* a row missing */
        "{\"b\":[[\"1\",\"2\"],[\"3\",\"4\"}],\"x\":1}", /* brackets do not match */
    };
    json_value root, v;
    json_iter it;
    json_text txt[32];
    size_t n;

    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        int started = begin_rows(docs[i], NULL, &root, &it);
        int rc = started ? json_string_rows(&it, txt, 2, 16, &n) : 0;
        ok(started && rc == -1 && n == 1, "malformed '%s': -1 after the good row: %s",
           docs[i], json_last_error());
        ok(started && json_string_rows(&it, txt, 2, 16, &n) == -1 && n == 0 &&
               json_field(&root, "x", &v) == -1,
           "and so is every later call: %s", json_last_error());
    }
    const char *s;
    size_t len;
    ok(parse("{\"e\":\"x\"}", &root) == 0 && json_field(&root, "e", &v) == 0 &&
           json_string(&v, &s, &len) == 0 && len == 1,
       "the next document parses normally");
}

/* A closing bracket too many after rows: the rows read, and a later field
 * lookup that must go back to the object's first field reports a broken
 * document. simdjson's own wrap-around assumed the fields it passes again
 * were well formed (undefined behaviour, seen by clang's UBSan). */
static void test_rows_extra_close(void)
{
    static const char *const docs[] = {
        "{\"e\":1,\"b\":[[\"1\",\"2\"]]]}",
        "{\"e\":1,\"b\":[[\"1\",\"2\",\"b\":\"3\",\"B\":\"4\"]]]}", /* as fuzzing found it */
    };
    json_value root, v;
    json_iter it;
    json_text txt[32];
    size_t n;

    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        int rows = begin_rows(docs[i], "e", &root, &it) &&
                   json_string_rows(&it, txt, 2, 16, &n) == 0 && n == 1;
        ok(rows, "'%s': the row reads", docs[i]);
        ok(json_field(&root, "a", &v) == -1 &&
               strstr(json_last_error(), "improper structure") != NULL,
           "a field not there: -1, the document is broken: %s", json_last_error());
        ok(json_field_opt(&root, "e", &v) == -1, "and every later lookup fails: %s",
           json_last_error());
    }
}

/* 5,000 levels read through a 32-row buffer, after json_array_next took
 * the first: the rows continue where the iterator stands. */
static void test_many_rows(void)
{
    enum { LEVELS = 5000, BATCH = 32 };
    size_t cap = LEVELS * 32 + 64;
    char *doc = calloc(1, cap + JSON_PADDING);
    size_t len = 0;
    json_value root, arr, first;
    json_iter it;
    json_text txt[BATCH * 2];
    char want[32], got[64];
    size_t n, rows = 1, wrong = 0;
    int rc, calls = 0;

    if (!doc)
        bail_out("out of memory");
    len += (size_t)snprintf(doc + len, cap - len, "{\"bids\":[");
    for (int i = 0; i < LEVELS; i++)
        len += (size_t)snprintf(doc + len, cap - len, "%s[\"%d.%02d\",\"%d\"]", i ? "," : "",
                                60000 - i / 100, i % 100, i);
    len += (size_t)snprintf(doc + len, cap - len, "],\"x\":1}");
    ok(json_parse(jp, doc, len, &root) == 0 && json_field(&root, "bids", &arr) == 0 &&
           json_array_begin(&arr, &it) == 0 && json_array_next(&it, &first) == 1,
       "%zu bytes of 5,000 levels; json_array_next reads the first", len);
    while ((rc = json_string_rows(&it, txt, 2, BATCH, &n)) >= 0) {
        calls++;
        for (size_t i = 0; i < n; i++, rows++) {
            snprintf(want, sizeof want, "%d.%02d|%zu", 60000 - (int)rows / 100,
                     (int)rows % 100, rows);
            snprintf(got, sizeof got, "%.*s|%.*s", (int)txt[2 * i].len, txt[2 * i].s,
                     (int)txt[2 * i + 1].len, txt[2 * i + 1].s);
            wrong += strcmp(want, got) != 0;
        }
        if (rc == 0)
            break;
    }
    is_int(rc, 0, "the last call ends the array");
    is_int(rows, LEVELS, "every level read");
    is_int(calls, (LEVELS - 1 + BATCH - 1) / BATCH, "in batches of %d", BATCH);
    is_int(wrong, 0, "each level's texts in order");
    ok(json_string_rows(&it, txt, 2, BATCH, &n) == 0 && n == 0 &&
           json_array_next(&it, &first) == 0,
       "after the end: 0 again, from either call");
    int64_t x = 0;
    ok(json_field(&root, "x", &first) == 0 && json_int64(&first, &x) == 0 && x == 1,
       "the field after the array reads");

    /* max_rows 0 asks whether rows remain, reading none. */
    ok(json_parse(jp, doc, len, &root) == 0 && json_field(&root, "bids", &arr) == 0 &&
           json_array_begin(&arr, &it) == 0,
       "again from the start");
    ok(json_string_rows(&it, txt, 2, 0, &n) == 1 && n == 0, "max_rows 0: 1, rows remain");
    ok(json_string_rows(&it, txt, 2, 1, &n) == 1 && n == 1 && txt[0].len == 8 &&
           memcmp(txt[0].s, "60000.00", 8) == 0,
       "and the first row is still there");
    free(doc);
}

int main(void)
{
    plan(123);
    jp = json_parser_new();
    if (!jp)
        bail_out("json_parser_new failed");
    test_fields_any_order();
    test_missing_field();
    test_optional_field();
    test_optional_nested();
    test_nested_arrays();
    test_number_text();
    test_scalars();
    test_escapes();
    test_root_scalar();
    test_malformed();
    test_dead_document();
    test_parse_copy_unpadded();
    test_padded_in_place();
    test_rows();
    test_rows_refused();
    test_rows_malformed();
    test_rows_extra_close();
    test_many_rows();
    json_parser_free(jp);
    return done();
}
