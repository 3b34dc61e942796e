/*
 * timestamp.c -- nanoseconds since the epoch <-> ISO-8601 UTC text.
 *
 * Calendar arithmetic is Howard Hinnant's days_from_civil / civil_from_days
 * on the proleptic Gregorian calendar, done here rather than with
 * timegm/mktime so that no time zone, locale or libc quirk can change a
 * backtest's times. Leap seconds are not represented (a minute always has
 * 60 seconds, as in Unix time), so ":60" is refused.
 */
#include "timestamp.h"

#include <stdbool.h>
#include <string.h>

/* ---- Calendar ---- */

int64_t ts_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;                                           /* [0, 399] */
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                   /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;                                    /* [0, 146096] */
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
    mp = (5 * doy + 2) / 153;                                  /* [0, 11] */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* ---- Parsing ---- */

/* A cursor over s[0..len). */
typedef struct ts_reader {
    const char *p;
    const char *end;
} ts_reader;

static bool at(const ts_reader *r, char c)
{
    return r->p < r->end && *r->p == c;
}

/* Read exactly n digits. @return false if there are fewer. */
static bool read_digits(ts_reader *r, int n, unsigned *out)
{
    unsigned v = 0;

    if (r->end - r->p < n)
        return false;
    for (int i = 0; i < n; i++) {
        if (r->p[i] < '0' || r->p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(r->p[i] - '0');
    }
    r->p += n;
    *out = v;
    return true;
}

/* Read a fixed-width field in [lo, hi]. */
static bool read_field(ts_reader *r, int n, unsigned lo, unsigned hi, unsigned *out)
{
    return read_digits(r, n, out) && *out >= lo && *out <= hi;
}

static bool read_char(ts_reader *r, char c)
{
    if (!at(r, c))
        return false;
    r->p++;
    return true;
}

/* ".937085768": 1..9 digits, as nanoseconds. Absent: 0. */
static bool read_fraction(ts_reader *r, int64_t *ns)
{
    int n = 0;

    *ns = 0;
    if (!read_char(r, '.'))
        return true;
    for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++, n++) {
        if (n == 9)
            return false;
        *ns = *ns * 10 + (*r->p - '0');
    }
    if (n == 0)
        return false;
    for (; n < 9; n++)
        *ns *= 10;
    return true;
}

/* "Z", "+HH:MM", "-HH:MM", "+HHMM", or nothing (UTC). Seconds east of UTC. */
static bool read_offset(ts_reader *r, int64_t *offset_sec)
{
    unsigned hh, mm;
    bool neg;

    *offset_sec = 0;
    if (read_char(r, 'Z') || r->p == r->end)
        return true;
    if (!at(r, '+') && !at(r, '-'))
        return false;
    neg = *r->p++ == '-';
    if (!read_field(r, 2, 0, 23, &hh))
        return false;
    read_char(r, ':');
    if (!read_field(r, 2, 0, 59, &mm))
        return false;
    *offset_sec = (int64_t)(hh * 3600 + mm * 60) * (neg ? -1 : 1);
    return true;
}

/* "HH:MM[:SS[.fraction]]" as seconds and nanoseconds into the day. */
static bool read_time_of_day(ts_reader *r, int64_t *sec, int64_t *frac_ns)
{
    unsigned hh, mm, ss = 0;

    *frac_ns = 0;
    if (!read_field(r, 2, 0, 23, &hh) || !read_char(r, ':') || !read_field(r, 2, 0, 59, &mm))
        return false;
    if (read_char(r, ':') && (!read_field(r, 2, 0, 59, &ss) || !read_fraction(r, frac_ns)))
        return false;
    *sec = (int64_t)hh * 3600 + mm * 60 + ss;
    return true;
}

/* "YYYY-MM-DD" as days since the epoch. */
static bool read_date(ts_reader *r, int64_t *days)
{
    unsigned y, m, d;

    if (!read_digits(r, 4, &y) || !read_char(r, '-') || !read_field(r, 2, 1, 12, &m) ||
        !read_char(r, '-') || !read_digits(r, 2, &d))
        return false;
    if (d < 1 || d > days_in_month(y, m))
        return false;
    *days = ts_days_from_civil(y, m, d);
    return true;
}

/* sec * 10^9 + frac_ns (0 <= frac_ns < 10^9), or false beyond int64. */
static bool seconds_to_ns(int64_t sec, int64_t frac_ns, int64_t *out)
{
    if (sec < 0 && frac_ns > 0) {
        /* Borrow a second so that INT64_MIN, whose seconds alone are below
         * INT64_MIN / 10^9, stays reachable. */
        sec++;
        frac_ns -= TS_NS_PER_SEC;
    }
    if (sec >= 0 && frac_ns >= 0 ? sec > (INT64_MAX - frac_ns) / TS_NS_PER_SEC
                                 : sec < (INT64_MIN - frac_ns) / TS_NS_PER_SEC)
        return false;
    *out = sec * TS_NS_PER_SEC + frac_ns;
    return true;
}

int ts_parse_iso(const char *s, size_t len, int64_t *out_ns)
{
    ts_reader r = {s, s + len};
    int64_t days, sec = 0, frac_ns = 0, offset_sec = 0;

    if (!read_date(&r, &days))
        return -1;
    if (r.p != r.end) {
        if (!read_char(&r, 'T') && !read_char(&r, ' '))
            return -1;
        if (!read_time_of_day(&r, &sec, &frac_ns) || !read_offset(&r, &offset_sec))
            return -1;
    }
    if (r.p != r.end)
        return -1;
    /* Years 0000..9999 keep these seconds far inside int64. */
    if (!seconds_to_ns(days * 86400 + sec - offset_sec, frac_ns, out_ns))
        return -1;
    return 0;
}

/* An optionally negative decimal integer, overflow checked. */
static int parse_int64(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    const char *p = s + neg;

    if (*p == '\0')
        return -1;
    for (; *p; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (digit > 9 || v > (limit - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static bool is_integer_text(const char *s)
{
    s += *s == '-';
    return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

int ts_parse_user(const char *s, int64_t *out_ns)
{
    if (is_integer_text(s))
        return parse_int64(s, out_ns);
    return ts_parse_iso(s, strlen(s), out_ns);
}

/* ---- Formatting ---- */

/* Write v as exactly n digits at p. */
static char *put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

int ts_format_iso(int64_t ns, char *buf, size_t cap)
{
    int64_t days, sec_of_day, frac, year;
    unsigned month, day;
    int frac_digits = 9;
    char *p = buf;

    if (cap < TS_ISO_MAX)
        return -1;
    /* Floor division: times before 1970 still have a fraction in [0, 1 s). */
    days = ns / TS_NS_PER_DAY;
    frac = ns % TS_NS_PER_DAY; /* ns into the day */
    if (frac < 0) {
        days--;
        frac += TS_NS_PER_DAY;
    }
    sec_of_day = frac / TS_NS_PER_SEC;
    frac %= TS_NS_PER_SEC;
    civil_from_days(days, &year, &month, &day);

    p = put_digits(p, year, 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, sec_of_day / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sec_of_day / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sec_of_day % 60, 2);
    if (frac != 0) {
        while (frac_digits > 3 && frac % 1000 == 0) {
            frac /= 1000;
            frac_digits -= 3;
        }
        *p++ = '.';
        p = put_digits(p, frac, frac_digits);
    }
    *p++ = 'Z';
    *p = '\0';
    return (int)(p - buf);
}
