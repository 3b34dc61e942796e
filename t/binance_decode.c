/*
 * binance_decode.c -- the Binance connector's decode, through the plugin
 * loader as lutra uses it: hand-made messages for each rule of the book
 * synchronisation (buffering, dropping, gaps, stale snapshots, USD-M pu
 * chaining), trades, bookTicker quotes, refusals, level shapes, a
 * 5,000-level snapshot; then the real spot and USD-M captures, checking the
 * built L2 book against every bookTicker that reports the same update id.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "book.h"
#include "instrument.h"
#include "json.h"
#include "plugin.h"
#include "tap.h"

#define SINK_MAX 256

/* Events one decode call emitted. */
typedef struct sink {
    lutra_event ev[SINK_MAX];
    size_t n;
    size_t overflow;
    uint64_t deltas; /* every BOOK_DELTA, past SINK_MAX too, folded in order */
} sink;

/* Fold a level into h: order matters, as in a book built from them. */
static uint64_t fold_level(uint64_t h, int64_t price, int64_t qty, int bid)
{
    return (h * 1000003u) ^ ((uint64_t)price * 31u + (uint64_t)qty * 7u + (uint64_t)bid);
}

static int collect(void *ud, const lutra_event *ev)
{
    sink *s = ud;
    if (ev->h.type == LUTRA_EV_BOOK_DELTA)
        s->deltas = fold_level(s->deltas, ev->delta.price, ev->delta.qty,
                               !!(ev->h.flags & LUTRA_F_BID));
    if (s->n == SINK_MAX) {
        s->overflow++;
        return 0;
    }
    s->ev[s->n++] = *ev;
    return 0;
}

static plugin_handle *binance;

typedef struct fixture {
    instrument_registry *reg;
    plugin_instance *pi;
    sink out;
} fixture;

static void fixture_open(fixture *f, const char *const *conf)
{
    char err[512];
    memset(f, 0, sizeof *f);
    f->reg = instrument_registry_new();
    f->pi = plugin_instance_create(binance, f->reg, conf, collect, &f->out, err, sizeof err);
    if (!f->pi)
        bail_out("binance instance: %s", err);
}

static void fixture_close(fixture *f)
{
    plugin_instance_destroy(f->pi);
    instrument_registry_free(f->reg);
}

#define MESSAGE_MAX (1 << 18)

/* Decode one message (copied with padding); the sink holds its events. */
static int feed(fixture *f, int64_t recv, const char *json)
{
    static char buf[MESSAGE_MAX + JSON_PADDING];
    size_t len = strlen(json);
    if (len > MESSAGE_MAX)
        bail_out("test message too long");
    memcpy(buf, json, len + 1);
    f->out.n = 0;
    f->out.overflow = 0;
    f->out.deltas = 0;
    return plugin_instance_decode(f->pi, recv, buf, len);
}

static size_t count(const sink *s, unsigned type)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->ev[i].h.type == type;
    return n;
}

static size_t count_status(const sink *s, unsigned state, unsigned reason)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->ev[i].h.type == LUTRA_EV_STATUS && s->ev[i].status.state == state &&
             s->ev[i].status.reason == reason;
    return n;
}

/* Index of the delta with this price (scaled), or -1. */
static int find_delta(const sink *s, int64_t price)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ev[i].h.type == LUTRA_EV_BOOK_DELTA && s->ev[i].delta.price == price)
            return (int)i;
    return -1;
}

/* Exactly one F_LAST, on the record at index last. */
static int last_only_at(const sink *s, size_t first, size_t last)
{
    for (size_t i = first; i <= last && i < s->n; i++)
        if (!!(s->ev[i].h.flags & LUTRA_F_LAST) != (i == last))
            return 0;
    return last < s->n;
}

/* ---- Spot: snapshot, then diffs; drops; gap; stale ---- */

#define SPOT_DIFF(E, U, u, b, a)                                                          \
    "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":" #E       \
    ",\"s\":\"BTCUSDT\",\"U\":" #U ",\"u\":" #u ",\"b\":[" b "],\"a\":[" a "]}}"

static void test_spot_sync(void)
{
    fixture f;
    fixture_open(&f, NULL);

    /* D1 will be in the snapshot (u <= L), D2 straddles it (U <= L+1 <= u). */
    is_int(feed(&f, 1000, SPOT_DIFF(1700000000001, 100, 105, "[\"100.10\",\"0.500\"]", "")), 0,
           "diff before the snapshot accepted");
    is_int(f.out.n, 0, "and buffered: nothing emitted");
    feed(&f, 2000, SPOT_DIFF(1700000000002, 106, 110, "[\"100.20\",\"0.250\"]",
                             "[\"101.50\",\"1.000\"],[\"101.60\",\"0.000\"]"));
    is_int(f.out.n, 0, "second diff buffered too");

    is_int(feed(&f, 3000, "{\"lastUpdateId\":107,\"bids\":[[\"100.00\",\"1.000\"],"
                          "[\"99.50\",\"2.000\"]],\"asks\":[[\"101.00\",\"3.000\"]]}"),
           0, "snapshot accepted");
    const sink *s = &f.out;
    is_int(s->n, 1 + 3 + 1 + 3, "CLEAR, 3 levels, STATUS, then the 3 levels of D2");
    ok(s->ev[0].h.type == LUTRA_EV_BOOK_CLEAR && (s->ev[0].h.flags & LUTRA_F_SNAPSHOT) &&
           !(s->ev[0].h.flags & LUTRA_F_LAST),
       "CLEAR first, a snapshot record, not last");
    ok(s->ev[1].h.type == LUTRA_EV_BOOK_DELTA && s->ev[1].delta.price == 10000 &&
           s->ev[1].delta.qty == 1000 && (s->ev[1].h.flags & LUTRA_F_BID) &&
           (s->ev[1].h.flags & LUTRA_F_SNAPSHOT),
       "first bid 100.00 x 1.000 at scales 2 and 3");
    ok(s->ev[3].delta.price == 10100 && !(s->ev[3].h.flags & LUTRA_F_BID) &&
           (s->ev[3].h.flags & LUTRA_F_ONE_TS) && s->ev[3].h.ts_exch == 3000,
       "the ask; spot snapshots carry no time: receive time, F_ONE_TS");
    ok(last_only_at(s, 0, 3), "F_LAST on the snapshot's last level only");
    ok(s->ev[4].h.type == LUTRA_EV_STATUS && s->ev[4].status.state == LUTRA_FEED_READY &&
           s->ev[4].status.reason == LUTRA_REASON_SNAPSHOT,
       "then STATUS READY/SNAPSHOT");
    is_int(find_delta(s, 10010), -1, "D1 (u <= lastUpdateId) dropped");
    int d2 = find_delta(s, 10020);
    ok(d2 == 5 && s->ev[5].h.ts_recv == 3000 && s->ev[5].h.ts_exch == 1700000000002000000LL &&
           !(s->ev[5].h.flags & LUTRA_F_SNAPSHOT),
       "D2 follows at the snapshot's receive time, its own exchange time");
    ok(last_only_at(s, 5, 7) && s->ev[7].delta.qty == 0, "D2 ends with F_LAST; qty 0 removes");

    const lutra_instrument *in = instrument_registry_get(f.reg, s->ev[0].h.instrument);
    ok(in && strcmp(in->venue, "binance") == 0 && strcmp(in->symbol, "BTCUSDT") == 0 &&
           strcmp(in->base, "BTC") == 0 && strcmp(in->quote, "USDT") == 0,
       "instrument binance BTCUSDT, BTC/USDT");
    ok(in && in->price_scale == 2 && in->size_scale == 3 && in->price_increment == 1 &&
           in->size_increment == 1 && in->kind == LUTRA_KIND_SPOT,
       "scales from the first message's decimals, increments 1");

    feed(&f, 4000, SPOT_DIFF(1700000000004, 111, 112, "[\"99.50\",\"0.000\"]", ""));
    ok(s->n == 1 && s->ev[0].h.ts_recv == 4000 && s->ev[0].delta.qty == 0 &&
           (s->ev[0].h.flags & LUTRA_F_LAST),
       "a continuing diff applies at once");
    feed(&f, 4500, SPOT_DIFF(1700000000004, 100, 112, "[\"99.40\",\"1.000\"]", ""));
    is_int(s->n, 0, "an old diff (u <= book id) is ignored");

    /* The gap: U 114 where 113 was due. */
    feed(&f, 5000, SPOT_DIFF(1700000000005, 114, 115, "[\"99.00\",\"1.000\"]", ""));
    ok(s->n == 1 && count_status(s, LUTRA_FEED_SYNCING, LUTRA_REASON_GAP) == 1,
       "a gap: one STATUS SYNCING/GAP and no levels");
    feed(&f, 6000, SPOT_DIFF(1700000000006, 116, 117, "[\"98.00\",\"1.000\"]", ""));
    is_int(s->n, 0, "after the gap diffs are buffered, no second status");
    feed(&f, 7000, "{\"lastUpdateId\":115,\"bids\":[[\"99.00\",\"1.000\"]],\"asks\":[]}");
    ok(count(s, LUTRA_EV_BOOK_CLEAR) == 1 &&
           count_status(s, LUTRA_FEED_READY, LUTRA_REASON_SNAPSHOT) == 1,
       "the next snapshot resynchronises");
    ok(find_delta(s, 9800) > 0 && s->ev[find_delta(s, 9800)].h.ts_recv == 7000,
       "and the buffered diff after it is applied");
    fixture_close(&f);
}

static void test_stale_snapshot(void)
{
    fixture f;
    fixture_open(&f, NULL);
    feed(&f, 1000, SPOT_DIFF(1700000000001, 200, 210, "[\"10.00\",\"1.0\"]", ""));
    is_int(feed(&f, 2000, "{\"lastUpdateId\":150,\"bids\":[[\"9.00\",\"1.0\"]],\"asks\":[]}"),
           0, "stale snapshot accepted");
    ok(f.out.n == 1 && count_status(&f.out, LUTRA_FEED_SYNCING, LUTRA_REASON_STALE) == 1,
       "older than the first buffered diff: STATUS SYNCING/STALE only");
    feed(&f, 3000, "{\"lastUpdateId\":205,\"bids\":[[\"9.00\",\"1.0\"]],\"asks\":[]}");
    ok(count_status(&f.out, LUTRA_FEED_READY, LUTRA_REASON_SNAPSHOT) == 1 &&
           find_delta(&f.out, 1000) > 0,
       "a newer snapshot synchronises and applies the buffered diff");
    fixture_close(&f);
}

/* Before a snapshot at most 1,000 diffs wait; the oldest go first. */
static void test_bounded_buffer(void)
{
    char msg[256];
    fixture f;
    fixture_open(&f, NULL);

    for (int id = 1; id <= 1001; id++) {
        snprintf(msg, sizeof msg,
                 "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":%d,\"u\":%d,"
                 "\"b\":[[\"1.00\",\"%d\"]],\"a\":[]}",
                 id, id, id);
        feed(&f, id, msg);
    }
    feed(&f, 2000, "{\"lastUpdateId\":0,\"bids\":[],\"asks\":[]}");
    ok(count_status(&f.out, LUTRA_FEED_SYNCING, LUTRA_REASON_STALE) == 1,
       "after 1,001 diffs the first is gone: a snapshot needing it is stale");
    feed(&f, 3000, "{\"lastUpdateId\":1,\"bids\":[],\"asks\":[]}");
    is_int(f.out.n + f.out.overflow, 1 + 1 + 1000, "CLEAR, STATUS, then the 1,000 kept diffs");
    ok(f.out.n == SINK_MAX && f.out.ev[2].delta.qty == 2, "the oldest kept is the second");
    fixture_close(&f);
}

/* ---- USD-M: pu chaining ---- */

#define USDM_DIFF(E, U, u, pu, b)                                                         \
    "{\"stream\":\"btcusdt@depth@0ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":" #E         \
    ",\"T\":" #E "0,\"s\":\"BTCUSDT\",\"U\":" #U ",\"u\":" #u ",\"pu\":" #pu ",\"b\":[" b \
    "],\"a\":[]}}"

static void test_usdm(void)
{
    fixture f;
    fixture_open(&f, NULL);
    feed(&f, 1000, USDM_DIFF(170000000001, 1000, 1010, 999, "[\"50.1\",\"1.000\"]"));
    feed(&f, 2000, USDM_DIFF(170000000002, 1015, 1020, 1010, "[\"50.2\",\"2.000\"]"));
    is_int(f.out.n, 0, "USD-M diffs buffered");
    /* u == lastUpdateId: USD-M keeps that diff as the bridge (spot would drop it). */
    feed(&f, 3000, "{\"lastUpdateId\":1020,\"E\":170000000003,\"T\":170000000002,"
                   "\"bids\":[[\"50.0\",\"5.000\"]],\"asks\":[[\"51.0\",\"1.000\"]]}");
    const sink *s = &f.out;
    ok(count_status(s, LUTRA_FEED_READY, LUTRA_REASON_SNAPSHOT) == 1, "snapshot synchronises");
    ok(s->ev[0].h.ts_exch == 170000000002000000LL && !(s->ev[0].h.flags & LUTRA_F_ONE_TS),
       "USD-M snapshot time from T");
    ok(find_delta(s, 501) < 0 && find_delta(s, 502) > 0,
       "u < L dropped, U <= L <= u applied");
    ok(s->ev[find_delta(s, 502)].h.ts_exch == 1700000000020000000LL, "diff time from T");
    const lutra_instrument *in = instrument_registry_get(f.reg, s->ev[0].h.instrument);
    ok(in && in->price_scale == 1 && in->size_scale == 3 && in->kind == LUTRA_KIND_PERPETUAL,
       "USD-M instrument: scales 1 and 3, a perpetual");

    /* U jumps (1022 after 1020) but pu chains: no gap for USD-M. */
    feed(&f, 4000, USDM_DIFF(170000000004, 1022, 1030, 1020, "[\"50.3\",\"1.000\"]"));
    ok(s->n == 1 && find_delta(s, 503) == 0, "pu == previous u continues");
    feed(&f, 5000, USDM_DIFF(170000000005, 1031, 1035, 1029, "[\"50.4\",\"1.000\"]"));
    ok(s->n == 1 && count_status(s, LUTRA_FEED_SYNCING, LUTRA_REASON_GAP) == 1,
       "pu != previous u is a gap");
    fixture_close(&f);
}

/* ---- Trades, quotes, refusals ---- */

static void test_trades_and_quotes(void)
{
    fixture f;
    fixture_open(&f, NULL);
    const sink *s = &f.out;

    is_int(feed(&f, 1000, "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":"
                          "1723161255343,\"s\":\"BTCUSDT\",\"t\":1,\"p\":\"61837.63000000\","
                          "\"q\":\"0.02000000\",\"T\":1723161255342,\"m\":true,\"M\":true}}"),
           0, "trade decoded");
    ok(s->n == 1 && s->ev[0].h.type == LUTRA_EV_TRADE && s->ev[0].trade.price == 6183763000000LL &&
           s->ev[0].trade.qty == 2000000,
       "price and qty at the 8 decimals Binance sent");
    ok(!(s->ev[0].h.flags & LUTRA_F_BUY) && !(s->ev[0].h.flags & LUTRA_F_NO_SIDE),
       "m true: the buyer made, the seller took (no F_BUY)");
    ok(s->ev[0].h.ts_exch == 1723161255342000000LL && s->ev[0].h.ts_recv == 1000,
       "exchange time from T");
    feed(&f, 1100, "{\"e\":\"aggTrade\",\"E\":1,\"s\":\"BTCUSDT\",\"a\":2,\"p\":\"61837.64\","
                   "\"q\":\"1\",\"f\":1,\"l\":2,\"T\":2,\"m\":false,\"M\":true}");
    ok(s->n == 1 && (s->ev[0].h.flags & LUTRA_F_BUY) && s->ev[0].trade.price == 6183764000000LL,
       "bare aggTrade, m false: buyer aggressor");

    is_int(feed(&f, 2000, "{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":5,\"s\":"
                          "\"BTCUSDT\",\"b\":\"61837.63000000\",\"B\":\"3.78826000\","
                          "\"a\":\"61837.64000000\",\"A\":\"1.54698000\"}}"),
           0, "spot bookTicker decoded");
    ok(s->n == 1 && s->ev[0].h.type == LUTRA_EV_QUOTE &&
           s->ev[0].quote.bid_price == 6183763000000LL && s->ev[0].quote.bid_qty == 378826000 &&
           s->ev[0].quote.ask_price == 6183764000000LL && s->ev[0].quote.ask_qty == 154698000,
       "quote: best bid and ask");
    ok(s->ev[0].h.ts_exch == 2000 && (s->ev[0].h.flags & LUTRA_F_ONE_TS),
       "spot bookTicker has no time: receive time, F_ONE_TS");

    /* A value finer than the instrument's scale is refused, never rounded. */
    is_int(feed(&f, 3000, "{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":3,"
                          "\"p\":\"61837.630000001\",\"q\":\"1\",\"T\":3,\"m\":true}"),
           -1, "a price finer than 8 decimals is refused");
    is_int(s->n, 0, "and emits nothing");
    is_int(feed(&f, 3100, SPOT_DIFF(1, 1, 2, "[\"1.00000000\",\"1\"],[\"2\",\"0.000000001\"]",
                                    "")),
           -1, "a diff with one finer quantity is refused");
    is_int(s->n, 0, "as a whole");

    is_int(feed(&f, 4000, "{\"stream\":\"btcusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1,"
                          "\"s\":\"BTCUSDT\",\"k\":{}}}"),
           1, "an unknown event returns 1");
    is_int(feed(&f, 4100, "{\"result\":null,\"id\":1}"), 1, "a subscription reply returns 1");
    is_int(feed(&f, 4200, "{\"stream\":\"btcusdt@depth5\",\"data\":{\"lastUpdateId\":1,"
                          "\"bids\":[],\"asks\":[]}}"),
           1, "a wrapped partial depth is not a REST snapshot: 1");
    is_int(feed(&f, 4300, "{\"e\":\"trade\",\"E\":1,"), -1, "malformed JSON is -1");
    is_int(feed(&f, 4400, "{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\"}"), -1,
           "a trade without its price is -1");
    fixture_close(&f);
}

static void test_usdm_quote_and_config(void)
{
    const char *conf[] = {"venue", "binance-usdm", "symbol", "ethusdt", "tick", "0.01", NULL};
    fixture f;
    fixture_open(&f, conf);
    const sink *s = &f.out;

    feed(&f, 1000, "{\"stream\":\"ethusdt@bookTicker\",\"data\":{\"e\":\"bookTicker\",\"u\":9,"
                   "\"s\":\"ETHUSDT\",\"b\":\"2683.80\",\"B\":\"1.5\",\"a\":\"2683.81\",\"A\":"
                   "\"2\",\"T\":1723161256313,\"E\":1723161256314}}");
    ok(s->n == 1 && s->ev[0].h.ts_exch == 1723161256313000000LL &&
           !(s->ev[0].h.flags & LUTRA_F_ONE_TS),
       "USD-M bookTicker: exchange time from T");
    const lutra_instrument *in = instrument_registry_get(f.reg, s->ev[0].h.instrument);
    ok(in && strcmp(in->venue, "binance-usdm") == 0 && in->price_scale == 2 &&
           in->price_increment == 1 && in->size_scale == 1,
       "venue and tick from the configuration");
    feed(&f, 2000, "{\"e\":\"trade\",\"E\":1,\"T\":1,\"s\":\"ETHUSDT\",\"t\":1,\"p\":\"2683.80\","
                   "\"q\":\"0.1\",\"X\":\"INSURANCE_FUND\",\"m\":false}");
    is_int(s->n, 0, "a USD-M insurance-fund trade is no market trade");
    /* The configured symbol owns a bare snapshot even before its depth. */
    is_int(feed(&f, 3000, "{\"lastUpdateId\":7,\"bids\":[[\"2683.80\",\"1.0\"]],\"asks\":[]}"),
           0, "snapshot for the configured symbol");
    ok(count_status(s, LUTRA_FEED_READY, LUTRA_REASON_SNAPSHOT) == 1 && in &&
           s->ev[0].h.instrument == (uint32_t)instrument_registry_find(f.reg, "binance-usdm",
                                                                       "ETHUSDT"),
       "applied to ETHUSDT");
    fixture_close(&f);
}

static void test_ambiguous_snapshot(void)
{
    fixture f;
    fixture_open(&f, NULL);
    is_int(feed(&f, 1000, "{\"lastUpdateId\":7,\"bids\":[],\"asks\":[]}"), -1,
           "a snapshot before any depth stream belongs to nobody");
    feed(&f, 1100, SPOT_DIFF(1, 1, 2, "[\"1.0\",\"1\"]", ""));
    feed(&f, 1200, "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"ETHUSDT\",\"U\":1,\"u\":2,"
                   "\"b\":[[\"1.0\",\"1\"]],\"a\":[]}");
    is_int(feed(&f, 1300, "{\"lastUpdateId\":7,\"bids\":[],\"asks\":[]}"), -1,
           "with two symbols' depth seen, a bare snapshot is ambiguous");
    f.out.n = 0;
    is_int(feed(&f, 1400, "{\"stream\":\"ethusdt@depthSnapshot\",\"data\":"
                          "{\"lastUpdateId\":1,\"bids\":[[\"1.0\",\"3\"]],\"asks\":[]}}"),
           0, "a snapshot a recording names (<symbol>@depthSnapshot) is not ambiguous");
    ok(f.out.n >= 2 && f.out.ev[0].h.type == LUTRA_EV_BOOK_CLEAR &&
           !strcmp(instrument_registry_get(f.reg, f.out.ev[0].h.instrument)->symbol,
                   "ETHUSDT"),
       "and synchronises that symbol's book");
    fixture_close(&f);
}

/* ---- Level shapes, and snapshots larger than one read ---- */

static void test_level_shapes(void)
{
    fixture f;
    fixture_open(&f, NULL);
    is_int(feed(&f, 1000, SPOT_DIFF(1, 1, 1, "[\"1.00\",\"1.000\"]", "")), 0, "a first diff");
    is_int(feed(&f, 2000, "{\"lastUpdateId\":1,\"bids\":[[\"1.00\",\"2.000\",[]]],"
                          "\"asks\":[[\"2.00\",\"3.000\",\"x\",4]]}"),
           0, "a snapshot whose levels have more elements (old messages had [])");
    ok(find_delta(&f.out, 100) == 1 && f.out.ev[1].delta.qty == 2000 &&
           find_delta(&f.out, 200) == 2 && f.out.ev[2].delta.qty == 3000,
       "price and quantity read, the rest skipped");
    is_int(feed(&f, 3000, SPOT_DIFF(1, 2, 2, "[\"1.00\",\"1.000\"],[\"1.01\"]", "")), -1,
           "a level without its quantity refuses the diff");
    is_int(f.out.n, 0, "as a whole");
    is_int(feed(&f, 3100, SPOT_DIFF(1, 2, 2, "[\"1.00\",null]", "")), -1,
           "a null quantity refuses the diff");
    is_int(feed(&f, 3200, SPOT_DIFF(1, 2, 2, "\"1.00\"", "")), -1,
           "a level that is not an array refuses the diff");
    is_int(feed(&f, 3300, SPOT_DIFF(1, 2, 2, "[\"1.00\",\"1.000\"] [\"1.01\",\"1.000\"]", "")),
           -1, "a missing comma between levels refuses the diff");
    is_int(feed(&f, 4000, SPOT_DIFF(1, 2, 2, "[\"1.02\",\"5.000\"]", "")), 0,
           "the next good diff decodes");
    ok(f.out.n == 1 && f.out.ev[0].delta.price == 102, "and applies");
    fixture_close(&f);
}

/* A 5,000-level snapshot (Binance's deepest) is read in several batches. */
static void test_deep_snapshot(void)
{
    enum { DEPTH = 5000 };
    static char msg[MESSAGE_MAX];
    size_t len = 0;
    uint64_t want = 0;
    fixture f;

    fixture_open(&f, NULL);
    feed(&f, 1000, SPOT_DIFF(1, 1, 1, "[\"1.00\",\"1.000\"]", ""));
    len += (size_t)snprintf(msg + len, sizeof msg - len, "{\"lastUpdateId\":1,\"bids\":[");
    for (int side = 1; side >= 0; side--) {
        for (int i = 0; i < DEPTH; i++) {
            /* Bids down from 50000.00, asks up from 50000.01; qty i+1 thousandths. */
            int64_t price = side ? 5000000 - i : 5000001 + i;
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s[\"%lld.%02lld\",\"%d.%03d\"]",
                                    i ? "," : "", (long long)(price / 100),
                                    (long long)(price % 100), (i + 1) / 1000, (i + 1) % 1000);
            want = fold_level(want, price, i + 1, side);
        }
        len += (size_t)snprintf(msg + len, sizeof msg - len, side ? "],\"asks\":[" : "]}");
    }
    if (len >= sizeof msg)
        bail_out("deep snapshot too long");
    is_int(feed(&f, 2000, msg), 0, "a snapshot of 5,000 levels a side (%zu bytes)", len);
    is_int(f.out.n + f.out.overflow, 1 + 2 * DEPTH + 1, "CLEAR, 10,000 levels, STATUS");
    ok(f.out.deltas == want, "every level, in order, at its price and quantity");
    fixture_close(&f);
}

/* ---- Real captures ---- */

typedef struct replay_check {
    book *bk;
    int64_t quote[4];   /* the last QUOTE: bid price, qty, ask price, qty */
    int got_quote;
    int applied_diff;   /* a non-snapshot delta came in this call */
    int snapshot;       /* a snapshot came in this call */
    long ready, gaps, stale, trades, quotes;
    long book_errors;
} replay_check;

static int apply_event(void *ud, const lutra_event *ev)
{
    replay_check *r = ud;
    switch (ev->h.type) {
    case LUTRA_EV_BOOK_CLEAR:
    case LUTRA_EV_BOOK_DELTA:
        r->book_errors += book_apply_event(r->bk, ev) != 0;
        if (ev->h.flags & LUTRA_F_SNAPSHOT)
            r->snapshot = 1;
        else
            r->applied_diff = 1;
        break;
    case LUTRA_EV_QUOTE:
        r->quote[0] = ev->quote.bid_price;
        r->quote[1] = ev->quote.bid_qty;
        r->quote[2] = ev->quote.ask_price;
        r->quote[3] = ev->quote.ask_qty;
        r->got_quote = 1;
        r->quotes++;
        break;
    case LUTRA_EV_TRADE:
        r->trades++;
        break;
    case LUTRA_EV_STATUS:
        r->ready += ev->status.state == LUTRA_FEED_READY;
        r->gaps += ev->status.reason == LUTRA_REASON_GAP;
        r->stale += ev->status.reason == LUTRA_REASON_STALE;
        break;
    }
    return 0;
}

/* The "u" of a depth diff or bookTicker line, 0 if it has none. */
static uint64_t update_id(json_parser *jp, const char *json, size_t len)
{
    json_value root, data, u;
    uint64_t id = 0;
    if (json_parse(jp, json, len, &root) != 0)
        return 0;
    if (json_field(&root, "data", &data) != 0 || json_field(&data, "u", &u) != 0 ||
        json_uint64(&u, &id) != 0)
        return 0;
    return id;
}

static int quote_matches_book(const book *bk, const int64_t q[4])
{
    book_level bid, ask;
    return book_best_bid(bk, &bid) == 0 && book_best_ask(bk, &ask) == 0 &&
           bid.price == q[0] && bid.qty == q[1] && ask.price == q[2] && ask.qty == q[3];
}

/*
 * bookTickers waiting for the depth diff with the same final id: spot's
 * real-time bookTicker arrives before the 100 ms diff that ends at the same
 * update; USD-M's either way round.
 */
#define WAITING_MAX 1024
typedef struct waiting {
    uint64_t u[WAITING_MAX];
    int64_t q[WAITING_MAX][4];
    size_t next;
} waiting;

typedef struct tally {
    long checked, mismatched;
} tally;

static void check_quote(tally *t, const book *bk, const int64_t q[4], uint64_t u, long line)
{
    t->checked++;
    if (!quote_matches_book(bk, q) && t->mismatched++ < 3)
        diag("line %ld: bookTicker u=%" PRIu64 " differs from the book", line, u);
}

/* The diff ending at u was applied: check the bookTickers that reported u. */
static void check_waiting(waiting *w, tally *t, const book *bk, uint64_t u, long line)
{
    for (size_t i = 0; i < WAITING_MAX; i++) {
        if (w->u[i] == u) {
            check_quote(t, bk, w->q[i], u, line);
            w->u[i] = 0;
        }
    }
}

static void test_capture_file(const char *rel, const char *path, long want_trades,
                              long want_quotes)
{
    size_t cap = 1 << 20;
    char *line = malloc(cap + JSON_PADDING);
    gzFile gz = gzopen(path, "rb");
    replay_check r;
    instrument_registry *reg = instrument_registry_new();
    json_parser *jp = json_parser_new();
    char err[512];
    long lines = 0, refused = 0;
    uint64_t last_applied = 0;
    static waiting w;
    tally t = {0, 0};

    if (!line || !gz || !reg || !jp)
        bail_out("cannot read %s", path);
    memset(&r, 0, sizeof r);
    memset(&w, 0, sizeof w);
    r.bk = book_new();
    plugin_instance *pi =
        plugin_instance_create(binance, reg, NULL, apply_event, &r, err, sizeof err);
    if (!pi || !r.bk)
        bail_out("binance instance: %s", err);

    while (gzgets(gz, line, (int)cap)) {
        size_t len = strlen(line);
        char *json = strchr(line, ' ');
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (!json || len == cap - 1)
            bail_out("%s:%ld: not a capture line", path, lines + 1);
        json++;
        size_t jlen = len - (size_t)(json - line);
        int64_t recv = strtoll(line, NULL, 10);
        uint64_t u = update_id(jp, json, jlen);

        r.applied_diff = r.snapshot = r.got_quote = 0;
        lines++;
        if (plugin_instance_decode(pi, recv, json, jlen) < 0) {
            refused++;
            continue;
        }
        if (r.snapshot)
            last_applied = 0; /* the buffered diffs' ids are not known here */
        if (r.applied_diff && !r.snapshot) {
            last_applied = u;
            check_waiting(&w, &t, r.bk, u, lines);
        }
        if (r.got_quote && u && u == last_applied) {
            check_quote(&t, r.bk, r.quote, u, lines);
        } else if (r.got_quote && u) {
            w.u[w.next] = u;
            memcpy(w.q[w.next], r.quote, sizeof r.quote);
            w.next = (w.next + 1) % WAITING_MAX;
        }
    }
    gzclose(gz);

    diag("%s: %ld lines, %ld trades, %ld quotes, %ld bookTickers checked against the book",
         rel, lines, r.trades, r.quotes, t.checked);
    is_int(refused, 0, "%s: every line decoded", rel);
    is_int(r.ready, 1, "%s: synchronised once", rel);
    is_int(r.gaps + r.stale, 0, "%s: no gap, no stale snapshot", rel);
    is_int(r.book_errors, 0, "%s: every book event applied", rel);
    is_int(r.trades, want_trades, "%s: every trade", rel);
    is_int(r.quotes, want_quotes, "%s: every bookTicker", rel);
    ok(t.checked > 100, "%s: %ld bookTickers at a diff's final id", rel, t.checked);
    is_int(t.mismatched, 0, "%s: each equals the book's best bid and ask", rel);

    plugin_instance_destroy(pi);
    book_free(r.bk);
    json_parser_free(jp);
    instrument_registry_free(reg);
    free(line);
}

#define CAPTURE_TESTS 8

/* A real capture from the shared data (hftbacktest/REL.gz): CAPTURE_TESTS
 * tests, skipped when the data is absent. */
static void test_capture(const char *rel, long want_trades, long want_quotes)
{
    char file[PATH_MAX];
    const char *found;

    snprintf(file, sizeof file, "hftbacktest/%s.gz", rel);
    if (!(found = tap_shared_data_opt(file))) {
        skip(CAPTURE_TESTS, tap_shared_data_missing(file));
        return;
    }
    snprintf(file, sizeof file, "%s", found);
    test_capture_file(rel, file, want_trades, want_quotes);
}

int main(void)
{
    char path[PATH_MAX], err[512];
    const char *dir = getenv("LUTRA_PLUGIN_PATH");

    plan(90);
    if (plugin_find("binance", NULL, 0, path, sizeof path, err, sizeof err) != 0)
        bail_out("%s (dir %s)", err, dir ? dir : "-");
    binance = plugin_load(path, err, sizeof err);
    if (!binance)
        bail_out("%s", err);

    test_spot_sync();
    test_stale_snapshot();
    test_bounded_buffer();
    test_usdm();
    test_trades_and_quotes();
    test_usdm_quote_and_config();
    test_ambiguous_snapshot();
    test_level_shapes();
    test_deep_snapshot();
    test_capture("spot/btcusdt_20240808", 9757, 28040);
    test_capture("usdm/btcusdt_20240808", 21313, 66089);

    plugin_unload(binance);
    return done();
}
