/*
 * import_binance_csv.c -- Binance public data CSV: trades, aggTrades and
 * klines, in ms and in the µs of 2025's spot files; the aggressor side; the
 * symbol from the file name; an optional header; detection (seven fields fit
 * both trades and aggTrades); scale inference with rescaling; --tick; and
 * the real klines files under the shared data.
 */
#include "fixed.h"
#include "import_test.h"

#define MS INT64_C(1000000)
#define US INT64_C(1000)

static import_options opts(const char *format)
{
    import_options opt;
    memset(&opt, 0, sizeof opt);
    opt.format = format;
    opt.quiet = 1;
    return opt;
}

static void trades(void)
{
    const char *ms = it_write("BTCUSDT-trades-2024-08-08.csv",
                              "1,61837.63,0.001,61.83763,1723161253937,true,true\n"
                              "2,61837.64,0.5,30918.82,1723161253938,false,true\n");
    const char *us = it_write("BTCUSDT-trades-2025-01-01.csv",
                              "3,93000.1,0.002,186.0002,1735689600000123,false,true\n");

    is_int(it_import1(ms, NULL), 0, "trades (ms) detected and imported");
    is_int(it_last.n, 2, "two trades");
    is_int(it_last.ev[0].h.flags, LUTRA_F_ONE_TS, "is_buyer_maker true: the aggressor sold");
    is_int(it_last.ev[1].h.flags, LUTRA_F_ONE_TS | LUTRA_F_BUY, "false: the aggressor bought");
    ok(it_last.ev[0].h.ts_recv == 1723161253937 * MS &&
           it_last.ev[0].h.ts_exch == 1723161253937 * MS,
       "one timestamp in ms, for both");
    ok(it_last.ev[0].trade.price == 6183763 && it_last.ev[1].trade.qty == 500 &&
           it_last.ev[0].trade.qty == 1,
       "price at scale 2, sizes at 3");
    is_str(it_last.inst[0].symbol, "BTCUSDT", "symbol from the file name");
    ok(!strcmp(it_last.inst[0].venue, "binance") && !strcmp(it_last.inst[0].base, "BTC") &&
           !strcmp(it_last.inst[0].quote, "USDT"),
       "venue binance, BTC/USDT");

    is_int(it_import1(us, NULL), 0, "trades (µs, 2025) imported");
    is_int(it_last.ev[0].h.ts_recv, 1735689600000123 * US, "µs told by magnitude");
}

static void aggtrades(void)
{
    const char *spot = it_write("ETHBTC-aggTrades-2017-07-14.csv",
                                "26129,0.01633102,4.70443515,27781,27781,1500000000000,true,true\n"
                                "26130,0.01633103,1,27782,27790,1500000000100,false,true\n");
    const char *futures = it_write("ETHUSDT-aggTrades-2024-01-01.csv",
                                   "agg_trade_id,price,quantity,first_trade_id,last_trade_id,"
                                   "transact_time,is_buyer_maker\n"
                                   "1,2281.5,0.5,10,12,1704067200000,false\n");

    is_int(it_import1(spot, NULL), 0, "aggTrades (8 fields) detected and imported");
    ok(it_last.n == 2 && it_last.ev[0].h.flags == LUTRA_F_ONE_TS &&
           it_last.ev[1].h.flags == (LUTRA_F_ONE_TS | LUTRA_F_BUY),
       "sides from is_buyer_maker");
    ok(it_last.ev[0].h.ts_recv == 1500000000000 * MS && it_last.ev[0].trade.price == 1633102 &&
           it_last.ev[1].trade.qty == 100000000,
       "time from transact_time, scales 8 and 8");
    is_int(it_import1(futures, NULL), 0, "aggTrades with a header and 7 fields detected");
    ok(it_last.n == 1 && it_last.ev[0].trade.price == 22815, "the header skipped, the row read");
}

static void klines(void)
{
    const char *ms = it_write("BTCUSDT-1m-2024-01-01.csv",
                              "1704067200000,42283.58,42298.62,42261.02,42298.61,35.92724,"
                              "1704067259999,1519480.48,1327,23.30463,985617.47,0\n"
                              "1704067260000,42298.62,42320,42298.61,42320,21.37087,"
                              "1704067319999,904308.1,1003,15.49383,655619.52,0\n");
    const char *us = it_write("BTCUSDT-1m-2025-01-01.csv",
                              "1735689600000000,93576,93610.93,93537.5,93610.93,8.21827,"
                              "1735689659999999,768978.47,1564,5.15419,482285.52,0\n");
    const lutra_bar *b;

    is_int(it_import1(ms, NULL), 0, "klines (ms) detected and imported");
    b = &it_last.ev[0].bar;
    ok(b->h.type == LUTRA_EV_BAR && b->h.ts_exch == 1704067200000 * MS, "ts_exch: open time");
    is_int(b->h.ts_recv, 1704067260000 * MS, "ts_recv: close_time + 1 ms, when the bar ends");
    is_int(b->h.flags & LUTRA_F_ONE_TS, 0, "two timestamps: no F_ONE_TS");
    ok(b->open == 4228358 && b->high == 4229862 && b->low == 4226102 && b->close == 4229861 &&
           b->volume == 3592724,
       "OHLC at scale 2, volume at 5");
    ok(it_last.ev[1].bar.high == 4232000, "a later row's 42320 at scale 2");
    is_int(it_import1(us, NULL), 0, "klines (µs) imported");
    ok(it_last.ev[0].bar.h.ts_exch == 1735689600000000 * US &&
           it_last.ev[0].bar.h.ts_recv == 1735689660000000 * US,
       "µs: close_time + 1 µs");
}

/* Seven fields: spot trades (a flag 6th) and futures aggTrades (a time 6th). */
static void seven_fields(void)
{
    const char *t = it_write("X-1.csv", "1,10.5,2,21,1704067200000,true,true\n");
    const char *a = it_write("X-2.csv", "1,10.5,2,7,9,1704067200000,true\n");

    is_int(it_import1(t, NULL), 0, "seven fields with a flag 6th: trades");
    is_int(it_last.ev[0].trade.qty, 2, "qty from the 3rd field");
    is_int(it_import1(a, NULL), 0, "seven fields with a time 6th: aggTrades");
    is_int(it_last.ev[0].h.ts_recv, 1704067200000 * MS, "time from the 6th field");
}

static void symbol(void)
{
    import_options opt = opts("binance-trades");
    const char *p = it_write("trades.csv", "1,10,1,10,1704067200000,true,true\n");

    is_int(it_import1(p, "binance-trades"), -1, "a file name without SYMBOL- is refused");
    ok(strstr(it_last.err, "trades.csv") && strstr(it_last.err, "--symbol"),
       "asking for --symbol: %s", it_last.err);
    opt.symbol = "ETH/USDT";
    opt.venue = "binance-us";
    is_int(it_import(&opt, &p, 1), 0, "--symbol and --venue");
    ok(!strcmp(it_last.inst[0].symbol, "ETH/USDT") && !strcmp(it_last.inst[0].base, "ETH") &&
           !strcmp(it_last.inst[0].quote, "USDT") && !strcmp(it_last.inst[0].venue, "binance-us"),
       "are used");
}

static void scales(void)
{
    const char *p = it_write("BTCUSDT-rescale.csv", "1,100,1,100,1704067200000,true,true\n"
                                                    "2,100.25,2,200.5,1704067200001,true,true\n"
                                                    "3,99,0.5,49.5,1704067200002,true,true\n");
    const char *fine = it_write("BTCUSDT-fine.csv", "1,100.255,1,100,1704067200000,true,true\n");
    const char *off = it_write("BTCUSDT-off.csv", "1,100.3,1,100,1704067200000,true,true\n");
    import_options opt = opts(NULL);
    char want[512];

    is_int(it_import1(p, NULL), 0, "rows of growing precision");
    is_int(it_last.inst[0].price_scale, 2, "price scale 2 (100.25)");
    is_int(it_last.ev[0].trade.price, 10000, "the first price, 100, rescaled to 10000");
    ok(it_last.ev[1].trade.price == 10025 && it_last.ev[2].trade.price == 9900, "the others");
    ok(it_last.inst[0].size_scale == 1 && it_last.ev[0].trade.qty == 10 &&
           it_last.ev[2].trade.qty == 5,
       "sizes rescaled likewise");
    is_int(it_last.inst[0].price_increment, 1, "increment 1 at the finest scale");

    opt.tick = "0.01";
    is_int(it_import(&opt, &p, 1), 0, "--tick 0.01");
    ok(it_last.inst[0].price_scale == 2 && it_last.ev[0].trade.price == 10000,
       "fixes the price scale at 2 from the start");
    is_int(it_import(&opt, &fine, 1), -1, "a finer price is refused");
    snprintf(want, sizeof want, "%s:1:3: price '100.255' is finer than the tick 0.01", fine);
    is_str(it_last.err, want, "as a bad row");
    opt.tick = "0.25";
    is_int(it_import(&opt, &off, 1), -1, "a price off the tick is refused");
    ok(strstr(it_last.err, "not a multiple of the tick 0.25") != NULL, "%s", it_last.err);
}

static void bad_rows(void)
{
    const char *p = it_write("BTCUSDT-bad.csv", "1,100,1,100,1704067200000,true,true\n"
                                                "2,100,1,100,1704067200001,maybe,true\n"
                                                "3,100,1\n"
                                                "4,100,1,100,1704067200003,false,true\n");
    import_options opt = opts("binance-trades");
    char want[512];

    is_int(it_import(&opt, &p, 1), -1, "a bad flag stops the import");
    snprintf(want, sizeof want,
             "%s:2:27: is_buyer_maker 'maybe' is neither true nor false", p);
    is_str(it_last.err, want, "named with file, line and column");
    opt.skip_bad = 1;
    is_int(it_import(&opt, &p, 1), 0, "--skip-bad");
    ok(it_last.rep.bad_rows == 2 && it_last.n == 2, "two bad rows skipped, two trades kept");
}

static void shared_files(void)
{
    const char *bbgo = it_shared("bbgo/BTCUSDT-1h-2021-Q1.csv");
    const char *ada = it_shared("nautilus_trader/ADABTC-1m-2021-11-27.csv");
    const lutra_bar *b;
    int64_t f;

    if (!bbgo || !ada) {
        skip(9, "shared data absent");
        return;
    }

    is_int(it_import1(bbgo, NULL), 0, "bbgo's BTCUSDT-1h-2021-Q1.csv detected as klines");
    is_int(it_count(LUTRA_EV_BAR, 0), 2158, "2,158 bars");
    b = &it_last.ev[0].bar;
    f = fixed_pow10(it_last.inst[0].price_scale);
    ok(b->open == 2892363 * f / 100 && b->high == 2903134 * f / 100 &&
           b->low == 2869017 * f / 100 &&
           b->close == 2899513 * f / 100,
       "first bar O=28923.63 H=29031.34 L=28690.17 C=28995.13");
    is_int(b->volume, 231181144500 / fixed_pow10(8 - it_last.inst[0].size_scale),
           "V=2311.811445");
    ok(b->h.ts_exch == 1609459200000 * MS && b->h.ts_recv == 1609462800000 * MS,
       "open 2021-01-01 00:00, received at 01:00");
    is_str(it_last.inst[0].symbol, "BTCUSDT", "symbol from the file name");
    ok(it_in_order(), "in receive-time order");

    is_int(it_import1(ada, NULL), 0, "ADABTC 1m klines imported");
    ok(it_last.n == 10 && it_last.inst[0].price_scale == 8 && it_last.ev[0].bar.open == 2853,
       "ten bars, 0.00002853 at scale 8");
}

int main(void)
{
    plan(56);
    it_setup();
    trades();
    aggtrades();
    klines();
    seven_fields();
    symbol();
    scales();
    bad_rows();
    shared_files();
    return done();
}
