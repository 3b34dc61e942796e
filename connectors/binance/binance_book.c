/*
 * binance_book.c -- keeping a symbol's depth stream in step with its REST
 * snapshots, Binance's documented local order book algorithm:
 *
 *   - Before a snapshot, diffs are buffered (bounded, oldest dropped first).
 *   - On a snapshot with id L: drop buffered diffs already in it (u <= L;
 *     USD-M: u < L). The first one left must straddle it (spot: U <= L+1 <=
 *     u; USD-M: U <= L <= u), or the snapshot is stale: say so and wait for
 *     another. Else emit the snapshot (CLEAR, then its levels), STATUS
 *     READY/SNAPSHOT, then the buffered diffs, all at the snapshot's receive
 *     time: nobody could have seen the book synchronised earlier.
 *   - Then each diff must continue the last (spot: U == previous u + 1;
 *     USD-M: pu == previous u). One that does not is a gap: STATUS
 *     SYNCING/GAP once, and diffs are buffered again until a snapshot.
 *
 * Every message's records end with LUTRA_F_LAST; a STATUS is a message of
 * its own.
 */
#include <stdlib.h>
#include <string.h>

#include "binance.h"

/* ---- Emitting ---- */

/* Levels as BOOK_DELTA records; F_LAST on the last when last is set. */
static int emit_levels(bn_conn *c, const bn_symbol *s, const bn_level *lv, size_t n,
                       int64_t ts_recv, int64_t ts_exch, uint8_t flags, int last)
{
    lutra_event ev;

    for (size_t i = 0; i < n; i++) {
        memset(&ev, 0, sizeof ev);
        ev.delta.h.ts_recv = ts_recv;
        ev.delta.h.ts_exch = ts_exch;
        ev.delta.h.flags = (uint8_t)(flags | (lv[i].bid ? LUTRA_F_BID : 0) |
                                     (last && i + 1 == n ? LUTRA_F_LAST : 0));
        ev.delta.price = lv[i].price;
        ev.delta.qty = lv[i].qty;
        if (bn_emit(c, s, &ev, LUTRA_EV_BOOK_DELTA) != 0)
            return -1;
    }
    return 0;
}

static int emit_clear(bn_conn *c, const bn_symbol *s, int64_t ts_recv, int64_t ts_exch,
                      uint8_t flags)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.delta.h.ts_recv = ts_recv;
    ev.delta.h.ts_exch = ts_exch;
    ev.delta.h.flags = flags;
    return bn_emit(c, s, &ev, LUTRA_EV_BOOK_CLEAR);
}

static int emit_status(bn_conn *c, const bn_symbol *s, int64_t ts, uint32_t state,
                       uint32_t reason)
{
    lutra_event ev;

    if (s->instrument < 0)
        return 0; /* no price seen yet: nobody can be listening to it */
    memset(&ev, 0, sizeof ev);
    ev.status.h.ts_recv = ts;
    ev.status.h.ts_exch = ts;
    ev.status.h.flags = LUTRA_F_ONE_TS | LUTRA_F_LAST;
    ev.status.state = state;
    ev.status.reason = reason;
    return bn_emit(c, s, &ev, LUTRA_EV_STATUS);
}

/* ---- Sequence rules ---- */

/* Is d already contained in a book at id (bridging: a fresh snapshot's)? */
static int is_old(uint64_t id, int bridging, const bn_diff *d)
{
    if (d->chained && bridging)
        return d->last_id < id;
    return d->last_id <= id;
}

/* May d be applied to a book at id? */
static int continues(uint64_t id, int bridging, const bn_diff *d)
{
    if (bridging)
        return d->chained ? d->first_id <= id && id <= d->last_id
                          : d->first_id <= id + 1 && id + 1 <= d->last_id;
    return d->chained ? d->prev_id == id : d->first_id == id + 1;
}

static void report_gap(bn_conn *c, bn_symbol *s, const bn_diff *d, int64_t ts)
{
    /* Say what a book at book_id would have accepted. */
    const char *rule = "U=";
    unsigned long long want = s->book_id + 1, got = d->first_id;

    if (s->bridging) {
        rule = "U<=";
        want = s->book_id + (d->chained ? 0 : 1);
    } else if (d->chained) {
        rule = "pu=";
        want = s->book_id;
        got = d->prev_id;
    }
    c->api->log(c->host, LUTRA_LOG_WARN,
                "depth gap, resynchronising symbol=%s expected=%s%llu got=%llu U=%llu u=%llu",
                s->name, rule, want, got, (unsigned long long)d->first_id,
                (unsigned long long)d->last_id);
    s->synced = 0;
    emit_status(c, s, ts, LUTRA_FEED_SYNCING, LUTRA_REASON_GAP);
}

int bn_book_lost(bn_conn *c, bn_symbol *s, int64_t ts)
{
    if (!s->synced)
        return 0;
    s->synced = 0;
    return emit_status(c, s, ts, LUTRA_FEED_DISCONNECTED, LUTRA_REASON_NONE);
}

enum { DIFF_OLD, DIFF_APPLIED, DIFF_GAP, DIFF_ERROR = -1 };

static int apply(bn_conn *c, bn_symbol *s, const bn_diff *d, const bn_level *lv,
                 int64_t ts_recv)
{
    if (is_old(s->book_id, s->bridging, d))
        return DIFF_OLD;
    if (!continues(s->book_id, s->bridging, d))
        return DIFF_GAP;
    if (emit_levels(c, s, lv, d->nlevels, ts_recv, d->ts_exch, 0, 1) != 0)
        return DIFF_ERROR;
    s->book_id = d->last_id;
    s->bridging = 0;
    return DIFF_APPLIED;
}

/* ---- The buffer of diffs waiting for a snapshot ---- */

static void pending_drop_front(bn_symbol *s, size_t k)
{
    if (k == 0)
        return;
    if (k >= s->npending) {
        s->npending = 0;
        s->nplevels = 0;
        return;
    }
    size_t off = s->pending[k].level_off;
    memmove(s->pending, s->pending + k, (s->npending - k) * sizeof *s->pending);
    s->npending -= k;
    memmove(s->plevels, s->plevels + off, (s->nplevels - off) * sizeof *s->plevels);
    s->nplevels -= off;
    for (size_t i = 0; i < s->npending; i++)
        s->pending[i].level_off -= off;
}

/* Grow *buf to hold need items of size sz, up to max. @return 0 or -1. */
static int grow(void **buf, size_t *cap, size_t need, size_t sz, size_t max)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    if (n > max)
        n = max;
    void *p = realloc(*buf, n * sz);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static int pending_push(bn_conn *c, bn_symbol *s, const bn_diff *d, const bn_level *lv)
{
    if (d->nlevels > BN_PENDING_LEVELS_MAX) {
        c->api->log(c->host, LUTRA_LOG_WARN,
                    "depth diff too large to buffer, dropped symbol=%s levels=%zu max=%d",
                    s->name, d->nlevels, BN_PENDING_LEVELS_MAX);
        pending_drop_front(s, s->npending);
        return 0;
    }
    size_t drop = 0, levels = s->nplevels;
    while (s->npending - drop >= BN_PENDING_DIFFS_MAX ||
           levels + d->nlevels > BN_PENDING_LEVELS_MAX) {
        levels -= s->pending[drop].nlevels;
        drop++;
    }
    pending_drop_front(s, drop);
    if (grow((void **)&s->pending, &s->pending_cap, s->npending + 1, sizeof *s->pending,
             BN_PENDING_DIFFS_MAX) != 0 ||
        grow((void **)&s->plevels, &s->plevels_cap, s->nplevels + d->nlevels,
             sizeof *s->plevels, BN_PENDING_LEVELS_MAX) != 0) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "out of memory buffering a diff symbol=%s",
                    s->name);
        return -1;
    }
    bn_diff *slot = &s->pending[s->npending++];
    *slot = *d;
    slot->level_off = s->nplevels;
    if (d->nlevels)
        memcpy(s->plevels + s->nplevels, lv, d->nlevels * sizeof *lv);
    s->nplevels += d->nlevels;
    return 0;
}

/* ---- Entry points ---- */

int bn_book_diff(bn_conn *c, bn_symbol *s, const bn_diff *d, const bn_level *lv)
{
    if (!s->synced)
        return pending_push(c, s, d, lv);
    int rc = apply(c, s, d, lv, d->ts_recv);
    if (rc == DIFF_GAP) {
        report_gap(c, s, d, d->ts_recv);
        pending_drop_front(s, s->npending);
        return pending_push(c, s, d, lv);
    }
    return rc == DIFF_ERROR ? -1 : 0;
}

/* Apply the buffered diffs after a snapshot; a gap among them keeps the
 * rest buffered for the next snapshot. */
static int replay_pending(bn_conn *c, bn_symbol *s, int64_t ts_recv)
{
    size_t i;

    for (i = 0; i < s->npending; i++) {
        const bn_diff *d = &s->pending[i];
        int rc = apply(c, s, d, s->plevels + d->level_off, ts_recv);
        if (rc == DIFF_ERROR)
            return -1;
        if (rc == DIFF_GAP) {
            report_gap(c, s, d, ts_recv);
            break;
        }
    }
    pending_drop_front(s, i);
    return 0;
}

int bn_book_snapshot(bn_conn *c, bn_symbol *s, uint64_t last_id, int64_t ts_recv,
                     int64_t ts_exch, uint8_t ts_flags, const bn_level *lv, size_t n)
{
    size_t old = 0;

    if (s->synced && last_id <= s->book_id) {
        c->api->log(c->host, LUTRA_LOG_INFO,
                    "depth snapshot not newer than the book, ignored symbol=%s "
                    "lastUpdateId=%llu book=%llu",
                    s->name, (unsigned long long)last_id, (unsigned long long)s->book_id);
        return 1;
    }
    while (old < s->npending && is_old(last_id, 1, &s->pending[old]))
        old++;
    pending_drop_front(s, old);
    if (s->npending > 0 && !continues(last_id, 1, &s->pending[0])) {
        c->api->log(c->host, LUTRA_LOG_WARN,
                    "depth snapshot older than the buffered diffs, waiting for another "
                    "symbol=%s lastUpdateId=%llu first_U=%llu",
                    s->name, (unsigned long long)last_id,
                    (unsigned long long)s->pending[0].first_id);
        return emit_status(c, s, ts_recv, LUTRA_FEED_SYNCING, LUTRA_REASON_STALE);
    }
    uint8_t flags = (uint8_t)(LUTRA_F_SNAPSHOT | ts_flags);
    if (emit_clear(c, s, ts_recv, ts_exch, (uint8_t)(flags | (n == 0 ? LUTRA_F_LAST : 0))) ||
        emit_levels(c, s, lv, n, ts_recv, ts_exch, flags, 1) != 0)
        return -1;
    s->synced = 1;
    s->bridging = 1;
    s->book_id = last_id;
    if (emit_status(c, s, ts_recv, LUTRA_FEED_READY, LUTRA_REASON_SNAPSHOT) != 0)
        return -1;
    return replay_pending(c, s, ts_recv);
}

void bn_book_free(bn_symbol *s)
{
    free(s->pending);
    free(s->plevels);
    s->pending = NULL;
    s->plevels = NULL;
    s->npending = s->nplevels = s->pending_cap = s->plevels_cap = 0;
}
