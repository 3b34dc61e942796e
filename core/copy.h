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

/* Copy src into dst (cap > 0 bytes), cut to cap - 1 bytes and always
 * NUL-terminated, as snprintf would. @return the bytes copied. */
static inline size_t copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

#endif
