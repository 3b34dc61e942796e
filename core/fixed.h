/*
 * fixed.h -- exact decimal <-> int64 fixed point.
 *
 * Exchanges send prices and sizes as decimal strings ("61837.63000000",
 * "1e-05", "0.00000000"). We parse them straight into an int64 mantissa at a
 * given scale (count of decimal places) and never through a double, so a
 * value is either represented exactly or refused: a digit that does not fit
 * the scale, or a value beyond int64, is an error, never a rounding.
 *
 * These functions are exported to plugins through the host API.
 */
#ifndef LUTRA_FIXED_H
#define LUTRA_FIXED_H

#include <stddef.h>
#include <stdint.h>

#define FIXED_MAX_SCALE 18
/* Longest string fixed_format writes, NUL included. */
#define FIXED_STR_MAX 48

enum fixed_error {
    FIXED_OK = 0,
    FIXED_ESYNTAX = -1,    /* not a decimal number */
    FIXED_EPRECISION = -2, /* more significant decimals than the scale holds */
    FIXED_EOVERFLOW = -3,  /* beyond int64 at this scale */
    FIXED_ESCALE = -4      /* scale outside 0..FIXED_MAX_SCALE */
};

/*
 * Parse s[0..len) at `scale` decimal places into *out.
 * Accepts an optional sign, digits with at most one '.', and an optional
 * exponent (e/E, optional sign, digits). Trailing zeros beyond the scale are
 * fine ("1.50000000" at scale 2); a non-zero digit beyond it is not.
 * @return FIXED_OK, or a negative enum fixed_error; *out untouched on error.
 */
int fixed_parse(const char *s, size_t len, int scale, int64_t *out);

/*
 * Smallest scale that represents s exactly ("61837.63000000" -> 2,
 * "1e-05" -> 5, "100" -> 0).
 * @return the scale (0..FIXED_MAX_SCALE), or a negative enum fixed_error.
 */
int fixed_decimals(const char *s, size_t len);

/*
 * Write v at `scale` as a decimal string with exactly `scale` decimals
 * (fixed_format) or without trailing zeros (fixed_format_trim, "1.5", "2").
 * @return the length written (buf is NUL-terminated), or -1 if cap is too
 * small (FIXED_STR_MAX always suffices) or the scale is invalid.
 */
int fixed_format(int64_t v, int scale, char *buf, size_t cap);
int fixed_format_trim(int64_t v, int scale, char *buf, size_t cap);

/* Change the scale of v exactly. @return FIXED_OK, FIXED_EPRECISION when
 * lowering the scale would drop a non-zero digit, or FIXED_EOVERFLOW. */
int fixed_rescale(int64_t v, int from_scale, int to_scale, int64_t *out);

/* 10^n for 0 <= n <= 18. */
int64_t fixed_pow10(int n);

/* Value as a double, for reports and the Lua boundary only. */
double fixed_to_double(int64_t v, int scale);

/* A short English description of an enum fixed_error. */
const char *fixed_strerror(int rc);

#endif
