/*
 * money.c -- amounts of an asset at MONEY_SCALE decimals (core/money.h).
 *
 * Every product or quotient is formed in 128 bits and rounded once, half
 * away from zero (2.5 -> 3, -2.5 -> -3), then saturated to int64: an amount
 * beyond about +-92 billion units is clamped, never wrapped.
 *
 * Fees in basis points: a rate with at most 4 decimals (7.5, 0.1234) is
 * applied exactly, as the integer bps x 10^4 times the amount divided by
 * 10^8. A rate with more decimals is applied in 64-bit-mantissa long double
 * arithmetic and rounded the same way (exact to well under a money unit).
 */
#include "money.h"

#include <math.h>

#include "fixed.h"

typedef __int128 i128;

/* bps x BPS_EXACT_SCALE is an integer for rates with up to 4 decimals. */
#define BPS_EXACT_SCALE 10000.0
#define BPS_EXACT_DIVISOR INT64_C(100000000) /* 10^4 bps per unit x 10^4 */

static int64_t saturate(i128 v)
{
    if (v > (i128)INT64_MAX)
        return INT64_MAX;
    if (v < (i128)INT64_MIN)
        return INT64_MIN;
    return (int64_t)v;
}

static int64_t saturate_ld(long double v)
{
    /* 2^63 is exact in a long double; anything at or past it does not fit. */
    if (v >= 9223372036854775808.0L)
        return INT64_MAX;
    if (v <= -9223372036854775808.0L)
        return INT64_MIN;
    return (int64_t)v;
}

/* 10^n for 0 <= n <= 38. */
static i128 pow10_128(int n)
{
    i128 p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

/* n / d rounded half away from zero; d != 0 and |d| < 2^126. */
static i128 div_round(i128 n, i128 d)
{
    i128 q = n / d, r = n % d;
    i128 ar = r < 0 ? -r : r, ad = d < 0 ? -d : d;

    if (2 * ar >= ad)
        q += (n < 0) == (d < 0) ? 1 : -1;
    return q;
}

/* v, an amount at `scale` decimals (0..36), in money units. */
static int64_t to_money(i128 v, int scale)
{
    if (scale > MONEY_SCALE)
        return saturate(div_round(v, pow10_128(scale - MONEY_SCALE)));
    /* Past int64 already: scaling up can only go further, and might
     * overflow 128 bits. */
    if (v > (i128)INT64_MAX || v < (i128)INT64_MIN)
        return v > 0 ? INT64_MAX : INT64_MIN;
    return saturate(v * pow10_128(MONEY_SCALE - scale));
}

static int scale_valid(int scale)
{
    return scale >= 0 && scale <= FIXED_MAX_SCALE;
}

/* A scale outside 0..FIXED_MAX_SCALE has no meaning: 0. */
int64_t money_from_fixed(int64_t v, int scale)
{
    if (!scale_valid(scale))
        return 0;
    return to_money(v, scale);
}

int64_t money_notional(int64_t price, int price_scale, int64_t qty, int size_scale)
{
    if (!scale_valid(price_scale) || !scale_valid(size_scale))
        return 0;
    return to_money((i128)price * qty, price_scale + size_scale);
}

int64_t money_bps(int64_t amount, double bps)
{
    double units = bps * BPS_EXACT_SCALE, whole;

    if (isnan(units) || amount == 0)
        return 0;
    if (isinf(units))
        return (units > 0) == (amount > 0) ? INT64_MAX : INT64_MIN;
    whole = round(units);
    /* Up to 4 decimals: units is an integer but for the representation
     * error of bps itself, far below this tolerance. */
    if (fabs(whole) < 9.0e18 && fabs(units - whole) <= 1e-9 * fmax(1.0, fabs(units)))
        return saturate(div_round((i128)amount * (int64_t)whole, BPS_EXACT_DIVISOR));
    return saturate_ld(roundl((long double)amount * (long double)bps / 10000.0L));
}

/* den == 0 has no quotient: 0 rather than a fault. */
int64_t money_muldiv(int64_t a, int64_t num, int64_t den)
{
    if (den == 0)
        return 0;
    return saturate(div_round((i128)a * num, den));
}

double money_to_double(int64_t m)
{
    /* Below 2^53 one correctly rounded division gives the double nearest
     * the decimal; above, whole units and the fraction apart keep the cents. */
    if (m > -(INT64_C(1) << 53) && m < (INT64_C(1) << 53))
        return (double)m / (double)MONEY_ONE;
    return (double)(m / MONEY_ONE) + (double)(m % MONEY_ONE) / (double)MONEY_ONE;
}

/* NaN is 0; beyond int64 saturates. */
int64_t money_from_double(double d)
{
    if (isnan(d))
        return 0;
    return saturate_ld(roundl((long double)d * (long double)MONEY_ONE));
}
