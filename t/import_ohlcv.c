/*
 * import_ohlcv.c -- OHLCV CSV with a header: Yahoo's layout, a banner line,
 * rows newest first, the unnamed index column, times as dates, date-times
 * and epoch counts, the interval inferred from the spacing, symbols, bad
 * rows (null, duplicates), and the real Yahoo and Bitstamp files.
 */
#include "fixed.h"
#include "import_test.h"

#define DAY (INT64_C(86400) * 1000000000)
#define HOUR (INT64_C(3600) * 1000000000)
/* 2024-01-01T00:00:00Z in ns. */
#define JAN1 (INT64_C(1704067200) * 1000000000)

static void yahoo_small(void)
{
    const char *p = it_write("spy.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n"
                                        "2024-01-01,1,2,0.5,1.5,1.4,10\n"
                                        "2024-01-02,1.5,2,1,1.25,1.2,11\n"
                                        "2024-01-05,1.25,1.3,1.1,1.2,1.1,12\n");
    const lutra_bar *b;

    is_int(it_import1(p, NULL), 0, "Yahoo layout detected and imported");
    is_int(it_last.n, 3, "three bars");
    b = &it_last.ev[0].bar;
    ok(b->h.ts_exch == JAN1 && b->h.ts_recv == JAN1 + DAY,
       "open at the date, received a day later (interval from the spacing)");
    is_int(b->h.flags, LUTRA_F_ONE_TS, "one timestamp");
    ok(b->open == 100 && b->high == 200 && b->low == 50 && b->close == 150 && b->volume == 10,
       "OHLC at scale 2 (1.25), volume at 0; Adj Close ignored");
    is_int(it_last.ev[2].bar.h.ts_recv, JAN1 + 5 * DAY, "a gap does not widen the interval");
    ok(!strcmp(it_last.inst[0].symbol, "spy") && !strcmp(it_last.inst[0].venue, "csv") &&
           !strcmp(it_last.inst[0].quote, "USD"),
       "symbol from the file name, venue csv, quote USD");
}

static void reversed_with_banner(void)
{
    const char *p = it_write("cdd.csv",
                             "https://www.CryptoDataDownload.com\n"
                             "unix,date,symbol,open,high,low,close,Volume BTC,Volume USD\n"
                             "1704074400,2024-01-01 02:00:00,BTC/USD,3,4,2,3.5,7,21\n"
                             "1704070800,2024-01-01 01:00:00,BTC/USD,2,3,1,3,6,12\n"
                             "1704067200,2024-01-01 00:00:00,BTC/USD,1,2,0.5,2,5.5,5\n");

    is_int(it_import1(p, NULL), 0, "a banner line, then the header");
    ok(it_last.n == 3 && it_in_order() && it_last.ev[0].h.ts_exch == JAN1,
       "rows newest first come out oldest first");
    is_int(it_last.ev[0].h.ts_recv, JAN1 + HOUR, "hourly: received at the hour's end");
    ok(it_last.ev[0].bar.volume == 55 && it_last.ev[2].bar.volume == 70,
       "the first Volume column (base asset)");
    ok(!strcmp(it_last.inst[0].symbol, "BTC/USD") && !strcmp(it_last.inst[0].base, "BTC") &&
           !strcmp(it_last.inst[0].quote, "USD"),
       "symbol column BTC/USD split into base and quote");
}

static void times_and_index(void)
{
    const char *iso = it_write("iso.csv", ",Open,High,Low,Close,Volume\n"
                                          "2024-01-01 00:00:00.000000,1,1,1,1,1\n"
                                          "2024-01-01T00:01:00Z,1,1,1,1,1\n");
    const char *ms = it_write("ms.csv", "timestamp,open,high,low,close,volume\n"
                                        "1704067200000,1,1,1,1,1\n1704067500000,1,1,1,1,1\n");
    const char *us = it_write("us.csv", "Time,OPEN,HIGH,LOW,CLOSE\n"
                                        "1704067200000000,1,1,1,1\n1704067260000000,1,1,1,1\n");

    is_int(it_import1(iso, NULL), 0, "an unnamed first column (backtesting.py) with date-times");
    ok(it_last.ev[0].h.ts_exch == JAN1 && it_last.ev[0].h.ts_recv == JAN1 + 60000000000,
       "one-minute bars");
    is_int(it_import1(ms, NULL), 0, "unix ms");
    is_int(it_last.ev[0].h.ts_recv, JAN1 + 300000000000, "five-minute bars");
    is_int(it_import1(us, NULL), 0, "unix µs, upper-case names, no volume");
    ok(it_last.ev[0].h.ts_exch == JAN1 && it_last.ev[0].bar.volume == 0, "volume 0");
}

static void symbols(void)
{
    const char *p = it_write("bars.csv", "Date,Open,High,Low,Close,Volume\n"
                                         "2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1,2,0.5,1.5,10\n");
    import_options opt;

    memset(&opt, 0, sizeof opt);
    opt.quiet = 1;
    opt.symbol = "ETH/EUR";
    opt.venue = "kraken";
    is_int(it_import(&opt, &p, 1), 0, "--symbol BASE/QUOTE and --venue");
    ok(!strcmp(it_last.inst[0].symbol, "ETH/EUR") && !strcmp(it_last.inst[0].base, "ETH") &&
           !strcmp(it_last.inst[0].quote, "EUR") && !strcmp(it_last.inst[0].venue, "kraken"),
       "are used");
}

static void bad_rows(void)
{
    const char *nul = it_write("null.csv", "Date,Open,High,Low,Close,Volume\n"
                                           "2024-01-01,1,2,0.5,1.5,10\n"
                                           "2024-01-02,null,2,0.5,1.5,10\n"
                                           "2024-01-03,1,2,,1.5,10\n"
                                           "2024-01-04,1,2,0.5,1.5,10\n");
    const char *dup = it_write("dup.csv", "Date,Open,High,Low,Close,Volume\n"
                                          "2024-01-01,1,2,0.5,1.5,10\n"
                                          "2024-01-02,1,2,0.5,1.5,10\n"
                                          "2024-01-01,3,3,3,3,3\n");
    const char *one = it_write("one.csv", "Date,Open,High,Low,Close,Volume\n"
                                          "2024-01-01,1,2,0.5,1.5,10\n");
    char want[512];
    import_options opt;

    is_int(it_import1(nul, NULL), -1, "a null value stops the import");
    snprintf(want, sizeof want, "%s:3:12: price 'null' is not a decimal number", nul);
    is_str(it_last.err, want, "named with file, line and column");
    ok(!it_exists(it_path("out.lev")), "no output file left");
    memset(&opt, 0, sizeof opt);
    opt.quiet = 1;
    opt.skip_bad = 1;
    is_int(it_import(&opt, &nul, 1), 0, "--skip-bad");
    ok(it_last.rep.bad_rows == 2 && it_last.n == 2, "null and empty rows skipped");

    is_int(it_import1(dup, NULL), -1, "a duplicate bar time stops the import");
    snprintf(want, sizeof want, "%s:4:1: duplicate bar time", dup);
    is_str(it_last.err, want, "naming the later row");
    is_int(it_import(&opt, &dup, 1), 0, "--skip-bad drops it");
    ok(it_last.n == 2 && it_last.ev[0].bar.open == 10 && it_last.rep.bad_rows == 1,
       "the first of the two is kept");

    is_int(it_import1(one, NULL), -1, "one bar alone has no interval");
    ok(strstr(it_last.err, "cannot infer the bar interval") != NULL, "%s", it_last.err);
}

static void shared_files(void)
{
    const char *orcl = it_shared("backtrader/orcl-1995-2014.txt");
    const char *bitstamp = it_shared("price-data/Bitstamp_BTCUSD_d.csv");
    const lutra_bar *b;
    int64_t f;

    if (!orcl || !bitstamp) {
        skip(10, "shared data absent");
        return;
    }

    is_int(it_import1(orcl, NULL), 0, "Yahoo orcl-1995-2014.txt imported");
    is_int(it_last.n, 5036, "5,036 daily bars");
    b = &it_last.ev[0].bar;
    f = fixed_pow10(it_last.inst[0].price_scale - 6);
    ok(b->h.ts_exch == INT64_C(789091200) * 1000000000 && b->h.ts_recv == b->h.ts_exch + DAY,
       "1995-01-03, received a day later");
    ok(b->open == 2179012 * f && b->close == 2117284 * f && b->volume == 36301200,
       "O=2.179012 C=2.117284 V=36301200");
    is_str(it_last.inst[0].symbol, "orcl-1995-2014", "symbol from the file name");

    is_int(it_import1(bitstamp, NULL), 0, "Bitstamp daily (banner, newest first) imported");
    is_int(it_last.n, 2823, "2,823 bars");
    ok(it_in_order() && it_last.ev[0].h.ts_exch == INT64_C(1417132800) * 1000000000,
       "sorted: 2014-11-28 first");
    b = &it_last.ev[0].bar;
    f = fixed_pow10(it_last.inst[0].price_scale - 2);
    ok(b->open == 36359 * f && b->close == 37628 * f, "its O=363.59 C=376.28");
    is_int(it_last.ev[it_last.n - 1].h.ts_exch, INT64_C(1660953600) * 1000000000,
           "2022-08-20 last");
}

int main(void)
{
    plan(41);
    it_setup();
    yahoo_small();
    reversed_with_banner();
    times_and_index();
    symbols();
    bad_rows();
    shared_files();
    return done();
}
