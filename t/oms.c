/*
 * oms.c -- the order manager: locks, fills, balances, positions, PnL, the
 * state machine and its refusals, open-order lists, ids (core/oms.h).
 *
 * Amounts are written as decimals and parsed exactly, so every expected
 * figure below can be checked by hand.
 */
#include <stdint.h>
#include <string.h>

#include "fixed.h"
#include "instrument.h"
#include "money.h"
#include "oms.h"
#include "tap.h"

static instrument_registry *reg;
static uint32_t btc, eth; /* BTCUSDT: tick 0.01, lot 0.00001; ETHUSDT: 0.01, 0.0001 */
static char reason[256];

/* ---- Helpers ---- */

static int64_t dec(const char *s, int scale)
{
    int64_t v;
    if (fixed_parse(s, strlen(s), scale, &v) != FIXED_OK)
        bail_out("bad decimal '%s' at scale %d", s, scale);
    return v;
}

static int64_t M(const char *s) { return dec(s, MONEY_SCALE); } /* money */
static int64_t P(const char *s) { return dec(s, 2); }           /* price */
static int64_t Q(const char *s) { return dec(s, 5); }           /* BTC qty */

static uint32_t add_instrument(const char *symbol, const char *base, const char *quote,
                               const char *lot)
{
    lutra_instrument def;
    int32_t id;

    if (instrument_define(&def, "sim", symbol, base, quote, "0.01", lot, NULL, NULL, reason,
                          sizeof reason) != 0 ||
        (id = instrument_registry_add(reg, &def, reason, sizeof reason)) < 0)
        bail_out("instrument %s: %s", symbol, reason);
    return (uint32_t)id;
}

static oms *make(int margin, double leverage, double taker_bps, const char *usdt)
{
    oms_config cfg = {.margin = margin, .leverage = leverage, .taker_fee_bps = taker_bps};
    oms *o = oms_new(reg, &cfg);

    if (!o || oms_set_balance(o, "USDT", M(usdt)) != 0)
        bail_out("oms_new failed");
    return o;
}

static order_request request(uint32_t inst, order_side side, order_type type, int64_t qty,
                             int64_t price)
{
    order_request r;
    memset(&r, 0, sizeof r);
    r.instrument = inst;
    r.side = side;
    r.type = type;
    r.tif = ORDER_GTC;
    r.qty = qty;
    r.price = price;
    return r;
}

static order *submit(oms *o, uint32_t inst, order_side side, int64_t qty, int64_t price)
{
    order_request r = request(inst, side, ORDER_LIMIT, qty, price);
    order *ord = oms_submit(o, &r, 0, 1000, reason, sizeof reason);
    if (!ord)
        bail_out("submit refused: %s", reason);
    return ord;
}

static int report(oms *o, exec_kind kind, const char *id, int64_t price, int64_t qty,
                  int64_t fee, oms_change *chg)
{
    exec_report r;
    oms_change scratch;

    memset(&r, 0, sizeof r);
    r.kind = kind;
    snprintf(r.order_id, sizeof r.order_id, "%s", id);
    r.price = price;
    r.qty = qty;
    r.fee = fee;
    snprintf(r.fee_asset, sizeof r.fee_asset, "USDT");
    r.liquidity = ORDER_MAKER;
    if (kind != EXEC_FILL)
        snprintf(r.reason, sizeof r.reason, "%s by the venue",
                 kind == EXEC_REJECTED          ? "rejected"
                 : kind == EXEC_CANCEL_REJECTED ? "refused"
                                                : "closed");
    return oms_apply(o, &r, 2000, chg ? chg : &scratch, reason, sizeof reason);
}

static void must(int rc, const char *what)
{
    if (rc != 0)
        bail_out("%s refused: %s", what, reason);
}

static void is_balance(const oms *o, const char *asset, const char *free, const char *locked,
                       const char *when)
{
    oms_balance b = oms_get_balance(o, asset);
    is_int(b.free, M(free), "%s: %s free %s", when, asset, free);
    is_int(b.locked, M(locked), "%s: %s locked %s", when, asset, locked);
}

/* Average price of a position, money units of quote per whole base unit. */
static int64_t avg_price(const oms_position *p, int size_scale)
{
    return p->qty ? money_muldiv(p->cost, fixed_pow10(size_scale), p->qty) : 0;
}

static int64_t mark_btc;
static int64_t mark(void *ud, uint32_t inst)
{
    (void)ud;
    return inst == btc ? mark_btc : 0;
}

/* ---- Spot ---- */

static void test_spot_round_trip(void)
{
    oms *o = make(0, 0, 10, "10000");
    const oms_position *p;
    oms_change chg;
    order *buy, *sell;

    buy = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    is_str(buy->id, "lt1", "first id is lt1");
    is_int(buy->status, ORDER_PENDING_NEW, "submitted order is pending_new");
    /* 6000 notional + 10 bps taker reserve = 6006. */
    is_int(buy->locked, M("6006"), "buy locks notional plus taker fee");
    is_balance(o, "USDT", "3994", "6006", "after buy submit");

    must(report(o, EXEC_ACCEPTED, "lt1", 0, 0, 0, &chg), "accept");
    ok(buy->status == ORDER_NEW && chg.status_changed && !chg.filled, "accepted: new");

    must(report(o, EXEC_FILL, "lt1", P("59990"), Q("0.1"), M("5.999"), &chg), "fill");
    ok(chg.filled && chg.status_changed && chg.order == buy, "fill reported as a change");
    ok(chg.fill_price == P("59990") && chg.fill_qty == Q("0.1") && chg.fill_fee == M("5.999") &&
           chg.fill_liquidity == ORDER_MAKER,
       "fill fields");
    is_int(buy->status, ORDER_FILLED, "buy filled");
    is_int(buy->locked, 0, "nothing left locked for the buy");
    is_int(buy->filled_value, M("5999"), "filled value 5999");
    is_int(buy->fees, M("5.999"), "order fees");
    is_str(buy->fee_asset, "USDT", "order fee asset");
    /* Spent 5999 + 5.999; the unused 1.001 of the lock came back. */
    is_balance(o, "USDT", "3995.001", "0", "after buy fill");
    is_balance(o, "BTC", "0.1", "0", "after buy fill");

    p = oms_get_position(o, btc);
    is_int(p->qty, Q("0.1"), "position 0.1");
    is_int(p->cost, M("5999"), "position cost 5999");
    is_int(avg_price(p, 5), M("59990"), "avg price 59990");
    is_int(p->realized_pnl, 0, "nothing realized yet");
    is_int(p->fees, M("5.999"), "position fees");
    is_int(oms_unrealized(o, btc, P("62000")), M("201"), "unrealized at 62000: 6200 - 5999");
    is_int(oms_unrealized(o, btc, 0), 0, "no mark, no unrealized");
    mark_btc = P("62000");
    is_int(oms_equity(o, "USDT", mark, NULL), M("10195.001"),
           "spot equity: 3995.001 USDT + 0.1 BTC at 62000");
    mark_btc = 0;
    is_int(oms_equity(o, "USDT", mark, NULL), M("9994.001"), "unknown mark: BTC valued at cost");

    sell = submit(o, btc, ORDER_SELL, Q("0.1"), P("61000"));
    is_str(sell->id, "lt2", "second id is lt2");
    is_int(sell->locked, M("0.1"), "sell locks its base quantity");
    is_balance(o, "BTC", "0", "0.1", "after sell submit");
    is_balance(o, "USDT", "3995.001", "0", "sell locks no quote");
    must(report(o, EXEC_ACCEPTED, "lt2", 0, 0, 0, NULL), "accept sell");
    must(report(o, EXEC_FILL, "lt2", P("61000"), Q("0.1"), M("6.1"), NULL), "fill sell");
    is_int(sell->status, ORDER_FILLED, "sell filled");
    is_balance(o, "BTC", "0", "0", "after sell fill");
    /* 3995.001 + 6100 - 6.1 */
    is_balance(o, "USDT", "10088.901", "0", "after sell fill");
    is_int(p->qty, 0, "flat");
    is_int(p->cost, 0, "no cost left when flat");
    is_int(p->realized_pnl, M("101"), "realized 6100 - 5999 = 101");
    is_int(p->fees, M("12.099"), "fees 5.999 + 6.1");
    is_int(oms_open_count(o, -1), 0, "no open order left");
    oms_free(o);
}

static void test_partial_fills_and_cancel(void)
{
    oms *o = make(0, 0, 10, "20000");
    oms_change chg;
    order *buy = submit(o, btc, ORDER_BUY, Q("0.2"), P("60000"));
    const oms_position *p;

    is_balance(o, "USDT", "7988", "12012", "0.2 at 60000 locks 12012");
    must(report(o, EXEC_ACCEPTED, buy->id, 0, 0, 0, NULL), "accept");
    must(report(o, EXEC_FILL, buy->id, P("60000"), Q("0.05"), M("3"), &chg), "fill 1");
    ok(buy->status == ORDER_PARTIALLY_FILLED && chg.status_changed, "partially filled");
    is_int(buy->locked, M("9009"), "lock less 3000 + 3");
    is_balance(o, "USDT", "7988", "9009", "after first partial fill");
    must(report(o, EXEC_FILL, buy->id, P("59000"), Q("0.05"), M("2.95"), &chg), "fill 2");
    ok(buy->status == ORDER_PARTIALLY_FILLED && !chg.status_changed,
       "second partial fill: status unchanged");
    is_int(buy->locked, M("6056.05"), "lock less 2950 + 2.95");

    ok(oms_cancel(o, buy->id, 1500, reason, sizeof reason) == 0, "cancel asked");
    is_int(buy->status, ORDER_PENDING_CANCEL, "pending_cancel");
    is_int(oms_open_count(o, (int32_t)btc), 1, "pending_cancel is still open");
    must(report(o, EXEC_FILL, buy->id, P("60000"), Q("0.01"), M("0.6"), &chg), "fill 3");
    ok(buy->status == ORDER_PENDING_CANCEL && !chg.status_changed,
       "a partial fill while pending_cancel keeps pending_cancel");
    is_int(buy->locked, M("5455.45"), "lock less 600 + 0.6");

    must(report(o, EXEC_CANCELED, buy->id, 0, 0, 0, &chg), "canceled");
    ok(buy->status == ORDER_CANCELED && chg.status_changed, "canceled");
    is_str(buy->reason, "closed by the venue", "cancel reason kept");
    is_int(buy->locked, 0, "nothing locked after cancel");
    /* 20000 - (3003 + 2952.95 + 600.6) */
    is_balance(o, "USDT", "13443.45", "0", "cancel unlocks the rest");
    is_balance(o, "BTC", "0.11", "0", "bought 0.11");
    is_int(buy->filled, Q("0.11"), "filled 0.11");
    p = oms_get_position(o, btc);
    is_int(p->cost, M("6550"), "cost 3000 + 2950 + 600");
    is_int(avg_price(p, 5), INT64_C(5954545454545), "avg 6550 / 0.11 = 59545.45454545");
    oms_free(o);
}

static void test_reject_and_expire(void)
{
    oms *o = make(0, 0, 10, "10000");
    oms_change chg;
    order *buy = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000")), *sell;

    is_balance(o, "USDT", "3994", "6006", "buy locked");
    must(report(o, EXEC_REJECTED, buy->id, 0, 0, 0, &chg), "reject");
    ok(buy->status == ORDER_REJECTED && chg.status_changed, "rejected");
    is_str(buy->reason, "rejected by the venue", "reject reason kept");
    is_balance(o, "USDT", "10000", "0", "reject unlocks all");
    is_int(oms_open_count(o, -1), 0, "a rejected order is not open");

    must(oms_set_balance(o, "BTC", M("1")), "set BTC");
    sell = submit(o, btc, ORDER_SELL, Q("0.4"), P("61000"));
    is_balance(o, "BTC", "0.6", "0.4", "sell locked 0.4");
    must(report(o, EXEC_ACCEPTED, sell->id, 0, 0, 0, NULL), "accept");
    must(report(o, EXEC_FILL, sell->id, P("61000"), Q("0.1"), M("6.1"), NULL), "fill");
    must(report(o, EXEC_EXPIRED, sell->id, 0, 0, 0, &chg), "expire");
    ok(sell->status == ORDER_EXPIRED && chg.status_changed, "expired");
    is_balance(o, "BTC", "0.9", "0", "expiry unlocks the unfilled 0.3");
    is_balance(o, "USDT", "16093.9", "0", "proceeds 6100 less fee 6.1");
    is_int(oms_get_position(o, btc)->qty, -Q("0.1"),
           "selling base held from the start: position counts what was traded");
    oms_free(o);
}

static void test_spot_refusals(void)
{
    oms *o = make(0, 0, 10, "10000");
    order_request r;
    size_t count;

    must(oms_set_balance(o, "BTC", M("0.05")), "set BTC");
    r = request(btc, ORDER_SELL, ORDER_LIMIT, Q("0.2"), P("60000"));
    ok(oms_submit(o, &r, 0, 0, reason, sizeof reason) == NULL, "selling more than held refused");
    is_str(reason, "balance: sell of 0.2 BTCUSDT needs 0.2 BTC, free 0.05 BTC", "with the amounts");
    memset(reason, 0, sizeof reason);
    ok(oms_check_balance(o, &r, 0, reason, sizeof reason) < 0 &&
           strcmp(reason, "balance: sell of 0.2 BTCUSDT needs 0.2 BTC, free 0.05 BTC") == 0,
       "oms_check_balance says the same");

    r = request(btc, ORDER_BUY, ORDER_LIMIT, Q("1"), P("60000"));
    ok(oms_submit(o, &r, 0, 0, reason, sizeof reason) == NULL, "buying beyond quote refused");
    is_str(reason, "balance: buy of 1 BTCUSDT needs 60060 USDT, free 10000 USDT",
           "notional plus taker reserve against free quote");

    /* A market buy is valued at the reference price plus 1% slippage. */
    r = request(btc, ORDER_BUY, ORDER_MARKET, Q("0.1"), 0);
    ok(oms_submit(o, &r, P("60000"), 0, reason, sizeof reason) != NULL, "market buy accepted");
    is_balance(o, "USDT", "3933.94", "6066.06", "market buy locks 6060 + 6.06");
    r.qty = Q("0.2");
    ok(oms_submit(o, &r, P("60000"), 0, reason, sizeof reason) == NULL, "second market buy refused");
    is_str(reason, "balance: buy of 0.2 BTCUSDT needs 12132.12 USDT, free 3933.94 USDT",
           "locked funds are not free");
    ok(oms_submit(o, &r, 0, 0, reason, sizeof reason) == NULL &&
           strcmp(reason, "balance: no reference price for BTCUSDT yet to value a market buy order") == 0,
       "a market buy without a reference price is refused: %s", reason);

    r = request(btc, ORDER_SELL, ORDER_LIMIT, Q("0.05"), P("60000"));
    ok(oms_submit(o, &r, 0, 0, reason, sizeof reason) != NULL, "selling all that is held");
    r.qty = Q("0.01");
    ok(oms_submit(o, &r, 0, 0, reason, sizeof reason) == NULL &&
           strcmp(reason, "balance: sell of 0.01 BTCUSDT needs 0.01 BTC, free 0 BTC") == 0,
       "base locked by a sell is not free: %s", reason);

    count = oms_order_count(o);
    r = request(99, ORDER_BUY, ORDER_LIMIT, Q("1"), P("1"));
    ok(oms_submit(o, &r, 0, 0, reason, sizeof reason) == NULL &&
           strcmp(reason, "order: unknown instrument id 99") == 0,
       "unknown instrument refused: %s", reason);
    r = request(btc, ORDER_BUY, ORDER_LIMIT, 0, P("1"));
    ok(oms_submit(o, &r, 0, 0, reason, sizeof reason) == NULL &&
           strcmp(reason, "order: qty must be > 0, got 0") == 0,
       "zero qty refused: %s", reason);
    is_int(oms_order_count(o), count, "refused orders are not stored");
    is_balance(o, "USDT", "3933.94", "6066.06", "refusals lock nothing");
    oms_free(o);
}

/* ---- Margin ---- */

static void test_margin_short_cover(void)
{
    oms *o = make(1, 5, 0, "10000");
    const oms_position *p;
    order *sell = submit(o, btc, ORDER_SELL, Q("0.1"), P("60000")), *buy;

    is_int(sell->locked, 0, "margin: a sell locks nothing");
    is_balance(o, "USDT", "10000", "0", "margin: quote untouched by the order");
    is_balance(o, "BTC", "0", "0", "margin: no base needed to sell");
    must(report(o, EXEC_FILL, sell->id, P("60000"), Q("0.1"), M("6"), NULL), "fill short");
    p = oms_get_position(o, btc);
    is_int(p->qty, -Q("0.1"), "short 0.1");
    is_int(p->cost, -M("6000"), "cost -6000");
    is_int(avg_price(p, 5), M("60000"), "avg price 60000");
    is_balance(o, "USDT", "9994", "0", "opening pays only the fee");
    is_balance(o, "BTC", "0", "0", "base balance untouched");
    is_int(oms_unrealized(o, btc, P("59000")), M("100"), "short gains 100 at 59000");
    mark_btc = P("59000");
    is_int(oms_equity(o, "USDT", mark, NULL), M("10094"), "margin equity adds unrealized");
    is_int(oms_gross_exposure(o, mark, NULL), M("5900"), "gross exposure 0.1 x 59000");
    mark_btc = 0;
    is_int(oms_gross_exposure(o, mark, NULL), M("6000"), "without a mark, exposure at cost");

    buy = submit(o, btc, ORDER_BUY, Q("0.1"), P("59000"));
    must(report(o, EXEC_FILL, buy->id, P("59000"), Q("0.1"), M("5.9"), NULL), "cover");
    is_int(p->qty, 0, "flat after cover");
    is_int(p->cost, 0, "no cost when flat");
    is_int(p->realized_pnl, M("100"), "realized 6000 - 5900");
    is_int(p->fees, M("11.9"), "fees 6 + 5.9");
    is_balance(o, "USDT", "10088.1", "0", "9994 + 100 - 5.9");
    is_balance(o, "BTC", "0", "0", "base still untouched");
    oms_free(o);
}

static void test_cross_zero(void)
{
    oms *o = make(1, 20, 0, "10000");
    const oms_position *p;
    order *buy = submit(o, btc, ORDER_BUY, Q("1"), P("60000")), *sell;

    must(report(o, EXEC_FILL, buy->id, P("60000"), Q("1"), 0, NULL), "long 1");
    sell = submit(o, btc, ORDER_SELL, Q("3"), P("61000"));
    must(report(o, EXEC_FILL, sell->id, P("61000"), Q("3"), 0, NULL), "sell 3");
    p = oms_get_position(o, btc);
    is_int(p->qty, -Q("2"), "short 2 after crossing zero");
    is_int(p->cost, -M("122000"), "the new short opens at the fill price");
    is_int(avg_price(p, 5), M("61000"), "avg price 61000");
    is_int(p->realized_pnl, M("1000"), "realized on the 1 closed: 61000 - 60000");
    is_balance(o, "USDT", "11000", "0", "realized PnL credited to the quote");
    is_int(oms_unrealized(o, btc, P("60000")), M("2000"), "short 2 gains 2000 at 60000");
    mark_btc = P("60000");
    is_int(oms_equity(o, "USDT", mark, NULL), M("13000"), "11000 + 2000 unrealized");
    is_int(oms_gross_exposure(o, mark, NULL), M("120000"), "|-2| x 60000");
    mark_btc = 0;
    oms_free(o);
}

static void test_leverage(void)
{
    oms *o = make(1, 2, 0, "1000");
    order_request r = request(btc, ORDER_BUY, ORDER_LIMIT, Q("0.05"), P("60000"));
    order *buy;

    ok(oms_check_balance(o, &r, P("60000"), reason, sizeof reason) < 0, "3000 > 2 x 1000");
    is_str(reason, "balance: exposure 3000 USDT after this order exceeds 2x equity 1000 USDT (2000 USDT)",
           "the exposure, leverage and equity");
    r.qty = Q("0.03");
    buy = oms_submit(o, &r, P("60000"), 0, reason, sizeof reason);
    ok(buy != NULL, "1800 within 2000");
    r.qty = Q("0.01");
    ok(oms_submit(o, &r, P("60000"), 0, reason, sizeof reason) == NULL,
       "open orders on the same side count: 0.04 x 60000 = 2400 > 2000");
    must(report(o, EXEC_FILL, buy->id, P("60000"), Q("0.03"), 0, NULL), "fill");
    must(oms_set_balance(o, "USDT", M("100")), "losses elsewhere");
    r = request(btc, ORDER_SELL, ORDER_LIMIT, Q("0.03"), P("60000"));
    ok(oms_check_balance(o, &r, P("60000"), reason, sizeof reason) == 0,
       "an order that reduces the position is always allowed");
    r.side = ORDER_BUY;
    r.qty = Q("0.001");
    ok(oms_check_balance(o, &r, P("60000"), reason, sizeof reason) < 0,
       "one that grows it is not: %s", reason);
    oms_free(o);
}

/* ---- The state machine ---- */

typedef struct snapshot {
    order o;
    oms_balance usdt, btc;
    oms_position pos;
    size_t open;
} snapshot;

static snapshot snap(const oms *o, const order *ord)
{
    snapshot s;
    memset(&s, 0, sizeof s);
    if (ord)
        memcpy(&s.o, ord, sizeof *ord);
    s.usdt = oms_get_balance(o, "USDT");
    s.btc = oms_get_balance(o, "BTC");
    s.pos = *oms_get_position(o, btc);
    s.open = oms_open_count(o, -1);
    return s;
}

static void check_refused(const oms *o, const order *ord, const snapshot *before, int rc,
                          const char *want, const char *what)
{
    snapshot after = snap(o, ord);
    ok(rc == -1 && strstr(reason, want) && memcmp(before, &after, sizeof after) == 0,
       "%s: refused ('%s'), nothing changed", what, reason);
}

/* Run call on o and check it was refused with `want` and changed nothing
 * of ord, the USDT and BTC balances, the position or the open orders. */
#define REFUSED(o, ord, call, want, what)                                                    \
    do {                                                                                    \
        snapshot before_ = snap(o, ord);                                                    \
        int rc_ = (call);                                                                   \
        check_refused(o, ord, &before_, rc_, want, what);                                   \
    } while (0)

/* A cancel the venue refuses puts the order back as it was: new, partly
 * filled, or still waiting for its acknowledgement; it can be cancelled
 * again. One on an order with no cancel pending changes nothing. */
static void test_cancel_refused(void)
{
    oms *o = make(0, 0, 0, "100000");
    oms_change chg;
    order *a = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    order *b = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    order *c = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    oms_balance before;

    must(report(o, EXEC_ACCEPTED, a->id, 0, 0, 0, NULL), "accept a");
    must(report(o, EXEC_ACCEPTED, b->id, 0, 0, 0, NULL), "accept b");
    must(report(o, EXEC_FILL, b->id, P("60000"), Q("0.04"), 0, NULL), "fill b in part");
    before = oms_get_balance(o, "USDT");
    ok(oms_cancel(o, a->id, 1500, reason, sizeof reason) == 0 &&
           oms_cancel(o, b->id, 1500, reason, sizeof reason) == 0 &&
           oms_cancel(o, c->id, 1500, reason, sizeof reason) == 0,
       "three cancels asked");
    must(report(o, EXEC_CANCEL_REJECTED, a->id, 0, 0, 0, &chg), "a's cancel refused");
    ok(a->status == ORDER_NEW && chg.status_changed, "a is new again, a change to tell");
    is_str(a->reason, "cancel refused: refused by the venue", "with the venue's reason");
    must(report(o, EXEC_CANCEL_REJECTED, b->id, 0, 0, 0, &chg), "b's cancel refused");
    is_int(b->status, ORDER_PARTIALLY_FILLED, "b is partially filled again");
    must(report(o, EXEC_CANCEL_REJECTED, c->id, 0, 0, 0, &chg), "c's cancel refused");
    is_int(c->status, ORDER_PENDING_NEW, "c, never acknowledged, waits for it again");
    ok(oms_get_balance(o, "USDT").locked == before.locked && oms_open_count(o, -1) == 3,
       "locks and open orders as they were");
    ok(oms_cancel(o, a->id, 1600, reason, sizeof reason) == 0 &&
           a->status == ORDER_PENDING_CANCEL && !a->reason[0],
       "a can be cancelled again, the refusal forgotten");
    REFUSED(o, b, report(o, EXEC_CANCEL_REJECTED, b->id, 0, 0, 0, NULL), "no cancel to refuse",
            "a refusal with no cancel pending");
    must(report(o, EXEC_CANCELED, a->id, 0, 0, 0, NULL), "a canceled");
    REFUSED(o, a, report(o, EXEC_CANCEL_REJECTED, a->id, 0, 0, 0, NULL), "already canceled",
            "a refusal after the cancel went through");
    oms_free(o);
}

static void test_illegal_transitions(void)
{
    oms *o = make(0, 0, 10, "100000");
    order *a = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    order *b = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    order *c = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    oms_change chg;

    must(report(o, EXEC_CANCELED, a->id, 0, 0, 0, NULL), "cancel a");
    REFUSED(o, a, report(o, EXEC_FILL, a->id, P("60000"), Q("0.1"), 0, NULL),
            "order lt1 is already canceled: fill refused", "fill on a canceled order");
    REFUSED(o, a, report(o, EXEC_ACCEPTED, a->id, 0, 0, 0, NULL), "already canceled",
            "accept of a canceled order");
    REFUSED(o, a, oms_cancel(o, a->id, 0, reason, sizeof reason), "already canceled",
            "cancel of a canceled order");

    must(report(o, EXEC_ACCEPTED, b->id, 0, 0, 0, NULL), "accept b");
    REFUSED(o, b, report(o, EXEC_ACCEPTED, b->id, 0, 0, 0, NULL), "accepted twice",
            "accepted twice");
    REFUSED(o, b, report(o, EXEC_FILL, b->id, P("60000"), Q("0.2"), 0, NULL),
            "fill of 0.2 exceeds the 0.1 left of order lt2", "fill beyond qty");
    must(report(o, EXEC_FILL, b->id, P("60000"), Q("0.06"), 0, NULL), "partial b");
    REFUSED(o, b, report(o, EXEC_FILL, b->id, P("60000"), Q("0.05"), 0, NULL),
            "fill of 0.05 exceeds the 0.04 left", "fill beyond what is left");
    REFUSED(o, b, report(o, EXEC_FILL, b->id, P("60000"), 0, 0, NULL),
            "price and qty must be > 0", "fill of zero qty");
    REFUSED(o, b, report(o, EXEC_FILL, b->id, 0, Q("0.01"), 0, NULL),
            "price and qty must be > 0", "fill at price zero");
    REFUSED(o, b, report(o, EXEC_REJECTED, b->id, 0, 0, 0, NULL), "a reject does not apply",
            "reject of an accepted order");
    REFUSED(o, b, report(o, (exec_kind)99, b->id, 0, 0, 0, NULL), "unknown report kind 99",
            "unknown report kind");
    must(oms_cancel(o, b->id, 0, reason, sizeof reason), "cancel b");
    REFUSED(o, b, oms_cancel(o, b->id, 0, reason, sizeof reason), "cancel already requested",
            "cancel twice");
    must(report(o, EXEC_FILL, b->id, P("60000"), Q("0.04"), 0, &chg), "b fills while cancelling");
    ok(b->status == ORDER_FILLED && chg.status_changed, "pending_cancel -> filled");
    REFUSED(o, b, oms_cancel(o, b->id, 0, reason, sizeof reason), "already filled",
            "cancel of a filled order");
    REFUSED(o, b, report(o, EXEC_CANCELED, b->id, 0, 0, 0, NULL), "already filled",
            "canceled report of a filled order");

    REFUSED(o, NULL, oms_cancel(o, "nope", 0, reason, sizeof reason), "unknown order id 'nope'",
            "cancel of an unknown id");
    REFUSED(o, NULL, report(o, EXEC_FILL, "nope", P("1"), Q("1"), 0, NULL),
            "fill for unknown order id 'nope'", "fill of an unknown id");
    ok(oms_find(o, "nope") == NULL, "unknown id not found");

    /* A cancel sent before the acknowledgement: accepted keeps pending_cancel. */
    must(oms_cancel(o, c->id, 0, reason, sizeof reason), "cancel c while pending_new");
    must(report(o, EXEC_ACCEPTED, c->id, 0, 0, 0, &chg), "late accept of c");
    ok(c->status == ORDER_PENDING_CANCEL && !chg.status_changed,
       "accepted while pending_cancel stays pending_cancel");
    REFUSED(o, c, report(o, EXEC_ACCEPTED, c->id, 0, 0, 0, NULL), "accepted twice",
            "accepted twice while pending_cancel");
    oms_free(o);

    /* A fill of a pending_new order implies acceptance. */
    o = make(0, 0, 0, "100000");
    a = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    must(report(o, EXEC_FILL, a->id, P("60000"), Q("0.05"), 0, &chg), "fill before ack");
    ok(a->status == ORDER_PARTIALLY_FILLED && chg.status_changed,
       "pending_new -> partially_filled on a fill");
    REFUSED(o, a, report(o, EXEC_ACCEPTED, a->id, 0, 0, 0, NULL), "accepted twice",
            "an ack after a fill is refused");
    REFUSED(o, a, report(o, EXEC_REJECTED, a->id, 0, 0, 0, NULL), "a reject does not apply",
            "a reject after a fill is refused");
    oms_free(o);
}

/* ---- Open orders and ids ---- */

static void test_open_orders(void)
{
    oms *o = make(1, 100, 0, "1000000");
    order *b1 = submit(o, btc, ORDER_BUY, Q("0.1"), P("60000"));
    order *e1 = submit(o, eth, ORDER_SELL, dec("1", 4), P("3000"));
    order *b2 = submit(o, btc, ORDER_SELL, Q("0.1"), P("61000"));
    order *e2 = submit(o, eth, ORDER_BUY, dec("1", 4), P("2900"));
    order *out[8];

    is_int(oms_open_orders(o, (int32_t)btc, out, 8), 2, "two BTCUSDT orders open");
    ok(out[0] == b1 && out[1] == b2, "BTCUSDT oldest first");
    is_int(oms_open_orders(o, (int32_t)eth, out, 8), 2, "two ETHUSDT orders open");
    ok(out[0] == e1 && out[1] == e2, "ETHUSDT oldest first");
    is_int(oms_open_orders(o, -1, out, 8), 4, "four open in all");
    ok(out[0] == b1 && out[1] == e1 && out[2] == b2 && out[3] == e2, "all oldest first");

    must(report(o, EXEC_CANCELED, b1->id, 0, 0, 0, NULL), "cancel b1");
    must(report(o, EXEC_FILL, e1->id, P("3000"), dec("1", 4), 0, NULL), "fill e1");
    is_int(oms_open_orders(o, (int32_t)btc, out, 8), 1, "one BTCUSDT order left");
    ok(out[0] == b2, "it is b2");
    is_int(oms_open_orders(o, -1, out, 1), 2, "the count is all of them, out gets max");
    ok(out[0] == b2, "oldest open is b2");
    is_int(oms_open_count(o, (int32_t)eth), 1, "one ETHUSDT open");
    is_int(oms_open_count(o, -1), 2, "two open in all");
    is_int(oms_open_count(o, 77), 0, "none for an unknown instrument");
    is_int(oms_order_count(o), 4, "four orders ever");
    ok(oms_order_at(o, 0) == b1 && oms_order_at(o, 3) == e2 && oms_order_at(o, 4) == NULL,
       "orders in submission order");
    ok(oms_find(o, "lt3") == b2, "find by id");
    oms_free(o);
}

static void test_ids(void)
{
    oms_config cfg = {.margin = 1, .leverage = 1, .id_prefix = "run2-", .id_start = 500};
    oms *o = oms_new(reg, &cfg);
    order_request r = request(btc, ORDER_BUY, ORDER_LIMIT, Q("0.001"), P("100"));
    order *a, *b;

    if (!o || oms_set_balance(o, "USDT", M("1000")) != 0)
        bail_out("oms_new with prefix run2-");
    a = oms_submit(o, &r, 0, 0, reason, sizeof reason);
    b = oms_submit(o, &r, 0, 0, reason, sizeof reason);
    ok(a && b && strcmp(a->id, "run2-500") == 0 && strcmp(b->id, "run2-501") == 0,
       "ids are <prefix><n> from id_start");
    ok(oms_find(o, "lt1") == NULL && oms_find(o, "run2-499") == NULL,
       "ids of another run are not ours");
    oms_free(o);

    cfg.id_prefix = "bad prefix";
    ok(oms_new(reg, &cfg) == NULL, "a prefix an exchange would refuse is refused");
    cfg.id_prefix = "abcdefghijabcdefghijabcdefghij"; /* 30 characters */
    cfg.id_start = 99;
    if (!(o = oms_new(reg, &cfg)) || oms_set_balance(o, "USDT", M("1000")) != 0)
        bail_out("oms_new with a 30-character prefix");
    a = oms_submit(o, &r, 0, 0, reason, sizeof reason);
    b = oms_submit(o, &r, 0, 0, reason, sizeof reason);
    ok(a && strlen(a->id) == 32 && order_id_valid(a->id), "a 32-character id is fine");
    ok(!b && strstr(reason, "ids exhausted") != NULL, "a 33rd character is refused: %s", reason);
    oms_free(o);

    if (!(o = oms_new(reg, NULL)) || oms_set_balance(o, "USDT", M("1000")) != 0)
        bail_out("oms_new with defaults");
    a = oms_submit(o, &r, 0, 0, reason, sizeof reason);
    ok(a && strcmp(a->id, "lt1") == 0, "defaults: prefix lt, from 1");
    oms_free(o);
}

#define MANY 100000

/* ahead: room made every 100 orders for the next `ahead` (as the live
 * driver does between messages), or 0 for none. */
static void test_many(size_t ahead)
{
    oms *o = make(1, 10, 0, "1000000000");
    order **kept = malloc(MANY * sizeof(*kept));
    int found = 1, valid = 1, stable = 1, closed = 1, room = 1;
    char last[ORDER_ID_MAX + 1] = "";

    if (!kept)
        bail_out("out of memory");
    diag("room made ahead: %zu orders", ahead);
    for (int i = 0; i < MANY; i++) {
        if (ahead && i % 100 == 0)
            room &= oms_reserve_ahead(o, ahead) == 0;
        kept[i] = submit(o, i % 2 ? btc : eth, i % 4 < 2 ? ORDER_BUY : ORDER_SELL, 1, P("1"));
        valid &= order_id_valid(kept[i]->id) && strcmp(kept[i]->id, last) != 0;
        snprintf(last, sizeof last, "%s", kept[i]->id);
    }
    /* find(id) giving back each order proves the ids distinct. */
    for (int i = 0; i < MANY; i++) {
        found &= oms_find(o, kept[i]->id) == kept[i];
        stable &= oms_order_at(o, (size_t)i) == kept[i];
    }
    ok(room, "room made ahead every time");
    ok(valid, "%d ids valid", MANY);
    ok(found, "every id finds its own order: %d unique ids", MANY);
    ok(stable, "orders stay where they were submitted");
    is_int(oms_open_count(o, -1), MANY, "all open");
    is_str(kept[MANY - 1]->id, "lt100000", "last id");
    for (int i = 0; i < MANY; i++)
        closed &= report(o, EXEC_CANCELED, kept[i]->id, 0, 0, 0, NULL) == 0;
    ok(closed, "all canceled");
    is_int(oms_open_count(o, -1), 0, "none open");
    is_int(oms_open_count(o, (int32_t)btc), 0, "none open on BTCUSDT");
    if (ahead) {
        is_int(oms_reserve_ahead(o, (size_t)UINT32_MAX), -1,
               "room for more orders than ids can index is refused");
        ok(oms_find(o, kept[0]->id) == kept[0] && oms_order_count(o) == MANY,
           "and changes nothing");
    }
    free(kept);
    oms_free(o);
}

int main(void)
{
    reg = instrument_registry_new();
    if (!reg)
        bail_out("registry");
    btc = add_instrument("BTCUSDT", "BTC", "USDT", "0.00001");
    eth = add_instrument("ETHUSDT", "ETH", "USDT", "0.0001");

    plan(221);
    test_spot_round_trip();
    test_partial_fills_and_cancel();
    test_cancel_refused();
    test_reject_and_expire();
    test_spot_refusals();
    test_margin_short_cover();
    test_cross_zero();
    test_leverage();
    test_illegal_transitions();
    test_open_orders();
    test_ids();
    test_many(0);
    test_many(64);
    test_many(5000);
    instrument_registry_free(reg);
    return done();
}
