/*
 * t/risk.c -- the pre-trade risk gates (core/risk.h), each alone, then
 * their order, the rate bucket over virtual time, the daily loss limit and
 * the kill switch. The view is a real instrument registry and a real OMS;
 * reference prices and equity come from the test.
 */
#include <stdint.h>
#include <string.h>

#include "fixed.h"
#include "instrument.h"
#include "money.h"
#include "oms.h"
#include "order.h"
#include "risk.h"
#include "tap.h"
#include "timestamp.h"

#define BTC 0 /* BTCUSDT: tick 0.05 (scale 2), lot 0.0005 (scale 4), min 0.001, min 10 */
#define ETH 1 /* ETHUSDT: tick 0.01, lot 0.001, no minimums */

/* 2024-08-08T00:00:00Z */
#define DAY0 (INT64_C(19943) * TS_NS_PER_DAY)

typedef struct fixture {
    instrument_registry *reg;
    oms *oms;
    risk *risk;
    risk_view view;
    int64_t ref[2];  /* reference prices, 0: unknown */
    int64_t equity;  /* money units */
} fixture;

static char reason[ORDER_REASON_MAX];

/* ---- Numbers ---- */

static int64_t dec(const char *s, int scale)
{
    int64_t v;
    if (fixed_parse(s, strlen(s), scale, &v) != FIXED_OK)
        bail_out("bad decimal '%s' at scale %d", s, scale);
    return v;
}

static int64_t money(const char *s)
{
    return dec(s, MONEY_SCALE);
}

static const lutra_instrument *inst_of(const fixture *f, uint32_t id)
{
    return instrument_registry_get(f->reg, id);
}

static int64_t px(const fixture *f, uint32_t id, const char *s)
{
    return dec(s, inst_of(f, id)->price_scale);
}

static int64_t sz(const fixture *f, uint32_t id, const char *s)
{
    return dec(s, inst_of(f, id)->size_scale);
}

/* ---- The view ---- */

static int64_t test_ref_price(void *ud, uint32_t instrument)
{
    const fixture *f = ud;
    return instrument < 2 ? f->ref[instrument] : 0;
}

static int64_t test_equity(void *ud)
{
    const fixture *f = ud;
    return f->equity;
}

static void add_instrument(instrument_registry *reg, const char *symbol, const char *base,
                           const char *tick, const char *lot, const char *min_qty,
                           const char *min_notional)
{
    lutra_instrument def;
    char err[256];

    if (instrument_define(&def, "binance", symbol, base, "USDT", tick, lot, min_qty,
                          min_notional, err, sizeof err) != 0 ||
        instrument_registry_add(reg, &def, err, sizeof err) < 0)
        bail_out("instrument %s: %s", symbol, err);
}

/* A registry of two instruments, an OMS (spot unless margin) holding
 * plenty of everything, and the gates with the given limits. */
static void fixture_init(fixture *f, const risk_limits *limits, int margin)
{
    oms_config cfg = {.margin = margin, .leverage = 100, .taker_fee_bps = 0};
    char err[256];

    memset(f, 0, sizeof *f);
    if (!(f->reg = instrument_registry_new()))
        bail_out("instrument_registry_new failed");
    add_instrument(f->reg, "BTCUSDT", "BTC", "0.05", "0.0005", "0.001", "10");
    add_instrument(f->reg, "ETHUSDT", "ETH", "0.01", "0.001", NULL, NULL);
    if (!(f->oms = oms_new(f->reg, &cfg)))
        bail_out("oms_new failed");
    if (oms_set_balance(f->oms, "USDT", money("10000000")) != 0 ||
        oms_set_balance(f->oms, "BTC", money("1000")) != 0 ||
        oms_set_balance(f->oms, "ETH", money("1000")) != 0)
        bail_out("oms_set_balance failed");
    if (!(f->risk = risk_new(limits, err, sizeof err)))
        bail_out("risk_new: %s", err);
    f->view = (risk_view){.reg = f->reg, .oms = f->oms, .ref_price = test_ref_price,
                          .equity = test_equity, .ud = f};
    f->equity = money("10000");
}

static void fixture_free(fixture *f)
{
    risk_free(f->risk);
    oms_free(f->oms);
    instrument_registry_free(f->reg);
}

/* ---- Orders ---- */

static order_request limit_order(const fixture *f, uint32_t id, order_side side,
                                 const char *price, const char *qty)
{
    order_request r = {.instrument = id, .side = side, .type = ORDER_LIMIT, .tif = ORDER_GTC};
    r.price = px(f, id, price);
    r.qty = sz(f, id, qty);
    return r;
}

static order_request market_order(const fixture *f, uint32_t id, order_side side,
                                  const char *qty)
{
    order_request r = {.instrument = id, .side = side, .type = ORDER_MARKET, .tif = ORDER_IOC};
    r.qty = sz(f, id, qty);
    return r;
}

static int check(fixture *f, order_request req, int64_t now)
{
    reason[0] = '\0';
    return risk_check_order(f->risk, &f->view, &req, now, reason, sizeof reason);
}

static void passes(fixture *f, order_request req, int64_t now, const char *what)
{
    int rc = check(f, req, now);
    ok(rc == 0, "%s passes", what);
    if (rc != 0)
        diag("refused: %s", reason);
}

static void refused(fixture *f, order_request req, int64_t now, const char *want,
                    const char *what)
{
    int rc = check(f, req, now);
    ok(rc == -1, "%s is refused", what);
    is_str(reason, want, "%s: the reason", what);
}

/* Give the OMS a position: an order filled whole at price. */
static void fill(fixture *f, uint32_t id, order_side side, const char *price, const char *qty)
{
    order_request req = limit_order(f, id, side, price, qty);
    exec_report rep = {.kind = EXEC_ACCEPTED};
    oms_change chg;
    char why[256];
    order *o = oms_submit(f->oms, &req, req.price, DAY0, why, sizeof why);

    if (!o)
        bail_out("oms_submit: %s", why);
    snprintf(rep.order_id, sizeof rep.order_id, "%s", o->id);
    if (oms_apply(f->oms, &rep, DAY0, &chg, why, sizeof why) != 0)
        bail_out("oms_apply accepted: %s", why);
    rep.kind = EXEC_FILL;
    rep.price = req.price;
    rep.qty = req.qty;
    rep.liquidity = ORDER_MAKER;
    snprintf(rep.fee_asset, sizeof rep.fee_asset, "USDT");
    if (oms_apply(f->oms, &rep, DAY0, &chg, why, sizeof why) != 0)
        bail_out("oms_apply fill: %s", why);
}

/* ---- Each gate alone ---- */

static void test_no_limits(void)
{
    risk_limits none = {0};
    fixture f;

    fixture_init(&f, &none, 0);
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "1000000.00", "5"), DAY0,
           "with every limit zero, a 5 BTC buy at 1,000,000");
    for (int i = 0; i < 100; i++)
        check(&f, limit_order(&f, ETH, ORDER_SELL, "3000.00", "1"), DAY0);
    passes(&f, limit_order(&f, ETH, ORDER_SELL, "3000.00", "1"), DAY0,
           "the 101st order in the same nanosecond");
    fixture_free(&f);
}

static void test_valid(void)
{
    risk_limits none = {0};
    order_request r;
    fixture f;

    fixture_init(&f, &none, 0);
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "100.05", "0.1"), DAY0, "valid: a limit buy");

    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    r.instrument = 9;
    refused(&f, r, DAY0, "risk: valid: unknown instrument 9", "valid: instrument 9");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0"), DAY0,
            "risk: valid: qty 0 must be above 0", "valid: qty 0");
    refused(&f, limit_order(&f, BTC, ORDER_SELL, "100.00", "-0.1"), DAY0,
            "risk: valid: qty -0.1 must be above 0", "valid: qty -0.1");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "0", "0.1"), DAY0,
            "risk: valid: limit price 0 must be above 0", "valid: limit price 0");

    r = limit_order(&f, BTC, ORDER_SELL, "100.00", "1");
    r.type = ORDER_STOP;
    r.price = 0;
    refused(&f, r, DAY0, "risk: valid: stop_price 0 must be above 0",
            "valid: a stop without stop_price");
    r.stop_price = px(&f, BTC, "99.95");
    passes(&f, r, DAY0, "valid: a stop at 99.95");
    r.stop_price = px(&f, BTC, "99.97");
    refused(&f, r, DAY0, "risk: valid: stop_price 99.97 is not on the price increment 0.05",
            "valid: a stop at 99.97");

    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.03", "0.1"), DAY0,
            "risk: valid: price 100.03 is not on the price increment 0.05",
            "valid: price 100.03");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1002"), DAY0,
            "risk: valid: qty 0.1002 is not on the size increment 0.0005", "valid: qty 0.1002");

    /* min_qty 0.001: equal passes (at a price that meets min_notional). */
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "10000.00", "0.001"), DAY0,
           "valid: qty 0.001, equal to min_qty,");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "10000.00", "0.0005"), DAY0,
            "risk: valid: qty 0.0005 below min_qty 0.001", "valid: qty 0.0005");

    /* min_notional 10: 100 x 0.1 = 10 passes; 100 x 0.0995 does not. */
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1"), DAY0,
           "valid: notional 10.00, equal to min_notional,");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.0995"), DAY0,
            "risk: valid: notional 9.95 below min_notional 10", "valid: notional 9.95");
    passes(&f, market_order(&f, BTC, ORDER_SELL, "0.0995"), DAY0,
           "valid: a market sell without a reference price (cannot be valued)");
    f.ref[BTC] = px(&f, BTC, "100.00");
    refused(&f, market_order(&f, BTC, ORDER_SELL, "0.0995"), DAY0,
            "risk: valid: notional 9.95 below min_notional 10",
            "valid: a market order valued at the reference price");
    fixture_free(&f);
}

static void test_balance(void)
{
    risk_limits none = {0};
    order_request r;
    char want[ORDER_REASON_MAX + 8], oms_reason[ORDER_REASON_MAX];
    fixture f;

    fixture_init(&f, &none, 0);
    if (oms_set_balance(f.oms, "USDT", money("1000")) != 0)
        bail_out("oms_set_balance failed");
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "10"), DAY0,
           "balance: a 1000.00 buy with 1000 USDT free");
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "10.0005");
    ok(oms_check_balance(f.oms, &r, 0, oms_reason, sizeof oms_reason) == -1,
       "balance: the OMS refuses a 1000.05 buy");
    snprintf(want, sizeof want, "risk: %s", oms_reason);
    refused(&f, r, DAY0, want, "balance: a 1000.05 buy");
    ok(strncmp(reason, "risk: balance: ", 15) == 0, "balance: the reason names the gate");
    fixture_free(&f);
}

static void test_max_order(void)
{
    risk_limits lim = {.max_order_qty = 0.5};
    fixture f;

    fixture_init(&f, &lim, 0);
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.5"), DAY0,
           "max_order: qty 0.5, equal to max_order_qty,");
    refused(&f, limit_order(&f, BTC, ORDER_SELL, "100.00", "0.5005"), DAY0,
            "risk: max_order: qty 0.5005 above max_order_qty 0.5", "max_order: qty 0.5005");
    fixture_free(&f);

    lim = (risk_limits){.max_order_notional = 1234.5};
    fixture_init(&f, &lim, 0);
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "123.45", "10"), DAY0,
           "max_order: notional 1234.50, equal to max_order_notional,");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "123.50", "10"), DAY0,
            "risk: max_order: notional 1235.00 above max_order_notional 1234.5",
            "max_order: notional 1235.00");
    refused(&f, market_order(&f, BTC, ORDER_SELL, "1"), DAY0,
            "risk: max_order: notional unknown (a market order and no reference price) "
            "with max_order_notional 1234.5",
            "max_order: a market order without a reference price");
    f.ref[BTC] = px(&f, BTC, "1234.50");
    passes(&f, market_order(&f, BTC, ORDER_BUY, "1"), DAY0,
           "max_order: a market order of 1234.50 at the reference price");
    refused(&f, market_order(&f, BTC, ORDER_BUY, "1.0005"), DAY0,
            "risk: max_order: notional 1235.11725 above max_order_notional 1234.5",
            "max_order: a market order of 1235.11725 at the reference price");
    fixture_free(&f);
}

static void test_price_band(void)
{
    risk_limits lim = {.price_band_pct = 5};
    fixture f;

    fixture_init(&f, &lim, 0);
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "200000.00", "1"), DAY0,
           "price_band: any price without a reference price");
    f.ref[BTC] = px(&f, BTC, "100.00");
    passes(&f, limit_order(&f, BTC, ORDER_SELL, "105.00", "1"), DAY0,
           "price_band: 105.00, 5% above the reference,");
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "95.00", "1"), DAY0,
           "price_band: 95.00, 5% below the reference,");
    refused(&f, limit_order(&f, BTC, ORDER_SELL, "105.05", "1"), DAY0,
            "risk: price_band: price 105.05 is 5.05% from the reference price 100.00 "
            "(price_band_pct 5)",
            "price_band: 105.05");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "94.95", "1"), DAY0,
            "risk: price_band: price 94.95 is 5.05% from the reference price 100.00 "
            "(price_band_pct 5)",
            "price_band: 94.95");
    passes(&f, market_order(&f, BTC, ORDER_BUY, "1"), DAY0,
           "price_band: a market order (no price of its own)");
    f.ref[ETH] = px(&f, ETH, "3.00");
    refused(&f, limit_order(&f, ETH, ORDER_BUY, "3.16", "1"), DAY0,
            "risk: price_band: price 3.16 is 5.3334% from the reference price 3.00 "
            "(price_band_pct 5)",
            "price_band: 3.16 against 3.00 (the percentage rounded up)");
    fixture_free(&f);
}

static void test_position(void)
{
    risk_limits lim = {.nmax_position = 1};
    fixture f;

    snprintf(lim.max_position[0].symbol, sizeof lim.max_position[0].symbol, "BTCUSDT");
    lim.max_position[0].qty = 0.5;
    fixture_init(&f, &lim, 1);
    fill(&f, BTC, ORDER_BUY, "100.00", "0.3");
    passes(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.2"), DAY0,
           "position: 0.3 + 0.2 = 0.5, equal to max_position,");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.2005"), DAY0,
            "risk: position: BTCUSDT would be 0.5005 after this buy (now 0.3), above "
            "max_position 0.5",
            "position: 0.3 + 0.2005");
    passes(&f, limit_order(&f, BTC, ORDER_SELL, "100.00", "0.8"), DAY0,
           "position: 0.3 - 0.8 = -0.5, equal to the limit short,");
    refused(&f, limit_order(&f, BTC, ORDER_SELL, "100.00", "0.8005"), DAY0,
            "risk: position: BTCUSDT would be -0.5005 after this sell (now 0.3), above "
            "max_position 0.5",
            "position: 0.3 - 0.8005");
    passes(&f, limit_order(&f, ETH, ORDER_BUY, "100.00", "50"), DAY0,
           "position: ETHUSDT has no limit");

    lim.max_position[0].qty = 0.1;
    risk_set_limits(f.risk, &lim);
    passes(&f, limit_order(&f, BTC, ORDER_SELL, "100.00", "0.1"), DAY0,
           "position: above a lowered limit, a reducing sell");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1"), DAY0,
            "risk: position: BTCUSDT would be 0.4 after this buy (now 0.3), above "
            "max_position 0.1",
            "position: above a lowered limit, a buy");
    fixture_free(&f);
}

static void test_exposure(void)
{
    risk_limits lim = {.max_gross_exposure = 2000};
    fixture f;

    fixture_init(&f, &lim, 0);
    fill(&f, BTC, ORDER_BUY, "100.00", "10");
    f.ref[BTC] = px(&f, BTC, "100.00");
    passes(&f, limit_order(&f, ETH, ORDER_BUY, "100.00", "10"), DAY0,
           "exposure: 1000.00 + 1000.00, equal to max_gross_exposure,");
    refused(&f, limit_order(&f, ETH, ORDER_BUY, "100.01", "10"), DAY0,
            "risk: exposure: gross exposure 1000.00 + this order 1000.10 = 2000.10 above "
            "max_gross_exposure 2000",
            "exposure: 1000.00 + 1000.10");
    refused(&f, market_order(&f, ETH, ORDER_SELL, "1"), DAY0,
            "risk: exposure: notional unknown (a market order and no reference price) with "
            "max_gross_exposure 2000",
            "exposure: a market order without a reference price");

    lim.max_gross_exposure = 500;
    risk_set_limits(f.risk, &lim);
    passes(&f, limit_order(&f, BTC, ORDER_SELL, "100.00", "5"), DAY0,
           "exposure: above a lowered limit, a reducing sell");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1"), DAY0,
            "risk: exposure: gross exposure 1000.00 + this order 10.00 = 1010.00 above "
            "max_gross_exposure 500",
            "exposure: above a lowered limit, a buy");
    fixture_free(&f);
}

static void test_open_orders(void)
{
    risk_limits lim = {.max_open_orders = 2};
    order_request r;
    char why[256];
    fixture f;

    fixture_init(&f, &lim, 0);
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    if (!oms_submit(f.oms, &r, 0, DAY0, why, sizeof why))
        bail_out("oms_submit: %s", why);
    passes(&f, r, DAY0, "open_orders: a second order with one open");
    if (!oms_submit(f.oms, &r, 0, DAY0, why, sizeof why))
        bail_out("oms_submit: %s", why);
    refused(&f, r, DAY0, "risk: open_orders: 2 open orders, max_open_orders 2",
            "open_orders: a third order with two open");
    fixture_free(&f);
}

/* ---- The order of the gates ---- */

/* One order failing two gates at a time, each pair in the header's order:
 * the first gate is the reason. */
static void test_order_of_gates(void)
{
    risk_limits lim = {.max_order_qty = 1, .price_band_pct = 1, .nmax_position = 1,
                       .max_gross_exposure = 30, .max_open_orders = 1};
    order_request r;
    char why[256];
    fixture f;

    snprintf(lim.max_position[0].symbol, sizeof lim.max_position[0].symbol, "BTCUSDT");
    lim.max_position[0].qty = 0.5;
    fixture_init(&f, &lim, 0);
    f.ref[BTC] = px(&f, BTC, "100.00");

    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.03", "2"), DAY0,
            "risk: valid: price 100.03 is not on the price increment 0.05",
            "order: off the increment and too big: valid first");
    if (oms_set_balance(f.oms, "USDT", money("100")) != 0)
        bail_out("oms_set_balance failed");
    check(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "2"), DAY0);
    ok(strncmp(reason, "risk: balance: ", 15) == 0,
       "order: unaffordable and too big: balance before max_order (%s)", reason);
    if (oms_set_balance(f.oms, "USDT", money("10000000")) != 0)
        bail_out("oms_set_balance failed");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "102.00", "2"), DAY0,
            "risk: max_order: qty 2 above max_order_qty 1",
            "order: too big and off the band: max_order before price_band");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "102.00", "0.6"), DAY0,
            "risk: price_band: price 102.00 is 2% from the reference price 100.00 "
            "(price_band_pct 1)",
            "order: off the band and over the position: price_band before position");
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.6"), DAY0,
            "risk: position: BTCUSDT would be 0.6 after this buy (now 0), above "
            "max_position 0.5",
            "order: over the position and the exposure: position before exposure");
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    if (!oms_submit(f.oms, &r, 0, DAY0, why, sizeof why))
        bail_out("oms_submit: %s", why);
    refused(&f, limit_order(&f, BTC, ORDER_BUY, "100.00", "0.4"), DAY0,
            "risk: exposure: gross exposure 0.00 + this order 40.00 = 40.00 above "
            "max_gross_exposure 30",
            "order: over the exposure with the open orders full: exposure before open_orders");
    fixture_free(&f);

    /* The tail: open_orders, rate, daily_loss, kill_switch. */
    lim = (risk_limits){.max_open_orders = 1, .orders_per_second = 1, .max_daily_loss = 100};
    fixture_init(&f, &lim, 0);
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    passes(&f, r, DAY0, "order: the first order spends the only token");
    if (!oms_submit(f.oms, &r, 0, DAY0, why, sizeof why))
        bail_out("oms_submit: %s", why);
    refused(&f, r, DAY0, "risk: open_orders: 1 open orders, max_open_orders 1",
            "order: open orders full and no token: open_orders before rate");
    lim.max_open_orders = 0;
    risk_set_limits(f.risk, &lim);
    f.equity = money("9900");
    refused(&f, r, DAY0,
            "risk: rate: orders_per_second 1 used up (burst 1), next order in 1 s",
            "order: no token and the daily loss reached: rate before daily_loss");
    ok(!risk_tripped(f.risk, NULL), "order: the daily loss was not looked at yet");
    refused(&f, r, DAY0 + TS_NS_PER_SEC,
            "risk: daily_loss: equity 9900.00 is 100.00 below the day's start 10000.00 "
            "(max_daily_loss 100)",
            "order: a second later, the daily loss");
    risk_kill(f.risk, "operator");
    refused(&f, r, DAY0 + TS_NS_PER_SEC, "risk: kill_switch: operator",
            "order: an operator's kill replaces the daily loss trip");
    fixture_free(&f);
}

/* ---- The rate bucket over virtual time ---- */

static void test_rate(void)
{
    risk_limits lim = {.orders_per_second = 2};
    const int64_t ms = TS_NS_PER_MS, t = DAY0 + 5 * TS_NS_PER_SEC;
    order_request r;
    fixture f;

    fixture_init(&f, &lim, 0);
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    passes(&f, r, t, "rate: the 1st order of a burst of 2");
    passes(&f, r, t, "rate: the 2nd order of a burst of 2");
    refused(&f, r, t, "risk: rate: orders_per_second 2 used up (burst 2), next order in 0.5 s",
            "rate: the 3rd order at the same time");
    refused(&f, r, t + 250 * ms,
            "risk: rate: orders_per_second 2 used up (burst 2), next order in 0.25 s",
            "rate: 250 ms later");
    refused(&f, r, t + 500 * ms - 1,
            "risk: rate: orders_per_second 2 used up (burst 2), next order in 0.000000001 s",
            "rate: 1 ns before a token");
    passes(&f, r, t + 500 * ms, "rate: 500 ms later, one token");
    refused(&f, r, t + 500 * ms,
            "risk: rate: orders_per_second 2 used up (burst 2), next order in 0.5 s",
            "rate: and only one");
    refused(&f, r, t, "risk: rate: orders_per_second 2 used up (burst 2), next order in 0.5 s",
            "rate: a clock stepping back adds no token");
    passes(&f, r, t + 100 * TS_NS_PER_SEC, "rate: 100 s later, the 1st of a burst");
    passes(&f, r, t + 100 * TS_NS_PER_SEC, "rate: the 2nd of a burst");
    refused(&f, r, t + 100 * TS_NS_PER_SEC,
            "risk: rate: orders_per_second 2 used up (burst 2), next order in 0.5 s",
            "rate: a long pause fills the bucket to its capacity, no more");

    /* A refused order costs no token. */
    r.qty = 0;
    refused(&f, r, t + 200 * TS_NS_PER_SEC, "risk: valid: qty 0 must be above 0",
            "rate: an invalid order");
    r.qty = sz(&f, BTC, "0.1");
    risk_kill(f.risk, "pause");
    refused(&f, r, t + 200 * TS_NS_PER_SEC, "risk: kill_switch: pause",
            "rate: an order refused by the kill switch after the rate gate");
    risk_resume(f.risk);
    passes(&f, r, t + 200 * TS_NS_PER_SEC, "rate: refusals spent nothing: 1st of the burst");
    passes(&f, r, t + 200 * TS_NS_PER_SEC, "rate: refusals spent nothing: 2nd of the burst");
    fixture_free(&f);

    /* Below one order a second, the burst is still one order. */
    lim.orders_per_second = 0.5;
    fixture_init(&f, &lim, 0);
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    passes(&f, r, t, "rate 0.5: one order");
    refused(&f, r, t + TS_NS_PER_SEC,
            "risk: rate: orders_per_second 0.5 used up (burst 1), next order in 1 s",
            "rate 0.5: a second later");
    passes(&f, r, t + 2 * TS_NS_PER_SEC, "rate 0.5: two seconds later");
    fixture_free(&f);
}

/* ---- Daily loss ---- */

static void test_daily_loss(void)
{
    risk_limits lim = {.max_daily_loss = 200};
    const int64_t hour = 3600 * TS_NS_PER_SEC;
    const char *why = NULL;
    order_request r;
    fixture f;

    fixture_init(&f, &lim, 0);
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    is_int(risk_on_equity(f.risk, money("10000"), DAY0 + hour), 0, "daily_loss: the day starts");
    is_int(risk_on_equity(f.risk, money("9800.01"), DAY0 + 2 * hour), 0,
           "daily_loss: 199.99 below the start does not trip");
    f.equity = money("9800.01");
    passes(&f, r, DAY0 + 2 * hour, "daily_loss: an order at 199.99 below");
    is_int(risk_on_equity(f.risk, money("9800"), DAY0 + 3 * hour), 1,
           "daily_loss: 200.00 below the start trips");
    ok(risk_tripped(f.risk, &why), "daily_loss: tripped");
    is_str(why,
           "risk: daily_loss: equity 9800.00 is 200.00 below the day's start 10000.00 "
           "(max_daily_loss 200)",
           "daily_loss: the trip's reason");
    f.equity = money("12000");
    refused(&f, r, DAY0 + 3 * hour,
            "risk: daily_loss: equity 9800.00 is 200.00 below the day's start 10000.00 "
            "(max_daily_loss 200)",
            "daily_loss: an order after the trip, even with equity back");
    is_int(risk_on_equity(f.risk, money("9000"), DAY0 + 4 * hour), 0,
           "daily_loss: a further fall does not trip again");
    is_int(risk_on_equity(f.risk, money("9000"), DAY0 + 25 * hour), 0,
           "daily_loss: a new day");
    ok(risk_tripped(f.risk, NULL), "daily_loss: the trip holds across days until resumed");

    risk_resume(f.risk);
    ok(!risk_tripped(f.risk, &why) && strcmp(why, "") == 0, "daily_loss: resumed");
    f.equity = money("9000");
    passes(&f, r, DAY0 + 26 * hour, "daily_loss: an order after the resume");
    is_int(risk_on_equity(f.risk, money("8800.01"), DAY0 + 27 * hour), 0,
           "daily_loss: the resume restarted the day at 9000");
    is_int(risk_on_equity(f.risk, money("8800"), DAY0 + 28 * hour), 1,
           "daily_loss: 200 below the restarted day trips");
    fixture_free(&f);

    /* A new UTC day starts from its first equity. */
    fixture_init(&f, &lim, 0);
    risk_on_equity(f.risk, money("10000"), DAY0);
    is_int(risk_on_equity(f.risk, money("9850"), DAY0 + 23 * hour), 0, "daily_loss: -150 on day 1");
    is_int(risk_on_equity(f.risk, money("9850"), DAY0 + 24 * hour), 0, "daily_loss: day 2 starts");
    is_int(risk_on_equity(f.risk, money("9700"), DAY0 + 30 * hour), 0,
           "daily_loss: -150 on day 2 (-300 since day 1's start) does not trip");
    is_int(risk_on_equity(f.risk, money("9650"), DAY0 + 31 * hour), 1,
           "daily_loss: -200 on day 2 trips");
    fixture_free(&f);

    /* The gate reads the view's equity itself: no risk_on_equity needed. */
    fixture_init(&f, &lim, 0);
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    passes(&f, r, DAY0 + hour, "daily_loss: the first order of the day sees 10000");
    f.equity = money("9799.5");
    refused(&f, r, DAY0 + 2 * hour,
            "risk: daily_loss: equity 9799.50 is 200.50 below the day's start 10000.00 "
            "(max_daily_loss 200)",
            "daily_loss: the view's equity trips it");
    ok(risk_tripped(f.risk, NULL), "daily_loss: a trip found by a check is a trip");
    fixture_free(&f);
}

/* ---- Kill switch ---- */

static void test_kill_switch(void)
{
    risk_limits none = {0};
    const char *why = NULL;
    order_request r;
    fixture f;

    fixture_init(&f, &none, 0);
    r = limit_order(&f, BTC, ORDER_BUY, "100.00", "0.1");
    ok(!risk_tripped(f.risk, NULL), "kill_switch: off at start");
    risk_kill(f.risk, "operator test");
    ok(risk_tripped(f.risk, &why), "kill_switch: on");
    is_str(why, "risk: kill_switch: operator test", "kill_switch: the reason");
    refused(&f, r, DAY0, "risk: kill_switch: operator test", "kill_switch: an order");
    risk_resume(f.risk);
    ok(!risk_tripped(f.risk, NULL), "kill_switch: resumed");
    passes(&f, r, DAY0, "kill_switch: an order after the resume");
    risk_kill(f.risk, NULL);
    refused(&f, r, DAY0, "risk: kill_switch: engaged by the operator",
            "kill_switch: without a reason");
    fixture_free(&f);
}

/* ---- Limits ---- */

static void test_limits(void)
{
    risk_limits lim = {.max_order_qty = -1};
    char err[256] = "";
    risk *r;

    ok(!risk_new(&lim, err, sizeof err), "risk_new: a negative limit is refused");
    is_str(err, "risk.max_order_qty: want a number >= 0, got -1", "risk_new: the reason");
    lim = (risk_limits){.nmax_position = 1};
    lim.max_position[0].qty = 1;
    ok(!risk_new(&lim, err, sizeof err), "risk_new: an empty max_position symbol is refused");
    is_str(err, "risk.max_position: entry 1 has no symbol", "risk_new: the reason");
    snprintf(lim.max_position[0].symbol, sizeof lim.max_position[0].symbol, "BTCUSDT");
    lim.max_position[0].qty = -0.5;
    ok(!risk_new(&lim, err, sizeof err), "risk_new: a negative max_position is refused");
    is_str(err, "risk.max_position.BTCUSDT: want a number >= 0, got -0.5",
           "risk_new: the reason");
    lim.max_position[0].qty = 1;
    snprintf(lim.max_position[0].symbol, sizeof lim.max_position[0].symbol, "NOSUCH");
    r = risk_new(&lim, err, sizeof err);
    ok(r != NULL, "risk_new: a max_position symbol not in any registry is fine");
    risk_free(r);
    r = risk_new(NULL, err, sizeof err);
    ok(r != NULL && !risk_tripped(r, NULL), "risk_new: no limits at all");
    risk_free(r);
}

int main(void)
{
    test_no_limits();
    test_valid();
    test_balance();
    test_max_order();
    test_price_band();
    test_position();
    test_exposure();
    test_open_orders();
    test_order_of_gates();
    test_rate();
    test_daily_loss();
    test_kill_switch();
    test_limits();
    return done();
}
