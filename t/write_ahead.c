/*
 * write_ahead.c -- the engine's write-ahead seen from the venue
 * (docs/state.md, "What is written, and when"): whenever the engine hands
 * the venue a request, `lutra state dump` in another process already finds
 * the order's record committed. In one handler:
 *   - an order placed before a cancel leaves first, and the cancel's
 *     record is written after it, in a batch of its own, committed before
 *     the cancel leaves (the order does not wait for the cancel's write);
 *   - a cancel placed before an order is written in the order's batch and
 *     leaves first.
 *
 * The engine in-process with a real store in a mkdtemp() folder (removed
 * at the end), a Lua strategy, and a venue that records each call; the
 * dump is the lutra binary (LUTRA_BIN, else build/lutra).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "instrument.h"
#include "journal.h"
#include "json.h"
#include "state.h"
#include "tap.h"

#define CALLS_MAX 8
#define ORDERS_MAX 8

static char root[64];
static char store_dir[128];
static char err[1024];

/* What the venue was asked, and the store's statuses another process read then. */
typedef struct venue_call {
    char kind;                            /* 'S' submit, 'C' cancel */
    char id[ORDER_ID_MAX + 1];
    int norders;
    char ids[ORDERS_MAX][ORDER_ID_MAX + 1];
    char status[ORDERS_MAX][24];
} venue_call;

static venue_call calls[CALLS_MAX];
static int ncalls;

static const char strategy_src[] =
    "local S = {}\n"
    "local n, first, second = 0\n"
    "local function buy(ctx, book)\n"
    "  return assert(ctx:buy{ symbol = 'BTCUSDT', qty = 0.001, price = book:best_bid() - 100 })\n"
    "end\n"
    "function S.on_book(ctx, book)\n"
    "  n = n + 1\n"
    "  if n == 1 then first = buy(ctx, book)\n"
    "  elseif n == 2 then second = buy(ctx, book); assert(ctx:cancel(first))\n"
    "  elseif n == 3 then assert(ctx:cancel(second)); buy(ctx, book)\n"
    "  end\n"
    "end\n"
    "return S\n";

/* ---- The store, read by another process ---- */

static char *dump_store(void)
{
    static char out[1 << 16];
    char cmd[512];
    size_t n = 0;
    FILE *p;

    snprintf(cmd, sizeof cmd, "'%s' state dump --state '%s' --json 2>/dev/null",
             tap_lutra_bin(), store_dir);
    fflush(NULL);
    if (!(p = popen(cmd, "r")))
        bail_out("popen: %s", strerror(errno));
    while (n + 1 < sizeof out) {
        size_t got = fread(out + n, 1, sizeof out - 1 - n, p);
        if (!got)
            break;
        n += got;
    }
    out[n] = '\0';
    if (pclose(p) != 0)
        bail_out("lutra state dump failed (is %s built?)", tap_lutra_bin());
    return out;
}

static void copy_field(json_value *obj, const char *key, char *out, size_t cap)
{
    json_value f;
    const char *s;
    size_t len;

    out[0] = '\0';
    if (json_field(obj, key, &f) == 0 && json_string(&f, &s, &len) == 0)
        snprintf(out, cap, "%.*s", (int)len, s);
}

/* The orders' ids and statuses, as `lutra state dump --json` finds them now. */
static void read_statuses(venue_call *c)
{
    const char *text = dump_store();
    json_parser *jp = json_parser_new();
    json_value root_v, orders, el;
    json_iter it;

    if (!jp || json_parse_copy(jp, text, strlen(text), &root_v) != 0 ||
        json_field(&root_v, "orders", &orders) != 0 || json_array_begin(&orders, &it) != 0)
        bail_out("the dump is not the JSON expected: %s", text);
    while (c->norders < ORDERS_MAX && json_array_next(&it, &el) == 1) {
        copy_field(&el, "id", c->ids[c->norders], sizeof c->ids[0]);
        copy_field(&el, "status", c->status[c->norders], sizeof c->status[0]);
        c->norders++;
    }
    json_parser_free(jp);
}

/* The status order id had in the store at call c; "" when absent. */
static const char *status_at(const venue_call *c, const char *id)
{
    for (int i = 0; i < c->norders; i++)
        if (!strcmp(c->ids[i], id))
            return c->status[i];
    return "";
}

/* ---- The venue ---- */

static int record_call(char kind, const order *o)
{
    venue_call *c;

    if (ncalls == CALLS_MAX)
        bail_out("more venue calls than the test expects");
    c = &calls[ncalls++];
    c->kind = kind;
    snprintf(c->id, sizeof c->id, "%s", o->id);
    read_statuses(c);
    return 0;
}

static int venue_submit(void *v, const order *o, int64_t now)
{
    (void)v, (void)now;
    return record_call('S', o);
}

static int venue_cancel(void *v, const order *o, int64_t now)
{
    (void)v, (void)now;
    return record_call('C', o);
}

static const venue_ops test_venue = {venue_submit, venue_cancel};

/* ---- The engine ---- */

static int64_t test_clock(void *ud)
{
    struct timespec ts;
    (void)ud;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static lutra_event level(uint32_t inst, int bid, int64_t price, uint8_t flags)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_BOOK_DELTA;
    ev.h.size = lutra_event_size(LUTRA_EV_BOOK_DELTA);
    ev.h.instrument = inst;
    ev.h.flags = (uint8_t)(flags | (bid ? LUTRA_F_BID : 0));
    ev.delta.price = price;
    ev.delta.qty = 100000;
    return ev;
}

static void acknowledge(engine *e, exec_kind kind, const char *id)
{
    exec_report rep;
    memset(&rep, 0, sizeof rep);
    rep.kind = kind;
    snprintf(rep.order_id, sizeof rep.order_id, "%s", id);
    engine_on_exec(e, &rep);
    engine_flush(e);
}

/* One book message; the strategy answers; the batch is flushed. */
static void book_message(engine *e, uint32_t inst, int64_t bid)
{
    lutra_event ev = level(inst, 1, bid, LUTRA_F_LAST);
    engine_on_event(e, &ev);
    engine_flush(e);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        bail_out("cannot write %s", path);
}

static void test_order_before_cancel(void)
{
    char script[160];
    lutra_instrument def;
    instrument_registry *reg = instrument_registry_new();
    state_options so = {.dir = store_dir, .sync = STATE_SYNC_FULL};
    state_store *st;
    journal *j;
    engine_config ec;
    strategy_config sc;
    engine *e;
    int32_t id;
    lutra_event ev;

    snprintf(script, sizeof script, "%s/strategy.lua", root);
    write_file(script, strategy_src);
    if (!reg ||
        instrument_define(&def, "test", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001", NULL, NULL,
                          err, sizeof err) != 0 ||
        (id = instrument_registry_add(reg, &def, err, sizeof err)) < 0)
        bail_out("instrument: %s", err);
    if (!(st = state_open(&so, err, sizeof err)) || !(j = journal_new(st, reg)))
        bail_out("store: %s", err);
    memset(&ec, 0, sizeof ec);
    ec.mode = "live";
    if (!(e = engine_new(&ec, reg, err, sizeof err)))
        bail_out("engine: %s", err);
    engine_set_clock(e, test_clock, NULL);
    engine_set_venue(e, &test_venue, NULL);
    engine_set_journal(e, j, NULL, NULL);
    engine_set_balance(e, "USDT", INT64_C(1000000) * 100000000);
    memset(&sc, 0, sizeof sc);
    sc.name = "quoter";
    sc.path = script;
    if (engine_add_strategy(e, &sc, err, sizeof err) < 0 || engine_start(e) < 0)
        bail_out("strategy: %s", err);
    ev = level((uint32_t)id, 1, 6000000, LUTRA_F_SNAPSHOT);
    engine_apply_market(e, &ev);
    ev = level((uint32_t)id, 0, 6000100, LUTRA_F_SNAPSHOT | LUTRA_F_LAST);
    engine_apply_market(e, &ev);

    book_message(e, (uint32_t)id, 6000000); /* first */
    is_int(ncalls, 1, "the first order is sent");
    acknowledge(e, EXEC_ACCEPTED, calls[0].id);
    book_message(e, (uint32_t)id, 6000001); /* second, then first's cancel */
    is_int(ncalls, 3, "then an order and a cancel");
    if (ncalls < 3)
        bail_out("the strategy did not trade as expected (%s)", engine_failure(e, NULL, NULL)
                                                                  ? "it failed" : "no failure");
    {
        const venue_call *first = &calls[0], *order = &calls[1], *cancel = &calls[2];
        ok(first->kind == 'S' && !strcmp(status_at(first, first->id), "pending_new"),
           "the first order was committed (pending_new) when it left");
        ok(order->kind == 'S' && cancel->kind == 'C' && !strcmp(cancel->id, first->id),
           "the order placed before the cancel leaves first");
        ok(!strcmp(status_at(order, order->id), "pending_new") &&
               !strcmp(status_at(order, first->id), "new"),
           "when it leaves, it is committed and the cancel's record is not written yet "
           "(%s: %s)", first->id, status_at(order, first->id));
        is_str(status_at(cancel, first->id), "pending_cancel",
               "the cancel leaves once its record is committed");
    }
    acknowledge(e, EXEC_ACCEPTED, calls[1].id);
    acknowledge(e, EXEC_CANCELED, calls[0].id);
    book_message(e, (uint32_t)id, 6000002); /* second's cancel, then third */
    is_int(ncalls, 5, "a cancel and an order");
    if (ncalls == 5) {
        const venue_call *cancel = &calls[3], *order = &calls[4];
        ok(cancel->kind == 'C' && !strcmp(cancel->id, calls[1].id) && order->kind == 'S',
           "the cancel placed before the order leaves first");
        ok(!strcmp(status_at(cancel, calls[1].id), "pending_cancel") &&
               !strcmp(status_at(cancel, order->id), "pending_new"),
           "in one batch with the order, committed before either leaves");
    } else {
        skip(2, "not the calls expected");
    }
    engine_free(e);
    journal_free(j);
    state_close(st);
    instrument_registry_free(reg);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/lutra-write-ahead-XXXXXX");
    if (!mkdtemp(root))
        bail_out("mkdtemp: %s", strerror(errno));
    snprintf(store_dir, sizeof store_dir, "%s/state", root);
    plan(9);
    test_order_before_cancel();
    tap_rmtree(root);
    return done();
}
