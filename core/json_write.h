/*
 * json_write.h -- bytes as a JSON string: the one escaping every JSON lutra
 * writes uses (ctl answers, `lutra state --json`, `lutra inspect --json`, the
 * backtest report, a strategy's params). Parsing is core/json.h's.
 *
 * Any bytes make a string that a strict reader (simdjson, RFC 8259) accepts:
 *   - `"` and `\` are backslashed; \n, \r and \t take their short escapes;
 *   - other control bytes (below 0x20) and DEL (0x7F) become \u00XX;
 *   - well-formed UTF-8 (RFC 3629) goes out as it is;
 *   - every other byte becomes \u00XX, as if it were Latin-1: an overlong
 *     form, a surrogate (U+D800..U+DFFF), a code point beyond U+10FFFF, a
 *     lead byte whose sequence is cut short, a lone continuation byte, and
 *     the bytes 0xC0, 0xC1, 0xF5..0xFF.
 * That last rule is the more careful of those lutra had (`lutra state`'s):
 * a binary value or a Lua error holding a stray byte still prints, each
 * byte can be told apart. json_write_text is the one exception: it puts
 * U+FFFD for each such byte instead, for text that a reader also sees
 * rendered beside it with U+FFFD (the backtest report's HTML).
 *
 * Output goes to a sink the caller gives (a FILE, an evbuffer, a Lua
 * buffer, a report's buffer): no allocation here, and bytes that need no
 * escape are handed over in runs, not one at a time.
 */
#ifndef LUTRA_JSON_WRITE_H
#define LUTRA_JSON_WRITE_H

#include <stddef.h>

/* A sink: append the n bytes at p to whatever ud is. */
typedef void (*json_write_put_fn)(void *ud, const char *p, size_t n);

/* The n bytes at s (NUL bytes included; s may be NULL when n is 0) as a
 * JSON string, quotes around it, to put(ud, ...). */
void json_write_string(json_write_put_fn put, void *ud, const char *s, size_t n);

/* As json_write_string, each byte that is not well-formed UTF-8 as U+FFFD. */
void json_write_text(json_write_put_fn put, void *ud, const char *s, size_t n);

/* A sink for a FILE *: fwrite, errors left in the stream's error flag. */
void json_write_file(void *file, const char *p, size_t n);

/*
 * The length of the well-formed UTF-8 sequence that starts at s, of the n
 * bytes there (n > 0): 1 for an ASCII byte, 2 to 4 for a multi-byte
 * sequence, 0 when s does not start one (see the list above).
 */
size_t json_write_utf8_len(const unsigned char *s, size_t n);

#endif
