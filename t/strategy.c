/*
 * strategy.c -- the LuaJIT strategy runtime against a small fake host that
 * holds real books (bookset), a real registry, a real OMS and a real timer
 * heap: load errors, params, handler failures, the ctx API, the book and
 * event views, timers, and the runaway-handler hook.
 *
 * The strategies under t/strategies/ report what they see through ctx:log,
 * which the fake host records line by line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bookset.h"
#include "fixed.h"
#include "instrument.h"
#include "money.h"
#include "oms.h"
#include "strategy.h"
#include "tap.h"
#include "timer.h"

#define MAX_LINES 64
#define DIR "t/strategies/"

/* ---- The fake host ---- */

typedef struct fake_host {
    instrument_registry *reg;
    bookset *books;
    oms *oms;
    timer_heap *timers;
    strategy *s;
    int64_t now;
    int32_t btc, eth;

    char lines[MAX_LINES][512];
    int nlines;
    int last_level;
    order_request reqs[16];
    int nreqs;
    char metric_name[64];
    double metric_value;
    int nmetrics;
    struct {
        int32_t inst;
        int book, trades;
        int64_t bar_ns;
    } sub[4];
    int nsub;
    int report_in_submit;   /* call strategy_on_order from inside submit */
} fake_host;

static int64_t host_now(void *h)
{
    return ((fake_host *)h)->now;
}

static const char *host_mode(void *h)
{
    (void)h;
    return "backtest";
}

static int32_t host_instrument_find(void *h, const char *symbol)
{
    return instrument_registry_find(((fake_host *)h)->reg, "binance", symbol);
}

static const lutra_instrument *host_instrument_get(void *h, uint32_t id)
{
    return instrument_registry_get(((fake_host *)h)->reg, id);
}

static const book *host_book(void *h, uint32_t inst)
{
    return bookset_book(((fake_host *)h)->books, inst);
}

static int host_book_synced(void *h, uint32_t inst)
{
    return bookset_synced(((fake_host *)h)->books, inst);
}

/* Refuses a limit price of exactly 100 (as a price band would); the OMS
 * decides the rest. */
static int host_submit(void *hv, strategy *s, const order_request *req, char *id_out,
                       char *reason, size_t len)
{
    fake_host *h = hv;
    const lutra_instrument *def = instrument_registry_get(h->reg, req->instrument);
    int64_t hundred = 100 * fixed_pow10(def->price_scale);
    order *o;
    (void)s;
    if (h->nreqs < 16)
        h->reqs[h->nreqs++] = *req;
    if (req->price == hundred) {
        snprintf(reason, len, "risk: price_band: 100 is too far from the reference");
        return -1;
    }
    o = oms_submit(h->oms, req, req->price ? req->price : 60000 * fixed_pow10(def->price_scale),
                   h->now, reason, len);
    if (!o)
        return -1;
    snprintf(id_out, ORDER_ID_MAX + 1, "%s", o->id);
    if (h->report_in_submit)
        strategy_on_order(h->s, o);
    return 0;
}

static int host_cancel(void *h, strategy *s, const char *id, char *reason, size_t len)
{
    (void)s;
    return oms_cancel(((fake_host *)h)->oms, id, ((fake_host *)h)->now, reason, len);
}

static size_t host_cancel_all(void *hv, strategy *s, int32_t inst)
{
    fake_host *h = hv;
    order *open[64];
    size_t n = oms_open_orders(h->oms, inst, open, 64), done = 0;
    char reason[160];
    (void)s;
    for (size_t i = 0; i < n && i < 64; i++)
        if (open[i]->status != ORDER_PENDING_CANCEL &&
            oms_cancel(h->oms, open[i]->id, h->now, reason, sizeof reason) == 0)
            done++;
    return done;
}

static size_t host_open_orders(void *h, strategy *s, int32_t inst, const order **out, size_t max)
{
    (void)s;
    return oms_open_orders(((fake_host *)h)->oms, inst, (order **)out, max);
}

static const oms_position *host_position(void *h, uint32_t inst)
{
    return oms_get_position(((fake_host *)h)->oms, inst);
}

static oms_balance host_balance(void *h, const char *asset)
{
    return oms_get_balance(((fake_host *)h)->oms, asset);
}

static void host_timer_fire(void *ud, int64_t arg, uint64_t id)
{
    fake_host *h = ud;
    (void)id;
    strategy_on_timer(h->s, (int)arg);
}

static uint64_t host_timer_add(void *hv, strategy *s, int64_t at, int64_t every, int ref)
{
    fake_host *h = hv;
    (void)s;
    return timer_add(h->timers, at, every, host_timer_fire, h, ref);
}

static void host_timer_cancel(void *h, uint64_t id)
{
    timer_cancel(((fake_host *)h)->timers, id);
}

static int host_subscribe(void *hv, strategy *s, uint32_t inst, int book, int trades,
                          int64_t bar_ns, char *reason, size_t len)
{
    fake_host *h = hv;
    (void)s, (void)reason, (void)len;
    if (h->nsub < 4) {
        h->sub[h->nsub].inst = (int32_t)inst;
        h->sub[h->nsub].book = book;
        h->sub[h->nsub].trades = trades;
        h->sub[h->nsub].bar_ns = bar_ns;
        h->nsub++;
    }
    return 0;
}

static void host_log(void *hv, strategy *s, int level, const char *msg)
{
    fake_host *h = hv;
    (void)s;
    h->last_level = level;
    if (h->nlines < MAX_LINES)
        snprintf(h->lines[h->nlines++], sizeof h->lines[0], "%s", msg);
}

static void host_metric(void *hv, strategy *s, const char *name, double value)
{
    fake_host *h = hv;
    (void)s;
    snprintf(h->metric_name, sizeof h->metric_name, "%s", name);
    h->metric_value = value;
    h->nmetrics++;
}

static const strategy_host_ops host_ops = {
    .now = host_now,
    .mode = host_mode,
    .instrument_find = host_instrument_find,
    .instrument_get = host_instrument_get,
    .book = host_book,
    .book_synced = host_book_synced,
    .submit = host_submit,
    .cancel = host_cancel,
    .cancel_all = host_cancel_all,
    .open_orders = host_open_orders,
    .position = host_position,
    .balance = host_balance,
    .timer_add = host_timer_add,
    .timer_cancel = host_timer_cancel,
    .subscribe = host_subscribe,
    .log = host_log,
    .metric = host_metric,
};

static int32_t add_instrument(fake_host *h, const char *symbol, const char *base, const char *tick,
                              const char *lot)
{
    lutra_instrument def;
    char err[256];
    if (instrument_define(&def, "binance", symbol, base, "USDT", tick, lot, NULL, NULL, err,
                          sizeof err) < 0)
        bail_out("instrument_define: %s", err);
    return instrument_registry_add(h->reg, &def, err, sizeof err);
}

static void host_init(fake_host *h)
{
    oms_config oc;
    memset(h, 0, sizeof *h);
    memset(&oc, 0, sizeof oc);
    h->reg = instrument_registry_new();
    h->books = bookset_new();
    h->timers = timer_heap_new();
    h->btc = add_instrument(h, "BTCUSDT", "BTC", "0.01", "0.00001");
    h->eth = add_instrument(h, "ETHUSDT", "ETH", "0.01", "0.0001");
    h->oms = oms_new(h->reg, &oc);
    if (!h->reg || !h->books || !h->timers || !h->oms || h->btc < 0 || h->eth < 0)
        bail_out("fake host setup failed");
    oms_set_balance(h->oms, "USDT", 100000 * MONEY_ONE);
    oms_set_balance(h->oms, "BTC", 10 * MONEY_ONE);
    h->now = INT64_C(1700000000123456789);
}

static void host_fini(fake_host *h)
{
    strategy_free(h->s);
    oms_free(h->oms);
    timer_heap_free(h->timers);
    bookset_free(h->books);
    instrument_registry_free(h->reg);
}

static strategy *load(fake_host *h, const char *file, const strategy_param *params, size_t n,
                      char *err, size_t errlen)
{
    strategy_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.path = file;
    cfg.params = params;
    cfg.nparams = n;
    cfg.index = 7;
    cfg.lib_path = DIR "lib";
    err[0] = '\0';
    h->s = strategy_load(&host_ops, h, &cfg, err, errlen);
    return h->s;
}

/* Line i of the log, "" when there is none. */
static const char *line(const fake_host *h, int i)
{
    return i < h->nlines ? h->lines[i] : "";
}

static int has(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

static lutra_event book_record(uint32_t inst, uint8_t type, uint8_t flags, int64_t price,
                               int64_t qty)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = type;
    ev.h.flags = flags;
    ev.h.instrument = inst;
    ev.delta.price = price;
    ev.delta.qty = qty;
    return ev;
}

static lutra_bar bar_at(uint32_t inst, int64_t open_ts)
{
    lutra_bar b;
    memset(&b, 0, sizeof b);
    b.h.type = LUTRA_EV_BAR;
    b.h.instrument = inst;
    b.h.ts_exch = open_ts;
    b.h.ts_recv = open_ts + INT64_C(60000000000);
    b.open = 6000000;
    b.high = 6100050;
    b.low = 5990000;
    b.close = 6050025;
    b.volume = 1234567;
    return b;
}

/* ---- Tests ---- */

static void test_param_parse(void)
{
    strategy_param p;
    char err[256];
    static const struct {
        const char *kv;
        strategy_param_type type;
        double num;
        const char *str;
    } good[] = {
        {"fast=10", PARAM_NUMBER, 10, "10"},
        {"qty=-0.5", PARAM_NUMBER, -0.5, "-0.5"},
        {"x=1e-3", PARAM_NUMBER, 0.001, "1e-3"},
        {"live=true", PARAM_BOOL, 1, "true"},
        {"live=false", PARAM_BOOL, 0, "false"},
        {"symbol=BTCUSDT", PARAM_STRING, 0, "BTCUSDT"},
        {"symbol=\"123\"", PARAM_STRING, 0, "123"},
        {"name='a b'", PARAM_STRING, 0, "a b"},
        {"x=0x10", PARAM_STRING, 0, "0x10"},
        {"x=inf", PARAM_STRING, 0, "inf"},
        {"x=", PARAM_STRING, 0, ""},
        {"x=a=b", PARAM_STRING, 0, "a=b"},
    };
    int right = 0;
    char longkey[100], longval[300];

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = strategy_param_parse(good[i].kv, &p, err, sizeof err);
        int same = rc == 0 && p.type == good[i].type && strcmp(p.str, good[i].str) == 0 &&
                   (p.type != PARAM_NUMBER || p.num == good[i].num) &&
                   (p.type != PARAM_BOOL || p.boolean == (int)good[i].num);
        if (!same)
            diag("%s parsed wrong (rc %d, type %d, str '%s')", good[i].kv, rc, p.type, p.str);
        right += same;
    }
    is_int(right, (int)(sizeof good / sizeof good[0]), "-p values: numbers, booleans, strings");
    ok(strategy_param_parse("fast=10", &p, err, sizeof err) == 0 && !strcmp(p.key, "fast"),
       "the key is what precedes '='");

    ok(strategy_param_parse("novalue", &p, err, sizeof err) < 0 && has(err, "want key=value"),
       "no '=' is an error: %s", err);
    ok(strategy_param_parse("=5", &p, err, sizeof err) < 0 && has(err, "empty"),
       "an empty key is an error: %s", err);
    ok(strategy_param_parse("1x=5", &p, err, sizeof err) < 0 && has(err, "'1x'"),
       "a key that is not a name is an error: %s", err);
    memset(longkey, 'k', sizeof longkey);
    snprintf(longkey + 80, 20, "=1");
    ok(strategy_param_parse(longkey, &p, err, sizeof err) < 0 && has(err, "at most 63"),
       "a key too long is an error: %s", err);
    memset(longval, 'v', sizeof longval);
    memcpy(longval, "k=", 2);
    longval[sizeof longval - 1] = '\0';
    ok(strategy_param_parse(longval, &p, err, sizeof err) < 0 && has(err, "at most 255"),
       "a value too long is an error: %s", err);
}

static void test_params(void)
{
    fake_host h;
    char err[512];
    strategy_param ps[4];
    const char *kv[] = {"fast=5", "qty=\"0.02\"", "live=true", "symbol=ETHUSDT"};
    strategy *s;

    host_init(&h);
    for (int i = 0; i < 4; i++)
        strategy_param_parse(kv[i], &ps[i], err, sizeof err);
    s = load(&h, DIR "params.lua", ps, 4, err, sizeof err);
    ok(s != NULL, "params.lua loads: %s", err);
    if (!s)
        bail_out("cannot go on");
    is_str(strategy_name(s), "params", "the name defaults to the file's stem");
    is_int(strategy_index(s), 7, "the index is the config's");
    is_str(strategy_params_json(s),
           "{\"fast\":5,\"live\":true,\"qty\":0.02,\"slow\":30,\"symbol\":\"ETHUSDT\"}",
           "the final params as JSON, keys sorted");
    is_int(strategy_on_start(s), 0, "on_start runs (after strategy_params_json)");
    is_str(line(&h, 0), "ETHUSDT fast=5 slow=30 qty=0.02 live=true same=true mode=backtest",
           "defaults merged with overrides, converted to the defaults' types; ctx.params is "
           "S.params; ctx.mode");
    ok(!strategy_wants_book(s) && !strategy_wants_bars(s) && !strategy_wants_trades(s),
       "wants nothing it does not handle");
    host_fini(&h);

    host_init(&h);
    strategy_param_parse("fats=5", &ps[0], err, sizeof err);
    ok(!load(&h, DIR "params.lua", ps, 1, err, sizeof err), "an unknown parameter fails the load");
    is_str(err, DIR "params.lua: unknown parameter 'fats' (the strategy's params are: fast, live, "
                    "qty, slow, symbol)",
           "the message names it and lists the params");
    host_fini(&h);

    host_init(&h);
    strategy_param_parse("fast=abc", &ps[0], err, sizeof err);
    ok(!load(&h, DIR "params.lua", ps, 1, err, sizeof err) &&
           !strcmp(err, DIR "params.lua: parameter 'fast': want a number, got 'abc'"),
       "a string that is not a number for a number param: %s", err);
    host_fini(&h);

    host_init(&h);
    strategy_param_parse("live=3", &ps[0], err, sizeof err);
    ok(!load(&h, DIR "params.lua", ps, 1, err, sizeof err) &&
           has(err, "parameter 'live': want true or false, got '3'"),
       "a number for a boolean param: %s", err);
    host_fini(&h);
}

static void test_load_errors(void)
{
    fake_host h;
    char err[1024];
    static const struct {
        const char *file;
        const char *want;
        const char *what;
    } cases[] = {
        {DIR "syntax_error.lua", DIR "syntax_error.lua:4:", "a compile error gives file:line"},
        {DIR "load_error.lua", DIR "load_error.lua:3: attempt to index",
         "an error while the file runs gives file:line"},
        {DIR "no_handler.lua",
         DIR "no_handler.lua: defines no handler (on_book, on_trade, on_bar, ...)",
         "a table without handlers"},
        {DIR "not_a_table.lua", "must return a table of handlers, returned function",
         "a file that returns no table"},
        {DIR "typo_handler.lua", "on_tick is not a handler", "a misspelt handler"},
        {DIR "bad_params.lua", "params must be a table, got a number", "params not a table"},
        {DIR "no_such_file.lua", "no_such_file.lua", "a missing file"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        host_init(&h);
        ok(!load(&h, cases[i].file, NULL, 0, err, sizeof err) && has(err, cases[i].want),
           "%s: %.*s", cases[i].what, (int)strcspn(err, "\n"), err);
        host_fini(&h);
    }
    host_init(&h);
    ok(!load(&h, DIR "load_error.lua", NULL, 0, err, sizeof err) && has(err, "stack traceback"),
       "a run-time error at load comes with its traceback");
    host_fini(&h);
}

static void test_runtime_error(void)
{
    fake_host h;
    char err[512];
    lutra_bar b;
    int rc[5];
    strategy *s;

    host_init(&h);
    s = load(&h, DIR "runtime_error.lua", NULL, 0, err, sizeof err);
    ok(s != NULL, "runtime_error.lua loads: %s", err);
    if (!s)
        bail_out("cannot go on");
    strategy_on_start(s);
    is_int(timer_pending(h.timers), 1, "its timer is pending");
    b = bar_at((uint32_t)h.btc, INT64_C(1700000000000000000));
    for (int i = 0; i < 5; i++)
        rc[i] = strategy_on_bar(s, &b, INT64_C(60000000000));
    ok(rc[0] == 0 && rc[1] == 0 && rc[2] == -1 && rc[3] == -1 && rc[4] == -1,
       "the third call fails, and later calls return -1");
    ok(h.nmetrics == 3 && h.metric_value == 3, "later calls do not run the handler (%d calls)",
       h.nmetrics);
    ok(strategy_failed(s), "the strategy is failed");
    ok(!strncmp(strategy_error(s),
                "handler on_bar: " DIR "runtime_error.lua:7: attempt to index", 57),
       "the error names the handler, file and line: %.80s", strategy_error(s));
    ok(has(strategy_error(s), "stack traceback:") &&
           has(strategy_error(s), "runtime_error.lua:14:"),
       "with a traceback through the caller");
    is_str(strategy_current_handler(s), "on_bar", "the handler that ran last");
    is_int(timer_pending(h.timers), 0, "failing cancels its timers");
    is_int(strategy_on_start(s), -1, "every handler of a failed strategy returns -1");
    host_fini(&h);
}

static void test_orders(void)
{
    fake_host h;
    char err[512];
    lutra_bar b;
    strategy *s;
    const order_request *r = h.reqs;

    host_init(&h);
    s = load(&h, DIR "orders.lua", NULL, 0, err, sizeof err);
    ok(s != NULL, "orders.lua loads: %s", err);
    if (!s)
        bail_out("cannot go on");
    b = bar_at((uint32_t)h.btc, INT64_C(1700000000000000000));
    for (int i = 0; i < 7; i++)
        strategy_on_bar(s, &b, INT64_C(60000000000));
    ok(!strategy_failed(s), "no step failed: %s", strategy_error(s) ? strategy_error(s) : "");
    is_int(h.nreqs, 5, "five orders reached the host; the two off the increments did not");

    ok(r[0].instrument == (uint32_t)h.btc && r[0].side == ORDER_BUY && r[0].type == ORDER_LIMIT &&
           r[0].tif == ORDER_GTC && r[0].price == 6183763 && r[0].qty == 100 &&
           r[0].strategy == 7 && !strcmp(r[0].tag, "entry"),
       "limit buy: price 61837.63 is 6183763 at scale 2, qty 0.001 is 100 at scale 5, tag, "
       "strategy index");
    is_str(line(&h, 0), "lt1 nil", "ctx:buy returns the OMS's order id");
    ok(r[1].side == ORDER_SELL && r[1].price == 30 && r[1].qty == 30000 && r[1].tif == ORDER_IOC,
       "0.1 + 0.2 is the price 0.30 (30), not refused for its binary noise");
    is_str(line(&h, 1), "lt2 nil", "second id");
    ok(r[2].type == ORDER_MARKET && r[2].price == 0 && r[2].qty == 50000,
       "no price and no type: a market order");
    ok(r[3].type == ORDER_STOP && r[3].stop_price == 6000050 && r[3].price == 0,
       "stop order with stop_price");
    is_str(line(&h, 4), "nil risk: valid: price 61837.635 is not a multiple of the tick 0.01",
           "a price finer than the tick is refused, not rounded");
    is_str(line(&h, 5), "nil risk: valid: qty 1e-07 is not a multiple of the lot 0.00001",
           "a qty finer than the lot is refused");
    is_str(line(&h, 6), "nil risk: price_band: 100 is too far from the reference",
           "the host's refusal comes back as nil, reason");
    host_fini(&h);
}

static void test_misuse(void)
{
    fake_host h;
    char err[512];
    lutra_event ev;
    static const char *const want[] = {
        "1 " DIR "misuse.lua:5: ctx:buy: symbol is required",
        "2 " DIR "misuse.lua:6: ctx:buy: unknown symbol 'NOPE'",
        "3 " DIR "misuse.lua:7: ctx:buy: qty: want a number, got string",
        "4 " DIR "misuse.lua:8: ctx:buy: unknown type 'iceberg' (want limit, market, stop or "
        "stop_limit)",
        "5 " DIR "misuse.lua:9: ctx:sell: unknown tif 'day' (want gtc, ioc, fok or post_only)",
        "6 " DIR "misuse.lua:10: ctx:buy: unknown field 'quantity' (the fields are symbol, qty, "
        "price, type, tif, stop_price, tag)",
        "7 " DIR "misuse.lua:11: ctx:buy: call it with a colon, ctx:buy(...)",
        "8 " DIR "misuse.lua:12: ctx:buy: a market order takes no price",
        "9 " DIR "misuse.lua:13: ctx:position: symbol: want a string, got number",
        "10 " DIR "misuse.lua:14: ctx:after: ms: want a number, got string",
        "11 " DIR "misuse.lua:15: ctx:log: level: want \"debug\", \"info\", \"warn\" or "
        "\"error\", got loud",
        "12 " DIR "misuse.lua:16: book:bid(i): want a whole number from 1, got 0",
    };

    host_init(&h);
    ev = book_record((uint32_t)h.btc, LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 0, 0);
    bookset_apply(h.books, &ev);
    ok(load(&h, DIR "misuse.lua", NULL, 0, err, sizeof err) != NULL, "misuse.lua loads: %s", err);
    if (!h.s)
        bail_out("cannot go on");
    strategy_on_start(h.s);
    for (int i = 0; i < 12; i++)
        is_str(line(&h, i), want[i], "misuse %d raises an error at the caller's line", i + 1);
    is_int(h.nreqs, 0, "no misused order reached the host");
    host_fini(&h);
}

static void test_book(void)
{
    fake_host h;
    char err[512];
    lutra_event ev[5];
    uint32_t btc;

    host_init(&h);
    btc = (uint32_t)h.btc;
    ev[0] = book_record(btc, LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 0, 0);
    ev[1] = book_record(btc, LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | LUTRA_F_BID, 10000, 150000);
    ev[2] = book_record(btc, LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | LUTRA_F_BID, 9950, 200000);
    ev[3] = book_record(btc, LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT, 10050, 50000);
    ev[4] = book_record(btc, LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | LUTRA_F_LAST, 10100, 300000);
    for (int i = 0; i < 5; i++)
        bookset_apply(h.books, &ev[i]);

    ok(load(&h, DIR "book.lua", NULL, 0, err, sizeof err) != NULL, "book.lua loads: %s", err);
    if (!h.s)
        bail_out("cannot go on");
    ok(strategy_wants_book(h.s) && !strategy_wants_trades(h.s), "wants books only");
    is_int(strategy_on_book(h.s, btc, INT64_C(1700000000123456789)), 0, "on_book runs");
    is_str(line(&h, 0),
           "BTCUSDT ts=1700000000123.457 bid=100,1.5 ask=100.5,0.5 bid2=99.5,2 ask2=101,3 "
           "bid9=nil mid=100.25 spread=0.5 depth=2/2 synced=true same=true",
           "book fields and methods read the real book, prices and sizes as numbers");

    ev[0] = book_record(btc, LUTRA_EV_BOOK_DELTA, 0, 10050, 0);
    ev[1] = book_record(btc, LUTRA_EV_BOOK_DELTA, LUTRA_F_LAST, 10100, 0);
    bookset_apply(h.books, &ev[0]);
    bookset_apply(h.books, &ev[1]);
    strategy_on_book(h.s, btc, INT64_C(1700000000200000000));
    is_str(line(&h, 1),
           "BTCUSDT ts=1700000000200.000 bid=100,1.5 ask=nil bid2=99.5,2 ask2=nil bid9=nil "
           "mid=nil spread=nil depth=2/0 synced=true same=true",
           "an empty side gives nil; the same object sees the book change");
    host_fini(&h);
}

static void test_book_compiled(void)
{
    fake_host h;
    char err[512];
    lutra_event ev[5];
    uint32_t btc;

    host_init(&h);
    btc = (uint32_t)h.btc;
    ev[0] = book_record(btc, LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 0, 0);
    ev[1] = book_record(btc, LUTRA_EV_BOOK_DELTA, LUTRA_F_BID, 10000, 1);
    ev[2] = book_record(btc, LUTRA_EV_BOOK_DELTA, LUTRA_F_BID, 9950, 2);
    ev[3] = book_record(btc, LUTRA_EV_BOOK_DELTA, 0, 10050, 3);
    ev[4] = book_record(btc, LUTRA_EV_BOOK_DELTA, LUTRA_F_LAST, 10100, 4);
    for (int i = 0; i < 5; i++)
        bookset_apply(h.books, &ev[i]);
    ok(load(&h, DIR "jit_book.lua", NULL, 0, err, sizeof err) != NULL, "jit_book.lua loads: %s",
       err);
    if (!h.s)
        bail_out("cannot go on");
    for (int i = 0; i < 2000; i++)
        strategy_on_book(h.s, btc, h.now + i);
    strategy_on_stop(h.s);
    is_str(line(&h, 0), "calls=2000 ordered=2000 decreasing=2000",
           "a compiled handler keeps each value an FFI call returned");
    host_fini(&h);
}

static void test_nested(void)
{
    fake_host h;
    char err[512];
    lutra_bar b;

    host_init(&h);
    h.report_in_submit = 1;
    ok(load(&h, DIR "nested.lua", NULL, 0, err, sizeof err) != NULL, "nested.lua loads: %s", err);
    if (!h.s)
        bail_out("cannot go on");
    b = bar_at((uint32_t)h.btc, h.now);
    ok(strategy_on_bar(h.s, &b, INT64_C(60000000000)) == 0 &&
           strategy_on_bar(h.s, &b, INT64_C(60000000000)) == 0,
       "two bars, each with an order reported inside ctx:buy");
    is_str(line(&h, 0), "order lt1 pending_new", "on_order ran inside on_bar");
    is_str(line(&h, 1), "bought lt1, on_order saw lt1:pending_new", "and on_bar went on after it");
    is_str(line(&h, 3), "bought lt2, on_order saw lt2:pending_new", "the stack is intact after");
    is_str(strategy_current_handler(h.s), "on_bar", "the outer handler is the last one");
    host_fini(&h);
}

static void test_events(void)
{
    fake_host h;
    char err[512];
    lutra_trade t;
    lutra_bar b;
    order *o;
    order_request req;
    exec_report rep;
    oms_change chg;
    uint32_t btc;

    host_init(&h);
    btc = (uint32_t)h.btc;
    ok(load(&h, DIR "events.lua", NULL, 0, err, sizeof err) != NULL, "events.lua loads: %s", err);
    if (!h.s)
        bail_out("cannot go on");
    strategy_on_start(h.s);

    memset(&t, 0, sizeof t);
    t.h.type = LUTRA_EV_TRADE;
    t.h.instrument = btc;
    t.h.ts_recv = INT64_C(1700000000001500000);
    t.price = 6183763;
    t.qty = 12345;
    t.h.flags = LUTRA_F_BUY;
    strategy_on_trade(h.s, &t);
    t.h.flags = 0;
    strategy_on_trade(h.s, &t);
    t.h.flags = LUTRA_F_NO_SIDE;
    strategy_on_trade(h.s, &t);
    is_str(line(&h, 0), "trade 1 BTCUSDT ts=1700000000001.500 price=61837.63 qty=0.12345 side=buy",
           "trade fields");
    ok(has(line(&h, 1), "side=sell") && has(line(&h, 2), "side=nil"),
       "side: the aggressor, nil when unknown");

    b = bar_at(btc, INT64_C(1700000040000000000));
    strategy_on_bar(h.s, &b, INT64_C(60000000000));
    is_str(line(&h, 3),
           "bar 4 BTCUSDT ts=1700000040000 o=60000 h=61000.5 l=59900 c=60500.25 v=12.34567 "
           "interval=60",
           "bar fields: ts is the open time, interval in seconds; ctx.state counts across calls");

    memset(&req, 0, sizeof req);
    req.instrument = btc;
    req.side = ORDER_BUY;
    req.type = ORDER_LIMIT;
    req.price = 6000000;
    req.qty = 100000;
    snprintf(req.tag, sizeof req.tag, "t1");
    o = oms_submit(h.oms, &req, 6000000, h.now, err, sizeof err);
    ok(o != NULL, "an order in the OMS: %s", o ? "" : err);
    if (!o)
        bail_out("cannot go on");
    strategy_on_order(h.s, o);
    is_str(line(&h, 4),
           "order 5 lt1 BTCUSDT buy limit pending_new price=60000 qty=1 filled=0 avg=nil tag=t1 "
           "reason=nil same=false",
           "order fields");

    memset(&rep, 0, sizeof rep);
    rep.kind = EXEC_FILL;
    snprintf(rep.order_id, sizeof rep.order_id, "%s", o->id);
    rep.price = 5999950;
    rep.qty = 25000;
    rep.fee = 150000;
    snprintf(rep.fee_asset, sizeof rep.fee_asset, "USDT");
    rep.liquidity = ORDER_MAKER;
    ok(oms_apply(h.oms, &rep, h.now, &chg, err, sizeof err) == 0, "a fill applies: %s", err);
    strategy_on_fill(h.s, o, &chg);
    strategy_on_order(h.s, o);
    is_str(line(&h, 5), "fill 6 lt1 BTCUSDT buy price=59999.5 qty=0.25 fee=0.0015 USDT maker",
           "fill fields");
    is_str(line(&h, 6),
           "order 7 lt1 BTCUSDT buy limit partially_filled price=60000 qty=1 filled=0.25 "
           "avg=59999.5 tag=t1 reason=nil same=true",
           "the order after the fill, in the same reused table");

    strategy_on_status(h.s, "binance", "disconnected", "gap");
    strategy_on_status(h.s, "binance", "ready", NULL);
    is_str(line(&h, 7), "status 8 binance disconnected gap", "status fields");
    is_str(line(&h, 8), "status 9 binance ready nil", "no reason is nil");
    strategy_on_stop(h.s);
    is_str(line(&h, 9), "stop after 9 events", "on_stop; ctx.state kept for the run");
    host_fini(&h);
}

static void test_timers(void)
{
    fake_host h;
    char err[512];
    int64_t start;

    host_init(&h);
    h.now = start = INT64_C(1700000000000000000);
    ok(load(&h, DIR "timers.lua", NULL, 0, err, sizeof err) != NULL, "timers.lua loads: %s", err);
    if (!h.s)
        bail_out("cannot go on");
    strategy_on_start(h.s);
    is_str(line(&h, 0), "cancel pending -> true", "cancelling a pending timer");
    is_int(timer_pending(h.timers), 2, "two timers at the host");
    for (int64_t t = start; t <= start + INT64_C(400000000); t += INT64_C(10000000)) {
        h.now = t;
        timer_run(h.timers, t);
    }
    is_str(line(&h, 1), "every #1 at 1700000000050", "every(50) first fires 50 ms later");
    is_str(line(&h, 2), "after at 1700000000100 same_ctx=true active=false",
           "after(100) fires once, with ctx; a one-shot timer is over in its own call");
    is_str(line(&h, 3), "every #2 at 1700000000100", "every(50) again");
    is_str(line(&h, 4), "every #3 at 1700000000150", "and again");
    is_str(line(&h, 5), "cancel -> true, again -> false", "a repeating timer cancels itself");
    is_int(h.nlines, 6, "nothing else fired");
    is_int(timer_pending(h.timers), 0, "no timer left at the host");
    ok(!strategy_failed(h.s), "no failure");
    host_fini(&h);
}

static void test_account(void)
{
    fake_host h;
    char err[512];
    exec_report rep;
    oms_change chg;
    lutra_bar b;

    host_init(&h);
    ok(load(&h, DIR "account.lua", NULL, 0, err, sizeof err) != NULL, "account.lua loads: %s",
       err);
    if (!h.s)
        bail_out("cannot go on");
    strategy_on_start(h.s);
    ok(!strategy_failed(h.s), "on_start ran: %s", strategy_error(h.s) ? strategy_error(h.s) : "");
    is_str(line(&h, 0), "position 0,nil", "flat: 0, nil");
    is_str(line(&h, 1), "balance 100000,0", "balance: free, locked");
    is_str(line(&h, 2), "round_price 61837.63 61837.64 100", "round_price: nearest tick");
    is_str(line(&h, 3), "round_qty 0.12345 0.3 0", "round_qty: down to the lot");
    is_str(line(&h, 4), "now 1700000000123.457", "ctx:now() in ms");
    is_str(line(&h, 5), "ids lt1 lt2", "two orders");
    is_str(line(&h, 6), "open 2 first=lt1 BTCUSDT buy limit pending_new 60000 0.01 a",
           "open_orders: oldest first, with their fields");
    is_str(line(&h, 7), "open eth 1", "open_orders of one symbol");
    is_str(line(&h, 8), "balance after 99100,900", "the orders lock their quote");
    is_str(line(&h, 9), "cancel true", "cancel -> true");
    ok(!strncmp(line(&h, 10), "cancel unknown nil,", 19), "an unknown id -> nil, reason: %s",
       line(&h, 10));
    is_str(line(&h, 11), "cancel_all 1", "cancel_all counts what it cancelled");
    is_str(line(&h, 12), "subscribe true", "subscribe");
    ok(h.nsub == 2 && h.sub[0].inst == h.eth && !h.sub[0].book && !h.sub[0].trades &&
           h.sub[0].bar_ns == INT64_C(300000000000),
       "subscribe{bars=\"5m\"}: 5-minute bars (in ns), no book, no trades");
    ok(h.sub[1].inst == h.btc && h.sub[1].book && h.sub[1].trades && h.sub[1].bar_ns == 0,
       "{symbol=} alone subscribes to book and trades");
    is_str(line(&h, 14), "eth book nil", "no book yet: nil");
    ok(h.metric_value == 2 && !strcmp(h.metric_name, "open"), "ctx:metric");

    memset(&rep, 0, sizeof rep);
    rep.kind = EXEC_FILL;
    snprintf(rep.order_id, sizeof rep.order_id, "lt1");
    rep.price = 6000000;
    rep.qty = 1000;
    ok(oms_apply(h.oms, &rep, h.now, &chg, err, sizeof err) == 0, "fill lt1: %s", err);
    b = bar_at((uint32_t)h.btc, h.now);
    strategy_on_bar(h.s, &b, INT64_C(60000000000));
    is_str(line(&h, 15), "position 0.01,60000", "position: qty, avg_price");
    host_fini(&h);
}

static void test_runaway(void)
{
    fake_host h;
    char err[512];
    strategy_config cfg;
    lutra_bar b;

    host_init(&h);
    memset(&cfg, 0, sizeof cfg);
    cfg.path = DIR "runaway.lua";
    cfg.name = "looper";
    cfg.handler_timeout_ms = 50;
    h.s = strategy_load(&host_ops, &h, &cfg, err, sizeof err);
    ok(h.s != NULL, "runaway.lua loads: %s", err);
    if (!h.s)
        bail_out("cannot go on");
    b = bar_at((uint32_t)h.btc, h.now);
    is_int(strategy_on_bar(h.s, &b, INT64_C(60000000000)), -1, "the endless handler is stopped");
    ok(!strncmp(strategy_error(h.s), "handler on_bar of strategy looper ran longer than 50 ms", 55),
       "the message names the strategy and the handler: %.*s",
       (int)strcspn(strategy_error(h.s), "\n"), strategy_error(h.s));
    ok(has(strategy_error(h.s), "runaway.lua:8"), "the traceback shows where it looped");
    host_fini(&h);
}

/* Garbage left by a handler is collected by steps between messages,
 * where no allocation would ever trigger the collector. */
static void test_collect_step(void)
{
    fake_host h;
    char err[512];
    size_t before, after;
    int steps = 0;

    host_init(&h);
    if (!load(&h, DIR "garbage.lua", NULL, 0, err, sizeof err))
        bail_out("garbage.lua: %s", err);
    is_int(strategy_on_start(h.s), 0, "garbage.lua's on_start runs");
    before = strategy_memory(h.s);
    do
        strategy_collect_step(h.s);
    while (strategy_memory(h.s) > before / 8 && ++steps < 100000);
    after = strategy_memory(h.s);
    ok(after <= before / 8, "steps between messages collect its garbage: %zu KiB -> %zu KiB "
       "in %d steps", before >> 10, after >> 10, steps);
    host_fini(&h);
}

static void test_lib_path(void)
{
    fake_host h;
    char err[512];
    host_init(&h);
    ok(load(&h, DIR "requires.lua", NULL, 0, err, sizeof err) != NULL, "requires.lua loads: %s",
       err);
    if (h.s)
        strategy_on_start(h.s);
    is_str(line(&h, 0), "hello from lib", "require finds lib_path/?/init.lua");
    host_fini(&h);
}

int main(void)
{
    plan(127);
    test_param_parse();
    test_params();
    test_load_errors();
    test_runtime_error();
    test_orders();
    test_misuse();
    test_book();
    test_book_compiled();
    test_nested();
    test_events();
    test_timers();
    test_account();
    test_runaway();
    test_collect_step();
    test_lib_path();
    return done();
}
