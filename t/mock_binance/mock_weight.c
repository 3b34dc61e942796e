/*
 * mock_weight.c -- the REQUEST_WEIGHT limiter (see mock_weight.h).
 */
#include "mock_weight.h"

#define MINUTE_MS INT64_C(60000)
#define FIRST_BAN_MS (2 * MINUTE_MS)
#define LONGEST_BAN_MS (3 * 24 * 60 * MINUTE_MS)

void mweight_init(mweight *w, int64_t limit)
{
    w->limit = limit > 0 ? limit : MWEIGHT_DEFAULT_LIMIT;
    w->interval_ms = MINUTE_MS;
    w->total = 0;
    mweight_reset(w);
}

void mweight_reset(mweight *w)
{
    w->window = 0;
    w->used = 0;
    w->warned = 0;
    w->banned_until_ms = 0;
    w->bans = 0;
}

void mweight_set_interval(mweight *w, int64_t interval_ms)
{
    if (interval_ms > 0)
        w->interval_ms = interval_ms;
}

static void roll(mweight *w, int64_t now_ms)
{
    if (now_ms / w->interval_ms == w->window)
        return;
    w->window = now_ms / w->interval_ms;
    w->used = 0;
    w->warned = 0;
}

static int64_t seconds_until(int64_t now_ms, int64_t end_ms)
{
    int64_t s = (end_ms - now_ms + 999) / 1000;
    return s > 0 ? s : 1;
}

static int64_t ban_length(int bans)
{
    int64_t ms = FIRST_BAN_MS;
    for (int i = 1; i < bans && ms < LONGEST_BAN_MS; i++)
        ms *= 2;
    return ms < LONGEST_BAN_MS ? ms : LONGEST_BAN_MS;
}

int mweight_charge(mweight *w, int64_t now_ms, int64_t weight, int64_t *retry_after_s)
{
    roll(w, now_ms);
    if (now_ms < w->banned_until_ms) {
        *retry_after_s = seconds_until(now_ms, w->banned_until_ms);
        return MWEIGHT_418;
    }
    if (w->used + weight <= w->limit) {
        w->used += weight;
        w->total += weight;
        return MWEIGHT_OK;
    }
    if (w->warned) {
        w->bans++;
        w->banned_until_ms = now_ms + ban_length(w->bans);
        *retry_after_s = seconds_until(now_ms, w->banned_until_ms);
        return MWEIGHT_418;
    }
    w->warned = 1;
    *retry_after_s = seconds_until(now_ms, (w->window + 1) * w->interval_ms);
    return MWEIGHT_429;
}

int64_t mweight_used(mweight *w, int64_t now_ms)
{
    roll(w, now_ms);
    return w->used;
}
