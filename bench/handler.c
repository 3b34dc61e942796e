/*
 * bench/handler.c -- the cost of one strategy handler call from C:
 * strategy_on_book with a handler that reads the best bid and ask through
 * the FFI book view (the target: under 50 ns), next to an empty
 * handler (the call alone) and on_trade and on_bar handlers that read
 * their view's fields.
 *
 *   handler [CALLS]        default 20,000,000 calls per case
 *
 * The strategies are written to a temporary folder; the host is a minimal
 * one holding one real book of 20 levels a side. Each case is warmed up
 * (so the JIT has compiled the handler), then timed whole with
 * CLOCK_MONOTONIC; the best of three runs is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book.h"
#include "instrument.h"
#include "strategy.h"

#define DEFAULT_CALLS 20000000L
#define RUNS 3

typedef struct bench_host {
    instrument_registry *reg;
    book *book;
    int64_t now;
} bench_host;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- A host with one instrument and its book ---- */

static int64_t host_now(void *h)
{
    return ((bench_host *)h)->now;
}

static const char *host_mode(void *h)
{
    (void)h;
    return "backtest";
}

static int32_t host_find(void *h, const char *symbol)
{
    return instrument_registry_find(((bench_host *)h)->reg, "bench", symbol);
}

static const lutra_instrument *host_get(void *h, uint32_t id)
{
    return instrument_registry_get(((bench_host *)h)->reg, id);
}

static const book *host_book(void *h, uint32_t id)
{
    (void)id;
    return ((bench_host *)h)->book;
}

static void host_metric(void *h, strategy *s, const char *name, double v)
{
    (void)h, (void)s;
    printf("    (strategy counted %s = %.0f)\n", name, v);
}

static const strategy_host_ops host_ops = {
    .now = host_now,
    .mode = host_mode,
    .instrument_find = host_find,
    .instrument_get = host_get,
    .book = host_book,
    .metric = host_metric,
};

/* ---- The strategies ---- */

static const char empty_src[] =
    "local S = {}\n"
    "function S.on_book(ctx, book) end\n"
    "return S\n";

static const char book_src[] =
    "local S = {}\n"
    "local n = 0\n"
    "function S.on_book(ctx, book)\n"
    "  local bid = book:best_bid()\n"
    "  local ask = book:best_ask()\n"
    "  if bid < ask then n = n + 1 end\n"
    "end\n"
    "function S.on_stop(ctx) ctx:metric('ordered books', n) end\n"
    "return S\n";

static const char trade_src[] =
    "local S = {}\n"
    "local v = 0\n"
    "function S.on_trade(ctx, t) v = v + t.price * t.qty end\n"
    "function S.on_stop(ctx) ctx:metric('notional', v) end\n"
    "return S\n";

static const char bar_src[] =
    "local S = {}\n"
    "local sum = 0\n"
    "function S.on_bar(ctx, bar) sum = sum + bar.close end\n"
    "function S.on_stop(ctx) ctx:metric('sum of closes', sum) end\n"
    "return S\n";

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static strategy *load(bench_host *h, const char *dir, const char *name, const char *src)
{
    char path[512], err[1024];
    strategy_config cfg;
    strategy *s;

    snprintf(path, sizeof path, "%s/%s.lua", dir, name);
    if (write_file(path, src) < 0) {
        fprintf(stderr, "handler: cannot write %s\n", path);
        return NULL;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.path = path;
    s = strategy_load(&host_ops, h, &cfg, err, sizeof err);
    if (!s)
        fprintf(stderr, "handler: %s\n", err);
    unlink(path);
    return s;
}

/* ---- Cases ---- */

typedef enum bench_case { CASE_BOOK, CASE_TRADE, CASE_BAR } bench_case;

/* ns per call of n calls, or -1 when a call failed. */
static double run(strategy *s, bench_case c, long n)
{
    lutra_trade t;
    lutra_bar b;
    int64_t t0, ts = INT64_C(1700000000000000000);
    int rc = 0;

    memset(&t, 0, sizeof t);
    t.price = 6183763;
    t.qty = 12345;
    t.h.flags = LUTRA_F_BUY;
    memset(&b, 0, sizeof b);
    b.close = 6183763;
    t0 = now_ns();
    for (long i = 0; i < n && rc == 0; i++) {
        switch (c) {
        case CASE_BOOK: rc = strategy_on_book(s, 0, ts + i); break;
        case CASE_TRADE: t.h.ts_recv = ts + i; rc = strategy_on_trade(s, &t); break;
        case CASE_BAR: b.h.ts_exch = ts + i; rc = strategy_on_bar(s, &b, 60000000000); break;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "handler: %s\n", strategy_error(s));
        return -1;
    }
    return (double)(now_ns() - t0) / (double)n;
}

static int bench(bench_host *h, const char *dir, const char *label, const char *src,
                 bench_case c, long n)
{
    strategy *s = load(h, dir, "bench", src);
    double best = 0;
    if (!s)
        return -1;
    if (run(s, c, n / 10 + 1000) < 0) {   /* warm-up: the JIT compiles the handler */
        strategy_free(s);
        return -1;
    }
    for (int r = 0; r < RUNS; r++) {
        double ns = run(s, c, n);
        if (ns < 0) {
            strategy_free(s);
            return -1;
        }
        if (r == 0 || ns < best)
            best = ns;
    }
    printf("%-44s %7.1f ns/call  (%ld calls, best of %d)\n", label, best, n, RUNS);
    strategy_on_stop(s);
    strategy_free(s);
    return 0;
}

static int setup(bench_host *h)
{
    lutra_instrument def;
    char err[256];

    memset(h, 0, sizeof *h);
    h->reg = instrument_registry_new();
    h->book = book_new();
    if (!h->reg || !h->book ||
        instrument_define(&def, "bench", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001", NULL, NULL,
                          err, sizeof err) < 0 ||
        instrument_registry_add(h->reg, &def, err, sizeof err) != 0)
        return -1;
    for (int i = 0; i < 20; i++) {
        book_apply_delta(h->book, BOOK_BID, 6183763 - i, 100000 + i);
        book_apply_delta(h->book, BOOK_ASK, 6183764 + i, 100000 + i);
    }
    h->now = INT64_C(1700000000000000000);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : DEFAULT_CALLS;
    char dir[] = "/tmp/lutra-bench-handler-XXXXXX";
    bench_host h;
    int rc = 0;

    if (n <= 0) {
        fprintf(stderr, "usage: handler [CALLS]\n");
        return 2;
    }
    if (setup(&h) < 0 || !mkdtemp(dir)) {
        fprintf(stderr, "handler: setup failed\n");
        return 1;
    }
    rc |= bench(&h, dir, "on_book, empty handler", empty_src, CASE_BOOK, n);
    rc |= bench(&h, dir, "on_book, reads best_bid and best_ask", book_src, CASE_BOOK, n);
    rc |= bench(&h, dir, "on_trade, reads price and qty", trade_src, CASE_TRADE, n);
    rc |= bench(&h, dir, "on_bar, reads close", bar_src, CASE_BAR, n);
    rmdir(dir);
    book_free(h.book);
    instrument_registry_free(h.reg);
    return rc ? 1 : 0;
}
