/*
 * mock_weight.h -- Binance's REQUEST_WEIGHT limiter, as the mock enforces it.
 *
 * Weight is counted per IP (the mock has one client: loopback) in fixed
 * one-minute windows aligned on the minute, as X-MBX-USED-WEIGHT-1M reports
 * it (a test may shorten the window: mweight_set_interval). A request that would go over the limit is refused with 429 and not
 * counted; a further request in the same window, after that 429, earns an
 * IP ban (418): 2 minutes for the first, doubling with each repeat, at most
 * 3 days (the documented range). During a ban every request gets 418.
 * Retry-After is the seconds to the window's end (429) or the ban's (418).
 */
#ifndef LUTRA_MOCK_WEIGHT_H
#define LUTRA_MOCK_WEIGHT_H

#include <stdint.h>

#define MWEIGHT_DEFAULT_LIMIT 6000

enum mweight_verdict { MWEIGHT_OK = 0, MWEIGHT_429 = 429, MWEIGHT_418 = 418 };

typedef struct mweight {
    int64_t limit;
    int64_t interval_ms; /* the window's length: 60000 unless set */
    int64_t window;   /* the window counted, ms / interval_ms */
    int64_t used;
    int64_t total;    /* every weight counted, all windows: for tests */
    int warned;       /* a 429 went out in this window */
    int64_t banned_until_ms;
    int bans;
} mweight;

/* limit <= 0: MWEIGHT_DEFAULT_LIMIT. */
void mweight_init(mweight *w, int64_t limit);

/* Count in windows of interval_ms (> 0) from now on, aligned on multiples
 * of it since the epoch. */
void mweight_set_interval(mweight *w, int64_t interval_ms);

/* Count a request of `weight` at now_ms.
 * @return an enum mweight_verdict; *retry_after_s set unless MWEIGHT_OK. */
int mweight_charge(mweight *w, int64_t now_ms, int64_t weight, int64_t *retry_after_s);

/* The weight used in now_ms's window. */
int64_t mweight_used(mweight *w, int64_t now_ms);

/* Forget use, warnings and bans (the limit and the total stay). */
void mweight_reset(mweight *w);

#endif
