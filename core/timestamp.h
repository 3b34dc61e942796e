/*
 * timestamp.h -- time as int64 nanoseconds since the Unix epoch (UTC).
 *
 * The engine never reads the wall clock itself (see clock); this module only
 * converts between nanoseconds and the textual forms users and files use.
 */
#ifndef LUTRA_TIMESTAMP_H
#define LUTRA_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#define TS_NS_PER_US INT64_C(1000)
#define TS_NS_PER_MS INT64_C(1000000)
#define TS_NS_PER_SEC INT64_C(1000000000)
#define TS_NS_PER_DAY (INT64_C(86400) * TS_NS_PER_SEC)
/* Longest string ts_format_iso writes, NUL included. */
#define TS_ISO_MAX 40

/*
 * Parse an ISO-8601 UTC time: "2024-08-08", "2024-08-08T23:54:13",
 * "2024-08-08 23:54:13.937085768", with an optional "Z" or "+00:00"
 * (other offsets are applied). Fractions up to nanoseconds.
 * @return 0 and *out_ns set, or -1 if s is not such a time.
 */
int ts_parse_iso(const char *s, size_t len, int64_t *out_ns);

/*
 * Parse what a user may type for a time: an integer count of nanoseconds
 * since the epoch, or an ISO-8601 time as above.
 * @return 0, or -1 if it is neither.
 */
int ts_parse_user(const char *s, int64_t *out_ns);

/*
 * Write "2024-08-08T23:54:13.937085768Z", dropping trailing zero groups of
 * the fraction (".937Z", no fraction at all on a whole second).
 * @return the length written, or -1 if cap < TS_ISO_MAX.
 */
int ts_format_iso(int64_t ns, char *buf, size_t cap);

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
int64_t ts_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
