/*
 * msgpack_check.c -- walk a msgpack value's headers without allocating
 * (msgpack_check.h).
 *
 * One pass, no recursion: a fixed stack holds how many values each open
 * container still owes (a map two per entry). Each step reads one value's
 * header and moves past it, or past its bytes, so every step but closing a
 * container consumes at least one byte: the walk is linear in the input,
 * whatever the headers declare.
 */
#include "msgpack_check.h"

#include <stdio.h>
#include <string.h>

enum msgpack_check_kind {
    KIND_SCALAR, /* the header is the whole value */
    KIND_BYTES,  /* str, bin, ext: n bytes follow the header */
    KIND_ARRAY,  /* n values follow */
    KIND_MAP,    /* n entries, 2n values, follow */
    KIND_NEVER   /* 0xc1 */
};

/* What a value's first byte says about its header. */
typedef struct msgpack_check_head {
    enum msgpack_check_kind kind;
    size_t size;           /* header bytes: the first, a length, ext's type */
    int len_bytes;         /* a big-endian length or count after the first
                            * byte; 0: it is `n` */
    uint64_t n;
    const char *what;
} msgpack_check_head;

static msgpack_check_head msgpack_check_make(enum msgpack_check_kind kind, size_t size,
                                             int len_bytes, uint64_t n, const char *what)
{
    msgpack_check_head h = {kind, size, len_bytes, n, what};
    return h;
}

static msgpack_check_head msgpack_check_head_of(unsigned char b)
{
    static const char str[] = "a string", bin[] = "a binary string", ext[] = "an ext value",
                      arr[] = "an array", map[] = "a map";

    if (b <= 0x7f || b >= 0xe0) /* positive and negative fixint */
        return msgpack_check_make(KIND_SCALAR, 1, 0, 0, NULL);
    if (b <= 0x8f)
        return msgpack_check_make(KIND_MAP, 1, 0, b & 0x0f, map);
    if (b <= 0x9f)
        return msgpack_check_make(KIND_ARRAY, 1, 0, b & 0x0f, arr);
    if (b <= 0xbf)
        return msgpack_check_make(KIND_BYTES, 1, 0, b & 0x1f, str);
    switch (b) {
    case 0xc0: /* nil */
    case 0xc2: /* false */
    case 0xc3: /* true */
        return msgpack_check_make(KIND_SCALAR, 1, 0, 0, NULL);
    case 0xc4: return msgpack_check_make(KIND_BYTES, 2, 1, 0, bin);
    case 0xc5: return msgpack_check_make(KIND_BYTES, 3, 2, 0, bin);
    case 0xc6: return msgpack_check_make(KIND_BYTES, 5, 4, 0, bin);
    case 0xc7: return msgpack_check_make(KIND_BYTES, 3, 1, 0, ext); /* length, then type */
    case 0xc8: return msgpack_check_make(KIND_BYTES, 4, 2, 0, ext);
    case 0xc9: return msgpack_check_make(KIND_BYTES, 6, 4, 0, ext);
    case 0xca: return msgpack_check_make(KIND_SCALAR, 5, 0, 0, NULL); /* float32 */
    case 0xcb: return msgpack_check_make(KIND_SCALAR, 9, 0, 0, NULL); /* float64 */
    case 0xcc: case 0xd0: return msgpack_check_make(KIND_SCALAR, 2, 0, 0, NULL);
    case 0xcd: case 0xd1: return msgpack_check_make(KIND_SCALAR, 3, 0, 0, NULL);
    case 0xce: case 0xd2: return msgpack_check_make(KIND_SCALAR, 5, 0, 0, NULL);
    case 0xcf: case 0xd3: return msgpack_check_make(KIND_SCALAR, 9, 0, 0, NULL);
    case 0xd4: return msgpack_check_make(KIND_BYTES, 2, 0, 1, ext); /* fixext: type, data */
    case 0xd5: return msgpack_check_make(KIND_BYTES, 2, 0, 2, ext);
    case 0xd6: return msgpack_check_make(KIND_BYTES, 2, 0, 4, ext);
    case 0xd7: return msgpack_check_make(KIND_BYTES, 2, 0, 8, ext);
    case 0xd8: return msgpack_check_make(KIND_BYTES, 2, 0, 16, ext);
    case 0xd9: return msgpack_check_make(KIND_BYTES, 2, 1, 0, str);
    case 0xda: return msgpack_check_make(KIND_BYTES, 3, 2, 0, str);
    case 0xdb: return msgpack_check_make(KIND_BYTES, 5, 4, 0, str);
    case 0xdc: return msgpack_check_make(KIND_ARRAY, 3, 2, 0, arr);
    case 0xdd: return msgpack_check_make(KIND_ARRAY, 5, 4, 0, arr);
    case 0xde: return msgpack_check_make(KIND_MAP, 3, 2, 0, map);
    case 0xdf: return msgpack_check_make(KIND_MAP, 5, 4, 0, map);
    default: return msgpack_check_make(KIND_NEVER, 1, 0, 0, NULL); /* 0xc1 */
    }
}

static uint64_t msgpack_check_big_endian(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Pass over the value at *off, whose container (if any) is at level
 * depth. A container leaves *off past its header and *owes its values;
 * anything else leaves *off past the value and *owes 0. */
static msgpack_check_status msgpack_check_step(const unsigned char *p, size_t len, size_t *off,
                                               int depth, uint64_t *owes,
                                               msgpack_check_result *r)
{
    size_t at = *off, left;
    msgpack_check_head h;
    uint64_t n, values;

    *owes = 0;
    r->at = at;
    if (at >= len)
        return MSGPACK_CHECK_TRUNCATED;
    h = msgpack_check_head_of(p[at]);
    r->what = h.what;
    if (h.kind == KIND_NEVER)
        return MSGPACK_CHECK_INVALID;
    if (h.size > len - at)
        return MSGPACK_CHECK_TRUNCATED;
    n = h.len_bytes ? msgpack_check_big_endian(p + at + 1, h.len_bytes) : h.n;
    left = len - at - h.size;
    switch (h.kind) {
    case KIND_SCALAR:
        *off = at + h.size;
        return MSGPACK_CHECK_OK;
    case KIND_BYTES:
        /* Its bytes must all be here: if not, the value is cut short,
         * whether the bytes went missing or the length was damaged. */
        if (n > left)
            return MSGPACK_CHECK_TRUNCATED;
        *off = at + h.size + (size_t)n;
        return MSGPACK_CHECK_OK;
    default:
        if (depth + 1 > r->max_depth)
            return MSGPACK_CHECK_TOO_DEEP;
        values = h.kind == KIND_MAP ? 2 * n : n;
        if (values > left) {
            r->declared = n;
            r->unit = h.kind == KIND_MAP ? "entries" : "elements";
            r->left = left;
            return MSGPACK_CHECK_OVERSIZED;
        }
        *off = at + h.size;
        *owes = values;
        return MSGPACK_CHECK_OK;
    }
}

msgpack_check_status msgpack_check_value(const void *data, size_t len, int max_depth,
                                         msgpack_check_result *r)
{
    const unsigned char *p = data;
    uint64_t owed[MSGPACK_CHECK_DEPTH_MAX + 1]; /* [0]: the value itself */
    uint64_t owes;
    int depth = 0;
    size_t off = 0;
    msgpack_check_status st;

    memset(r, 0, sizeof *r);
    r->len = len;
    r->max_depth = max_depth < 1 || max_depth > MSGPACK_CHECK_DEPTH_MAX ? MSGPACK_CHECK_DEPTH_MAX
                                                                        : max_depth;
    owed[0] = 1;
    for (;;) {
        while (owed[depth] == 0 && depth > 0)
            depth--;
        if (owed[depth] == 0)
            break;
        owed[depth]--;
        if ((st = msgpack_check_step(p, len, &off, depth, &owes, r)) != MSGPACK_CHECK_OK)
            return r->status = st;
        if (owes)
            owed[++depth] = owes;
    }
    r->what = NULL;
    r->at = off;
    r->end = off;
    return r->status = off < len ? MSGPACK_CHECK_TRAILING : MSGPACK_CHECK_OK;
}

const char *msgpack_check_describe(const msgpack_check_result *r, char *buf, size_t cap)
{
    const char *what = r->what ? r->what : "a value";

    if (!cap)
        return buf;
    switch (r->status) {
    case MSGPACK_CHECK_OK:
        snprintf(buf, cap, "one msgpack value of %zu bytes", r->len);
        break;
    case MSGPACK_CHECK_OVERSIZED:
        snprintf(buf, cap, "%s at byte %zu declares %llu %s in the %zu bytes left", what, r->at,
                 (unsigned long long)r->declared, r->unit, r->left);
        break;
    case MSGPACK_CHECK_TRUNCATED:
        snprintf(buf, cap, "msgpack cut short (%zu bytes)", r->len);
        break;
    case MSGPACK_CHECK_TOO_DEEP:
        snprintf(buf, cap, "containers nested deeper than %d levels (%s at byte %zu)",
                 r->max_depth, what, r->at);
        break;
    case MSGPACK_CHECK_INVALID:
        snprintf(buf, cap, "not msgpack (%zu bytes)", r->len);
        break;
    case MSGPACK_CHECK_TRAILING:
        snprintf(buf, cap, "%zu bytes follow the value's %zu", r->len - r->end, r->end);
        break;
    }
    return buf;
}
