/*
 * import_tardis.c -- Tardis CSV: incremental_book_L2 messages and snapshots,
 * trades' sides, quotes with an absent side, book_snapshot_N, columns found
 * by name, detection, bad rows, gzip, two files merged by receive time, and
 * the real files under the shared data.
 */
#include "fixed.h"
#include "import_test.h"

#define BOOK_HEADER "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
#define TRADES_HEADER "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"

/* Snapshot (2 asks, 1 bid) at 1000 us, two updates at 2000, a removal at
 * 3000, then a new snapshot run at 4000: it opens with a CLEAR again. */
static const char *book_csv =
    BOOK_HEADER
    "deribit,BTC-PERPETUAL,900,1000,true,ask,6421.5,18640\n"
    "deribit,BTC-PERPETUAL,900,1000,true,ask,6422,1190\n"
    "deribit,BTC-PERPETUAL,900,1000,true,bid,6421,500\n"
    "deribit,BTC-PERPETUAL,1900,2000,false,bid,6421,700\n"
    "deribit,BTC-PERPETUAL,1900,2000,false,ask,6421.5,0\n"
    "deribit,BTC-PERPETUAL,2900,3000,false,ask,6422,0\n"
    "deribit,BTC-PERPETUAL,3900,4000,true,ask,6423,10\n"
    "deribit,BTC-PERPETUAL,3900,4000,true,bid,6420.5,20\n";

static void book(void)
{
    static const struct {
        int type, flags;
        int64_t recv_us, price, qty;
    } want[] = {
        {LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 1000, 0, 0},
        {LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT, 1000, 64215, 18640},
        {LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT, 1000, 64220, 1190},
        {LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | LUTRA_F_BID | LUTRA_F_LAST, 1000, 64210, 500},
        {LUTRA_EV_BOOK_DELTA, LUTRA_F_BID, 2000, 64210, 700},
        {LUTRA_EV_BOOK_DELTA, LUTRA_F_LAST, 2000, 64215, 0},
        {LUTRA_EV_BOOK_DELTA, LUTRA_F_LAST, 3000, 64220, 0},
        {LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 4000, 0, 0},
        {LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT, 4000, 64230, 10},
        {LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | LUTRA_F_BID | LUTRA_F_LAST, 4000, 64205, 20},
    };
    size_t n = sizeof want / sizeof want[0], bad = 0;

    is_int(it_import1(it_write("book.csv", book_csv), NULL), 0, "tardis-book imported (detected)");
    is_int(it_last.n, n, "%zu records: two CLEARs and eight deltas", n);
    for (size_t i = 0; i < n && i < it_last.n; i++) {
        const lutra_event *e = &it_last.ev[i];
        if (e->h.type != want[i].type || e->h.flags != want[i].flags ||
            e->h.ts_recv != want[i].recv_us * 1000 || e->delta.price != want[i].price ||
            e->delta.qty != want[i].qty) {
            diag("record %zu: type %d flags %d recv %lld price %lld qty %lld", i, e->h.type,
                 e->h.flags, (long long)e->h.ts_recv, (long long)e->delta.price,
                 (long long)e->delta.qty);
            bad++;
        }
    }
    is_int(bad, 0, "types, flags (snapshot, side, end of message), times and values");
    is_int(it_last.ev[1].h.ts_exch, 900000, "ts_exch from timestamp, us to ns");
    is_int(it_last.inst[0].price_scale, 1, "price scale: the finest decimals used (6421.5)");
    is_int(it_last.inst[0].size_scale, 0, "size scale 0");
    is_str(it_last.inst[0].venue, "deribit", "venue from the exchange column");
    is_str(it_last.inst[0].symbol, "BTC-PERPETUAL", "symbol from the symbol column");
    is_int(it_last.rep.rows, 9, "rows read: header and eight");
}

static void columns_by_name(void)
{
    /* The same rows with price and amount swapped and an extra column. */
    const char *csv = "local_timestamp,exchange,symbol,timestamp,is_snapshot,side,amount,price,x\n"
                      "1000,deribit,BTC-PERPETUAL,900,true,ask,18640,6421.5,y\n"
                      "2000,deribit,BTC-PERPETUAL,1900,false,bid,3,6421,y\n";

    is_int(it_import1(it_write("reordered.csv", csv), "tardis-book"), 0,
           "columns in another order");
    ok(it_last.n == 3 && it_last.ev[1].delta.price == 64215 && it_last.ev[1].delta.qty == 18640 &&
           it_last.ev[2].h.ts_recv == 2000000,
       "are found by their names");
}

static void trades(void)
{
    const char *csv = TRADES_HEADER
        "bitmex,XBTUSD,1000,1100,a,buy,8531.5,2152\n"
        "bitmex,XBTUSD,2000,2100,b,sell,8531,1\n"
        "bitmex,XBTUSD,3000,3100,c,unknown,8530.5,7\n";

    is_int(it_import1(it_write("trades.csv", csv), NULL), 0, "tardis-trades detected and imported");
    ok(it_last.n == 3 && it_last.ev[0].h.type == LUTRA_EV_TRADE, "three trades");
    is_int(it_last.ev[0].h.flags, LUTRA_F_BUY, "buy: the aggressor bought");
    is_int(it_last.ev[1].h.flags, 0, "sell: no side flag");
    is_int(it_last.ev[2].h.flags, LUTRA_F_NO_SIDE, "unknown: no side known");
    ok(it_last.ev[0].trade.price == 85315 && it_last.ev[1].trade.price == 85310 &&
           it_last.ev[0].trade.qty == 2152,
       "prices at scale 1, sizes at 0");
    ok(it_last.ev[2].h.ts_exch == 3000000 && it_last.ev[2].h.ts_recv == 3100000,
       "both timestamps");
}

static void quotes(void)
{
    const char *csv = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,"
                      "bid_amount\n"
                      "binance-futures,BTCUSDT,1000,1500,0.84,9682,9681.92,0.67\n"
                      "binance-futures,BTCUSDT,2000,2500,,,9681.83,0.003\n";
    const lutra_quote *q;

    is_int(it_import1(it_write("quotes.csv", csv), NULL), 0, "tardis-quotes detected and imported");
    is_int(it_last.n, 2, "two quotes");
    q = &it_last.ev[0].quote;
    ok(q->h.type == LUTRA_EV_QUOTE && q->bid_price == 968192 && q->ask_price == 968200 &&
           q->bid_qty == 670 && q->ask_qty == 840,
       "bid and ask at scales 2 and 3");
    q = &it_last.ev[1].quote;
    ok(q->ask_price == 0 && q->ask_qty == 0 && q->bid_price == 968183 && q->bid_qty == 3,
       "an empty side is 0");
}

static void snapshots(void)
{
    const char *csv = "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,"
                      "bids[0].price,bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,"
                      "bids[1].amount\n"
                      "binance-futures,BTCUSDT,1000,1100,11.5,1,11.4,2,11.6,3,11.3,4\n"
                      "binance-futures,BTCUSDT,2000,2100,11.5,1,11.4,2,,,11.3,4\n";
    size_t clears = 0;

    is_int(it_import1(it_write("snap.csv", csv), NULL), 0, "tardis-snapshot detected and imported");
    is_int(it_last.n, 9, "two CLEARs and 4 + 3 levels (an empty level skipped)");
    for (size_t i = 0; i < it_last.n; i++)
        clears += it_last.ev[i].h.type == LUTRA_EV_BOOK_CLEAR;
    is_int(clears, 2, "a CLEAR per row");
    is_int(it_count(0, LUTRA_F_SNAPSHOT), 9, "every record is part of a snapshot");
    ok((it_last.ev[4].h.flags & LUTRA_F_LAST) && (it_last.ev[8].h.flags & LUTRA_F_LAST) &&
           it_count(0, LUTRA_F_LAST) == 2,
       "F_LAST on each row's last record only");
    ok(it_last.ev[1].delta.price == 115 && !(it_last.ev[1].h.flags & LUTRA_F_BID) &&
           it_last.ev[3].delta.price == 114 && (it_last.ev[3].h.flags & LUTRA_F_BID),
       "asks then bids, sides flagged");
}

static void bad_rows(void)
{
    const char *csv = TRADES_HEADER
        "bitmex,XBTUSD,1000,1100,a,buy,8531.5,2152\n"
        "bitmex,XBTUSD,2000,2100,b,sell,85x31,1\n"
        "bitmex,XBTUSD,3000,3100,c,left,8530,7\n"
        "bitmex,XBTUSD,4000,4100,d,buy,8530,7\n";
    const char *path = it_write("bad.csv", csv);
    char want[512];
    import_options opt;

    is_int(it_import1(path, NULL), -1, "a bad value stops the import");
    snprintf(want, sizeof want, "%s:3:32: price '85x31' is not a decimal number", path);
    is_str(it_last.err, want, "the error names file, line and column");
    ok(!it_exists(it_path("out.lev")), "no output file is left behind");

    memset(&opt, 0, sizeof opt);
    opt.quiet = 1;
    opt.skip_bad = 1;
    is_int(it_import(&opt, &path, 1), 0, "--skip-bad imports the rest");
    is_int(it_last.rep.bad_rows, 2, "two bad rows counted");
    is_int(it_last.n, 2, "two trades kept");
}

/* A trades file and a book file: one stream in receive-time order; on equal
 * times the input given first comes first. */
static void merged(void)
{
    const char *t = it_write("m-trades.csv.gz", TRADES_HEADER
                             "deribit,BTC-PERPETUAL,1,1500,a,buy,6421.5,10\n"
                             "deribit,BTC-PERPETUAL,2,3000,b,sell,6421,5\n"
                             "deribit,BTC-PERPETUAL,3,5000,c,sell,6421,5\n");
    const char *b = it_write("m-book.csv", book_csv);
    const char *inputs[2] = {t, b};
    import_options opt;
    int at3000[2] = {-1, -1};

    memset(&opt, 0, sizeof opt);
    opt.quiet = 1;
    is_int(it_import(&opt, inputs, 2), 0, "a gzip trades file and a book file merged");
    is_int(it_last.n, 13, "all 3 trades and 10 book records");
    ok(it_in_order(), "in receive-time order");
    for (size_t i = 0; i < it_last.n; i++)
        if (it_last.ev[i].h.ts_recv == 3000000)
            at3000[it_last.ev[i].h.type == LUTRA_EV_TRADE] = (int)i;
    ok(at3000[1] >= 0 && at3000[1] < at3000[0], "a tie keeps the inputs' order: the trade first");
    is_int(it_last.ninst, 1, "one instrument shared by both files");
}

static void detection(void)
{
    const char *p = it_write("mystery.csv", "a,b,c\n1,2,3\n");

    is_int(it_import1(p, NULL), -1, "an unknown layout is refused");
    ok(strstr(it_last.err, "cannot tell the format of") && strstr(it_last.err, "mystery.csv") &&
           strstr(it_last.err, "use --format (one of: tardis-book,"),
       "with the formats to choose from: %s", it_last.err);
}

static void shared_files(void)
{
    const char *trades = it_shared("nautilus_trader/tardis_trades.csv");
    const char *quotes = it_shared("nautilus_trader/tardis_quotes.csv");
    const char *l2 = it_shared("nautilus_trader/deribit_incremental_book_L2_BTC-PERPETUAL.csv");
    const char *snap = it_shared("nautilus_trader/binance-futures_book_snapshot_5_BTCUSDT.csv");

    if (!trades || !quotes || !l2 || !snap) {
        skip(13, "shared data absent");
        return;
    }

    is_int(it_import1(trades, NULL), 0, "tardis_trades.csv imported");
    is_int(it_count(LUTRA_EV_TRADE, 0), 9999, "9,999 trades");
    is_int(it_count(LUTRA_EV_TRADE, LUTRA_F_BUY), 5267, "5,267 bought");
    ok(it_in_order() && it_last.ev[0].h.ts_recv == INT64_C(1582329602418379000) &&
           it_last.ev[0].h.ts_exch == INT64_C(1582329602111000000),
       "first trade's times");
    ok(it_last.inst[0].size_scale == 3 && it_last.ev[0].trade.qty == 132 &&
           it_last.ev[0].trade.price == 9682 * (int64_t)fixed_pow10(it_last.inst[0].price_scale),
       "first trade 9682 x 0.132 at the inferred scales");

    is_int(it_import1(quotes, NULL), 0, "tardis_quotes.csv imported");
    is_int(it_count(LUTRA_EV_QUOTE, 0), 9999, "9,999 quotes");

    is_int(it_import1(l2, NULL), 0, "deribit incremental_book_L2 imported");
    ok(it_last.n == 16 && it_last.ev[0].h.type == LUTRA_EV_BOOK_CLEAR &&
           it_count(LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT) == 15,
       "one CLEAR then 15 snapshot levels");
    ok(it_count(0, LUTRA_F_LAST) == 1 && (it_last.ev[15].h.flags & LUTRA_F_LAST),
       "one message, F_LAST on its last level");

    is_int(it_import1(snap, NULL), 0, "book_snapshot_5 imported");
    is_int(it_count(LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT), 10, "ten snapshots");
    is_int(it_count(LUTRA_EV_BOOK_DELTA, 0), 100, "of 5 asks and 5 bids each");
}

int main(void)
{
    plan(54);
    it_setup();
    book();
    columns_by_name();
    trades();
    quotes();
    snapshots();
    bad_rows();
    merged();
    detection();
    shared_files();
    return done();
}
