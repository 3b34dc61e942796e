/*
 * fixed.c -- decimal string <-> int64 fixed point (core/fixed.h).
 */
#include <stdint.h>
#include <string.h>

#include "fixed.h"
#include "rng.h"
#include "tap.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* Written on entry so a refusal that touched *out is caught. */
#define UNTOUCHED INT64_C(0x5a5a5a5a5a5a5a5a)

struct parse_case {
    const char *s;
    int scale;
    int rc;
    int64_t want; /* when rc == FIXED_OK */
};

static const struct parse_case parse_cases[] = {
    /* accepted */
    {"61837.63000000", 8, FIXED_OK, INT64_C(6183763000000)},
    {"61837.63000000", 2, FIXED_OK, INT64_C(6183763)},
    {"0.00000000", 8, FIXED_OK, 0},
    {"-0.5", 2, FIXED_OK, -50},
    {"+3", 0, FIXED_OK, 3},
    {"1e-05", 8, FIXED_OK, 1000},
    {"1e-05", 5, FIXED_OK, 1},
    {"1.5E+3", 0, FIXED_OK, 1500},
    {"1E5", 2, FIXED_OK, INT64_C(10000000)},
    {"-1e-2", 2, FIXED_OK, -1},
    {".5", 1, FIXED_OK, 5},
    {"5.", 0, FIXED_OK, 5},
    {"-0", 2, FIXED_OK, 0},
    {"0001.2300", 2, FIXED_OK, 123},
    {"100", 0, FIXED_OK, 100},
    {"10.5", 3, FIXED_OK, 10500},
    {"1.50000000", 2, FIXED_OK, 150},
    {"1.000000000000000000000000000000", 0, FIXED_OK, 1},
    {"0.000000000000000001", 18, FIXED_OK, 1},
    {"12345678901234567890e-10", 9, FIXED_OK, INT64_C(1234567890123456789)},
    {"1e18", 0, FIXED_OK, INT64_C(1000000000000000000)},
    {"9223372036854775807", 0, FIXED_OK, INT64_MAX},
    {"-9223372036854775808", 0, FIXED_OK, INT64_MIN},
    {"-92233720368.54775808", 8, FIXED_OK, INT64_MIN},
    {"92233720368.54775807", 8, FIXED_OK, INT64_MAX},
    {"0e999999999", 0, FIXED_OK, 0},
    {"0.0e-999999999", 18, FIXED_OK, 0},
    /* not a number */
    {"", 2, FIXED_ESYNTAX, 0},
    {"-", 2, FIXED_ESYNTAX, 0},
    {"+", 2, FIXED_ESYNTAX, 0},
    {".", 2, FIXED_ESYNTAX, 0},
    {"1..2", 2, FIXED_ESYNTAX, 0},
    {"1.2.3", 2, FIXED_ESYNTAX, 0},
    {"1e", 2, FIXED_ESYNTAX, 0},
    {"1e+", 2, FIXED_ESYNTAX, 0},
    {"e5", 2, FIXED_ESYNTAX, 0},
    {".e5", 2, FIXED_ESYNTAX, 0},
    {"1e5.0", 2, FIXED_ESYNTAX, 0},
    {"--1", 2, FIXED_ESYNTAX, 0},
    {"1,5", 2, FIXED_ESYNTAX, 0},
    {"abc", 2, FIXED_ESYNTAX, 0},
    {" 1", 2, FIXED_ESYNTAX, 0},
    {"1 ", 2, FIXED_ESYNTAX, 0},
    {"0x10", 2, FIXED_ESYNTAX, 0},
    {"nan", 2, FIXED_ESYNTAX, 0},
    {"inf", 2, FIXED_ESYNTAX, 0},
    {"-inf", 2, FIXED_ESYNTAX, 0},
    /* a non-zero digit beyond the scale */
    {"1.501", 2, FIXED_EPRECISION, 0},
    {"0.1", 0, FIXED_EPRECISION, 0},
    {"1e-05", 4, FIXED_EPRECISION, 0},
    {"0.0000000000000000001", 18, FIXED_EPRECISION, 0},
    {"1e-999999999", 18, FIXED_EPRECISION, 0},
    {"1234567890123456789012345e-30", 2, FIXED_EPRECISION, 0},
    /* beyond int64 */
    {"9223372036854775808", 0, FIXED_EOVERFLOW, 0},
    {"-9223372036854775809", 0, FIXED_EOVERFLOW, 0},
    {"92233720368.54775808", 8, FIXED_EOVERFLOW, 0},
    {"1e19", 0, FIXED_EOVERFLOW, 0},
    {"100000000000000000000", 0, FIXED_EOVERFLOW, 0},
    {"12345678901234567890123", 0, FIXED_EOVERFLOW, 0},
    {"1e999999999", 0, FIXED_EOVERFLOW, 0},
    {"1e99999999999999999999999999", 0, FIXED_EOVERFLOW, 0},
    {"10", 18, FIXED_EOVERFLOW, 0},
    /* bad scale */
    {"1", -1, FIXED_ESCALE, 0},
    {"1", 19, FIXED_ESCALE, 0},
    /* the edges of the plain-decimal fast path (at most 18 digits kept, only
     * zeros past the scale; anything else goes to the general reader) */
    {"999999999999999999", 0, FIXED_OK, INT64_C(999999999999999999)},
    {"9999999999999999999", 0, FIXED_EOVERFLOW, 0},
    {"1234567890.123456789", 9, FIXED_OK, INT64_C(1234567890123456789)},
    {"123456789.123456789000", 9, FIXED_OK, INT64_C(123456789123456789)},
    {"00000000000000000001", 0, FIXED_OK, 1},
    {"10000000000000000", 2, FIXED_OK, INT64_C(1000000000000000000)},
    {"10000000000000000", 3, FIXED_EOVERFLOW, 0},
    {"-10000000000000000", 3, FIXED_EOVERFLOW, 0},
    {"100000000000000000", 2, FIXED_EOVERFLOW, 0},
    {"-922337203685477580", 1, FIXED_OK, INT64_C(-9223372036854775800)},
    {"61837.630000000000000000000000", 2, FIXED_OK, INT64_C(6183763)},
    {"61837.6300000001", 2, FIXED_EPRECISION, 0},
    {"61837.63000000x", 2, FIXED_ESYNTAX, 0},
    {"61837.63000000", 0, FIXED_EPRECISION, 0},
    {"1.0", 0, FIXED_OK, 1},
    {"-0.00", 2, FIXED_OK, 0},
    {"-.5", 1, FIXED_OK, -5},
    {".000", 0, FIXED_OK, 0},
    {"-.", 0, FIXED_ESYNTAX, 0},
    {"1.5e0", 1, FIXED_OK, 15},
};

struct decimals_case {
    const char *s;
    int want; /* scale, or an error */
};

static const struct decimals_case decimals_cases[] = {
    {"61837.63000000", 2},
    {"1e-05", 5},
    {"100", 0},
    {"0.00000000", 0},
    {"1.5E+3", 0},
    {"-0.5", 1},
    {"0.01", 2},
    {"0.000000000000000001", 18},
    {"1e-19", FIXED_EPRECISION},
    {"1e999", FIXED_EOVERFLOW},
    {"abc", FIXED_ESYNTAX},
};

struct format_case {
    int64_t v;
    int scale;
    const char *full;
    const char *trim;
};

static const struct format_case format_cases[] = {
    {0, 2, "0.00", "0"},
    {0, 0, "0", "0"},
    {-50, 2, "-0.50", "-0.5"},
    {5, 2, "0.05", "0.05"},
    {100, 2, "1.00", "1"},
    {1500, 0, "1500", "1500"},
    {-1, 18, "-0.000000000000000001", "-0.000000000000000001"},
    {INT64_C(6183763000000), 8, "61837.63000000", "61837.63"},
    {INT64_MIN, 0, "-9223372036854775808", "-9223372036854775808"},
    {INT64_MIN, 18, "-9.223372036854775808", "-9.223372036854775808"},
    {INT64_MAX, 8, "92233720368.54775807", "92233720368.54775807"},
    {INT64_MIN, 10, "-922337203.6854775808", "-922337203.6854775808"},
    {INT64_C(-1000000000000000000), 18, "-1.000000000000000000", "-1"},
};

struct rescale_case {
    int64_t v;
    int from, to;
    int rc;
    int64_t want;
};

static const struct rescale_case rescale_cases[] = {
    {150, 2, 8, FIXED_OK, INT64_C(150000000)},
    {INT64_C(150000000), 8, 2, FIXED_OK, 150},
    {-150, 2, 2, FIXED_OK, -150},
    {INT64_C(-150000000), 8, 2, FIXED_OK, -150},
    {INT64_C(150000001), 8, 2, FIXED_EPRECISION, 0},
    {-5, 0, 18, FIXED_OK, INT64_C(-5000000000000000000)},
    {-10, 0, 18, FIXED_EOVERFLOW, 0},
    {INT64_MAX, 0, 1, FIXED_EOVERFLOW, 0},
    {INT64_MIN, 0, 1, FIXED_EOVERFLOW, 0},
    {INT64_MIN, 18, 0, FIXED_EPRECISION, 0},
    {1, 0, 19, FIXED_ESCALE, 0},
    {1, -1, 0, FIXED_ESCALE, 0},
};

static void test_parse(void)
{
    for (size_t i = 0; i < COUNT(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        int64_t got = UNTOUCHED;
        int rc = fixed_parse(c->s, strlen(c->s), c->scale, &got);
        int64_t want = c->rc == FIXED_OK ? c->want : UNTOUCHED;
        ok(rc == c->rc && got == want, "parse '%s' at %d: rc %d (%s) value %" PRId64, c->s,
           c->scale, c->rc, fixed_strerror(c->rc), want);
        if (rc != c->rc || got != want)
            diag("got rc %d value %" PRId64, rc, got);
    }
}

/* The length bounds the parse: bytes after it are not read. */
static void test_parse_length(void)
{
    int64_t got = 0;

    is_int(fixed_parse("12.5xyz", 4, 1, &got), FIXED_OK, "parse reads only len bytes");
    is_int(got, 125, "parse of '12.5' out of '12.5xyz'");
    is_int(fixed_parse("1\0" "5", 3, 0, &got), FIXED_ESYNTAX, "an embedded NUL is refused");
}

static void test_decimals(void)
{
    for (size_t i = 0; i < COUNT(decimals_cases); i++) {
        const struct decimals_case *c = &decimals_cases[i];
        is_int(fixed_decimals(c->s, strlen(c->s)), c->want, "decimals of '%s'", c->s);
    }
}

static void test_format(void)
{
    char buf[FIXED_STR_MAX];

    for (size_t i = 0; i < COUNT(format_cases); i++) {
        const struct format_case *c = &format_cases[i];
        int n = fixed_format(c->v, c->scale, buf, sizeof(buf));
        is_str(buf, c->full, "format %" PRId64 " at %d", c->v, c->scale);
        is_int(n, strlen(c->full), "format %" PRId64 " at %d: length", c->v, c->scale);
        n = fixed_format_trim(c->v, c->scale, buf, sizeof(buf));
        is_str(buf, c->trim, "format_trim %" PRId64 " at %d", c->v, c->scale);
        is_int(n, strlen(c->trim), "format_trim %" PRId64 " at %d: length", c->v, c->scale);
    }
    is_int(fixed_format(123, 2, buf, 4), -1, "format refuses a buffer one byte short");
    is_int(fixed_format(123, 2, buf, 5), 4, "format fits exactly with the NUL");
    is_int(fixed_format_trim(150, 2, buf, 4), 3, "format_trim needs room for the trimmed text only");
    is_int(fixed_format(1, 19, buf, sizeof(buf)), -1, "format refuses scale 19");
    is_int(fixed_format_trim(1, -1, buf, sizeof(buf)), -1, "format_trim refuses scale -1");
}

static void test_rescale(void)
{
    for (size_t i = 0; i < COUNT(rescale_cases); i++) {
        const struct rescale_case *c = &rescale_cases[i];
        int64_t got = UNTOUCHED;
        int rc = fixed_rescale(c->v, c->from, c->to, &got);
        int64_t want = c->rc == FIXED_OK ? c->want : UNTOUCHED;
        ok(rc == c->rc && got == want, "rescale %" PRId64 " from %d to %d: rc %d", c->v, c->from,
           c->to, c->rc);
        if (rc != c->rc || got != want)
            diag("got rc %d value %" PRId64, rc, got);
    }
}

static void test_misc(void)
{
    int64_t p = 1;
    int pow_ok = 1;

    for (int n = 0; n <= 18; n++) {
        pow_ok &= fixed_pow10(n) == p;
        if (n < 18)
            p *= 10;
    }
    ok(pow_ok, "fixed_pow10(0..18) are the powers of ten");
    ok(fixed_to_double(-50, 2) == -0.5, "fixed_to_double(-50, 2) is -0.5");
    ok(fixed_to_double(6183763, 2) == 61837.63, "fixed_to_double(6183763, 2) is 61837.63");

    const int codes[] = {FIXED_ESYNTAX, FIXED_EPRECISION, FIXED_EOVERFLOW, FIXED_ESCALE};
    int distinct = 1;
    for (size_t i = 0; i < COUNT(codes); i++)
        for (size_t j = i + 1; j < COUNT(codes); j++)
            distinct &= strcmp(fixed_strerror(codes[i]), fixed_strerror(codes[j])) != 0;
    ok(distinct, "each error code has its own description");
}

/* ---- Property: the fast path agrees with the general reader ---- */

/* A random plain decimal: an optional '-', 0..20 digits, then maybe a
 * point and 0..22 digits, zeros likelier so that runs of trailing zeros
 * past the scale occur. @return its length. */
static size_t random_plain(rng *r, char *buf)
{
    size_t n = 0;
    uint64_t shape = rng_next(r);
    int int_digits = (int)(shape % 21), frac_digits = (int)((shape >> 8) % 23);

    if (shape & (1u << 16))
        buf[n++] = '-';
    for (int i = 0; i < int_digits; i++)
        buf[n++] = (char)('0' + (rng_next(r) % 3 == 0 ? 0 : rng_next(r) % 10));
    if (shape & (1u << 17)) {
        buf[n++] = '.';
        for (int i = 0; i < frac_digits; i++)
            buf[n++] = (char)('0' + (rng_next(r) % 2 == 0 ? 0 : rng_next(r) % 10));
    }
    return n;
}

/* "<s>e0" is the same number, but its exponent sends it to the general
 * reader: both must give the same code and, when it is OK, the same value. */
static void test_fast_path(void)
{
    rng r;
    int differ = 0, fast_ok = 0;
    char s[64];

    rng_seed(&r, UINT64_C(0x5851f42d4c957f2d), 0);
    for (int i = 0; i < 200000; i++) {
        size_t n = random_plain(&r, s);
        int scale = (int)(rng_next(&r) % (FIXED_MAX_SCALE + 1));
        int64_t plain = UNTOUCHED, general = UNTOUCHED;

        memcpy(s + n, "e0", 3);
        int rc_plain = fixed_parse(s, n, scale, &plain);
        int rc_general = fixed_parse(s, n + 2, scale, &general);
        fast_ok += rc_plain == FIXED_OK;
        if (rc_plain != rc_general || plain != general) {
            if (!differ++)
                diag("'%.*s' at %d: rc %d value %" PRId64 ", as '%s': rc %d value %" PRId64,
                     (int)n, s, scale, rc_plain, plain, s, rc_general, general);
        }
    }
    is_int(differ, 0, "200000 random plain decimals: the same result as with 'e0' appended");
    ok(fast_ok > 50000, "and many of them parse (%d)", fast_ok);
}

/* ---- Property: format and parse are inverses ---- */

static void test_round_trip(void)
{
    rng rng;
    int bad_full = 0, bad_trim = 0, bad_decimals = 0;
    char full[FIXED_STR_MAX], trim[FIXED_STR_MAX];

    rng_seed(&rng, UINT64_C(0x9e3779b97f4a7c15), 0);

    for (int i = 0; i < 200000; i++) {
        /* Shift by a random amount so small and large magnitudes both occur. */
        uint64_t r = rng_next(&rng);
        int64_t v = (int64_t)(rng_next(&rng) >> (r % 64));
        int scale = (int)((r >> 8) % (FIXED_MAX_SCALE + 1));
        int64_t back_full = 0, back_trim = 0;
        if ((r & (1u << 16)) && v > 0)
            v = -v;
        int nf = fixed_format(v, scale, full, sizeof(full));
        int nt = fixed_format_trim(v, scale, trim, sizeof(trim));
        if (nf < 0 || fixed_parse(full, (size_t)nf, scale, &back_full) != FIXED_OK ||
            back_full != v) {
            if (!bad_full++)
                diag("format then parse: %" PRId64 " at %d -> '%s'", v, scale, full);
        }
        if (nt < 0 || fixed_parse(trim, (size_t)nt, scale, &back_trim) != FIXED_OK ||
            back_trim != v) {
            if (!bad_trim++)
                diag("format_trim then parse: %" PRId64 " at %d -> '%s'", v, scale, trim);
        }
        if (nt < 0 || fixed_decimals(trim, (size_t)nt) > scale ||
            fixed_decimals(trim, (size_t)nt) < 0) {
            if (!bad_decimals++)
                diag("decimals('%s') = %d > %d", trim, fixed_decimals(trim, (size_t)nt), scale);
        }
    }
    is_int(bad_full, 0, "200000 random values: format then parse gives the value");
    is_int(bad_trim, 0, "200000 random values: format_trim then parse gives the value");
    is_int(bad_decimals, 0, "200000 random values: decimals(format_trim) <= scale");
}

int main(void)
{
    plan((int)(COUNT(parse_cases) + 3 + COUNT(decimals_cases) + 4 * COUNT(format_cases) + 5 +
               COUNT(rescale_cases) + 4 + 3 + 2));
    test_parse();
    test_parse_length();
    test_decimals();
    test_format();
    test_rescale();
    test_misc();
    test_round_trip();
    test_fast_path();
    return done();
}
