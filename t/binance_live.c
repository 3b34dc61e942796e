/*
 * binance_live.c -- the Binance connector live against the mock exchange
 * (t/mock_binance/), both on 127.0.0.1: the connector is loaded from
 * LUTRA_PLUGIN_PATH and started with the live services on one libevent
 * loop, its keys read from an owner-only file.
 *
 *   - exchangeInfo defines the instrument (tick, lot, min notional);
 *   - the depth snapshot synchronises the book (READY), deltas flow;
 *   - a market buy is ACCEPTED and FILLed for its whole quantity, each
 *     trade reported once though both REST and the user stream carry it;
 *   - a resting limit order is canceled (CANCELED);
 *   - an order the mock refuses for balance is REJECTED with -2010;
 *   - a resting order filled by market flow is reported from the stream;
 *   - malformed reports on the user stream change nothing; a fill refused
 *     for one is reported when the trade is told again, whole, and once;
 *   - a self-trade: one trade id, the buy's fill and the sell's; an order
 *     expired by self-trade prevention: EXPIRED, no fill; a TRADE of no
 *     quantity whose status is EXPIRED: EXPIRED, no fill;
 *   - a key asked for again (listenKeyExpired) that comes back the same:
 *     the user stream is not reopened;
 *   - a depth gap: SYNCING, then READY after a new snapshot;
 *   - a drop: DISCONNECTED, the streams reconnect, READY; the open order
 *     is listed when asked (the host's reconciliation);
 *   - query_order of a filled order (its fills with trade ids, then STATUS
 *     filled), of a partly filled open one, of a canceled one, of one the
 *     venue does not know (STATUS rejected, -2013), and one the venue's
 *     rate limit refuses (STATUS pending_new: still unknown); the weight
 *     each costs is what the mock counted;
 *   - a submit whose outcome is unknown (-1007): asked about by itself; the
 *     question failing (-1000), asked again, and settled;
 *   - planned reconnects (a second instance with ws_max_age_s 0.8): both
 *     streams are replaced again and again while the market moves and
 *     resting orders fill; no depth diff is lost or applied twice (no
 *     gap, every change seen once), no trade twice, every fill once. That
 *     instance spins (ws_spin_us 2000), so the host calls its warm entry
 *     between messages all along, which rehearses the last depth diff and
 *     signs an order: none of it may show in what the instance reports.
 *
 * Every wait has a deadline.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "instrument.h"
#include "log.h"
#include "loop.h"
#include "mock_binance.h"
#include "plugin.h"
#include "secret.h"
#include "tap.h"

#define DEADLINE_MS 10000
#define MAX_EXECS 256
#define SYM "BTCUSDT"
#define PROBE_PRICE 5999000 /* 59990.00: a bid level only the reconnect test moves */

typedef struct rec {
    lutra_exec execs[MAX_EXECS];
    size_t nexec;
    size_t nbalance;
    int states[64];
    size_t nstate;
    size_t deltas;
    size_t syncing_events; /* STATUS SYNCING events of the book */
    size_t ready_events;
    size_t trades;
    size_t probe_deltas;   /* diff deltas of the bid at PROBE_PRICE */
    int64_t probe_qty;     /* the last one's size */
} rec;

static rec R;
static loop *lp;
static http_client *http;
static mock_binance *mx;
static instrument_registry *reg;
static secret_store *secrets;
static plugin_handle *ph;
static plugin_instance *pi;
static char tmp_dir[] = "/tmp/lutra-binance-live-XXXXXX";
static char key_path[PATH_MAX], secret_path[PATH_MAX];
static int32_t btc = -1;

/* ---- Callbacks ---- */

static int on_event(void *ud, const lutra_event *ev)
{
    rec *r = ud;
    if (ev->h.type == LUTRA_EV_BOOK_DELTA)
        r->deltas++;
    if (ev->h.type == LUTRA_EV_BOOK_DELTA && !(ev->h.flags & LUTRA_F_SNAPSHOT) &&
        (ev->h.flags & LUTRA_F_BID) && ev->delta.price == PROBE_PRICE) {
        r->probe_deltas++;
        r->probe_qty = ev->delta.qty;
    }
    if (ev->h.type == LUTRA_EV_TRADE)
        r->trades++;
    if (ev->h.type == LUTRA_EV_STATUS && ev->status.state == LUTRA_FEED_SYNCING)
        r->syncing_events++;
    if (ev->h.type == LUTRA_EV_STATUS && ev->status.state == LUTRA_FEED_READY)
        r->ready_events++;
    return 0;
}

static int on_exec(void *ud, const lutra_exec *x)
{
    rec *r = ud;
    if (r->nexec < MAX_EXECS)
        r->execs[r->nexec++] = *x;
    return 0;
}

static int on_balance(void *ud, const lutra_balance *b)
{
    (void)b;
    ((rec *)ud)->nbalance++;
    return 0;
}

static void on_state(void *ud, int state, const char *reason)
{
    rec *r = ud;
    (void)reason;
    if (r->nstate < 64)
        r->states[r->nstate++] = state;
}

/* ---- Waiting ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_until(int (*pred)(const void *), const void *ud)
{
    int64_t end = mono_ms() + DEADLINE_MS;
    while (!pred(ud) && mono_ms() < end) {
        loop_run_nowait(lp);
        usleep(500);
    }
    return pred(ud);
}

/* Turn the loop for ms. */
static void settle(int64_t ms)
{
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        loop_run_nowait(lp);
        usleep(500);
    }
}

static int last_state_is(int state)
{
    return R.nstate > 0 && R.states[R.nstate - 1] == state;
}

static int is_ready(const void *ud)
{
    (void)ud;
    return last_state_is(LUTRA_FEED_READY);
}

/* Reports about order id of kind. */
static size_t count_kind(const char *id, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < R.nexec; i++)
        if (R.execs[i].kind == kind && strcmp(R.execs[i].order_id, id) == 0)
            n++;
    return n;
}

static int64_t filled_qty(const char *id)
{
    int64_t q = 0;
    for (size_t i = 0; i < R.nexec; i++)
        if (R.execs[i].kind == LUTRA_EXEC_FILL && strcmp(R.execs[i].order_id, id) == 0)
            q += R.execs[i].qty;
    return q;
}

static const lutra_exec *find_exec(const char *id, int kind)
{
    for (size_t i = 0; i < R.nexec; i++)
        if (R.execs[i].kind == kind && strcmp(R.execs[i].order_id, id) == 0)
            return &R.execs[i];
    return NULL;
}

typedef struct want {
    const char *id;
    int kind;
    size_t n;
} want;

static int has_kind(const void *ud)
{
    const want *w = ud;
    return count_kind(w->id, w->kind) >= w->n;
}

static size_t want_deltas;
static int has_deltas(const void *ud)
{
    (void)ud;
    return R.deltas >= want_deltas;
}

static int64_t want_filled;
static const char *fill_id;
static int has_filled(const void *ud)
{
    (void)ud;
    return filled_qty(fill_id) >= want_filled;
}

/* More balance reports than *ud: the account update follows the fill on
 * the user stream, a moment later. */
static int has_more_balances(const void *ud)
{
    return R.nbalance > *(const size_t *)ud;
}

/* ---- Set-up ---- */

static void write_file(char *path, const char *name, const char *value)
{
    snprintf(path, PATH_MAX, "%s/%s", tmp_dir, name);
    tap_write_secret(path, value);
}

static void level(int bid, const char *price, const char *qty)
{
    char err[256];
    if (mock_binance_set_level(mx, SYM, bid, price, qty, err, sizeof err) != 0)
        bail_out("level: %s", err);
}

/* A live instance against the mock; max_age: ws_max_age_s, or NULL;
 * spin_us: the venue's ws_spin_us. */
static plugin_instance *make_instance(const char *max_age, int64_t spin_us)
{
    char err[512], rest[64], wsu[64];

    snprintf(rest, sizeof rest, "http://127.0.0.1:%d", mock_binance_rest_port(mx));
    snprintf(wsu, sizeof wsu, "ws://127.0.0.1:%d", mock_binance_ws_port(mx));
    const char *conf[] = {"rest_url", rest, "ws_url", wsu, "symbols", SYM,
                          max_age ? "ws_max_age_s" : NULL, max_age, NULL};
    plugin_live live = {
        .lp = lp,
        .http = http,
        .secrets = secrets,
        .on_exec = on_exec,
        .on_balance = on_balance,
        .on_state = on_state,
        .ud = &R,
        .ws_spin_us = spin_us,
    };
    plugin_instance *p =
        plugin_instance_create_live(ph, reg, conf, on_event, &R, &live, err, sizeof err);
    if (!p)
        bail_out("%s", err);
    return p;
}

static void setup(void)
{
    char err[4096], path[PATH_MAX];
    mock_binance_options mo;

    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    write_file(key_path, "api.key", MOCK_BINANCE_API_KEY);
    write_file(secret_path, "api.secret", MOCK_BINANCE_API_SECRET);
    log_set_level(getenv("BN_DEBUG") ? LOG_DEBUG : LOG_WARN);

    memset(&mo, 0, sizeof mo);
    mo.generate = 0;
    mx = mock_binance_start(&mo, err, sizeof err);
    if (!mx)
        bail_out("mock: %s", err);
    if (mock_binance_set_balance(mx, "USDT", "100000", err, sizeof err) != 0 ||
        mock_binance_set_balance(mx, "BTC", "10", err, sizeof err) != 0)
        bail_out("balance: %s", err);
    level(1, "59999", "1");
    level(1, "59998", "2");
    level(0, "60001", "1");
    level(0, "60002", "2");
    mock_binance_flush(mx);

    lp = loop_new(err, sizeof err);
    if (!lp)
        bail_out("loop: %s", err);
    http = http_new(loop_base(lp), NULL, err, sizeof err);
    if (!http)
        bail_out("http: %s", err);
    reg = instrument_registry_new();
    secrets = secret_store_new();
    if (!reg || !secrets ||
        secret_store_add(secrets, "api_key", NULL, key_path, err, sizeof err) != 0 ||
        secret_store_add(secrets, "api_secret", NULL, secret_path, err, sizeof err) != 0)
        bail_out("secrets: %s", err);
    if (plugin_find("binance", NULL, 0, path, sizeof path, err, sizeof err) != 0)
        bail_out("%s", err);
    if (!(ph = plugin_load(path, err, sizeof err)))
        bail_out("%s", err);
    pi = make_instance(NULL, 0);
}

static lutra_order order(const char *id, int side, int type, int64_t price, int64_t qty)
{
    lutra_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "%s", id);
    o.side = (uint8_t)side;
    o.type = (uint8_t)type;
    o.tif = LUTRA_TIF_GTC;
    o.instrument = (uint32_t)btc;
    o.price = price;
    o.qty = qty;
    return o;
}

/* ---- Tests ---- */

static void test_start(void)
{
    char err[256];

    is_int(plugin_instance_start(pi, err, sizeof err), 0, "the connector starts live");
    ok(R.nstate > 0 && R.states[0] == LUTRA_FEED_CONNECTING, "CONNECTING first");
    ok(run_until(is_ready, NULL), "READY: the book synchronised from the snapshot");
    btc = instrument_registry_find(reg, "binance", SYM);
    ok(btc >= 0, "exchangeInfo defined %s", SYM);
    const lutra_instrument *d = btc >= 0 ? instrument_registry_get(reg, (uint32_t)btc) : NULL;
    ok(d && d->price_scale == 2 && d->price_increment == 1, "tick 0.01 from PRICE_FILTER");
    ok(d && d->size_scale == 5 && d->size_increment == 1, "step 0.00001 from LOT_SIZE");
    ok(d && d->min_notional == 500, "min notional 5 from NOTIONAL");
    ok(R.ready_events >= 1, "the book's STATUS READY was emitted");

    want_deltas = R.deltas + 1;
    level(1, "59997", "3");
    mock_binance_flush(mx);
    ok(run_until(has_deltas, NULL), "a depth diff after the snapshot becomes a delta");
}

static void test_market_buy(void)
{
    lutra_order o = order("mkt1", LUTRA_SIDE_BUY, LUTRA_TYPE_MARKET, 0, 150000); /* 1.5 */
    size_t before = R.nexec;
    is_int(plugin_instance_submit(pi, &o), 0, "market buy taken");
    is_int((int)R.nexec, (int)before, "nothing reported from inside submit");
    fill_id = "mkt1";
    want_filled = 150000;
    ok(run_until(has_filled, NULL), "market buy filled for 1.5 over two levels");
    is_int((int)count_kind("mkt1", LUTRA_EXEC_ACCEPTED), 1, "one ACCEPTED");
    settle(400); /* the user stream's copies of the trades arrive */
    ok(filled_qty("mkt1") == 150000, "fills sum to the order, each trade once (got %lld)",
       (long long)filled_qty("mkt1"));
    const lutra_exec *f = find_exec("mkt1", LUTRA_EXEC_FILL);
    ok(f && f->price == 6000100 && f->trade_id[0] && f->liquidity == LUTRA_LIQ_TAKER,
       "the first fill at 60001 as taker, with a trade id");
}

static void test_limit_cancel(void)
{
    lutra_order o = order("lim1", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5900000, 100);
    want w = {"lim1", LUTRA_EXEC_ACCEPTED, 1};
    is_int(plugin_instance_submit(pi, &o), 0, "limit buy taken");
    ok(run_until(has_kind, &w), "limit buy ACCEPTED");
    is_int(plugin_instance_cancel(pi, &o), 0, "cancel taken");
    w.kind = LUTRA_EXEC_CANCELED;
    ok(run_until(has_kind, &w), "limit buy CANCELED");
    ok(count_kind("lim1", LUTRA_EXEC_FILL) == 0, "and never filled");

    lutra_order gone = order("nosuch1", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5900000, 100);
    want w2 = {"nosuch1", LUTRA_EXEC_CANCEL_REJECTED, 1};
    is_int(plugin_instance_cancel(pi, &gone), 0, "cancel of an unknown order taken");
    ok(run_until(has_kind, &w2), "CANCEL_REJECTED");
    const lutra_exec *x = find_exec("nosuch1", LUTRA_EXEC_CANCEL_REJECTED);
    ok(x && strstr(x->reason, "-2011"), "with -2011: %s", x ? x->reason : "");
}

static void test_reject(void)
{
    char err[256];
    if (mock_binance_set_balance(mx, "USDT", "1", err, sizeof err) != 0)
        bail_out("balance: %s", err);
    lutra_order o = order("poor1", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5900000, 1000);
    want w = {"poor1", LUTRA_EXEC_REJECTED, 1};
    is_int(plugin_instance_submit(pi, &o), 0, "an order beyond the balance is taken");
    ok(run_until(has_kind, &w), "REJECTED");
    const lutra_exec *x = find_exec("poor1", LUTRA_EXEC_REJECTED);
    ok(x && strstr(x->reason, "-2010") && strstr(x->reason, "insufficient balance"),
       "with the -2010 reason: %s", x ? x->reason : "");
    ok(count_kind("poor1", LUTRA_EXEC_ACCEPTED) == 0, "never ACCEPTED");
    if (mock_binance_set_balance(mx, "USDT", "100000", err, sizeof err) != 0)
        bail_out("balance: %s", err);
}

static void test_stream_fill(void)
{
    char err[256];
    lutra_order o = order("rest1", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5950000, 200);
    want w = {"rest1", LUTRA_EXEC_ACCEPTED, 1};
    is_int(plugin_instance_submit(pi, &o), 0, "resting buy at 59500 taken");
    ok(run_until(has_kind, &w), "ACCEPTED");
    size_t balances = R.nbalance;
    if (mock_binance_trade(mx, SYM, "59400", "0.01", 1, err, sizeof err) != 0)
        bail_out("trade: %s", err);
    fill_id = "rest1";
    want_filled = 200;
    ok(run_until(has_filled, NULL), "the market's trade through 59500 filled it, pushed by "
       "the user stream");
    const lutra_exec *f = find_exec("rest1", LUTRA_EXEC_FILL);
    ok(f && f->liquidity == LUTRA_LIQ_MAKER && f->price == 5950000 && f->filled == 200,
       "as maker at its own price, cumulative filled 0.002");
    ok(run_until(has_more_balances, &balances), "outboundAccountPosition reported balances");
}

/* An executionReport of order id: side, execution type x, order status
 * X, trade id, last quantity l and last price L as given (any text), the
 * rest as Binance writes it. */
static void send_report(const char *id, const char *side, const char *venue_id, const char *x,
                        const char *status, const char *trade_id, const char *last_qty,
                        const char *last_price)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"e\":\"executionReport\",\"E\":1700000000000,\"s\":\"" SYM "\",\"c\":\"%s\","
             "\"S\":\"%s\",\"o\":\"LIMIT\",\"f\":\"GTC\",\"q\":\"0.00100000\","
             "\"p\":\"58000.00000000\",\"P\":\"0.00000000\",\"F\":\"0.00000000\",\"g\":-1,"
             "\"C\":\"\",\"x\":\"%s\",\"X\":\"%s\",\"r\":\"NONE\",\"i\":%s,"
             "\"l\":\"%s\",\"z\":\"0.00100000\",\"L\":\"%s\",\"n\":\"0.00000000\","
             "\"N\":\"BTC\",\"T\":1700000000000,\"t\":%s,\"I\":1,\"w\":false,\"m\":true,"
             "\"M\":true,\"O\":1700000000000,\"Z\":\"58.00000000\",\"Y\":\"58.00000000\","
             "\"Q\":\"0.00000000\"}",
             id, side, x, status, venue_id, last_qty, last_price, trade_id);
    mock_binance_user_send(mx, json);
}

/* A buy's TRADE that fills it. */
static void send_trade_report(const char *id, const char *venue_id, const char *trade_id,
                              const char *last_price)
{
    send_report(id, "BUY", venue_id, "TRADE", "FILLED", trade_id, "0.00100000", last_price);
}

/* Garbage on the user stream changes nothing, and a fill refused for a
 * malformed field is not taken as told: the same trade told again, whole,
 * is reported. (The mock never fills this order: the reports are sent.) */
static void test_user_stream_refused(void)
{
    static const char *const garbage[] = {
        "{\"e\":\"executionReport\",\"s\":\"" SYM "\",\"c\":\"junk1\"", /* cut short */
        "[1,2,3]",
        "{\"e\":42}",
        "{\"e\":\"outboundAccountPosition\",\"B\":{\"a\":\"BTC\"}}",
        "{\"e\":\"outboundAccountPosition\",\"B\":[{\"a\":\"BTC\",\"f\":\"x\",\"l\":\"0\"}]}",
        "{\"e\":\"executionReport\",\"s\":\"" SYM "\",\"c\":\"junk1\",\"S\":\"BUY\",\"C\":\"\","
        "\"x\":\"CANCELED\",\"r\":\"NONE\",\"i\":\"one\",\"T\":1}",
        "{\"e\":\"executionReport\",\"s\":\"" SYM "\",\"c\":\"junk1\",\"S\":\"BUY\",\"C\":\"\","
        "\"x\":\"TRADE\",\"r\":\"NONE\",\"i\":1,\"T\":1,\"t\":\"two\"}",
    };
    lutra_order o = order("junk1", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5800000, 100);
    want w = {"junk1", LUTRA_EXEC_ACCEPTED, 1};

    is_int(plugin_instance_submit(pi, &o), 0, "resting buy at 58000 taken");
    ok(run_until(has_kind, &w), "ACCEPTED");
    settle(200); /* the account update the order causes */
    size_t balances = R.nbalance;
    const lutra_exec *a = find_exec("junk1", LUTRA_EXEC_ACCEPTED);
    char venue_id[sizeof a->venue_order_id];
    snprintf(venue_id, sizeof venue_id, "%s", a ? a->venue_order_id : "0");

    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        mock_binance_user_send(mx, garbage[i]);
    send_trade_report("junk1", venue_id, "900000001", "58000.0x");
    send_trade_report("junk1", venue_id, "900000002", "58000.001"); /* finer than the tick */
    settle(300);
    is_int((int)(count_kind("junk1", LUTRA_EXEC_FILL) + count_kind("junk1", LUTRA_EXEC_CANCELED)),
           0, "no fill and no cancel from the malformed reports");
    is_int((int)(R.nbalance - balances), 0, "no balance from the malformed account updates");

    send_trade_report("junk1", venue_id, "900000001", "58000.00000000");
    fill_id = "junk1";
    want_filled = 100;
    ok(run_until(has_filled, NULL), "the refused trade told again, whole: FILL");
    const lutra_exec *f = find_exec("junk1", LUTRA_EXEC_FILL);
    ok(f && f->price == 5800000 && f->qty == 100 && strcmp(f->trade_id, "900000001") == 0 &&
           f->liquidity == LUTRA_LIQ_MAKER,
       "at 58000 for 0.001, trade 900000001, as maker");
    send_trade_report("junk1", venue_id, "900000001", "58000.00000000");
    settle(200);
    is_int((int)count_kind("junk1", LUTRA_EXEC_FILL), 1, "told a third time: still one fill");

    w.kind = LUTRA_EXEC_CANCELED;
    is_int(plugin_instance_cancel(pi, &o), 0, "cancel taken (the mock's order is open)");
    ok(run_until(has_kind, &w), "CANCELED: the stream went on");
}

/* Reports the mock's matching never makes, sent as Binance does: a trade
 * between two of the account's orders (no self-trade prevention) is one
 * trade id on both sides, and both fills count; an order self-trade
 * prevention expired (TRADE_PREVENTION, EXPIRED_IN_MATCH) ends EXPIRED
 * with no fill, and one it left open (NEW) stays open; a TRADE with no
 * quantity whose status is EXPIRED ends the order, with no fill. */
static void test_self_trade(void)
{
    const char *q = "0.00100000", *p = "58000.00000000";

    send_report("self_b", "BUY", "7001", "TRADE", "FILLED", "900000010", q, p);
    send_report("self_s", "SELL", "7002", "TRADE", "FILLED", "900000010", q, p);
    send_report("stp1", "BUY", "7003", "TRADE_PREVENTION", "EXPIRED_IN_MATCH", "-1", q, p);
    send_report("stp2", "BUY", "7004", "TRADE_PREVENTION", "NEW", "-1", q, p);
    send_report("lz1", "BUY", "7005", "TRADE", "EXPIRED", "-1", "0.00000000", "0.00000000");
    want w = {"lz1", LUTRA_EXEC_EXPIRED, 1};
    ok(run_until(has_kind, &w), "TRADE of no quantity, status EXPIRED: EXPIRED");
    ok(count_kind("lz1", LUTRA_EXEC_FILL) == 0, "... and no fill");
    const lutra_exec *e = find_exec("stp1", LUTRA_EXEC_EXPIRED);
    ok(e && strcmp(e->reason, "binance: expired by self-trade prevention") == 0 &&
           count_kind("stp1", LUTRA_EXEC_FILL) == 0,
       "TRADE_PREVENTION, EXPIRED_IN_MATCH: EXPIRED for self-trade prevention, with no fill "
       "(%s)", e ? e->reason : "none");
    ok(count_kind("stp2", LUTRA_EXEC_EXPIRED) + count_kind("stp2", LUTRA_EXEC_FILL) == 0,
       "TRADE_PREVENTION of an order left open: nothing ends it");
    settle(200);
    const lutra_exec *b = find_exec("self_b", LUTRA_EXEC_FILL);
    const lutra_exec *sl = find_exec("self_s", LUTRA_EXEC_FILL);
    ok(b && sl && strcmp(b->trade_id, "900000010") == 0 &&
           strcmp(sl->trade_id, "900000010") == 0 && b->side == LUTRA_SIDE_BUY &&
           sl->side == LUTRA_SIDE_SELL,
       "a self-trade: the buy's fill and the sell's, one trade id");
    send_report("self_s", "SELL", "7002", "TRADE", "FILLED", "900000010", q, p);
    settle(200);
    is_int((int)(count_kind("self_b", LUTRA_EXEC_FILL) + count_kind("self_s", LUTRA_EXEC_FILL)),
           2, "... each once, the sell's told again");
}

static int listen_key_asked(const void *ud)
{
    mock_binance_stats st;
    mock_binance_get_stats(mx, &st);
    return st.listen_keys > *(const uint64_t *)ud;
}

/* listenKeyExpired (or a keepalive that failed) has the connector ask for
 * a key; Binance answers with the one in use while it is valid: the stream
 * open on it stays, and goes on delivering. */
static void test_same_listen_key(void)
{
    mock_binance_stats before, after;
    size_t states = R.nstate;
    int down = 0;

    mock_binance_get_stats(mx, &before);
    mock_binance_user_send(mx, "{\"e\":\"listenKeyExpired\",\"E\":1700000000000}");
    ok(run_until(listen_key_asked, &before.listen_keys), "listenKeyExpired: a key asked for");
    settle(300);
    mock_binance_get_stats(mx, &after);
    for (size_t i = states; i < R.nstate; i++)
        down |= R.states[i] != LUTRA_FEED_READY;
    ok(after.ws_user_accepted == before.ws_user_accepted && !down,
       "the same key came back: the stream was not reopened, the venue stayed ready");
    send_report("key1", "BUY", "7006", "NEW", "NEW", "-1", "0.00000000", "0.00000000");
    want w = {"key1", LUTRA_EXEC_ACCEPTED, 1};
    ok(run_until(has_kind, &w), "and it still delivers (a NEW: ACCEPTED)");
}

static int gap_then_ready(const void *ud)
{
    const size_t *syncing = ud;
    return R.syncing_events > *syncing && last_state_is(LUTRA_FEED_READY);
}

static void test_gap(void)
{
    char err[256];
    mock_fault f = {MOCK_FAULT_GAP, 0, 1};
    size_t syncing = R.syncing_events, states = R.nstate;

    /* A diff still pending at the mock would span the skipped id: send it
     * first, so the gap lands between two diffs. */
    mock_binance_flush(mx);
    settle(300);
    if (mock_binance_fault(mx, &f, err, sizeof err) != 0)
        bail_out("fault: %s", err);
    level(0, "60003", "1");
    mock_binance_flush(mx);
    ok(run_until(gap_then_ready, &syncing), "a gap: the book's STATUS SYNCING, then READY");
    int saw_syncing = 0;
    for (size_t i = states; i < R.nstate; i++)
        saw_syncing |= R.states[i] == LUTRA_FEED_SYNCING;
    ok(saw_syncing, "the venue's state went SYNCING before READY again");
    want_deltas = R.deltas + 1;
    level(0, "60004", "1");
    mock_binance_flush(mx);
    ok(run_until(has_deltas, NULL), "deltas flow again after the new snapshot");
}

/* READY again after a DISCONNECTED, both reported since state *from. */
static int back_ready(const void *ud)
{
    const size_t *from = ud;
    int down = 0;
    for (size_t i = *from; i < R.nstate; i++)
        down |= R.states[i] == LUTRA_FEED_DISCONNECTED;
    return down && last_state_is(LUTRA_FEED_READY);
}

static void test_drop(void)
{
    char err[256];
    mock_fault f = {MOCK_FAULT_DROP, 0, 1};
    size_t states = R.nstate;

    lutra_order o = order("rest2", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5800000, 100);
    want w = {"rest2", LUTRA_EXEC_ACCEPTED, 1};
    is_int(plugin_instance_submit(pi, &o), 0, "a resting order before the drop");
    ok(run_until(has_kind, &w), "ACCEPTED");
    if (mock_binance_fault(mx, &f, err, sizeof err) != 0)
        bail_out("fault: %s", err);
    ok(run_until(back_ready, &states), "after a drop: DISCONNECTED, then READY once reconnected");
    /* The host reconciles now: the list it asks for has the order. */
    want listed = {"", LUTRA_EXEC_STATUS, count_kind("", LUTRA_EXEC_STATUS) + 1};
    is_int(plugin_instance_query_orders(pi), 0, "open orders asked, as the host reconciling");
    ok(run_until(has_kind, &listed), "... listed (STATUS done)");
    const lutra_exec *st = find_exec("rest2", LUTRA_EXEC_STATUS);
    ok(st && st->qty == 100 && st->price == 5800000 && st->side == LUTRA_SIDE_BUY,
       "the open order came back as a STATUS");
}

static void test_queries(void)
{
    size_t dones = count_kind("", LUTRA_EXEC_STATUS), balances = R.nbalance;
    want w = {"", LUTRA_EXEC_STATUS, dones + 1};

    is_int(plugin_instance_query_orders(pi), 0, "query_orders taken");
    is_int(plugin_instance_query_balances(pi), 0, "query_balances taken");
    ok(run_until(has_kind, &w), "query_orders ends with the empty-id STATUS");
    int64_t end = mono_ms() + DEADLINE_MS;
    while (R.nbalance < balances + 2 && mono_ms() < end) {
        loop_run_nowait(lp);
        usleep(500);
    }
    ok(R.nbalance >= balances + 2, "query_balances reported BTC and USDT");
}

/* ---- query_order ---- */

typedef struct answer {
    const char *id;
    size_t base;              /* R.execs index the answer starts from */
    const lutra_exec *status; /* its STATUS, once here */
    size_t fills;             /* FILLs of id before the STATUS */
    int64_t filled;           /* their sizes added */
    int fills_first;          /* no FILL of id came after the STATUS */
    int64_t weight;           /* REQUEST_WEIGHT the mock counted meanwhile */
} answer;

static int has_status_since(const void *ud)
{
    const answer *a = ud;
    for (size_t i = a->base; i < R.nexec; i++)
        if (R.execs[i].kind == LUTRA_EXEC_STATUS && strcmp(R.execs[i].order_id, a->id) == 0)
            return 1;
    return 0;
}

static int64_t weight_total(void)
{
    mock_binance_stats st;
    mock_binance_get_stats(mx, &st);
    return st.weight_total;
}

/* Ask for o's fate and gather the answer. @return 1 if a STATUS ended it. */
static int ask(const lutra_order *o, answer *a)
{
    int64_t weight = weight_total();

    memset(a, 0, sizeof *a);
    a->id = o->id;
    a->base = R.nexec;
    a->fills_first = 1;
    if (plugin_instance_query_order(pi, o) != 0 || !run_until(has_status_since, a))
        return 0;
    a->weight = weight_total() - weight;
    for (size_t i = a->base; i < R.nexec; i++) {
        const lutra_exec *x = &R.execs[i];
        if (strcmp(x->order_id, a->id) != 0)
            continue;
        if (x->kind == LUTRA_EXEC_STATUS && !a->status)
            a->status = x;
        if (x->kind == LUTRA_EXEC_FILL && a->status)
            a->fills_first = 0;
        if (x->kind == LUTRA_EXEC_FILL && !a->status) {
            a->fills++;
            a->filled += x->qty;
        }
    }
    return a->status != NULL;
}

/* Was trade id reported for order id before index `before`? */
static int trade_known(const char *id, const char *trade_id, size_t before)
{
    for (size_t i = 0; i < before && i < R.nexec; i++)
        if (R.execs[i].kind == LUTRA_EXEC_FILL && strcmp(R.execs[i].order_id, id) == 0 &&
            strcmp(R.execs[i].trade_id, trade_id) == 0)
            return 1;
    return 0;
}

static void test_query_filled(void)
{
    lutra_order o = order("mkt1", LUTRA_SIDE_BUY, LUTRA_TYPE_MARKET, 0, 150000);
    answer a;
    int same = 1;

    ok(ask(&o, &a), "query_order of a filled order: answered with a STATUS");
    if (!a.status) {
        skip(6, "no answer");
        return;
    }
    ok(a.fills == 2 && a.filled == 150000 && a.fills_first,
       "its two fills first (%zu, %lld in all)", a.fills, (long long)a.filled);
    for (size_t i = a.base; i < R.nexec; i++)
        if (R.execs[i].kind == LUTRA_EXEC_FILL && strcmp(R.execs[i].order_id, "mkt1") == 0)
            same &= R.execs[i].trade_id[0] && R.execs[i].fee_asset[0] &&
                    R.execs[i].liquidity == LUTRA_LIQ_TAKER &&
                    trade_known("mkt1", R.execs[i].trade_id, a.base);
    ok(same, "each with the trade id, fee asset and liquidity the order's own reports had");
    ok(a.status->status == LUTRA_ORDER_FILLED && a.status->filled == 150000 &&
           a.status->qty == 150000 && a.status->side == LUTRA_SIDE_BUY,
       "then STATUS filled: qty and filled 1.5, buy");
    ok(a.status->venue_order_id[0] && a.status->instrument == (uint32_t)btc,
       "with the venue's order id and the instrument");
    is_int(a.weight, 9, "weight 4 (GET order) + 5 (GET myTrades with orderId) counted");
    ok(count_kind("mkt1", LUTRA_EXEC_ACCEPTED) == 1, "no second ACCEPTED from a query");
}

static void test_query_partial(void)
{
    char err[256];
    lutra_order o = order("part1", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5960000, 500);
    want w = {"part1", LUTRA_EXEC_ACCEPTED, 1};
    answer a;

    is_int(plugin_instance_submit(pi, &o), 0, "a resting buy of 0.005 at 59600");
    ok(run_until(has_kind, &w), "ACCEPTED");
    if (mock_binance_trade(mx, SYM, "59500", "0.002", 1, err, sizeof err) != 0)
        bail_out("trade: %s", err);
    fill_id = "part1";
    want_filled = 200;
    ok(run_until(has_filled, NULL), "a market trade filled 0.002 of it");
    ok(ask(&o, &a), "query_order of the partly filled order: answered");
    if (!a.status) {
        skip(2, "no answer");
        return;
    }
    ok(a.fills == 1 && a.filled == 200 && a.fills_first &&
           find_exec("part1", LUTRA_EXEC_FILL)->liquidity == LUTRA_LIQ_MAKER,
       "its one fill, as maker, first");
    ok(a.status->status == LUTRA_ORDER_PARTIALLY_FILLED && a.status->filled == 200 &&
           a.status->qty == 500 && a.status->price == 5960000,
       "STATUS partially_filled: 0.002 of 0.005 at 59600");
}

static void test_query_canceled(void)
{
    lutra_order o = order("cxl1", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5900000, 100);
    want w = {"cxl1", LUTRA_EXEC_ACCEPTED, 1};
    answer a;

    is_int(plugin_instance_submit(pi, &o), 0, "a resting buy to cancel");
    ok(run_until(has_kind, &w), "ACCEPTED");
    w.kind = LUTRA_EXEC_CANCELED;
    plugin_instance_cancel(pi, &o);
    ok(run_until(has_kind, &w), "CANCELED");
    ok(ask(&o, &a), "query_order of the canceled order: answered");
    if (!a.status) {
        skip(2, "no answer");
        return;
    }
    ok(a.fills == 0 && a.status->status == LUTRA_ORDER_CANCELED && a.status->filled == 0 &&
           a.status->qty == 100 && a.status->reason[0],
       "no fill, STATUS canceled with a reason (%s)", a.status->reason);
    is_int(a.weight, 4, "nothing executed: GET order only, weight 4");
}

static void test_query_unknown(void)
{
    char err[256];
    lutra_order o = order("ghost1", LUTRA_SIDE_SELL, LUTRA_TYPE_LIMIT, 6100000, 300);
    lutra_order stray = o;
    answer a;

    ask(&o, &a);
    ok(a.status != NULL, "query_order of an order the venue never had: answered");
    ok(a.status && a.status->status == LUTRA_ORDER_REJECTED && a.fills == 0 &&
           strstr(a.status->reason, "does not know") && strstr(a.status->reason, "-2013"),
       "STATUS rejected, saying the venue does not know it: %s",
       a.status ? a.status->reason : "");
    ok(a.status && a.status->qty == 300 && a.status->side == LUTRA_SIDE_SELL &&
           a.status->price == 6100000,
       "qty, side and price are the order's");

    stray.instrument = 999;
    is_int(plugin_instance_query_order(pi, &stray), -1,
           "an instrument not the venue's: it cannot ask (-1)");

    /* The venue's rate limit answers 429: the outcome stays unknown. */
    mock_fault f = {MOCK_FAULT_STATUS, 429, 1};
    if (mock_binance_fault(mx, &f, err, sizeof err) != 0)
        bail_out("fault: %s", err);
    int answered = ask(&o, &a);
    ok(answered && a.status->status == LUTRA_ORDER_PENDING_NEW &&
           strstr(a.status->reason, "still unknown") && strstr(a.status->reason, "-1003"),
       "a 429 ends the answer with STATUS pending_new: still unknown (%s)",
       answered ? a.status->reason : "");
    answered = ask(&o, &a);
    ok(answered && a.status->status == LUTRA_ORDER_REJECTED,
       "asked again after the back-off, the venue answers");
}

/* A submit whose answer leaves its outcome unknown (-1007, HTTP 500) is
 * asked about a second later; that question failing too (-1000), it is
 * asked again two seconds on, and the venue's answer settles it. */
static void test_outcome_asked_again(void)
{
    char err[256];
    mock_reject on_order = {.on = MOCK_REJECT_ORDER, .code = -1007, .count = 1};
    mock_reject on_query = {.on = MOCK_REJECT_QUERY, .code = -1000, .count = 1};
    lutra_order o = order("lost1", LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5800000, 100);
    want first = {"lost1", LUTRA_EXEC_STATUS, 1}, second = {"lost1", LUTRA_EXEC_STATUS, 2};

    if (mock_binance_reject_as(mx, &on_order, err, sizeof err) != 0 ||
        mock_binance_reject_as(mx, &on_query, err, sizeof err) != 0)
        bail_out("reject: %s", err);
    is_int(plugin_instance_submit(pi, &o), 0, "a buy whose answer will be -1007 (a timeout)");
    ok(run_until(has_kind, &first), "asked about: STATUS");
    const lutra_exec *x = find_exec("lost1", LUTRA_EXEC_STATUS);
    ok(x && x->status == LUTRA_ORDER_PENDING_NEW && strstr(x->reason, "still unknown") &&
           strstr(x->reason, "-1000") && count_kind("lost1", LUTRA_EXEC_REJECTED) == 0,
       "the question failed: pending_new, still unknown (%s)", x ? x->reason : "none");
    ok(run_until(has_kind, &second), "asked again by itself: a second STATUS");
    const lutra_exec *y = NULL;
    for (size_t i = 0; i < R.nexec; i++)
        if (R.execs[i].kind == LUTRA_EXEC_STATUS && !strcmp(R.execs[i].order_id, "lost1"))
            y = &R.execs[i];
    ok(y && y != x && y->status == LUTRA_ORDER_REJECTED && strstr(y->reason, "does not know"),
       "the venue does not know it: rejected (%s)", y ? y->reason : "none");
    mock_binance_stats st;
    mock_binance_get_stats(mx, &st);
    ok(count_kind("lost1", LUTRA_EXEC_ACCEPTED) == 0 && st.client_id_reuses == 0,
       "never resent");
}

/* ---- Planned reconnects ---- */

typedef struct replaced {
    uint64_t market, user; /* connections accepted before */
} replaced;

/* Both streams replaced at least twice since *ud. */
static int replaced_twice(const void *ud)
{
    const replaced *r = ud;
    mock_binance_stats st;
    mock_binance_get_stats(mx, &st);
    return st.ws_user_accepted >= r->user + 2 &&
           st.ws_accepted - st.ws_user_accepted >= r->market + 2;
}

typedef struct moved {
    size_t probes, trades;
} moved;

static int all_seen(const void *ud)
{
    const moved *m = ud;
    return R.probe_deltas >= m->probes && R.trades >= m->trades;
}

/* Move the market once: the probe level, now and then a trade, and every
 * eighth time a resting order that a trade then fills (user stream only). */
static void move_market(int i, moved *m, int *orders)
{
    char err[256], qty[32], id[16];

    snprintf(qty, sizeof qty, "0.%03d", 1 + i % 900);
    level(1, "59990", qty);
    mock_binance_flush(mx);
    m->probes++;
    if (i % 3 == 0) {
        if (mock_binance_trade(mx, SYM, "60005", "0.001", 0, err, sizeof err) != 0)
            bail_out("trade: %s", err);
        m->trades++;
    }
    if (i % 8 == 4) {
        snprintf(id, sizeof id, "age%d", (*orders)++);
        lutra_order o = order(id, LUTRA_SIDE_BUY, LUTRA_TYPE_LIMIT, 5970000, 100);
        want w = {id, LUTRA_EXEC_ACCEPTED, 1};
        if (plugin_instance_submit(pi, &o) != 0 || !run_until(has_kind, &w))
            bail_out("order %s not accepted", id);
        if (mock_binance_trade(mx, SYM, "59700", "0.001", 1, err, sizeof err) != 0)
            bail_out("trade: %s", err);
        m->trades++;
    }
}

static void test_planned_reconnect(void)
{
    char err[256];
    mock_binance_stats st;
    replaced before;
    moved m = {0, 0};
    int orders = 0, fills_once = 1, down = 0;
    size_t syncing, states;

    plugin_instance_destroy(pi);
    memset(&R, 0, sizeof R);
    pi = make_instance("0.8", 2000);
    is_int(plugin_instance_start(pi, err, sizeof err), 0,
           "an instance with ws_max_age_s 0.8 starts");
    ok(run_until(is_ready, NULL), "READY");
    mock_binance_get_stats(mx, &st);
    before.market = st.ws_accepted - st.ws_user_accepted;
    before.user = st.ws_user_accepted;
    syncing = R.syncing_events;
    states = R.nstate;
    int64_t end = mono_ms() + 3 * DEADLINE_MS;
    for (int i = 0; (i < 24 || !replaced_twice(&before)) && mono_ms() < end; i++) {
        move_market(i, &m, &orders);
        settle(40);
    }
    ok(replaced_twice(&before), "both streams were replaced at least twice (planned reconnects)");
    ok(run_until(all_seen, &m), "every change of the probe level and every trade arrived");
    settle(300);
    is_int((int)R.probe_deltas, (int)m.probes, "each probe change exactly once: none lost, none "
           "applied twice");
    is_int((int)R.trades, (int)m.trades, "each trade exactly once");
    ok(R.probe_qty == (int64_t)(1 + (m.probes - 1) % 900) * 100,
       "the probe level ends at the mock's last size");
    is_int((int)(R.syncing_events - syncing), 0, "no gap: the book never resynchronised");
    for (size_t i = states; i < R.nstate; i++)
        down |= R.states[i] != LUTRA_FEED_READY;
    ok(!down && last_state_is(LUTRA_FEED_READY), "the venue stayed READY throughout");
    for (int k = 0; k < orders; k++) {
        char id[16];
        snprintf(id, sizeof id, "age%d", k);
        fills_once &= count_kind(id, LUTRA_EXEC_FILL) == 1 && filled_qty(id) == 100;
    }
    ok(orders >= 3 && fills_once, "each of the %d resting orders filled once, from the user "
       "stream", orders);
}

int main(void)
{
    setup();
    test_start();
    if (btc < 0)
        bail_out("no instrument: cannot go on");
    test_market_buy();
    test_limit_cancel();
    test_reject();
    test_stream_fill();
    test_user_stream_refused();
    test_self_trade();
    test_same_listen_key();
    test_gap();
    test_drop();
    test_queries();
    test_query_filled();
    test_query_partial();
    test_query_canceled();
    test_query_unknown();
    test_outcome_asked_again();
    test_planned_reconnect();

    plugin_instance_destroy(pi);
    plugin_unload(ph);
    mock_binance_stop(mx);
    http_free(http);
    loop_free(lp);
    instrument_registry_free(reg);
    secret_store_free(secrets);
    unlink(key_path);
    unlink(secret_path);
    rmdir(tmp_dir);
    return done();
}
