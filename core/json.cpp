/*
 * json.cpp -- the C facade (json.h) over simdjson's on-demand parser.
 *
 * The one C++ file of lutra. Values and iterators are simdjson objects
 * placement-new'ed into the opaque byte blocks of json.h; a value is either
 * the document itself (the root) or an ondemand::value, because simdjson
 * reads a scalar root through the document, not through a value.
 *
 * A structural error (a missing comma, a document cut short) leaves
 * simdjson's document unusable, and simdjson does not guard later calls: so
 * every call here checks the document first and repeats that first error.
 *
 * No exception can leave this file: simdjson is used through its error-code
 * API with exceptions compiled out, and the parser is allocated with nothrow.
 *
 * Keys are matched as written: simdjson does not unescape them (no exchange
 * escapes a key). String values are unescaped; number texts are not.
 *
 * Speed: a connector reads thousands of prices a second through this file,
 * so number texts are sliced from the document, never copied into
 * simdjson's string buffer, and json_string_rows reads a whole order book
 * side in one call instead of one call per element.
 */
#define SIMDJSON_EXCEPTIONS 0
/* simdjson's own asserts and usage checks run in unoptimised (debug) builds
 * only; our build flags do not define NDEBUG, and they cost on every field. */
#if defined(__OPTIMIZE__) && !defined(NDEBUG)
#define NDEBUG 1
#endif
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "json.h"

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::simdjson_result;

static_assert(JSON_PADDING >= simdjson::SIMDJSON_PADDING, "json.h promises too little padding");

struct json_parser {
    od::parser parser;
    od::document doc;
    error_code fatal; /* the error that made doc unusable, or SUCCESS */
    char *copy;       /* json_parse_copy's padded buffer, grown, never shrunk */
    size_t copy_cap;
};

/* What a json_value holds: the root document or a value in it. */
struct value_box {
    od::value val;
    json_parser *p;
    bool is_root;
};

/* What a json_iter holds. */
struct iter_box {
    od::array_iterator it;
    json_parser *p;
    size_t index;  /* of the element under it: for error messages */
    bool started;  /* that element was handed out: step past it first */
};

static_assert(sizeof(value_box) <= sizeof(json_value), "grow json_value.opaque");
static_assert(alignof(value_box) <= alignof(json_value), "json_value is under-aligned");
static_assert(std::is_trivially_copyable<value_box>::value, "json_value is copied by value");
static_assert(sizeof(iter_box) <= sizeof(json_iter), "grow json_iter.opaque");
static_assert(alignof(iter_box) <= alignof(json_iter), "json_iter is under-aligned");
static_assert(std::is_trivially_copyable<iter_box>::value, "json_iter is copied by value");

/* ---- Errors ---- */

static thread_local char last_error[160] = "no error";

static int fail(error_code e)
{
    snprintf(last_error, sizeof last_error, "%s", simdjson::error_message(e));
    return -1;
}

static int fail_field(const char *key, error_code e)
{
    snprintf(last_error, sizeof last_error, "field \"%.40s\": %s", key,
             simdjson::error_message(e));
    return -1;
}

static int fail_msg(const char *msg)
{
    snprintf(last_error, sizeof last_error, "%s", msg);
    return -1;
}

extern "C" const char *json_last_error(void)
{
    return last_error;
}

/* ---- Boxes ---- */

static value_box *vbox(json_value *v)
{
    return std::launder(reinterpret_cast<value_box *>(v->opaque));
}

static iter_box *ibox(json_iter *it)
{
    return std::launder(reinterpret_cast<iter_box *>(it->opaque));
}

static void set_value(json_value *out, od::value val, json_parser *p)
{
    new (out->opaque) value_box{val, p, false};
}

/* SUCCESS while the document is usable; else the error that ended it. */
static error_code dead(const json_parser *p)
{
    if (p->fatal)
        return p->fatal;
    return const_cast<od::document &>(p->doc).is_alive() ? simdjson::SUCCESS
                                                          : simdjson::TAPE_ERROR;
}

/* Remember the first error that ended the document: one after which
 * simdjson gave up on it, or a broken structure, which simdjson does not
 * always give up on at once. */
static error_code note(json_parser *p, error_code e)
{
    bool broken = e == simdjson::TAPE_ERROR || e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    if (e && !p->fatal && (broken || !p->doc.is_alive()))
        p->fatal = e;
    return e;
}

/* raw_json_token differs in return type between document and value. */
static simdjson_result<std::string_view> raw_token(od::document &d)
{
    return d.raw_json_token();
}

static simdjson_result<std::string_view> raw_token(od::value &v)
{
    return simdjson_result<std::string_view>(v.raw_json_token());
}

/* Is there no value where x stands, but the end of its array or object, or
 * a separator ([1,], {"a":})? simdjson calls that a wrong type; it is a
 * broken document. */
template <typename X>
static bool misplaced(X &x)
{
    std::string_view tok;
    if (raw_token(x).get(tok) || tok.empty())
        return true;
    return tok[0] == ']' || tok[0] == '}' || tok[0] == ',' || tok[0] == ':';
}

/* A wrong type is a broken document when there is no value at all. */
template <typename X>
static error_code wrong_type_or_broken(X &x, error_code e)
{
    return e == simdjson::INCORRECT_TYPE && misplaced(x) ? simdjson::TAPE_ERROR : e;
}

/*
 * Run f on the document (root) or the value -- both offer the same calls --
 * and take its result into out. The one way values are read.
 */
template <typename T, typename F>
static error_code take(json_value *v, F &&f, T &out)
{
    value_box *b = vbox(v);
    error_code e = dead(b->p);
    if (e)
        return e;
    if (b->is_root)
        e = wrong_type_or_broken(b->p->doc, f(b->p->doc).get(out));
    else
        e = wrong_type_or_broken(b->val, f(b->val).get(out));
    return note(b->p, e);
}

/* ---- Parser ---- */

extern "C" json_parser *json_parser_new(void)
{
    json_parser *p = new (std::nothrow) json_parser();
    if (!p)
        return nullptr;
    p->fatal = simdjson::SUCCESS;
    p->copy = nullptr;
    p->copy_cap = 0;
    return p;
}

extern "C" void json_parser_free(json_parser *p)
{
    if (!p)
        return;
    free(p->copy);
    delete p;
}

extern "C" int json_parse(json_parser *p, const char *buf, size_t len, json_value *root)
{
    error_code e = p->parser.iterate(buf, len, len + JSON_PADDING).get(p->doc);
    if (e)
        return fail(e);
    p->fatal = simdjson::SUCCESS;
    new (root->opaque) value_box{od::value(), p, true};
    return 0;
}

extern "C" int json_parse_copy(json_parser *p, const char *buf, size_t len, json_value *root)
{
    size_t need = len + JSON_PADDING;
    if (need < len)
        return fail_msg("document too large");
    if (need > p->copy_cap) {
        char *grown = static_cast<char *>(realloc(p->copy, need));
        if (!grown)
            return fail_msg("out of memory copying the document");
        p->copy = grown;
        p->copy_cap = need;
    }
    if (len)
        memcpy(p->copy, buf, len);
    memset(p->copy + len, 0, JSON_PADDING);
    return json_parse(p, p->copy, len, root);
}

/* ---- Values ---- */

/*
 * The field key of the object x: first from where reading stopped to the
 * object's end, then from its first field.
 *
 * find_field_unordered alone does both, but its second part, a wrap-around
 * to the fields before where it started, assumes they are well formed
 * (SIMDJSON_ASSUME: undefined behaviour if not). They may not be: a skip
 * counts brackets without matching them. In {"b":[["1","2"]]]} the rows
 * of "b" end at the second ']', and the next lookup's skip takes the third
 * as the end of "b" too; the wrap-around, skipping "b" again from its
 * start, stops at the second, and the step after it fails where it was
 * assumed not to. A search in order checks every step and closes the
 * object; from a closed object, find_field_unordered starts at the first
 * field and checks every step too.
 */
template <typename X>
static simdjson_never_inline simdjson_result<od::value> find_field_from_start(X &x,
                                                                              const char *key)
{
    return x.find_field_unordered(key); /* out of line: a field read out of order, or absent */
}

/* Is nothing of x read yet, the iterator still at its opening brace? A
 * search in order from there has seen the whole object. */
template <typename X>
simdjson_really_inline static bool unread(X &x)
{
    const char *at;
    std::string_view start;
    return !x.current_location().get(at) && !raw_token(x).get(start) && at == start.data();
}

/* may_lack: the field is often absent (json_field_opt), so learning first
 * whether the object is unread, a few ns, saves a second pass over it. */
template <typename X>
simdjson_really_inline static simdjson_result<od::value> find_field(X &x, const char *key,
                                                                   bool may_lack)
{
    bool whole = may_lack && unread(x);
    simdjson_result<od::value> r = x.find_field(key);
    if (simdjson_likely(r.error() != simdjson::NO_SUCH_FIELD) || whole)
        return r;
    return find_field_from_start(x, key);
}

extern "C" int json_field(json_value *obj, const char *key, json_value *out)
{
    od::value val;
    error_code e = take(obj, [key](auto &x) { return find_field(x, key, false); }, val);
    if (e)
        return fail_field(key, e);
    set_value(out, val, vbox(obj)->p);
    return 0;
}

extern "C" int json_field_opt(json_value *obj, const char *key, json_value *out)
{
    od::value val;
    error_code e = take(obj, [key](auto &x) { return find_field(x, key, true); }, val);
    if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INCORRECT_TYPE)
        return dead(vbox(obj)->p) ? fail_field(key, dead(vbox(obj)->p)) : 0;
    if (e)
        return fail_field(key, e);
    set_value(out, val, vbox(obj)->p);
    return 1;
}

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A token trimmed of the whitespace before the next structural character. */
simdjson_really_inline static std::string_view trim_token(std::string_view tok)
{
    size_t n = tok.size();
    while (n && is_json_space(tok[n - 1]))
        n--;
    return tok.substr(0, n);
}

/*
 * The text of a number or a string as written: for a string, the
 * characters between its quotes, escapes left as they are -- a number, a
 * price or an id has none, and decoding them costs a scan and a copy of
 * every string. The token runs from the value to the next structural
 * character: a string's closing quote, then perhaps whitespace. Stage 1 has
 * already checked the quotes, UTF-8 and control characters.
 * @return INCORRECT_TYPE for any other value.
 */
template <typename X>
simdjson_really_inline static simdjson_result<std::string_view> read_text(X &x)
{
    std::string_view tok;
    error_code e = raw_token(x).get(tok);
    if (e)
        return e;
    size_t n = tok.size();
    if (n >= 2 && tok[0] == '"' && tok[n - 1] == '"')
        return tok.substr(1, n - 2); /* the usual case: no whitespace follows */
    tok = trim_token(tok);
    n = tok.size();
    if (n >= 2 && tok[0] == '"' && tok[n - 1] == '"')
        return tok.substr(1, n - 2);
    if (n >= 1 && (tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9')))
        return tok;
    return wrong_type_or_broken(x, simdjson::INCORRECT_TYPE);
}

extern "C" int json_string(json_value *v, const char **s, size_t *len)
{
    std::string_view sv;
    error_code e = take(v, [](auto &x) { return x.get_string(); }, sv);
    if (e)
        return fail(e);
    *s = sv.data();
    *len = sv.size();
    return 0;
}

extern "C" int json_number_text(json_value *v, const char **s, size_t *len)
{
    std::string_view sv;
    error_code e = take(v, [](auto &x) { return read_text(x); }, sv);
    if (e == simdjson::INCORRECT_TYPE)
        return fail_msg("not a number or a string holding one");
    if (e)
        return fail(e);
    *s = sv.data();
    *len = sv.size();
    return 0;
}

extern "C" int json_int64(json_value *v, int64_t *out)
{
    int64_t x;
    error_code e = take(v, [](auto &y) { return y.get_int64(); }, x);
    if (e)
        return fail(e);
    *out = x;
    return 0;
}

extern "C" int json_uint64(json_value *v, uint64_t *out)
{
    uint64_t x;
    error_code e = take(v, [](auto &y) { return y.get_uint64(); }, x);
    if (e)
        return fail(e);
    *out = x;
    return 0;
}

extern "C" int json_double(json_value *v, double *out)
{
    double x;
    error_code e = take(v, [](auto &y) { return y.get_double(); }, x);
    if (e)
        return fail(e);
    *out = x;
    return 0;
}

extern "C" int json_bool(json_value *v, int *out)
{
    bool x;
    error_code e = take(v, [](auto &y) { return y.get_bool(); }, x);
    if (e)
        return fail(e);
    *out = x ? 1 : 0;
    return 0;
}

extern "C" int json_is_null(json_value *v)
{
    bool x;
    error_code e = take(v, [](auto &y) { return y.is_null(); }, x);
    if (e) {
        fail(e);
        return 0;
    }
    return x ? 1 : 0;
}

/* ---- Arrays ---- */

extern "C" int json_array_begin(json_value *arr, json_iter *it)
{
    od::array a;
    error_code e = take(arr, [](auto &x) { return x.get_array(); }, a);
    if (e)
        return fail(e);
    json_parser *p = vbox(arr)->p;
    od::array_iterator first;
    e = note(p, a.begin().get(first));
    if (e)
        return fail(e);
    new (it->opaque) iter_box{first, p, 0, false};
    return 0;
}

/* Is the iterator on an element? (It closes at the array's end, and on an
 * error that ended the document.) */
static bool on_element(od::array_iterator &it)
{
    return it != it;
}

/*
 * A closed iterator: the array's end, or an error that ended the document,
 * which dereferencing then reports without moving. (Only then: at a true
 * end, simdjson assumes no one dereferences.)
 * @return SUCCESS at the end, else the error, noted.
 */
static error_code closed_why(json_parser *p, od::array_iterator &it)
{
    if (p->doc.is_alive())
        return simdjson::SUCCESS;
    od::value val;
    error_code e = (*it).get(val);
    return note(p, e ? e : simdjson::TAPE_ERROR);
}

/* Step past the element last handed out, if any. */
simdjson_really_inline static void step(iter_box *b)
{
    if (b->started) {
        ++b->it;
        b->index++;
        b->started = false;
    }
}

extern "C" int json_array_next(json_iter *it, json_value *out)
{
    iter_box *b = ibox(it);
    error_code e = dead(b->p);
    if (e)
        return fail(e);
    step(b);
    if (!on_element(b->it))
        return closed_why(b->p, b->it) ? fail(dead(b->p)) : 0;
    od::value val;
    b->started = true;
    e = note(b->p, (*b->it).get(val));
    if (e)
        return fail(e);
    set_value(out, val, b->p);
    return 1;
}

/* Fail naming element [row] or [row][col] of json_string_rows' array. */
static int fail_at(json_parser *p, size_t row, size_t col, error_code e)
{
    note(p, e);
    const char *why = e == simdjson::INCORRECT_TYPE
                          ? (col == SIZE_MAX ? "not an array" : "not a number or a string")
                          : simdjson::error_message(e);
    if (col == SIZE_MAX)
        snprintf(last_error, sizeof last_error, "[%zu]: %s", row, why);
    else
        snprintf(last_error, sizeof last_error, "[%zu][%zu]: %s", row, col, why);
    return -1;
}

static int fail_short(size_t row, size_t got, size_t want)
{
    snprintf(last_error, sizeof last_error, "[%zu]: %zu element%s, %zu wanted", row, got,
             got == 1 ? "" : "s", want);
    return -1;
}

/* The row under b's iterator: its first cols elements into out.
 * @return 0, or -1 with the error set. */
simdjson_really_inline static int read_row(iter_box *b, json_text *out, size_t cols)
{
    json_parser *p = b->p;
    od::value row, v;
    od::array a;
    od::array_iterator it;
    std::string_view sv;
    error_code e;

    if ((e = (*b->it).get(row)) || (e = wrong_type_or_broken(row, row.get_array().get(a))) ||
        (e = a.begin().get(it)))
        return fail_at(p, b->index, SIZE_MAX, e);
    for (size_t col = 0; col < cols; col++, ++it) {
        if (!on_element(it)) {
            if ((e = closed_why(p, it)))
                return fail_at(p, b->index, col, e);
            return fail_short(b->index, col, cols);
        }
        if ((e = (*it).get(v)) || (e = read_text(v).get(sv)))
            return fail_at(p, b->index, col, e);
        out[col] = json_text{sv.data(), sv.size()};
    }
    /* Elements beyond cols are left to the next step to skip, but an error
     * after the last one read (a missing comma) belongs to this row. */
    if (on_element(it) && (e = (*it).get(v)))
        return fail_at(p, b->index, SIZE_MAX, e);
    return 0;
}

/* json_string_rows on b, a copy of the caller's iterator. */
simdjson_really_inline static int read_rows(iter_box *b, json_text *out, size_t cols,
                                            size_t max_rows, size_t *nrows)
{
    error_code e;

    for (size_t n = 0;; n++) {
        step(b);
        if (!on_element(b->it)) {
            if ((e = closed_why(b->p, b->it)))
                return fail_at(b->p, b->index, SIZE_MAX, e);
            return 0;
        }
        if (n == max_rows)
            return 1;
        b->started = true;
        if (read_row(b, out + n * cols, cols) != 0)
            return -1;
        *nrows = n + 1; /* so far */
    }
}

extern "C" int json_string_rows(json_iter *it, json_text *out, size_t cols, size_t max_rows,
                                size_t *nrows)
{
    iter_box *b = ibox(it);
    error_code e = dead(b->p);

    *nrows = 0;
    if (e)
        return fail(e);
    if (cols == 0)
        return fail_msg("json_string_rows: cols must be at least 1");
    /* Work on a copy the compiler can keep in registers: through b, every
     * store to out might change the iterator, so it would be reloaded. */
    iter_box local = *b;
    int rc = read_rows(&local, out, cols, max_rows, nrows);
    *b = local;
    return rc;
}
