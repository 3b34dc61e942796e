/*
 * copy.h -- bounded copies of C strings into fixed fields.
 *
 * snprintf(dst, cap, "%s", src) says the same, but parses its format and
 * walks glibc's whole printf machinery to do it: on the order path (an
 * order's id, tag and report fields, its journal records) that showed in
 * the profile, and its code crowded out the path's own from the caches.
 */
#ifndef LUTRA_COPY_H
#define LUTRA_COPY_H

#include <string.h>

/* Copy src, a field of srclen bytes that may lack its terminator, into
 * dst (cap > 0 bytes), cut to cap - 1 bytes and always NUL-terminated.
 * @return the bytes copied. */
static inline size_t copy_field(char *dst, size_t cap, const char *src, size_t srclen)
{
    size_t n = strnlen(src, srclen < cap - 1 ? srclen : cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

/* Copy the C string src as snprintf(dst, cap, "%s", src) would. */
static inline size_t copy_str(char *dst, size_t cap, const char *src)
{
    return copy_field(dst, cap, src, cap - 1);
}

#endif
