/*
 * money.c -- amounts at MONEY_SCALE: rounding, saturation, fees (core/money.h).
 */
#include <stdint.h>

#include "money.h"
#include "tap.h"

static void test_from_fixed(void)
{
    is_int(money_from_fixed(123, 2), INT64_C(123000000), "1.23 at scale 2 is 123000000 units");
    is_int(money_from_fixed(-5, 0), -5 * MONEY_ONE, "-5 at scale 0");
    is_int(money_from_fixed(7, 8), 7, "scale 8 is money scale: unchanged");
    /* Scale 10: two decimals past a money unit. */
    is_int(money_from_fixed(149, 10), 1, "1.49 units rounds down");
    is_int(money_from_fixed(150, 10), 2, "1.50 units rounds half up (away from zero)");
    is_int(money_from_fixed(250, 10), 3, "2.50 units rounds half away from zero to 3");
    is_int(money_from_fixed(-150, 10), -2, "-1.50 units rounds half away from zero to -2");
    is_int(money_from_fixed(-149, 10), -1, "-1.49 units rounds to -1");
    is_int(money_from_fixed(-250, 10), -3, "-2.50 units rounds to -3");
    is_int(money_from_fixed(INT64_MAX, 0), INT64_MAX, "INT64_MAX whole units saturates");
    is_int(money_from_fixed(INT64_MIN, 0), INT64_MIN, "INT64_MIN whole units saturates");
    is_int(money_from_fixed(INT64_MAX, 18), 922337204, "INT64_MAX at scale 18");
}

static void test_notional(void)
{
    /* BTCUSDT 61837.63 (scale 2) x 0.00123 (scale 5) = 76.0602849 USDT. */
    is_int(money_notional(6183763, 2, 123, 5), INT64_C(7606028490),
           "61837.63 x 0.00123 = 76.0602849 USDT");
    is_int(money_notional(-6183763, 2, 123, 5), -INT64_C(7606028490), "negative price mirrors");
    /* 0.00000001 x 0.5 = 0.000000005: half a unit rounds away from zero. */
    is_int(money_notional(1, 8, 5, 1), 1, "half a unit rounds up");
    is_int(money_notional(-1, 8, 5, 1), -1, "minus half a unit rounds down");
    is_int(money_notional(1, 8, 4, 1), 0, "0.4 unit rounds to 0");
    /* Scales 18 + 18: 1.0 x 0.000000015 = 1.5 units, divided by 10^28. */
    is_int(money_notional(INT64_C(1000000000000000000), 18, INT64_C(15000000000), 18), 2,
           "scales 18 + 18: 1.0 x 0.000000015 = 1.5 units -> 2");
    is_int(money_notional(INT64_MAX, 0, INT64_MAX, 0), INT64_MAX, "huge product saturates high");
    is_int(money_notional(INT64_MIN, 0, INT64_MAX, 0), INT64_MIN, "huge product saturates low");
    is_int(money_notional(INT64_MAX, 18, 2, 0), 1844674407, "128-bit product, no overflow");
}

static void test_bps(void)
{
    is_int(money_bps(100 * MONEY_ONE, 10), 10000000, "10 bps of 100 = 0.1");
    is_int(money_bps(INT64_C(600000000000), 7.5), 450000000, "7.5 bps of 6000 = 4.5");
    is_int(money_bps(INT64_C(123456789), 0.1234), 1523, "0.1234 bps exact: 1523.4568 -> 1523");
    is_int(money_bps(5000, 1), 1, "0.5 unit of fee rounds up");
    is_int(money_bps(-5000, 1), -1, "-0.5 unit rounds away from zero");
    is_int(money_bps(4999, 1), 0, "0.4999 unit rounds down");
    is_int(money_bps(INT64_C(1000000000000), 0.123456), 12345600,
           "0.123456 bps (6 decimals) through long double: 12345600");
    is_int(money_bps(MONEY_ONE, -2), -20000, "-2 bps (a rebate) of 1 is -0.0002");
    is_int(money_bps(INT64_MAX, 20000), INT64_MAX, "200 percent of INT64_MAX saturates");
    is_int(money_bps(MONEY_ONE, 0.0 / 0.0), 0, "NaN bps is 0");
}

static void test_muldiv(void)
{
    is_int(money_muldiv(5, 1, 2), 3, "5/2 = 2.5 -> 3");
    is_int(money_muldiv(-5, 1, 2), -3, "-5/2 = -2.5 -> -3");
    is_int(money_muldiv(5, 1, -2), -3, "5/-2 = -2.5 -> -3");
    is_int(money_muldiv(-5, -1, 2), 3, "(-5 x -1)/2 = 2.5 -> 3");
    is_int(money_muldiv(7, 1, 3), 2, "7/3 = 2.33 -> 2");
    is_int(money_muldiv(8, 1, 3), 3, "8/3 = 2.67 -> 3");
    is_int(money_muldiv(-8, 1, 3), -3, "-8/3 = -2.67 -> -3");
    is_int(money_muldiv(INT64_MAX, INT64_MAX, INT64_MAX), INT64_MAX,
           "intermediate past 64 bits is exact");
    is_int(money_muldiv(INT64_MAX, 2, 1), INT64_MAX, "saturates high");
    is_int(money_muldiv(INT64_MAX, -2, 1), INT64_MIN, "saturates low");
    is_int(money_muldiv(5, 1, 0), 0, "den 0 is 0, not a fault");
}

static void test_doubles(void)
{
    ok(money_to_double(150000000) == 1.5, "1.5 units to double");
    ok(money_to_double(-123456789) == -1.23456789, "-1.23456789 to double");
    ok(money_to_double(INT64_MAX) == 92233720368.54775807, "INT64_MAX units to double");
    is_int(money_from_double(0.1), 10000000, "0.1 from double");
    is_int(money_from_double(61837.63), INT64_C(6183763000000), "61837.63 from double");
    is_int(money_from_double(-2.5), -250000000, "-2.5 from double");
    is_int(money_from_double(1e300), INT64_MAX, "1e300 saturates");
    is_int(money_from_double(-1e300), INT64_MIN, "-1e300 saturates");
}

int main(void)
{
    plan(50);
    test_from_fixed();
    test_notional();
    test_bps();
    test_muldiv();
    test_doubles();
    return done();
}
