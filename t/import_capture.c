/*
 * import_capture.c -- raw Binance captures decoded by the binance connector:
 * detection, a small capture (plain and gzip), bad lines, and the real spot
 * capture of hftbacktest with its known message counts.
 */
#include <stdlib.h>

#include "import_test.h"

#define TRADE_LINE(ns, id, price, m)                                                       \
    ns " {\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1723161255208,"     \
       "\"s\":\"BTCUSDT\",\"t\":" id ",\"p\":\"" price "\",\"q\":\"0.00100000\","          \
       "\"T\":1723161255207,\"m\":" m ",\"M\":true}}\n"

static const char *small =
    TRADE_LINE("1723161253937085768", "1", "61837.63000000", "true")
    TRADE_LINE("1723161253937085769", "2", "61837.64000000", "false");

static void small_capture(void)
{
    const char *p = it_write("small.capture", small);
    const char *gz = it_write("small.capture.gz", small);

    /* The connector is found through LUTRA_PLUGIN_PATH (t/run-tests sets it). */
    is_int(it_import1(p, NULL), 0, "a capture is detected and decoded: %s", it_last.err);
    is_int(it_last.n, 2, "two trades");
    ok(it_last.n == 2 && it_last.ev[0].h.type == LUTRA_EV_TRADE &&
           it_last.ev[0].h.ts_recv == INT64_C(1723161253937085768),
       "received at the line's ns time");
    ok(it_last.n == 2 && !(it_last.ev[0].h.flags & LUTRA_F_BUY) &&
           (it_last.ev[1].h.flags & LUTRA_F_BUY),
       "buyer maker: the aggressor sold; otherwise bought");
    ok(it_last.ninst == 1 && !strcmp(it_last.inst[0].symbol, "BTCUSDT") &&
           !strcmp(it_last.inst[0].venue, "binance"),
       "the connector's instrument");
    is_int(it_import1(gz, NULL), 0, "the same capture gzip-compressed");
    is_int(it_last.n, 2, "gives the same two trades");
}

static void bad_lines(void)
{
    char text[2048];
    const char *p;
    char want[512];
    import_options opt;

    snprintf(text, sizeof text, "%s%s%s",
             TRADE_LINE("1723161253937085768", "1", "61837.63000000", "true"),
             "{\"no\":\"time\"}\n",
             TRADE_LINE("1723161253937085770", "3", "61837.65000000", "false"));
    p = it_write("bad.capture", text);
    is_int(it_import1(p, "binance-capture"), -1, "a line without its receive time stops");
    snprintf(want, sizeof want, "%s:2:1: no receive time in ns before the message", p);
    is_str(it_last.err, want, "named by file, line and column");
    ok(!it_exists(it_path("out.lev")), "no output left");

    memset(&opt, 0, sizeof opt);
    opt.quiet = 1;
    opt.skip_bad = 1;
    is_int(it_import(&opt, &p, 1), 0, "--skip-bad goes on");
    ok(it_last.rep.bad_rows == 1 && it_last.n == 2, "one bad line counted, two trades kept");
}

static void spot_capture(void)
{
    const char *p = it_shared("hftbacktest/spot/btcusdt_20240808.gz");
    size_t deltas;

    if (!p) {
        skip(9, "shared data absent");
        return;
    }

    is_int(it_import1(p, NULL), 0, "the hftbacktest spot capture is imported: %s", it_last.err);
    is_int(it_last.rep.rows, 41249, "41,249 lines read");
    is_int(it_last.rep.gaps, 0, "no sequence gap");
    is_int(it_count(LUTRA_EV_TRADE, 0), 9757, "9,757 trades");
    is_int(it_count(LUTRA_EV_QUOTE, 0), 28040, "28,040 bookTicker quotes");
    is_int(it_count(LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT), 1, "one snapshot");
    deltas = it_count(LUTRA_EV_BOOK_DELTA, 0);
    ok(deltas > 2000, "%zu book deltas from the snapshot and the depth diffs", deltas);
    ok(it_in_order(), "in receive-time order");
    ok(it_last.ninst == 1 && it_last.inst[0].price_scale == 8 && it_last.inst[0].size_scale == 8,
       "BTCUSDT with the connector's scales");
}

int main(void)
{
    plan(21);
    it_setup();
    small_capture();
    bad_lines();
    spot_capture();
    return done();
}
