/*
 * bench/reload_gap.c -- how long market data pauses while a connector is
 * reloaded (`lutra ctl reload-plugin`, docs/hot-reload.md).
 *
 *   reload_gap [--reloads N] [--every-ms MS]
 *
 * The live driver (core/live.h; mode paper, market data only: no keys
 * needed) runs the Binance connector against the mock Binance exchange
 * (t/mock_binance), in-process on loopback. The mock prints a trade every millisecond. Every --every-ms
 * (default 300) the connector is reloaded (live_reload_plugin: a fresh copy
 * of build/plugins/binance.so, the old instance destroyed, the new one
 * connecting from nothing), --reloads times (default 20). For each reload,
 * from the last market message the driver handled before it:
 *   - the gap to the first message after it (market data flows again);
 *   - the gap to the first depth snapshot after it (the book is whole
 *     again: its REST snapshot, which the connector asks for once its
 *     stream is open).
 * and how long the reload call itself holds the loop (load, destroy the
 * old instance, create and start the new one). Prints the median and the
 * worst of each.
 *
 * Run from the repository root with LUTRA_PLUGIN_PATH naming the folder of
 * binance.so (bench/run sets it).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "mock_binance.h"
#include "bench.h"

#define SYM "BTCUSDT"
#define NS_PER_MS INT64_C(1000000)
#define RELOADS_MAX 1000

typedef struct bench {
    live *lv;
    mock_binance *mx;
    int reloads, every_ms;
    int done;                 /* reloads made */
    int64_t last_msg;         /* loop time of the last market message */
    int64_t before;           /* last_msg when the reload ran; 0: none pending */
    int waiting_msg, waiting_snapshot;
    int64_t gap_msg[RELOADS_MAX], gap_snapshot[RELOADS_MAX], call[RELOADS_MAX];
    int nmsg, nsnapshot;
    uint64_t trades;
    int failed;
} bench;

static void on_message(void *ud, int64_t recv_ns, const char *msg, size_t len)
{
    bench *b = ud;
    int64_t now = loop_now_ns();
    (void)recv_ns;

    b->last_msg = now;
    if (b->waiting_msg) {
        b->gap_msg[b->nmsg++] = now - b->before;
        b->waiting_msg = 0;
    }
    if (b->waiting_snapshot && memmem(msg, len, "@depthSnapshot", 14)) {
        b->gap_snapshot[b->nsnapshot++] = now - b->before;
        b->waiting_snapshot = 0;
    }
}

static void feed(loop_timer *t, void *ud)
{
    bench *b = ud;
    char err[256];
    (void)t;

    if (mock_binance_trade(b->mx, SYM, b->trades % 2 ? "60000.5" : "60000", "0.001",
                           (int)(b->trades % 2), err, sizeof err) != 0) {
        fprintf(stderr, "reload_gap: trade: %s\n", err);
        b->failed = 1;
        live_request_stop(b->lv);
    }
    b->trades++;
}

static void reload(loop_timer *t, void *ud)
{
    bench *b = ud;
    char err[2048];
    int64_t started;
    int rc;
    (void)t;

    if (b->waiting_msg || b->waiting_snapshot || b->last_msg == 0)
        return; /* the previous one has not resumed yet, or nothing flows */
    if (b->done == b->reloads) {
        live_request_stop(b->lv);
        return;
    }
    b->before = b->last_msg;
    b->waiting_msg = b->waiting_snapshot = 1;
    started = loop_now_ns();
    rc = live_reload_plugin(b->lv, "binance", err, sizeof err);
    b->call[b->done] = loop_now_ns() - started;
    if (rc != 0) {
        fprintf(stderr, "reload_gap: reload: %s\n", err);
        b->failed = 1;
        live_request_stop(b->lv);
        return;
    }
    b->done++;
}

static void deadline(loop_timer *t, void *ud)
{
    bench *b = ud;
    (void)t;
    fprintf(stderr, "reload_gap: deadline passed after %d reloads\n", b->done);
    b->failed = 1;
    live_request_stop(b->lv);
    live_request_stop(b->lv);
}

static void report(const char *what, int64_t *v, int n)
{
    if (n == 0) {
        printf("%-40s none measured\n", what);
        return;
    }
    bench_sort_i64(v, (size_t)n);
    printf("%-40s median %7.1f ms   worst %7.1f ms   (%d reloads)\n", what,
           (double)v[n / 2] / 1e6, (double)v[n - 1] / 1e6, n);
}

static mock_binance *start_mock(void)
{
    mock_binance_options mo;
    mock_binance *mx;
    char err[1024];

    memset(&mo, 0, sizeof mo);
    if (!(mx = mock_binance_start(&mo, err, sizeof err))) {
        fprintf(stderr, "reload_gap: mock: %s\n", err);
        return NULL;
    }
    if (mock_binance_set_level(mx, SYM, 1, "59999", "1", err, sizeof err) != 0 ||
        mock_binance_set_level(mx, SYM, 0, "60001", "1", err, sizeof err) != 0) {
        fprintf(stderr, "reload_gap: mock: %s\n", err);
        mock_binance_stop(mx);
        return NULL;
    }
    mock_binance_flush(mx);
    return mx;
}

static int run(bench *b, char *err, size_t errlen)
{
    live_options lo = {.lib_path = "scripts/lib", .no_signals = 1, .market_only = 1,
                       .no_watch = 1, .record = on_message, .record_ud = b};
    config *cfg = malloc(sizeof *cfg);
    char text[1024];
    int rc = -1;

    if (!cfg) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(text, sizeof text,
             "return { mode = 'paper', log = { level = 'warn' },\n"
             "  venues = { binance = { connector = 'binance',\n"
             "    rest_url = 'http://127.0.0.1:%d', ws_url = 'ws://127.0.0.1:%d',\n"
             "    symbols = { '" SYM "' } } } }\n",
             mock_binance_rest_port(b->mx), mock_binance_ws_port(b->mx));
    if (config_load_string("reload-gap", text, cfg, err, errlen) == 0 &&
        (b->lv = live_new(cfg, &lo, err, errlen)) &&
        loop_timer_add(live_loop(b->lv), NS_PER_MS, NS_PER_MS, feed, b, err, errlen) &&
        loop_timer_add(live_loop(b->lv), b->every_ms * NS_PER_MS, b->every_ms * NS_PER_MS,
                       reload, b, err, errlen) &&
        loop_timer_add(live_loop(b->lv), (int64_t)(b->reloads + 10) * b->every_ms * 4 *
                                             NS_PER_MS, 0, deadline, b, err, errlen))
        rc = live_run(b->lv, err, errlen);
    live_free(b->lv);
    free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    bench b;
    char err[2048];
    int rc;

    memset(&b, 0, sizeof b);
    b.reloads = 20;
    b.every_ms = 300;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reloads") && i + 1 < argc)
            b.reloads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--every-ms") && i + 1 < argc)
            b.every_ms = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: reload_gap [--reloads N] [--every-ms MS]\n");
            return 2;
        }
    }
    if (b.reloads < 1 || b.reloads > RELOADS_MAX || b.every_ms < 10) {
        fprintf(stderr, "reload_gap: --reloads 1..%d, --every-ms >= 10\n", RELOADS_MAX);
        return 2;
    }
    log_set_level(LOG_WARN);
    if (!(b.mx = start_mock()))
        return 1;
    rc = run(&b, err, sizeof err);
    mock_binance_stop(b.mx);
    if (rc != 0 || b.failed) {
        fprintf(stderr, "reload_gap: %s\n", rc != 0 ? err : "failed");
        return 1;
    }
    printf("connector reloads: %d, a trade every 1 ms (%" PRIu64 " trades made)\n", b.done,
           b.trades);
    report("last message before -> first after", b.gap_msg, b.nmsg);
    report("last message before -> book snapshot", b.gap_snapshot, b.nsnapshot);
    report("the reload call (loop busy)", b.call, b.done);
    return 0;
}
