/*
 * book.c -- one L2 order book (book.h).
 *
 * The structure, chosen by measuring real Binance depth diffs (bench/book.c
 * on BTCUSDT spot, 2024-08-08): each side is an ordered list of small blocks,
 * each a sorted array of up to BOOK_BLOCK_LEVELS levels, and a directory that
 * holds, in price order, each block's pool index, level count and a lower
 * bound of its keys.
 *
 * Why not one sorted array per side: in those diffs most insertions and
 * removals land 64 to 2,000 levels away from the touch (a diff carries every
 * level that changed among the 5,000 of the snapshot), so one array moves
 * hundreds of levels per delta: 61 ns a delta on average, 117 ns at p99.
 * With blocks a change moves at most one block's levels and the directory
 * to search is BOOK_BLOCK_LEVELS times shorter than the side: 42 ns, 54 ns
 * at p99.
 *
 * Why not a ladder indexed by price in ticks (hftbacktest's): the book does
 * not know the tick size, and the changes are spread wide: on BTCUSDT spot
 * only 79% of them fall within 16,384 ticks of the touch, so a ladder would
 * be mostly empty slots, and reaching level i or the next best after the
 * best goes means scanning them.
 *
 * Both sides share one code path: a level is stored under a key that grows
 * towards the best (the price for bids, ~price for asks, which reverses the
 * order without the overflow of -price), so the best level is the last level
 * of the last block: O(1). Level i walks the directory's counts down from the
 * best block, O(1 + i / BOOK_BLOCK_LEVELS): cheap near the top, which is
 * where book:bid(i) reads.
 *
 * The best level of each side is also kept in a small array (book_best_levels)
 * that strategies read on every book message, most through LuaJIT's FFI
 * without calling C. Keeping it costs one comparison per change below the
 * best; a change at or above it sets it, and only the removal of the best
 * reads the blocks again.
 *
 * Blocks split in two when an insertion finds them full and merge with a
 * neighbour when a removal leaves the two together at half a block or less,
 * so adjacent blocks always hold more than half a block between them (the
 * directory stays short, the walk to level i bounded) and a split is not
 * undone by the next removal. Blocks come from a pool that grows
 * geometrically and keeps its free blocks: a book in its steady state does
 * not allocate, and a clear keeps the memory for the next snapshot.
 */
#include "book.h"

#include <stdlib.h>
#include <string.h>

/*
 * Levels per block. Measured on real diffs: 8 and 16 tie, 24 and 32 are
 * ~15% slower (the count in block_find grows), 8 doubles the directory.
 */
#define BOOK_BLOCK_LEVELS 16
#define BOOK_MERGE_LEVELS (BOOK_BLOCK_LEVELS / 2)
/* What unused slots hold: never smaller than a key, so block_find can count
 * over the whole block whatever its fill. */
#define BOOK_KEY_PAD INT64_MAX

typedef struct book_block {
    int64_t key[BOOK_BLOCK_LEVELS]; /* ascending, then BOOK_KEY_PAD */
    int64_t qty[BOOK_BLOCK_LEVELS];
} book_block;

/* One side: its blocks in ascending key order. */
typedef struct book_ladder {
    int64_t *low;    /* low[j] <= every key of block j; low[0] is INT64_MIN */
    uint32_t *block; /* pool index of the j-th block */
    uint32_t *count; /* levels in the j-th block */
    size_t nblocks;  /* >= 1: an empty side has one empty block */
    size_t cap;      /* entries allocated in low, block and count */
    size_t depth;    /* levels on the side */
    size_t hint;     /* the block the last change landed in: see ladder_locate */
    int64_t best_key; /* key of the best level, INT64_MIN when the side is empty */
} book_ladder;

struct book {
    book_ladder side[2];
    book_level best[2]; /* by side; qty 0 when the side is empty */
    book_block *pool;
    size_t pool_cap;
    uint32_t *free_blocks; /* stack of unused pool indices, pool_cap long */
    size_t nfree;
};

/* ---- Keys ---- */

/* Keys grow towards the best on both sides; ~ is its own inverse. */
static inline int64_t book_key(book_side side, int64_t price)
{
    return side == BOOK_BID ? price : ~price;
}

static inline int64_t book_price(book_side side, int64_t key)
{
    return book_key(side, key);
}

/* ---- Memory ---- */

/*
 * Make sure a free block exists. The pool is cache-line aligned, so a
 * block's keys take exactly two lines; aligned memory cannot be realloc'd,
 * hence the copy. @return 0, or -1 out of memory (the book unchanged).
 */
static int book_reserve_block(book *b)
{
    size_t cap = b->pool_cap ? b->pool_cap * 2 : 8;
    book_block *pool;
    uint32_t *free_blocks;

    if (b->nfree > 0)
        return 0;
    if (cap > UINT32_MAX || cap > SIZE_MAX / sizeof *pool)
        return -1;
    free_blocks = realloc(b->free_blocks, cap * sizeof *free_blocks);
    if (!free_blocks)
        return -1;
    b->free_blocks = free_blocks;
    pool = aligned_alloc(64, cap * sizeof *pool);
    if (!pool)
        return -1; /* the longer free stack is kept, unused: harmless */
    if (b->pool_cap)
        memcpy(pool, b->pool, b->pool_cap * sizeof *pool);
    free(b->pool);
    b->pool = pool;
    /* Push in reverse so the lowest new index is taken first. */
    for (size_t i = cap; i > b->pool_cap; i--)
        b->free_blocks[b->nfree++] = (uint32_t)(i - 1);
    b->pool_cap = cap;
    return 0;
}

static void block_empty(book_block *k)
{
    for (int i = 0; i < BOOK_BLOCK_LEVELS; i++)
        k->key[i] = BOOK_KEY_PAD;
}

/* Take a free block (one must be reserved), emptied. */
static uint32_t book_take_block(book *b)
{
    uint32_t idx = b->free_blocks[--b->nfree];

    block_empty(&b->pool[idx]);
    return idx;
}

static void book_give_block(book *b, uint32_t idx)
{
    b->free_blocks[b->nfree++] = idx;
}

/* Make room for one more directory entry. @return 0, or -1 out of memory. */
static int ladder_reserve_entry(book_ladder *l)
{
    size_t cap = l->cap ? l->cap * 2 : 8;
    int64_t *low;
    uint32_t *block, *count;

    if (l->nblocks < l->cap)
        return 0;
    /* Each array is stored back as soon as it grows, so a failure part way
     * leaves longer arrays with the same contents: harmless. */
    low = realloc(l->low, cap * sizeof *low);
    if (!low)
        return -1;
    l->low = low;
    block = realloc(l->block, cap * sizeof *block);
    if (!block)
        return -1;
    l->block = block;
    count = realloc(l->count, cap * sizeof *count);
    if (!count)
        return -1;
    l->count = count;
    l->cap = cap;
    return 0;
}

/* Make a side one empty block, the one it had first; the rest go back. */
static void ladder_reset(book *b, book_ladder *l)
{
    for (size_t j = 1; j < l->nblocks; j++)
        book_give_block(b, l->block[j]);
    block_empty(&b->pool[l->block[0]]);
    l->nblocks = 1;
    l->low[0] = INT64_MIN;
    l->count[0] = 0;
    l->depth = 0;
    l->best_key = INT64_MIN;
}

book *book_new(void)
{
    book *b = calloc(1, sizeof *b);

    if (!b)
        return NULL;
    for (int s = 0; s < 2; s++) {
        book_ladder *l = &b->side[s];
        if (ladder_reserve_entry(l) < 0 || book_reserve_block(b) < 0) {
            book_free(b);
            return NULL;
        }
        l->block[0] = book_take_block(b);
        l->nblocks = 1;
        ladder_reset(b, l);
    }
    return b;
}

void book_free(book *b)
{
    if (!b)
        return;
    for (int s = 0; s < 2; s++) {
        free(b->side[s].low);
        free(b->side[s].block);
        free(b->side[s].count);
    }
    free(b->pool);
    free(b->free_blocks);
    free(b);
}

void book_clear(book *b)
{
    ladder_reset(b, &b->side[BOOK_BID]);
    ladder_reset(b, &b->side[BOOK_ASK]);
    memset(b->best, 0, sizeof b->best);
}

/* ---- Search ---- */

/* Index of the block that holds key or would: the last j with low[j] <= key. */
static inline size_t ladder_find(const book_ladder *l, int64_t key)
{
    const int64_t *low = l->low;
    size_t base = 0, n = l->nblocks;

    /* Branch-free: the comparison becomes a conditional move. */
    while (n > 1) {
        size_t half = n / 2;
        base = low[base + half] <= key ? base + half : base;
        n -= half;
    }
    return base;
}

/*
 * The block for key, for a change. A diff lists each side's levels in price
 * order, so a change usually lands in the block the previous one did: on the
 * recorded BTCUSDT diffs trying that block first saves the directory search
 * about 70% of the time and the whole delta ~10%; on changes in random order
 * the wasted guess costs about as much.
 */
static inline size_t ladder_locate(book_ladder *l, int64_t key)
{
    size_t j = l->hint;

    if (j < l->nblocks && l->low[j] <= key && (j + 1 == l->nblocks || key < l->low[j + 1]))
        return j;
    l->hint = ladder_find(l, key);
    return l->hint;
}

/*
 * Position of the first key >= key in a block. Counting the smaller keys
 * over the whole block, pads included (never smaller), has no branch to
 * mispredict and no chain of dependent loads: it beat a binary search.
 */
static inline uint32_t block_find(const book_block *k, int64_t key)
{
    uint32_t smaller = 0;

    for (int i = 0; i < BOOK_BLOCK_LEVELS; i++)
        smaller += k->key[i] < key;
    return smaller;
}

static inline book_block *ladder_block(const book *b, const book_ladder *l, size_t j)
{
    return &b->pool[l->block[j]];
}

/* Level i of a side by walking down from the best block. A block may be
 * empty (a removal that leaves it beside a neighbour too full to merge). */
static int ladder_level_at(const book *b, book_side side, size_t i, book_level *out)
{
    const book_ladder *l = &b->side[side];
    size_t j = l->nblocks - 1;
    const book_block *k;
    size_t at;

    if (i >= l->depth)
        return -1;
    /* Bounded because i < depth. */
    while (i >= l->count[j])
        i -= l->count[j--];
    k = ladder_block(b, l, j);
    at = l->count[j] - 1 - i;
    out->price = book_price(side, k->key[at]);
    out->qty = k->qty[at];
    return 0;
}

/* ---- Changes ---- */

/* Insert at i in a block of n levels (n < BOOK_BLOCK_LEVELS). */
static void block_insert(book_block *k, uint32_t n, uint32_t i, int64_t key, int64_t qty)
{
    /* A loop, not memmove: the moves are short and a call costs more. */
    for (uint32_t j = n; j > i; j--) {
        k->key[j] = k->key[j - 1];
        k->qty[j] = k->qty[j - 1];
    }
    k->key[i] = key;
    k->qty[i] = qty;
}

/* Remove level i of a block of n levels. */
static void block_remove(book_block *k, uint32_t n, uint32_t i)
{
    for (uint32_t j = i; j + 1 < n; j++) {
        k->key[j] = k->key[j + 1];
        k->qty[j] = k->qty[j + 1];
    }
    k->key[n - 1] = BOOK_KEY_PAD;
}

/* Insert directory entry j, shifting the rest up (capacity reserved). */
static void ladder_insert_entry(book_ladder *l, size_t j, uint32_t idx, int64_t low,
                                uint32_t count)
{
    size_t tail = l->nblocks - j;

    memmove(&l->low[j + 1], &l->low[j], tail * sizeof l->low[0]);
    memmove(&l->block[j + 1], &l->block[j], tail * sizeof l->block[0]);
    memmove(&l->count[j + 1], &l->count[j], tail * sizeof l->count[0]);
    l->low[j] = low;
    l->block[j] = idx;
    l->count[j] = count;
    l->nblocks++;
}

static void ladder_remove_entry(book_ladder *l, size_t j)
{
    size_t tail = l->nblocks - j - 1;

    memmove(&l->low[j], &l->low[j + 1], tail * sizeof l->low[0]);
    memmove(&l->block[j], &l->block[j + 1], tail * sizeof l->block[0]);
    memmove(&l->count[j], &l->count[j + 1], tail * sizeof l->count[0]);
    l->nblocks--;
}

/*
 * Split full block j: its upper half moves to a new block j + 1. The caller
 * has reserved the block and the directory entry, so this cannot fail.
 */
static void ladder_split(book *b, book_ladder *l, size_t j)
{
    uint32_t idx = book_take_block(b);
    book_block *lower = ladder_block(b, l, j), *upper = &b->pool[idx];
    uint32_t keep = BOOK_BLOCK_LEVELS / 2, moved = BOOK_BLOCK_LEVELS - keep;

    memcpy(upper->key, &lower->key[keep], moved * sizeof upper->key[0]);
    memcpy(upper->qty, &lower->qty[keep], moved * sizeof upper->qty[0]);
    for (uint32_t i = keep; i < BOOK_BLOCK_LEVELS; i++)
        lower->key[i] = BOOK_KEY_PAD;
    l->count[j] = keep;
    ladder_insert_entry(l, j + 1, idx, upper->key[0], moved);
}

/*
 * After a removal from block j: merge it with its smaller neighbour when the
 * two hold half a block or less, so no block is left empty and adjacent
 * blocks always fill more than half of one.
 */
static void ladder_rebalance(book *b, book_ladder *l, size_t j)
{
    size_t left, right;
    book_block *dst, *src;

    if (l->nblocks == 1)
        return;
    if (j == 0)
        right = 1;
    else if (j == l->nblocks - 1)
        right = j;
    else
        right = l->count[j - 1] <= l->count[j + 1] ? j : j + 1;
    left = right - 1;
    if (l->count[left] + l->count[right] > BOOK_MERGE_LEVELS)
        return;
    dst = ladder_block(b, l, left);
    src = ladder_block(b, l, right);
    memcpy(&dst->key[l->count[left]], src->key, l->count[right] * sizeof src->key[0]);
    memcpy(&dst->qty[l->count[left]], src->qty, l->count[right] * sizeof src->qty[0]);
    l->count[left] += l->count[right];
    book_give_block(b, l->block[right]);
    ladder_remove_entry(l, right); /* low[left] still bounds the merged keys */
}

/* Insert key into block j at i, splitting it first when full. */
static int ladder_insert(book *b, book_ladder *l, size_t j, uint32_t i, int64_t key,
                         int64_t qty)
{
    if (l->count[j] == BOOK_BLOCK_LEVELS) {
        /* Reserve first: a failure must leave the book as it was. */
        if (book_reserve_block(b) < 0 || ladder_reserve_entry(l) < 0)
            return -1;
        ladder_split(b, l, j);
        if (key >= l->low[j + 1]) {
            i -= l->count[j];
            j++;
        }
    }
    block_insert(ladder_block(b, l, j), l->count[j], i, key, qty);
    l->count[j]++;
    l->depth++;
    return 0;
}

static int ladder_set(book *b, book_ladder *l, int64_t key, int64_t qty)
{
    size_t j = ladder_locate(l, key);
    book_block *k = ladder_block(b, l, j);
    uint32_t i = block_find(k, key);

    if (i < l->count[j] && k->key[i] == key) {
        if (qty > 0) {
            k->qty[i] = qty;
            return 0;
        }
        block_remove(k, l->count[j], i);
        l->count[j]--;
        l->depth--;
        ladder_rebalance(b, l, j);
        return 0;
    }
    if (qty == 0)
        return 0; /* removing a level that is not there */
    return ladder_insert(b, l, j, i, key, qty);
}

/* Read a side's best level from the blocks, after the best was removed. */
static void book_reread_best(book *b, book_side side)
{
    book_ladder *l = &b->side[side];

    if (ladder_level_at(b, side, 0, &b->best[side]) < 0) {
        b->best[side].price = 0;
        b->best[side].qty = 0;
        l->best_key = INT64_MIN;
        return;
    }
    l->best_key = book_key(side, b->best[side].price);
}

/*
 * Keep the best level after a change at key: a change below the best leaves
 * it where it was, and only the removal of the best needs the blocks (on
 * the recorded diffs few changes reach the best; on the sample generator's,
 * which trade at the touch, most do).
 */
static void book_track_best(book *b, book_side side, int64_t key, int64_t price, int64_t qty)
{
    book_ladder *l = &b->side[side];

    if (key < l->best_key)
        return;
    if (key == l->best_key && qty == 0) {
        book_reread_best(b, side);
    } else if (qty > 0) {
        l->best_key = key;
        b->best[side].price = price;
        b->best[side].qty = qty;
    }
    /* else removing a level above the best, which is not there */
}

int book_apply_delta(book *b, book_side side, int64_t price, int64_t qty)
{
    int64_t key = book_key(side, price);

    if (qty < 0)
        return -1;
    if (ladder_set(b, &b->side[side], key, qty) < 0)
        return -1;
    book_track_best(b, side, key, price, qty);
    return 0;
}

int book_apply_event(book *b, const lutra_event *ev)
{
    book_side side;

    switch (ev->h.type) {
    case LUTRA_EV_BOOK_CLEAR:
        book_clear(b);
        return 0;
    case LUTRA_EV_BOOK_DELTA:
        side = ev->h.flags & LUTRA_F_BID ? BOOK_BID : BOOK_ASK;
        return book_apply_delta(b, side, ev->delta.price, ev->delta.qty);
    default:
        return 0;
    }
}

/* ---- Reading ---- */

size_t book_depth(const book *b, book_side side)
{
    return b->side[side].depth;
}

int book_level_at(const book *b, book_side side, size_t i, book_level *out)
{
    if (i == 0) {
        if (!b->best[side].qty)
            return -1;
        *out = b->best[side];
        return 0;
    }
    return ladder_level_at(b, side, i, out);
}

int book_best_bid(const book *b, book_level *out)
{
    return book_level_at(b, BOOK_BID, 0, out);
}

int book_best_ask(const book *b, book_level *out)
{
    return book_level_at(b, BOOK_ASK, 0, out);
}

const book_level *book_best_levels(const book *b)
{
    return b->best;
}

size_t book_top(const book *b, book_side side, book_level *out, size_t n)
{
    const book_ladder *l = &b->side[side];
    size_t copied = 0;

    for (size_t j = l->nblocks; j > 0 && copied < n; j--) {
        const book_block *k = ladder_block(b, l, j - 1);
        for (uint32_t i = l->count[j - 1]; i > 0 && copied < n; i--) {
            out[copied].price = book_price(side, k->key[i - 1]);
            out[copied].qty = k->qty[i - 1];
            copied++;
        }
    }
    return copied;
}

int book_is_crossed(const book *b)
{
    const book_level *best = b->best;

    return best[BOOK_BID].qty && best[BOOK_ASK].qty &&
           best[BOOK_BID].price >= best[BOOK_ASK].price;
}

int64_t book_qty_at(const book *b, book_side side, int64_t price)
{
    const book_ladder *l = &b->side[side];
    int64_t key = book_key(side, price);
    size_t j = ladder_find(l, key);
    const book_block *k = ladder_block(b, l, j);
    uint32_t i = block_find(k, key);

    return i < l->count[j] && k->key[i] == key ? k->qty[i] : 0;
}
