/*
 * import.c -- rows per second of each importer on the real files of the
 * shared data (the whole import: read, decompress, parse, buffer, sort if
 * needed, write the native file).
 *
 *   import [SHARED_DATA_DIR]      (default $LUTRA_SHARED_DATA)
 *
 * Each file is imported again until a second has passed (small files would
 * otherwise measure the clock), into a temporary file removed afterwards.
 * Prints "import <format> <file>: N rows, X rows/s" a line. Files that are
 * absent are named and skipped. The capture needs the binance connector:
 * it is looked for as usual, and beside this program's build folder.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "import.h"

#define MIN_SECONDS 1.0

static const struct {
    const char *format;
    const char *file;
} cases[] = {
    {"tardis-trades", "nautilus_trader/tardis_trades.csv"},
    {"tardis-quotes", "nautilus_trader/tardis_quotes.csv"},
    {"tardis-book", "nautilus_trader/deribit_incremental_book_L2_BTC-PERPETUAL.csv"},
    {"tardis-snapshot", "nautilus_trader/binance-futures_book_snapshot_25_BTCUSDT.csv"},
    {"binance-klines", "bbgo/BTCUSDT-1h-2021-Q1.csv"},
    {"ohlcv", "backtrader/orcl-1995-2014.txt"},
    {"ohlcv", "price-data/Bitstamp_BTCUSD_d.csv"},
    {"binance-capture", "hftbacktest/spot/btcusdt_20240808.gz"},
    {"binance-capture", "hftbacktest/usdm/btcusdt_20240808.gz"},
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Without LUTRA_PLUGIN_PATH, use the build's plugins folder (../plugins). */
static void default_plugin_path(void)
{
    char exe[4096], dir[4200];
    ssize_t n;

    if (getenv("LUTRA_PLUGIN_PATH"))
        return;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    snprintf(dir, sizeof dir, "%s/../plugins", dirname(exe));
    setenv("LUTRA_PLUGIN_PATH", dir, 1);
}

/* Import path as format until MIN_SECONDS passed. @return 0 or -1. */
static int bench_one(const char *format, const char *path, const char *out)
{
    import_options opt;
    import_report rep;
    char err[1024];
    uint64_t rows = 0;
    double start = now_seconds(), elapsed = 0;

    memset(&opt, 0, sizeof opt);
    opt.format = format;
    opt.quiet = 1;
    while (elapsed < MIN_SECONDS) {
        if (import_run(&opt, &path, 1, out, &rep, err, sizeof err) != 0) {
            fprintf(stderr, "import %s %s: %s\n", format, path, err);
            return -1;
        }
        rows += rep.rows;
        elapsed = now_seconds() - start;
    }
    printf("import %s %s: %llu rows, %.0f rows/s\n", format, path,
           (unsigned long long)rep.rows, (double)rows / elapsed);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : getenv("LUTRA_SHARED_DATA");
    char dir[] = "/tmp/lutra-bench-import-XXXXXX", out[64], path[4096];
    int failed = 0;

    if (!root || !*root) {
        fprintf(stderr, "usage: import SHARED_DATA_DIR (or set LUTRA_SHARED_DATA)\n");
        return 2;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(out, sizeof out, "%s/out.lev", dir);
    default_plugin_path();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", root, cases[i].file);
        if (access(path, R_OK) != 0) {
            printf("import %s %s: absent, skipped\n", cases[i].format, path);
            continue;
        }
        failed |= bench_one(cases[i].format, path, out) < 0;
    }
    unlink(out);
    rmdir(dir);
    return failed;
}
