/*
 * gen_sample.c -- the synthetic sample data that `make run` and the README's
 * tour use (docs/sample-data.md).
 *
 * The repository cannot hold third-party market data, so the build makes its
 * own, deterministically from a seed:
 *
 *   btcusdt-sample.capture.gz  a Binance spot raw capture of BTCUSDT, in the
 *                              layout `lutra record` writes: depth diffs,
 *                              trades, bookTicker and one REST snapshot
 *   sample-daily.csv           daily OHLCV bars of a made-up symbol SAMPLE
 *
 * The capture comes from a small order book model: a latent fair price walks
 * (volatility clusters, the odd jump) and an order flow of limit adds,
 * cancels and taker orders chases it. Every diff, trade and quote is written
 * from a real change to that book, so the stream is internally consistent.
 * Nothing reads the clock and all randomness is our own xoshiro256**, so one
 * seed gives the same bytes on every run.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "fixed.h"
#include "rng.h"
#include "timestamp.h"

#define CAPTURE_NAME "btcusdt-sample.capture.gz"
#define DAILY_NAME "sample-daily.csv"
#define DEFAULT_SEED UINT64_C(1)
#define DEFAULT_MILLIHOURS 3000
#define DEFAULT_DAYS 1461 /* 2020-01-01 .. 2023-12-31 */
#define MAX_MILLIHOURS (24 * 1000 * 7)
#define MAX_DAYS 36600

/* Binance spot sends prices and sizes with 8 decimals; BTCUSDT trades on a
 * 0.01 tick and a 0.00001 lot. The model counts in ticks and lots. */
#define WIRE_SCALE 8
#define TICK_WIRE INT64_C(1000000)
#define LOT_WIRE INT64_C(1000)
#define LOTS_PER_BTC 100000.0
#define MAX_MAKER_LOTS INT64_C(800000) /* 8 BTC */
#define MAX_TAKER_LOTS INT64_C(500000) /* 5 BTC */
#define TICKS_PER_USD 100.0

#define START_PRICE_TICKS 4418000.0   /* 44,180.00 USDT */
#define START_UPDATE_ID INT64_C(41950000000)
#define START_TRADE_ID INT64_C(3342000000)
#define SNAPSHOT_LEVELS 1000
#define INITIAL_LEVELS 1300
#define DEPTH_MIN 1150 /* refill the far end below this many levels */
#define DEPTH_MAX 1700 /* drop the farthest level above this many */
#define DIFF_INTERVAL_NS (100 * TS_NS_PER_MS)
#define SNAPSHOT_AFTER_NS (250 * TS_NS_PER_MS)

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Round x into [lo, hi], clamping first: a far tail draw must not overflow. */
static int64_t round_clamped(double x, int64_t lo, int64_t hi)
{
    if (!(x > (double)lo))
        return lo;
    if (x >= (double)hi)
        return hi;
    return llround(x);
}

/* ---- Errors ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- Text buffer with a sticky error, so message builders stay linear ---- */

struct buf {
    char *p;
    size_t len, cap;
    int failed; /* out of memory or a number that would not format */
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void buf_str(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_fixed(struct buf *b, int64_t v, int scale)
{
    char tmp[FIXED_STR_MAX];
    int n = fixed_format(v, scale, tmp, sizeof tmp);
    if (n < 0)
        b->failed = 1;
    else
        buf_put(b, tmp, (size_t)n);
}

static void buf_int(struct buf *b, int64_t v)
{
    buf_fixed(b, v, 0);
}

/* A price in ticks or a size in lots as Binance writes it: "44180.01000000". */
static void buf_wire(struct buf *b, int64_t units, int64_t wire_per_unit)
{
    buf_put(b, "\"", 1);
    buf_fixed(b, units * wire_per_unit, WIRE_SCALE);
    buf_put(b, "\"", 1);
}

/* ---- The order book model ---- */

struct level {
    int64_t px;  /* ticks */
    int64_t qty; /* lots, > 0 */
};

/*
 * One side, sorted from the farthest level to the touch: the touch is
 * lv[n - 1], so the frequent changes at the touch move nothing.
 */
struct side {
    int bid;
    struct level *lv;
    size_t n, cap;
    int64_t *changed; /* prices changed since the last diff, unsorted */
    size_t nchanged, capchanged;
};

/* True when price a is closer to the touch than b on this side. */
static int side_better(const struct side *s, int64_t a, int64_t b)
{
    return s->bid ? a > b : a < b;
}

/* Index of px, or where it would be inserted. */
static size_t side_find(const struct side *s, int64_t px)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (side_better(s, px, s->lv[mid].px))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct level *side_touch(const struct side *s)
{
    return s->n ? &s->lv[s->n - 1] : NULL;
}

/* The k-th level from the touch (0 is the touch). */
static struct level *side_at(struct side *s, size_t k)
{
    return &s->lv[s->n - 1 - k];
}

static int64_t side_qty_at(const struct side *s, int64_t px)
{
    size_t i = side_find(s, px);
    return i < s->n && s->lv[i].px == px ? s->lv[i].qty : 0;
}

static int side_note_change(struct side *s, int64_t px)
{
    for (size_t i = 0; i < s->nchanged; i++)
        if (s->changed[i] == px)
            return 0;
    if (s->nchanged == s->capchanged) {
        size_t cap = s->capchanged ? s->capchanged * 2 : 256;
        int64_t *p = realloc(s->changed, cap * sizeof *p);
        if (!p)
            return -1;
        s->changed = p;
        s->capchanged = cap;
    }
    s->changed[s->nchanged++] = px;
    return 0;
}

/* Set the quantity at px (0 removes the level). @return 0, -1 out of memory. */
static int side_store(struct side *s, int64_t px, int64_t qty)
{
    size_t i = side_find(s, px);
    int found = i < s->n && s->lv[i].px == px;
    if (found && qty > 0) {
        s->lv[i].qty = qty;
    } else if (found) {
        memmove(&s->lv[i], &s->lv[i + 1], (s->n - i - 1) * sizeof s->lv[0]);
        s->n--;
    } else if (qty > 0) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 2048;
            struct level *p = realloc(s->lv, cap * sizeof *p);
            if (!p)
                return -1;
            s->lv = p;
            s->cap = cap;
        }
        memmove(&s->lv[i + 1], &s->lv[i], (s->n - i) * sizeof s->lv[0]);
        s->lv[i] = (struct level){px, qty};
        s->n++;
    }
    return 0;
}

static void side_free(struct side *s)
{
    free(s->lv);
    free(s->changed);
}

/* ---- The generator's state ---- */

struct gen {
    rng flow;    /* order flow and prices */
    rng latency; /* network delays */
    struct side bids, asks;
    int64_t update_id;  /* of the last book change */
    int64_t diffed_id;  /* u of the last diff sent */
    int64_t trade_id;
    double fair;        /* latent fair price, ticks */
    double vol_state;   /* log-volatility deviation from normal */
    int64_t now;        /* exchange time, ns */
    int64_t end;
    struct level quoted_bid, quoted_ask; /* touch last sent as bookTicker */

    gzFile gz;
    const char *gz_path;
    int64_t last_recv;
    struct buf msg;
    struct buf snapshot; /* the REST answer, held until its receive time */
    int64_t snapshot_recv;
    int snapshot_state; /* 0 not taken, 1 in flight, 2 written */
    int diffs_sent;

    char *err;
    size_t errlen;
};

static struct side *gen_side(struct gen *g, int bid)
{
    return bid ? &g->bids : &g->asks;
}

/* Every book change goes through here: it advances the update id, as
 * Binance's does per change, and remembers the level for the next diff. */
static int gen_set_level(struct gen *g, struct side *s, int64_t px, int64_t qty)
{
    if (side_store(s, px, qty) < 0 || side_note_change(s, px) < 0) {
        set_err(g->err, g->errlen, "book model: out of memory");
        return -1;
    }
    g->update_id++;
    return 0;
}

/* ---- Writing the capture ---- */

/* Receive delay of one WebSocket message: a couple of ms, jitter, rare stalls. */
static int64_t ws_latency(struct gen *g)
{
    int64_t ns = 1800 * TS_NS_PER_US + (int64_t)rng_exp(&g->latency, 600.0 * TS_NS_PER_US);
    if (rng_chance(&g->latency, 0.001))
        ns += rng_range(&g->latency, 5 * TS_NS_PER_MS, 40 * TS_NS_PER_MS);
    return ns;
}

static int write_line(struct gen *g, int64_t recv, const struct buf *b)
{
    char ts[FIXED_STR_MAX];
    int n = fixed_format(recv, 0, ts, sizeof ts);
    if (b->failed || n < 0) {
        set_err(g->err, g->errlen, "%s: cannot format a message (out of memory)", g->gz_path);
        return -1;
    }
    if (gzwrite(g->gz, ts, (unsigned)n) != n || gzputc(g->gz, ' ') != ' ' ||
        gzwrite(g->gz, b->p, (unsigned)b->len) != (int)b->len || gzputc(g->gz, '\n') != '\n') {
        int zerr;
        const char *why = gzerror(g->gz, &zerr);
        set_err(g->err, g->errlen, "%s: write failed: %s", g->gz_path,
                zerr == Z_ERRNO ? strerror(errno) : why);
        return -1;
    }
    g->last_recv = recv;
    return 0;
}

/* Write the REST snapshot in flight if it has arrived by time `by`. */
static int write_snapshot_by(struct gen *g, int64_t by)
{
    if (g->snapshot_state != 1 || g->snapshot_recv > by)
        return 0;
    g->snapshot_state = 2;
    return write_line(g, g->snapshot_recv > g->last_recv ? g->snapshot_recv : g->last_recv + 1,
                      &g->snapshot);
}

/*
 * Write a WebSocket message sent at exchange time exch_ns. All streams share
 * one combined-stream connection, so messages arrive in the order they were
 * sent; the REST snapshot comes over another and slots in by receive time.
 */
static int emit(struct gen *g, int64_t exch_ns, const struct buf *b)
{
    int64_t recv = exch_ns + ws_latency(g);
    if (recv <= g->last_recv)
        recv = g->last_recv + rng_range(&g->latency, 2 * TS_NS_PER_US, 40 * TS_NS_PER_US);
    if (write_snapshot_by(g, recv) < 0)
        return -1;
    return write_line(g, recv, b);
}

static void msg_begin(struct gen *g, const char *stream)
{
    g->msg.len = 0;
    g->msg.failed = 0;
    buf_str(&g->msg, "{\"stream\":\"btcusdt@");
    buf_str(&g->msg, stream);
    buf_str(&g->msg, "\",\"data\":{");
}

static int64_t ns_to_ms(int64_t ns)
{
    return ns / TS_NS_PER_MS;
}

/* One trade: the taker bought (or sold) qty lots at px against a resting order. */
static int emit_trade(struct gen *g, int taker_buys, int64_t px, int64_t qty)
{
    /* The trade stream pushes a moment after the match. */
    int64_t pushed = g->now + rng_range(&g->latency, 100 * TS_NS_PER_US, 1200 * TS_NS_PER_US);
    msg_begin(g, "trade");
    buf_str(&g->msg, "\"e\":\"trade\",\"E\":");
    buf_int(&g->msg, ns_to_ms(pushed));
    buf_str(&g->msg, ",\"s\":\"BTCUSDT\",\"t\":");
    buf_int(&g->msg, ++g->trade_id);
    buf_str(&g->msg, ",\"p\":");
    buf_wire(&g->msg, px, TICK_WIRE);
    buf_str(&g->msg, ",\"q\":");
    buf_wire(&g->msg, qty, LOT_WIRE);
    buf_str(&g->msg, ",\"T\":");
    buf_int(&g->msg, ns_to_ms(g->now));
    /* "m": the buyer was the maker, i.e. the taker sold. */
    buf_str(&g->msg, taker_buys ? ",\"m\":false,\"M\":true}}" : ",\"m\":true,\"M\":true}}");
    return emit(g, pushed, &g->msg);
}

static int level_same(const struct level *a, const struct level *b)
{
    return a->px == b->px && a->qty == b->qty;
}

/* bookTicker after any change of the touch, carrying the update id of that moment. */
static int emit_ticker_if_moved(struct gen *g)
{
    const struct level *b = side_touch(&g->bids), *a = side_touch(&g->asks);
    if (!a || !b || (level_same(b, &g->quoted_bid) && level_same(a, &g->quoted_ask)))
        return 0;
    g->quoted_bid = *b;
    g->quoted_ask = *a;
    msg_begin(g, "bookTicker");
    buf_str(&g->msg, "\"u\":");
    buf_int(&g->msg, g->update_id);
    buf_str(&g->msg, ",\"s\":\"BTCUSDT\",\"b\":");
    buf_wire(&g->msg, b->px, TICK_WIRE);
    buf_str(&g->msg, ",\"B\":");
    buf_wire(&g->msg, b->qty, LOT_WIRE);
    buf_str(&g->msg, ",\"a\":");
    buf_wire(&g->msg, a->px, TICK_WIRE);
    buf_str(&g->msg, ",\"A\":");
    buf_wire(&g->msg, a->qty, LOT_WIRE);
    buf_str(&g->msg, "}}");
    return emit(g, g->now + rng_range(&g->latency, 50 * TS_NS_PER_US, 400 * TS_NS_PER_US), &g->msg);
}

static int cmp_i64_asc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_i64_desc(const void *a, const void *b)
{
    return cmp_i64_asc(b, a);
}

/* The i-th entry of a level list: ["price","qty"]. */
static void buf_level(struct buf *b, size_t i, int64_t px, int64_t qty)
{
    buf_str(b, i ? ",[" : "[");
    buf_wire(b, px, TICK_WIRE);
    buf_put(b, ",", 1);
    buf_wire(b, qty, LOT_WIRE);
    buf_put(b, "]", 1);
}

/* The diff's list for one side, best price first as Binance sends it. */
static void diff_side(struct buf *b, struct side *s)
{
    if (s->nchanged > 1)
        qsort(s->changed, s->nchanged, sizeof s->changed[0], s->bid ? cmp_i64_desc : cmp_i64_asc);
    buf_put(b, "[", 1);
    for (size_t i = 0; i < s->nchanged; i++)
        buf_level(b, i, s->changed[i], side_qty_at(s, s->changed[i]));
    buf_put(b, "]", 1);
    s->nchanged = 0;
}

/* The depth@100ms message: every level changed since the previous one, with
 * its quantity now (0 for a level gone). Nothing changed, nothing sent. */
static int emit_diff(struct gen *g, int64_t at)
{
    if (g->update_id == g->diffed_id)
        return 0;
    msg_begin(g, "depth@100ms");
    buf_str(&g->msg, "\"e\":\"depthUpdate\",\"E\":");
    buf_int(&g->msg, ns_to_ms(at));
    buf_str(&g->msg, ",\"s\":\"BTCUSDT\",\"U\":");
    buf_int(&g->msg, g->diffed_id + 1);
    buf_str(&g->msg, ",\"u\":");
    buf_int(&g->msg, g->update_id);
    buf_str(&g->msg, ",\"b\":");
    diff_side(&g->msg, &g->bids);
    buf_str(&g->msg, ",\"a\":");
    diff_side(&g->msg, &g->asks);
    buf_str(&g->msg, "}}");
    g->diffed_id = g->update_id;
    g->diffs_sent++;
    return emit(g, at + rng_range(&g->latency, 0, 2 * TS_NS_PER_MS), &g->msg);
}

static void snapshot_side(struct buf *b, struct side *s)
{
    size_t n = s->n < SNAPSHOT_LEVELS ? s->n : SNAPSHOT_LEVELS;
    buf_put(b, "[", 1);
    for (size_t k = 0; k < n; k++)
        buf_level(b, k, side_at(s, k)->px, side_at(s, k)->qty);
    buf_put(b, "]", 1);
}

/*
 * The REST depth snapshot a recorder fetches after subscribing. It is taken
 * between two changes of one 100 ms batch, so the diff carrying it straddles
 * lastUpdateId as on the real exchange, and it arrives over its own
 * connection `latency` later.
 */
static void take_snapshot(struct gen *g, int64_t latency)
{
    struct buf *b = &g->snapshot;
    buf_str(b, "{\"lastUpdateId\":");
    buf_int(b, g->update_id);
    buf_str(b, ",\"bids\":");
    snapshot_side(b, &g->bids);
    buf_str(b, ",\"asks\":");
    snapshot_side(b, &g->asks);
    buf_str(b, "}");
    g->snapshot_recv = g->now + latency;
    g->snapshot_state = 1;
}

/* ---- Order flow ---- */

static int64_t fair_bid(const struct gen *g)
{
    return (int64_t)floor(g->fair);
}

/* Size of a resting order in lots: larger near the touch, lumpy. */
static int64_t maker_size(struct gen *g, int64_t distance)
{
    rng *r = &g->flow;
    double btc;
    if (rng_chance(r, 0.22))
        return rng_range(r, 1, 300); /* small retail orders */
    if (rng_chance(r, 0.06))
        btc = 0.001 * (double)rng_range(r, 200, 2500); /* a lump */
    else
        btc = 0.008 * exp(1.3 * rng_normal(r)) *
              (1.0 + 25.0 * exp(-(double)distance / 3.0) + 4.0 * exp(-(double)distance / 400.0));
    return round_clamped(btc * LOTS_PER_BTC, 1, MAX_MAKER_LOTS);
}

/* Size of a taker order in lots: many tiny, a heavy tail of large ones. */
static int64_t taker_size(struct gen *g)
{
    rng *r = &g->flow;
    if (rng_chance(r, 0.3))
        return rng_range(r, 5, 30);
    int64_t lots = round_clamped(rng_pareto(r, 30.0, 0.9), 1, MAX_TAKER_LOTS);
    if (lots >= 200 && rng_chance(r, 0.4))
        lots -= lots % 100; /* round amounts, 0.001 BTC */
    return lots;
}

/*
 * An incoming order trades against the opposite side from the touch while
 * its limit allows, one trade per level it reaches; a level it empties is
 * gone, so the touch moves. *left is what did not trade.
 */
static int take(struct gen *g, int buy, int64_t limit, int64_t qty, int64_t *left)
{
    struct side *opp = gen_side(g, !buy);
    while (qty > 0 && opp->n > 0) {
        const struct level *t = side_touch(opp);
        if (side_better(opp, limit, t->px))
            break;
        int64_t px = t->px, fill = qty < t->qty ? qty : t->qty, rest = t->qty - fill;
        if (emit_trade(g, buy, px, fill) < 0 || gen_set_level(g, opp, px, rest) < 0)
            return -1;
        qty -= fill;
    }
    *left = qty;
    return 0;
}

/* A limit order: what crosses trades, the rest joins its level. */
static int place_limit(struct gen *g, int bid, int64_t px, int64_t qty)
{
    struct side *s = gen_side(g, bid);
    int64_t left;
    if (px <= 0) /* a far order below zero is simply not placed */
        return 0;
    if (take(g, bid, px, qty, &left) < 0)
        return -1;
    if (left == 0)
        return 0;
    return gen_set_level(g, s, px, side_qty_at(s, px) + left);
}

static int market_order(struct gen *g, int buy, int64_t qty)
{
    int64_t left;
    return take(g, buy, buy ? INT64_MAX : 1, qty, &left);
}

/* Cancel all, or with probability `partial` part, of the k-th level from the touch. */
static int cancel_at(struct gen *g, struct side *s, size_t k, double partial)
{
    struct level *l = side_at(s, k);
    int64_t rest = 0;
    if (l->qty > 1 && rng_chance(&g->flow, partial))
        rest = round_clamped((double)l->qty * (0.1 + 0.8 * rng_uniform(&g->flow)), 1, l->qty - 1);
    return gen_set_level(g, s, l->px, rest);
}

/* Which side the flow leans to: takers buy more while the book lags below fair. */
static double buy_bias(const struct gen *g)
{
    const struct level *b = side_touch(&g->bids), *a = side_touch(&g->asks);
    double mid = (double)(b->px + a->px) / 2.0;
    return 0.5 + 0.4 * tanh((g->fair - mid) / 40.0);
}

static int event_add(struct gen *g)
{
    rng *r = &g->flow;
    int bid = rng_chance(r, 1.0 - buy_bias(g));
    int64_t d;
    if (rng_chance(r, 0.6)) /* quoting near fair */
        d = rng_chance(r, 0.35) ? 0 : 1 + (int64_t)rng_exp(r, 8.0);
    else
        d = 1 + (int64_t)rng_exp(r, 2500.0);
    int64_t px = bid ? fair_bid(g) - d : fair_bid(g) + 1 + d;
    return place_limit(g, bid, px, maker_size(g, d));
}

static int event_cancel(struct gen *g)
{
    rng *r = &g->flow;
    struct side *s = gen_side(g, rng_chance(r, 0.5));
    if (s->n < 2)
        return 0;
    int64_t last = (int64_t)s->n - 1;
    /* Quotes near the touch come and go; deep orders are pulled whole. */
    if (rng_chance(r, 0.5))
        return cancel_at(g, s, (size_t)clamp64((int64_t)rng_exp(r, 5.0), 0, last), 0.4);
    return cancel_at(g, s, (size_t)rng_range(r, 0, last), 0.1);
}

/* The touch's owners resize their quotes all the time: the busiest level of
 * the book changes without moving the price. */
static int event_requote(struct gen *g)
{
    struct side *s = gen_side(g, rng_chance(&g->flow, 0.5));
    if (rng_chance(&g->flow, 0.5))
        return place_limit(g, s->bid, side_touch(s)->px, maker_size(g, 0));
    return cancel_at(g, s, 0, 0.85);
}

/* A touch on the wrong side of fair is stale: takers lift it or its owner pulls it. */
static int chase_stale(struct gen *g, int stale_ask)
{
    if (rng_chance(&g->flow, 0.6))
        return market_order(g, stale_ask, taker_size(g));
    return cancel_at(g, gen_side(g, !stale_ask), 0, 0.0);
}

static int one_event(struct gen *g)
{
    rng *r = &g->flow;
    int64_t fb = fair_bid(g);
    int stale_ask = side_touch(&g->asks)->px < fb;
    int stale_bid = side_touch(&g->bids)->px > fb + 1;
    double u = rng_uniform(r);
    if ((stale_ask || stale_bid) && u < 0.5)
        return chase_stale(g, stale_ask);
    u = rng_uniform(r);
    if (u < 0.38)
        return event_add(g);
    if (u < 0.58)
        return event_requote(g);
    if (u < 0.88)
        return event_cancel(g);
    return market_order(g, rng_chance(r, buy_bias(g)), taker_size(g));
}

/* Market makers close a gap in the spread quickly, quoting one tick from
 * the other side on the side farther from fair, so the spread is one tick
 * most of the time. */
static int fill_gap(struct gen *g)
{
    int64_t b = side_touch(&g->bids)->px, a = side_touch(&g->asks)->px;
    if (a - b <= 1)
        return 0;
    int bid = g->fair - (double)b > (double)a - g->fair;
    return place_limit(g, bid, bid ? a - 1 : b + 1, maker_size(g, 0));
}

static int64_t deep_gap(struct gen *g)
{
    return 1 + (int64_t)rng_exp(&g->flow, 22.0);
}

/* Keep enough levels for a 1000-level snapshot on the side the price walks
 * into, and forget the far end of the side it walks away from. */
static int keep_depth(struct gen *g, struct side *s)
{
    while (s->n < DEPTH_MIN) {
        int64_t far = s->n ? s->lv[0].px : s->bid ? fair_bid(g) + 1 : fair_bid(g);
        int64_t px = s->bid ? far - deep_gap(g) : far + deep_gap(g);
        if (px <= 0) /* no room below zero: live with a thinner book */
            break;
        if (gen_set_level(g, s, px, maker_size(g, 100000)) < 0)
            return -1;
    }
    if (s->n > DEPTH_MAX)
        return gen_set_level(g, s, s->lv[0].px, 0);
    return 0;
}

/* ---- Price process ---- */

/*
 * Every 100 ms: log-volatility mean-reverts with a half-life of about ten
 * minutes (clusters of busy and calm), fair walks with that volatility
 * (220 ticks a second's square root in normal times), and about once an hour
 * jumps by $15 plus an exponential $30, which sweeps the book up to the new
 * price and leaves volatility raised.
 */
static int step_fair(struct gen *g)
{
    rng *r = &g->flow;
    const double phi = 0.99988, shock = 0.75 * sqrt(1.0 - phi * phi);
    const double ticks_per_sqrt_step = 220.0 * sqrt(0.1);
    g->vol_state = phi * g->vol_state + shock * rng_normal(r);
    g->fair += ticks_per_sqrt_step * exp(g->vol_state) * rng_normal(r);
    if (!rng_chance(r, 0.1 / 3600.0))
        return 0;
    int up = rng_chance(r, 0.5);
    double jump = 1500.0 + rng_exp(r, 3000.0);
    g->fair += up ? jump : -jump;
    g->vol_state += 0.8;
    int64_t left;
    return take(g, up, up ? fair_bid(g) : fair_bid(g) + 1, INT64_MAX / 4, &left);
}

/* Events per second: busier when volatile. */
static double event_rate(const struct gen *g)
{
    return 4.5 * exp(0.8 * g->vol_state);
}

/* ---- The capture ---- */

/* The book as the recording finds it: built with side_store, not
 * gen_set_level, because it is no diff's change. */
static int init_side(struct gen *g, struct side *s, int64_t touch)
{
    int64_t px = touch;
    for (int k = 0; k < INITIAL_LEVELS; k++) {
        if (side_store(s, px, maker_size(g, (int64_t)k * 20)) < 0) {
            set_err(g->err, g->errlen, "book model: out of memory");
            return -1;
        }
        int64_t gap = k < 20 ? 1 + (int64_t)rng_exp(&g->flow, 6.0) : deep_gap(g);
        px = s->bid ? px - gap : px + gap;
    }
    return 0;
}

static int gen_init(struct gen *g, uint64_t seed, int64_t start, int64_t duration)
{
    rng_seed(&g->flow, seed, 1);
    rng_seed(&g->latency, seed, 2);
    g->bids.bid = 1;
    g->asks.bid = 0;
    g->fair = START_PRICE_TICKS + 0.5;
    g->now = start;
    g->end = start + duration;
    g->update_id = g->diffed_id = START_UPDATE_ID;
    g->trade_id = START_TRADE_ID;
    if (init_side(g, &g->bids, fair_bid(g)) < 0 || init_side(g, &g->asks, fair_bid(g) + 1) < 0)
        return -1;
    g->quoted_bid = *side_touch(&g->bids);
    g->quoted_ask = *side_touch(&g->asks);
    return 0;
}

static void gen_free(struct gen *g)
{
    side_free(&g->bids);
    side_free(&g->asks);
    free(g->msg.p);
    free(g->snapshot.p);
}

static int after_event(struct gen *g)
{
    if (keep_depth(g, &g->bids) < 0 || keep_depth(g, &g->asks) < 0)
        return -1;
    return emit_ticker_if_moved(g);
}

/*
 * Take the snapshot between two changes of a batch (this is called before an
 * event, which always changes the book), once a couple of diffs have gone
 * out, and early enough in the batch that it arrives before the diff that
 * straddles it, as in the real capture.
 */
static void maybe_snapshot(struct gen *g, int64_t start, int64_t next_diff)
{
    if (g->snapshot_state != 0 || g->diffs_sent < 2 || g->now < start + SNAPSHOT_AFTER_NS ||
        g->update_id == g->diffed_id)
        return;
    int64_t latency = rng_range(&g->latency, 12 * TS_NS_PER_MS, 30 * TS_NS_PER_MS);
    if (g->now + latency < next_diff)
        take_snapshot(g, latency);
}

/*
 * Run the market from start to end. Three clocks interleave: the 100 ms
 * diff boundary (which also steps the fair price), the next random event,
 * and a pending gap fill.
 */
static int run_market(struct gen *g, int64_t start)
{
    int64_t next_diff = start + DIFF_INTERVAL_NS;
    int64_t next_event = start + (int64_t)rng_exp(&g->flow, 1e9 / event_rate(g));
    int64_t next_fill = INT64_MAX;
    while (g->now < g->end) {
        if (next_diff <= next_event && next_diff <= next_fill) {
            g->now = next_diff;
            next_diff += DIFF_INTERVAL_NS;
            if (emit_diff(g, g->now) < 0 || step_fair(g) < 0 || after_event(g) < 0)
                return -1;
            continue;
        }
        int gap_fill = next_fill <= next_event;
        g->now = gap_fill ? next_fill : next_event;
        if (!gap_fill)
            maybe_snapshot(g, start, next_diff);
        if ((gap_fill ? fill_gap(g) : one_event(g)) < 0 || after_event(g) < 0)
            return -1;
        if (gap_fill)
            next_fill = INT64_MAX;
        else
            next_event = g->now + 1 + (int64_t)rng_exp(&g->flow, 1e9 / event_rate(g));
        if (next_fill == INT64_MAX && side_touch(&g->asks)->px - side_touch(&g->bids)->px > 1 &&
            rng_chance(&g->flow, 0.97))
            next_fill = g->now + 1 + (int64_t)rng_exp(&g->flow, 8.0 * TS_NS_PER_MS);
    }
    return 0;
}

/* The capture is written under a temporary name and renamed when whole, so
 * an interrupted build never leaves a truncated file that looks finished. */
static int finish_file(const char *tmp, const char *path, char *err, size_t errlen)
{
    if (rename(tmp, path) != 0) {
        set_err(err, errlen, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

static int write_capture(const char *dir, uint64_t seed, int64_t duration, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    int64_t start = ts_days_from_civil(2024, 1, 2) * TS_NS_PER_DAY;
    struct gen g = {.err = err, .errlen = errlen};
    int rc = -1;

    snprintf(path, sizeof path, "%s/%s", dir, CAPTURE_NAME);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    g.gz_path = path;
    /* zlib's default gzip header has no file name and mtime 0: same bytes every run. */
    g.gz = gzopen(tmp, "wb6");
    if (!g.gz) {
        set_err(err, errlen, "%s: cannot create: %s", tmp,
                errno ? strerror(errno) : "out of memory");
        return -1;
    }
    gzbuffer(g.gz, 1 << 18);
    if (gen_init(&g, seed, start, duration) == 0 && run_market(&g, start) == 0 &&
        write_snapshot_by(&g, INT64_MAX) == 0)
        rc = 0;
    if (gzclose(g.gz) != Z_OK && rc == 0) {
        set_err(err, errlen, "%s: cannot finish the gzip stream: %s", tmp, strerror(errno));
        rc = -1;
    }
    gen_free(&g);
    if (rc < 0) {
        remove(tmp);
        return -1;
    }
    return finish_file(tmp, path, err, errlen);
}

/* ---- Daily bars ---- */

/* Market regimes of the daily series: drift and volatility per day. Long
 * enough runs of a trend that a moving-average crossover catches a few a year. */
struct regime {
    double drift, vol, mean_days;
};

static const struct regime regimes[] = {
    {0.0020, 0.012, 70},   /* calm uptrend */
    {0.0025, 0.028, 45},   /* volatile rally */
    {-0.0015, 0.014, 60},  /* calm downtrend */
    {-0.0030, 0.032, 35},  /* volatile selloff */
    {0.0000, 0.009, 50},   /* sideways */
};
#define NREGIMES (sizeof regimes / sizeof regimes[0])

struct bar {
    int64_t open, high, low, close; /* cents */
    int64_t volume;
};

static int64_t to_cents(double price)
{
    return round_clamped(price * 100.0, 1, INT64_MAX / 4);
}

/* One day: the open gaps a little from yesterday's close; high and low reach
 * past both by a random part of the day's volatility. */
static struct bar next_bar(rng *r, const struct regime *rg, double *close)
{
    struct bar b;
    double open = *close * exp(0.15 * rg->vol * rng_normal(r));
    double ret = rg->drift - rg->vol * rg->vol / 2.0 + rg->vol * rng_normal(r);
    *close = open * exp(ret);
    b.open = to_cents(open);
    b.close = to_cents(*close);
    int64_t top = b.open > b.close ? b.open : b.close;
    int64_t bottom = b.open < b.close ? b.open : b.close;
    b.high = to_cents((double)top / 100.0 * exp(fabs(rng_normal(r)) * rg->vol * 0.5));
    b.low = to_cents((double)bottom / 100.0 * exp(-fabs(rng_normal(r)) * rg->vol * 0.5));
    b.high = b.high > top ? b.high : top;
    b.low = b.low < bottom ? b.low : bottom;
    double volume = 1.5e6 * exp(0.35 * rng_normal(r)) * (1.0 + 25.0 * fabs(ret));
    b.volume = round_clamped(volume, 1, INT64_MAX / 4);
    return b;
}

static void csv_bar(struct buf *b, int64_t day, const struct bar *bar)
{
    char iso[TS_ISO_MAX];
    b->len = 0;
    if (ts_format_iso(day * TS_NS_PER_DAY, iso, sizeof iso) < 10)
        b->failed = 1;
    else
        buf_put(b, iso, 10);
    const int64_t cols[4] = {bar->open, bar->high, bar->low, bar->close};
    for (int i = 0; i < 4; i++) {
        buf_put(b, ",", 1);
        buf_fixed(b, cols[i], 2);
    }
    buf_put(b, ",", 1);
    buf_int(b, bar->volume);
    buf_put(b, "\n", 1);
}

static int write_daily(const char *dir, uint64_t seed, int days, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    rng r;
    struct buf line = {0};
    double close = 100.0;
    size_t regime = NREGIMES - 1; /* a sideways first month */
    double regime_left = 30;
    int64_t day0 = ts_days_from_civil(2020, 1, 1);
    int rc = 0;

    snprintf(path, sizeof path, "%s/%s", dir, DAILY_NAME);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        set_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    rng_seed(&r, seed, 3);
    fputs("Date,Open,High,Low,Close,Volume\n", f);
    for (int d = 0; d < days && rc == 0; d++) {
        if (regime_left <= 0) {
            regime = (regime + (size_t)rng_range(&r, 1, NREGIMES - 1)) % NREGIMES;
            regime_left = 15 + rng_exp(&r, regimes[regime].mean_days);
        }
        regime_left -= 1;
        struct bar bar = next_bar(&r, &regimes[regime], &close);
        csv_bar(&line, day0 + d, &bar);
        if (line.failed || fwrite(line.p, 1, line.len, f) != line.len)
            rc = -1;
    }
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0 || rc < 0) {
        set_err(err, errlen, "%s: write failed: %s", tmp,
                line.failed ? "out of memory" : strerror(errno));
        free(line.p);
        remove(tmp);
        return -1;
    }
    free(line.p);
    return finish_file(tmp, path, err, errlen);
}

/* ---- Command line ---- */

struct options {
    const char *out;
    uint64_t seed;
    int64_t millihours;
    int64_t days;
};

static void usage(FILE *to)
{
    fputs("usage: gen_sample [--out DIR] [--seed N] [--hours H] [--days D]\n"
          "Writes synthetic sample data into DIR (default .):\n"
          "  " CAPTURE_NAME "  Binance spot BTCUSDT raw capture, H hours from\n"
          "      2024-01-02T00:00:00Z (default 3; decimals allowed, e.g. 0.25)\n"
          "  " DAILY_NAME "  D daily bars of SAMPLE from 2020-01-01 (default 1461)\n"
          "Same seed (default 1), same bytes.\n",
          to);
}

/* A whole number in [lo, hi], or a decimal with up to `scale` places. */
static int parse_number(const char *opt, const char *s, int scale, int64_t lo, int64_t hi,
                        int64_t *out, char *err, size_t errlen)
{
    int64_t v;
    int rc = s ? fixed_parse(s, strlen(s), scale, &v) : FIXED_ESYNTAX;
    if (rc != FIXED_OK || v < lo || v > hi) {
        set_err(err, errlen, "%s: bad value '%s': %s", opt, s ? s : "",
                rc != FIXED_OK ? fixed_strerror(rc) : "out of range");
        return -1;
    }
    *out = v;
    return 0;
}

/* @return 0 to run, 1 when --help was asked, -1 on a bad command line. */
static int parse_args(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
    *o = (struct options){".", DEFAULT_SEED, DEFAULT_MILLIHOURS, DEFAULT_DAYS};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t seed;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--out") && strcmp(a, "--seed") && strcmp(a, "--hours") &&
            strcmp(a, "--days")) {
            set_err(err, errlen, "%s: unknown option", a);
            return -1;
        }
        if (!v) {
            set_err(err, errlen, "%s: needs a value", a);
            return -1;
        }
        if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--seed") == 0) {
            if (parse_number(a, v, 0, 0, INT64_MAX, &seed, err, errlen) < 0)
                return -1;
            o->seed = (uint64_t)seed;
        } else if (strcmp(a, "--hours") == 0) {
            if (parse_number(a, v, 3, 1, MAX_MILLIHOURS, &o->millihours, err, errlen) < 0)
                return -1;
        } else if (parse_number(a, v, 0, 1, MAX_DAYS, &o->days, err, errlen) < 0) {
            return -1;
        }
        i++;
    }
    return 0;
}

static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        set_err(err, errlen, "%s: cannot create folder: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "%s: not a folder", dir);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    char err[8192];
    int rc = parse_args(argc, argv, &o, err, sizeof err);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "gen_sample: %s\n", err);
        usage(rc < 0 ? stderr : stdout);
        return rc < 0 ? 2 : 0;
    }
    int64_t duration = o.millihours * (3600 * TS_NS_PER_SEC / 1000);
    if (ensure_dir(o.out, err, sizeof err) < 0 ||
        write_capture(o.out, o.seed, duration, err, sizeof err) < 0 ||
        write_daily(o.out, o.seed, (int)o.days, err, sizeof err) < 0) {
        fprintf(stderr, "gen_sample: %s\n", err);
        return 1;
    }
    return 0;
}
