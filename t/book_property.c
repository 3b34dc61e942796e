/*
 * t/book_property.c -- the L2 book against a deliberately simple model.
 *
 * Long random sequences of clear / set / remove / remove-missing / refused
 * (negative qty) operations, prices clustered near a mid that wanders, with
 * occasional far levels (inserts deep in the book) and a target depth that
 * changes so the book grows and shrinks through many block splits and
 * merges. The model is an unsorted array per side, scanned linearly and put
 * in order by an insertion sort before each comparison (one element moved
 * since the last one, so the sort is linear). After every operation the two
 * must agree on each side's depth, best level, every level in order, a level
 * read through book_level_at, the quantity at the touched price and the
 * crossed flag.
 *
 * One test point per seed. The seeds are LUTRA_SEED (default below) and the
 * next SEEDS - 1 numbers; each is printed, and LUTRA_SEED=<seed> replays a
 * failing one first.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "book.h"
#include "rng.h"
#include "tap.h"

#define SEEDS 4
#define STEPS_PER_SEED 80000
#define DEFAULT_SEED 20240808ULL
#define MODEL_MAX 4096

typedef struct model_side {
    book_level lv[MODEL_MAX];
    size_t n;
} model_side;

typedef struct model {
    model_side side[2];
} model;

typedef struct stats {
    long sets, updates, removes, missing, refused, clears, far, crossed;
    size_t max_depth;
} stats;

typedef struct gen {
    rng rng;
    int64_t mid;
    size_t target_depth;
} gen;

static uint64_t below(gen *g, uint64_t n)
{
    return rng_next(&g->rng) % n;
}

/* ---- The model ---- */

static long model_find(const model_side *m, int64_t price)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->lv[i].price == price)
            return (long)i;
    }
    return -1;
}

static void model_set(model_side *m, int64_t price, int64_t qty)
{
    long i = model_find(m, price);

    if (i >= 0 && qty == 0)
        m->lv[i] = m->lv[--m->n];
    else if (i >= 0)
        m->lv[i].qty = qty;
    else if (qty > 0)
        m->lv[m->n++] = (book_level){price, qty};
}

/* Best first: bids descending, asks ascending. */
static int better(book_side side, int64_t a, int64_t b)
{
    return side == BOOK_BID ? a > b : a < b;
}

static void model_sort(model_side *m, book_side side)
{
    for (size_t i = 1; i < m->n; i++) {
        book_level v = m->lv[i];
        size_t j = i;
        while (j > 0 && better(side, v.price, m->lv[j - 1].price)) {
            m->lv[j] = m->lv[j - 1];
            j--;
        }
        m->lv[j] = v;
    }
}

static int model_crossed(const model *m)
{
    const model_side *bid = &m->side[BOOK_BID], *ask = &m->side[BOOK_ASK];
    return bid->n > 0 && ask->n > 0 && bid->lv[0].price >= ask->lv[0].price;
}

/* ---- Comparison ---- */

static const char *side_name(book_side side)
{
    return side == BOOK_BID ? "bid" : "ask";
}

/* @return 1 if the book's side matches the (sorted) model's, else diag why. */
static int side_agrees(const book *b, const model_side *m, book_side side, gen *g)
{
    static book_level top[MODEL_MAX + 1];
    book_level lv, none = {-7, -7};
    size_t n, i;

    if (book_depth(b, side) != m->n) {
        diag("%s depth %zu, model %zu", side_name(side), book_depth(b, side), m->n);
        return 0;
    }
    n = book_top(b, side, top, MODEL_MAX + 1);
    if (n != m->n) {
        diag("%s: book_top copied %zu, model has %zu", side_name(side), n, m->n);
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (top[i].price != m->lv[i].price || top[i].qty != m->lv[i].qty) {
            diag("%s level %zu: book %lld x %lld, model %lld x %lld", side_name(side), i,
                 (long long)top[i].price, (long long)top[i].qty, (long long)m->lv[i].price,
                 (long long)m->lv[i].qty);
            return 0;
        }
    }
    if ((side == BOOK_BID ? book_best_bid(b, &lv) : book_best_ask(b, &lv)) != (n ? 0 : -1) ||
        (n && (lv.price != m->lv[0].price || lv.qty != m->lv[0].qty))) {
        diag("%s: best level differs from the model's", side_name(side));
        return 0;
    }
    i = n ? (size_t)below(g, n) : 0;
    if (n && (book_level_at(b, side, i, &lv) != 0 || lv.price != m->lv[i].price ||
              lv.qty != m->lv[i].qty)) {
        diag("%s: level_at(%zu) differs from the model's", side_name(side), i);
        return 0;
    }
    if (book_level_at(b, side, n, &none) != -1 || none.price != -7) {
        diag("%s: level_at(depth %zu) did not refuse", side_name(side), n);
        return 0;
    }
    return 1;
}

static int book_agrees(const book *b, model *m, book_side touched, int64_t price, gen *g)
{
    long i;
    int64_t want;

    for (int s = 0; s < 2; s++) {
        model_sort(&m->side[s], (book_side)s);
        if (!side_agrees(b, &m->side[s], (book_side)s, g))
            return 0;
    }
    i = model_find(&m->side[touched], price);
    want = i >= 0 ? m->side[touched].lv[i].qty : 0;
    if (book_qty_at(b, touched, price) != want) {
        diag("qty_at %s %lld: book %lld, model %lld", side_name(touched), (long long)price,
             (long long)book_qty_at(b, touched, price), (long long)want);
        return 0;
    }
    if (book_is_crossed(b) != model_crossed(m)) {
        diag("crossed: book %d, model %d", book_is_crossed(b), model_crossed(m));
        return 0;
    }
    return 1;
}

/* ---- Operations ---- */

/*
 * A price on a side: mostly within the last few ticks of the touch or
 * spread over twice the target depth, 3% far away (a deep insert), 1% just
 * across the mid (a crossed book).
 */
static int64_t some_price(gen *g, book_side side, stats *st)
{
    uint64_t kind = below(g, 100);
    int64_t off;

    if (kind < 3) {
        off = 1000000 + (int64_t)below(g, 1000000000);
        st->far++;
    } else if (kind < 4) {
        off = -1 - (int64_t)below(g, 3);
    } else if (kind < 30) {
        off = (int64_t)below(g, 16);
    } else {
        off = (int64_t)below(g, 2 * g->target_depth + 8);
    }
    return side == BOOK_BID ? g->mid - 1 - off : g->mid + off;
}

static int64_t missing_price(gen *g, const model_side *m, book_side side, stats *st)
{
    int64_t price = some_price(g, side, st);

    while (model_find(m, price) >= 0)
        price++;
    return price;
}

/* The best level of a side, as a feed removes it when the book crossed. */
static int64_t best_price(const model_side *m, book_side side)
{
    size_t best = 0;

    for (size_t i = 1; i < m->n; i++) {
        if (better(side, m->lv[i].price, m->lv[best].price))
            best = i;
    }
    return m->lv[best].price;
}

/*
 * Pick one operation and apply it to both. @return 0, or -1 when the book's
 * return code was wrong (diag says so). *side and *price: what was touched.
 */
static int step(gen *g, book *b, model *m, stats *st, book_side *side, int64_t *price)
{
    uint64_t op = below(g, 100000);
    model_side *ms;
    int64_t qty;
    int rc, want_rc = 0;

    if (below(g, 100) < 5)
        g->mid += (int64_t)below(g, 7) - 3;
    *side = (book_side)below(g, 2);
    ms = &m->side[*side];
    if (op < 5) {
        book_clear(b);
        m->side[0].n = m->side[1].n = 0;
        st->clears++;
        *price = g->mid;
        return 0;
    }
    if (op < 1000) { /* refused: the book must not change */
        *price = ms->n && below(g, 2) ? ms->lv[below(g, ms->n)].price : some_price(g, *side, st);
        qty = -1 - (int64_t)below(g, 1000);
        want_rc = -1;
        st->refused++;
    } else if (op < 9000) {
        *price = missing_price(g, ms, *side, st);
        qty = 0;
        st->missing++;
    } else if (model_crossed(m) && below(g, 2) == 0) {
        *price = best_price(ms, *side);
        qty = 0;
        st->removes++;
    } else if (ms->n > 0 && below(g, 1000) < (ms->n > g->target_depth ? 600u : 250u)) {
        *price = ms->lv[below(g, ms->n)].price;
        qty = 0;
        st->removes++;
    } else if (ms->n > 0 && below(g, 5) == 0) {
        *price = ms->lv[below(g, ms->n)].price;
        qty = 1 + (int64_t)below(g, 1000000);
        st->updates++;
    } else {
        *price = some_price(g, *side, st);
        if (ms->n == MODEL_MAX && model_find(ms, *price) < 0)
            return 0; /* the model is full: skip this insert */
        qty = 1 + (int64_t)below(g, 1000000);
        st->sets++;
    }
    rc = book_apply_delta(b, *side, *price, qty);
    if (rc != want_rc) {
        diag("apply %s %lld x %lld returned %d, expected %d", side_name(*side),
             (long long)*price, (long long)qty, rc, want_rc);
        return -1;
    }
    if (want_rc == 0)
        model_set(ms, *price, qty);
    return 0;
}

static int run_seed(uint64_t seed, stats *st)
{
    static model m;
    static const size_t targets[] = {20, 300, 1500, 60};
    gen g = {.mid = 1000000, .target_depth = 20};
    book *b = book_new();
    book_side side;
    int64_t price;

    if (!b) {
        diag("seed %" PRIu64 ": book_new failed", seed);
        return 0;
    }
    rng_seed(&g.rng, seed, 0);
    m.side[0].n = m.side[1].n = 0;
    for (long i = 0; i < STEPS_PER_SEED; i++) {
        g.target_depth = targets[(i / 10000) % 4];
        if (step(&g, b, &m, st, &side, &price) < 0 || !book_agrees(b, &m, side, price, &g)) {
            diag("seed %" PRIu64 " failed at step %ld (replay: LUTRA_SEED=%" PRIu64 ")", seed,
                 i, seed);
            book_free(b);
            return 0;
        }
        st->crossed += book_is_crossed(b);
        if (book_depth(b, side) > st->max_depth)
            st->max_depth = book_depth(b, side);
    }
    book_free(b);
    return 1;
}

int main(void)
{
    const char *env = getenv("LUTRA_SEED");
    uint64_t base = DEFAULT_SEED;
    stats st = {0};
    char *end;

    if (env && *env) {
        base = strtoull(env, &end, 0);
        if (*end)
            bail_out("LUTRA_SEED=%s is not a number", env);
    }

    plan(SEEDS + 1);
    for (uint64_t s = base; s < base + SEEDS; s++) {
        diag("seed %" PRIu64, s);
        ok(run_seed(s, &st), "seed %" PRIu64 ": book and model agree after each of %d operations",
           s, STEPS_PER_SEED);
    }
    diag("sets %ld, updates %ld, removes %ld, missing %ld, refused %ld, clears %ld, far %ld, "
         "crossed %ld, max depth %zu", st.sets, st.updates, st.removes, st.missing, st.refused,
         st.clears, st.far, st.crossed, st.max_depth);
    ok(st.sets && st.updates && st.removes && st.missing && st.refused && st.clears && st.far &&
           st.crossed,
       "the sequences exercised every kind of operation and crossed books");
    return done();
}
