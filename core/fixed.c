/*
 * fixed.c -- exact decimal <-> int64 fixed point.
 *
 * A decimal string is read in one pass into (digits, power of ten): the
 * first 19 digits from the first non-zero one go into a uint64 (19 digits
 * always fit, so the loop needs no overflow check), and "61837.63000000" is
 * 6183763000000 x 10^-8. Digits beyond those 19 are only counted: zeros
 * shift the power, a non-zero one means the value has more significant
 * digits than any int64 holds, and only its position is kept to tell a
 * precision error from an overflow. Exponents are clamped, never looped on.
 * Scaling is then one comparison of the power against the scale and at most
 * one checked multiply (or, when the string has more decimals than the
 * scale, a divisibility test: trailing zeros are fine, a lost digit is not).
 *
 * What exchanges send is nearly always plainer than that: "61837.63000000",
 * no sign or a '-', no exponent, a dozen digits. fixed_parse reads such a
 * string first in a loop that does nothing else (parse_plain): the digits
 * up to the scale go straight into the mantissa, zeros past it are
 * skipped, and the scale is reached with one multiply. Anything else it
 * meets (a '+', an exponent, more than 18 digits, a non-zero digit past the
 * scale, a stray byte) sends the string to the general reader, so every
 * result and every error is the general reader's own.
 */
#include "fixed.h"

#include <stdbool.h>
#include <stddef.h>

/* Beyond any string length: exponents are clamped here so the power-of-ten
 * arithmetic below stays far from int64 overflow. */
#define FIXED_EXP_CLAMP (INT64_C(1) << 59)
/* Digits that always fit a uint64 (10^19 - 1 < 2^64). */
#define FIXED_SAFE_DIGITS 19

static const uint64_t pow10_u64[20] = {
    UINT64_C(1),
    UINT64_C(10),
    UINT64_C(100),
    UINT64_C(1000),
    UINT64_C(10000),
    UINT64_C(100000),
    UINT64_C(1000000),
    UINT64_C(10000000),
    UINT64_C(100000000),
    UINT64_C(1000000000),
    UINT64_C(10000000000),
    UINT64_C(100000000000),
    UINT64_C(1000000000000),
    UINT64_C(10000000000000),
    UINT64_C(100000000000000),
    UINT64_C(1000000000000000),
    UINT64_C(10000000000000000),
    UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000),
    UINT64_C(10000000000000000000),
};

/*
 * A decimal as read: value = (neg ? -1 : 1) * digits * 10^exp10, exactly,
 * unless too_big, when the value has 20 or more significant digits and only
 * last_pos, the power of ten of its last non-zero digit, matters.
 */
typedef struct fixed_decimal {
    uint64_t digits;
    int64_t exp10;
    int64_t last_pos;
    bool neg;
    bool too_big;
} fixed_decimal;

static inline unsigned digit_at(const char *p, const char *end)
{
    /* Anything that is not '0'..'9' maps above 9. */
    return p < end ? (unsigned)(unsigned char)*p - '0' : 10u;
}

/* Append digit c to m while m holds fewer than FIXED_SAFE_DIGITS digits
 * (leading zeros do not count). @return false when the digit did not fit. */
static inline bool keep_digit(uint64_t *m, int *kept, unsigned c)
{
    if (*kept >= FIXED_SAFE_DIGITS)
        return false;
    *m = *m * 10 + c;
    *kept += *m != 0;
    return true;
}

/* "e-05": the exponent after the mantissa, if any, clamped far beyond any
 * meaningful power. @return false on "e" without digits. */
static bool read_exponent(const char **pp, const char *end, int64_t *exp)
{
    const char *p = *pp;
    bool neg = false;
    unsigned c;

    *exp = 0;
    if (p == end || (*p != 'e' && *p != 'E'))
        return true;
    p++;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    if (digit_at(p, end) > 9)
        return false;
    for (; (c = digit_at(p, end)) <= 9; p++)
        *exp = *exp < FIXED_EXP_CLAMP ? *exp * 10 + c : FIXED_EXP_CLAMP;
    if (neg)
        *exp = -*exp;
    *pp = p;
    return true;
}

/* Read [sign] digits [. digits] [e|E [sign] digits] covering all of s[0..len).
 * @return FIXED_OK or FIXED_ESYNTAX. */
static int decimal_read(const char *s, size_t len, fixed_decimal *d)
{
    const char *p = s, *end = s + len, *mantissa;
    uint64_t m = 0;
    int kept = 0;                 /* digits in m since its first non-zero one */
    int64_t int_dropped = 0;      /* integer digits beyond the kept ones */
    int64_t frac_kept = 0;        /* fraction digits in m */
    int64_t frac_seen = 0;        /* fraction digits read */
    int64_t last_nz_int = -1;     /* int_dropped at the last dropped non-zero */
    int64_t last_nz_frac = 0;     /* fraction index of the last dropped non-zero */
    int64_t exp;
    unsigned c;

    d->neg = false;
    d->too_big = false;
    if (p < end && (*p == '+' || *p == '-'))
        d->neg = *p++ == '-';

    for (mantissa = p; (c = digit_at(p, end)) <= 9; p++) {
        if (keep_digit(&m, &kept, c))
            continue;
        int_dropped++;
        if (c != 0)
            last_nz_int = int_dropped;
    }
    if (p < end && *p == '.') {
        for (p++; (c = digit_at(p, end)) <= 9; p++) {
            frac_seen++;
            if (keep_digit(&m, &kept, c))
                frac_kept++;
            else if (c != 0)
                last_nz_frac = frac_seen;
        }
    }
    /* At least one digit: "." and "" are not numbers, ".5" and "5." are. */
    if (p - mantissa == 0 || (p - mantissa == 1 && p[-1] == '.'))
        return FIXED_ESYNTAX;
    if (!read_exponent(&p, end, &exp) || p != end)
        return FIXED_ESYNTAX;

    d->digits = m;
    d->exp10 = int_dropped - frac_kept + exp;
    if (last_nz_frac > 0) {
        d->too_big = true;
        d->last_pos = exp - last_nz_frac;
    } else if (last_nz_int >= 0) {
        d->too_big = true;
        d->last_pos = exp + int_dropped - last_nz_int;
    }
    return FIXED_OK;
}

/* Scale a read decimal to an int64 mantissa at `scale`. */
static int decimal_to_fixed(const fixed_decimal *d, int scale, int64_t *out)
{
    uint64_t mag = d->digits;
    uint64_t limit = d->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int64_t k;

    if (d->too_big)
        return d->last_pos + scale < 0 ? FIXED_EPRECISION : FIXED_EOVERFLOW;
    if (mag == 0) {
        *out = 0;
        return FIXED_OK;
    }
    k = d->exp10 + scale;
    if (k < 0) {
        /* More decimals than the scale: only zeros may go. mag < 10^19,
         * so a shift of 19 or more would lose a digit. */
        if (k < -(FIXED_SAFE_DIGITS - 1) || mag % pow10_u64[-k] != 0)
            return FIXED_EPRECISION;
        mag /= pow10_u64[-k];
    } else if (k > 0) {
        if (k > FIXED_SAFE_DIGITS || __builtin_mul_overflow(mag, pow10_u64[k], &mag))
            return FIXED_EOVERFLOW;
    }
    if (mag > limit)
        return FIXED_EOVERFLOW;
    /* -mag in unsigned arithmetic is exact for INT64_MIN too. */
    *out = d->neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return FIXED_OK;
}

/* ---- The plain decimals exchanges send ---- */

/* parse_plain's answer for a string it leaves to the general reader. */
#define FIXED_NOT_PLAIN 1
/* Digits parse_plain keeps: any 18 fit an int64 (10^18 - 1 < INT64_MAX). */
#define FIXED_PLAIN_DIGITS 18

/*
 * [-] digits [. digits] at `scale`, with at most FIXED_PLAIN_DIGITS digits
 * up to the scale and only zeros past it. The loops count nothing: lengths
 * come from the pointers afterwards (the mantissa may wrap on a long run
 * of digits, which is then refused before it is used).
 * @return FIXED_OK, FIXED_EOVERFLOW (what the general reader would say of
 * such a string too), or FIXED_NOT_PLAIN for everything else.
 */
static int parse_plain(const char *s, size_t len, int scale, int64_t *out)
{
    const char *p = s, *end = s + len, *first, *stop;
    uint64_t m = 0, limit = (uint64_t)INT64_MAX;
    size_t digits, frac = 0;
    unsigned c;

    if (p < end && *p == '-') {
        limit++; /* INT64_MIN's magnitude */
        p++;
    }
    for (first = p; (c = digit_at(p, end)) <= 9; p++)
        m = m * 10 + c;
    digits = (size_t)(p - first);
    if (p < end && *p == '.') {
        first = ++p;
        stop = end - p > scale ? p + scale : end;
        for (; p < stop && (c = (unsigned)(unsigned char)*p - '0') <= 9; p++)
            m = m * 10 + c;
        frac = (size_t)(p - first);
        while (p < end && *p == '0')
            p++;
    }
    /* A byte left (a sign, an exponent, a non-zero digit past the scale),
     * no digit kept (".", "", ".000" at 0) or too many: not plain. */
    if (p != end || digits + frac == 0 || digits + frac > FIXED_PLAIN_DIGITS)
        return FIXED_NOT_PLAIN;
    if (__builtin_mul_overflow(m, pow10_u64[scale - (int)frac], &m) || m > limit)
        return FIXED_EOVERFLOW;
    /* -m in unsigned arithmetic is exact for INT64_MIN too. */
    *out = limit > (uint64_t)INT64_MAX ? (int64_t)(0 - m) : (int64_t)m;
    return FIXED_OK;
}

/* The general reader, for whatever parse_plain leaves: out of line and
 * marked cold, so the plain path stays short and together (40-60 ns
 * less on a 20-level depth diff, bench/json_delta). */
__attribute__((noinline, cold)) static int parse_general(const char *s, size_t len, int scale,
                                                         int64_t *out)
{
    fixed_decimal d;
    int rc = decimal_read(s, len, &d);

    return rc != FIXED_OK ? rc : decimal_to_fixed(&d, scale, out);
}

int fixed_parse(const char *s, size_t len, int scale, int64_t *out)
{
    int rc;

    if (scale < 0 || scale > FIXED_MAX_SCALE)
        return FIXED_ESCALE;
    rc = parse_plain(s, len, scale, out);
    return rc != FIXED_NOT_PLAIN ? rc : parse_general(s, len, scale, out);
}

int fixed_decimals(const char *s, size_t len)
{
    fixed_decimal d;
    int64_t last_pos, scale, ignored;
    uint64_t m;
    int rc;

    rc = decimal_read(s, len, &d);
    if (rc != FIXED_OK)
        return rc;
    if (!d.too_big && d.digits == 0)
        return 0;
    last_pos = d.last_pos;
    if (!d.too_big) {
        for (last_pos = d.exp10, m = d.digits; m % 10 == 0; m /= 10)
            last_pos++;
    }
    scale = last_pos < 0 ? -last_pos : 0;
    if (scale > FIXED_MAX_SCALE)
        return FIXED_EPRECISION;
    rc = decimal_to_fixed(&d, (int)scale, &ignored);
    return rc != FIXED_OK ? rc : (int)scale;
}

/* ---- Formatting ---- */

/* Write v at scale, with all `scale` decimals or (trim) without trailing
 * zeros. Digits are produced right to left into a scratch buffer first, so
 * the length is known before anything touches buf. */
static int format_fixed(int64_t v, int scale, bool trim, char *buf, size_t cap)
{
    char tmp[FIXED_STR_MAX];
    char *p = tmp + sizeof(tmp);
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int ndigits = 0, frac = scale;
    size_t n;

    if (scale < 0 || scale > FIXED_MAX_SCALE)
        return -1;
    if (trim) {
        while (frac > 0 && mag % 10 == 0 && mag != 0) {
            mag /= 10;
            frac--;
        }
        if (mag == 0)
            frac = 0;
    }
    /* At least one digit before the point: "0.50", never ".50". */
    do {
        if (ndigits == frac && frac > 0)
            *--p = '.';
        *--p = (char)('0' + mag % 10);
        mag /= 10;
        ndigits++;
    } while (mag != 0 || ndigits <= frac);
    if (v < 0)
        *--p = '-';

    n = (size_t)(tmp + sizeof(tmp) - p);
    if (n + 1 > cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        buf[i] = p[i];
    buf[n] = '\0';
    return (int)n;
}

int fixed_format(int64_t v, int scale, char *buf, size_t cap)
{
    return format_fixed(v, scale, false, buf, cap);
}

int fixed_format_trim(int64_t v, int scale, char *buf, size_t cap)
{
    return format_fixed(v, scale, true, buf, cap);
}

/* ---- Arithmetic ---- */

int fixed_rescale(int64_t v, int from_scale, int to_scale, int64_t *out)
{
    int64_t p;

    if (from_scale < 0 || from_scale > FIXED_MAX_SCALE || to_scale < 0 ||
        to_scale > FIXED_MAX_SCALE)
        return FIXED_ESCALE;
    if (to_scale < from_scale) {
        p = (int64_t)pow10_u64[from_scale - to_scale];
        if (v % p != 0)
            return FIXED_EPRECISION;
        *out = v / p;
        return FIXED_OK;
    }
    p = (int64_t)pow10_u64[to_scale - from_scale];
    if (v > INT64_MAX / p || v < INT64_MIN / p)
        return FIXED_EOVERFLOW;
    *out = v * p;
    return FIXED_OK;
}

int64_t fixed_pow10(int n)
{
    if (n < 0 || n > 18)
        return 0;
    return (int64_t)pow10_u64[n];
}

double fixed_to_double(int64_t v, int scale)
{
    if (scale < 0 || scale > FIXED_MAX_SCALE)
        return 0.0;
    return (double)v / (double)pow10_u64[scale];
}

const char *fixed_strerror(int rc)
{
    switch (rc) {
    case FIXED_OK: return "success";
    case FIXED_ESYNTAX: return "not a decimal number";
    case FIXED_EPRECISION: return "more decimals than the scale holds";
    case FIXED_EOVERFLOW: return "out of range for a 64-bit fixed-point value";
    case FIXED_ESCALE: return "scale outside 0..18";
    default: return "unknown fixed-point error";
    }
}
