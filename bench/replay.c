/*
 * replay.c -- how fast the backtest's feed runs: native files read through
 * the replay (merge, instrument ids, every book record applied), on one core.
 *
 *   replay [--synthetic N] [FILE.lev ...]
 *
 * --synthetic N writes a temporary file of N events shaped like a spot
 * market's depth stream (a 1,000-level snapshot, then messages of a few
 * deltas near a touch that wanders, some trades), replays it, and removes
 * it. Every input is replayed twice: the first pass may fault pages in from
 * disk, the second shows the replay itself. Figures are "name: value unit"
 * lines; resident memory (VmRSS, VmHWM) is printed before and after each
 * pass, to show it stays flat whatever the file's size.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evfile.h"
#include "instrument.h"
#include "replay.h"
#include "rng.h"

#define DEFAULT_SYNTHETIC 50000000ULL
#define SNAPSHOT_LEVELS 1000

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS and VmHWM of this process, KiB. */
static void memory_kib(long *rss, long *hwm)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    *rss = *hwm = -1;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld kB", rss);
        sscanf(line, "VmHWM: %ld kB", hwm);
    }
    if (f)
        fclose(f);
}

static void print_memory(const char *when)
{
    long rss, hwm;
    memory_kib(&rss, &hwm);
    printf("%s_vmrss: %ld KiB\n", when, rss);
    printf("%s_vmhwm: %ld KiB\n", when, hwm);
}

/* ---- The synthetic market ---- */

typedef struct market {
    evfile_writer *w;
    rng rng;
    int64_t ts;
    int64_t mid;      /* in ticks; bids below it, asks above, never crossed */
    uint64_t written;
    uint64_t target;
} market;

static uint64_t market_random(market *m)
{
    return rng_next(&m->rng);
}

static int market_emit(market *m, uint8_t type, uint8_t flags, int64_t price, int64_t qty,
                       char *err, size_t errlen)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = type;
    ev.h.flags = flags;
    ev.h.ts_recv = m->ts;
    ev.h.ts_exch = m->ts - 500000 - (int64_t)(market_random(m) % 2500000);
    if (type == LUTRA_EV_TRADE) {
        ev.trade.price = price;
        ev.trade.qty = qty;
    } else {
        ev.delta.price = price;
        ev.delta.qty = qty;
    }
    m->written++;
    return evfile_append(m->w, &ev, err, errlen);
}

static int market_snapshot(market *m, char *err, size_t errlen)
{
    if (market_emit(m, LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 0, 0, err, errlen) < 0)
        return -1;
    for (int i = 1; i <= SNAPSHOT_LEVELS; i++) {
        uint8_t last = i == SNAPSHOT_LEVELS ? LUTRA_F_LAST : 0;
        int64_t qty = 1 + (int64_t)(market_random(m) % 500000);
        if (market_emit(m, LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | LUTRA_F_BID, m->mid - i, qty,
                        err, errlen) < 0 ||
            market_emit(m, LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | last, m->mid + i, qty, err,
                        errlen) < 0)
            return -1;
    }
    return 0;
}

/* A level near the touch most of the time, now and then far out. */
static int64_t market_offset(market *m)
{
    uint64_t r = market_random(m);
    return 1 + (int64_t)(r % 16 == 0 ? (r >> 8) % SNAPSHOT_LEVELS : (r >> 8) % 20);
}

/* One exchange message: a few deltas, or a few trades, or a touch move. */
static int market_message(market *m, char *err, size_t errlen)
{
    uint64_t r = market_random(m);
    int n = 1 + (int)(r % 6);
    m->ts += 100000 + (int64_t)((r >> 8) % 2000000);
    if (r % 64 == 0) {
        /* The touch moves one tick: the level it lands on is emptied. */
        int up = (r >> 40) & 1;
        m->mid += up ? 1 : -1;
        return market_emit(m, LUTRA_EV_BOOK_DELTA, LUTRA_F_LAST | (up ? 0 : LUTRA_F_BID),
                           m->mid, 0, err, errlen);
    }
    for (int i = 0; i < n && m->written < m->target; i++) {
        uint64_t s = market_random(m);
        uint8_t last = i == n - 1 || m->written + 1 == m->target ? LUTRA_F_LAST : 0;
        int bid = s & 1;
        int64_t qty = s % 4 == 0 ? 0 : 1 + (int64_t)((s >> 8) % 500000);
        int64_t price = bid ? m->mid - market_offset(m) : m->mid + market_offset(m);
        uint8_t type = r % 10 == 0 ? LUTRA_EV_TRADE : LUTRA_EV_BOOK_DELTA;
        if (type == LUTRA_EV_TRADE)
            qty += qty == 0;
        if (market_emit(m, type, last | (bid ? LUTRA_F_BID : 0), price, qty, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int write_synthetic(const char *path, uint64_t n, char *err, size_t errlen)
{
    lutra_instrument def;
    market m = {.ts = INT64_C(1723161600) * 1000000000,
                .mid = 6183763, .target = n};
    rng_seed(&m.rng, 0x9E3779B97F4A7C15ULL, 0);
    memset(&def, 0, sizeof def);
    snprintf(def.venue, sizeof def.venue, "binance");
    snprintf(def.symbol, sizeof def.symbol, "BTCUSDT");
    snprintf(def.base, sizeof def.base, "BTC");
    snprintf(def.quote, sizeof def.quote, "USDT");
    def.price_scale = 2;
    def.size_scale = 5;
    def.price_increment = 1;
    def.size_increment = 1;
    if (!(m.w = evfile_create(path, err, errlen)))
        return -1;
    if (evfile_add_instrument(m.w, &def, err, errlen) < 0 ||
        (n > 2 * SNAPSHOT_LEVELS && market_snapshot(&m, err, errlen) < 0)) {
        evfile_close(m.w, NULL, 0);
        return -1;
    }
    while (m.written < n)
        if (market_message(&m, err, errlen) < 0) {
            evfile_close(m.w, NULL, 0);
            return -1;
        }
    return evfile_close(m.w, err, errlen);
}

/* ---- Replaying ---- */

static int replay_pass(const char *const *paths, size_t n, int pass)
{
    instrument_registry *reg = instrument_registry_new();
    char err[512], name[32];
    const lutra_event *ev;
    uint64_t events = 0, crossed = 0, check = 0;
    double t0, secs;
    replay *rp;

    if (!reg) {
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    snprintf(name, sizeof name, "pass%d_before", pass);
    print_memory(name);
    t0 = now_seconds();
    if (!(rp = replay_open(paths, n, reg, err, sizeof err))) {
        fprintf(stderr, "replay: %s\n", err);
        instrument_registry_free(reg);
        return -1;
    }
    while ((ev = replay_next(rp))) {
        check += (uint64_t)ev->h.ts_recv;
        events++;
    }
    secs = now_seconds() - t0;
    for (uint32_t id = 0; id < instrument_registry_count(reg); id++)
        crossed += replay_crossed(rp, id);
    printf("pass%d_events: %" PRIu64 " events\n", pass, events);
    printf("pass%d_wall: %.3f s\n", pass, secs);
    printf("pass%d_rate: %.2f Mevents/s\n", pass, secs > 0 ? (double)events / secs / 1e6 : 0.0);
    printf("pass%d_crossed_moments: %" PRIu64 " moments\n", pass, crossed);
    printf("pass%d_checksum: %" PRIu64 " ns\n", pass, check);
    for (size_t i = 0; i < replay_file_count(rp); i++) {
        const char *why;
        if (replay_file_truncated(rp, i))
            fprintf(stderr, "replay: %s: cut off, %zu bytes of a partial record ignored\n",
                    replay_file_path(rp, i), replay_file_truncated(rp, i));
        if (replay_file_corrupt(rp, i, &why))
            fprintf(stderr, "replay: %s\n", why);
    }
    snprintf(name, sizeof name, "pass%d_after", pass);
    print_memory(name);
    replay_close(rp);
    instrument_registry_free(reg);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: replay [--synthetic N] [FILE.lev ...]\n"
                    "  --synthetic N  replay a temporary file of N events (default %llu)\n",
            DEFAULT_SYNTHETIC);
    return 2;
}

int main(int argc, char **argv)
{
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    char dir[64] = "", synthetic[96] = "", err[512];
    uint64_t n = 0;
    size_t npaths = 0;
    int rc = 0;

    if (!paths)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--synthetic") == 0) {
            char *end = NULL;
            n = DEFAULT_SYNTHETIC;
            if (i + 1 < argc && argv[i + 1][0] != '-' &&
                (n = strtoull(argv[++i], &end, 10), *end != '\0' || n == 0)) {
                fprintf(stderr, "replay: --synthetic: not a positive count: %s\n", argv[i]);
                free(paths);
                return usage();
            }
        } else if (argv[i][0] == '-') {
            free(paths);
            return usage();
        } else {
            paths[npaths++] = argv[i];
        }
    }
    if (n == 0 && npaths == 0) {
        free(paths);
        return usage();
    }
    print_memory("start");
    if (n > 0) {
        double t0 = now_seconds();
        snprintf(dir, sizeof dir, "%s", "/tmp/lutra-bench-replay-XXXXXX");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "replay: mkdtemp: %s\n", strerror(errno));
            free(paths);
            return 1;
        }
        snprintf(synthetic, sizeof synthetic, "%s/synthetic.lev", dir);
        if (write_synthetic(synthetic, n, err, sizeof err) < 0) {
            fprintf(stderr, "replay: %s\n", err);
            rc = 1;
        } else {
            printf("synthetic_events: %" PRIu64 " events\n", n);
            printf("synthetic_write: %.3f s\n", now_seconds() - t0);
            paths[npaths++] = synthetic;
        }
    }
    for (int pass = 1; pass <= 2 && rc == 0; pass++)
        if (replay_pass(paths, npaths, pass) < 0)
            rc = 1;
    if (synthetic[0])
        unlink(synthetic);
    if (dir[0])
        rmdir(dir);
    free(paths);
    return rc;
}
