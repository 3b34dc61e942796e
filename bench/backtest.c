/*
 * bench/backtest.c -- whole backtests, timed.
 *
 *   backtest tick FILE.lev    a strategy whose on_book reads the best bid and
 *                             ask on every book update: events per second
 *   backtest bar FILE.lev     the same over the bars of a file
 *   backtest bar [N]          a 10/30 SMA crossover over N bars
 *                             (default 1,000,000; generated, imported, run):
 *                             bars per second
 *
 * The strategies are in bench/strategies/. Runs from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backtest.h"
#include "import.h"
#include "rng.h"

static int bench_run(const char *strategy, const char *data, const char *label)
{
    backtest_options opt;
    backtest_result res;
    const char *files[1] = {data};
    char err[4096];

    memset(&opt, 0, sizeof opt);
    opt.strategy_path = strategy;
    opt.data = files;
    opt.ndata = 1;
    opt.cash = 1e9;
    opt.fee_maker_bps = opt.fee_taker_bps = -1;
    opt.from = INT64_MIN;
    opt.to = INT64_MAX;
    opt.lib_path = "scripts/lib";
    opt.quiet = 1;
    if (backtest_run(&opt, &res, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "bench backtest: %s\n", err);
        return -1;
    }
    printf("%s_events: %llu\n", label, (unsigned long long)res.events);
    printf("%s_wall: %.3f s\n", label, res.wall_seconds);
    printf("%s_rate: %.2f M%s/s\n", label, (double)res.events / res.wall_seconds / 1e6,
           strcmp(label, "bar") ? "messages" : "bars");
    printf("%s_records: %llu\n", label, (unsigned long long)res.records);
    printf("%s_record_rate: %.2f Mrecords/s\n", label,
           (double)res.records / res.wall_seconds / 1e6);
    return res.strategy_failed ? -1 : 0;
}

/* N bars of a random walk, as an OHLCV CSV, imported to a .lev. They are a
 * minute apart: a million daily bars would run past the year 2262, the end of
 * int64 nanoseconds. */
static int bench_make_bars(long n, char *lev, size_t cap)
{
    char csv[] = "/tmp/lutra-bench-bars-XXXXXX";
    const char *in[1] = {csv};
    import_options io;
    import_report rep;
    char err[1024];
    double close = 100.0;
    int64_t day = 0;
    rng r;
    FILE *f;
    int fd = mkstemp(csv);

    if (fd < 0 || !(f = fdopen(fd, "w")))
        return -1;
    rng_seed(&r, 42, 0);
    fprintf(f, "timestamp,open,high,low,close,volume\n");
    for (long i = 0; i < n; i++, day += 60) {
        double open = close, chg = rng_normal(&r) * 0.02;
        close = open * (1.0 + chg);
        if (close < 1)
            close = 1;
        fprintf(f, "%lld,%.2f,%.2f,%.2f,%.2f,%ld\n", (long long)day, open,
                (open > close ? open : close) * 1.005, (open < close ? open : close) * 0.995,
                close, 1000 + i % 500);
    }
    fclose(f);
    snprintf(lev, cap, "%s.lev", csv);
    memset(&io, 0, sizeof io);
    io.symbol = "BENCH/USD";
    io.quiet = 1;
    if (import_run(&io, in, 1, lev, &rep, err, sizeof err) < 0) {
        fprintf(stderr, "bench backtest: import: %s\n", err);
        unlink(csv);
        return -1;
    }
    unlink(csv);
    return 0;
}

int main(int argc, char **argv)
{
    char lev[64];
    long n;
    int rc;

    if (argc >= 3 && !strcmp(argv[1], "tick"))
        return bench_run("bench/strategies/book_reader.lua", argv[2], "tick") ? 1 : 0;
    if (argc >= 3 && !strcmp(argv[1], "bar") && access(argv[2], R_OK) == 0)
        return bench_run("bench/strategies/sma_bars.lua", argv[2], "bar") ? 1 : 0;
    if (argc >= 2 && !strcmp(argv[1], "bar")) {
        n = argc >= 3 ? atol(argv[2]) : 1000000;
        if (bench_make_bars(n, lev, sizeof lev) < 0)
            return 1;
        rc = bench_run("bench/strategies/sma_bars.lua", lev, "bar");
        unlink(lev);
        return rc ? 1 : 0;
    }
    fprintf(stderr, "usage: backtest tick FILE.lev | backtest bar [N]\n");
    return 2;
}
