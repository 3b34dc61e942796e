/*
 * state.c -- the durable state store (core/state.h) and `lutra state`.
 *
 * Every store lives in a folder under one mkdtemp() folder, removed at the
 * end. Broken stores are made with raw LMDB calls, the way a bug or another
 * program would make them. The command-line half runs the lutra binary
 * ($LUTRA_BIN, else ../lutra beside this test) on stores written here,
 * while this process still holds them open with a batch in flight.
 */
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixed.h"
#include "json.h"
#include "money.h"
#include "state.h"
#include "lmdb_raw.h"
#include "tap.h"

static char root[64];
static char err[1024];

/* ---- Helpers ---- */

/* A path under the test folder; valid for the next 63 calls, which is
 * more than any one test makes. */
static const char *path_in(const char *name)
{
    static char bufs[64][PATH_MAX];
    static int next;
    char *p = bufs[next++ % 64];
    snprintf(p, PATH_MAX, "%s/%s", root, name);
    return p;
}

static int64_t dec(const char *s, int scale)
{
    int64_t v;
    if (fixed_parse(s, strlen(s), scale, &v) != FIXED_OK)
        bail_out("bad decimal '%s' at scale %d", s, scale);
    return v;
}

/* Set while a test runs again with the writer's map writable. */
static int writemap;

static state_store *open_at(const char *dir, size_t map_size, size_t map_max, int read_only)
{
    state_options opt = {.dir = dir, .sync = STATE_SYNC_NONE, .map_size = map_size,
                         .map_max = map_max, .read_only = read_only, .writemap = writemap};
    return state_open(&opt, err, sizeof err);
}

static state_store *open_rw(const char *dir)
{
    state_store *st = open_at(dir, 0, 0, 0);
    if (!st)
        bail_out("cannot open %s: %s", dir, err);
    return st;
}

static void commit(state_store *st)
{
    if (state_commit(st, err, sizeof err) != 0)
        bail_out("commit: %s", err);
}

/* A BTCUSDT order at price scale 2, size scale 5, every field set. */
static state_order make_order(const char *id, order_status status)
{
    state_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "%s", id);
    snprintf(o.venue, sizeof o.venue, "binance");
    snprintf(o.symbol, sizeof o.symbol, "BTCUSDT");
    snprintf(o.strategy, sizeof o.strategy, "mm");
    snprintf(o.tag, sizeof o.tag, "quote-%s", id);
    o.side = ORDER_BUY;
    o.type = ORDER_LIMIT;
    o.tif = ORDER_POST_ONLY;
    o.status = (uint8_t)status;
    o.price_scale = 2;
    o.size_scale = 5;
    o.price = dec("61837.63", 2);
    o.stop_price = -7; /* negative numbers round-trip too */
    o.qty = dec("0.5", 5);
    o.locked = dec("30918.815", MONEY_SCALE);
    o.ts_created = INT64_C(1723161600123456789);
    o.ts_updated = o.ts_created + 1000;
    snprintf(o.fee_asset, sizeof o.fee_asset, "USDT");
    snprintf(o.venue_order_id, sizeof o.venue_order_id, "v-%s", id);
    snprintf(o.reason, sizeof o.reason, "%s", status == ORDER_REJECTED ? "price band" : "");
    return o;
}

static state_fill make_fill(const char *order_id, const char *trade_id, order_side side,
                            const char *price, const char *qty)
{
    state_fill f;
    memset(&f, 0, sizeof f);
    snprintf(f.order_id, sizeof f.order_id, "%s", order_id);
    snprintf(f.trade_id, sizeof f.trade_id, "%s", trade_id);
    snprintf(f.venue, sizeof f.venue, "binance");
    snprintf(f.symbol, sizeof f.symbol, "BTCUSDT");
    f.side = (uint8_t)side;
    f.liquidity = ORDER_TAKER;
    f.price_scale = 2;
    f.size_scale = 5;
    f.price = dec(price, 2);
    f.qty = dec(qty, 5);
    f.fee = dec("0.0123", MONEY_SCALE);
    snprintf(f.fee_asset, sizeof f.fee_asset, "BNB");
    f.ts = INT64_C(1723161600200000000);
    return f;
}

static state_position make_position(const char *qty, const char *seed)
{
    state_position p;
    memset(&p, 0, sizeof p);
    snprintf(p.venue, sizeof p.venue, "binance");
    snprintf(p.symbol, sizeof p.symbol, "BTCUSDT");
    p.price_scale = 2;
    p.size_scale = 5;
    p.qty = dec(qty, 5);
    p.seed_qty = dec(seed, 5);
    p.cost = money_notional(dec("61837.63", 2), 2, p.qty, 5);
    p.realized_pnl = dec("-12.5", MONEY_SCALE);
    p.fees = dec("0.0246", MONEY_SCALE);
    return p;
}

static state_balance make_balance(const char *asset, const char *free_, const char *locked)
{
    state_balance b;
    memset(&b, 0, sizeof b);
    snprintf(b.venue, sizeof b.venue, "binance");
    snprintf(b.asset, sizeof b.asset, "%s", asset);
    b.free = dec(free_, MONEY_SCALE);
    b.locked = dec(locked, MONEY_SCALE);
    return b;
}

/* ctx.state {n = 3, name = "grid", levels = {1.5, -2}, [1] = true} as
 * the runtime would encode it. */
static msgpack_sbuffer strategy_state(void)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "n", 1);
    msgpack_pack_int(&pk, 3);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "grid", 4);
    msgpack_pack_str_with_body(&pk, "levels", 6);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_double(&pk, 1.5);
    msgpack_pack_int(&pk, -2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_true(&pk);
    return sb;
}

/* Collect records through the state_each_* visitors. */
typedef struct collected {
    int n;
    char ids[64][ORDER_ID_MAX + 1];
    state_order order;
    state_fill fill;
    state_position position;
    state_balance balance;
} collected;

static int collect_order(void *ud, const state_order *o)
{
    collected *c = ud;
    if (c->n < 64)
        snprintf(c->ids[c->n], sizeof c->ids[0], "%s", o->id);
    c->n++;
    c->order = *o;
    return 0;
}

static int collect_fill(void *ud, const state_fill *f)
{
    collected *c = ud;
    if (c->n < 64)
        snprintf(c->ids[c->n], sizeof c->ids[0], "%.32s", f->trade_id);
    c->n++;
    c->fill = *f;
    return 0;
}

static int collect_position(void *ud, const state_position *p)
{
    collected *c = ud;
    c->n++;
    c->position = *p;
    return 0;
}

static int collect_balance(void *ud, const state_balance *b)
{
    collected *c = ud;
    c->n++;
    c->balance = *b;
    return 0;
}

static int count_open(state_store *st)
{
    collected c = {0};
    if (state_each_order(st, 1, collect_order, &c) != 0)
        bail_out("each_order: %s", state_error(st));
    return c.n;
}

static int count_orders(state_store *st)
{
    collected c = {0};
    if (state_each_order(st, 0, collect_order, &c) != 0)
        bail_out("each_order: %s", state_error(st));
    return c.n;
}

/* meta.schema as a msgpack unsigned integer (docs/state.md). */
static int raw_schema(const char *dir, unsigned schema)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rc;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_unsigned_int(&pk, schema);
    rc = lmdb_raw_write(dir, "meta", "schema", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static int contains(const char *haystack, const char *needle)
{
    return haystack && strstr(haystack, needle) != NULL;
}

/* ---- The store ---- */

static void test_round_trip(void)
{
    const char *dir = path_in("round");
    state_store *st = open_rw(dir);
    state_order o = make_order("rt-1", ORDER_PARTIALLY_FILLED), got;
    state_fill f = make_fill("rt-1", "9001", ORDER_BUY, "61837.63", "0.2");
    state_position p = make_position("0.2", "0");
    state_balance b = make_balance("USDT", "1000.5", "30918.815");
    msgpack_sbuffer sb = strategy_state();
    collected c;
    const void *data;
    size_t len;

    is_int(state_schema(st), STATE_SCHEMA_VERSION, "a new store has the current schema");
    o.filled = f.qty;
    o.filled_value = money_notional(f.price, 2, f.qty, 5);
    o.fees = f.fee;
    ok(state_put_order(st, &o, err, sizeof err) == 0 &&
           state_put_fill(st, &f, err, sizeof err) == 0 &&
           state_put_position(st, &p, err, sizeof err) == 0 &&
           state_put_balance(st, &b, err, sizeof err) == 0 &&
           state_put_strategy(st, "mm", sb.data, sb.size, err, sizeof err) == 0 &&
           state_put_order_seq(st, 42, err, sizeof err) == 0,
       "every kind of record is written");
    commit(st);
    state_close(st);

    st = open_rw(dir);
    ok(state_get_order(st, "rt-1", &got, err, sizeof err) == 1 && !memcmp(&got, &o, sizeof o),
       "an order reads back field for field after reopening");
    is_int(state_get_order(st, "rt-2", &got, err, sizeof err), 0, "an unknown order is not found");
    memset(&c, 0, sizeof c);
    ok(state_each_fill(st, collect_fill, &c) == 0 && c.n == 1 && !memcmp(&c.fill, &f, sizeof f),
       "a fill reads back");
    memset(&c, 0, sizeof c);
    ok(state_each_position(st, collect_position, &c) == 0 && c.n == 1 &&
           !memcmp(&c.position, &p, sizeof p),
       "a position reads back");
    memset(&c, 0, sizeof c);
    ok(state_each_balance(st, collect_balance, &c) == 0 && c.n == 1 &&
           !memcmp(&c.balance, &b, sizeof b),
       "a balance reads back");
    ok(state_get_strategy(st, "mm", &data, &len, err, sizeof err) == 1 && len == sb.size &&
           !memcmp(data, sb.data, len),
       "a strategy's state reads back byte for byte");
    is_int(state_get_strategy(st, "other", &data, &len, err, sizeof err), 0,
           "an unknown strategy has no state");
    is_int(state_get_order_seq(st), 42, "the order sequence reads back");
    state_close(st);
    msgpack_sbuffer_destroy(&sb);
}

static void test_open_index(void)
{
    state_store *st = open_rw(path_in("open"));
    static const order_status statuses[] = {ORDER_PENDING_NEW,      ORDER_NEW,
                                            ORDER_PARTIALLY_FILLED, ORDER_PENDING_CANCEL,
                                            ORDER_FILLED,           ORDER_CANCELED,
                                            ORDER_REJECTED,         ORDER_EXPIRED};
    int right = 0;

    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        state_order o = make_order("oi-1", statuses[i]);
        if (state_put_order(st, &o, err, sizeof err) != 0)
            bail_out("put: %s", err);
        commit(st);
        right += count_open(st) == (order_status_is_open(statuses[i]) ? 1 : 0);
    }
    is_int(right, 8, "the open index follows each status (open: pending_new, new, "
                     "partially_filled, pending_cancel)");
    {
        state_order a = make_order("oi-2", ORDER_NEW), b = make_order("oi-3", ORDER_NEW);
        collected c = {0};
        state_put_order(st, &a, err, sizeof err);
        state_put_order(st, &b, err, sizeof err);
        b.status = ORDER_CANCELED;
        state_put_order(st, &b, err, sizeof err);
        commit(st);
        state_each_order(st, 1, collect_order, &c);
        ok(c.n == 1 && !strcmp(c.ids[0], "oi-2"), "open orders: only the one still open");
        is_int(count_orders(st), 3, "all orders: open and closed");
    }
    {
        state_order bad = make_order("oi-4", ORDER_NEW);
        snprintf(bad.id, sizeof bad.id, "has space");
        ok(state_put_order(st, &bad, err, sizeof err) == -1 && contains(err, "client order id"),
           "an invalid order id is refused: %s", err);
    }
    state_close(st);
}

static void test_fills(void)
{
    state_store *st = open_rw(path_in("fills"));
    state_fill f = make_fill("fl-1", "77", ORDER_BUY, "100", "0.1"), again = f;
    collected c = {0};

    is_int(state_put_fill(st, &f, err, sizeof err), 0, "a new fill is stored");
    commit(st);
    again.price = dec("999", 2);
    is_int(state_put_fill(st, &again, err, sizeof err), 1, "the same fill again returns 1");
    commit(st);
    state_each_fill(st, collect_fill, &c);
    ok(c.n == 1 && c.fill.price == f.price, "and changes nothing");
    {
        state_fill a = make_fill("fl-2", "", ORDER_SELL, "100", "0.1"), b = a;
        memset(&c, 0, sizeof c);
        ok(state_put_fill(st, &a, err, sizeof err) == 0 &&
               state_put_fill(st, &b, err, sizeof err) == 0,
           "fills without a trade id are each stored");
        commit(st);
        state_each_fill(st, collect_fill, &c);
        ok(c.n == 3 && !strcmp(c.ids[1], "fl-2#1") && !strcmp(c.ids[2], "fl-2#2"),
           "numbered <order_id>#<n>: %s %s", c.ids[1], c.ids[2]);
    }
    state_close(st);
}

static state_store *walked;

static int write_from_visitor(void *ud, const state_order *o)
{
    state_order copy = *o;
    *(int *)ud = state_put_order(walked, &copy, err, sizeof err);
    return 0;
}

static void test_batches(void)
{
    const char *dir = path_in("batch");
    state_store *st = open_rw(dir);
    state_order a = make_order("b-1", ORDER_NEW), b = make_order("b-2", ORDER_NEW), got;

    state_put_order(st, &a, err, sizeof err);
    commit(st);
    state_put_order(st, &b, err, sizeof err);
    is_int(state_get_order(st, "b-2", &got, err, sizeof err), 1, "reads see the open batch");
    is_int(count_orders(st), 2, "walks see the open batch");
    state_abort(st);
    is_int(state_get_order(st, "b-2", &got, err, sizeof err), 0, "an aborted batch is gone");
    state_put_order(st, &b, err, sizeof err);
    a.status = ORDER_CANCELED;
    state_put_order(st, &a, err, sizeof err);
    state_close(st); /* the batch was never committed */

    st = open_rw(dir);
    ok(state_get_order(st, "b-1", &got, err, sizeof err) == 1 && got.status == ORDER_NEW,
       "after close and reopen the committed batch is there, unchanged");
    is_int(state_get_order(st, "b-2", &got, err, sizeof err), 0,
           "and the uncommitted one is gone");
    is_int(state_commit(st, err, sizeof err), 0, "a commit with nothing to commit succeeds");
    {
        int rc = 0;
        walked = st;
        state_each_order(st, 0, write_from_visitor, &rc);
        ok(rc == -1 && contains(err, "no write"), "a visitor cannot write: %s", err);
    }
    state_close(st);
}

static void test_order_seq(void)
{
    const char *dir = path_in("seq");
    state_store *st = open_rw(dir);

    is_int(state_get_order_seq(st), 1, "the order sequence starts at 1");
    state_put_order_seq(st, 5, err, sizeof err);
    is_int(state_get_order_seq(st), 5, "the batch's sequence is read before commit");
    commit(st);
    state_put_order_seq(st, 9, err, sizeof err);
    ok(state_put_order_seq(st, 3, err, sizeof err) == -1 && contains(err, "go back"),
       "a sequence that goes back is refused: %s", err);
    is_int(state_get_order_seq(st), 5, "and its batch is dropped");
    state_close(st);
    st = open_rw(dir);
    is_int(state_get_order_seq(st), 5, "the committed sequence survives a reopen");
    state_close(st);
}

/* ---- check ---- */

typedef struct problems {
    int n;
    char text[8][256];
} problems;

static void note_problem(void *ud, const char *text)
{
    problems *p = ud;
    if (p->n < 8)
        snprintf(p->text[p->n], sizeof p->text[0], "%s", text);
    p->n++;
}

static int has_problem(const problems *p, const char *a, const char *b)
{
    for (int i = 0; i < p->n && i < 8; i++)
        if (contains(p->text[i], a) && contains(p->text[i], b))
            return 1;
    return 0;
}

/* A consistent store: an order half filled by two fills, a position that
 * matches its seed and fills, a closed order, a balance. */
static void write_good_store(state_store *st)
{
    state_order o = make_order("ck-1", ORDER_PARTIALLY_FILLED), closed;
    state_fill f1 = make_fill("ck-1", "1", ORDER_BUY, "61837.63", "0.1");
    state_fill f2 = make_fill("ck-1", "2", ORDER_BUY, "61837.64", "0.15");
    state_fill f3 = make_fill("ck-2", "3", ORDER_SELL, "61840", "0.05");
    state_position p = make_position("1.2", "1");
    state_balance b = make_balance("USDT", "1000", "15459.41");
    msgpack_sbuffer sb = strategy_state();

    closed = make_order("ck-2", ORDER_FILLED);
    closed.side = ORDER_SELL;
    closed.qty = closed.filled = f3.qty;
    closed.filled_value = money_notional(f3.price, 2, f3.qty, 5);
    o.filled = f1.qty + f2.qty;
    o.filled_value =
        money_notional(f1.price, 2, f1.qty, 5) + money_notional(f2.price, 2, f2.qty, 5);
    if (state_put_order(st, &o, err, sizeof err) || state_put_order(st, &closed, err, sizeof err) ||
        state_put_fill(st, &f1, err, sizeof err) || state_put_fill(st, &f2, err, sizeof err) ||
        state_put_fill(st, &f3, err, sizeof err) || state_put_position(st, &p, err, sizeof err) ||
        state_put_balance(st, &b, err, sizeof err) ||
        state_put_strategy(st, "mm", sb.data, sb.size, err, sizeof err) ||
        state_put_order_seq(st, 3, err, sizeof err))
        bail_out("write_good_store: %s", err);
    commit(st);
    msgpack_sbuffer_destroy(&sb);
}

static void test_check(void)
{
    const char *dir = path_in("check");
    state_store *st = open_rw(dir);
    problems p = {0};
    state_order o;
    state_position pos = make_position("1.3", "1");
    uint8_t none = 0;

    write_good_store(st);
    is_int(state_check(st, note_problem, &p, err, sizeof err), 0, "a good store passes check");

    /* Plant: a position that does not match the fills, an order whose
     * filled does not match its fills. */
    state_get_order(st, "ck-1", &o, err, sizeof err);
    o.filled += 1;
    state_put_order(st, &o, err, sizeof err);
    state_put_position(st, &pos, err, sizeof err);
    commit(st);
    state_close(st);
    /* Plant with raw LMDB: an open-index entry for a closed order, one for
     * an order that does not exist, and an open order missing from it. */
    ok(lmdb_raw_write(dir, "open", "ck-2", &none, 0) == 0 &&
           lmdb_raw_write(dir, "open", "ghost", &none, 0) == 0 &&
           lmdb_raw_write(dir, "open", "ck-1", NULL, 0) == 0,
       "inconsistencies planted with raw LMDB");
    st = open_rw(dir);
    memset(&p, 0, sizeof p);
    is_int(state_check(st, note_problem, &p, err, sizeof err), 5, "check finds five problems");
    for (int i = 0; i < p.n && i < 8; i++)
        diag("problem: %s", p.text[i]);
    ok(has_problem(&p, "ck-2", "filled"), "the open-index entry of a filled order");
    ok(has_problem(&p, "ghost", "not stored"), "the open-index entry of no order");
    ok(has_problem(&p, "ck-1", "open index"), "an open order missing from the index");
    ok(has_problem(&p, "ck-1", "fills sum to 0.25"), "an order whose fills do not add up");
    ok(has_problem(&p, "BTCUSDT", "1.3") && has_problem(&p, "BTCUSDT", "make 1.2"),
       "a position that does not match seed and fills");
    state_close(st);
}

/* ---- backup ---- */

static void test_backup(void)
{
    const char *dir = path_in("bsrc"), *dest = path_in("bdest");
    state_store *st = open_rw(dir), *copy;
    state_order pending = make_order("bk-9", ORDER_PENDING_NEW), got;
    const void *data;
    size_t len;

    write_good_store(st);
    state_put_order(st, &pending, err, sizeof err); /* a batch in flight */
    is_int(state_backup(st, dest, err, sizeof err), 0, "a backup is taken while a batch is open");
    ok(state_get_order(st, "bk-9", &got, err, sizeof err) == 1, "the source's batch is untouched");
    commit(st);
    ok(state_backup(st, dest, err, sizeof err) == -1 && contains(err, "not empty"),
       "a backup into a folder that is not empty is refused: %s", err);
    state_close(st);

    copy = open_at(dest, 0, 0, 1);
    ok(copy != NULL, "the backup opens%s%s", copy ? "" : ": ", copy ? "" : err);
    if (!copy) {
        skip(3, "no backup");
        return;
    }
    ok(count_orders(copy) == 2 && state_get_order(copy, "bk-9", &got, err, sizeof err) == 0,
       "it holds the committed orders, not the batch in flight");
    is_int(state_check(copy, NULL, NULL, err, sizeof err), 0, "it is consistent");
    ok(state_get_strategy(copy, "mm", &data, &len, err, sizeof err) == 1 &&
           state_get_order_seq(copy) == 3,
       "strategy state and sequence are there");
    state_close(copy);
}

/* ---- The map ---- */

/* prepare: each batch is prepared first (state_prepare), as the live
 * driver does; the map grows under a prepared batch too. */
static void test_map_full(const char *name, int prepare)
{
    const char *dir = path_in(name);
    const size_t map_size = 256 << 10, map_max = 4 << 20;
    state_store *st = open_at(dir, map_size, map_max, 0);
    int batch, committed = -1, failed = 0, grew = 0;
    char id[ORDER_ID_MAX + 1];

    if (!st)
        bail_out("open: %s", err);
    /* One batch larger than the whole initial map: the map grows mid-batch. */
    for (int i = 0; i < 1500; i++) {
        state_order o = make_order("x", ORDER_CANCELED);
        snprintf(o.id, sizeof o.id, "big-%d", i);
        memset(o.reason, 'r', sizeof o.reason - 1);
        if (state_put_order(st, &o, err, sizeof err) != 0)
            bail_out("big batch: %s", err);
    }
    grew = state_commit(st, err, sizeof err) == 0;
    ok(grew, "a batch larger than the initial map commits (the map grew mid-batch)");
    snprintf(id, sizeof id, "%s/data.mdb", name);
    ok(file_size(path_in(id)) > (long)map_size,
       "the file is larger than the initial map");

    for (batch = 0; batch < 10000 && !failed; batch++) {
        if (prepare) {
            snprintf(id, sizeof id, "f%d-0", batch);
            state_prepare(st, id); /* a refusal (the map full) is the next write's to report */
        }
        for (int i = 0; i < 50 && !failed; i++) {
            state_order o = make_order("x", ORDER_NEW);
            snprintf(o.id, sizeof o.id, "f%d-%d", batch, i);
            memset(o.reason, 'r', sizeof o.reason - 1);
            failed = state_put_order(st, &o, err, sizeof err) != 0;
        }
        if (!failed)
            failed = state_put_order_seq(st, (uint64_t)batch + 1, err, sizeof err) != 0;
        if (!failed)
            failed = state_commit(st, err, sizeof err) != 0;
        if (!failed)
            committed = batch;
    }
    ok(failed && contains(err, "full"), "writing past map_max fails: %s", err);
    ok(committed > 0, "after %d committed batches", committed + 1);
    snprintf(id, sizeof id, "f%d-0", committed + 1);
    {
        state_order got;
        ok(state_get_order(st, id, &got, err, sizeof err) == 0,
           "the failed batch is dropped at once");
    }
    state_close(st);

    st = open_at(dir, map_size, map_max, 0);
    ok(st != NULL, "the full store reopens");
    if (!st) {
        skip(3, "no store");
        return;
    }
    {
        state_order got;
        char last[ORDER_ID_MAX + 1];
        snprintf(last, sizeof last, "f%d-49", committed);
        is_int(state_get_order_seq(st), committed + 1, "it holds exactly the last committed batch");
        ok(state_get_order(st, last, &got, err, sizeof err) == 1 &&
               state_get_order(st, id, &got, err, sizeof err) == 0,
           "its last order is there, the failed batch's first is not");
        is_int(count_orders(st), 1500 + (committed + 1) * 50, "no order is missing");
    }
    state_close(st);
}

/* ---- Where the folder is ---- */

/* `stat -f` names the file system type, as a second opinion on statfs. */
static int fs_is_memory(const char *dir)
{
    char cmd[PATH_MAX + 32], type[64] = "";
    FILE *p;

    snprintf(cmd, sizeof cmd, "stat -f -c %%T '%s'", dir);
    if (!(p = popen(cmd, "r")))
        bail_out("popen: %s", strerror(errno));
    if (!fgets(type, sizeof type, p))
        type[0] = '\0';
    pclose(p);
    return !strncmp(type, "tmpfs", 5) || !strncmp(type, "ramfs", 5);
}

/* A store on tmpfs makes no sync call; its commits, with the map writable
 * or not, are there for the next process all the same. */
static void test_in_memory(void)
{
    char dir[PATH_MAX];
    state_order got;
    state_store *st;

    st = open_rw(path_in("disk"));
    is_int(state_in_memory(st), fs_is_memory(root), "a store in %s is in memory only if its "
           "file system is tmpfs or ramfs", root);
    state_close(st);
    snprintf(dir, sizeof dir, "/dev/shm/lutra-state-XXXXXX");
    if (!mkdtemp(dir)) {
        skip(6, "no /dev/shm here");
        return;
    }
    writemap = 1;
    st = open_at(dir, 0, 0, 0);
    writemap = 0;
    if (!st)
        bail_out("open %s: %s", dir, err);
    is_int(state_in_memory(st), 1, "a store in /dev/shm is in memory");
    {
        state_order a = make_order("mem-1", ORDER_NEW), b = make_order("mem-2", ORDER_NEW);
        char data[PATH_MAX + 16];
        struct stat before, after;

        ok(state_put_order(st, &a, err, sizeof err) == 0 && state_commit(st, err, sizeof err) == 0,
           "a batch committed there with the map writable");
        snprintf(data, sizeof data, "%s/data.mdb", dir);
        stat(data, &before);
        for (int i = 0; i < 8; i++)
            state_preallocate(st);
        stat(data, &after);
        ok((after.st_blocks - before.st_blocks) * 512 >= 256 << 10,
           "state_preallocate gets the pages past the data (%lld KiB more)",
           (long long)(after.st_blocks - before.st_blocks) / 2);
        ok(state_put_order(st, &b, err, sizeof err) == 0, "another batch left open");
    }
    state_close(st);
    st = open_rw(dir);
    ok(state_get_order(st, "mem-1", &got, err, sizeof err) == 1 && !strcmp(got.symbol, "BTCUSDT"),
       "the committed order reads back, the map read-only this time");
    ok(state_get_order(st, "mem-2", &got, err, sizeof err) == 0, "the open batch is not there");
    state_close(st);
    tap_rmtree(dir);
}

#if defined(__SANITIZE_ADDRESS__)
#define STATE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STATE_TEST_ASAN 1
#endif
#endif

/* Minor page faults of this thread so far. */
static long thread_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_minflt;
}

/* Batches of `n` new orders from id `from` on; with `populate`,
 * state_preallocate after each, as the live driver does after a message.
 * With `read_back`, each batch first reads the orders the one before it
 * wrote (the read-only map: the pages that commit wrote). @return the
 * page faults taken in the batches, not in state_preallocate. */
static long order_batches(state_store *st, int from, int batches, int n, int populate,
                          int read_back)
{
    long faults = 0;
    char id[32];
    state_order o, got;

    for (int b = 0; b < batches; b++) {
        long before = thread_faults();
        for (int i = 0; read_back && b > 0 && i < n; i++) {
            snprintf(id, sizeof id, "pf-%d", from + (b - 1) * n + i);
            if (state_get_order(st, id, &got, err, sizeof err) != 1)
                bail_out("get %s: %s", id, err);
        }
        for (int i = 0; i < n; i++) {
            snprintf(id, sizeof id, "pf-%d", from + b * n + i);
            o = make_order(id, ORDER_NEW);
            if (state_put_order(st, &o, err, sizeof err) != 0)
                bail_out("put %s: %s", id, err);
        }
        if (state_commit(st, err, sizeof err) != 0)
            bail_out("commit: %s", err);
        faults += thread_faults() - before;
        if (populate)
            state_preallocate(st);
    }
    return faults;
}

/* In memory, state_preallocate also has the kernel map the pages the next
 * batches touch: the writable map's pages past the data, the read-only
 * map's pages the last commits wrote. Without it, the same batches take
 * page faults (which is what makes the check able to fail). */
static void test_populate(void)
{
    for (int wm = 1; wm >= 0; wm--) {
        char dir[PATH_MAX];
        state_store *st;
        long with, without;

        snprintf(dir, sizeof dir, "/dev/shm/lutra-state-XXXXXX");
        if (!mkdtemp(dir)) {
            skip(2, "no /dev/shm here");
            return;
        }
        writemap = wm;
        st = open_rw(dir);
        writemap = 0;
        /* Buffers grown, the first pages in place. */
        order_batches(st, 0, 20, 100, 1, !wm);
        with = order_batches(st, 10000, 20, 50, 1, !wm);
        without = order_batches(st, 20000, 20, 50, 0, !wm);
#ifdef STATE_TEST_ASAN
        (void)with;
        skip(1, "AddressSanitizer's allocator takes page faults of its own (its quarantine "
                "hands out fresh memory), which this count cannot tell apart");
#else
        is_int(with, 0, "%s: 20 batches of 50 new orders take no page fault after "
               "state_preallocate", wm ? "writable map" : "read-only map");
#endif
        ok(without > 0, "%s: without it they take %ld", wm ? "writable map" : "read-only map",
           without);
        state_close(st);
        tap_rmtree(dir);
    }
}

/* ---- Refusals ---- */

/* Open dir for writing as user nobody (root ignores permissions) in a
 * child; the child reports the error text through a pipe. */
static int open_as_nobody(const char *dir, char *msg, size_t cap)
{
    int fd[2], status;
    ssize_t n;
    pid_t pid;

    if (pipe(fd) < 0)
        bail_out("pipe: %s", strerror(errno));
    fflush(NULL);
    if ((pid = fork()) < 0)
        bail_out("fork: %s", strerror(errno));
    if (pid == 0) {
        state_options opt = {.dir = dir};
        state_store *st;
        close(fd[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        st = state_open(&opt, err, sizeof err);
        if (!st && write(fd[1], err, strlen(err)) < 0)
            _exit(4);
        _exit(st ? 1 : 0);
    }
    close(fd[1]);
    n = read(fd[0], msg, cap - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(fd[0]);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_read_only(void)
{
    const char *dir = path_in("ro"), *fresh = path_in("ro-fresh");
    char msg[1024];
    state_store *st = open_rw(dir);
    state_order o = make_order("ro-1", ORDER_NEW), got;

    state_put_order(st, &o, err, sizeof err);
    commit(st);
    state_close(st);
    /* Nobody may enter the test folder, but write nothing in these. */
    chmod(root, 0755);
    chmod(dir, 0555);
    mkdir(fresh, 0555);
    if (geteuid() != 0) {
        chmod(path_in("ro/data.mdb"), 0444);
        chmod(path_in("ro/lock.mdb"), 0444);
        chmod(path_in("ro/writer.lock"), 0444);
    }
    ok(open_as_nobody(dir, msg, sizeof msg) == 0 && contains(msg, "not writable") &&
           contains(msg, dir),
       "a store in a read-only folder is refused: %s", msg);
    ok(open_as_nobody(fresh, msg, sizeof msg) == 0 && contains(msg, "not writable"),
       "an empty read-only folder is refused: %s", msg);
    chmod(dir, 0700);
    chmod(path_in("ro/data.mdb"), 0600);
    chmod(path_in("ro/lock.mdb"), 0600);
    chmod(path_in("ro/writer.lock"), 0600);
    st = open_rw(dir);
    ok(state_get_order(st, "ro-1", &got, err, sizeof err) == 1, "nothing was lost");
    state_close(st);
}

static void test_schema(void)
{
    const char *dir = path_in("future");
    state_store *st = open_rw(dir);
    state_order o = make_order("fs-1", ORDER_NEW), got;

    state_put_order(st, &o, err, sizeof err);
    commit(st);
    state_close(st);
    is_int(raw_schema(dir, STATE_SCHEMA_VERSION + 2), 0, "a newer schema is written with raw LMDB");
    ok(!open_at(dir, 0, 0, 0) && contains(err, "has schema 3") && contains(err, "upgrade lutra") &&
           contains(err, dir),
       "a store from a future schema is refused: %s", err);
    ok(!open_at(dir, 0, 0, 1) && contains(err, "upgrade lutra"), "by readers too");
    raw_schema(dir, 0);
    ok(!open_at(dir, 0, 0, 0) && contains(err, "no migration"),
       "a schema older than any known is refused: %s", err);
    raw_schema(dir, STATE_SCHEMA_VERSION);
    st = open_rw(dir);
    ok(state_get_order(st, "fs-1", &got, err, sizeof err) == 1, "nothing was changed meanwhile");
    state_close(st);
}

static void test_not_a_store(void)
{
    const char *other = path_in("other"), *junk = path_in("junk"), *nometa = path_in("nometa");
    const char *file = path_in("a-file");
    char bytes[8192], again[8192];
    FILE *f;

    mkdir(other, 0700);
    if (lmdb_raw_write(other, NULL, "customer", "42", 2) != 0)
        bail_out("cannot write another program's LMDB environment");
    ok(!open_at(other, 0, 0, 0) && contains(err, "not a lutra state store"),
       "an LMDB environment of another program is refused: %s", err);
    mkdir(nometa, 0700);
    if (lmdb_raw_write(nometa, "meta", "colour", "blue", 4) != 0)
        bail_out("cannot write an LMDB environment with a meta database");
    ok(!open_at(nometa, 0, 0, 0) && contains(err, "not a lutra state store"),
       "one with a meta database but no schema too: %s", err);

    mkdir(junk, 0700);
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (char)(i * 7 + 3);
    f = fopen(path_in("junk/data.mdb"), "wb");
    if (!f || fwrite(bytes, 1, sizeof bytes, f) != sizeof bytes)
        bail_out("cannot write junk");
    fclose(f);
    ok(!open_at(junk, 0, 0, 0) && contains(err, "not a lutra state store") && contains(err, junk),
       "a junk data.mdb is refused: %s", err);
    f = fopen(path_in("junk/data.mdb"), "rb");
    ok(f && fread(again, 1, sizeof again, f) == sizeof again && !memcmp(bytes, again, sizeof bytes),
       "and left as it was");
    if (f)
        fclose(f);

    if (!(f = fopen(file, "w")))
        bail_out("cannot write %s", file);
    fclose(f);
    ok(!open_at(file, 0, 0, 0) && contains(err, "not a folder"), "a file is not a folder: %s", err);
    ok(!open_at(path_in("absent"), 0, 0, 1) && contains(err, "absent"),
       "a reader refuses a folder that does not exist: %s", err);
}

static void test_one_writer(void)
{
    state_store *st = open_rw(path_in("lock"));
    ok(!open_at(path_in("lock"), 0, 0, 0) && contains(err, "in use by another lutra"),
       "a second writer is refused: %s", err);
    state_close(st);
}

/* ---- lutra state ---- */

static char lutra_bin[PATH_MAX];

static void find_lutra(void)
{
    const char *env = getenv("LUTRA_BIN");
    char exe[PATH_MAX - 16];
    ssize_t n;

    if (env && *env) {
        snprintf(lutra_bin, sizeof lutra_bin, "%s", env);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        bail_out("cannot find this test's own path");
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(lutra_bin, sizeof lutra_bin, "%s/../lutra", exe);
}

/* Run `lutra state ARGS`; stdout into out. @return the exit status. */
static int run_state(const char *args, char *out, size_t cap)
{
    char cmdline[PATH_MAX * 3];
    size_t n = 0;
    FILE *p;
    int status;

    snprintf(cmdline, sizeof cmdline, "'%s' state %s 2>%s", lutra_bin, args,
             path_in("stderr.txt"));
    fflush(NULL);
    if (!(p = popen(cmdline, "r")))
        bail_out("popen: %s", strerror(errno));
    while (n + 1 < cap && !feof(p)) {
        size_t got = fread(out + n, 1, cap - 1 - n, p);
        if (!got)
            break;
        n += got;
    }
    out[n] = '\0';
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The string field `key` of v, or "" (copied: values are read once). */
static const char *jstr(json_value *v, const char *key)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    json_value f;
    const char *s;
    size_t len;

    b[0] = '\0';
    if (json_field(v, key, &f) == 0 && json_string(&f, &s, &len) == 0)
        snprintf(b, 256, "%.*s", (int)len, s);
    return b;
}

static void check_dump_json(const char *text)
{
    json_parser *jp = json_parser_new();
    json_value root, arr, el, strategies, mm, f;
    json_iter it;
    int found = 0, n = 0;
    int64_t count = 0;

    if (!jp || json_parse_copy(jp, text, strlen(text), &root) != 0) {
        ok(0, "dump --json is JSON: %s", json_last_error());
        skip(4, "no JSON");
        json_parser_free(jp);
        return;
    }
    ok(json_field(&root, "orders", &arr) == 0 && json_array_begin(&arr, &it) == 0,
       "dump --json has orders");
    while (json_array_next(&it, &el) == 1) {
        n++;
        if (!strcmp(jstr(&el, "id"), "ck-1"))
            found = !strcmp(jstr(&el, "status"), "partially_filled") &&
                    !strcmp(jstr(&el, "price"), "61837.63") && !strcmp(jstr(&el, "qty"), "0.5") &&
                    !strcmp(jstr(&el, "filled"), "0.25") &&
                    !strcmp(jstr(&el, "avg_price"), "61837.636") &&
                    !strcmp(jstr(&el, "venue_order_id"), "v-ck-1");
    }
    ok(n == 2 && found, "orders: both, committed, with decimal strings (avg_price 61837.636)");
    ok(json_field(&root, "positions", &arr) == 0 && json_array_begin(&arr, &it) == 0 &&
           json_array_next(&it, &el) == 1 && !strcmp(jstr(&el, "qty"), "1.2") &&
           !strcmp(jstr(&el, "avg_price"), "61837.63") &&
           !strcmp(jstr(&el, "realized_pnl"), "-12.5"),
       "positions: qty, avg_price, realized_pnl");
    ok(json_field(&root, "balances", &arr) == 0 && json_array_begin(&arr, &it) == 0 &&
           json_array_next(&it, &el) == 1 && !strcmp(jstr(&el, "asset"), "USDT") &&
           !strcmp(jstr(&el, "locked"), "15459.41"),
       "balances: venue, asset, free, locked");
    ok(json_field(&root, "strategies", &strategies) == 0 &&
           json_field(&strategies, "mm", &mm) == 0 && json_field(&mm, "n", &f) == 0 &&
           json_int64(&f, &count) == 0 && count == 3 && !strcmp(jstr(&mm, "name"), "grid") &&
           json_field(&mm, "1", &f) == 0 && json_bool(&f, &found) == 0 && found,
       "strategies: the saved state decoded from msgpack, a number key as a string");
    json_parser_free(jp);
}

static void test_cli(void)
{
    const char *dir = path_in("cli"), *dest = path_in("cli-backup"), *cfg = path_in("cli.lua");
    static char out[1 << 16];
    char args[PATH_MAX * 2];
    state_store *st = open_rw(dir);
    state_order inflight = make_order("cli-9", ORDER_PENDING_NEW);
    FILE *f;

    find_lutra();
    if (access(lutra_bin, X_OK) != 0) {
        skip(14, "no lutra binary");
        state_close(st);
        return;
    }
    write_good_store(st);
    state_put_order(st, &inflight, err, sizeof err); /* the writer is busy */

    snprintf(args, sizeof args, "dump --state '%s' --json", dir);
    is_int(run_state(args, out, sizeof out), 0, "lutra state dump --json runs beside the writer");
    check_dump_json(out);
    snprintf(args, sizeof args, "dump --state '%s'", dir);
    ok(run_state(args, out, sizeof out) == 0 && contains(out, "ck-1") && contains(out, "grid") &&
           !contains(out, "cli-9"),
       "the text dump lists the committed orders and strategies");
    snprintf(args, sizeof args, "check --state '%s'", dir);
    ok(run_state(args, out, sizeof out) == 0 && contains(out, "consistent"),
       "lutra state check: exit 0 on a good store");
    snprintf(args, sizeof args, "backup --state '%s' '%s'", dir, dest);
    is_int(run_state(args, out, sizeof out), 0, "lutra state backup");
    if (!(f = fopen(cfg, "w")))
        bail_out("cannot write %s", cfg);
    fprintf(f, "return { state_dir = '%s' }\n", dest);
    fclose(f);
    snprintf(args, sizeof args, "check --config '%s'", cfg);
    ok(run_state(args, out, sizeof out) == 0 && contains(out, dest),
       "the backup checks consistent, found through --config");
    state_commit(st, err, sizeof err);
    state_close(st);

    lmdb_raw_write(dir, "open", "ck-1", NULL, 0);
    snprintf(args, sizeof args, "check --state '%s'", dir);
    ok(run_state(args, out, sizeof out) == 1 && contains(out, "ck-1"),
       "lutra state check: exit 1, the problem listed");
    ok(run_state("check --bogus", out, sizeof out) == 2, "exit 2 on a usage error");
    snprintf(args, sizeof args, "check --state '%s' --json", dir);
    ok(run_state(args, out, sizeof out) == 2, "check has no --json");
    ok(run_state("backup --help", out, sizeof out) == 0 && contains(out, "DEST"), "--help");
}

/* ---- The next batch, prepared ahead (state_prepare) ---- */

/* `lutra state dump --json` of dir into out; "" without the binary. */
static void dump_into(const char *dir, char *out, size_t cap)
{
    char args[PATH_MAX + 64];
    out[0] = '\0';
    if (access(lutra_bin, X_OK) != 0)
        return;
    snprintf(args, sizeof args, "dump --state '%s' --json", dir);
    if (run_state(args, out, cap) != 0)
        bail_out("lutra state dump failed: %s", out);
}

/* A prepared batch changes nothing, in this process or for readers beside
 * it, whether it is committed empty, closed or written to; a refusal
 * leaves no batch behind. Runs with the map writable and not. */
static void test_prepare(const char *name)
{
    static char before[1 << 16], now[1 << 16];
    char next[600];
    const char *dir = path_in(name);
    state_store *st = open_rw(dir);
    state_order ck1, got, added = make_order("ck-3", ORDER_NEW);
    int cli;

    find_lutra();
    cli = access(lutra_bin, X_OK) == 0;
    write_good_store(st);
    state_get_order(st, "ck-1", &ck1, err, sizeof err);
    dump_into(dir, before, sizeof before);

    is_int(state_prepare(st, "ck-3"), 0, "%s: prepare around the next id", name);
    is_int(state_get_order(st, "ck-3", &got, err, sizeof err), 0,
           "%s: the next id's touch left nothing behind", name);
    ok(count_orders(st) == 2 && count_open(st) == 1 &&
           state_get_order(st, "ck-1", &got, err, sizeof err) == 1 &&
           !memcmp(&got, &ck1, sizeof got),
       "%s: the batch's view is the last commit's", name);
    dump_into(dir, now, sizeof now);
    if (cli)
        ok(!strcmp(before, now), "%s: a reader beside the prepared batch sees the last commit",
           name);
    else
        skip(1, "no lutra binary to read beside the batch");
    is_int(state_commit(st, err, sizeof err), 0, "%s: a commit with nothing written succeeds",
           name);
    state_close(st); /* the prepared batch is still open: closing drops it */

    st = open_rw(dir);
    dump_into(dir, now, sizeof now);
    ok(count_orders(st) == 2 && !strcmp(before, now),
       "%s: after close and reopen the store is as it was", name);

    /* Prepared again (the last batch is gone with the process: only the
     * next id), then written to: the write commits as any other. */
    state_prepare(st, "ck-3");
    ok(state_put_order(st, &added, err, sizeof err) == 0 && state_commit(st, err, sizeof err) == 0,
       "%s: a write joins the prepared batch and commits", name);
    /* Now the last batch's keys are touched too (the order just written,
     * the open index). */
    is_int(state_prepare(st, "ck-4"), 0, "%s: prepare with the last batch's keys", name);
    dump_into(dir, before, sizeof before);
    state_close(st);
    st = open_rw(dir);
    dump_into(dir, now, sizeof now);
    ok(state_get_order(st, "ck-3", &got, err, sizeof err) == 1 && got.status == ORDER_NEW &&
           count_orders(st) == 3 && count_open(st) == 2 && !strcmp(before, now),
       "%s: the written order is there, and nothing else changed", name);

    /* Positions and balances, written by the last batch, are touched too:
     * they come back unchanged. */
    {
        state_position p = make_position("1.2", "1");
        state_balance b = make_balance("USDT", "1000", "15459.41");
        collected c = {0};
        state_put_position(st, &p, err, sizeof err);
        state_put_balance(st, &b, err, sizeof err);
        commit(st);
        state_prepare(st, "ck-4");
        state_abort(st);
        state_each_balance(st, collect_balance, &c);
        ok(c.n == 1 && c.balance.free == b.free && c.balance.locked == b.locked,
           "%s: a touched balance is unchanged", name);
    }

    /* LMDB refuses a key longer than it takes: no batch is left open. */
    memset(next, 'x', sizeof next - 1);
    next[sizeof next - 1] = '\0';
    ok(state_prepare(st, next) == -1 && contains(state_error(st), "cannot prepare"),
       "%s: a refused prepare says so: %s", name, state_error(st));
    added = make_order("ck-5", ORDER_NEW);
    ok(state_put_order(st, &added, err, sizeof err) == 0 && state_commit(st, err, sizeof err) == 0,
       "%s: and the next batch begins and commits as usual", name);

    /* Nothing to do while a snapshot is held, or on a read-only store. */
    state_snapshot_begin(st);
    is_int(state_prepare(st, "ck-6"), 0, "%s: no prepare while a snapshot is held", name);
    state_snapshot_end(st);
    ok(state_put_order(st, &added, err, sizeof err) == 0 && state_commit(st, err, sizeof err) == 0,
       "%s: writes go on after it", name);
    state_close(st);
    st = open_at(dir, 0, 0, 1);
    if (!st)
        bail_out("read-only open: %s", err);
    is_int(state_prepare(st, "ck-6"), 0, "%s: a read-only store has nothing to prepare", name);
    is_int(count_orders(st), 4, "%s: and reads on", name);
    state_close(st);
}

/* ---- Damaged records (core/msgpack_check.h) ---- */

/* Headers that declare more than their record holds, written with raw
 * LMDB: refused with what they declare, before msgpack-c allocates for
 * them (which would abort this test under AddressSanitizer). */
static const char huge_order[] = "\xdd\xff\xff\xff\xff\x01\x02\x03";
static const char huge_state[] = "\xdf\xff\xff\xff\xff\xa1n\x01\xa1m\x02\x03";

static void test_damaged(void)
{
    const char *dir = path_in("damaged");
    state_store *st = open_rw(dir);
    state_order o;
    char want[PATH_MAX + 160];

    write_good_store(st);
    state_close(st);
    ok(lmdb_raw_write(dir, "orders", "ck-1", huge_order, sizeof huge_order - 1) == 0,
       "an order record declaring an array of 4294967295 fields in 8 bytes, planted");
    st = open_rw(dir);
    snprintf(want, sizeof want,
             "state store %s: order record 'ck-1' cannot be read: an array at byte 0 declares "
             "4294967295 elements in the 3 bytes left",
             dir);
    ok(state_get_order(st, "ck-1", &o, err, sizeof err) == -1 && !strcmp(err, want),
       "reading it fails with what it declares: %s", err);
    ok(state_each_order(st, 0, collect_order, &(collected){0}) == -1 &&
           !strcmp(state_error(st), want),
       "and so does a walk over the orders");
    state_close(st);
    {
        /* ck-2's fill damaged too: its record and what it leaves out. */
        static const char key[] = "ck-2\0" "3"; /* <order id>\0<trade id> */
        problems p = {0};
        int n, seen_order = 0, seen_fill = 0;

        if (lmdb_raw_write_key(dir, "fills", key, sizeof key - 1, huge_order,
                               sizeof huge_order - 1))
            bail_out("cannot damage the fill in %s", dir);
        st = open_rw(dir);
        n = state_check(st, note_problem, &p, err, sizeof err);
        for (int i = 0; i < p.n && i < 8; i++) {
            seen_order |= contains(p.text[i], "order record 'ck-1' cannot be read");
            seen_fill |= contains(p.text[i], "fill record 'ck-2' cannot be read");
        }
        ok(n >= 3 && p.n == n && seen_order && seen_fill,
           "check lists each damaged record as a problem and goes on (%d problems)", n);
        state_close(st);
    }
}

static void test_damaged_cli(void)
{
    const char *dir = path_in("damaged-cli");
    static char out[1 << 16];
    char args[PATH_MAX * 2], errtext[4096];
    state_store *st = open_rw(dir);
    FILE *f;
    size_t n = 0;

    find_lutra();
    if (access(lutra_bin, X_OK) != 0) {
        skip(6, "no lutra binary");
        state_close(st);
        return;
    }
    write_good_store(st);
    if (state_put_strategy(st, "other", "\x01", 1, err, sizeof err) != 0)
        bail_out("%s", err);
    commit(st);
    state_close(st);
    /* mm's ctx.state damaged, and an open order missing from the index. */
    if (lmdb_raw_write(dir, "strategies", "mm", huge_state, sizeof huge_state - 1) != 0 ||
        lmdb_raw_write(dir, "open", "ck-1", NULL, 0) != 0)
        bail_out("cannot plant the damage in %s", dir);

    snprintf(args, sizeof args, "check --state '%s'", dir);
    ok(run_state(args, out, sizeof out) == 1 &&
           contains(out, "problem: strategy mm: its saved state (12 bytes) cannot be decoded: "
                         "a map at byte 0 declares 4294967295 entries in the 7 bytes left\n"),
       "check reports the damaged ctx.state as a problem");
    ok(contains(out, "problem: order ck-1 is partially_filled but not in the open index") &&
           contains(out, "problem: strategy other: its saved state is not a table") &&
           contains(out, ": 3 problems"),
       "and goes on: the other problems are listed too");

    snprintf(args, sizeof args, "dump --state '%s' --json", dir);
    ok(run_state(args, out, sizeof out) == 1, "dump exits 1 on a state it cannot decode");
    ok(contains(out, "\"mm\":null") && contains(out, "\"ck-1\"") && contains(out, "}}\n"),
       "its JSON is whole: mm's state is null, the rest is there");
    errtext[0] = '\0';
    if ((f = fopen(path_in("stderr.txt"), "r"))) {
        n = fread(errtext, 1, sizeof errtext - 1, f);
        errtext[n] = '\0';
        fclose(f);
    }
    ok(contains(errtext, "strategy mm: its saved state (12 bytes) cannot be decoded: a map at "
                         "byte 0 declares 4294967295 entries in the 7 bytes left"),
       "and says it cannot decode that record, and why");
    snprintf(args, sizeof args, "dump --state '%s'", dir);
    ok(run_state(args, out, sizeof out) == 1 && contains(out, "  mm: null\n") &&
           contains(out, "  other: 1\n"),
       "the text dump too, the other strategies printed");
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/lutra-state-XXXXXX");
    if (!mkdtemp(root))
        bail_out("mkdtemp: %s", strerror(errno));
    plan(114 + 2 * 16 + 9);
    test_round_trip();
    test_open_index();
    test_fills();
    test_batches();
    test_order_seq();
    test_check();
    test_backup();
    test_map_full("full", 0);
    test_map_full("full-prepared", 1);
    writemap = 1;
    test_map_full("full-writemap", 0);
    test_prepare("prepare-writemap");
    writemap = 0;
    test_prepare("prepare");
    test_in_memory();
    test_populate();
    test_read_only();
    test_schema();
    test_not_a_store();
    test_one_writer();
    test_cli();
    test_damaged();
    test_damaged_cli();
    tap_rmtree(root);
    return done();
}
