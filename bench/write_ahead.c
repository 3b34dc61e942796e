/*
 * bench/write_ahead.c -- what the state store's write-ahead adds before an
 * order leaves, through the engine's real path: a book message reaches a
 * strategy whose on_book cancels its last order and places a new one; the
 * risk gates and the OMS take it; with a journal, the order, its position
 * and balances are written into the batch, the batch committed, and only
 * then the venue's submit called. Timed from the message handed to the
 * engine to the venue's submit; the same without a store is the baseline.
 *
 *   write_ahead [DIR...]    default: a folder on /dev/shm (tmpfs) and one
 *                           in /var/tmp (this machine's disk)
 *   env WRITE_AHEAD_ORDERS  orders per case (default 20000)
 *   env WRITE_AHEAD_WRITEMAP=1  the store's map writable (state_writemap)
 *
 * The venue acknowledges each order and cancel after the timing, so the
 * order manager holds one open order at a time. Each store is timed twice:
 * as it is, and "prepared", with engine_prepare called after the
 * acknowledgements as the live driver calls it between messages (the
 * next batch opened and its pages copied ahead: docs/state.md). Also printed: state
 * transitions committed per second when the driver flushes once per 100
 * messages (group commit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fixed.h"
#include "journal.h"
#include "state.h"
#include "bench.h"

#define DEFAULT_ORDERS 20000
#define GROUP 100

static int64_t t_sent;          /* when the venue's submit ran */
static char acks[2][ORDER_ID_MAX + 1]; /* the last submit and cancel, to acknowledge */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t bench_clock(void *ud)
{
    (void)ud;
    return mono_ns();
}

static int venue_submit(void *v, const order *o, int64_t now)
{
    (void)v, (void)now;
    t_sent = mono_ns();
    snprintf(acks[0], sizeof acks[0], "%s", o->id);
    return 0;
}

static int venue_cancel(void *v, const order *o, int64_t now)
{
    (void)v, (void)now;
    snprintf(acks[1], sizeof acks[1], "%s", o->id);
    return 0;
}

static const venue_ops bench_venue = {venue_submit, venue_cancel};

static const char strategy_src[] =
    "local S = {}\n"
    "local last\n"
    "function S.on_book(ctx, book)\n"
    "  if last then ctx:cancel(last) end\n"
    "  local bid = book:best_bid()\n"
    "  last = ctx:buy{ symbol = 'BTCUSDT', qty = 0.001, price = bid - 100 }\n"
    "end\n"
    "return S\n";

/* ---- One engine, with or without a store ---- */

typedef struct bench_run {
    instrument_registry *reg;
    engine *e;
    state_store *st;
    journal *j;
    uint32_t inst;
} bench_run;

static void ack(bench_run *r, exec_kind kind, const char *id)
{
    exec_report rep;
    if (!id[0])
        return;
    memset(&rep, 0, sizeof rep);
    rep.kind = kind;
    snprintf(rep.order_id, sizeof rep.order_id, "%s", id);
    engine_on_exec(r->e, &rep);
}

static lutra_event level(uint32_t inst, int bid, int64_t price, int64_t qty, uint8_t flags)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_BOOK_DELTA;
    ev.h.size = lutra_event_size(LUTRA_EV_BOOK_DELTA);
    ev.h.instrument = inst;
    ev.h.flags = (uint8_t)(flags | (bid ? LUTRA_F_BID : 0));
    ev.delta.price = price;
    ev.delta.qty = qty;
    return ev;
}

static int run_open(bench_run *r, const char *dir, const char *script, char *err, size_t len)
{
    engine_config ec;
    strategy_config sc;
    lutra_instrument def;
    lutra_event ev;
    int32_t id;

    memset(r, 0, sizeof *r);
    memset(&ec, 0, sizeof ec);
    ec.mode = "live";
    if (!(r->reg = instrument_registry_new()) ||
        instrument_define(&def, "bench", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001", NULL,
                          NULL, err, len) != 0 ||
        (id = instrument_registry_add(r->reg, &def, err, len)) < 0)
        return -1;
    r->inst = (uint32_t)id;
    if (dir) {
        const char *wm = getenv("WRITE_AHEAD_WRITEMAP");
        state_options so = {.dir = dir, .sync = STATE_SYNC_FULL,
                            .writemap = wm && !strcmp(wm, "1")};
        if (!(r->st = state_open(&so, err, len)) || !(r->j = journal_new(r->st, r->reg)))
            return -1;
    }
    ec.oms.id_start = r->st ? state_get_order_seq(r->st) : 0;
    if (!(r->e = engine_new(&ec, r->reg, err, len)))
        return -1;
    engine_set_clock(r->e, bench_clock, NULL);
    engine_set_venue(r->e, &bench_venue, NULL);
    if (r->j)
        engine_set_journal(r->e, r->j, NULL, NULL);
    engine_set_balance(r->e, "USDT", INT64_C(100000000) * 100000000);
    memset(&sc, 0, sizeof sc);
    sc.name = "bench";
    sc.path = script;
    if (engine_add_strategy(r->e, &sc, err, len) < 0 || engine_start(r->e) < 0)
        return -1;
    /* A synced book: a snapshot of one level a side. */
    ev = level(r->inst, 0, 0, 0, LUTRA_F_SNAPSHOT);
    ev.h.type = LUTRA_EV_BOOK_CLEAR;
    engine_apply_market(r->e, &ev);
    ev = level(r->inst, 1, 6000000, 100000, LUTRA_F_SNAPSHOT);
    engine_apply_market(r->e, &ev);
    ev = level(r->inst, 0, 6000100, 100000, LUTRA_F_SNAPSHOT | LUTRA_F_LAST);
    engine_apply_market(r->e, &ev);
    return 0;
}

static void run_close(bench_run *r)
{
    engine_free(r->e);
    journal_free(r->j);
    state_close(r->st);
    instrument_registry_free(r->reg);
}

/* One message: a bid level changes, the strategy answers. */
static int64_t one_message(bench_run *r, int64_t i)
{
    lutra_event ev = level(r->inst, 1, 6000000 - (i & 63), 100000 + (i & 7), LUTRA_F_LAST);
    int64_t t0;

    acks[0][0] = acks[1][0] = '\0';
    t_sent = 0;
    t0 = mono_ns();
    engine_on_event(r->e, &ev);
    engine_flush(r->e);
    return t_sent ? t_sent - t0 : -1;
}

/* @return 0, printing median and p99 of the latency per order. */
static int latency_case(const char *name, const char *dir, const char *script, long n,
                        int prepare, int64_t *median_out)
{
    int64_t *lat = malloc((size_t)n * sizeof *lat);
    char err[1024];
    bench_run r;
    long k = 0;

    if (!lat || run_open(&r, dir, script, err, sizeof err) < 0) {
        fprintf(stderr, "write_ahead: %s: %s\n", name, lat ? err : "out of memory");
        free(lat);
        return -1;
    }
    for (long i = 0; i < n + 1000; i++) {
        int64_t ns = one_message(&r, i);
        ack(&r, EXEC_ACCEPTED, acks[0]);
        ack(&r, EXEC_CANCELED, acks[1]);
        engine_flush(r.e);
        if (prepare)
            engine_prepare(r.e);
        if (i >= 1000 && ns > 0) /* the first thousand warm the JIT and the map */
            lat[k++] = ns;
    }
    bench_sort_i64(lat, (size_t)k);
    if (k == 0) {
        fprintf(stderr, "write_ahead: %s: no order reached the venue\n", name);
        run_close(&r);
        free(lat);
        return -1;
    }
    *median_out = lat[k / 2];
    printf("%-40s orders %6ld  median %8.1f us  p99 %8.1f us\n", name, k, lat[k / 2] / 1e3,
           lat[k * 99 / 100] / 1e3);
    run_close(&r);
    free(lat);
    return 0;
}

/* Group commit: a flush per GROUP messages; transitions = every order
 * change written (new order, cancel asked, acknowledged, cancelled). */
static int group_case(const char *name, const char *dir, const char *script, long n)
{
    char err[1024];
    bench_run r;
    int64_t t0, t1;

    if (run_open(&r, dir, script, err, sizeof err) < 0) {
        fprintf(stderr, "write_ahead: %s: %s\n", name, err);
        return -1;
    }
    t0 = mono_ns();
    for (long i = 0; i < n; i++) {
        lutra_event ev = level(r.inst, 1, 6000000 - (i & 63), 100000 + (i & 7), LUTRA_F_LAST);
        engine_on_event(r.e, &ev);
        if (i % GROUP == GROUP - 1)
            engine_flush(r.e);
    }
    engine_flush(r.e);
    t1 = mono_ns();
    /* Each message: a new order and the cancel of the previous one. */
    printf("%-40s %6ld messages  %9.0f order transitions/s (a commit per %d messages)\n", name, n,
           2.0 * n / ((t1 - t0) / 1e9), GROUP);
    run_close(&r);
    return 0;
}

static int write_script(char *path, size_t len)
{
    FILE *f;
    snprintf(path, len, "/tmp/lutra-write-ahead-%d.lua", (int)getpid());
    if (!(f = fopen(path, "w")) || fputs(strategy_src, f) < 0 || fclose(f) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *defaults[] = {"/dev/shm", "/var/tmp"};
    const char **roots = argc > 1 ? (const char **)argv + 1 : defaults;
    int nroots = argc > 1 ? argc - 1 : 2;
    long n = getenv("WRITE_AHEAD_ORDERS") ? atol(getenv("WRITE_AHEAD_ORDERS")) : DEFAULT_ORDERS;
    char script[256], dir[512], name[600];
    int64_t base, med;

    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-') {
            fprintf(stderr, "usage: write_ahead [DIR...] (env WRITE_AHEAD_ORDERS, "
                            "WRITE_AHEAD_WRITEMAP=1)\n");
            return 2;
        }
    if (n <= 0 || write_script(script, sizeof script) < 0) {
        fprintf(stderr, "write_ahead: cannot write the strategy\n");
        return 1;
    }
    if (latency_case("no store (baseline)", NULL, script, n, 0, &base) < 0)
        return 1;
    for (int i = 0; i < nroots; i++) {
        snprintf(dir, sizeof dir, "%s/lutra-write-ahead-%d", roots[i], (int)getpid());
        for (int prepare = 0; prepare < 2; prepare++) {
            snprintf(name, sizeof name, "store in %s, sync full%s", roots[i],
                     prepare ? ", prepared" : "");
            if (latency_case(name, dir, script, n, prepare, &med) == 0)
                printf("%-40s added at the median: %.1f us\n", "", (med - base) / 1e3);
        }
        snprintf(name, sizeof name, "group commit in %s", roots[i]);
        group_case(name, dir, script, n);
        snprintf(name, sizeof name, "rm -rf '%s'", dir);
        if (system(name) != 0)
            fprintf(stderr, "write_ahead: could not remove %s\n", dir);
    }
    unlink(script);
    return 0;
}
