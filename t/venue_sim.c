/*
 * The simulated venue against hand-made books and trades: latency, market
 * and limit orders meeting the book, IOC/FOK/post-only, the queue models,
 * trades through a price, cancels and their races, fees, stops, bar mode,
 * the end of the data, and determinism of random latencies.
 *
 * The fixture drives the venue the way the backtest driver does: jobs due
 * before a market event run first, and the sink records each report with
 * the driver's time when it was delivered.
 */
#include <math.h>

#include "bookset.h"
#include "instrument.h"
#include "json.h"
#include "money.h"
#include "tap.h"
#include "venue_sim.h"

#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)
#define SEC (1000 * MS)

/* BTCUSDT at tick 0.01 and lot 0.001. */
#define PX(x) ((int64_t)llround((x) * 100.0))
#define QT(x) ((int64_t)llround((x) * 1000.0))

typedef struct rec {
    exec_report rep;
    int64_t at; /* when the sink got it */
} rec;

typedef struct fixture {
    instrument_registry *reg;
    bookset *books;
    sim_venue *v;
    uint32_t inst;
    rec *recs;
    size_t n, cap;
    int64_t now;
} fixture;

enum { AGG_BUY, AGG_SELL, AGG_NONE };

static void sink(void *ud, const exec_report *r)
{
    fixture *f = ud;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->recs = realloc(f->recs, f->cap * sizeof *f->recs);
        if (!f->recs)
            bail_out("out of memory");
    }
    f->recs[f->n].rep = *r;
    f->recs[f->n].at = f->now;
    f->n++;
}

static sim_config config_zero(void)
{
    sim_config c;
    memset(&c, 0, sizeof c);
    c.queue = SIM_QUEUE_CONSERVATIVE;
    c.maker_fee_bps = 2;
    c.taker_fee_bps = 5;
    c.seed = 1;
    return c;
}

static sim_latency constant(int64_t ns)
{
    sim_latency l = {SIM_LATENCY_CONSTANT, ns, 0};
    return l;
}

static void fixture_init(fixture *f, const sim_config *cfg)
{
    lutra_instrument def;
    char err[256];
    memset(f, 0, sizeof *f);
    f->reg = instrument_registry_new();
    f->books = bookset_new();
    if (!f->reg || !f->books ||
        instrument_define(&def, "sim", "BTCUSDT", "BTC", "USDT", "0.01", "0.001", NULL, NULL, err,
                          sizeof err) < 0)
        bail_out("fixture: %s", err);
    f->inst = (uint32_t)instrument_registry_add(f->reg, &def, err, sizeof err);
    f->v = sim_new(cfg, f->reg, f->books, sink, f, err, sizeof err);
    if (!f->v)
        bail_out("sim_new: %s", err);
    f->now = T0;
}

static void fixture_done(fixture *f)
{
    sim_free(f->v);
    bookset_free(f->books);
    instrument_registry_free(f->reg);
    free(f->recs);
}

/* The driver: run the venue's jobs due by t. */
static void run_until(fixture *f, int64_t t)
{
    int64_t next;
    while ((next = sim_next_time(f->v)) <= t) {
        f->now = next;
        sim_advance(f->v, next);
    }
    f->now = t;
}

/* A market event at its receive time: due jobs strictly before, then the
 * venue's books, then the venue (market data first at equal times). */
static void market(fixture *f, lutra_event *ev)
{
    ev->h.size = lutra_event_size(ev->h.type);
    ev->h.instrument = f->inst;
    run_until(f, ev->h.ts_recv - 1);
    f->now = ev->h.ts_recv;
    if (bookset_apply(f->books, ev) < 0 || sim_on_market(f->v, ev) < 0)
        bail_out("market event refused");
}

static void level(fixture *f, int64_t ts, book_side side, double px, double qty)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_BOOK_DELTA;
    ev.h.ts_recv = ev.h.ts_exch = ts;
    ev.h.flags = LUTRA_F_LAST | (side == BOOK_BID ? LUTRA_F_BID : 0);
    ev.delta.price = PX(px);
    ev.delta.qty = QT(qty);
    market(f, &ev);
}

static void trade(fixture *f, int64_t ts, double px, double qty, int aggressor)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_TRADE;
    ev.h.ts_recv = ev.h.ts_exch = ts;
    ev.h.flags = aggressor == AGG_BUY ? LUTRA_F_BUY : aggressor == AGG_NONE ? LUTRA_F_NO_SIDE : 0;
    ev.trade.price = PX(px);
    ev.trade.qty = QT(qty);
    market(f, &ev);
}

/* Bar k of one minute from T0: received at its close. */
static void bar(fixture *f, int k, double o, double h, double l, double c)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_BAR;
    ev.h.ts_exch = T0 + k * 60 * SEC;
    ev.h.ts_recv = ev.h.ts_exch + 60 * SEC;
    ev.bar.open = PX(o);
    ev.bar.high = PX(h);
    ev.bar.low = PX(l);
    ev.bar.close = PX(c);
    ev.bar.volume = QT(10);
    market(f, &ev);
}

static int64_t bar_close(int k)
{
    return T0 + (k + 1) * 60 * SEC;
}

static order make_order(fixture *f, const char *id, order_side side, order_type type,
                        order_tif tif, double px, double qty, double stop)
{
    order o;
    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "%s", id);
    o.req.instrument = f->inst;
    o.req.side = side;
    o.req.type = type;
    o.req.tif = tif;
    o.req.price = PX(px);
    o.req.qty = QT(qty);
    o.req.stop_price = PX(stop);
    return o;
}

static void send(fixture *f, int64_t now, const char *id, order_side side, order_type type,
                 order_tif tif, double px, double qty, double stop)
{
    order o = make_order(f, id, side, type, tif, px, qty, stop);
    run_until(f, now);
    if (sim_venue_ops.submit(f->v, &o, now) < 0)
        bail_out("submit refused");
}

static void limit(fixture *f, int64_t now, const char *id, order_side side, order_tif tif,
                  double px, double qty)
{
    send(f, now, id, side, ORDER_LIMIT, tif, px, qty, 0);
}

static void cancel(fixture *f, int64_t now, const char *id)
{
    order o = make_order(f, id, ORDER_BUY, ORDER_LIMIT, ORDER_GTC, 0, 0, 0);
    run_until(f, now);
    if (sim_venue_ops.cancel(f->v, &o, now) < 0)
        bail_out("cancel refused");
}

static const exec_report *rep(const fixture *f, size_t i)
{
    static exec_report none;
    return i < f->n ? &f->recs[i].rep : &none;
}

/* 1 if report i is a fill of qty at px with that liquidity. */
static int is_fill(const fixture *f, size_t i, double px, double qty, order_liquidity liq)
{
    const exec_report *r = rep(f, i);
    if (r->kind == EXEC_FILL && r->price == PX(px) && r->qty == QT(qty) && r->liquidity == liq)
        return 1;
    diag("report %zu: kind %d price %" PRId64 " qty %" PRId64 " liquidity %d", i, (int)r->kind,
         r->price, r->qty, (int)r->liquidity);
    return 0;
}

/* Asks 100 x1, 101 x2, 102 x3 and a bid 99 x1. */
static void three_asks(fixture *f, int64_t ts)
{
    level(f, ts, BOOK_BID, 99, 1);
    level(f, ts, BOOK_ASK, 100, 1);
    level(f, ts, BOOK_ASK, 101, 2);
    level(f, ts, BOOK_ASK, 102, 3);
}

/* ---- Tick mode ---- */

static void test_latency(void)
{
    fixture f;
    sim_config c = config_zero();
    int64_t sent = T0 + 10;
    c.order_latency = constant(1 * MS);
    c.response_latency = constant(MS / 2);
    fixture_init(&f, &c);
    three_asks(&f, T0);
    limit(&f, sent, "a", ORDER_BUY, ORDER_GTC, 99, 1);
    is_int(sim_next_time(f.v), sent + MS, "latency: the order is due at the venue 1 ms after it was sent");
    run_until(&f, sent + MS - 1);
    is_int(f.n, 0, "latency: nothing before the order arrives");
    run_until(&f, sent + MS);
    is_int(f.n, 0, "latency: its acceptance is still on its way when it arrives");
    is_int(sim_next_time(f.v), sent + MS + MS / 2, "latency: the acceptance is due 0.5 ms after arrival");
    run_until(&f, sent + 2 * MS);
    ok(f.n == 1 && rep(&f, 0)->kind == EXEC_ACCEPTED, "latency: accepted");
    is_int(rep(&f, 0)->ts, sent + MS, "latency: the report's ts is the venue's arrival time");
    is_int(f.recs[0].at, sent + MS + MS / 2, "latency: it was delivered 0.5 ms later");
    is_str(rep(&f, 0)->order_id, "a", "latency: the report names the order");
    fixture_done(&f);
}

static void test_market_walk(void)
{
    fixture f;
    sim_config c = config_zero();
    fixture_init(&f, &c);
    three_asks(&f, T0);
    send(&f, T0 + 1, "m", ORDER_BUY, ORDER_MARKET, ORDER_GTC, 0, 10, 0);
    run_until(&f, T0 + 1);
    is_int(f.n, 5, "market: accepted, three fills, one expiry");
    ok(rep(&f, 0)->kind == EXEC_ACCEPTED, "market: accepted first");
    ok(is_fill(&f, 1, 100, 1, ORDER_TAKER), "market: 1 at 100 (taker)");
    ok(is_fill(&f, 2, 101, 2, ORDER_TAKER), "market: 2 at 101");
    ok(is_fill(&f, 3, 102, 3, ORDER_TAKER), "market: 3 at 102");
    ok(rep(&f, 4)->kind == EXEC_EXPIRED, "market: the rest expires");
    is_str(rep(&f, 4)->reason, "no more liquidity", "market: with the reason");
    is_int(book_qty_at(bookset_book(f.books, f.inst), BOOK_ASK, PX(100)), QT(1),
           "market: our fills do not change the book");
    fixture_done(&f);
}

static void test_limit_cross_then_rest(void)
{
    fixture f;
    sim_config c = config_zero();
    fixture_init(&f, &c);
    three_asks(&f, T0);
    limit(&f, T0 + 1, "l", ORDER_BUY, ORDER_GTC, 101, 5);
    run_until(&f, T0 + 1);
    is_int(f.n, 3, "limit crossing: accepted and two fills, nothing else");
    ok(is_fill(&f, 1, 100, 1, ORDER_TAKER) && is_fill(&f, 2, 101, 2, ORDER_TAKER),
       "limit crossing: takes the levels up to its price");
    trade(&f, T0 + 2, 101, 5, AGG_BUY);
    is_int(f.n, 3, "limit resting: a buy aggressor does not fill a resting buy");
    trade(&f, T0 + 3, 101, 1, AGG_SELL);
    run_until(&f, T0 + 3);
    ok(f.n == 4 && is_fill(&f, 3, 101, 1, ORDER_MAKER), "limit resting: a sell at its price fills it (maker)");
    fixture_done(&f);
}

static void test_post_only(void)
{
    fixture f;
    sim_config c = config_zero();
    fixture_init(&f, &c);
    three_asks(&f, T0);
    limit(&f, T0 + 1, "p1", ORDER_BUY, ORDER_POST_ONLY, 100, 1);
    limit(&f, T0 + 2, "p2", ORDER_BUY, ORDER_POST_ONLY, 99.5, 1);
    run_until(&f, T0 + 2);
    ok(f.n == 2 && rep(&f, 0)->kind == EXEC_REJECTED, "post_only: refused when it would cross");
    is_str(rep(&f, 0)->reason, "post_only would take liquidity", "post_only: with the reason");
    ok(rep(&f, 1)->kind == EXEC_ACCEPTED, "post_only: accepted when it would not");
    fixture_done(&f);
}

static void test_fok_ioc(void)
{
    fixture f;
    sim_config c = config_zero();
    fixture_init(&f, &c);
    three_asks(&f, T0);
    limit(&f, T0 + 1, "f1", ORDER_BUY, ORDER_FOK, 101, 4);
    run_until(&f, T0 + 1);
    ok(f.n == 1 && rep(&f, 0)->kind == EXEC_REJECTED, "fok: refused when it cannot fill whole");
    is_str(rep(&f, 0)->reason, "fok cannot fill", "fok: with the reason");
    limit(&f, T0 + 2, "f2", ORDER_BUY, ORDER_FOK, 101, 3);
    run_until(&f, T0 + 2);
    ok(f.n == 4 && rep(&f, 1)->kind == EXEC_ACCEPTED && is_fill(&f, 2, 100, 1, ORDER_TAKER) &&
           is_fill(&f, 3, 101, 2, ORDER_TAKER),
       "fok: fills whole when it can");
    limit(&f, T0 + 3, "i1", ORDER_BUY, ORDER_IOC, 100, 3);
    run_until(&f, T0 + 3);
    ok(f.n == 7 && rep(&f, 4)->kind == EXEC_ACCEPTED && is_fill(&f, 5, 100, 1, ORDER_TAKER),
       "ioc: takes what is there");
    ok(rep(&f, 6)->kind == EXEC_EXPIRED && !strcmp(rep(&f, 6)->order_id, "i1"),
       "ioc: the remainder expires");
    fixture_done(&f);
}

static void test_queue(sim_queue_model model)
{
    fixture f;
    sim_config c = config_zero();
    const char *name = model == SIM_QUEUE_CONSERVATIVE ? "conservative" : "optimistic";
    c.queue = model;
    fixture_init(&f, &c);
    level(&f, T0, BOOK_BID, 99, 5);
    level(&f, T0, BOOK_ASK, 100, 5);
    limit(&f, T0 + 1, "q", ORDER_BUY, ORDER_GTC, 99, 10);
    level(&f, T0 + 2, BOOK_BID, 99, 1); /* the level shrinks without a trade */
    trade(&f, T0 + 3, 99, 10, AGG_BUY); /* wrong side: against the asks */
    trade(&f, T0 + 4, 99, 3, AGG_SELL);
    run_until(&f, T0 + 4);
    if (model == SIM_QUEUE_CONSERVATIVE) {
        is_int(f.n, 1, "%s: 3 traded of the 5 ahead: no fill (a shrinking level does not advance it)", name);
        trade(&f, T0 + 5, 99, 4, AGG_SELL);
        run_until(&f, T0 + 5);
        ok(f.n == 2 && is_fill(&f, 1, 99, 2, ORDER_MAKER), "%s: then 4 traded: 2 past the queue fill it", name);
    } else {
        ok(f.n == 2 && is_fill(&f, 1, 99, 3, ORDER_MAKER), "%s: the first trade fills it", name);
        trade(&f, T0 + 5, 99, 4, AGG_SELL);
        run_until(&f, T0 + 5);
        ok(f.n == 3 && is_fill(&f, 2, 99, 4, ORDER_MAKER), "%s: and the second", name);
    }
    fixture_done(&f);
}

/* Two of our orders at one price: the later one queues behind the first. */
static void test_queue_own_orders(void)
{
    fixture f;
    sim_config c = config_zero();
    fixture_init(&f, &c);
    level(&f, T0, BOOK_BID, 99, 5);
    limit(&f, T0 + 1, "a", ORDER_BUY, ORDER_GTC, 99, 2);
    limit(&f, T0 + 2, "b", ORDER_BUY, ORDER_GTC, 99, 2);
    trade(&f, T0 + 3, 99, 8, AGG_SELL);
    run_until(&f, T0 + 3);
    ok(f.n == 4 && is_fill(&f, 2, 99, 2, ORDER_MAKER) && !strcmp(rep(&f, 2)->order_id, "a"),
       "own orders: 8 traded, 5 ahead: the first fills its 2");
    ok(is_fill(&f, 3, 99, 1, ORDER_MAKER) && !strcmp(rep(&f, 3)->order_id, "b"),
       "own orders: the second had the first ahead too: 1");
    fixture_done(&f);
}

static void test_trade_through(void)
{
    fixture f;
    sim_config c = config_zero();
    fixture_init(&f, &c);
    level(&f, T0, BOOK_BID, 99, 50);
    limit(&f, T0 + 1, "t", ORDER_BUY, ORDER_GTC, 99, 5);
    trade(&f, T0 + 2, 98.99, 3, AGG_SELL);
    run_until(&f, T0 + 2);
    ok(f.n == 2 && is_fill(&f, 1, 99, 3, ORDER_MAKER),
       "through: a sell below a resting bid fills it at its price, whatever the queue");
    trade(&f, T0 + 3, 98, 10, AGG_SELL);
    run_until(&f, T0 + 3);
    ok(f.n == 3 && is_fill(&f, 2, 99, 2, ORDER_MAKER), "through: up to what remains");
    trade(&f, T0 + 4, 98, 10, AGG_SELL);
    is_int(f.n, 3, "through: a filled order fills no more");
    fixture_done(&f);
}

static void test_no_side(void)
{
    fixture f;
    sim_config c = config_zero();
    c.queue = SIM_QUEUE_OPTIMISTIC;
    fixture_init(&f, &c);
    level(&f, T0, BOOK_BID, 98, 1);
    level(&f, T0, BOOK_ASK, 102, 1);
    limit(&f, T0 + 1, "b", ORDER_BUY, ORDER_GTC, 99, 1);
    limit(&f, T0 + 1, "s", ORDER_SELL, ORDER_GTC, 101, 1);
    trade(&f, T0 + 2, 99, 1, AGG_NONE);
    run_until(&f, T0 + 2);
    ok(f.n == 3 && is_fill(&f, 2, 99, 1, ORDER_MAKER) && !strcmp(rep(&f, 2)->order_id, "b"),
       "no side: a trade without an aggressor fills a bid at its price");
    trade(&f, T0 + 3, 101, 1, AGG_NONE);
    run_until(&f, T0 + 3);
    ok(f.n == 4 && is_fill(&f, 3, 101, 1, ORDER_MAKER) && !strcmp(rep(&f, 3)->order_id, "s"),
       "no side: and an ask at its price");
    fixture_done(&f);
}

static void test_cancel(void)
{
    fixture f;
    sim_config c = config_zero();
    c.order_latency = constant(MS);
    c.response_latency = constant(MS);
    fixture_init(&f, &c);
    level(&f, T0, BOOK_BID, 99, 1);
    level(&f, T0, BOOK_ASK, 101, 1);

    limit(&f, T0 + 10 * MS, "early", ORDER_BUY, ORDER_GTC, 99, 1);
    cancel(&f, T0 + 10 * MS + MS / 2, "early");
    run_until(&f, T0 + 20 * MS);
    ok(f.n == 2 && rep(&f, 0)->kind == EXEC_ACCEPTED && rep(&f, 1)->kind == EXEC_CANCELED,
       "cancel before arrival: the order arrives first, then the cancel");
    is_int(rep(&f, 1)->ts, T0 + 11 * MS + MS / 2, "cancel before arrival: cancelled when the cancel arrived");

    limit(&f, T0 + 30 * MS, "late", ORDER_BUY, ORDER_GTC, 99, 1);
    cancel(&f, T0 + 35 * MS, "late");
    run_until(&f, T0 + 40 * MS);
    ok(f.n == 4 && rep(&f, 3)->kind == EXEC_CANCELED && rep(&f, 3)->ts == T0 + 36 * MS &&
           f.recs[3].at == T0 + 37 * MS,
       "cancel after arrival: cancelled on arrival, reported a response latency later");

    limit(&f, T0 + 50 * MS, "race", ORDER_BUY, ORDER_GTC, 99, 1);
    cancel(&f, T0 + 60 * MS, "race"); /* reaches the venue at 61 ms */
    trade(&f, T0 + 60 * MS + MS / 2, 98, 5, AGG_SELL);
    run_until(&f, T0 + 70 * MS);
    ok(f.n == 6 && is_fill(&f, 5, 99, 1, ORDER_MAKER),
       "race: the fill happened before the cancel arrived: it wins, the cancel is dropped");

    limit(&f, T0 + 80 * MS, "race2", ORDER_BUY, ORDER_GTC, 99, 1);
    cancel(&f, T0 + 90 * MS, "race2");
    trade(&f, T0 + 91 * MS + MS / 2, 98, 5, AGG_SELL);
    run_until(&f, T0 + 100 * MS);
    ok(f.n == 8 && rep(&f, 7)->kind == EXEC_CANCELED && !strcmp(rep(&f, 7)->order_id, "race2"),
       "race: a trade after the cancel arrived finds nothing to fill");
    fixture_done(&f);
}

static void test_fees(void)
{
    fixture f;
    sim_config c = config_zero();
    fixture_init(&f, &c);
    level(&f, T0, BOOK_BID, 99, 1);
    level(&f, T0, BOOK_ASK, 100, 5);
    send(&f, T0 + 1, "tk", ORDER_BUY, ORDER_MARKET, ORDER_GTC, 0, 2, 0);
    limit(&f, T0 + 2, "mk", ORDER_SELL, ORDER_GTC, 101, 1);
    trade(&f, T0 + 3, 101, 1, AGG_BUY);
    run_until(&f, T0 + 3);
    ok(f.n == 4 && is_fill(&f, 1, 100, 2, ORDER_TAKER), "fees: a taker fill");
    is_int(rep(&f, 1)->fee, 10000000, "fees: taker 5 bps of 200 USDT is 0.1 USDT");
    is_str(rep(&f, 1)->fee_asset, "USDT", "fees: in the quote asset");
    ok(is_fill(&f, 3, 101, 1, ORDER_MAKER), "fees: a maker fill");
    is_int(rep(&f, 3)->fee, 2020000, "fees: maker 2 bps of 101 USDT is 0.0202 USDT");
    fixture_done(&f);
}

static void test_stops_tick(void)
{
    fixture f;
    sim_config c = config_zero();
    fixture_init(&f, &c);
    level(&f, T0, BOOK_BID, 95, 1);
    level(&f, T0, BOOK_BID, 94, 5);
    level(&f, T0, BOOK_ASK, 96, 5);
    send(&f, T0 + 1, "st", ORDER_SELL, ORDER_STOP, ORDER_GTC, 0, 3, 95);
    send(&f, T0 + 1, "sl", ORDER_SELL, ORDER_STOP_LIMIT, ORDER_GTC, 94.5, 3, 95);
    trade(&f, T0 + 2, 96, 1, AGG_BUY);
    run_until(&f, T0 + 2);
    is_int(f.n, 2, "stops: accepted, and a trade above the stop does nothing");
    trade(&f, T0 + 3, 95, 1, AGG_SELL);
    run_until(&f, T0 + 3);
    ok(f.n == 5 && is_fill(&f, 2, 95, 1, ORDER_TAKER) && is_fill(&f, 3, 94, 2, ORDER_TAKER) &&
           !strcmp(rep(&f, 3)->order_id, "st"),
       "stops: a trade at the stop triggers the stop-market, which walks the bids");
    ok(is_fill(&f, 4, 95, 1, ORDER_TAKER) && !strcmp(rep(&f, 4)->order_id, "sl"),
       "stops: the stop-limit takes down to its limit, and the rest rests");
    trade(&f, T0 + 4, 94.5, 2, AGG_BUY);
    run_until(&f, T0 + 4);
    ok(f.n == 6 && is_fill(&f, 5, 94.5, 2, ORDER_MAKER), "stops: its rest fills from trades like a limit");
    fixture_done(&f);
}

static void test_refusals(void)
{
    fixture f;
    sim_config good = config_zero(), c = config_zero();
    order o;
    char err[256];
    sim_venue *bad;

    c.order_latency = (sim_latency){SIM_LATENCY_UNIFORM, 5 * MS, MS};
    fixture_init(&f, &good);
    bad = sim_new(&c, f.reg, f.books, sink, &f, err, sizeof err);
    ok(!bad && strstr(err, "order_latency") && strstr(err, "uniform"), "config: a uniform latency with min above max is refused: %s", err);
    o = make_order(&f, "u", ORDER_BUY, ORDER_LIMIT, ORDER_GTC, 100, 1, 0);
    o.req.instrument = 77;
    sim_venue_ops.submit(f.v, &o, T0);
    limit(&f, T0, "z", ORDER_BUY, ORDER_GTC, 100, 0);
    send(&f, T0, "pm", ORDER_BUY, ORDER_MARKET, ORDER_POST_ONLY, 0, 1, 0);
    run_until(&f, T0);
    ok(f.n == 3 && rep(&f, 0)->kind == EXEC_REJECTED && strstr(rep(&f, 0)->reason, "unknown instrument 77"),
       "orders: an unknown instrument is rejected: %s", rep(&f, 0)->reason);
    ok(rep(&f, 1)->kind == EXEC_REJECTED && strstr(rep(&f, 1)->reason, "qty"),
       "orders: a zero quantity is rejected: %s", rep(&f, 1)->reason);
    ok(rep(&f, 2)->kind == EXEC_REJECTED && strstr(rep(&f, 2)->reason, "post_only"),
       "orders: a post-only market order is rejected: %s", rep(&f, 2)->reason);
    fixture_done(&f);
}

/* ---- Bar mode ---- */

static void test_bars(void)
{
    fixture f;
    sim_config c = config_zero();
    size_t before;
    c.bar_mode = 1;
    fixture_init(&f, &c);

    bar(&f, 0, 100, 101, 99, 100);
    send(&f, bar_close(0), "m1", ORDER_BUY, ORDER_MARKET, ORDER_GTC, 0, 1, 0);
    limit(&f, bar_close(0), "l1", ORDER_BUY, ORDER_GTC, 98, 1);
    run_until(&f, bar_close(0));
    ok(f.n == 2 && rep(&f, 0)->kind == EXEC_ACCEPTED && rep(&f, 1)->kind == EXEC_ACCEPTED,
       "bars: orders are accepted at once (no latency)");
    before = f.n;
    bar(&f, 1, 103, 104, 97, 100);
    ok(f.n == before + 2, "bars: the next bar's fills are delivered inside sim_on_market, before the engine gets the bar");
    ok(is_fill(&f, 2, 103, 1, ORDER_TAKER) && rep(&f, 2)->ts == bar_close(0),
       "bars: a market order fills at the next bar's open, ts the open time");
    ok(is_fill(&f, 3, 98, 1, ORDER_MAKER), "bars: a limit buy fills at its price when the low reaches it");

    send(&f, bar_close(1) + 10 * SEC, "m2", ORDER_BUY, ORDER_MARKET, ORDER_GTC, 0, 1, 0);
    bar(&f, 2, 100, 102, 99, 101);
    is_int(f.n, 5, "bars: an order sent during a bar waits for the next open");
    bar(&f, 3, 101, 103, 100, 102);
    ok(f.n == 6 && is_fill(&f, 5, 101, 1, ORDER_TAKER), "bars: then fills at that open");

    limit(&f, bar_close(3), "gap", ORDER_BUY, ORDER_GTC, 98, 1);
    bar(&f, 4, 96, 99, 95, 97);
    ok(f.n == 8 && is_fill(&f, 7, 96, 1, ORDER_TAKER), "bars: a bar opening below a limit buy fills it at the open");

    limit(&f, bar_close(4), "rest", ORDER_BUY, ORDER_GTC, 90, 1);
    bar(&f, 5, 95, 96, 92, 93);
    is_int(f.n, 9, "bars: a limit the bar does not reach waits");
    bar(&f, 6, 89, 91, 88, 90);
    ok(f.n == 10 && is_fill(&f, 9, 89, 1, ORDER_MAKER), "bars: a later gap fills the resting limit at the open (maker)");

    send(&f, bar_close(6), "s1", ORDER_BUY, ORDER_STOP, ORDER_GTC, 0, 1, 110);
    bar(&f, 7, 100, 112, 99, 111);
    ok(f.n == 12 && is_fill(&f, 11, 110, 1, ORDER_TAKER), "bars: a buy stop reached inside the bar fills at the stop");
    send(&f, bar_close(7), "s2", ORDER_BUY, ORDER_STOP, ORDER_GTC, 0, 1, 110);
    bar(&f, 8, 115, 116, 113, 114);
    ok(f.n == 14 && is_fill(&f, 13, 115, 1, ORDER_TAKER), "bars: a bar opening past the stop fills at the open");
    send(&f, bar_close(8), "sl", ORDER_SELL, ORDER_STOP_LIMIT, ORDER_GTC, 112, 1, 113);
    bar(&f, 9, 114, 115, 111, 112);
    ok(f.n == 16 && is_fill(&f, 15, 113, 1, ORDER_TAKER), "bars: a sell stop-limit triggered inside the bar fills at the stop, within its limit");

    limit(&f, bar_close(9), "po", ORDER_BUY, ORDER_POST_ONLY, 120, 1);
    bar(&f, 10, 112, 113, 111, 112);
    ok(f.n == 18 && rep(&f, 17)->kind == EXEC_EXPIRED && !strcmp(rep(&f, 17)->reason, "post_only would take liquidity"),
       "bars: a post-only limit marketable at its first open expires");
    fixture_done(&f);
}

/* ---- The end ---- */

static void test_finish(void)
{
    fixture f;
    sim_config c = config_zero();
    c.order_latency = constant(MS);
    c.response_latency = constant(MS);
    fixture_init(&f, &c);
    level(&f, T0, BOOK_BID, 99, 1);
    limit(&f, T0, "r", ORDER_BUY, ORDER_GTC, 98, 1);
    run_until(&f, T0 + MS);                               /* arrived; acceptance due at 2 ms */
    limit(&f, T0 + MS + MS / 2, "f", ORDER_BUY, ORDER_GTC, 98, 1); /* would arrive at 2.5 ms */
    f.now = T0 + MS + MS * 7 / 10;
    sim_finish(f.v, f.now);
    is_int(f.n, 3, "finish: three reports");
    ok(rep(&f, 0)->kind == EXEC_ACCEPTED && !strcmp(rep(&f, 0)->order_id, "r"),
       "finish: a report still on its way is delivered");
    ok(rep(&f, 1)->kind == EXEC_CANCELED && !strcmp(rep(&f, 1)->order_id, "f") &&
           !strcmp(rep(&f, 1)->reason, "data ended"),
       "finish: an order still on its way is cancelled (data ended)");
    ok(rep(&f, 2)->kind == EXEC_CANCELED && !strcmp(rep(&f, 2)->order_id, "r") &&
           !strcmp(rep(&f, 2)->reason, "data ended"),
       "finish: a resting order is cancelled (data ended)");
    is_int(sim_next_time(f.v), INT64_MAX, "finish: nothing is left to do");
    fixture_done(&f);
}

/* ---- Determinism ---- */

typedef struct trace {
    int64_t at, ts, price, qty;
    int kind;
    char id[ORDER_ID_MAX + 1];
} trace;

/* A busy minute with random latencies; @return the reports (caller frees). */
static trace *scripted_run(uint64_t seed, size_t *n, int *fifo)
{
    fixture f;
    sim_config c = config_zero();
    trace *out;
    char id[16];

    c.order_latency = (sim_latency){SIM_LATENCY_NORMAL, MS, MS / 2};
    c.response_latency = (sim_latency){SIM_LATENCY_EXPONENTIAL, MS, 0};
    c.seed = seed;
    fixture_init(&f, &c);
    three_asks(&f, T0);
    level(&f, T0, BOOK_BID, 98, 4);
    for (int i = 0; i < 300; i++) {
        int64_t t = T0 + 1 + i * MS / 3;
        snprintf(id, sizeof id, "o%d", i);
        if (i % 3 == 0)
            send(&f, t, id, ORDER_BUY, ORDER_MARKET, ORDER_GTC, 0, 0.5, 0);
        else
            limit(&f, t, id, i % 2 ? ORDER_BUY : ORDER_SELL, ORDER_GTC, i % 2 ? 99 : 101, 1);
        if (i % 5 == 4) {
            snprintf(id, sizeof id, "o%d", i - 2);
            cancel(&f, t, id);
        }
        trade(&f, t + MS / 6, i % 2 ? 99 : 101, 0.7, i % 2 ? AGG_SELL : AGG_BUY);
    }
    run_until(&f, T0 + 10 * SEC);
    sim_finish(f.v, f.now);
    out = calloc(f.n ? f.n : 1, sizeof *out);
    *fifo = 1;
    for (size_t i = 0; out && i < f.n; i++) {
        out[i].at = f.recs[i].at;
        out[i].ts = f.recs[i].rep.ts;
        out[i].price = f.recs[i].rep.price;
        out[i].qty = f.recs[i].rep.qty;
        out[i].kind = f.recs[i].rep.kind;
        memcpy(out[i].id, f.recs[i].rep.order_id, sizeof out[i].id);
        if (i > 0 && out[i].at < out[i - 1].at)
            *fifo = 0;
    }
    *n = f.n;
    fixture_done(&f);
    return out;
}

/* 1 if each order's first report is its acceptance (or rejection). */
static int first_reports_are_acceptances(const trace *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(t[j].id, t[i].id);
        if (!seen && t[i].kind != EXEC_ACCEPTED && t[i].kind != EXEC_REJECTED) {
            diag("first report of %s is kind %d", t[i].id, t[i].kind);
            return 0;
        }
    }
    return 1;
}

static void test_determinism(void)
{
    size_t na, nb, nc;
    int fa, fb, fc;
    trace *a = scripted_run(7, &na, &fa), *b = scripted_run(7, &nb, &fb),
          *c = scripted_run(8, &nc, &fc);
    int fills = 0;
    for (size_t i = 0; i < na; i++)
        fills += a[i].kind == EXEC_FILL;
    ok(na > 300 && fills > 50, "determinism: the run is busy (%zu reports, %d fills)", na, fills);
    ok(na == nb && memcmp(a, b, na * sizeof *a) == 0, "determinism: the same seed gives the same reports, times and all");
    ok(na != nc || memcmp(a, c, na * sizeof *a) != 0, "determinism: another seed gives other times");
    ok(fa && fb && fc, "determinism: reports reach the engine in the order they happened");
    ok(first_reports_are_acceptances(a, na), "determinism: no order's fill overtakes its acceptance");
    free(a);
    free(b);
    free(c);
}

/* ---- Description ---- */

static void test_describe(void)
{
    fixture f;
    sim_config c = config_zero();
    json_parser *p = json_parser_new();
    json_value root, field;
    const char *s = NULL;
    size_t len = 0;
    const char *text;

    c.order_latency = (sim_latency){SIM_LATENCY_NORMAL, MS, MS / 4};
    c.response_latency = constant(MS / 2);
    fixture_init(&f, &c);
    text = sim_describe(f.v);
    diag("%s", text);
    ok(strstr(text, "queue=conservative") && strstr(text, "order_latency=normal(mean=1ms,sd=0.25ms)") &&
           strstr(text, "response_latency=constant(0.5ms)") && strstr(text, "own_fills_change_book=no"),
       "describe: the models and their parameters in one line");
    ok(p && json_parse_copy(p, sim_describe_json(f.v), strlen(sim_describe_json(f.v)), &root) == 0 &&
           json_field(&root, "queue_model", &field) == 0 && json_string(&field, &s, &len) == 0 &&
           len == 12 && !memcmp(s, "conservative", 12),
       "describe: the JSON parses and names the queue model: %s", sim_describe_json(f.v));
    json_parser_free(p);
    fixture_done(&f);
}

int main(void)
{
    plan(82);
    test_latency();
    test_market_walk();
    test_limit_cross_then_rest();
    test_post_only();
    test_fok_ioc();
    test_queue(SIM_QUEUE_CONSERVATIVE);
    test_queue(SIM_QUEUE_OPTIMISTIC);
    test_queue_own_orders();
    test_trade_through();
    test_no_side();
    test_cancel();
    test_fees();
    test_stops_tick();
    test_refusals();
    test_bars();
    test_finish();
    test_determinism();
    test_describe();
    return done();
}
