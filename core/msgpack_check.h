/*
 * msgpack_check.h -- bound what a stored msgpack value may make msgpack-c
 * allocate, before msgpack-c reads it.
 *
 * msgpack-c's unpacker sizes a container by what its header declares: five
 * bytes that declare an array of 4294967295 elements make it ask for about
 * 100 GiB before it reads one element (a clean failure in a normal build, an
 * abort under AddressSanitizer or libFuzzer). The state store is a file that
 * can be damaged or written by another program, so every value read from
 * it is walked here first, without allocating, and refused when:
 *
 *   - a container declares more elements than the bytes left could hold
 *     (every element takes at least one byte, a map's entry two):
 *     MSGPACK_CHECK_OVERSIZED;
 *   - the bytes end before the value does, including a string, binary or
 *     ext value whose declared length runs past them: MSGPACK_CHECK_TRUNCATED;
 *   - containers nest deeper than max_depth levels (the outermost is level
 *     1; an empty container counts): MSGPACK_CHECK_TOO_DEEP;
 *   - a byte is 0xc1, the one msgpack never uses: MSGPACK_CHECK_INVALID;
 *   - bytes follow the value: MSGPACK_CHECK_TRAILING (the value itself is
 *     sound and ends at `end`, so a caller may still decode and judge it
 *     before refusing what follows).
 *
 * A value that passes (MSGPACK_CHECK_OK) is exactly one msgpack value that
 * msgpack_unpack_next decodes whole, when max_depth is at most
 * MSGPACK_CHECK_DEPTH_MAX, allocating at most about 24 bytes of objects per
 * byte of input. This is no parser: it judges neither types nor values (a
 * map where an array is wanted, a string too long for its field); the
 * caller does that on msgpack-c's objects.
 */
#ifndef LUTRA_MSGPACK_CHECK_H
#define LUTRA_MSGPACK_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* msgpack-c's unpacker reads no deeper (its MSGPACK_EMBED_STACK_SIZE,
 * compiled into the library). */
#define MSGPACK_CHECK_DEPTH_MAX 32

typedef enum msgpack_check_status {
    MSGPACK_CHECK_OK = 0,
    MSGPACK_CHECK_OVERSIZED,
    MSGPACK_CHECK_TRUNCATED,
    MSGPACK_CHECK_TOO_DEEP,
    MSGPACK_CHECK_INVALID,
    MSGPACK_CHECK_TRAILING
} msgpack_check_status;

/* What was found, and where: enough to say it (msgpack_check_describe). */
typedef struct msgpack_check_result {
    msgpack_check_status status;
    size_t len;          /* the bytes given */
    size_t end;          /* OK, TRAILING: where the value ends */
    size_t at;           /* where the value at fault starts (its first byte) */
    const char *what;    /* the value at fault: "a map", "an array", "a string",
                          * "a binary string", "an ext value"; NULL for a number,
                          * nil, boolean or a value missing altogether */
    uint64_t declared;   /* OVERSIZED: what it declares, in `unit`s */
    const char *unit;    /* OVERSIZED: "elements" (an array), "entries" (a map) */
    size_t left;         /* OVERSIZED: bytes after its header */
    int max_depth;       /* the limit applied */
} msgpack_check_result;

/*
 * Walk data[0..len) as one msgpack value with containers nested at most
 * max_depth levels (values past MSGPACK_CHECK_DEPTH_MAX, or below 1, mean
 * MSGPACK_CHECK_DEPTH_MAX). Allocates nothing; time linear in len.
 * @return r->status, MSGPACK_CHECK_OK when the bytes are sound.
 */
msgpack_check_status msgpack_check_value(const void *data, size_t len, int max_depth,
                                         msgpack_check_result *r);

/*
 * Say what r found, for an error message that names the record around it:
 *   "a map at byte 0 declares 4294967295 entries in the 7 bytes left"
 *   "msgpack cut short (5 bytes)"
 *   "containers nested deeper than 32 levels (an array at byte 32)"
 *   "not msgpack (5 bytes)"
 *   "2 bytes follow the value's 9"
 * @return buf.
 */
const char *msgpack_check_describe(const msgpack_check_result *r, char *buf, size_t cap);

#endif
