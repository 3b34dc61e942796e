/*
 * replay.c -- event files merged by receive time: order, instrument ids,
 * conflicts, books, synced, crossed moments, truncated and corrupt files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evfile.h"
#include "instrument.h"
#include "replay.h"
#include "tap.h"

static char dir[64];

static const char *tmp_path(const char *name)
{
    static char path[8][160];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

static int has(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

static lutra_instrument instrument(const char *symbol, uint8_t price_scale)
{
    lutra_instrument d;
    memset(&d, 0, sizeof d);
    snprintf(d.venue, sizeof d.venue, "binance");
    snprintf(d.symbol, sizeof d.symbol, "%s", symbol);
    snprintf(d.base, sizeof d.base, "%.3s", symbol);
    snprintf(d.quote, sizeof d.quote, "USDT");
    d.price_scale = price_scale;
    d.size_scale = 3;
    d.price_increment = 1;
    d.size_increment = 1;
    return d;
}

/* A trade tagged by its price, so the merged order can be read back. */
static lutra_event trade(uint32_t inst, int64_t ts, int64_t tag)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_TRADE;
    ev.h.flags = LUTRA_F_LAST;
    ev.h.instrument = inst;
    ev.h.ts_recv = ts;
    ev.h.ts_exch = ts;
    ev.trade.price = tag;
    ev.trade.qty = 1;
    return ev;
}

static lutra_event delta(uint8_t type, uint8_t flags, int64_t ts, int64_t price, int64_t qty)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = type;
    ev.h.flags = flags;
    ev.h.ts_recv = ts;
    ev.h.ts_exch = ts;
    ev.delta.price = price;
    ev.delta.qty = qty;
    return ev;
}

static lutra_event status(int64_t ts, uint32_t state)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_STATUS;
    ev.h.flags = LUTRA_F_LAST;
    ev.h.ts_recv = ts;
    ev.h.ts_exch = ts;
    ev.status.state = state;
    return ev;
}

static const char *write_file(const char *name, const lutra_instrument *inst, size_t ninst,
                              const lutra_event *ev, size_t nev)
{
    const char *path = tmp_path(name);
    char err[256];
    evfile_writer *w = evfile_create(path, err, sizeof err);
    if (!w)
        bail_out("create %s: %s", path, err);
    for (size_t i = 0; i < ninst; i++)
        if (evfile_add_instrument(w, &inst[i], err, sizeof err) != (int32_t)i)
            bail_out("%s: add instrument: %s", path, err);
    for (size_t i = 0; i < nev; i++)
        if (evfile_append(w, &ev[i], err, sizeof err) < 0)
            bail_out("%s: append: %s", path, err);
    if (evfile_close(w, err, sizeof err) < 0)
        bail_out("%s: close: %s", path, err);
    return path;
}

/* Replay paths and compare the tags (trade prices) with want. */
static void check_order(const char *const *paths, size_t n, const int64_t *want, size_t nwant,
                        const char *what)
{
    instrument_registry *reg = instrument_registry_new();
    char err[512];
    replay *rp = replay_open(paths, n, reg, err, sizeof err);
    const lutra_event *ev;
    size_t i = 0;
    int good = rp != NULL, peek_good = rp != NULL;
    int64_t peek = rp ? replay_peek_time(rp) : 0;
    if (!rp)
        diag("replay_open: %s", err);
    while (rp && (ev = replay_next(rp))) {
        if (ev->h.ts_recv != peek)
            peek_good = 0;
        peek = replay_peek_time(rp);
        if (i >= nwant || ev->trade.price != want[i]) {
            diag("event %zu: tag %lld, expected %lld", i, (long long)ev->trade.price,
                 i < nwant ? (long long)want[i] : -1LL);
            good = 0;
        }
        i++;
    }
    ok(good && i == nwant, "%s: ordered by ts_recv, then file, then record (%zu events)", what,
       i);
    ok(peek_good && peek == INT64_MAX,
       "%s: replay_peek_time gives each next event's time, INT64_MAX at the end", what);
    replay_close(rp);
    instrument_registry_free(reg);
}

static void test_merge_order(void)
{
    lutra_instrument x = instrument("BTCUSDT", 2);
    /* Tags: file * 100 + record index. */
    lutra_event a[] = {trade(0, 10, 100), trade(0, 20, 101), trade(0, 20, 102), trade(0, 40, 103)};
    lutra_event b[] = {trade(0, 5, 200), trade(0, 20, 201), trade(0, 30, 202), trade(0, 40, 203)};
    lutra_event c[] = {trade(0, 0, 300), trade(0, 1, 301), trade(0, 3, 302)};
    lutra_event a3[] = {trade(0, 1, 100), trade(0, 1, 101), trade(0, 3, 102)};
    lutra_event b3[] = {trade(0, 1, 200), trade(0, 2, 201)};
    const char *two[2], *three[3];
    static const int64_t want_two[] = {200, 100, 101, 102, 201, 202, 103, 203};
    static const int64_t want_three[] = {300, 100, 101, 200, 301, 201, 102, 302};

    two[0] = write_file("a.lev", &x, 1, a, 4);
    two[1] = write_file("b.lev", &x, 1, b, 4);
    check_order(two, 2, want_two, 8, "two files");

    three[0] = write_file("a3.lev", &x, 1, a3, 3);
    three[1] = write_file("b3.lev", &x, 1, b3, 2);
    three[2] = write_file("c3.lev", &x, 1, c, 3);
    check_order(three, 3, want_three, 8, "three files");

    check_order(three + 2, 1, (const int64_t[]){300, 301, 302}, 3, "one file");
}

static void test_instrument_ids(void)
{
    lutra_instrument w = instrument("ADAUSDT", 4), x = instrument("BTCUSDT", 2),
                     y = instrument("ETHUSDT", 2), z = instrument("SOLUSDT", 3);
    lutra_instrument fa[] = {x, y}, fb[] = {y, z};
    lutra_event a[] = {trade(1, 1, 1), trade(0, 2, 2)};
    lutra_event b[] = {trade(0, 3, 3), trade(1, 4, 4)};
    static const char *const want[] = {"ETHUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"};
    const char *paths[2];
    instrument_registry *reg = instrument_registry_new();
    char err[512];
    replay *rp;
    const lutra_event *ev;
    size_t i = 0;
    int good = 1;

    instrument_registry_add(reg, &w, err, sizeof err); /* id 0 is taken already */
    paths[0] = write_file("ids-a.lev", fa, 2, a, 2);
    paths[1] = write_file("ids-b.lev", fb, 2, b, 2);
    rp = replay_open(paths, 2, reg, err, sizeof err);
    if (!rp)
        bail_out("replay_open: %s", err);
    is_int(instrument_registry_count(reg), 4, "the registry holds each instrument once");
    while ((ev = replay_next(rp))) {
        const lutra_instrument *def = instrument_registry_get(reg, ev->h.instrument);
        if (i >= 4 || !def || strcmp(def->symbol, want[i]) != 0) {
            diag("event %zu: id %u is %s", i, ev->h.instrument, def ? def->symbol : "nothing");
            good = 0;
        }
        i++;
    }
    ok(good && i == 4, "head.instrument is rewritten to the registry id of each file's index");
    replay_close(rp);

    lutra_instrument y2 = instrument("ETHUSDT", 5);
    paths[1] = write_file("ids-c.lev", &y2, 1, NULL, 0);
    rp = replay_open(paths, 2, reg, err, sizeof err);
    ok(!rp && has(err, "ids-a.lev") && has(err, "ids-c.lev") && has(err, "ETHUSDT"),
       "a conflicting definition is refused naming both files: %s", err);
    replay_close(rp);
    instrument_registry_free(reg);
}

static int levels_are(const book *b, book_side side, const int64_t (*want)[2], size_t n)
{
    book_level got[8];
    size_t k = book_top(b, side, got, 8);
    if (k != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (got[i].price != want[i][0] || got[i].qty != want[i][1])
            return 0;
    return 1;
}

static void test_book_and_synced(void)
{
    lutra_instrument x = instrument("BTCUSDT", 2);
    const uint8_t S = LUTRA_F_SNAPSHOT, B = LUTRA_F_BID, L = LUTRA_F_LAST;
    lutra_event ev[] = {
        delta(LUTRA_EV_BOOK_DELTA, B | L, 1, 90, 5),              /* 0: deltas alone */
        delta(LUTRA_EV_BOOK_CLEAR, S, 2, 0, 0),                   /* 1: snapshot opens */
        delta(LUTRA_EV_BOOK_DELTA, S | B, 2, 99, 10),
        delta(LUTRA_EV_BOOK_DELTA, S | B, 2, 98, 20),
        delta(LUTRA_EV_BOOK_DELTA, S, 2, 100, 30),
        delta(LUTRA_EV_BOOK_DELTA, S | L, 2, 101, 40),            /* 5 */
        delta(LUTRA_EV_BOOK_DELTA, B, 3, 98, 0),                  /* 6: remove a bid */
        delta(LUTRA_EV_BOOK_DELTA, L, 3, 100, 35),                /* 7 */
        status(4, LUTRA_FEED_SYNCING),                            /* 8 */
        delta(LUTRA_EV_BOOK_DELTA, B | L, 5, 97, 1),              /* 9 */
        status(6, LUTRA_FEED_READY),                              /* 10 */
    };
    static const int want_synced[] = {0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1};
    static const int64_t bids[][2] = {{99, 10}, {97, 1}}, asks[][2] = {{100, 35}, {101, 40}};
    const char *path = write_file("book.lev", &x, 1, ev, 11);
    instrument_registry *reg = instrument_registry_new();
    char err[512];
    replay *rp = replay_open(&path, 1, reg, err, sizeof err);
    const lutra_event *e;
    int synced_ok = 1, i = 0;
    if (!rp)
        bail_out("replay_open: %s", err);
    ok(replay_book(rp, 0) == NULL, "no book before the first book record");
    while ((e = replay_next(rp))) {
        if (i < 11 && replay_synced(rp, 0) != want_synced[i]) {
            diag("after record %d: synced %d", i, replay_synced(rp, 0));
            synced_ok = 0;
        }
        if (i == 0)
            ok(replay_book(rp, 0) && book_qty_at(replay_book(rp, 0), BOOK_BID, 90) == 5,
               "the first delta creates and updates the book");
        i++;
    }
    is_int(i, 11, "every record replayed");
    ok(synced_ok, "synced: false on deltas alone, true after CLEAR|SNAPSHOT, false after "
       "SYNCING, true after READY");
    ok(levels_are(replay_book(rp, 0), BOOK_BID, bids, 2) &&
           levels_are(replay_book(rp, 0), BOOK_ASK, asks, 2),
       "the book's levels are the snapshot with the deltas applied");
    is_int(replay_crossed(rp, 0), 0, "no crossed moment in a sound book");
    replay_close(rp);
    instrument_registry_free(reg);
}

static void test_crossed(void)
{
    lutra_instrument x = instrument("BTCUSDT", 2);
    const uint8_t S = LUTRA_F_SNAPSHOT, B = LUTRA_F_BID, L = LUTRA_F_LAST;
    lutra_event ev[] = {
        delta(LUTRA_EV_BOOK_CLEAR, S, 1, 0, 0),
        delta(LUTRA_EV_BOOK_DELTA, S | B, 1, 99, 1),
        delta(LUTRA_EV_BOOK_DELTA, S | L, 1, 100, 1),
        /* crossed in the middle of a message only: not a moment */
        delta(LUTRA_EV_BOOK_DELTA, B, 2, 101, 1),
        delta(LUTRA_EV_BOOK_DELTA, 0, 2, 100, 0),
        delta(LUTRA_EV_BOOK_DELTA, L, 2, 102, 1),
        /* crossed at the end of a message: one moment */
        delta(LUTRA_EV_BOOK_DELTA, B | L, 3, 103, 1),
        delta(LUTRA_EV_BOOK_DELTA, B | L, 4, 103, 0),
    };
    static const uint64_t want[] = {0, 0, 0, 0, 0, 0, 1, 1};
    const char *path = write_file("crossed.lev", &x, 1, ev, 8);
    instrument_registry *reg = instrument_registry_new();
    char err[512];
    replay *rp = replay_open(&path, 1, reg, err, sizeof err);
    int good = 1, i = 0;
    if (!rp)
        bail_out("replay_open: %s", err);
    while (replay_next(rp)) {
        if (i < 8 && replay_crossed(rp, 0) != want[i]) {
            diag("after record %d: %llu crossed", i, (unsigned long long)replay_crossed(rp, 0));
            good = 0;
        }
        i++;
    }
    ok(good && i == 8, "a crossed moment is counted only at a record with F_LAST");
    replay_close(rp);
    instrument_registry_free(reg);
}

/* Cut the last `cut` bytes off a file. */
static void chop(const char *path, size_t cut)
{
    FILE *f = fopen(path, "rb");
    long n;
    if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0)
        bail_out("%s: %s", path, strerror(errno));
    fclose(f);
    if (truncate(path, n - (long)cut) < 0)
        bail_out("truncate %s: %s", path, strerror(errno));
}

static void test_truncated_and_corrupt(void)
{
    lutra_instrument x = instrument("BTCUSDT", 2);
    lutra_event a[] = {trade(0, 1, 100), trade(0, 2, 101), trade(0, 3, 102)};
    lutra_event b[] = {trade(0, 1, 200), trade(0, 5, 201)};
    lutra_event bad[] = {trade(0, 2, 300), delta(LUTRA_EV_BOOK_DELTA, LUTRA_F_LAST, 3, 7, -1),
                         trade(0, 4, 302)};
    const char *paths[2];
    instrument_registry *reg = instrument_registry_new();
    char err[512];
    const char *why = NULL;
    replay *rp;
    size_t n = 0;
    int corrupt;

    paths[0] = write_file("trunc-a.lev", &x, 1, a, 3);
    paths[1] = write_file("trunc-b.lev", &x, 1, b, 2);
    chop(paths[0], 9);
    rp = replay_open(paths, 2, reg, err, sizeof err);
    if (!rp)
        bail_out("replay_open: %s", err);
    while (replay_next(rp))
        n++;
    is_int(n, 4, "a cut-off file gives its whole records, the other file all of its own");
    ok(replay_file_count(rp) == 2 && replay_file_truncated(rp, 0) == sizeof(lutra_trade) - 9 &&
           replay_file_truncated(rp, 1) == 0 && strcmp(replay_file_path(rp, 0), paths[0]) == 0 &&
           !replay_file_corrupt(rp, 0, &why),
       "the cut-off file is reported with the bytes of its partial record");
    replay_close(rp);

    paths[0] = write_file("trunc-a.lev", &x, 1, a, 3);
    paths[1] = write_file("bad.lev", &x, 1, bad, 3);
    rp = replay_open(paths, 2, reg, err, sizeof err);
    if (!rp)
        bail_out("replay_open: %s", err);
    n = 0;
    while (replay_next(rp))
        n++;
    corrupt = replay_file_corrupt(rp, 1, &why);
    ok(n == 4 && corrupt && has(why, "bad.lev") && has(why, "byte ") && has(why, "-1") &&
           !replay_file_corrupt(rp, 0, NULL),
       "a record the book refuses stops the replay, naming the file and offset: %s",
       why ? why : "(none)");
    replay_close(rp);
    instrument_registry_free(reg);
}

int main(void)
{
    static const char *const leftovers[] = {
        "a.lev",     "b.lev",     "a3.lev",      "b3.lev",      "c3.lev",      "ids-a.lev",
        "ids-b.lev", "ids-c.lev", "book.lev",    "crossed.lev", "trunc-a.lev", "trunc-b.lev",
        "bad.lev"};
    snprintf(dir, sizeof dir, "/tmp/lutra-replay-XXXXXX");
    if (!mkdtemp(dir))
        bail_out("mkdtemp: %s", strerror(errno));
    plan(19);
    test_merge_order();
    test_instrument_ids();
    test_book_and_synced();
    test_crossed();
    test_truncated_and_corrupt();
    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++)
        unlink(tmp_path(leftovers[i]));
    rmdir(dir);
    return done();
}
