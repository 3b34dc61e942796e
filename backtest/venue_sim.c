/*
 * venue_sim.c -- the simulated venue: matching against the data's book,
 * queue position, latencies and fees (the contract is venue_sim.h; the rules
 * and their limits are written for users in docs/backtesting.md).
 *
 * The venue lives on virtual time. What it must do later sits in a binary
 * heap of jobs ordered by (time, sequence): an order or a cancel reaching
 * it, a report reaching the engine. Both directions are FIFO, like the one
 * connection they model: a message never overtakes one sent before it, so a
 * cancel never arrives before its order and a fill never reaches the engine
 * before the acceptance of its order, whatever the latency draws.
 *
 * Reports made by one step (an arrival, a cancel, a market event) collect in
 * an outbox; at the end of the step they leave together: in tick mode as
 * jobs due one response latency later, in bar mode (no latency) straight to
 * the sink. The sink may call back into the venue (a strategy's on_fill
 * sending an order): that only queues a job, so nothing the venue is
 * walking changes under it.
 *
 * Open orders are in two arrays: `resting` (tick mode: limits in the book,
 * by instrument, side, price priority, time priority, so a trade walks its
 * side best first) and `waiting` (tick mode: stops not yet triggered; bar
 * mode: every open order; in arrival order). A handful of open orders is
 * the usual case, so arrays beat anything cleverer.
 */
#include "venue_sim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "money.h"

#define SIM_VENUE_ID_MAX 24
#define SIM_DESCRIBE_MAX 512
#define SIM_DESCRIBE_JSON_MAX 1024
/* Latency draws above this are clamped (an exponential's far tail): time
 * arithmetic stays far from overflow. */
#define SIM_LATENCY_CAP 1e18

static const char SIM_NO_LIQUIDITY[] = "no more liquidity";
static const char SIM_POST_ONLY[] = "post_only would take liquidity";
static const char SIM_FOK[] = "fok cannot fill";
static const char SIM_IOC[] = "ioc remainder";
static const char SIM_CANCELED[] = "canceled on request";
static const char SIM_DATA_ENDED[] = "data ended";

/* The venue's copy of an open order. */
typedef struct sim_order {
    char id[ORDER_ID_MAX + 1];
    char venue_id[SIM_VENUE_ID_MAX];
    order_request req;
    int64_t remaining;
    int64_t ahead;      /* conservative queue: quantity still in front of it */
    int64_t arrived;    /* venue time it arrived */
    uint64_t seq;       /* arrival order: time priority */
    int bars_seen;      /* bar mode: 0 until its first eligible bar is done */
    int triggered;      /* stop orders: the stop was reached */
    int done;           /* closed during the current step: to be removed */
} sim_order;

typedef struct sim_orders {
    sim_order *v;
    size_t n, cap;
} sim_orders;

typedef enum sim_job_kind { SIM_JOB_ARRIVE = 1, SIM_JOB_CANCEL = 2, SIM_JOB_REPORT = 3 } sim_job_kind;

typedef struct sim_job {
    sim_job_kind kind;
    union {
        sim_order order;               /* ARRIVE */
        char id[ORDER_ID_MAX + 1];     /* CANCEL */
        exec_report rep;               /* REPORT */
    } u;
} sim_job;

typedef struct sim_entry {
    int64_t time;
    uint64_t seq;
    sim_job job;
} sim_entry;

struct sim_venue {
    sim_config cfg;
    const instrument_registry *reg;
    const bookset *books;
    exec_sink sink;
    void *ud;
    rng order_rng, response_rng;
    int64_t last_arrival, last_delivery; /* the FIFO channels */
    uint64_t job_seq, order_seq;
    sim_entry *heap;
    size_t nheap, capheap;
    sim_orders resting, waiting;
    exec_report *outbox;
    size_t nout, capout;
    int finishing;      /* sim_finish runs: reports go out at once */
    int failed;         /* out of memory once: sim_on_market says so */
    char describe[SIM_DESCRIBE_MAX];
    char describe_json[SIM_DESCRIBE_JSON_MAX];
};

/* ---- Small helpers ---- */

/* Make room for `need` items of `size` bytes. @return the (maybe moved)
 * array, or NULL when out of memory (the old one is kept). */
static int64_t sim_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void sim_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static int sim_is_stop(const sim_order *o)
{
    return o->req.type == ORDER_STOP || o->req.type == ORDER_STOP_LIMIT;
}

/* Market-like: a market order, or a stop-market order once triggered. */
static int sim_is_market(const sim_order *o)
{
    return o->req.type == ORDER_MARKET || o->req.type == ORDER_STOP;
}

/* The side of the book an order takes from. */
static book_side sim_far_side(const sim_order *o)
{
    return o->req.side == ORDER_BUY ? BOOK_ASK : BOOK_BID;
}

static book_side sim_own_side(const sim_order *o)
{
    return o->req.side == ORDER_BUY ? BOOK_BID : BOOK_ASK;
}

/* 1 if a price is at or better than the order's limit (always for market). */
static int sim_in_limit(const sim_order *o, int64_t price)
{
    if (sim_is_market(o))
        return 1;
    return o->req.side == ORDER_BUY ? price <= o->req.price : price >= o->req.price;
}

/* ---- Latency ---- */

int64_t sim_latency_draw(const sim_latency *l, rng *r)
{
    double v;
    switch (l->kind) {
    case SIM_LATENCY_NORMAL:
        v = (double)l->a_ns + (double)l->b_ns * rng_normal(r);
        break;
    case SIM_LATENCY_EXPONENTIAL:
        v = rng_exp(r, (double)l->a_ns);
        break;
    case SIM_LATENCY_UNIFORM:
        return rng_range(r, l->a_ns, l->b_ns);
    default:
        return l->a_ns;
    }
    if (!(v > 0))
        return 0;
    return (int64_t)llround(v < SIM_LATENCY_CAP ? v : SIM_LATENCY_CAP);
}

/* When a message sent at `now` on a FIFO channel arrives. */
static int64_t sim_channel(int64_t now, const sim_latency *l, rng *r, int64_t *last)
{
    int64_t t = now + sim_latency_draw(l, r);
    if (t < *last)
        t = *last;
    *last = t;
    return t;
}

/* ---- The job heap ---- */

/* 1 if a job at (time, seq) comes before entry e. */
static int sim_before(int64_t time, uint64_t seq, const sim_entry *e)
{
    return time < e->time || (time == e->time && seq < e->seq);
}

static int sim_earlier(const sim_entry *a, const sim_entry *b)
{
    return sim_before(a->time, a->seq, b);
}

static void sim_fail(sim_venue *v)
{
    v->failed = 1;
}

static int sim_push(sim_venue *v, int64_t time, const sim_job *job)
{
    sim_entry *heap = grow_capacity(v->heap, &v->capheap, v->nheap + 1, sizeof *heap, 16);
    size_t i;
    if (!heap) {
        sim_fail(v);
        return -1;
    }
    v->heap = heap;
    i = v->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!sim_before(time, v->job_seq, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i].time = time;
    heap[i].seq = v->job_seq++;
    heap[i].job = *job;
    return 0;
}

/* Take the earliest job out (the heap is not empty). */
static void sim_pop(sim_venue *v, sim_entry *out)
{
    sim_entry *heap = v->heap;
    size_t n = --v->nheap, i = 0;
    *out = heap[0];
    if (n == 0)
        return;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && sim_earlier(&heap[child + 1], &heap[child]))
            child++;
        if (!sim_earlier(&heap[child], &heap[n]))
            break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = heap[n];
}

/* ---- Reports ---- */

static exec_report *sim_report(sim_venue *v, exec_kind kind, const sim_order *o, int64_t ts,
                               const char *reason)
{
    exec_report *out = grow_capacity(v->outbox, &v->capout, v->nout + 1, sizeof *out, 16);
    exec_report *r;
    if (!out) {
        sim_fail(v);
        return NULL;
    }
    v->outbox = out;
    r = &out[v->nout++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    sim_copy(r->order_id, sizeof r->order_id, o->id);
    sim_copy(r->venue_order_id, sizeof r->venue_order_id, o->venue_id);
    r->ts = ts;
    if (reason)
        sim_copy(r->reason, sizeof r->reason, reason);
    return r;
}

/* A fill of qty at price; the fee is in the quote asset, rounded once. */
static void sim_fill(sim_venue *v, sim_order *o, int64_t price, int64_t qty,
                     order_liquidity liq, int64_t ts)
{
    const lutra_instrument *inst = instrument_registry_get(v->reg, o->req.instrument);
    double bps = liq == ORDER_MAKER ? v->cfg.maker_fee_bps : v->cfg.taker_fee_bps;
    exec_report *r = sim_report(v, EXEC_FILL, o, ts, NULL);
    o->remaining -= qty;
    if (!r)
        return;
    r->price = price;
    r->qty = qty;
    r->liquidity = liq;
    r->fee = money_bps(money_notional(price, inst->price_scale, qty, inst->size_scale), bps);
    sim_copy(r->fee_asset, sizeof r->fee_asset, inst->quote);
}

/* Hand the outbox to the sink. The sink may send orders or cancels: they
 * only queue jobs and never touch the outbox. */
static void sim_deliver_outbox(sim_venue *v)
{
    for (size_t i = 0; i < v->nout; i++) {
        exec_report rep = v->outbox[i];
        v->sink(v->ud, &rep);
    }
    v->nout = 0;
}

/* The end of a step at venue time ts: its reports leave together. */
static void sim_flush(sim_venue *v, int64_t ts)
{
    sim_job job;
    int64_t due;
    if (v->nout == 0)
        return;
    if (v->cfg.bar_mode || v->finishing) {
        sim_deliver_outbox(v);
        return;
    }
    due = sim_channel(ts, &v->cfg.response_latency, &v->response_rng, &v->last_delivery);
    job.kind = SIM_JOB_REPORT;
    for (size_t i = 0; i < v->nout; i++) {
        job.u.rep = v->outbox[i];
        sim_push(v, due, &job);
    }
    v->nout = 0;
}

/* ---- Open orders ---- */

static sim_order *sim_orders_find(sim_orders *a, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].id, id))
            return &a->v[i];
    return NULL;
}

static int sim_orders_insert(sim_venue *v, sim_orders *a, size_t at, const sim_order *o)
{
    sim_order *items = grow_capacity(a->v, &a->cap, a->n + 1, sizeof *items, 16);
    if (!items) {
        sim_fail(v);
        return -1;
    }
    a->v = items;
    memmove(&items[at + 1], &items[at], (a->n - at) * sizeof *items);
    items[at] = *o;
    a->n++;
    return 0;
}

static void sim_orders_remove(sim_orders *a, sim_order *o)
{
    size_t at = (size_t)(o - a->v);
    memmove(&a->v[at], &a->v[at + 1], (a->n - at - 1) * sizeof *a->v);
    a->n--;
}

/* Drop the orders marked done, keeping the others' order. */
static void sim_orders_compact(sim_orders *a)
{
    size_t kept = 0;
    for (size_t i = 0; i < a->n; i++)
        if (!a->v[i].done)
            a->v[kept++] = a->v[i];
    a->n = kept;
}

/* Book priority: instrument, side, better price first, then earlier. */
static int sim_priority_before(const sim_order *a, const sim_order *b)
{
    if (a->req.instrument != b->req.instrument)
        return a->req.instrument < b->req.instrument;
    if (a->req.side != b->req.side)
        return a->req.side < b->req.side;
    if (a->req.price != b->req.price)
        return a->req.side == ORDER_BUY ? a->req.price > b->req.price
                                        : a->req.price < b->req.price;
    return a->seq < b->seq;
}

/* Our own resting quantity already at o's price: in front of o. */
static int64_t sim_own_ahead(const sim_venue *v, const sim_order *o)
{
    int64_t sum = 0;
    for (size_t i = 0; i < v->resting.n; i++) {
        const sim_order *r = &v->resting.v[i];
        if (r->req.instrument == o->req.instrument && r->req.side == o->req.side &&
            r->req.price == o->req.price)
            sum += r->remaining;
    }
    return sum;
}

/* Put a limit order in the book with its queue position. */
static void sim_rest(sim_venue *v, sim_order *o, const book *b)
{
    size_t at = v->resting.n;
    o->ahead = 0;
    if (v->cfg.queue == SIM_QUEUE_CONSERVATIVE)
        o->ahead = (b ? book_qty_at(b, sim_own_side(o), o->req.price) : 0) + sim_own_ahead(v, o);
    while (at > 0 && sim_priority_before(o, &v->resting.v[at - 1]))
        at--;
    sim_orders_insert(v, &v->resting, at, o);
}

/* ---- Tick mode: orders meeting the book ---- */

/*
 * Walk the far side of the book from the touch, within the order's limit,
 * up to its remaining quantity. execute: fill each level touched (taker, at
 * the level's price). @return the quantity taken (or takeable).
 */
static int64_t sim_walk(sim_venue *v, sim_order *o, const book *b, int64_t ts, int execute)
{
    book_level lvl;
    int64_t want = o->remaining, got = 0;
    for (size_t i = 0; b && got < want && book_level_at(b, sim_far_side(o), i, &lvl) == 0 &&
                       sim_in_limit(o, lvl.price);
         i++) {
        int64_t q = sim_min(lvl.qty, want - got);
        if (q <= 0)
            continue;
        if (execute)
            sim_fill(v, o, lvl.price, q, ORDER_TAKER, ts);
        got += q;
    }
    return got;
}

/*
 * An order meets the book: on arrival, or when its stop triggers (then a
 * refusal is an expiry: the order was already accepted). Takes what it can,
 * then the rest rests, expires (market, IOC) or was refused (FOK, post-only).
 */
static void sim_activate(sim_venue *v, sim_order *o, int64_t ts, int arriving)
{
    const book *b = bookset_book(v->books, o->req.instrument);
    int64_t can = sim_walk(v, o, b, ts, 0);
    const char *refusal = NULL;

    if (o->req.tif == ORDER_POST_ONLY && can > 0)
        refusal = SIM_POST_ONLY;
    else if (o->req.tif == ORDER_FOK && can < o->remaining)
        refusal = SIM_FOK;
    if (refusal) {
        sim_report(v, arriving ? EXEC_REJECTED : EXEC_EXPIRED, o, ts, refusal);
        return;
    }
    if (arriving)
        sim_report(v, EXEC_ACCEPTED, o, ts, NULL);
    sim_walk(v, o, b, ts, 1);
    if (o->remaining == 0)
        return;
    if (sim_is_market(o))
        sim_report(v, EXEC_EXPIRED, o, ts, SIM_NO_LIQUIDITY);
    else if (o->req.tif == ORDER_IOC)
        sim_report(v, EXEC_EXPIRED, o, ts, SIM_IOC);
    else
        sim_rest(v, o, b);
}

/* @return 0 if the venue takes the order, else -1 with why in reason. */
static int sim_check_order(sim_venue *v, const sim_order *o, char *reason, size_t len)
{
    const order_request *q = &o->req;
    int limited = q->type == ORDER_LIMIT || q->type == ORDER_STOP_LIMIT;

    if (!instrument_registry_get(v->reg, q->instrument))
        snprintf(reason, len, "unknown instrument %" PRIu32, q->instrument);
    else if ((unsigned)q->type > ORDER_STOP_LIMIT)
        snprintf(reason, len, "unknown order type %d", (int)q->type);
    else if ((unsigned)q->tif > ORDER_POST_ONLY)
        snprintf(reason, len, "unknown time in force %d", (int)q->tif);
    else if ((unsigned)q->side > ORDER_SELL)
        snprintf(reason, len, "unknown side %d", (int)q->side);
    else if (q->qty <= 0)
        snprintf(reason, len, "qty must be > 0, got %" PRId64, q->qty);
    else if (limited && q->price <= 0)
        snprintf(reason, len, "a %s order needs a price > 0, got %" PRId64,
                 q->type == ORDER_LIMIT ? "limit" : "stop_limit", q->price);
    else if (sim_is_stop(o) && q->stop_price <= 0)
        snprintf(reason, len, "a stop order needs a stop_price > 0, got %" PRId64,
                 q->stop_price);
    else if (q->tif == ORDER_POST_ONLY && !limited)
        snprintf(reason, len, "post_only needs a limit order");
    else if (sim_orders_find(&v->resting, o->id) || sim_orders_find(&v->waiting, o->id))
        snprintf(reason, len, "duplicate order id %s", o->id);
    else
        return 0;
    return -1;
}

/* An order reaches the venue at time t. */
static void sim_arrive(sim_venue *v, sim_order *o, int64_t t)
{
    char reason[ORDER_REASON_MAX];

    o->arrived = t;
    o->seq = ++v->order_seq;
    snprintf(o->venue_id, sizeof o->venue_id, "sim-%" PRIu64, o->seq);
    if (sim_check_order(v, o, reason, sizeof reason) < 0) {
        sim_report(v, EXEC_REJECTED, o, t, reason);
        return;
    }
    if (v->cfg.bar_mode || sim_is_stop(o)) {
        sim_report(v, EXEC_ACCEPTED, o, t, NULL);
        sim_orders_insert(v, &v->waiting, v->waiting.n, o);
        return;
    }
    sim_activate(v, o, t, 1);
}

/* A cancel reaches the venue. One for an order already closed (filled,
 * expired, rejected) is dropped: that order's own report says how it
 * ended, and no exchange reports anything else worth a state. */
static void sim_cancel_arrive(sim_venue *v, const char *id, int64_t t)
{
    sim_orders *lists[2] = {&v->resting, &v->waiting};
    for (size_t i = 0; i < 2; i++) {
        sim_order *o = sim_orders_find(lists[i], id);
        if (o) {
            sim_report(v, EXEC_CANCELED, o, t, SIM_CANCELED);
            sim_orders_remove(lists[i], o);
            return;
        }
    }
}

/* ---- Tick mode: trades ---- */

/* 1 if a trade at price reaches a resting order (at or through its price). */
static int sim_trade_reaches(const sim_order *o, int64_t price)
{
    return o->req.side == ORDER_BUY ? price <= o->req.price : price >= o->req.price;
}

/*
 * A public trade of qty at price meets our resting orders of one side
 * (`passive`: the side the aggressor traded against), best price first.
 * Orders the trade went through fill from it whatever their queue; at the
 * trade's price, the volume that reached the level first consumes each
 * order's `ahead`, and what is left fills it. Our fills from one trade never
 * add up to more than its quantity. @return 1 if an order filled.
 */
static int sim_trade_side(sim_venue *v, uint32_t inst, order_side passive, int64_t price,
                          int64_t qty, int64_t ts)
{
    int64_t left = qty, at_level = -1;
    int filled = 0;

    for (size_t i = 0; i < v->resting.n; i++) {
        sim_order *o = &v->resting.v[i];
        int64_t fill;
        if (o->req.instrument != inst || o->req.side != passive)
            continue;
        if (!sim_trade_reaches(o, price))
            break; /* the rest of this side is at worse prices */
        if (o->req.price != price) {
            fill = sim_min(o->remaining, left);
        } else {
            int64_t used;
            if (at_level < 0)
                at_level = left; /* what better-priced orders left reaches the level */
            used = sim_min(o->ahead, at_level);
            o->ahead -= used;
            fill = sim_min(sim_min(o->remaining, at_level - used), left);
        }
        if (fill <= 0)
            continue;
        sim_fill(v, o, o->req.price, fill, ORDER_MAKER, ts);
        left -= fill;
        o->done = o->remaining == 0;
        filled = 1;
    }
    return filled;
}

/* Stops whose price a trade reached trigger, in arrival order. */
static void sim_trigger_stops(sim_venue *v, uint32_t inst, int64_t price, int64_t ts)
{
    size_t i = 0;
    while (i < v->waiting.n) {
        sim_order o = v->waiting.v[i];
        int hit = o.req.side == ORDER_BUY ? price >= o.req.stop_price
                                          : price <= o.req.stop_price;
        if (o.req.instrument != inst || !hit) {
            i++;
            continue;
        }
        sim_orders_remove(&v->waiting, &v->waiting.v[i]);
        o.triggered = 1;
        sim_activate(v, &o, ts, 0);
    }
}

static void sim_on_trade(sim_venue *v, const lutra_trade *t)
{
    uint32_t inst = t->h.instrument;
    int64_t ts = t->h.ts_recv;
    int filled = 0;

    /* A trade without an aggressor side could have hit either side. */
    if (t->h.flags & (LUTRA_F_NO_SIDE | LUTRA_F_BUY))
        filled |= sim_trade_side(v, inst, ORDER_SELL, t->price, t->qty, ts);
    if ((t->h.flags & LUTRA_F_NO_SIDE) || !(t->h.flags & LUTRA_F_BUY))
        filled |= sim_trade_side(v, inst, ORDER_BUY, t->price, t->qty, ts);
    if (filled)
        sim_orders_compact(&v->resting);
    sim_trigger_stops(v, inst, t->price, ts);
    sim_flush(v, ts);
}

/* ---- Bar mode ---- */

/* Close a bar-mode order by filling all of it at price. */
static void sim_bar_fill(sim_venue *v, sim_order *o, int64_t price, order_liquidity liq,
                         int64_t ts)
{
    sim_fill(v, o, price, o->remaining, liq, ts);
    o->done = 1;
}

static void sim_bar_expire(sim_venue *v, sim_order *o, const char *reason, int64_t ts)
{
    sim_report(v, EXEC_EXPIRED, o, ts, reason);
    o->done = 1;
}

/*
 * A limit order live from price `from` (the bar's open, or the open of a
 * gap that triggered its stop) to the bar's end. At its first chance it is
 * a taker if `from` is already at or inside its limit; later it had rested
 * in the book, so a gap through it fills it as a maker, at the open.
 */
static void sim_bar_limit(sim_venue *v, sim_order *o, const lutra_bar *bar, int64_t from,
                          int first)
{
    int buy = o->req.side == ORDER_BUY;
    int64_t ts = bar->h.ts_exch;

    if (sim_in_limit(o, from)) {
        if (first && o->req.tif == ORDER_POST_ONLY)
            sim_bar_expire(v, o, SIM_POST_ONLY, ts);
        else
            sim_bar_fill(v, o, from, first ? ORDER_TAKER : ORDER_MAKER, ts);
        return;
    }
    if (first && (o->req.tif == ORDER_IOC || o->req.tif == ORDER_FOK)) {
        sim_bar_expire(v, o, o->req.tif == ORDER_IOC ? SIM_IOC : SIM_FOK, ts);
        return;
    }
    if (buy ? bar->low <= o->req.price : bar->high >= o->req.price)
        sim_bar_fill(v, o, o->req.price, ORDER_MAKER, ts);
}

/*
 * A stop order's bar: it triggers when the bar reaches the stop, at the
 * open if the bar opens past it, else at the stop. Stop-market fills there;
 * stop-limit becomes a limit from there: after a gap the rest of the bar
 * still counts (the open came first); after a trigger inside the bar only
 * the stop price itself does (where the bar went after it is unknown), and
 * otherwise the limit waits for the next bar.
 */
static void sim_bar_stop(sim_venue *v, sim_order *o, const lutra_bar *bar)
{
    int buy = o->req.side == ORDER_BUY;
    int64_t stop = o->req.stop_price, ts = bar->h.ts_exch, at;

    if (buy ? bar->open >= stop : bar->open <= stop)
        at = bar->open;
    else if (buy ? bar->high >= stop : bar->low <= stop)
        at = stop;
    else
        return;
    o->triggered = 1;
    if (o->req.type == ORDER_STOP) {
        sim_bar_fill(v, o, at, ORDER_TAKER, ts);
        return;
    }
    if (at == bar->open) {
        sim_bar_limit(v, o, bar, at, 1);
        return;
    }
    if (sim_in_limit(o, at) && o->req.tif == ORDER_POST_ONLY)
        sim_bar_expire(v, o, SIM_POST_ONLY, ts);
    else if (sim_in_limit(o, at))
        sim_bar_fill(v, o, at, ORDER_TAKER, ts);
    else if (o->req.tif == ORDER_IOC || o->req.tif == ORDER_FOK)
        sim_bar_expire(v, o, o->req.tif == ORDER_IOC ? SIM_IOC : SIM_FOK, ts);
}

static void sim_bar_order(sim_venue *v, sim_order *o, const lutra_bar *bar)
{
    int first = o->bars_seen == 0;
    o->bars_seen = 1;
    if (sim_is_stop(o) && !o->triggered)
        sim_bar_stop(v, o, bar);
    else if (o->req.type == ORDER_MARKET)
        sim_bar_fill(v, o, bar->open, ORDER_TAKER, bar->h.ts_exch);
    else
        sim_bar_limit(v, o, bar, bar->open, first);
}

/* A bar: orders that reached the venue by its open meet it, in arrival
 * order; their reports go to the engine before this returns. */
static void sim_on_bar(sim_venue *v, const lutra_bar *bar)
{
    int64_t open = bar->h.ts_exch;
    sim_advance(v, open);
    for (size_t i = 0; i < v->waiting.n; i++) {
        sim_order *o = &v->waiting.v[i];
        if (o->req.instrument == bar->h.instrument && o->arrived <= open)
            sim_bar_order(v, o, bar);
    }
    sim_orders_compact(&v->waiting);
    sim_flush(v, open);
}

/* ---- The venue's entry points ---- */

int sim_on_market(sim_venue *v, const lutra_event *ev)
{
    if (v->failed)
        return -1;
    if (v->cfg.bar_mode && ev->h.type == LUTRA_EV_BAR)
        sim_on_bar(v, &ev->bar);
    else if (!v->cfg.bar_mode && ev->h.type == LUTRA_EV_TRADE)
        sim_on_trade(v, &ev->trade);
    /* Book records alone never fill (no trade, no evidence of execution);
     * quotes and feed status change nothing at the venue. */
    return v->failed ? -1 : 0;
}

static void sim_run_job(sim_venue *v, sim_job *job, int64_t t)
{
    switch (job->kind) {
    case SIM_JOB_ARRIVE:
        sim_arrive(v, &job->u.order, t);
        break;
    case SIM_JOB_CANCEL:
        sim_cancel_arrive(v, job->u.id, t);
        break;
    case SIM_JOB_REPORT:
        v->sink(v->ud, &job->u.rep);
        return;
    }
    sim_flush(v, t);
}

int64_t sim_next_time(const sim_venue *v)
{
    return v->nheap ? v->heap[0].time : INT64_MAX;
}

void sim_advance(sim_venue *v, int64_t now)
{
    sim_entry e;
    while (v->nheap && v->heap[0].time <= now) {
        sim_pop(v, &e);
        sim_run_job(v, &e.job, e.time);
    }
}

static void sim_end_all(sim_venue *v, sim_orders *a, int64_t now)
{
    for (size_t i = 0; i < a->n; i++)
        sim_report(v, EXEC_CANCELED, &a->v[i], now, SIM_DATA_ENDED);
    a->n = 0;
}

/*
 * Data ended. What is due by now happens; then every report still on its
 * way is delivered, orders still on theirs never arrive (cancelled), and
 * every open order is cancelled. Orders the strategies send meanwhile (from
 * on_order) meet the same end, until nothing is left.
 */
void sim_finish(sim_venue *v, int64_t now)
{
    sim_entry e;
    sim_advance(v, now);
    v->finishing = 1;
    while (v->nheap || v->resting.n || v->waiting.n) {
        while (v->nheap) {
            sim_pop(v, &e);
            if (e.job.kind == SIM_JOB_REPORT)
                v->sink(v->ud, &e.job.u.rep);
            else if (e.job.kind == SIM_JOB_ARRIVE)
                sim_report(v, EXEC_CANCELED, &e.job.u.order, now, SIM_DATA_ENDED);
            sim_flush(v, now);
        }
        sim_end_all(v, &v->resting, now);
        sim_end_all(v, &v->waiting, now);
        sim_flush(v, now);
    }
    v->finishing = 0;
}

/* ---- Orders from the engine ---- */

/* The order could not be queued: say so at once (venue.h's contract). */
static void sim_refuse_now(sim_venue *v, const order *o, int64_t now)
{
    exec_report rep;
    memset(&rep, 0, sizeof rep);
    rep.kind = EXEC_REJECTED;
    sim_copy(rep.order_id, sizeof rep.order_id, o->id);
    rep.ts = now;
    sim_copy(rep.reason, sizeof rep.reason, "venue: out of memory");
    v->sink(v->ud, &rep);
}

/* The time a message sent now reaches the venue (no latency in bar mode). */
static int64_t sim_arrival_time(sim_venue *v, int64_t now)
{
    static const sim_latency none = {SIM_LATENCY_CONSTANT, 0, 0};
    const sim_latency *l = v->cfg.bar_mode ? &none : &v->cfg.order_latency;
    return sim_channel(now, l, &v->order_rng, &v->last_arrival);
}

static int sim_submit(void *venue, const order *o, int64_t now)
{
    sim_venue *v = venue;
    sim_job job;
    sim_order *so = &job.u.order;

    memset(&job, 0, sizeof job);
    job.kind = SIM_JOB_ARRIVE;
    sim_copy(so->id, sizeof so->id, o->id);
    so->req = o->req;
    so->remaining = o->req.qty - o->filled;
    if (sim_push(v, sim_arrival_time(v, now), &job) < 0) {
        sim_refuse_now(v, o, now);
        return -1;
    }
    return 0;
}

/* Out of memory here leaves the order live at the venue: the run is marked
 * failed (sim_on_market returns -1) rather than inventing a report. */
static int sim_cancel(void *venue, const order *o, int64_t now)
{
    sim_venue *v = venue;
    sim_job job;

    memset(&job, 0, sizeof job);
    job.kind = SIM_JOB_CANCEL;
    sim_copy(job.u.id, sizeof job.u.id, o->id);
    return sim_push(v, sim_arrival_time(v, now), &job);
}

const venue_ops sim_venue_ops = {sim_submit, sim_cancel};

/* ---- Description ---- */

/* ns as milliseconds, exact, without trailing zeros: "1", "0.25". */
static void sim_format_ms(int64_t ns, char *buf, size_t cap)
{
    int64_t whole = ns / 1000000, frac = ns % 1000000;
    int n;
    if (frac == 0) {
        snprintf(buf, cap, "%" PRId64, whole);
        return;
    }
    n = snprintf(buf, cap, "%" PRId64 ".%06" PRId64, whole, frac);
    while (n > 0 && (size_t)n < cap && buf[n - 1] == '0')
        buf[--n] = '\0';
}

static const char *sim_latency_name(sim_latency_kind k)
{
    switch (k) {
    case SIM_LATENCY_NORMAL: return "normal";
    case SIM_LATENCY_EXPONENTIAL: return "exponential";
    case SIM_LATENCY_UNIFORM: return "uniform";
    default: return "constant";
    }
}

/* "normal(mean=1ms,sd=0.2ms)" or, json, {"dist":"normal","mean_ms":1,"sd_ms":0.2}. */
static void sim_latency_text(const sim_latency *l, int json, char *buf, size_t cap)
{
    static const char *const keys[][2] = {
        [SIM_LATENCY_CONSTANT] = {"value", NULL},
        [SIM_LATENCY_NORMAL] = {"mean", "sd"},
        [SIM_LATENCY_EXPONENTIAL] = {"mean", NULL},
        [SIM_LATENCY_UNIFORM] = {"min", "max"},
    };
    char a[32], b[32];
    const char *name = sim_latency_name(l->kind);
    const char *const *k = keys[l->kind];

    sim_format_ms(l->a_ns, a, sizeof a);
    sim_format_ms(l->b_ns, b, sizeof b);
    if (json && k[1])
        snprintf(buf, cap, "{\"dist\":\"%s\",\"%s_ms\":%s,\"%s_ms\":%s}", name, k[0], a, k[1], b);
    else if (json)
        snprintf(buf, cap, "{\"dist\":\"%s\",\"%s_ms\":%s}", name, k[0], a);
    else if (l->kind == SIM_LATENCY_CONSTANT)
        snprintf(buf, cap, "constant(%sms)", a);
    else if (k[1])
        snprintf(buf, cap, "%s(%s=%sms,%s=%sms)", name, k[0], a, k[1], b);
    else
        snprintf(buf, cap, "%s(%s=%sms)", name, k[0], a);
}

static void sim_build_description(sim_venue *v)
{
    const sim_config *c = &v->cfg;
    const char *queue = c->queue == SIM_QUEUE_OPTIMISTIC ? "optimistic" : "conservative";
    char lo[96], lr[96], lf[96], jo[128], jr[128], jf[128];

    sim_latency_text(&c->order_latency, 0, lo, sizeof lo);
    sim_latency_text(&c->response_latency, 0, lr, sizeof lr);
    sim_latency_text(&c->feed_latency, 0, lf, sizeof lf);
    sim_latency_text(&c->order_latency, 1, jo, sizeof jo);
    sim_latency_text(&c->response_latency, 1, jr, sizeof jr);
    sim_latency_text(&c->feed_latency, 1, jf, sizeof jf);
    if (c->bar_mode) {
        snprintf(v->describe, sizeof v->describe,
                 "mode=bar fills=next_bar(market at open; limit and stop on touch, at the "
                 "price or the open on a gap) latency=none fees=maker %gbps,taker %gbps "
                 "(quote asset) own_fills_change_book=no",
                 c->maker_fee_bps, c->taker_fee_bps);
        snprintf(v->describe_json, sizeof v->describe_json,
                 "{\"mode\":\"bar\",\"fill_rules\":\"market: next bar's open; limit and "
                 "stop: when a later bar reaches the price, at the price or at the open on a "
                 "gap\",\"latency\":null,\"maker_fee_bps\":%.10g,\"taker_fee_bps\":%.10g,"
                 "\"fee_asset\":\"quote\",\"own_fills_change_book\":false}",
                 c->maker_fee_bps, c->taker_fee_bps);
        return;
    }
    snprintf(v->describe, sizeof v->describe,
             "mode=tick queue=%s order_latency=%s response_latency=%s feed_latency=%s "
             "fees=maker %gbps,taker %gbps (quote asset) own_fills_change_book=no seed=%" PRIu64,
             queue, lo, lr, lf, c->maker_fee_bps, c->taker_fee_bps, c->seed);
    snprintf(v->describe_json, sizeof v->describe_json,
             "{\"mode\":\"tick\",\"queue_model\":\"%s\",\"order_latency\":%s,"
             "\"response_latency\":%s,\"feed_latency\":%s,\"maker_fee_bps\":%.10g,"
             "\"taker_fee_bps\":%.10g,\"fee_asset\":\"quote\",\"seed\":%" PRIu64 ","
             "\"own_fills_change_book\":false,\"fill_rules\":\"market orders walk the book; "
             "resting limits fill only from trades, by the queue model\"}",
             queue, jo, jr, jf, c->maker_fee_bps, c->taker_fee_bps, c->seed);
}

const char *sim_describe(const sim_venue *v)
{
    return v->describe;
}

const char *sim_describe_json(const sim_venue *v)
{
    return v->describe_json;
}

/* ---- Life ---- */

static int sim_check_latency(const char *name, const sim_latency *l, char *err, size_t errlen)
{
    if ((unsigned)l->kind > SIM_LATENCY_UNIFORM)
        snprintf(err, errlen, "venue: %s: unknown distribution %d", name, (int)l->kind);
    else if (l->a_ns < 0 || l->b_ns < 0)
        snprintf(err, errlen, "venue: %s: negative parameter (%" PRId64 " ns, %" PRId64 " ns)",
                 name, l->a_ns, l->b_ns);
    else if (l->kind == SIM_LATENCY_UNIFORM && l->a_ns > l->b_ns)
        snprintf(err, errlen, "venue: %s: uniform min %" PRId64 " ns is above max %" PRId64 " ns",
                 name, l->a_ns, l->b_ns);
    else
        return 0;
    return -1;
}

static int sim_check_config(const sim_config *c, char *err, size_t errlen)
{
    if (sim_check_latency("order_latency", &c->order_latency, err, errlen) < 0 ||
        sim_check_latency("response_latency", &c->response_latency, err, errlen) < 0 ||
        sim_check_latency("feed_latency", &c->feed_latency, err, errlen) < 0)
        return -1;
    if ((unsigned)c->queue > SIM_QUEUE_OPTIMISTIC) {
        snprintf(err, errlen, "venue: unknown queue model %d", (int)c->queue);
        return -1;
    }
    if (!isfinite(c->maker_fee_bps) || !isfinite(c->taker_fee_bps) ||
        fabs(c->maker_fee_bps) > 10000 || fabs(c->taker_fee_bps) > 10000) {
        snprintf(err, errlen, "venue: fees must be within +-10000 bps, got maker %g taker %g",
                 c->maker_fee_bps, c->taker_fee_bps);
        return -1;
    }
    return 0;
}

sim_venue *sim_new(const sim_config *cfg, const instrument_registry *reg, const bookset *books,
                   exec_sink sink, void *ud, char *err, size_t errlen)
{
    sim_venue *v;
    if (!cfg || !reg || !books || !sink) {
        snprintf(err, errlen, "venue: a config, a registry, books and a sink are required");
        return NULL;
    }
    if (sim_check_config(cfg, err, errlen) < 0)
        return NULL;
    if (!(v = calloc(1, sizeof *v))) {
        snprintf(err, errlen, "venue: out of memory");
        return NULL;
    }
    v->cfg = *cfg;
    v->reg = reg;
    v->books = books;
    v->sink = sink;
    v->ud = ud;
    v->last_arrival = v->last_delivery = INT64_MIN;
    /* One stream per draw site: changing one latency leaves the others' draws alone. */
    rng_seed(&v->order_rng, cfg->seed, 1);
    rng_seed(&v->response_rng, cfg->seed, 2);
    sim_build_description(v);
    return v;
}

void sim_free(sim_venue *v)
{
    if (!v)
        return;
    free(v->heap);
    free(v->resting.v);
    free(v->waiting.v);
    free(v->outbox);
    free(v);
}

sim_latency sim_latency_from_config(const config_latency *l)
{
    sim_latency out = {SIM_LATENCY_CONSTANT, 0, 0};
    if (!strcmp(l->dist, "normal"))
        out.kind = SIM_LATENCY_NORMAL;
    else if (!strcmp(l->dist, "exponential"))
        out.kind = SIM_LATENCY_EXPONENTIAL;
    else if (!strcmp(l->dist, "uniform"))
        out.kind = SIM_LATENCY_UNIFORM;
    out.a_ns = (int64_t)(l->mean_ms * 1e6);
    out.b_ns = (int64_t)(l->sd_ms * 1e6);
    return out;
}
