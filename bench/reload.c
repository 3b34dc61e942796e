/*
 * bench/reload.c -- how long a strategy reload takes, from the moment its
 * file changes on disk to the first market event handled by the new code
 * (issue 6), with the pieces `lutra run` uses: the loop, the file watcher
 * (core/watch.h) with its quiet period, the engine's reload
 * (engine_reload_strategy), and a state store the reload hands ctx.state
 * through.
 *
 *   reload [--reloads N] [--quiet-ms MS] [--no-store] [--sync none]
 *
 * Book messages arrive every 200 us (a busy market). Each round rewrites
 * the strategy (a new file renamed over the old one, as an editor saves),
 * then waits for the first event the new instance handles, then pauses
 * 20 ms. Printed: the median, 90th percentile and maximum of the whole
 * (file change -> first event of the new code), of the reload alone (load,
 * state handed over, swap, free), and of the wait for the quiet period.
 * The state store lives in a temporary folder under $TMPDIR (default /tmp),
 * sync full unless --sync none.
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "instrument.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "state.h"
#include "watch.h"
#include "bench.h"

#define NS_PER_MS INT64_C(1000000)
#define FEED_EVERY_NS INT64_C(200000)
#define PAUSE_NS (20 * NS_PER_MS)
#define MAX_RELOADS 1000

typedef struct bench {
    loop *lp;
    engine *eng;
    journal *j;
    loop_deferred *flush;
    char dir[PATH_MAX];
    char script[PATH_MAX + 32];
    int reloads, done;
    strategy *before;         /* the instance running when the file changed */
    int64_t written;          /* monotonic ns of the rename, 0 when none pending */
    int64_t changed, swapped; /* the watcher's report; the reload's return */
    int64_t total[MAX_RELOADS], reload[MAX_RELOADS], quiet[MAX_RELOADS];
    int64_t price;
    uint64_t events;
    int failed;
} bench;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The strategy: counts books in ctx.state, as a real one keeps something. */
static void write_script(bench *b, int version)
{
    char tmp[PATH_MAX + 64];
    FILE *f;

    snprintf(tmp, sizeof tmp, "%s.new", b->script);
    if (!(f = fopen(tmp, "w"))) {
        perror(tmp);
        exit(1);
    }
    fprintf(f,
            "local VERSION = %d\n"
            "local S = { params = { qty = 1 } }\n"
            "function S.on_start(ctx) ctx.state.books = ctx.state.books or 0 end\n"
            "function S.on_book(ctx, book) ctx.state.books = ctx.state.books + 1 end\n"
            "function S.on_reload(ctx) ctx.state.version = VERSION end\n"
            "return S\n",
            version);
    if (fclose(f) != 0 || rename(tmp, b->script) != 0) {
        perror(b->script);
        exit(1);
    }
}

static void next_round(loop_timer *t, void *ud)
{
    bench *b = ud;
    (void)t;
    b->before = engine_strategy_at(b->eng, 0);
    b->written = mono_ns();
    write_script(b, b->reloads + 2);
}

/* The watcher: the file has been quiet long enough. */
static void on_change(void *ud, const char *path)
{
    bench *b = ud;
    char err[4096];
    (void)path;

    b->changed = mono_ns();
    if (engine_reload_strategy(b->eng, 0, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "reload: %s\n", err);
        b->failed = 1;
        loop_break(b->lp);
    }
    b->swapped = mono_ns();
}

static void flush(void *ud)
{
    engine_flush(((bench *)ud)->eng);
}

static void flush_soon(void *ud)
{
    loop_deferred_schedule(((bench *)ud)->flush);
}

static void send_book(bench *b, uint8_t type, uint8_t flags, int64_t price, int64_t qty)
{
    lutra_event ev;

    memset(&ev, 0, sizeof ev);
    ev.h.type = type;
    ev.h.flags = flags;
    ev.h.size = sizeof ev.delta;
    ev.h.instrument = 0;
    ev.h.ts_recv = ev.h.ts_exch = loop_now_ns();
    ev.delta.price = price;
    ev.delta.qty = qty;
    if (engine_on_event(b->eng, &ev) < 0) {
        fprintf(stderr, "the engine refused an event\n");
        b->failed = 1;
        loop_break(b->lp);
    }
    b->events++;
}

/* A book message; the first one after a swap ends the round. */
static void feed(loop_timer *t, void *ud)
{
    bench *b = ud;
    char err[256];
    int64_t now;
    (void)t;

    send_book(b, LUTRA_EV_BOOK_DELTA, LUTRA_F_BID | LUTRA_F_LAST, 5999900,
              100 + (int64_t)(b->events % 7));
    if (!b->written || engine_strategy_at(b->eng, 0) == b->before)
        return;
    now = mono_ns();
    b->total[b->reloads] = now - b->written;
    b->reload[b->reloads] = b->swapped - b->changed;
    b->quiet[b->reloads] = b->changed - b->written;
    b->written = 0;
    if (++b->reloads == b->done) {
        loop_break(b->lp);
        return;
    }
    if (!loop_timer_add(b->lp, PAUSE_NS, 0, next_round, b, err, sizeof err)) {
        fprintf(stderr, "timer: %s\n", err);
        loop_break(b->lp);
    }
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void report(const char *what, int64_t *v, int n)
{
    bench_sort_i64(v, (size_t)n);
    printf("  %-44s median %8.3f ms   p90 %8.3f ms   max %8.3f ms\n", what,
           (double)v[n / 2] / 1e6, (double)v[n * 9 / 10] / 1e6, (double)v[n - 1] / 1e6);
}

static int setup_store(bench *b, instrument_registry *reg, int sync_none)
{
    char path[PATH_MAX + 16], err[512];
    state_options so;
    state_store *st;

    snprintf(path, sizeof path, "%s/state", b->dir);
    memset(&so, 0, sizeof so);
    so.dir = path;
    so.sync = sync_none ? STATE_SYNC_NONE : STATE_SYNC_FULL;
    if (!(st = state_open(&so, err, sizeof err)) || !(b->j = journal_new(st, reg)) ||
        !(b->flush = loop_deferred_new(b->lp, flush, b, err, sizeof err))) {
        fprintf(stderr, "state store: %s\n", err);
        return -1;
    }
    engine_set_journal(b->eng, b->j, flush_soon, b);
    return 0;
}

int main(int argc, char **argv)
{
    static bench b;
    instrument_registry *reg = instrument_registry_new();
    lutra_instrument def;
    engine_config ec;
    strategy_config sc;
    watch *w;
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int64_t quiet_ms = 100;
    int no_store = 0, sync_none = 0;
    char err[4096];

    b.done = 50;
    log_set_level(LOG_WARN); /* not a line per reload */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reloads") && i + 1 < argc)
            b.done = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quiet-ms") && i + 1 < argc)
            quiet_ms = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--no-store"))
            no_store = 1;
        else if (!strcmp(argv[i], "--sync") && i + 1 < argc)
            sync_none = !strcmp(argv[++i], "none");
        else {
            fprintf(stderr, "usage: reload [--reloads N] [--quiet-ms MS] [--no-store] "
                            "[--sync full|none]\n");
            return 2;
        }
    }
    if (b.done < 1 || b.done > MAX_RELOADS || quiet_ms < 0) {
        fprintf(stderr, "reload: --reloads from 1 to %d, --quiet-ms from 0\n", MAX_RELOADS);
        return 2;
    }
    snprintf(b.dir, sizeof b.dir, "%s/lutra-bench-reload-XXXXXX", tmpdir);
    if (!reg || !mkdtemp(b.dir)) {
        perror("set-up");
        return 1;
    }
    snprintf(b.script, sizeof b.script, "%s/strategy.lua", b.dir);
    write_script(&b, 1);

    memset(&ec, 0, sizeof ec);
    ec.mode = "live";
    memset(&sc, 0, sizeof sc);
    sc.name = "bench";
    sc.path = b.script;
    if (instrument_define(&def, "bench", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001", NULL,
                          NULL, err, sizeof err) < 0 ||
        instrument_registry_add(reg, &def, err, sizeof err) < 0 ||
        !(b.lp = loop_new(err, sizeof err)) || !(b.eng = engine_new(&ec, reg, err, sizeof err)) ||
        (!no_store && setup_store(&b, reg, sync_none) < 0) ||
        engine_add_strategy(b.eng, &sc, err, sizeof err) < 0) {
        fprintf(stderr, "set-up: %s\n", err);
        return 1;
    }
    engine_set_clock(b.eng, loop_clock, NULL);
    if (engine_start(b.eng) < 0 ||
        !(w = watch_new(b.lp, quiet_ms * NS_PER_MS, on_change, &b, err, sizeof err)) ||
        watch_add(w, b.script, err, sizeof err) < 0 ||
        !loop_timer_add(b.lp, FEED_EVERY_NS, FEED_EVERY_NS, feed, &b, err, sizeof err) ||
        !loop_timer_add(b.lp, PAUSE_NS, 0, next_round, &b, err, sizeof err)) {
        fprintf(stderr, "start: %s\n", err);
        return 1;
    }
    send_book(&b, LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 0, 0);
    send_book(&b, LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | LUTRA_F_LAST, 6000100, 100);
    if (loop_run(b.lp, err, sizeof err) < 0 || b.failed) {
        fprintf(stderr, "run: %s\n", b.failed ? "failed" : err);
        return 1;
    }
    printf("strategy reload, %d reloads, quiet period %lld ms, %s, book messages every %lld us\n",
           b.reloads, (long long)quiet_ms,
           no_store ? "no state store" : sync_none ? "state store sync none" : "state store sync full",
           (long long)(FEED_EVERY_NS / 1000));
    report("file change -> first event of the new code", b.total, b.reloads);
    report("of which the reload (load, state, swap)", b.reload, b.reloads);
    report("of which the wait for the quiet period", b.quiet, b.reloads);
    watch_free(w);
    engine_free(b.eng);
    loop_deferred_free(b.flush);
    if (b.j) {
        state_store *st = journal_store(b.j);
        journal_free(b.j);
        state_close(st);
    }
    loop_free(b.lp);
    instrument_registry_free(reg);
    if (nftw(b.dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "could not remove %s\n", b.dir);
    return 0;
}
