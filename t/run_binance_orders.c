/*
 * run_binance_orders.c -- the Binance connector's behaviour as a strategy
 * hears it: the live driver (core/live.h) with the real connector
 * (LUTRA_PLUGIN_PATH/binance.so) against the mock Binance exchange
 * (t/mock_binance/), in-process on 127.0.0.1, and the strategy
 * t/strategies/order_flow.lua, which writes every handler call to a file.
 * A timer on the driver's loop reads that file and moves the mock on.
 * One run per scenario, each with a fresh mock:
 *
 *   1. book: a gap in the diff stream, then a drop of every connection
 *      while the market moves: on_status goes syncing, then disconnected,
 *      and back to ready each time; after each the strategy's book equals
 *      the mock's. An order sent while the venue is down is refused by the
 *      engine before it leaves, with its reason.
 *   2. orders: a limit buy larger than the ask it crosses is new, partly
 *      filled (taker), then filled by a market trade through its price
 *      (maker); a resting buy is cancelled. Each status and fill is heard
 *      once, and the mock agrees.
 *   3. reject: the mock answers one order after another with each error
 *      of errors.md the connector maps (t/mock_binance/mock_errors.c), and
 *      with some of the matching engine's messages: each order is
 *      rejected, its reason "binance <code> <NAME>: <message>". An answer
 *      whose outcome is unknown (-1000, -1006, -1007) is not a rejection
 *      and is never resent; the order, which the mock never placed, must
 *      still end (rejected) once the connector has asked.
 *   4. disconnect: while the streams are silent, then dropped, two resting
 *      buys fill at the mock, one whole and one in part; after the
 *      reconnect the strategy hears each fill once (the REST fallback).
 *   5. user_down: the same, with the user data stream alone down (the
 *      market stream stays): the venue goes disconnected ("binance: user
 *      data stream lost: ..."), and once it is back the engine's
 *      reconciliation recovers the fills, one of an order no longer open.
 *   6. burst: 100 orders at once against a weight limit of 80 a second:
 *      the mock never answers 429 or 418, each order lutra's rate gate
 *      (risk.orders_per_second) let through rests at the mock and is heard
 *      new, each other one was refused by the gate with its reason.
 *   7. auth: the venue refuses the key, the signature or the account's
 *      permissions (-2015 on a new order, -1022 on a cancel, an HTTP 401
 *      whose body is not JSON, and the other answers of that class), one
 *      after the other, the connector reloaded between them: each time the
 *      order is rejected with its reason, trading stops (on_status
 *      disconnected, "binance: trading stopped: ..."), the next buy is
 *      refused with that reason, no further order reaches the mock, one
 *      ERROR line says what to do, and the reload brings the venue back.
 *   8. stream: the mock refuses the listenKey twice: the venue is not
 *      ready ("binance: no user data stream yet: ...") though the book is,
 *      a buy is refused with that reason, the log says so once; once the
 *      user stream is up the venue is ready and an order goes through. The
 *      restart's reconciliation, begun at the first syncing, runs again
 *      once the venue is ready (a fill before the user stream opened would
 *      have been missed).
 *
 * Scenarios 1-6 run t/strategies/order_flow.lua; 7 and 8 a strategy that
 * does what the test writes to a command file (cmd_flow below).
 *
 * Every wait has a deadline.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "mock_binance.h"
#include "mock_errors.h"
#include "tap.h"

#define SYM "BTCUSDT"
#define POLL_MS 50
#define PHASE_MS 10000   /* what one phase of a scenario may take */
#define RESOLVE_MS 2000  /* the wait for what may be recovered later */
#define RUN_MS 45000     /* a whole run */
#define LOG_MAX (1 << 18)
#define DEPTH_MAX 64
#define SIDE_TEXT_MAX 4096
#define E8 100000000.0   /* MEXCH_SCALE */

static char tmp_dir[] = "/tmp/lutra-run-binance-orders-XXXXXX";
static char key_path[PATH_MAX], secret_path[PATH_MAX], flow_log[PATH_MAX];
static char cmd_path[PATH_MAX], cmd_script[PATH_MAX], stderr_path[PATH_MAX];
static char logs[LOG_MAX];

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- The strategy's log ---- */

static void read_log(void)
{
    FILE *f = fopen(flow_log, "r");
    size_t n = 0;

    if (f) {
        n = fread(logs, 1, sizeof logs - 1, f);
        fclose(f);
    }
    logs[n] = '\0';
}

static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : NULL;
}

/* The first line at or after offset `from` starting with prefix, or NULL. */
static const char *line_from(size_t from, const char *prefix)
{
    size_t len = strlen(prefix);
    for (const char *p = logs + from; p && *p; p = next_line(p))
        if (strncmp(p, prefix, len) == 0)
            return p;
    return NULL;
}

static size_t offset_of(const char *line)
{
    return (size_t)(line - logs);
}

/* The first line starting with prefix_b that follows one starting with
 * prefix_a, both at or after from; NULL when there is none. */
static const char *line_then(size_t from, const char *prefix_a, const char *prefix_b)
{
    const char *a = line_from(from, prefix_a);
    return a ? line_from(offset_of(a) + 1, prefix_b) : NULL;
}

static int count_lines(const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = logs; p && *p; p = next_line(p))
        n += strncmp(p, prefix, len) == 0;
    return n;
}

/* Does the line at p (up to its end) contain needle? */
static int line_has(const char *p, const char *needle)
{
    const char *end = strchr(p, '\n'), *hit = strstr(p, needle);
    return hit && (!end || hit < end);
}

/* The id of the order the strategy sent as tag ("" when it did not). */
static void tag_id(const char *tag, char id[64])
{
    char prefix[64];
    const char *l;

    snprintf(prefix, sizeof prefix, "sent %s ", tag);
    id[0] = '\0';
    if ((l = line_from(0, prefix)) && sscanf(l + strlen(prefix), "%63s", id) != 1)
        id[0] = '\0';
}

/* How many times the strategy heard order id in status. */
static int heard(const char *id, const char *status)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "order %s %s ", id, status);
    return id[0] ? count_lines(prefix) : 0;
}

/* The line of the first report of order id in status, or NULL. */
static const char *report(const char *id, const char *status)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "order %s %s ", id, status);
    return id[0] ? line_from(0, prefix) : NULL;
}

/* How many fills of order id with this text after the id ("0.00100
 * 59000.00 maker"; "" for any) the strategy heard. */
static int fills(const char *id, const char *what)
{
    char prefix[160];
    snprintf(prefix, sizeof prefix, "fill %s %s", id, what);
    return id[0] ? count_lines(prefix) : 0;
}

/* ---- The mock ---- */

static void level(mock_binance *mx, int bid, const char *price, const char *qty)
{
    char err[256];
    if (mock_binance_set_level(mx, SYM, bid, price, qty, err, sizeof err) != 0)
        bail_out("level: %s", err);
}

static void trade(mock_binance *mx, const char *price, const char *qty)
{
    char err[256];
    if (mock_binance_trade(mx, SYM, price, qty, 1, err, sizeof err) != 0)
        bail_out("trade: %s", err);
}

static void fault(mock_binance *mx, int kind, long value)
{
    mock_fault f = {kind, value, 1};
    char err[256];
    if (mock_binance_fault(mx, &f, err, sizeof err) != 0)
        bail_out("fault %d: %s", kind, err);
}

/* A mock with an account and a quiet book; levels: {bid, price, qty}... */
typedef struct level_spec {
    int bid;
    const char *price, *qty;
} level_spec;

static mock_binance *mock_start(const mock_binance_options *opt, const level_spec *levels,
                                size_t n)
{
    mock_binance *mx;
    char err[1024];

    if (!(mx = mock_binance_start(opt, err, sizeof err)))
        bail_out("mock: %s", err);
    if (mock_binance_set_balance(mx, "USDT", "100000", err, sizeof err) != 0 ||
        mock_binance_set_balance(mx, "BTC", "10", err, sizeof err) != 0)
        bail_out("balance: %s", err);
    for (size_t i = 0; i < n; i++)
        level(mx, levels[i].bid, levels[i].price, levels[i].qty);
    mock_binance_flush(mx);
    return mx;
}

/* The status of our order by client id at the mock, -1 when unknown. */
static int mock_status(mock_binance *mx, const char *id, int64_t *filled)
{
    mexch_order o;
    if (!id[0] || mock_binance_order(mx, SYM, id, &o) != 0)
        return -1;
    if (filled)
        *filled = o.filled;
    return o.status;
}

/* A side of the mock's published book as the strategy writes its own. */
static void mock_side(mock_binance *mx, int bid, char *out, size_t cap)
{
    int64_t prices[DEPTH_MAX], qtys[DEPTH_MAX];
    size_t n = mock_binance_depth(mx, SYM, bid, prices, qtys, DEPTH_MAX), used = 0;

    snprintf(out, cap, "-");
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%.2f:%.5f", i ? "," : "",
                                 (double)prices[i] / E8, (double)qtys[i] / E8);
}

/* Is the strategy's last book synced and equal to the mock's? */
static int book_matches(mock_binance *mx)
{
    static char synced[8], bids[SIDE_TEXT_MAX], asks[SIDE_TEXT_MAX], want[SIDE_TEXT_MAX];
    const char *last = NULL;

    for (const char *p = line_from(0, "book "); p; p = line_from(offset_of(p) + 1, "book "))
        last = p;
    if (!last || sscanf(last, "book %7s %4095s %4095s", synced, bids, asks) != 3 ||
        strcmp(synced, "true") != 0)
        return 0;
    mock_side(mx, 1, want, sizeof want);
    if (strcmp(bids, want) != 0)
        return 0;
    mock_side(mx, 0, want, sizeof want);
    return strcmp(asks, want) == 0;
}

/* ---- A run: the driver, the mock, and a step on the loop ---- */

typedef struct run run;

struct run {
    const char *scenario;
    const char *script;     /* NULL: t/strategies/order_flow.lua */
    live *lv;
    mock_binance *mx;
    void (*step)(run *r);
    int phase;
    size_t mark;            /* the log's length when the phase began */
    int64_t phase_end;      /* mono ms */
    int64_t stop_at;        /* mono ms; 0: not yet */
    int stop_requested;     /* a second request would stop at once */
    int late;               /* the phase that missed its deadline, + 1 */
};

static void next_phase(run *r, int64_t ms)
{
    r->phase++;
    r->mark = strlen(logs);
    r->phase_end = mono_ms() + ms;
}

/* Stop the run settle_ms from now (time for a repeat to show up). */
static void finish(run *r, int64_t settle_ms)
{
    if (!r->stop_at)
        r->stop_at = mono_ms() + settle_ms;
}

/* Has the phase run out of time? Then the run ends, saying so. */
static void phase_over(run *r)
{
    if (mono_ms() < r->phase_end)
        return;
    if (!r->late) {
        r->late = r->phase + 1;
        diag("%s: phase %d ran out of time", r->scenario, r->phase);
    }
    finish(r, 0);
}

static void on_poll(loop_timer *t, void *ud)
{
    run *r = ud;
    (void)t;

    read_log();
    if (r->stop_at) {
        if (mono_ms() >= r->stop_at && !r->stop_requested) {
            r->stop_requested = 1;
            live_request_stop(r->lv);
        }
        return;
    }
    r->step(r);
}

static void on_deadline(loop_timer *t, void *ud)
{
    run *r = ud;
    (void)t;
    diag("%s: the run's deadline passed: stopping at once", r->scenario);
    live_request_stop(r->lv);
    live_request_stop(r->lv);
}

static void make_config(char *out, size_t cap, const run *r, const char *params,
                        const char *risk, int cancel_on_stop)
{
    snprintf(out, cap,
             "return { mode = 'live', cancel_on_stop = %s, state_dir = '%s/state-%s',\n"
             "  venues = { binance = { connector = 'binance',\n"
             "    rest_url = 'http://127.0.0.1:%d', ws_url = 'ws://127.0.0.1:%d',\n"
             "    api_key = { file = '%s' }, api_secret = { file = '%s' },\n"
             "    symbols = { '" SYM "' } } },\n"
             "  risk = { %s },\n"
             "  strategies = { { name = 'flow', script = '%s',\n"
             "    venue = 'binance', params = { log = '%s', scenario = '%s', %s } } } }\n",
             cancel_on_stop ? "true" : "false", tmp_dir, r->scenario,
             mock_binance_rest_port(r->mx), mock_binance_ws_port(r->mx), key_path, secret_path,
             risk, r->script ? r->script : "t/strategies/order_flow.lua", flow_log, r->scenario,
             params);
}

/* Run the driver until the scenario's step finishes it. @return live_run's
 * answer (-1 when the driver could not be built). */
static int run_scenario(run *r, const char *params, const char *risk, int cancel_on_stop)
{
    live_options lo = {.lib_path = "scripts/lib", .stop_grace_ms = 1000, .no_signals = 1};
    config *cfg = malloc(sizeof *cfg);
    char text[5 * PATH_MAX + 2048], err[1024];
    int rc = -1;

    if (!cfg)
        bail_out("out of memory");
    unlink(flow_log);
    logs[0] = '\0';
    r->phase_end = mono_ms() + PHASE_MS;
    make_config(text, sizeof text, r, params, risk, cancel_on_stop);
    if (config_load_string("run-binance-orders", text, cfg, err, sizeof err) < 0)
        bail_out("config: %s", err);
    if ((r->lv = live_new(cfg, &lo, err, sizeof err)) &&
        loop_timer_add(live_loop(r->lv), POLL_MS * INT64_C(1000000),
                       POLL_MS * INT64_C(1000000), on_poll, r, err, sizeof err) &&
        loop_timer_add(live_loop(r->lv), RUN_MS * INT64_C(1000000), 0, on_deadline, r, err,
                       sizeof err))
        rc = live_run(r->lv, err, sizeof err);
    if (rc < 0)
        diag("%s: %s", r->scenario, err);
    live_free(r->lv);
    r->lv = NULL;
    free(cfg);
    read_log();
    return rc;
}

/* ---- 1. The book through a gap and a drop ---- */

static struct {
    int at_start, after_gap, after_drop, after_drop_moved;
} book_seen;

static void step_book(run *r)
{
    switch (r->phase) {
    case 0: /* the strategy listens: move the market so that it hears a book */
        if (!line_from(0, "status ready"))
            break;
        level(r->mx, 1, "59997", "3");
        mock_binance_flush(r->mx);
        next_phase(r, PHASE_MS);
        return;
    case 1: /* a gap: the next diff skips an update id */
        if (!book_matches(r->mx))
            break;
        book_seen.at_start = 1;
        mock_binance_flush(r->mx);
        fault(r->mx, MOCK_FAULT_GAP, 0);
        level(r->mx, 0, "60003", "1");
        mock_binance_flush(r->mx);
        next_phase(r, PHASE_MS);
        return;
    case 2: /* resynchronised: drop everything while the market moves */
        if (!line_then(r->mark, "status syncing", "status ready") || !book_matches(r->mx))
            break;
        book_seen.after_gap = 1;
        fault(r->mx, MOCK_FAULT_DROP, 0);
        level(r->mx, 1, "59996", "4");
        level(r->mx, 0, "60001", "0.5");
        level(r->mx, 0, "60002", "0");
        mock_binance_flush(r->mx);
        next_phase(r, PHASE_MS);
        return;
    case 3: /* back: the market has not moved since */
        if (!line_then(r->mark, "status disconnected", "status ready"))
            break;
        next_phase(r, RESOLVE_MS);
        return;
    case 4: /* the book must be the mock's now, quiet market or not */
        book_seen.after_drop = book_matches(r->mx);
        if (!book_seen.after_drop && mono_ms() < r->phase_end)
            return;
        level(r->mx, 1, "59995", "5");
        mock_binance_flush(r->mx);
        next_phase(r, PHASE_MS);
        return;
    case 5: /* once the market moves, at the latest */
        if (!book_matches(r->mx))
            break;
        book_seen.after_drop_moved = 1;
        finish(r, 0);
        return;
    }
    phase_over(r);
}

static void test_book(void)
{
    static const level_spec levels[] = {
        {1, "59999", "1"}, {1, "59998", "2"}, {0, "60001", "1"}, {0, "60002", "2"}};
    mock_binance_options mo = {0};
    run r = {.scenario = "book", .step = step_book};
    const char *refused;

    r.mx = mock_start(&mo, levels, sizeof levels / sizeof *levels);
    is_int(run_scenario(&r, "", "", 1), 0, "book: live_run returned 0");
    ok(book_seen.at_start, "book: the strategy's synced book equals the mock's");
    ok(line_then(0, "status syncing", "status ready") && book_seen.after_gap,
       "book: after a gap on_status went syncing, then ready, and the book equals the mock's");
    ok(line_then(0, "status disconnected", "status ready") != NULL,
       "book: after a drop on_status went disconnected, then ready");
    /* Syncing shows between the two only when the user data stream, lost
     * too, is back before the books: the venue is disconnected until it is. */
    ok(book_seen.after_drop,
       "book: ... and once ready the book (moved while down: only a new snapshot has it) "
       "equals the mock's");
    ok(book_seen.after_drop_moved,
       "book: after the next diff the book equals the mock's, the changes made while down "
       "included");
    refused = line_from(0, "refused notready ");
    ok(refused && line_has(refused, "venue not ready: disconnected"),
       "book: an order while disconnected is refused by the engine: %.*s",
       refused ? (int)strcspn(refused + 17, "\n") : 14, refused ? refused + 17 : "none refused");
    is_int(count_lines("sent notready"), 0, "book: ... and never sent");
    if (r.late)
        diag("%s", logs);
    mock_binance_stop(r.mx);
}

/* ---- 2. Placed, partly filled, filled, cancelled ---- */

static void step_orders(run *r)
{
    char id[64];

    switch (r->phase) {
    case 0: /* the buy crossed the ask's 0.01 and rests 0.005: print through it */
        tag_id("partial", id);
        if (!report(id, "partially_filled"))
            break;
        trade(r->mx, "60000", "0.01");
        next_phase(r, PHASE_MS);
        return;
    case 1:
        if (!line_from(r->mark, "done"))
            break;
        finish(r, 300);
        return;
    }
    phase_over(r);
}

static void test_orders(void)
{
    static const level_spec levels[] = {
        {1, "59999", "1"}, {0, "60001", "0.01"}, {0, "60002", "2"}};
    mock_binance_options mo = {0};
    run r = {.scenario = "orders", .step = step_orders};
    char part[64], rest[64];
    int64_t filled = 0;

    r.mx = mock_start(&mo, levels, sizeof levels / sizeof *levels);
    is_int(run_scenario(&r, "", "", 1), 0, "orders: live_run returned 0");
    tag_id("partial", part);
    tag_id("rest", rest);
    ok(part[0] && rest[0], "orders: both orders were sent ('%s', '%s')", part, rest);
    ok(heard(part, "new") == 1 && heard(part, "partially_filled") == 1 &&
           heard(part, "filled") == 1,
       "orders: the crossing buy was heard new, partially_filled, filled, once each");
    ok(fills(part, "0.01000 60001.00 taker") == 1 && fills(part, "0.00500 60001.00 maker") == 1 &&
           fills(part, "") == 2,
       "orders: its two fills heard once each: 0.01 taking the ask, 0.005 made at its price");
    ok(heard(rest, "new") == 1 && heard(rest, "canceled") == 1 && fills(rest, "") == 0,
       "orders: the resting buy was heard new, then canceled, once each, with no fill");
    ok(mock_status(r.mx, part, &filled) == MEXCH_FILLED && filled == 1500000,
       "orders: the mock has the crossing buy filled, 0.015");
    is_int(mock_status(r.mx, rest, NULL), MEXCH_CANCELED, "orders: the mock has the other canceled");
    if (r.late)
        diag("%s", logs);
    mock_binance_stop(r.mx);
}

/* ---- 3. Rejected, for each documented error ---- */

#define PLAN_MAX 64

/* What the mock answers the n-th order with. */
typedef struct reject_plan {
    const merr_doc *doc;
    const char *msg; /* NULL: doc->msg */
} reject_plan;

static reject_plan plan_of[PLAN_MAX];
static size_t nplan, nunknown;

/* Messages of the matching engine and of a filter failure, which the
 * connector reads too (errors.md, "Messages for -1010 ERROR_MSG_RECEIVED,
 * -2010 NEW_ORDER_REJECTED, and -2011 CANCEL_REJECTED", "Filter failures"). */
static const struct {
    int code;
    const char *msg;
} variants[] = {
    {-2010, "Duplicate order sent."},
    {-1013, "Filter failure: LOT_SIZE"},
    {-1013, "Filter failure: NOTIONAL"},
    {-1021, "Timestamp for this request was 1000ms ahead of the server's time."},
};

#define NVARIANTS (sizeof variants / sizeof variants[0])

/* An order answered with d may have executed: -1000, -1006, -1007, and any
 * HTTP 5XX whatever its code (rest-api.md). */
static int outcome_unknown(const merr_doc *d)
{
    return d->outcome_unknown || d->http_status >= 500;
}

/* An answer that stops trading (class auth: docs/connectors.md, "Errors"):
 * the auth scenario's, not the reject scenario's, which goes on trading. */
static int stops_trading(const merr_doc *d)
{
    return d->code == -1002 || d->code == -1022 || d->code == -2014 || d->code == -2015;
}

/* Every documented error whose outcome is known, the variants, then the
 * ones whose outcome is unknown (the strategy waits for each of those). */
static void plan_rejects(void)
{
    nplan = nunknown = 0;
    for (int unknown = 0; unknown <= 1; unknown++) {
        for (size_t i = 0; i < merr_count() && nplan < PLAN_MAX; i++)
            if (outcome_unknown(merr_at(i)) == unknown && !stops_trading(merr_at(i))) {
                plan_of[nplan++] = (reject_plan){merr_at(i), NULL};
                nunknown += (size_t)unknown;
            }
        for (size_t i = 0; !unknown && i < NVARIANTS && nplan < PLAN_MAX; i++)
            plan_of[nplan++] = (reject_plan){merr_find(variants[i].code), variants[i].msg};
    }
}

static const char *plan_msg(const reject_plan *p)
{
    return p->msg ? p->msg : p->doc->msg;
}

/* Has every order whose answer was unknown come to an end? */
static int unknown_resolved(void)
{
    char tag[32], id[64];

    for (size_t i = 0; i < nplan; i++) {
        if (!outcome_unknown(plan_of[i].doc))
            continue;
        snprintf(tag, sizeof tag, "%zu", i + 1);
        tag_id(tag, id);
        if (!report(id, "rejected") && !report(id, "canceled") && !report(id, "new"))
            return 0;
    }
    return 1;
}

static void step_reject(run *r)
{
    switch (r->phase) {
    case 0:
        if (!line_from(0, "done"))
            break;
        next_phase(r, RESOLVE_MS);
        return;
    case 1: /* what was unknown may be settled by a query */
        if (unknown_resolved())
            finish(r, 300);
        else if (mono_ms() >= r->phase_end)
            finish(r, 0);
        return;
    }
    phase_over(r);
}

static void check_reject(const reject_plan *p, size_t i)
{
    char tag[32], id[64], want[256];
    const char *rej;

    snprintf(tag, sizeof tag, "%zu", i + 1);
    tag_id(tag, id);
    rej = report(id, "rejected");
    snprintf(want, sizeof want, "binance %d %s: %s", p->doc->code, p->doc->name, plan_msg(p));
    if (outcome_unknown(p->doc)) {
        ok(id[0] && !(rej && line_has(rej, want)) && heard(id, "new") == 0,
           "reject: %d %s (HTTP %d, outcome unknown) is not taken for a rejection", p->doc->code,
           p->doc->name, p->doc->http_status);
        ok(rej && heard(id, "rejected") == 1,
           "reject: %d: the order the mock never placed ends rejected once asked about",
           p->doc->code);
        return;
    }
    ok(rej && heard(id, "rejected") == 1 && heard(id, "new") == 0 && line_has(rej, want),
       "reject: %d %s, HTTP %d, \"%s\": rejected once with its reason", p->doc->code,
       p->doc->name, p->doc->http_status, plan_msg(p));
    if (rej && !line_has(rej, want))
        diag("    got: %.*s", (int)strcspn(rej, "\n"), rej);
}

static void test_reject(void)
{
    static const level_spec levels[] = {{1, "59999", "1"}, {0, "60001", "1"}};
    mock_binance_options mo = {0};
    mock_binance_stats st;
    run r = {.scenario = "reject", .step = step_reject};
    char params[64], err[256];
    int lot_size = 0, explained = 0;

    r.mx = mock_start(&mo, levels, sizeof levels / sizeof *levels);
    for (size_t i = 0; i < nplan; i++)
        if (mock_binance_reject(r.mx, plan_of[i].doc->code, 1, plan_of[i].msg, err,
                                sizeof err) != 0)
            bail_out("reject: %s", err);
    snprintf(params, sizeof params, "count = %zu, wait_ms = 1500", nplan);
    is_int(run_scenario(&r, params, "", 0), 0, "reject: live_run returned 0");
    for (size_t i = 0; i < nplan; i++)
        check_reject(&plan_of[i], i);
    for (const char *p = line_from(0, "order "); p; p = line_from(offset_of(p) + 1, "order ")) {
        lot_size += line_has(p, "Filter failure: LOT_SIZE");
        explained += line_has(p, "Filter failure: LOT_SIZE (quantity too high");
    }
    ok(lot_size == 1 && explained == 1,
       "reject: a filter failure's reason says what the filter wants");
    mock_binance_get_stats(r.mx, &st);
    is_int(st.new_orders, nplan, "reject: the mock got each order once: nothing was resent");
    if (r.late)
        diag("%s", logs);
    mock_binance_stop(r.mx);
}

/* ---- 4. A fill while disconnected ---- */

static uint64_t user_streams, market_streams;

/* The last phase of scenarios 4 and 5: what comes back after the outage. */
static void await_recovered(run *r)
{
    char full[64], part[64];

    tag_id("full", full);
    tag_id("partial", part);
    if (report(full, "filled") && report(part, "partially_filled"))
        finish(r, 300);
    else if (mono_ms() >= r->phase_end)
        finish(r, 0);
}

/* Their outcome: at the mock, while the strategy could not hear it, one
 * buy filled whole and the other 0.001 of 0.003; afterwards the strategy
 * heard each fill once, and each order's state. */
static void check_recovered(const run *r, const char *outage)
{
    char full[64], part[64];
    int64_t full_filled = 0, part_filled = 0;

    tag_id("full", full);
    tag_id("partial", part);
    ok(mock_status(r->mx, full, &full_filled) == MEXCH_FILLED && full_filled == 100000 &&
           mock_status(r->mx, part, &part_filled) >= MEXCH_PARTIALLY_FILLED &&
           part_filled == 100000,
       "%s: at the mock, while %s, one buy filled whole, the other 0.001 of 0.003",
       r->scenario, outage);
    ok(fills(full, "0.00100 59000.00 maker") == 1 && heard(full, "filled") == 1,
       "%s: afterwards the strategy heard the whole fill once, and filled", r->scenario);
    ok(fills(part, "0.00100 59000.00 maker") == 1 && heard(part, "partially_filled") == 1,
       "%s: ... and the partial fill once, and partially_filled", r->scenario);
}

/* Both buys rest at the mock: the outage can begin. */
static int both_resting(const mock_binance_stats *st)
{
    char full[64], part[64];

    tag_id("full", full);
    tag_id("partial", part);
    if (!report(full, "new") || !report(part, "new"))
        return 0;
    user_streams = st->ws_user_accepted;
    market_streams = st->ws_accepted - st->ws_user_accepted;
    return 1;
}

static void step_disconnect(run *r)
{
    mock_binance_stats st;

    mock_binance_get_stats(r->mx, &st);
    switch (r->phase) {
    case 0: /* both rest: fill them where the streams cannot tell, then drop */
        if (!both_resting(&st))
            break;
        fault(r->mx, MOCK_FAULT_SILENT, 1);
        trade(r->mx, "59000", "0.002");
        fault(r->mx, MOCK_FAULT_DROP, 0);
        fault(r->mx, MOCK_FAULT_CLEAR, 0);
        next_phase(r, PHASE_MS);
        return;
    case 1: /* back: the user stream again, the venue ready */
        if (st.ws_user_accepted <= user_streams ||
            !line_then(r->mark, "status disconnected", "status ready"))
            break;
        next_phase(r, RESOLVE_MS);
        return;
    case 2: /* what the REST fallback recovers */
        await_recovered(r);
        return;
    }
    phase_over(r);
}

static const level_spec resting_levels[] = {{1, "59999", "1"}, {0, "60001", "1"}};

static void test_disconnect(void)
{
    mock_binance_options mo = {0};
    run r = {.scenario = "disconnect", .step = step_disconnect};

    r.mx = mock_start(&mo, resting_levels, sizeof resting_levels / sizeof *resting_levels);
    is_int(run_scenario(&r, "", "", 1), 0, "disconnect: live_run returned 0");
    check_recovered(&r, "the streams were down");
    ok(r.late == 0,
       "disconnect: the user stream reconnected and the venue went disconnected, then ready");
    if (r.late)
        diag("%s", logs);
    mock_binance_stop(r.mx);
}

/* ---- 5. The user data stream alone down ---- */

static void step_user_down(run *r)
{
    mock_binance_stats st;

    mock_binance_get_stats(r->mx, &st);
    switch (r->phase) {
    case 0: /* both rest: the user stream goes, then the trade fills them */
        if (!both_resting(&st))
            break;
        fault(r->mx, MOCK_FAULT_USER_DOWN, 1);
        trade(r->mx, "59000", "0.002");
        next_phase(r, PHASE_MS);
        return;
    case 1: /* the venue heard of it (the reason is checked later): let the stream back */
        if (!line_from(r->mark, "status disconnected") && !line_from(r->mark, "status syncing"))
            break;
        fault(r->mx, MOCK_FAULT_USER_DOWN, 0);
        next_phase(r, PHASE_MS);
        return;
    case 2: /* back: the user stream again, the venue ready */
        if (st.ws_user_accepted <= user_streams || !line_from(r->mark, "status ready"))
            break;
        next_phase(r, RESOLVE_MS);
        return;
    case 3: /* what the reconciliation recovers */
        await_recovered(r);
        return;
    }
    phase_over(r);
}

static void test_user_down(void)
{
    mock_binance_options mo = {0};
    mock_binance_stats st;
    run r = {.scenario = "user_down", .step = step_user_down};

    r.mx = mock_start(&mo, resting_levels, sizeof resting_levels / sizeof *resting_levels);
    is_int(run_scenario(&r, "", "", 1), 0, "user_down: live_run returned 0");
    check_recovered(&r, "the user stream alone was down");
    mock_binance_get_stats(r.mx, &st);
    ok(st.ws_accepted - st.ws_user_accepted == market_streams,
       "user_down: the market stream stayed up (no new connection)");
    ok(r.late == 0 && line_then(0, "status disconnected binance: user data stream lost: ",
                                "status ready"),
       "user_down: on_status heard \"disconnected binance: user data stream lost: ...\", then "
       "ready once the stream was back");
    if (r.late)
        diag("%s", logs);
    mock_binance_stop(r.mx);
}

/* ---- 6. A burst under the rate limits ---- */

#define BURST 100
#define BURST_RATE 90        /* risk.orders_per_second: its bucket holds 90 */
#define BURST_WEIGHT 80      /* the mock's REQUEST_WEIGHT a second */

static int burst_settled(void)
{
    char tag[32], id[64];
    for (int i = 1; i <= BURST; i++) {
        snprintf(tag, sizeof tag, "%d", i);
        tag_id(tag, id);
        if (id[0] && !report(id, "new") && !report(id, "rejected"))
            return 0;
    }
    return 1;
}

static void step_burst(run *r)
{
    switch (r->phase) {
    case 0:
        if (!line_from(0, "done"))
            break;
        next_phase(r, PHASE_MS);
        return;
    case 1:
        if (!burst_settled())
            break;
        finish(r, 300);
        return;
    }
    phase_over(r);
}

static void test_burst(void)
{
    static const level_spec levels[] = {{1, "59999", "1"}, {0, "60001", "1"}};
    mock_binance_options mo = {.weight_limit = BURST_WEIGHT, .weight_interval_s = 1};
    mock_binance_stats st;
    run r = {.scenario = "burst", .step = step_burst};
    char params[64], risk[64], tag[32], id[64];
    int sent = 0, refused = 0, refused_by_rate = 0, new_once = 0, resting = 0;
    int64_t first_second = INT64_MAX, last_second = 0;

    r.mx = mock_start(&mo, levels, sizeof levels / sizeof *levels);
    snprintf(params, sizeof params, "count = %d", BURST);
    snprintf(risk, sizeof risk, "orders_per_second = %d", BURST_RATE);
    is_int(run_scenario(&r, params, risk, 0), 0, "burst: live_run returned 0");
    for (int i = 1; i <= BURST; i++) {
        const char *no;
        mexch_order o;
        snprintf(tag, sizeof tag, "refused %d ", i);
        if ((no = line_from(0, tag))) {
            refused++;
            refused_by_rate += line_has(no, "risk: rate");
        }
        snprintf(tag, sizeof tag, "%d", i);
        tag_id(tag, id);
        if (!id[0])
            continue;
        sent++;
        new_once += heard(id, "new") == 1 && heard(id, "rejected") == 0;
        if (mock_binance_order(r.mx, SYM, id, &o) == 0 && o.status == MEXCH_NEW) {
            resting++;
            first_second = o.time_ms / 1000 < first_second ? o.time_ms / 1000 : first_second;
            last_second = o.time_ms / 1000 > last_second ? o.time_ms / 1000 : last_second;
        }
    }
    is_int(sent + refused, BURST, "burst: each of the %d orders was sent or refused at once",
           BURST);
    ok(sent >= BURST_RATE && refused >= 1 && refused_by_rate == refused,
       "burst: the rate gate let %d through and refused %d, each with its reason (risk: rate)",
       sent, refused);
    is_int(new_once, sent, "burst: every order sent was heard new, once, none rejected");
    is_int(resting, sent, "burst: every order sent rests at the mock: none lost");
    mock_binance_get_stats(r.mx, &st);
    is_int(st.rate_limited, 0, "burst: the mock never answered 429 or 418");
    ok(last_second > first_second,
       "burst: the connector spread the orders over more than one weight window of the mock");
    if (r.late)
        diag("%s", logs);
    mock_binance_stop(r.mx);
}

/* ---- A strategy the test drives (scenarios 6 and 7) ---- */

/* It does what the test appends to params.cmd, a line each ("buy TAG",
 * "cancel TAG"), and writes down what it hears, as order_flow.lua does:
 *   start | book synced | status <state> <reason>
 *   sent <tag> <id> | refused <tag> <reason> | cancel <tag> sent|<reason>
 *   order <id> <status> <filled> <reason>
 * Both it and the test's poll run on the driver's loop: a command is never
 * read half-written. */
static const char cmd_flow_lua[] =
    "local S = { params = { log = '', scenario = '', cmd = '', symbol = 'BTCUSDT',\n"
    "                       qty = 0.001, price = 59000 } }\n"
    "local out, seen, ids, synced = nil, 0, {}, false\n"
    "local function say(fmt, ...)\n"
    "  out = out or assert(io.open(S.params.log, 'a'))\n"
    "  out:write(string.format(fmt, ...), '\\n')\n"
    "  out:flush()\n"
    "end\n"
    "local function act(ctx, verb, tag)\n"
    "  if verb == 'buy' then\n"
    "    local id, why = ctx:buy{ symbol = ctx.params.symbol, qty = ctx.params.qty,\n"
    "                             price = ctx.params.price, type = 'limit' }\n"
    "    if id then ids[tag] = id; say('sent %s %s', tag, id)\n"
    "    else say('refused %s %s', tag, tostring(why)) end\n"
    "  elseif verb == 'cancel' then\n"
    "    local done, why = ctx:cancel(ids[tag] or '-')\n"
    "    say('cancel %s %s', tag, done and 'sent' or tostring(why))\n"
    "  end\n"
    "end\n"
    "local function poll(ctx)\n"
    "  local book = ctx:book(ctx.params.symbol)\n"
    "  if not synced and book and book:synced() and book:best_ask() then\n"
    "    synced = true\n"
    "    say('book synced')\n"
    "  end\n"
    "  local f = io.open(ctx.params.cmd, 'r')\n"
    "  if not f then return end\n"
    "  local n = 0\n"
    "  for line in f:lines() do\n"
    "    n = n + 1\n"
    "    if n > seen then\n"
    "      seen = n\n"
    "      act(ctx, line:match('^(%a+) (%S+)$'))\n"
    "    end\n"
    "  end\n"
    "  f:close()\n"
    "end\n"
    "function S.on_start(ctx) say('start'); ctx:every(20, poll) end\n"
    "function S.on_status(ctx, s) say('status %s %s', s.state, tostring(s.reason or '')) end\n"
    "function S.on_order(ctx, o)\n"
    "  say('order %s %s %.5f %s', o.id, o.status, o.filled, tostring(o.reason or ''))\n"
    "end\n"
    "function S.on_stop(ctx) if out then out:close() end; out = nil end\n"
    "return S\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        bail_out("cannot write %s", path);
}

/* Tell the strategy to act: verb "buy" or "cancel", on the order tag. */
static void command(const char *verb, const char *tag)
{
    FILE *f = fopen(cmd_path, "a");
    if (!f || fprintf(f, "%s %s\n", verb, tag) < 0 || fclose(f) != 0)
        bail_out("cannot write %s", cmd_path);
}

/* Is there a line at or after from starting with "sent TAG " or "refused TAG "? */
static const char *answered(size_t from, const char *tag)
{
    char sent[64], refused[64];
    const char *a, *b;

    snprintf(sent, sizeof sent, "sent %s ", tag);
    snprintf(refused, sizeof refused, "refused %s ", tag);
    a = line_from(from, sent);
    b = line_from(from, refused);
    return a ? a : b;
}

/* The driver's log lines (stderr) of a run, kept in a file. */
static int saved_stderr = -1;

static void capture_stderr(void)
{
    FILE *f = fopen(stderr_path, "w");

    if (!f)
        bail_out("cannot write %s", stderr_path);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fileno(f), 2);
    fclose(f);
    log_set_level(getenv("RUN_DEBUG") ? LOG_DEBUG : LOG_INFO);
}

/* @return what was logged (free it). */
static char *release_stderr(void)
{
    FILE *f;
    char *buf = calloc(1, LOG_MAX);

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    log_set_level(getenv("RUN_DEBUG") ? LOG_DEBUG : LOG_ERROR);
    if (!buf)
        bail_out("out of memory");
    if ((f = fopen(stderr_path, "r"))) {
        buf[fread(buf, 1, LOG_MAX - 1, f)] = '\0';
        fclose(f);
    }
    if (getenv("RUN_DEBUG"))
        fputs(buf, stderr);
    return buf;
}

/* Lines of text holding every one of the needles (NULL-terminated). */
static int count_holding(const char *text, const char *const *needles)
{
    int n = 0;
    for (const char *p = text; p && *p; p = next_line(p)) {
        int all = 1;
        for (size_t i = 0; needles[i] && all; i++)
            all = line_has(p, needles[i]);
        n += all;
    }
    return n;
}

static int holds_secret(const char *text)
{
    return strstr(text, MOCK_BINANCE_API_KEY) || strstr(text, MOCK_BINANCE_API_SECRET);
}

/* ---- 7. The venue refuses the key: trading stops ---- */

/* One refusal of the auth class, answered to an order or to a cancel. */
typedef struct auth_case {
    const char *what;
    int on;            /* MOCK_REJECT_ORDER or MOCK_REJECT_CANCEL */
    long code;         /* 0: an HTTP status with a page that is not JSON */
    const char *msg;   /* NULL: errors.md's */
    int http_status;   /* with code 0 */
} auth_case;

static const auth_case auth_cases[] = {
    {"-2015 on a new order", MOCK_REJECT_ORDER, -2015, NULL, 0},
    {"-1022 on a cancel", MOCK_REJECT_CANCEL, -1022, NULL, 0},
    {"HTTP 401 with an HTML page on a new order", MOCK_REJECT_ORDER, 0, NULL, 401},
    {"-1002 on a new order", MOCK_REJECT_ORDER, -1002, NULL, 0},
    {"-2014 on a new order", MOCK_REJECT_ORDER, -2014, NULL, 0},
    {"-2010 \"This account may not place or cancel orders.\" on a new order", MOCK_REJECT_ORDER,
     -2010, "This account may not place or cancel orders.", 0},
};

#define NAUTH (sizeof auth_cases / sizeof auth_cases[0])

enum { AUTH_READY, AUTH_RESTING, AUTH_ANSWERED, AUTH_AFTER };

static struct auth_seen {
    int reached;                /* the case began: the venue was ready */
    uint64_t orders0, cancels0; /* the mock's counts then */
    uint64_t orders, cancels;   /* ... and once the next buy was answered */
    int resting;                /* cancel case: the order still open at the mock */
} auth_seen[NAUTH];

/* What the connector says the venue answered ("binance -2015 ...: ..."). */
static void auth_reason(const auth_case *c, char *out, size_t cap)
{
    const merr_doc *d = c->code ? merr_find((int)c->code) : NULL;

    if (!c->code)
        snprintf(out, cap, "binance HTTP %d", c->http_status);
    else
        snprintf(out, cap, "binance %ld %s: %s", c->code, d ? d->name : "?",
                 c->msg ? c->msg : d ? d->msg : "?");
}

static void auth_reject(run *r, const auth_case *c)
{
    mock_reject rq = {.on = c->on, .code = c->code, .msg = c->msg,
                      .http_status = c->http_status, .count = 1};
    char err[256];

    if (mock_binance_reject_as(r->mx, &rq, err, sizeof err) != 0)
        bail_out("reject: %s", err);
}

static size_t auth_case_at;
static int auth_step;

static void step_auth(run *r)
{
    const auth_case *c = &auth_cases[auth_case_at];
    struct auth_seen *seen = &auth_seen[auth_case_at];
    mock_binance_stats st;
    char a[16], b[16], id[64], err[1024];

    snprintf(a, sizeof a, "a%zu", auth_case_at + 1);
    snprintf(b, sizeof b, "b%zu", auth_case_at + 1);
    mock_binance_get_stats(r->mx, &st);
    switch (auth_step) {
    case AUTH_READY: /* ready (again): the venue is asked for its answer */
        if (!line_from(r->mark, "status ready every book"))
            break;
        seen->reached = 1;
        seen->orders0 = st.new_orders;
        seen->cancels0 = st.cancels;
        if (c->on == MOCK_REJECT_ORDER)
            auth_reject(r, c);
        command("buy", a);
        auth_step = c->on == MOCK_REJECT_ORDER ? AUTH_ANSWERED : AUTH_RESTING;
        next_phase(r, PHASE_MS);
        return;
    case AUTH_RESTING: /* the buy rests: the cancel is what gets the answer */
        tag_id(a, id);
        if (!report(id, "new"))
            break;
        auth_reject(r, c);
        command("cancel", a);
        auth_step = AUTH_ANSWERED;
        next_phase(r, PHASE_MS);
        return;
    case AUTH_ANSWERED:
        if (!line_from(r->mark, "status disconnected binance: trading stopped"))
            break;
        command("buy", b);
        auth_step = AUTH_AFTER;
        next_phase(r, PHASE_MS);
        return;
    case AUTH_AFTER:
        if (!answered(r->mark, b))
            break;
        seen->orders = st.new_orders;
        seen->cancels = st.cancels;
        tag_id(a, id);
        seen->resting = mock_status(r->mx, id, NULL) == MEXCH_NEW;
        if (++auth_case_at == NAUTH) {
            finish(r, 300);
            return;
        }
        /* The operator fixed the key: a new connector trades again. */
        if (live_reload_plugin(r->lv, "binance", err, sizeof err) < 0) {
            diag("auth: reload-plugin: %s", err);
            finish(r, 0);
            return;
        }
        auth_step = AUTH_READY;
        next_phase(r, PHASE_MS);
        return;
    }
    phase_over(r);
}

static void check_auth_case(size_t i)
{
    const auth_case *c = &auth_cases[i];
    const struct auth_seen *seen = &auth_seen[i];
    char a[16], b[16], id[64], reason[256], stopped[320], refused[400], prefix[64];
    char back[400];
    const char *rej, *no;

    snprintf(a, sizeof a, "a%zu", i + 1);
    snprintf(b, sizeof b, "b%zu", i + 1);
    auth_reason(c, reason, sizeof reason);
    snprintf(stopped, sizeof stopped, "status disconnected binance: trading stopped: %s",
             reason + strlen("binance "));
    snprintf(refused, sizeof refused, "venue not ready: disconnected (binance: trading stopped: "
             "%s)", reason + strlen("binance "));
    tag_id(a, id);
    if (c->on == MOCK_REJECT_ORDER) {
        rej = report(id, "rejected");
        ok(rej && heard(id, "rejected") == 1 && heard(id, "new") == 0 && line_has(rej, reason),
           "auth: %s: the order is rejected with \"%s\"", c->what, reason);
    } else {
        /* The strategy hears the order back to new, with the refusal. */
        snprintf(back, sizeof back, "order %s new 0.00000 cancel refused: %s", id, reason);
        ok(id[0] && heard(id, "new") == 2 && line_from(0, back) && seen->resting &&
               seen->cancels == seen->cancels0 + 1,
           "auth: %s: the venue refused the cancel; the order stays open at the mock, and "
           "its strategy hears it new again: \"%s\"", c->what, back);
    }
    ok(line_from(0, stopped) != NULL, "auth: %s: on_status says disconnected, \"%s\"", c->what,
       stopped + strlen("status disconnected "));
    snprintf(prefix, sizeof prefix, "refused %s ", b);
    no = line_from(0, prefix);
    ok(no && line_has(no, refused) && seen->orders == seen->orders0 + 1 &&
           seen->cancels == seen->cancels0 + (c->on == MOCK_REJECT_CANCEL),
       "auth: %s: the next buy is refused with \"%s\"; no further order reached the mock",
       c->what, refused);
    if (no && !line_has(no, refused))
        diag("    got: %.*s", (int)strcspn(no, "\n"), no);
}

static void test_auth(void)
{
    static const level_spec levels[] = {{1, "59999", "1"}, {0, "60001", "1"}};
    mock_binance_options mo = {0};
    run r = {.scenario = "auth", .step = step_auth, .script = cmd_script};
    char params[PATH_MAX + 16], *log;
    const char *stop_line[] = {"level=error", "trading stopped", "reload-plugin binance", NULL};
    int stops, back = 1, named = 1;

    r.mx = mock_start(&mo, levels, sizeof levels / sizeof *levels);
    unlink(cmd_path);
    snprintf(params, sizeof params, "cmd = '%s'", cmd_path);
    capture_stderr();
    int rc = run_scenario(&r, params, "", 0);
    log = release_stderr();
    is_int(rc, 0, "auth: live_run returned 0");
    for (size_t i = 0; i < NAUTH; i++)
        check_auth_case(i);
    for (size_t i = 1; i < NAUTH; i++)
        back &= auth_seen[i].reached;
    ok(back, "auth: after each connector reload the venue was ready again, and the next order "
       "reached the mock");
    stops = count_holding(log, stop_line);
    for (size_t i = 0; i < NAUTH; i++) {
        char reason[256];
        const char *line[] = {"level=error", "trading stopped", NULL, NULL};
        auth_reason(&auth_cases[i], reason, sizeof reason);
        line[2] = reason;
        named &= count_holding(log, line) == 1;
    }
    ok(stops == (int)NAUTH && named,
       "auth: one ERROR line each time, naming the error and what to do (%d lines)", stops);
    ok(!holds_secret(log) && !holds_secret(logs), "auth: neither the key nor the secret was "
       "logged or told to the strategy");
    if (r.late)
        diag("%s", logs);
    free(log);
    mock_binance_stop(r.mx);
}

/* ---- 8. No user data stream yet ---- */

#define STREAM_REFUSALS 2 /* listenKey requests refused: the set-up retries every 5 s */

static uint64_t stream_listen_keys, stream_orders;

static void step_stream(run *r)
{
    mock_binance_stats st;
    char id[64];

    switch (r->phase) {
    case 0: /* the book is synced: try to buy */
        if (!line_from(0, "book synced"))
            break;
        command("buy", "early");
        next_phase(r, PHASE_MS);
        return;
    case 1:
        if (!answered(0, "early"))
            break;
        next_phase(r, STREAM_REFUSALS * 5000 + PHASE_MS);
        return;
    case 2: /* the user stream is up at last */
        if (!line_from(r->mark, "status ready every book"))
            break;
        command("buy", "late");
        next_phase(r, PHASE_MS);
        return;
    case 3: /* heard new; the reconciliation's second list asked for */
        tag_id("late", id);
        mock_binance_get_stats(r->mx, &st);
        if (!report(id, "new") || st.open_orders < 2)
            break;
        stream_listen_keys = st.listen_keys;
        stream_orders = st.new_orders;
        finish(r, 300);
        return;
    }
    phase_over(r);
}

static void test_stream(void)
{
    static const level_spec levels[] = {{1, "59999", "1"}, {0, "60001", "1"}};
    static const char *const warn_line[] = {"level=warn", "no user data stream", "listenKey",
                                            "-2015", NULL};
    mock_binance_options mo = {0};
    mock_reject refuse = {.on = MOCK_REJECT_LISTEN_KEY, .code = -2015, .count = STREAM_REFUSALS};
    run r = {.scenario = "stream", .step = step_stream, .script = cmd_script};
    char params[PATH_MAX + 16], err[256], id[64], *log;
    const char *why = "binance: no user data stream yet: listenKey: -2015 REJECTED_MBX_KEY: "
                      "Invalid API-key, IP, or permissions for action.";
    const char *early, *synced, *ready;
    char refused[256];

    r.mx = mock_start(&mo, levels, sizeof levels / sizeof *levels);
    if (mock_binance_reject_as(r.mx, &refuse, err, sizeof err) != 0)
        bail_out("reject: %s", err);
    unlink(cmd_path);
    snprintf(params, sizeof params, "cmd = '%s'", cmd_path);
    capture_stderr();
    int rc = run_scenario(&r, params, "", 0);
    log = release_stderr();
    is_int(rc, 0, "stream: live_run returned 0");
    ok(line_from(0, "status syncing binance: no user data stream yet: listenKey: -2015") != NULL,
       "stream: on_status says syncing, \"%s\"", why);
    snprintf(refused, sizeof refused, "venue not ready: syncing (%s)", why);
    early = line_from(0, "refused early ");
    synced = line_from(0, "book synced");
    ok(early && synced && synced < early && line_has(early, refused),
       "stream: with the book synced, a buy is refused with \"%s\"", refused);
    if (early && !line_has(early, refused))
        diag("    got: %.*s", (int)strcspn(early, "\n"), early);
    ready = early ? line_from(offset_of(early), "status ready every book") : NULL;
    tag_id("late", id);
    ok(ready && report(id, "new") && stream_orders == 1 &&
           stream_listen_keys >= STREAM_REFUSALS + 1,
       "stream: once the listenKey came (after %d refusals) the venue went ready, and the next "
       "buy reached the mock and was heard new", STREAM_REFUSALS);
    mock_binance_stats st;
    mock_binance_get_stats(r.mx, &st);
    is_int((int)st.open_orders, 2,
           "stream: open orders were asked for at the first syncing (the restart's "
           "reconciliation) and once more when ready: fills between the first list and the "
           "user stream's opening would have been missed");
    is_int(count_holding(log, warn_line), 1,
           "stream: the refused listenKey is logged once, not at each retry");
    ok(!holds_secret(log), "stream: neither the key nor the secret was logged");
    if (r.late)
        diag("%s", logs);
    free(log);
    mock_binance_stop(r.mx);
}

int main(void)
{
    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    snprintf(key_path, sizeof key_path, "%s/api.key", tmp_dir);
    snprintf(secret_path, sizeof secret_path, "%s/api.secret", tmp_dir);
    snprintf(flow_log, sizeof flow_log, "%s/flow.log", tmp_dir);
    snprintf(cmd_path, sizeof cmd_path, "%s/flow.cmd", tmp_dir);
    snprintf(cmd_script, sizeof cmd_script, "%s/cmd_flow.lua", tmp_dir);
    snprintf(stderr_path, sizeof stderr_path, "%s/stderr.log", tmp_dir);
    tap_write_secret(key_path, MOCK_BINANCE_API_KEY);
    tap_write_secret(secret_path, MOCK_BINANCE_API_SECRET);
    write_file(cmd_script, cmd_flow_lua);
    log_set_level(getenv("RUN_DEBUG") ? LOG_DEBUG : LOG_ERROR);
    plan_rejects();
    plan(8 + 7 + 3 + (int)(nplan + nunknown) + 5 + 6 + 7 + 1 + 3 * (int)NAUTH + 3 + 7);
    test_book();
    test_orders();
    test_reject();
    test_disconnect();
    test_user_down();
    test_burst();
    test_auth();
    test_stream();
    tap_rmtree(tmp_dir);
    return done();
}
