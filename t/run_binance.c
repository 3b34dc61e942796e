/*
 * run_binance.c -- end to end: the live driver (core/live.h) with the real
 * Binance connector (LUTRA_PLUGIN_PATH/binance.so) against the mock Binance
 * exchange (t/mock_binance/), started in-process on 127.0.0.1, and the
 * strategy t/strategies/live_trader.lua, which writes each handler call to
 * a file the test reads back:
 *
 *   - live: the venue goes ready, on_book sees a synced book, a market buy
 *     is accepted and filled for its whole quantity (the mock's base balance
 *     grows by it), a limit sell above the market rests ("new"); a stop
 *     request runs on_stop, cancel_on_stop cancels the resting order at the
 *     mock (its openOrders is empty) and live_run returns 0;
 *   - paper: the simulated venue fills and rests the same orders and none
 *     reaches the mock (its balances are untouched, it knows no order id).
 *
 * Each run gets a fresh mock. Every wait has a deadline.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "mock_binance.h"
#include "mock_client.h"
#include "tap.h"

#define SYM "BTCUSDT"
#define POLL_MS 50
#define DEADLINE_MS 15000
#define ORDER_QTY_E5 100 /* the strategy's qty 0.001, in lots of 0.00001 */
#define E5_TO_MEXCH 1000 /* 10^(MEXCH_SCALE - 5) */

static char tmp_dir[] = "/tmp/lutra-run-binance-XXXXXX";
static char key_path[PATH_MAX], secret_path[PATH_MAX], trader_log[PATH_MAX];

/* ---- Set-up ---- */

static void write_file(char *path, const char *name, const char *value)
{
    snprintf(path, PATH_MAX, "%s/%s", tmp_dir, name);
    tap_write_secret(path, value);
}

static void level(mock_binance *mx, int bid, const char *price, const char *qty)
{
    char err[256];
    if (mock_binance_set_level(mx, SYM, bid, price, qty, err, sizeof err) != 0)
        bail_out("level: %s", err);
}

/* A mock with an account and a quiet book: 59999/60001. */
static mock_binance *mock_start(void)
{
    mock_binance_options mo;
    mock_binance *mx;
    char err[1024];

    memset(&mo, 0, sizeof mo);
    if (!(mx = mock_binance_start(&mo, err, sizeof err)))
        bail_out("mock: %s", err);
    if (mock_binance_set_balance(mx, "USDT", "100000", err, sizeof err) != 0 ||
        mock_binance_set_balance(mx, "BTC", "10", err, sizeof err) != 0)
        bail_out("balance: %s", err);
    level(mx, 1, "59999", "1");
    level(mx, 1, "59998", "2");
    level(mx, 0, "60001", "1");
    level(mx, 0, "60002", "2");
    mock_binance_flush(mx);
    return mx;
}

static int64_t mock_total(mock_binance *mx, const char *asset)
{
    int64_t free_amount = 0, locked = 0;
    mock_binance_balance(mx, asset, &free_amount, &locked);
    return free_amount + locked;
}

static void make_config(char *out, size_t cap, const char *mode, const mock_binance *mx)
{
    snprintf(out, cap,
             "return { mode = '%s', cancel_on_stop = true, cash = 100000, balances = { BTC = 1 },\n"
             "  state_dir = '%s/state-%s',\n"
             "  venues = { binance = { connector = 'binance',\n"
             "    rest_url = 'http://127.0.0.1:%d', ws_url = 'ws://127.0.0.1:%d',\n"
             "    api_key = { file = '%s' }, api_secret = { file = '%s' },\n"
             "    symbols = { '" SYM "' } } },\n"
             "  strategies = { { name = 'trader', script = 't/strategies/live_trader.lua',\n"
             "                   venue = 'binance', params = { log = '%s' } } } }\n",
             mode, tmp_dir, mode, mock_binance_rest_port(mx), mock_binance_ws_port(mx), key_path, secret_path,
             trader_log);
}

/* ---- The strategy's log ---- */

static char *read_log(void)
{
    static char buf[1 << 16];
    FILE *f = fopen(trader_log, "r");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* The line of the log starting with prefix (NULL when none). */
static const char *line_of(const char *logs, const char *prefix)
{
    size_t len = strlen(prefix);
    for (const char *p = logs; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, len) == 0)
            return p;
    return NULL;
}

/* The id the strategy logged for its order `what` ("market", "rest"). */
static void order_id(const char *logs, const char *what, char id[64])
{
    char prefix[32];
    const char *l;

    snprintf(prefix, sizeof prefix, "%s ", what);
    id[0] = '\0';
    if ((l = line_of(logs, prefix)) && sscanf(l + strlen(prefix), "%63s", id) != 1)
        id[0] = '\0';
    if (strcmp(id, "nil") == 0)
        id[0] = '\0';
}

/* The fills of order id, in lots of 0.00001. */
static int64_t filled_e5(const char *logs, const char *id)
{
    char prefix[96];
    int64_t sum = 0;
    size_t len;

    snprintf(prefix, sizeof prefix, "fill %s ", id);
    len = strlen(prefix);
    for (const char *p = logs; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, len) == 0)
            sum += (int64_t)(strtod(p + len, NULL) * 1e5 + 0.5);
    return sum;
}

static int has_status(const char *logs, const char *id, const char *status)
{
    char line[128];
    snprintf(line, sizeof line, "order %s %s ", id, status);
    return id[0] && line_of(logs, line) != NULL;
}

/* ---- Running the driver ---- */

/* Stop once the strategy has traded: what is left to test is the stop. */
static void poll_traded(loop_timer *t, void *ud)
{
    (void)t;
    if (line_of(read_log(), "traded"))
        live_request_stop(ud);
}

static void deadline(loop_timer *t, void *ud)
{
    (void)t;
    diag("deadline passed: stopping at once");
    live_request_stop(ud);
    live_request_stop(ud);
}

/* @return live_run's answer (-1 when the driver could not be built). */
/* The market moves: strategies start once the venue is reconciled, and a
 * quiet book would give them no on_book after that. */
static void move_market(loop_timer *t, void *ud)
{
    static int ticks;
    (void)t;
    level(ud, 1, "59990", ++ticks % 2 ? "0.5" : "0.6");
    mock_binance_flush(ud);
}

static int run_once(const char *mode, mock_binance *mx)
{
    live_options lo = {.lib_path = "scripts/lib", .stop_grace_ms = 3000, .no_signals = 1};
    config *cfg = malloc(sizeof *cfg);
    char text[3 * PATH_MAX + 1024], err[1024];
    live *lv = NULL;
    int rc = -1;

    if (!cfg)
        bail_out("out of memory");
    unlink(trader_log);
    make_config(text, sizeof text, mode, mx);
    if (config_load_string("run-binance", text, cfg, err, sizeof err) < 0)
        bail_out("config: %s", err);
    if ((lv = live_new(cfg, &lo, err, sizeof err)) &&
        loop_timer_add(live_loop(lv), POLL_MS * INT64_C(1000000), POLL_MS * INT64_C(1000000),
                       poll_traded, lv, err, sizeof err) &&
        loop_timer_add(live_loop(lv), POLL_MS * INT64_C(1000000), POLL_MS * INT64_C(1000000),
                       move_market, mx, err, sizeof err) &&
        loop_timer_add(live_loop(lv), DEADLINE_MS * INT64_C(1000000), 0, deadline, lv, err,
                       sizeof err))
        rc = live_run(lv, err, sizeof err);
    if (rc < 0)
        diag("%s: %s", mode, err);
    live_free(lv);
    free(cfg);
    return rc;
}

/* ---- What the mock holds ---- */

/* The mock's open orders of SYM, or -1 when it would not say. */
static int mock_open_orders(const mock_binance *mx)
{
    mock_client_answer a;
    json_parser *p = json_parser_new();
    json_value root, item;
    json_iter it;
    int n = -1;

    if (mock_client_get(mx, "/api/v3/openOrders", "symbol=" SYM, &a) != 200) {
        diag("openOrders: HTTP %d %s", a.status, a.body);
    } else if (p && json_parse(p, a.body, strlen(a.body), &root) == 0 &&
               json_array_begin(&root, &it) == 0) {
        for (n = 0; json_array_next(&it, &item) == 1;)
            n++;
    }
    mock_client_free(&a);
    json_parser_free(p);
    return n;
}

/* Does the mock know an order by our client id? @return 1, 0 (it says
 * -2013, no such order) or -1 (any other answer). */
static int mock_knows(const mock_binance *mx, const char *client_id)
{
    char query[256];
    mock_client_answer a;
    int known;

    snprintf(query, sizeof query, "symbol=" SYM "&origClientOrderId=%s", client_id);
    if (mock_client_get(mx, "/api/v3/order", query, &a) == 200)
        known = 1;
    else if (strstr(a.body, "-2013"))
        known = 0;
    else {
        diag("GET order %s: HTTP %d %s", client_id, a.status, a.body);
        known = -1;
    }
    mock_client_free(&a);
    return known;
}

/* ---- Tests ---- */

/* What both modes share: the venue, the book, the two orders, the stop. */
static void check_common(const char *mode, const char *logs, const char *mkt, const char *rest)
{
    const char *book = line_of(logs, "book ");
    double bid = 0, ask = 0;
    char synced[8] = "";
    int fields = book ? sscanf(book, "book %*d %7s %lf %lf", synced, &bid, &ask) : 0;

    ok(strncmp(logs, "start\n", 6) == 0, "%s: on_start came before any other handler", mode);
    ok(line_of(logs, "status binance ready") != NULL, "%s: the venue went ready", mode);
    ok(fields == 3 && !strcmp(synced, "true") && bid > 0 && bid < ask,
       "%s: on_book saw a synced book, bid %.2f < ask %.2f", mode, bid, ask);
    ok(mkt[0] && rest[0], "%s: both orders were taken (market '%s', rest '%s')", mode, mkt, rest);
    ok(has_status(logs, mkt, "new") || has_status(logs, mkt, "filled"),
       "%s: the market buy was accepted", mode);
    ok(has_status(logs, mkt, "filled"), "%s: the market buy filled", mode);
    is_int(filled_e5(logs, mkt), ORDER_QTY_E5, "%s: its fills sum to the order's qty", mode);
    ok(has_status(logs, rest, "new"), "%s: the limit sell above the market rests", mode);
    ok(line_of(logs, "stop books=") != NULL, "%s: on_stop ran", mode);
    ok(has_status(logs, rest, "canceled"), "%s: cancel_on_stop cancelled the resting order",
       mode);
}

static void test_live(void)
{
    mock_binance *mx = mock_start();
    int64_t btc_before = mock_total(mx, "BTC");
    char mkt[64], rest[64], *logs;
    int rc = run_once("live", mx);

    logs = read_log();
    order_id(logs, "market", mkt);
    order_id(logs, "rest", rest);
    is_int(rc, 0, "live: live_run returned 0 after the stop request");
    check_common("live", logs, mkt, rest);
    ok(line_of(logs, "stop books=") && strstr(line_of(logs, "stop books="), rest),
       "live: on_stop saw the resting order still open");
    is_int(mock_total(mx, "BTC") - btc_before, ORDER_QTY_E5 * E5_TO_MEXCH,
           "live: the mock's BTC balance grew by the bought qty");
    ok(mkt[0] && mock_knows(mx, mkt) == 1 && rest[0] && mock_knows(mx, rest) == 1,
       "live: the mock knows both orders by our ids");
    is_int(mock_open_orders(mx), 0, "live: the mock has no open order left");
    if (rc != 0 || !has_status(logs, rest, "canceled"))
        diag("%s", logs);
    mock_binance_stop(mx);
}

static void test_paper(void)
{
    mock_binance *mx = mock_start();
    int64_t btc_before = mock_total(mx, "BTC"), usdt_before = mock_total(mx, "USDT");
    char mkt[64], rest[64], *logs;
    int rc = run_once("paper", mx);

    logs = read_log();
    order_id(logs, "market", mkt);
    order_id(logs, "rest", rest);
    is_int(rc, 0, "paper: live_run returned 0 after the stop request");
    check_common("paper", logs, mkt, rest);
    ok(mock_total(mx, "BTC") == btc_before && mock_total(mx, "USDT") == usdt_before,
       "paper: the mock's balances are untouched");
    ok(mkt[0] && mock_knows(mx, mkt) == 0 && rest[0] && mock_knows(mx, rest) == 0,
       "paper: no order reached the mock");
    is_int(mock_open_orders(mx), 0, "paper: the mock has no open order");
    if (rc != 0)
        diag("%s", logs);
    mock_binance_stop(mx);
}

int main(void)
{
    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    write_file(key_path, "api.key", MOCK_BINANCE_API_KEY);
    write_file(secret_path, "api.secret", MOCK_BINANCE_API_SECRET);
    snprintf(trader_log, sizeof trader_log, "%s/trader.log", tmp_dir);
    log_set_level(getenv("RUN_DEBUG") ? LOG_DEBUG : LOG_WARN);
    plan(29);
    test_live();
    test_paper();
    unlink(key_path);
    unlink(secret_path);
    unlink(trader_log);
    tap_rmtree(tmp_dir);
    return done();
}
