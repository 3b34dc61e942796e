/*
 * Fuzz target: fixed_parse and fixed_format never misbehave, and whatever
 * parses formats back to a string that parses to the same value.
 * First byte: the scale; the rest: the text.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fixed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[FIXED_STR_MAX];
    int64_t v, back;
    int scale, n;

    if (size < 1)
        return 0;
    scale = data[0] % (FIXED_MAX_SCALE + 2); /* one past the maximum: refused */
    if (fixed_parse((const char *)data + 1, size - 1, scale, &v) != FIXED_OK)
        return 0;
    n = fixed_format(v, scale, buf, sizeof buf);
    if (n < 0 || fixed_parse(buf, (size_t)n, scale, &back) != FIXED_OK || back != v)
        abort();
    n = fixed_format_trim(v, scale, buf, sizeof buf);
    if (n < 0 || fixed_parse(buf, (size_t)n, scale, &back) != FIXED_OK || back != v)
        abort();
    if (fixed_decimals(buf, (size_t)n) > scale)
        abort();
    return 0;
}
