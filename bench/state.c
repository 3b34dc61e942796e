/*
 * state.c -- what durability costs (core/state.h, docs/state.md).
 *
 * (a) Order state transitions committed per second with group commit:
 *     orders go pending_new -> new -> partially_filled -> filled, one
 *     state_put_order per transition, state_commit every `batch` of them.
 * (b) The latency one order's write-ahead adds before its request may
 *     leave: one state_put_order (pending_new) and its state_commit.
 *
 * Each runs with sync full (live) and sync none (paper), on a tmpfs folder
 * and on a disk folder; the filesystem of each is printed. Runs are bounded
 * by a transition count and a time budget, whichever comes first.
 *
 *   build/bench/state [--tmpfs DIR] [--disk DIR]   (defaults /dev/shm, /var/tmp)
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "money.h"
#include "state.h"
#include "bench.h"

#define BENCH_TRANSITIONS 200000
#define BENCH_BUDGET_NS INT64_C(3000000000)
#define BENCH_SAMPLES 5000

static const char *sync_names[] = {"full", "none"};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static const char *fs_name(const char *dir)
{
    static char buf[32];
    struct statfs s;

    if (statfs(dir, &s) != 0)
        return "unknown";
    switch ((unsigned long)s.f_type) {
    case 0x01021994UL:
        return "tmpfs";
    case 0xEF53UL:
        return "ext4";
    case 0x58465342UL:
        return "xfs";
    case 0x9123683EUL:
        return "btrfs";
    case 0x794C7630UL:
        return "overlayfs";
    default:
        snprintf(buf, sizeof buf, "fs 0x%lx", (unsigned long)s.f_type);
        return buf;
    }
}

static state_order bench_order(uint64_t n, order_status status)
{
    state_order o;

    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "bench-%" PRIu64, n);
    memcpy(o.venue, "binance", 8);
    memcpy(o.symbol, "BTCUSDT", 8);
    memcpy(o.strategy, "mm", 3);
    o.status = (uint8_t)status;
    o.price_scale = 2;
    o.size_scale = 5;
    o.price = 6183763;
    o.qty = 1000;
    o.filled = status == ORDER_FILLED ? 1000 : status == ORDER_PARTIALLY_FILLED ? 400 : 0;
    o.filled_value = money_notional(o.price, 2, o.filled, 5);
    o.ts_created = o.ts_updated = (int64_t)n;
    return o;
}

/* A fresh store in a new folder under parent. */
static state_store *bench_open(const char *parent, state_sync sync, char *dir, size_t cap)
{
    state_options opt = {.sync = sync};
    char err[512];
    state_store *st;

    snprintf(dir, cap, "%s/lutra-bench-state-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench state: mkdtemp in %s: %s\n", parent, strerror(errno));
        return NULL;
    }
    opt.dir = dir;
    if (!(st = state_open(&opt, err, sizeof err)))
        fprintf(stderr, "bench state: %s\n", err);
    return st;
}

static void bench_close(state_store *st, const char *dir)
{
    state_close(st);
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* (a) Transitions per second, committed every `batch`. */
static int bench_throughput(const char *parent, state_sync sync, int batch)
{
    static const order_status steps[4] = {ORDER_PENDING_NEW, ORDER_NEW, ORDER_PARTIALLY_FILLED,
                                          ORDER_FILLED};
    char dir[4096], err[512];
    state_store *st = bench_open(parent, sync, dir, sizeof dir);
    int64_t t0, elapsed = 0;
    uint64_t n = 0, commits = 0;

    if (!st)
        return -1;
    t0 = now_ns();
    while (n < BENCH_TRANSITIONS && elapsed < BENCH_BUDGET_NS) {
        for (int i = 0; i < batch; i++, n++) {
            state_order o = bench_order(n / 4, steps[n % 4]);
            if (state_put_order(st, &o, err, sizeof err) != 0)
                goto fail;
        }
        if (state_commit(st, err, sizeof err) != 0)
            goto fail;
        commits++;
        elapsed = now_ns() - t0;
    }
    printf("  group commit, sync %s, batch %4d: %9.0f transitions/s (%" PRIu64
           " transitions, %" PRIu64 " commits, %.1f us a commit)\n",
           sync_names[sync], batch, (double)n * 1e9 / (double)elapsed, n, commits,
           (double)elapsed / 1e3 / (double)commits);
    bench_close(st, dir);
    return 0;
fail:
    fprintf(stderr, "bench state: %s\n", err);
    bench_close(st, dir);
    return -1;
}

/* (b) One order's write-ahead: put pending_new, commit. */
static int bench_latency(const char *parent, state_sync sync)
{
    static int64_t lat[BENCH_SAMPLES];
    char dir[4096], err[512];
    state_store *st = bench_open(parent, sync, dir, sizeof dir);
    int64_t start;
    size_t n = 0;

    if (!st)
        return -1;
    for (uint64_t i = 0; i < 100; i++) { /* warm up: first pages, first map */
        state_order o = bench_order(i, ORDER_PENDING_NEW);
        if (state_put_order(st, &o, err, sizeof err) != 0 || state_commit(st, err, sizeof err))
            goto fail;
    }
    start = now_ns();
    while (n < BENCH_SAMPLES && now_ns() - start < BENCH_BUDGET_NS) {
        state_order o = bench_order(100 + n, ORDER_PENDING_NEW);
        int64_t t0 = now_ns();
        if (state_put_order(st, &o, err, sizeof err) != 0 || state_commit(st, err, sizeof err))
            goto fail;
        lat[n++] = now_ns() - t0;
    }
    bench_sort_i64(lat, n);
    printf("  write-ahead (put_order + commit), sync %s: median %.1f us, p99 %.1f us, max %.1f "
           "us (%zu orders)\n",
           sync_names[sync], (double)lat[n / 2] / 1e3, (double)lat[n * 99 / 100] / 1e3,
           (double)lat[n - 1] / 1e3, n);
    bench_close(st, dir);
    return 0;
fail:
    fprintf(stderr, "bench state: %s\n", err);
    bench_close(st, dir);
    return -1;
}

static int bench_folder(const char *label, const char *parent)
{
    static const int batches[] = {1, 100, 1000};
    int rc = 0;

    printf("%s: %s (%s)\n", label, parent, fs_name(parent));
    for (int s = STATE_SYNC_FULL; s <= STATE_SYNC_NONE; s++)
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
            rc |= bench_throughput(parent, (state_sync)s, batches[b]);
    for (int s = STATE_SYNC_FULL; s <= STATE_SYNC_NONE; s++)
        rc |= bench_latency(parent, (state_sync)s);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"tmpfs", required_argument, NULL, 't'},
                                         {"disk", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *tmpfs = "/dev/shm", *disk = "/var/tmp";
    int ch, rc;

    while ((ch = getopt_long(argc, argv, "t:d:h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            tmpfs = optarg;
            break;
        case 'd':
            disk = optarg;
            break;
        default:
            fprintf(ch == 'h' ? stdout : stderr,
                    "usage: bench/state [--tmpfs DIR] [--disk DIR]   (defaults /dev/shm, "
                    "/var/tmp)\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    rc = bench_folder("tmpfs", tmpfs);
    rc |= bench_folder("disk", disk);
    return rc ? 1 : 0;
}
