/*
 * t/book.c -- unit tests of the L2 book (core/book.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "book.h"
#include "tap.h"

#define DEEP 6000

/*
 * 1 if a side holds exactly want[0..n) (best first), read both through
 * book_level_at and book_top; otherwise diag the first difference.
 */
static int side_is(const book *b, book_side side, const book_level *want, size_t n)
{
    static book_level top[DEEP + 8];
    book_level lv;
    size_t got;

    if (n > DEEP || book_depth(b, side) != n) {
        diag("depth %zu, expected %zu", book_depth(b, side), n);
        return 0;
    }
    got = book_top(b, side, top, n + 8); /* asks for more than there is */
    if (got != n) {
        diag("book_top copied %zu, expected %zu", got, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (book_level_at(b, side, i, &lv) != 0 || lv.price != want[i].price ||
            lv.qty != want[i].qty || top[i].price != want[i].price || top[i].qty != want[i].qty) {
            diag("level %zu: at %lld x %lld, top %lld x %lld, expected %lld x %lld", i,
                 (long long)lv.price, (long long)lv.qty, (long long)top[i].price,
                 (long long)top[i].qty, (long long)want[i].price, (long long)want[i].qty);
            return 0;
        }
    }
    return 1;
}

static int set(book *b, book_side side, int64_t price, int64_t qty)
{
    return book_apply_delta(b, side, price, qty);
}

static void test_empty(void)
{
    book *b = book_new();
    book_level lv = {7, 7};

    ok(b != NULL, "book_new");
    is_int(book_depth(b, BOOK_BID), 0, "empty: no bids");
    is_int(book_depth(b, BOOK_ASK), 0, "empty: no asks");
    ok(book_best_bid(b, &lv) == -1 && book_best_ask(b, &lv) == -1, "empty: no best bid or ask");
    ok(lv.price == 7 && lv.qty == 7, "empty: out untouched when there is no level");
    is_int(book_level_at(b, BOOK_ASK, 0, &lv), -1, "empty: no level 0");
    is_int(book_top(b, BOOK_BID, &lv, 1), 0, "empty: top copies nothing");
    is_int(book_is_crossed(b), 0, "empty: not crossed");
    is_int(book_qty_at(b, BOOK_BID, 100), 0, "empty: qty_at is 0");
    is_int(set(b, BOOK_BID, 100, 0), 0, "empty: removing a missing level is not an error");
    is_int(book_depth(b, BOOK_BID), 0, "empty: still empty");
    book_clear(b);
    is_int(book_depth(b, BOOK_BID) + book_depth(b, BOOK_ASK), 0, "empty: clear of an empty book");
    book_free(b);
    book_free(NULL);
}

static void test_snapshot(void)
{
    book *b = book_new();
    static const book_level bids[] = {{103, 1}, {102, 2}, {101, 3}, {99, 4}};
    static const book_level asks[] = {{104, 5}, {105, 6}, {110, 7}};

    set(b, BOOK_BID, 50, 9);
    set(b, BOOK_ASK, 500, 9);
    book_clear(b);
    is_int(book_depth(b, BOOK_BID) + book_depth(b, BOOK_ASK), 0, "clear empties both sides");
    /* Levels in no particular order: the book sorts them. */
    set(b, BOOK_BID, 101, 3);
    set(b, BOOK_ASK, 110, 7);
    set(b, BOOK_BID, 99, 4);
    set(b, BOOK_BID, 103, 1);
    set(b, BOOK_ASK, 104, 5);
    set(b, BOOK_BID, 102, 2);
    set(b, BOOK_ASK, 105, 6);
    ok(side_is(b, BOOK_BID, bids, 4), "snapshot: bids best (highest) first");
    ok(side_is(b, BOOK_ASK, asks, 3), "snapshot: asks best (lowest) first");
    is_int(book_qty_at(b, BOOK_BID, 102), 2, "snapshot: qty_at an existing bid");
    is_int(book_qty_at(b, BOOK_ASK, 102), 0, "snapshot: qty_at looks at one side only");
    is_int(book_qty_at(b, BOOK_ASK, 106), 0, "snapshot: qty_at a missing ask");
    book_free(b);
}

/* Insert, update and remove at the top, in the middle and at the bottom. */
static void test_changes(book_side side)
{
    book *b = book_new();
    const char *name = side == BOOK_BID ? "bid" : "ask";
    /* Prices in best-first order for the side. */
    int64_t p[5];
    book_level want[5];
    book_level lv;

    for (int i = 0; i < 5; i++)
        p[i] = side == BOOK_BID ? 1000 - 10 * i : 1000 + 10 * i;
    set(b, side, p[1], 11);
    set(b, side, p[3], 13);
    want[0] = (book_level){p[1], 11};
    want[1] = (book_level){p[3], 13};
    ok(side_is(b, side, want, 2), "%s: two levels", name);

    set(b, side, p[0], 10); /* new best */
    set(b, side, p[2], 12); /* middle */
    set(b, side, p[4], 14); /* new worst */
    for (int i = 0; i < 5; i++)
        want[i] = (book_level){p[i], 10 + i};
    ok(side_is(b, side, want, 5), "%s: insert at the top, middle and bottom", name);
    ok((side == BOOK_BID ? book_best_bid(b, &lv) : book_best_ask(b, &lv)) == 0 &&
           lv.price == p[0] && lv.qty == 10,
       "%s: best is the new top", name);

    set(b, side, p[0], 20);
    set(b, side, p[2], 22);
    set(b, side, p[4], 24);
    want[0].qty = 20;
    want[2].qty = 22;
    want[4].qty = 24;
    ok(side_is(b, side, want, 5), "%s: update at the top, middle and bottom", name);

    set(b, side, p[2], 0);
    want[2] = want[3];
    want[3] = want[4];
    ok(side_is(b, side, want, 4), "%s: remove in the middle", name);
    set(b, side, p[0], 0);
    ok(side_is(b, side, want + 1, 3), "%s: remove the top", name);
    set(b, side, p[4], 0);
    ok(side_is(b, side, want + 1, 2), "%s: remove the bottom", name);
    is_int(set(b, side, p[2], 0), 0, "%s: remove a missing level returns 0", name);
    is_int(set(b, side, p[1] + (side == BOOK_BID ? 5 : -5), 0), 0,
           "%s: remove a missing price between two levels returns 0", name);
    ok(side_is(b, side, want + 1, 2), "%s: removing missing levels changes nothing", name);
    is_int(book_depth(b, side == BOOK_BID ? BOOK_ASK : BOOK_BID), 0,
           "%s: the other side is untouched", name);
    book_free(b);
}

static void test_reading(void)
{
    book *b = book_new();
    book_level out[10], lv = {-1, -1};
    size_t n;

    for (int i = 0; i < 4; i++)
        set(b, BOOK_ASK, 200 + i, 1 + i);
    is_int(book_level_at(b, BOOK_ASK, 4, &lv), -1, "level_at just past the depth is -1");
    is_int(book_level_at(b, BOOK_ASK, (size_t)-1, &lv), -1, "level_at SIZE_MAX is -1");
    ok(lv.price == -1 && lv.qty == -1, "level_at out of range leaves out untouched");
    ok(book_level_at(b, BOOK_ASK, 3, &lv) == 0 && lv.price == 203 && lv.qty == 4,
       "level_at the last level");
    for (int i = 0; i < 10; i++)
        out[i] = (book_level){-9, -9};
    n = book_top(b, BOOK_ASK, out, 10);
    is_int(n, 4, "top with n larger than the depth copies the depth");
    ok(out[0].price == 200 && out[3].price == 203 && out[4].price == -9,
       "top copies best first and writes nothing past the depth");
    n = book_top(b, BOOK_ASK, out, 2);
    is_int(n, 2, "top with n smaller than the depth copies n");
    is_int(book_top(b, BOOK_ASK, out, 0), 0, "top with n 0 copies nothing");
    book_free(b);
}

static void test_crossed(void)
{
    book *b = book_new();
    static const book_level bids[] = {{105, 1}, {100, 2}};
    static const book_level asks[] = {{101, 3}, {106, 4}};

    set(b, BOOK_BID, 100, 2);
    is_int(book_is_crossed(b), 0, "one side only: not crossed");
    set(b, BOOK_ASK, 101, 3);
    is_int(book_is_crossed(b), 0, "bid below ask: not crossed");
    set(b, BOOK_ASK, 100, 5);
    is_int(book_is_crossed(b), 1, "bid equal to ask: crossed");
    set(b, BOOK_ASK, 100, 0);
    is_int(book_is_crossed(b), 0, "the equal ask removed: not crossed");
    set(b, BOOK_BID, 105, 1);
    set(b, BOOK_ASK, 106, 4);
    is_int(book_is_crossed(b), 1, "bid above ask: crossed");
    ok(side_is(b, BOOK_BID, bids, 2) && side_is(b, BOOK_ASK, asks, 2),
       "a crossed book is left as the feed made it");
    book_free(b);
}

static void test_negative_qty(void)
{
    book *b = book_new();
    static const book_level bids[] = {{100, 5}, {90, 6}};

    set(b, BOOK_BID, 100, 5);
    set(b, BOOK_BID, 90, 6);
    is_int(set(b, BOOK_BID, 100, -1), -1, "negative qty on an existing level is refused");
    is_int(set(b, BOOK_BID, 95, -5), -1, "negative qty on a new level is refused");
    is_int(set(b, BOOK_BID, 95, INT64_MIN), -1, "INT64_MIN qty is refused");
    ok(side_is(b, BOOK_BID, bids, 2), "refused deltas leave the book unchanged");
    book_free(b);
}

/* Extreme and negative prices keep their order on both sides. */
static void test_price_range(void)
{
    book *b = book_new();
    static const book_level bids[] = {{INT64_MAX, 1}, {0, 2}, {-5, 3}, {INT64_MIN, 4}};
    static const book_level asks[] = {{INT64_MIN, 5}, {-5, 6}, {0, 7}, {INT64_MAX, 8}};

    for (int i = 3; i >= 0; i--) {
        set(b, BOOK_BID, bids[i].price, bids[i].qty);
        set(b, BOOK_ASK, asks[i].price, asks[i].qty);
    }
    ok(side_is(b, BOOK_BID, bids, 4), "bids from INT64_MAX down to INT64_MIN");
    ok(side_is(b, BOOK_ASK, asks, 4), "asks from INT64_MIN up to INT64_MAX");
    is_int(book_qty_at(b, BOOK_ASK, INT64_MIN), 5, "qty_at an ask at INT64_MIN");
    is_int(book_qty_at(b, BOOK_BID, INT64_MAX), 1, "qty_at a bid at INT64_MAX");
    set(b, BOOK_ASK, INT64_MIN, 0);
    set(b, BOOK_BID, INT64_MAX, 0);
    ok(side_is(b, BOOK_BID, bids + 1, 3) && side_is(b, BOOK_ASK, asks + 1, 3),
       "levels at the extremes are removed");
    book_free(b);
}

/* A deterministic shuffle, so a failure can be reproduced. */
static void shuffle(int64_t *v, size_t n, uint64_t seed)
{
    for (size_t i = n; i > 1; i--) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t j = (size_t)((seed >> 33) % i);
        int64_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static void test_deep(void)
{
    static int64_t order[DEEP];
    static book_level bids[DEEP], asks[DEEP], kept[DEEP];
    book *b = book_new();
    size_t nkept = 0;
    int bad = 0;

    /* Bids 1..6000 ticks below 1,000,000, asks 0..5999 above, set in random order. */
    for (size_t i = 0; i < DEEP; i++)
        order[i] = (int64_t)i;
    shuffle(order, DEEP, 42);
    for (size_t i = 0; i < DEEP; i++) {
        int64_t k = order[i];
        bad |= set(b, BOOK_BID, 1000000 - 1 - k, 1 + k);
        bad |= set(b, BOOK_ASK, 1000000 + k, 100 + k);
    }
    for (size_t i = 0; i < DEEP; i++) {
        bids[i] = (book_level){1000000 - 1 - (int64_t)i, 1 + (int64_t)i};
        asks[i] = (book_level){1000000 + (int64_t)i, 100 + (int64_t)i};
    }
    is_int(bad, 0, "6000 levels a side: every delta applied");
    ok(side_is(b, BOOK_BID, bids, DEEP), "6000 bids in order");
    ok(side_is(b, BOOK_ASK, asks, DEEP), "6000 asks in order");
    is_int(book_qty_at(b, BOOK_ASK, 1000000 + 4321), 100 + 4321, "qty_at deep in the asks");
    is_int(book_is_crossed(b), 0, "6000 a side: not crossed");

    /* Remove every level whose tick is not a multiple of 3, in random order. */
    shuffle(order, DEEP, 7);
    for (size_t i = 0; i < DEEP; i++) {
        if (order[i] % 3 != 0)
            set(b, BOOK_BID, 1000000 - 1 - order[i], 0);
    }
    for (size_t i = 0; i < DEEP; i += 3)
        kept[nkept++] = bids[i];
    ok(side_is(b, BOOK_BID, kept, nkept), "bids after removing two levels in three");
    ok(side_is(b, BOOK_ASK, asks, DEEP), "asks untouched by the bid removals");

    book_clear(b);
    is_int(book_depth(b, BOOK_BID) + book_depth(b, BOOK_ASK), 0, "clear of a deep book");
    set(b, BOOK_BID, 10, 1);
    ok(side_is(b, BOOK_BID, (const book_level[]){{10, 1}}, 1), "a cleared book takes new levels");
    book_free(b);
}

static lutra_event delta(uint8_t type, uint8_t flags, int64_t price, int64_t qty)
{
    lutra_event ev;

    memset(&ev, 0, sizeof ev);
    ev.h.type = type;
    ev.h.flags = flags;
    ev.h.size = lutra_event_size(type);
    ev.delta.price = price;
    ev.delta.qty = qty;
    return ev;
}

static void test_events(void)
{
    book *b = book_new();
    lutra_event ev;
    static const book_level bids[] = {{99, 2}};
    static const book_level asks[] = {{101, 3}};

    ev = delta(LUTRA_EV_BOOK_DELTA, LUTRA_F_BID | LUTRA_F_LAST, 99, 2);
    is_int(book_apply_event(b, &ev), 0, "event: a delta with LUTRA_F_BID");
    ev = delta(LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT, 101, 3);
    is_int(book_apply_event(b, &ev), 0, "event: a delta without LUTRA_F_BID");
    ok(side_is(b, BOOK_BID, bids, 1) && side_is(b, BOOK_ASK, asks, 1),
       "event: LUTRA_F_BID picks the bid side, its absence the ask side");

    ev = delta(LUTRA_EV_TRADE, LUTRA_F_BID, 50, 7);
    is_int(book_apply_event(b, &ev), 0, "event: a trade returns 0");
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_QUOTE;
    ev.quote.bid_price = 100;
    ev.quote.bid_qty = 9;
    ev.quote.ask_price = 100;
    ev.quote.ask_qty = 9;
    is_int(book_apply_event(b, &ev), 0, "event: a quote returns 0");
    ev = delta(200, LUTRA_F_BID, 98, 1);
    is_int(book_apply_event(b, &ev), 0, "event: an unknown type returns 0");
    ok(side_is(b, BOOK_BID, bids, 1) && side_is(b, BOOK_ASK, asks, 1),
       "event: other record types leave the book unchanged");

    ev = delta(LUTRA_EV_BOOK_DELTA, LUTRA_F_BID, 99, -1);
    is_int(book_apply_event(b, &ev), -1, "event: a negative qty is refused");
    ok(side_is(b, BOOK_BID, bids, 1), "event: the refused delta changed nothing");

    ev = delta(LUTRA_EV_BOOK_DELTA, LUTRA_F_BID, 99, 0);
    book_apply_event(b, &ev);
    is_int(book_depth(b, BOOK_BID), 0, "event: qty 0 removes the level");

    ev = delta(LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 0, 0);
    is_int(book_apply_event(b, &ev), 0, "event: clear returns 0");
    is_int(book_depth(b, BOOK_BID) + book_depth(b, BOOK_ASK), 0, "event: clear empties both sides");
    book_free(b);
}

/* A limited address space and AddressSanitizer's shadow memory do not mix. */
#if defined(__SANITIZE_ADDRESS__)
#define BOOK_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BOOK_TEST_ASAN 1
#endif
#endif

#ifndef BOOK_TEST_ASAN
/*
 * Run out of memory for real: a child limits its address space to 64 MB
 * more than it uses, then adds levels until a delta is refused. @return
 * the child's exit status: 0 if the refused delta left the book as it was
 * and the book still works, else the number of the check that failed.
 */
static int out_of_memory_child(void)
{
    struct rlimit lim;
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    book *b = book_new();
    book_level lv;
    int64_t price;

    if (!f || fscanf(f, "%ld", &pages) != 1 || !b)
        return 10;
    fclose(f);
    lim.rlim_cur = lim.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (64 << 20);
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        return 11;
    for (price = 1; price < 100000000; price++) {
        if (book_apply_delta(b, BOOK_BID, price, price) != 0)
            break;
    }
    if (price == 100000000)
        return 1; /* never ran out */
    if (book_depth(b, BOOK_BID) != (size_t)(price - 1))
        return 2;
    if (book_best_bid(b, &lv) != 0 || lv.price != price - 1 || lv.qty != price - 1)
        return 3;
    if (book_qty_at(b, BOOK_BID, price) != 0)
        return 4;
    if (book_level_at(b, BOOK_BID, (size_t)(price - 2), &lv) != 0 || lv.price != 1)
        return 5;
    if (book_apply_delta(b, BOOK_BID, price - 1, 0) != 0 ||
        book_depth(b, BOOK_BID) != (size_t)(price - 2))
        return 6;
    if (book_apply_delta(b, BOOK_BID, 7, 70) != 0 || book_qty_at(b, BOOK_BID, 7) != 70)
        return 7;
    book_free(b);
    return 0;
}
#endif

static void test_out_of_memory(void)
{
#ifdef BOOK_TEST_ASAN
    skip(1, "out of memory: a limited address space and AddressSanitizer do not mix");
#else
    int status = -1;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(out_of_memory_child());
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        ok(0, "out of memory: could not run the child");
        return;
    }
    if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "out of memory: the refused delta leaves the book unchanged and usable"))
        diag("child status %d (exit %d)", status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
#endif
}

int main(void)
{
    plan(85);
    test_empty();
    test_snapshot();
    test_changes(BOOK_BID);
    test_changes(BOOK_ASK);
    test_reading();
    test_crossed();
    test_negative_qty();
    test_price_range();
    test_deep();
    test_events();
    test_out_of_memory();
    return done();
}
