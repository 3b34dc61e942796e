/*
 * t/reconcile.c -- a restart's reconciliation (core/reconcile.h) with a
 * scripted venue: the test plays the connector, answering the queries
 * reconcile makes with the reports a connector would emit.
 *
 *   - an order we hold pending_new that the venue lists: accepted;
 *   - orders the venue does not list: asked about one by one, and settled
 *     as the answer says (rejected when unknown, cancelled, filled with
 *     its fills applied once);
 *   - an order placed by hand: left alone, or adopted when asked to;
 *   - balances asked for last, after every answer; done only then;
 *   - a list that never comes, an answer "still unknown": asked again
 *     after the wait, and done only once answered;
 *   - a disconnect during the pass: a second pass, done only after it;
 *   - a late answer of a pass the deadline ended, heard while the next
 *     lists: not a list entry.
 * The engine runs without a store here (its durable path is t/restart.t's).
 */
#include <string.h>

#include "engine.h"
#include "instrument.h"
#include "loop.h"
#include "money.h"
#include "reconcile.h"
#include "tap.h"

#define MS INT64_C(1000000)

static char err[512];
static loop *lp;
static engine *eng;
static instrument_registry *reg;
static uint32_t btc;

/* What reconcile asked of the venue. */
static int asked_orders, asked_balances, finished;
static char asked_ids[16][ORDER_ID_MAX + 1];
static int nasked_ids;

static int venue_balances(void *ud)
{
    (void)ud;
    asked_balances++;
    return 0;
}

static int venue_orders(void *ud)
{
    (void)ud;
    asked_orders++;
    return 0;
}

static int venue_order(void *ud, const order *o)
{
    (void)ud;
    if (nasked_ids < 16)
        snprintf(asked_ids[nasked_ids++], sizeof asked_ids[0], "%s", o->id);
    return 0;
}

static const reconcile_venue_ops venue = {venue_balances, venue_orders, venue_order};

/* The engine's side of the venue: cancels sent. */
static int cancels_sent;
static char cancel_id[ORDER_ID_MAX + 1];

static int engine_venue_submit(void *v, const order *o, int64_t now)
{
    (void)v, (void)o, (void)now;
    return 0;
}

static int engine_venue_cancel(void *v, const order *o, int64_t now)
{
    (void)v, (void)now;
    cancels_sent++;
    snprintf(cancel_id, sizeof cancel_id, "%s", o->id);
    return 0;
}

static const venue_ops engine_venue = {engine_venue_submit, engine_venue_cancel};

static void on_done(void *ud)
{
    (void)ud;
    finished++;
    loop_break(lp);
}

/* A fresh engine (no order, no balance) for each test. */
static void reset(void)
{
    engine_config ec;

    asked_orders = asked_balances = finished = nasked_ids = 0;
    if (eng)
        engine_free(eng);
    memset(&ec, 0, sizeof ec);
    ec.mode = "live";
    if (!(eng = engine_new(&ec, reg, err, sizeof err)))
        bail_out("engine: %s", err);
    engine_set_clock(eng, loop_clock, NULL);
    engine_set_venue(eng, &engine_venue, NULL);
    cancels_sent = 0;
    engine_start(eng);
}

static int was_asked(const char *id)
{
    for (int i = 0; i < nasked_ids; i++)
        if (!strcmp(asked_ids[i], id))
            return 1;
    return 0;
}

/* ---- The venue's reports ---- */

static lutra_exec status_of(const char *id, uint8_t status, int64_t qty, int64_t filled)
{
    lutra_exec x;
    memset(&x, 0, sizeof x);
    x.kind = LUTRA_EXEC_STATUS;
    x.status = status;
    x.instrument = btc;
    x.side = LUTRA_SIDE_BUY;
    x.price = 5000000; /* 50000.00 */
    x.qty = qty;
    x.filled = filled;
    snprintf(x.order_id, sizeof x.order_id, "%s", id);
    snprintf(x.venue_order_id, sizeof x.venue_order_id, "V%s", id);
    return x;
}

static void list_end(reconcile *r)
{
    lutra_exec end;
    memset(&end, 0, sizeof end);
    end.kind = LUTRA_EXEC_STATUS;
    ok(reconcile_on_status(r, &end) == 1, "the end of the venue's list is reconcile's");
}

static void fill(const char *id, const char *trade, int64_t qty)
{
    exec_report rep;
    memset(&rep, 0, sizeof rep);
    rep.kind = EXEC_FILL;
    snprintf(rep.order_id, sizeof rep.order_id, "%s", id);
    snprintf(rep.trade_id, sizeof rep.trade_id, "%s", trade);
    rep.price = 5000000;
    rep.qty = qty;
    snprintf(rep.fee_asset, sizeof rep.fee_asset, "USDT");
    engine_on_exec(eng, &rep);
}

/* An order as a store would give it back: a buy of qty at 50000. */
static void hold(const char *id, order_status status, int64_t qty)
{
    order o;
    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "%s", id);
    o.req.instrument = btc;
    o.req.strategy = UINT32_MAX;
    o.req.side = ORDER_BUY;
    o.req.price = 5000000;
    o.req.qty = qty;
    o.status = status;
    if (oms_restore_order(engine_oms(eng), &o) != 0)
        bail_out("cannot restore %s", id);
}

static order_status status(const char *id)
{
    order *o = oms_find(engine_oms(eng), id);
    return o ? o->status : (order_status)-1;
}

static void on_deadline(loop_timer *t, void *ud)
{
    (void)t;
    (void)ud;
    loop_break(lp);
}

/* Run the loop for at most ms (on_done breaks it earlier). */
static void spin(int64_t ms)
{
    loop_timer *t = loop_timer_add(lp, ms * MS, 0, on_deadline, NULL, err, sizeof err);
    loop_run(lp, err, sizeof err);
    if (t && finished)
        loop_timer_cancel(t);
}

/* ---- Tests ---- */

static void test_settles_every_order(void)
{
    reconcile *r;
    lutra_exec x;

    reset();
    r = reconcile_new(eng, lp, "test", &venue, NULL, on_done);
    hold("lt1", ORDER_PENDING_NEW, 100000); /* listed: the venue has it */
    hold("lt2", ORDER_PENDING_NEW, 100000); /* never reached the venue */
    hold("lt3", ORDER_NEW, 100000);         /* cancelled while we were down */
    hold("lt4", ORDER_NEW, 100000);         /* filled while we were down */
    hold("lt6", ORDER_PENDING_CANCEL, 100000); /* its cancel died with the process */
    reconcile_start(r);
    is_int(asked_orders, 1, "the venue is asked for its open orders first");
    is_int(asked_balances, 0, "balances are not asked for yet");

    x = status_of("lt1", LUTRA_ORDER_NEW, 100000, 0);
    ok(reconcile_on_status(r, &x) == 1, "a listed order is reconcile's");
    is_int(status("lt1"), ORDER_NEW, "lt1, listed, is accepted");
    x = status_of("lt6", LUTRA_ORDER_NEW, 100000, 0);
    reconcile_on_status(r, &x);
    ok(cancels_sent == 1 && !strcmp(cancel_id, "lt6") && status("lt6") == ORDER_PENDING_CANCEL,
       "lt6, pending_cancel and still open at the venue: its cancel is sent again");
    x = status_of("hand1", LUTRA_ORDER_NEW, 100000, 0);
    reconcile_on_status(r, &x);
    ok(oms_find(engine_oms(eng), "hand1") == NULL, "an order placed by hand is left alone");
    list_end(r);
    ok(!was_asked("lt1") && was_asked("lt2") && was_asked("lt3") && was_asked("lt4"),
       "every order the list did not name is asked about by its id (%d asked)", nasked_ids);
    is_int(asked_balances, 0, "balances wait for the answers");

    x = status_of("lt2", LUTRA_ORDER_REJECTED, 100000, 0);
    snprintf(x.reason, sizeof x.reason, "the venue does not know this order");
    reconcile_on_status(r, &x);
    is_int(status("lt2"), ORDER_REJECTED, "lt2, unknown to the venue, is rejected (not resent)");
    x = status_of("lt3", LUTRA_ORDER_CANCELED, 100000, 0);
    reconcile_on_status(r, &x);
    is_int(status("lt3"), ORDER_CANCELED, "lt3 is cancelled as the venue says");

    fill("lt4", "T1", 60000);
    fill("lt4", "T2", 40000);
    x = status_of("lt4", LUTRA_ORDER_FILLED, 100000, 100000);
    reconcile_on_status(r, &x);
    is_int(status("lt4"), ORDER_FILLED, "lt4 is filled by its two fills");
    is_int(asked_balances, 1, "balances are asked for once every order is settled");
    ok(!reconcile_done(r) && !finished, "not done before the balances came");
    reconcile_on_balance(r);
    reconcile_on_balance(r);
    spin(1000);
    ok(reconcile_done(r) && finished == 1, "done once, right after the balances");
    x = status_of("lt1", LUTRA_ORDER_NEW, 100000, 0);
    is_int(reconcile_on_status(r, &x), 0, "after it is done, reports are not reconcile's");
    reconcile_free(r);
}

static void test_adopts_when_asked(void)
{
    reconcile *r;
    lutra_exec x;
    order *o;

    reset();
    r = reconcile_new(eng, lp, "test", &venue, NULL, on_done);
    reconcile_set_adopt(r, 1);
    reconcile_start(r);
    x = status_of("hand2", LUTRA_ORDER_PARTIALLY_FILLED, 100000, 30000);
    reconcile_on_status(r, &x);
    o = oms_find(engine_oms(eng), "hand2");
    ok(o && o->status == ORDER_PARTIALLY_FILLED && o->filled == 30000,
       "an order placed by hand is adopted when the venue says adopt_orders");
    ok(o && o->req.strategy == UINT32_MAX, "owned by no strategy");
    /* 50000.00 x 0.7 BTC still to buy = 35000 USDT locked */
    ok(o && o->locked == money_from_double(35000.0), "its lock is the rest it spends: %lld",
       o ? (long long)o->locked : -1LL);
    list_end(r);
    ok(!was_asked("hand2"), "an adopted order listed open is not asked about again");
    reconcile_on_balance(r);
    spin(1000);
    ok(finished == 1, "done");
    reconcile_free(r);
}

/* A fresh engine holding order id open (new), its reconciliation started;
 * wait_ns: the first wait before asking again (0: the default). */
static reconcile *start_holding(const char *id, int64_t wait_ns)
{
    reconcile *r;

    reset();
    if (!(r = reconcile_new(eng, lp, "test", &venue, NULL, on_done)))
        bail_out("reconcile_new: out of memory");
    reconcile_set_wait(r, wait_ns);
    hold(id, ORDER_NEW, 100000);
    reconcile_start(r);
    return r;
}

static void test_asks_again(void)
{
    reconcile *r = start_holding("lt5", 50 * MS);
    lutra_exec x;

    spin(75);
    is_int(asked_orders, 2, "a list that never came is asked for again after the wait");
    ok(!finished, "and strategies stay stopped meanwhile");
    list_end(r);
    ok(was_asked("lt5"), "lt5 asked about");
    x = status_of("lt5", LUTRA_ORDER_PENDING_NEW, 100000, 0);
    snprintf(x.reason, sizeof x.reason, "HTTP 503");
    reconcile_on_status(r, &x);
    is_int(status("lt5"), ORDER_NEW, "an answer 'still unknown' changes nothing");
    is_int(asked_balances, 0, "and does not end the asking");
    nasked_ids = 0;
    spin(200);
    ok(asked_orders >= 3, "the whole list asked for again after the (longer) wait");
    list_end(r);
    x = status_of("lt5", LUTRA_ORDER_CANCELED, 100000, 0);
    reconcile_on_status(r, &x);
    reconcile_on_balance(r);
    spin(1000);
    ok(finished == 1 && status("lt5") == ORDER_CANCELED, "settled once the venue answered");
    reconcile_free(r);
}

/* A disconnect while the reconciliation runs: its list may predate it, so
 * once the pass ends another begins; done only after that one, which
 * finds the fill made meanwhile. */
static void test_drop_during_reconciliation(void)
{
    reconcile *r = start_holding("lt6", 0);
    lutra_exec x;

    x = status_of("lt6", LUTRA_ORDER_NEW, 100000, 0);
    reconcile_on_status(r, &x);
    reconcile_again(r); /* the venue dropped, and is back */
    spin(20);
    list_end(r);
    /* Sent once the venue was back, before this pass ends: it may not be
     * there yet, and its reports come by the stream. */
    hold("lt8", ORDER_PENDING_NEW, 100000);
    oms_find(engine_oms(eng), "lt8")->ts_created = engine_now(eng);
    reconcile_on_balance(r);
    spin(100);
    ok(!finished && asked_orders == 2 && asked_balances == 1,
       "a drop during the pass: not done, the list asked for again");
    x = status_of("lt6", LUTRA_ORDER_PARTIALLY_FILLED, 100000, 40000);
    reconcile_on_status(r, &x);
    list_end(r);
    ok(was_asked("lt6"), "the fill made meanwhile shows: lt6 asked about");
    ok(!was_asked("lt8"), "an order sent after the venue came back is not asked about");
    fill("lt6", "T9", 40000);
    x = status_of("lt6", LUTRA_ORDER_PARTIALLY_FILLED, 100000, 40000);
    reconcile_on_status(r, &x);
    is_int(asked_balances, 2, "balances asked for last again");
    reconcile_on_balance(r);
    spin(1000);
    ok(finished == 1 && status("lt6") == ORDER_PARTIALLY_FILLED,
       "done once, after the second pass, with the fill");
    reconcile_free(r);
}

/* An answer to a question of a pass the deadline ended can come while the
 * next pass lists: it is not a list entry (the caller settles it), so the
 * order is asked about again, not taken as open. */
static void test_late_answer(void)
{
    reconcile *r = start_holding("lt7", 50 * MS);
    lutra_exec x;

    list_end(r);
    ok(was_asked("lt7"), "lt7, not listed, asked about");
    spin(75); /* no answer: the pass starts over */
    is_int(asked_orders, 2, "no answer in time: the list asked for again");
    nasked_ids = 0;
    x = status_of("lt7", LUTRA_ORDER_CANCELED, 100000, 0);
    snprintf(x.reason, sizeof x.reason, "binance: CANCELED at the venue");
    is_int(reconcile_on_status(r, &x), 0,
           "the late answer, while the list is awaited, is left to the caller");
    x = status_of("lt7", LUTRA_ORDER_PENDING_NEW, 100000, 0);
    snprintf(x.reason, sizeof x.reason, "query failed, the outcome is still unknown: HTTP 503");
    is_int(reconcile_on_status(r, &x), 0, "... and so is a late 'still unknown'");
    list_end(r);
    ok(was_asked("lt7") && status("lt7") == ORDER_NEW,
       "lt7 not taken as listed: asked about again");
    reconcile_free(r);
}

int main(void)
{
    lutra_instrument def;
    int32_t id;

    plan(45);
    if (!(lp = loop_new(err, sizeof err)) || !(reg = instrument_registry_new()) ||
        instrument_define(&def, "test", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001", NULL, NULL,
                          err, sizeof err) != 0 ||
        (id = instrument_registry_add(reg, &def, err, sizeof err)) < 0)
        bail_out("setup: %s", err);
    btc = (uint32_t)id;
    test_settles_every_order();
    test_adopts_when_asked();
    test_asks_again();
    test_drop_during_reconciliation();
    test_late_answer();
    engine_free(eng);
    instrument_registry_free(reg);
    loop_free(lp);
    return done();
}
