/*
 * Fuzz target: ts_parse_iso on any bytes; what parses formats back to a time
 * that parses to the same instant.
 */
#include <stdint.h>
#include <stdlib.h>

#include "timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[TS_ISO_MAX];
    int64_t ns, back;
    int n;

    if (ts_parse_iso((const char *)data, size, &ns) != 0)
        return 0;
    n = ts_format_iso(ns, buf, sizeof buf);
    if (n < 0 || ts_parse_iso(buf, (size_t)n, &back) != 0 || back != ns)
        abort();
    return 0;
}
