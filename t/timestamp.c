/*
 * timestamp.c -- ISO-8601 UTC <-> int64 nanoseconds (core/timestamp.h).
 */
#include <stdint.h>
#include <string.h>

#include "rng.h"
#include "tap.h"
#include "timestamp.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SEC(s) ((int64_t)(s) * TS_NS_PER_SEC)

struct iso_case {
    const char *s;
    int rc;
    int64_t want; /* when rc == 0 */
};

static const struct iso_case iso_cases[] = {
    {"2024-08-08T23:54:13.937085768Z", 0, INT64_C(1723161253937085768)},
    {"2024-08-08 23:54:13.937085768", 0, INT64_C(1723161253937085768)},
    {"2024-08-09T01:54:13.937085768+02:00", 0, INT64_C(1723161253937085768)},
    {"2024-08-08T20:54:13.937085768-0300", 0, INT64_C(1723161253937085768)},
    {"2024-08-08T23:54:13.937085768+00:00", 0, INT64_C(1723161253937085768)},
    {"2024-08-09T05:24:13.937085768+05:30", 0, INT64_C(1723161253937085768)},
    {"2024-08-08T23:54:13.9Z", 0, INT64_C(1723161253900000000)},
    {"2024-08-08T23:54:13.937Z", 0, INT64_C(1723161253937000000)},
    {"2024-08-08T23:54:13", 0, SEC(1723161253)},
    {"2024-08-08T23:54", 0, SEC(1723161240)},
    {"2024-08-08T23:54Z", 0, SEC(1723161240)},
    {"2024-08-08", 0, SEC(1723075200)},
    {"1970-01-01", 0, 0},
    {"1970-01-01T00:00:00Z", 0, 0},
    {"1969-12-31T23:59:59.999999999Z", 0, -1},
    {"1969-12-31T23:59:59.5Z", 0, -500000000},
    {"1970-01-01T01:00:00.5+01:00", 0, 500000000},
    {"1970-01-01T00:59:59.5+01:00", 0, -500000000},
    {"2000-01-01T00:00:00Z", 0, SEC(946684800)},
    {"2262-04-11T23:47:16.854775807Z", 0, INT64_MAX},
    {"1677-09-21T00:12:43.145224192Z", 0, INT64_MIN},
    /* leap days */
    {"2000-02-29", 0, SEC(951782400)},
    {"2024-02-29", 0, SEC(1709164800)},
    {"1900-02-29", -1, 0},
    {"2023-02-29", -1, 0},
    {"2100-02-29", -1, 0},
    /* out of range */
    {"2262-04-11T23:47:16.854775808Z", -1, 0},
    {"1677-09-21T00:12:43.145224191Z", -1, 0},
    {"9999-12-31", -1, 0},
    {"2024-13-01", -1, 0},
    {"2024-00-10", -1, 0},
    {"2024-04-31", -1, 0},
    {"2024-01-00", -1, 0},
    {"2024-01-32", -1, 0},
    {"2024-08-08T24:00", -1, 0},
    {"2024-08-08T23:60", -1, 0},
    {"2024-08-08T23:59:60", -1, 0},
    {"2024-08-08T23:59:59+24:00", -1, 0},
    {"2024-08-08T23:59:59+02:60", -1, 0},
    /* malformed */
    {"", -1, 0},
    {"2024-8-8", -1, 0},
    {"24-08-08", -1, 0},
    {"2024/08/08", -1, 0},
    {"2024-08-08T", -1, 0},
    {"2024-08-08T23", -1, 0},
    {"2024-08-08T23:5", -1, 0},
    {"2024-08-08X23:54", -1, 0},
    {"2024-08-08Z", -1, 0},
    {"2024-08-08T23:59:59.", -1, 0},
    {"2024-08-08T23:59:59.1234567890", -1, 0},
    {"2024-08-08T23:59.5", -1, 0},
    {"2024-08-08T23:59:59Zjunk", -1, 0},
    {"2024-08-08T23:59:59 Z", -1, 0},
    {"2024-08-08T23:59:59+2", -1, 0},
    {"2024-08-08T23:59:59+02:0", -1, 0},
    {" 2024-08-08", -1, 0},
};

static const struct iso_case user_cases[] = {
    {"1723161253937085768", 0, INT64_C(1723161253937085768)},
    {"0", 0, 0},
    {"-1", 0, -1},
    {"9223372036854775807", 0, INT64_MAX},
    {"-9223372036854775808", 0, INT64_MIN},
    {"9223372036854775808", -1, 0},
    {"-9223372036854775809", -1, 0},
    {"99999999999999999999", -1, 0},
    {"2024-08-08T23:54:13.937085768Z", 0, INT64_C(1723161253937085768)},
    {"2024-08-08", 0, SEC(1723075200)},
    {"", -1, 0},
    {"-", -1, 0},
    {"12a", -1, 0},
    {"+5", -1, 0},
};

struct format_case {
    int64_t ns;
    const char *want;
};

static const struct format_case format_cases[] = {
    {INT64_C(1723161253937085768), "2024-08-08T23:54:13.937085768Z"},
    {INT64_C(1723161253937085000), "2024-08-08T23:54:13.937085Z"},
    {INT64_C(1723161253937000000), "2024-08-08T23:54:13.937Z"},
    {INT64_C(1723161253900000000), "2024-08-08T23:54:13.900Z"},
    {INT64_C(1723161253000000001), "2024-08-08T23:54:13.000000001Z"},
    {SEC(1723161253), "2024-08-08T23:54:13Z"},
    {0, "1970-01-01T00:00:00Z"},
    {-1, "1969-12-31T23:59:59.999999999Z"},
    {SEC(951782400), "2000-02-29T00:00:00Z"},
    {INT64_MAX, "2262-04-11T23:47:16.854775807Z"},
    {INT64_MIN, "1677-09-21T00:12:43.145224192Z"},
};

static void test_parse_iso(void)
{
    for (size_t i = 0; i < COUNT(iso_cases); i++) {
        const struct iso_case *c = &iso_cases[i];
        int64_t got = 12345;
        int rc = ts_parse_iso(c->s, strlen(c->s), &got);
        if (c->rc == 0) {
            ok(rc == 0 && got == c->want, "parse_iso '%s' = %" PRId64, c->s, c->want);
            if (rc != 0 || got != c->want)
                diag("got rc %d value %" PRId64, rc, got);
        } else {
            ok(rc == -1, "parse_iso refuses '%s'", c->s);
        }
    }
    int64_t got = 0;
    ok(ts_parse_iso("2024-08-08T23:54:13Zjunk", 20, &got) == 0 && got == SEC(1723161253),
       "parse_iso reads only len bytes");
}

static void test_parse_user(void)
{
    for (size_t i = 0; i < COUNT(user_cases); i++) {
        const struct iso_case *c = &user_cases[i];
        int64_t got = 12345;
        int rc = ts_parse_user(c->s, &got);
        if (c->rc == 0)
            ok(rc == 0 && got == c->want, "parse_user '%s' = %" PRId64, c->s, c->want);
        else
            ok(rc == -1, "parse_user refuses '%s'", c->s);
    }
}

static void test_format(void)
{
    char buf[TS_ISO_MAX];

    for (size_t i = 0; i < COUNT(format_cases); i++) {
        const struct format_case *c = &format_cases[i];
        int n = ts_format_iso(c->ns, buf, sizeof(buf));
        is_str(buf, c->want, "format %" PRId64, c->ns);
        is_int(n, strlen(c->want), "format %" PRId64 ": length", c->ns);
    }
    is_int(ts_format_iso(0, buf, TS_ISO_MAX - 1), -1, "format refuses cap < TS_ISO_MAX");
}

static void test_days_from_civil(void)
{
    is_int(ts_days_from_civil(1970, 1, 1), 0, "days_from_civil 1970-01-01");
    is_int(ts_days_from_civil(1969, 12, 31), -1, "days_from_civil 1969-12-31");
    is_int(ts_days_from_civil(2000, 3, 1), 11017, "days_from_civil 2000-03-01");
    is_int(ts_days_from_civil(2024, 8, 8), 19943, "days_from_civil 2024-08-08");
    is_int(ts_days_from_civil(0, 3, 1), -719468, "days_from_civil 0000-03-01");
}

/* Random instants over 1970..2100, some on whole seconds or milliseconds so
 * every fraction width is exercised. */
static void test_round_trip(void)
{
    const int64_t span = SEC(ts_days_from_civil(2100, 1, 1) * 86400);
    rng rng;
    char buf[TS_ISO_MAX];
    int bad = 0;

    rng_seed(&rng, UINT64_C(0x2545f4914f6cdd1d), 0);

    for (int i = 0; i < 100000; i++) {
        int64_t ns = (int64_t)(rng_next(&rng) % (uint64_t)span), back = -1;
        int n;
        switch (i % 4) {
        case 1: ns -= ns % TS_NS_PER_SEC; break;
        case 2: ns -= ns % TS_NS_PER_MS; break;
        case 3: ns -= ns % TS_NS_PER_US; break;
        default: break;
        }
        n = ts_format_iso(ns, buf, sizeof(buf));
        if (n < 0 || ts_parse_iso(buf, (size_t)n, &back) != 0 || back != ns) {
            if (!bad++)
                diag("%" PRId64 " -> '%s' -> %" PRId64, ns, buf, back);
        }
    }
    is_int(bad, 0, "100000 random instants in 1970..2100: format then parse gives them back");
}

int main(void)
{
    plan((int)(COUNT(iso_cases) + 1 + COUNT(user_cases) + 2 * COUNT(format_cases) + 1 + 5 + 1));
    test_parse_iso();
    test_parse_user();
    test_format();
    test_days_from_civil();
    test_round_trip();
    return done();
}
