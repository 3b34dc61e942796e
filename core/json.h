/*
 * json.h -- the C facade over simdjson's on-demand parser (core/json.cpp).
 *
 * The only JSON parser in lutra. Exchange messages are parsed in place: the
 * buffer must stay alive and unchanged while values from it are used, and
 * JSON_PADDING bytes after the document's end must be readable (their
 * contents do not matter). json_parse_copy lifts that rule by copying.
 *
 * On-demand parsing walks the document forward. Values are light cursors
 * into it: read a field's value before asking the same object for the next
 * field, and read each value at most once. Fields may be asked for in any
 * order; the document's own order costs least. A field asked for out of
 * order, or missing, costs a scan of the rest of the object and one from
 * its first field (json_field_opt, asked before anything of the object is
 * read, one scan).
 *
 * Every function returns 0 on success and -1 on failure (missing field,
 * wrong type, malformed document); json_last_error then says why. After a
 * malformed part is met, every later call on the document fails with that
 * first error. Order book sides are read fastest with json_string_rows:
 * one call for the whole array rather than several per level.
 */
#ifndef LUTRA_JSON_H
#define LUTRA_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JSON_PADDING 64

typedef struct json_parser json_parser;

/* A value in the current document. Opaque; copy it freely. */
typedef struct json_value {
    uint64_t opaque[5];
} json_value;

/* An iterator over an array's elements. Opaque. */
typedef struct json_iter {
    uint64_t opaque[6];
} json_iter;

/* A piece of the current document's text, valid as long as its values. */
typedef struct json_text {
    const char *s;
    size_t len;
} json_text;

/* @return a parser, or NULL when out of memory. One per thread. */
json_parser *json_parser_new(void);
void json_parser_free(json_parser *p);

/* Start on a document of len bytes (JSON_PADDING readable bytes after it).
 * Any earlier document's values become invalid. */
int json_parse(json_parser *p, const char *buf, size_t len, json_value *root);

/* As json_parse, for a buffer without padding: the parser copies it. */
int json_parse_copy(json_parser *p, const char *buf, size_t len, json_value *root);

/* The field `key` of an object. */
int json_field(json_value *obj, const char *key, json_value *out);

/* As json_field, for a field that may be absent: tells an absent field (or
 * obj not an object) from a malformed document.
 * @return 1 and *out set if present, 0 if absent, -1 if malformed. */
int json_field_opt(json_value *obj, const char *key, json_value *out);

/* A string's contents (unescaped; valid until the next json_parse). */
int json_string(json_value *v, const char **s, size_t *len);

/* A number's or string's text as written, for exact decimal parsing:
 * "61837.63" (from a string) or 1e-05 (from a bare number). A string's
 * text is its characters between the quotes, escapes left undecoded (no
 * number has one; json_string decodes them). */
int json_number_text(json_value *v, const char **s, size_t *len);

int json_int64(json_value *v, int64_t *out);
int json_uint64(json_value *v, uint64_t *out);
int json_double(json_value *v, double *out);
int json_bool(json_value *v, int *out);
/* @return 1 if v is null, 0 if not (v is consumed only when it is null). */
int json_is_null(json_value *v);

/* Iterate an array: json_array_begin, then json_array_next, which returns
 * 1 with the next element in *out, until it returns 0 (end) or -1 (error). */
int json_array_begin(json_value *arr, json_iter *it);
int json_array_next(json_iter *it, json_value *out);

/*
 * Read the rows of an array of arrays -- an order book side such as
 * [["61837.63","0.5"],["61837.62","1.2",7],...] -- in one call, from an
 * iterator that json_array_begin started (json_array_next may have read
 * some rows before). Each row must be an array of at least cols strings or
 * numbers; its first cols elements go to out row by row (out[r * cols + c]),
 * as json_number_text gives them (strings' escapes undecoded); further
 * elements are skipped.
 *
 * At most max_rows rows are read; *nrows says how many. Call again with the
 * same iterator for the rest: a 5,000-level snapshot can be read in batches
 * of a small buffer.
 * @return 0 when the array ended, 1 when out is full and rows remain, -1 on
 * a row that is not an array, too short, an element that is neither string
 * nor number, or a malformed document (the error names the row and element,
 * counted from 0 over the whole array: "[12][1]: ..."); *nrows then counts
 * the rows read before it.
 */
int json_string_rows(json_iter *it, json_text *out, size_t cols, size_t max_rows,
                     size_t *nrows);

/* The calling thread's last JSON error, a static English string. */
const char *json_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
