/*
 * oms.c -- the order manager (core/oms.h).
 *
 * Storage. Orders live in chunks of OMS_CHUNK: an order never moves, so the
 * pointers oms_submit and oms_find hand out stay valid for the OMS's life,
 * and a submit allocates only once per chunk. The i-th order submitted has
 * index i. Ids map to indices through an open-addressing table (FNV-1a, at
 * most half full; ids are never removed nor reused, so no tombstones),
 * whose entries keep 32 bits of the hash beside the index: a probe past
 * another id's entry reads no order (a cache miss each, the orders being
 * spread over the chunks). Open
 * orders are threaded on two doubly linked lists by index, one of all
 * instruments and one per instrument, both oldest first: listing, counting
 * and closing cost nothing of the history.
 *
 * Balances are a small array (a run has few assets); each instrument keeps
 * the indices of its base and quote balances, so a fill looks no name up.
 * An instrument's state (position, open list) is allocated once, when it
 * first trades, so a position's address is stable too.
 *
 * Ids are "<prefix><n>", n counting up from id_start (0 means 1), so a run
 * started at the store's next n never repeats an id of an earlier run.
 *
 * Transitions (anything else is refused and changes nothing):
 *   accepted           pending_new -> new; in pending_cancel (a cancel sent
 *                      before the acknowledgement) the status stays; once
 *   fill               any open state -> partially_filled | filled;
 *                      pending_cancel stays until a fill completes the order;
 *                      a fill of a pending_new order implies the venue took
 *                      it (venues may skip acknowledging an IOC that fills)
 *   canceled, expired  any open state
 *   rejected           an open order the venue has not accepted
 *
 * Spot: an order locks the asset it spends (buy: quote, sell: base). A fill
 * spends from its lock first, then from free (a venue's fill is a fact, even
 * past what was reserved); the rest of the lock returns to free when the
 * order closes. Positions count what this OMS traded: selling base held from
 * the start gives a short position while the balance stays positive, which
 * is why spot equity values balances, not positions.
 *
 * Margin: nothing is locked; a fill credits the realized PnL to the quote
 * balance and charges the fee to its asset. oms_check_balance holds the
 * position an order would leave (with the open orders on its side filled)
 * plus the other positions in that quote within leverage x equity; leverage
 * <= 0 in the config means 1.
 */
#include "oms.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "fixed.h"
#include "money.h"

#define OMS_CHUNK_SHIFT 10
#define OMS_CHUNK (1u << OMS_CHUNK_SHIFT)
#define NIL UINT32_MAX
#define TABLE_MIN 1024
#define DEFAULT_PREFIX "lt"
#define BPS_ONE 10000

enum { LIST_ALL = 0, LIST_INSTRUMENT = 1 };

typedef struct link {
    uint32_t prev, next;
} link;

typedef struct list {
    uint32_t head, tail;
    size_t count;
} list;

typedef struct slot {
    order o;
    uint64_t hash;      /* of o.id, kept for rehashing */
    uint32_t index;
    uint32_t lock_asset;/* balance o.locked is held in, or NIL */
    link links[2];      /* LIST_ALL, LIST_INSTRUMENT; valid while open */
    int accepted;       /* the venue acknowledged it */
} slot;

/* An entry of the id table: an order's index (NIL: empty) and the high
 * half of its id's hash. */
typedef struct table_ent {
    uint32_t index;
    uint32_t tag;
} table_ent;

typedef struct asset_balance {
    char asset[LUTRA_ASSET_MAX];
    oms_balance b;
} asset_balance;

typedef struct inst_state {
    oms_position pos;
    uint32_t base, quote; /* balance indices, NIL when the definition names none */
    list open;
    int64_t open_qty[2];  /* unfilled quantity of open orders, by side */
} inst_state;

struct oms {
    const instrument_registry *reg;
    int margin;
    int64_t leverage_bps; /* leverage x BPS_ONE */
    double taker_fee_bps;
    char prefix[ORDER_ID_MAX + 1];
    uint64_t next_n;

    slot **chunks;
    size_t nchunks;
    size_t count;
    table_ent *table;    /* a power of two, at most half full */
    size_t table_size;
    list open;

    inst_state **insts;  /* by instrument id; NULL until it trades */
    size_t ninsts;
    asset_balance *bals;
    size_t nbals, bals_cap;
};

static const oms_position zero_position;

/* ---- Small arithmetic ---- */

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t abs_sat(int64_t v)
{
    return v == INT64_MIN ? INT64_MAX : v < 0 ? -v : v;
}

static const char *fmt_fixed(char buf[FIXED_STR_MAX], int64_t v, int scale)
{
    if (fixed_format_trim(v, scale, buf, FIXED_STR_MAX) < 0)
        snprintf(buf, FIXED_STR_MAX, "%" PRId64 "e-%d", v, scale);
    return buf;
}

/* ---- Order slots and the id table ---- */

static slot *slot_at(const oms *o, uint32_t i)
{
    return &o->chunks[i >> OMS_CHUNK_SHIFT][i & (OMS_CHUNK - 1)];
}

static uint64_t id_hash(const char *id)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *id; id++) {
        h ^= (unsigned char)*id;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

#define HASH_TAG(hash) ((uint32_t)((hash) >> 32)) /* the table's index uses the low bits */

/* The table entry holding id, or the empty entry where it would go. */
static table_ent *table_entry(const oms *o, uint64_t hash, const char *id)
{
    size_t mask = o->table_size - 1, i = (size_t)hash & mask;
    uint32_t tag = HASH_TAG(hash);

    for (;; i = (i + 1) & mask) {
        table_ent *t = &o->table[i];
        if (t->index == NIL)
            return t;
        if (t->tag == tag && slot_at(o, t->index)->hash == hash &&
            strcmp(slot_at(o, t->index)->o.id, id) == 0)
            return t;
    }
}

static void table_set(table_ent *t, uint64_t hash, uint32_t index)
{
    t->index = index;
    t->tag = HASH_TAG(hash);
}

static int table_resize(oms *o, size_t size)
{
    table_ent *table = malloc(size * sizeof(*table));

    if (!table)
        return -1;
    for (size_t i = 0; i < size; i++)
        table[i].index = NIL;
    free(o->table);
    o->table = table;
    o->table_size = size;
    for (size_t k = 0; k < o->count; k++) {
        slot *s = slot_at(o, (uint32_t)k);
        table_set(table_entry(o, s->hash, s->o.id), s->hash, (uint32_t)k);
    }
    return 0;
}

static slot *slot_find(const oms *o, const char *id)
{
    uint32_t k;

    if (!id || strlen(id) > ORDER_ID_MAX)
        return NULL;
    k = table_entry(o, id_hash(id), id)->index;
    return k == NIL ? NULL : slot_at(o, k);
}

/* Room for `count` orders in all: chunks and table entries. A new chunk's
 * memory is touched at once: one pass over it here instead of a page
 * fault every few submits. */
static int reserve_orders(oms *o, size_t count)
{
    size_t chunk = (count - 1) >> OMS_CHUNK_SHIFT;

    if (count >= NIL)
        return -1;
    while (count * 2 > o->table_size)
        if (table_resize(o, o->table_size * 2) != 0)
            return -1;
    while (o->nchunks <= chunk) {
        slot **chunks = realloc(o->chunks, (o->nchunks + 1) * sizeof(*chunks));
        if (!chunks)
            return -1;
        o->chunks = chunks;
        if (!(chunks[o->nchunks] = malloc(OMS_CHUNK * sizeof(slot))))
            return -1;
        memset(chunks[o->nchunks], 0, OMS_CHUNK * sizeof(slot));
        o->nchunks++;
    }
    return 0;
}

/* Room for one more order. */
static int reserve_order(oms *o)
{
    return reserve_orders(o, o->count + 1);
}

int oms_reserve_ahead(oms *o, size_t n)
{
    return n > NIL - o->count ? -1 : reserve_orders(o, o->count + n);
}

/* ---- Open-order lists ---- */

static void list_init(list *l)
{
    l->head = l->tail = NIL;
    l->count = 0;
}

static void list_push(oms *o, list *l, slot *s, int which)
{
    link *k = &s->links[which];

    k->prev = l->tail;
    k->next = NIL;
    if (l->tail != NIL)
        slot_at(o, l->tail)->links[which].next = s->index;
    else
        l->head = s->index;
    l->tail = s->index;
    l->count++;
}

static void list_remove(oms *o, list *l, slot *s, int which)
{
    link *k = &s->links[which];

    if (k->prev != NIL)
        slot_at(o, k->prev)->links[which].next = k->next;
    else
        l->head = k->next;
    if (k->next != NIL)
        slot_at(o, k->next)->links[which].prev = k->prev;
    else
        l->tail = k->prev;
    l->count--;
}

/* ---- Balances ---- */

static uint32_t balance_find(const oms *o, const char *asset)
{
    if (!asset)
        return NIL;
    for (size_t i = 0; i < o->nbals; i++)
        if (strcmp(o->bals[i].asset, asset) == 0)
            return (uint32_t)i;
    return NIL;
}

/* @return the index of asset's balance, created at zero if new; NIL for an
 * empty or too long name, or out of memory. */
static uint32_t balance_ensure(oms *o, const char *asset)
{
    uint32_t i = balance_find(o, asset);
    size_t n;

    if (i != NIL)
        return i;
    if (!asset || !*asset || (n = strlen(asset)) >= LUTRA_ASSET_MAX)
        return NIL;
    if (o->nbals == o->bals_cap) {
        size_t cap = o->bals_cap ? o->bals_cap * 2 : 8;
        asset_balance *bals = realloc(o->bals, cap * sizeof(*bals));
        if (!bals)
            return NIL;
        o->bals = bals;
        o->bals_cap = cap;
    }
    memset(&o->bals[o->nbals], 0, sizeof(o->bals[0]));
    memcpy(o->bals[o->nbals].asset, asset, n + 1);
    return (uint32_t)o->nbals++;
}

static void balance_credit(oms *o, uint32_t asset, int64_t amount)
{
    if (asset != NIL)
        o->bals[asset].b.free = sat_add(o->bals[asset].b.free, amount);
}

/* Pay amount of asset for order s: from its lock when it locked that asset,
 * the rest (or a rebate, negative) from free. */
static void balance_spend(oms *o, slot *s, uint32_t asset, int64_t amount)
{
    oms_balance *b;
    int64_t from_lock = 0;

    if (asset == NIL)
        return;
    b = &o->bals[asset].b;
    if (asset == s->lock_asset && amount > 0)
        from_lock = amount < s->o.locked ? amount : s->o.locked;
    s->o.locked -= from_lock;
    b->locked -= from_lock;
    b->free = sat_sub(b->free, amount - from_lock);
}

static void balance_lock(oms *o, slot *s, uint32_t asset, int64_t amount)
{
    s->lock_asset = asset;
    s->o.locked = amount;
    if (asset == NIL)
        return;
    o->bals[asset].b.free = sat_sub(o->bals[asset].b.free, amount);
    o->bals[asset].b.locked = sat_add(o->bals[asset].b.locked, amount);
}

static void balance_release(oms *o, slot *s)
{
    if (s->lock_asset != NIL) {
        oms_balance *b = &o->bals[s->lock_asset].b;
        b->locked -= s->o.locked;
        b->free = sat_add(b->free, s->o.locked);
    }
    s->o.locked = 0;
}

int oms_set_balance(oms *o, const char *asset, int64_t free)
{
    uint32_t i = balance_ensure(o, asset);

    if (i == NIL)
        return -1;
    o->bals[i].b.free = free;
    return 0;
}

oms_balance oms_get_balance(const oms *o, const char *asset)
{
    uint32_t i = balance_find(o, asset);
    oms_balance none = {0, 0};

    return i == NIL ? none : o->bals[i].b;
}

/* ---- Instruments ---- */

static inst_state *inst_at(const oms *o, uint32_t id)
{
    return id < o->ninsts ? o->insts[id] : NULL;
}

static inst_state *inst_ensure(oms *o, uint32_t id)
{
    const lutra_instrument *def = instrument_registry_get(o->reg, id);
    inst_state *st;

    if (!def)
        return NULL;
    if (id >= o->ninsts) {
        size_t n = instrument_registry_count(o->reg);
        inst_state **insts = realloc(o->insts, n * sizeof(*insts));
        if (!insts)
            return NULL;
        memset(insts + o->ninsts, 0, (n - o->ninsts) * sizeof(*insts));
        o->insts = insts;
        o->ninsts = n;
    }
    if (o->insts[id])
        return o->insts[id];
    if (!(st = calloc(1, sizeof(*st))))
        return NULL;
    list_init(&st->open);
    st->base = def->base[0] ? balance_ensure(o, def->base) : NIL;
    st->quote = def->quote[0] ? balance_ensure(o, def->quote) : NIL;
    if ((def->base[0] && st->base == NIL) || (def->quote[0] && st->quote == NIL)) {
        free(st);
        return NULL;
    }
    return o->insts[id] = st;
}

static int same_asset(const oms *o, uint32_t balance, const char *asset)
{
    return balance != NIL && strcmp(o->bals[balance].asset, asset) == 0;
}

/* ---- Positions ---- */

/*
 * Apply a fill of qty at price (worth value) to p. A fill on the side of
 * the position adds to it at cost; one against it realizes (price - avg) x
 * the quantity it closes, at the cost basis's share of that quantity, and
 * whatever is left past zero opens the other way at the fill price.
 * @return the PnL realized.
 */
static int64_t position_fill(oms_position *p, const lutra_instrument *def, order_side side,
                             int64_t price, int64_t qty, int64_t value)
{
    int64_t sign = side == ORDER_BUY ? 1 : -1;
    int64_t held, closed, cost_closed, value_closed, realized;

    if (p->qty == 0 || (p->qty > 0) == (sign > 0)) {
        p->qty = sat_add(p->qty, sign * qty);
        p->cost = sat_add(p->cost, sign * value);
        return 0;
    }
    held = abs_sat(p->qty);
    closed = qty < held ? qty : held;
    cost_closed = money_muldiv(p->cost, closed, held);
    value_closed = closed == qty ? value
                                 : money_notional(price, def->price_scale, closed, def->size_scale);
    realized = sat_sub(p->qty > 0 ? value_closed : -value_closed, cost_closed);
    p->realized_pnl = sat_add(p->realized_pnl, realized);
    p->cost -= cost_closed;
    p->qty += sign * closed;
    if (qty > closed) {
        p->qty = sign * (qty - closed);
        p->cost = sign * money_notional(price, def->price_scale, qty - closed, def->size_scale);
    }
    return realized;
}

static int64_t position_unrealized(const oms_position *p, const lutra_instrument *def,
                                   int64_t mark)
{
    int64_t value;

    if (p->qty == 0 || mark <= 0)
        return 0;
    value = money_notional(mark, def->price_scale, abs_sat(p->qty), def->size_scale);
    return sat_sub(p->qty > 0 ? value : -value, p->cost);
}

const oms_position *oms_get_position(const oms *o, uint32_t instrument)
{
    const inst_state *st = inst_at(o, instrument);
    return st ? &st->pos : &zero_position;
}

int oms_seed_position(oms *o, uint32_t instrument, int64_t qty, int64_t price)
{
    const lutra_instrument *def = instrument_registry_get(o->reg, instrument);
    inst_state *st = def ? inst_ensure(o, instrument) : NULL;

    if (!st || st->pos.qty != 0 || st->pos.cost != 0 || st->pos.realized_pnl != 0)
        return -1;
    st->pos.qty = st->pos.seed_qty = qty;
    st->pos.cost = money_notional(price, def->price_scale, qty, def->size_scale);
    if (qty < 0)
        st->pos.cost = -money_notional(price, def->price_scale, -qty, def->size_scale);
    return 0;
}

int64_t oms_unrealized(const oms *o, uint32_t instrument, int64_t mark)
{
    const inst_state *st = inst_at(o, instrument);
    const lutra_instrument *def = instrument_registry_get(o->reg, instrument);

    return st && def ? position_unrealized(&st->pos, def, mark) : 0;
}

/* ---- Valuation ---- */

static int64_t mark_of(int64_t (*mark)(void *, uint32_t), void *ud, uint32_t id)
{
    return mark ? mark(ud, id) : 0;
}

/*
 * Sum of |position| of every traded instrument (quoted in `quote`, or all
 * when NULL; but `skip`) at its mark, or at cost when it has none.
 */
static int64_t exposure_of(const oms *o, const char *quote, uint32_t skip,
                           int64_t (*mark)(void *, uint32_t), void *ud)
{
    int64_t total = 0;

    for (uint32_t id = 0; id < o->ninsts; id++) {
        const inst_state *st = o->insts[id];
        const lutra_instrument *def;
        int64_t px;

        if (!st || id == skip || st->pos.qty == 0 || (quote && !same_asset(o, st->quote, quote)))
            continue;
        def = instrument_registry_get(o->reg, id);
        px = mark_of(mark, ud, id);
        total = sat_add(total, px > 0 ? money_notional(px, def->price_scale, abs_sat(st->pos.qty),
                                                       def->size_scale)
                                      : abs_sat(st->pos.cost));
    }
    return total;
}

int64_t oms_gross_exposure(const oms *o, int64_t (*mark)(void *ud, uint32_t inst), void *ud)
{
    return exposure_of(o, NULL, NIL, mark, ud);
}

/*
 * `amount` money units of base, in quote: at the mark of the first
 * instrument base/quote that has one, else at the average price of a
 * position in one, else 0 (nothing to value it by).
 */
static int64_t base_value(const oms *o, const char *base, const char *quote, int64_t amount,
                          int64_t (*mark)(void *, uint32_t), void *ud)
{
    size_t n = instrument_registry_count(o->reg);
    int64_t at_cost = 0;
    int costed = 0;

    for (uint32_t id = 0; id < n; id++) {
        const lutra_instrument *def = instrument_registry_get(o->reg, id);
        const inst_state *st = inst_at(o, id);
        int64_t px;

        if (strcmp(def->base, base) != 0 || strcmp(def->quote, quote) != 0)
            continue;
        if ((px = mark_of(mark, ud, id)) > 0)
            return money_notional(px, def->price_scale, amount, MONEY_SCALE);
        if (!costed && st && st->pos.qty != 0) {
            at_cost = money_muldiv(amount, st->pos.cost,
                                   money_from_fixed(st->pos.qty, def->size_scale));
            costed = 1;
        }
    }
    return at_cost;
}

int64_t oms_equity(const oms *o, const char *asset, int64_t (*mark)(void *ud, uint32_t inst),
                   void *ud)
{
    uint32_t q = balance_find(o, asset);
    int64_t total = q == NIL ? 0 : sat_add(o->bals[q].b.free, o->bals[q].b.locked);

    if (!asset)
        return 0;
    if (o->margin) {
        for (uint32_t id = 0; id < o->ninsts; id++) {
            const inst_state *st = o->insts[id];
            if (st && st->pos.qty != 0 && same_asset(o, st->quote, asset))
                total = sat_add(total, position_unrealized(&st->pos,
                                                           instrument_registry_get(o->reg, id),
                                                           mark_of(mark, ud, id)));
        }
        return total;
    }
    for (size_t i = 0; i < o->nbals; i++) {
        int64_t held = sat_add(o->bals[i].b.free, o->bals[i].b.locked);
        if (held != 0 && i != q)
            total = sat_add(total, base_value(o, o->bals[i].asset, asset, held, mark, ud));
    }
    return total;
}

/* ---- Affordability ---- */

/*
 * The price an order is valued at, to lock funds or measure exposure: its
 * limit; for a market order the reference price, for a stop market the
 * higher of stop and reference (it fills once the market is there), each
 * plus OMS_MARKET_SLIPPAGE_BPS as it takes what the book offers. 0 when
 * nothing prices it.
 */
static int64_t value_price(const order_request *req, int64_t ref)
{
    int64_t px;

    switch (req->type) {
    case ORDER_LIMIT:
    case ORDER_STOP_LIMIT:
        return req->price;
    case ORDER_MARKET:
        px = ref;
        break;
    case ORDER_STOP:
        px = req->stop_price > ref ? req->stop_price : ref;
        break;
    default:
        return 0;
    }
    return px > 0 ? money_muldiv(px, BPS_ONE + OMS_MARKET_SLIPPAGE_BPS, BPS_ONE) : 0;
}

/* @return the definition of a well-formed request's instrument, or NULL
 * with reason. */
static const lutra_instrument *request_check(const oms *o, const order_request *req,
                                             char *reason, size_t len)
{
    const lutra_instrument *def = instrument_registry_get(o->reg, req->instrument);
    char q[FIXED_STR_MAX];

    if (!def) {
        snprintf(reason, len, "order: unknown instrument id %" PRIu32, req->instrument);
        return NULL;
    }
    if ((unsigned)req->side > ORDER_SELL || (unsigned)req->type > ORDER_STOP_LIMIT ||
        (unsigned)req->tif > ORDER_POST_ONLY) {
        snprintf(reason, len, "order: side %d, type %d or tif %d out of range", (int)req->side,
                 (int)req->type, (int)req->tif);
        return NULL;
    }
    if (req->qty <= 0) {
        snprintf(reason, len, "order: qty must be > 0, got %s",
                 fmt_fixed(q, req->qty, def->size_scale));
        return NULL;
    }
    if ((req->type == ORDER_LIMIT || req->type == ORDER_STOP_LIMIT) && req->price <= 0) {
        snprintf(reason, len, "order: a %s order needs a price > 0", order_type_name(req->type));
        return NULL;
    }
    if ((req->type == ORDER_STOP || req->type == ORDER_STOP_LIMIT) && req->stop_price <= 0) {
        snprintf(reason, len, "order: a %s order needs a stop price > 0",
                 order_type_name(req->type));
        return NULL;
    }
    return def;
}

static int refuse_unpriced(const lutra_instrument *def, const order_request *req, char *reason,
                           size_t len)
{
    snprintf(reason, len, "balance: no reference price for %s yet to value a %s %s order",
             def->symbol, order_type_name(req->type), order_side_name(req->side));
    return -1;
}

/* What a spot order locks: `amount` money units of `asset`. */
typedef struct spot_lock {
    const char *asset;
    int64_t amount;
} spot_lock;

/* A sell locks its base quantity; a buy the quote it may spend at its
 * valuation price plus the taker fee, so no fill can overdraw. */
static int spot_lock_of(const oms *o, const lutra_instrument *def, const order_request *req,
                        int64_t ref, spot_lock *lock, char *reason, size_t len)
{
    int64_t px, notional;

    lock->asset = req->side == ORDER_SELL ? def->base : def->quote;
    if (!lock->asset[0]) {
        snprintf(reason, len, "balance: %s names no %s asset", def->symbol,
                 req->side == ORDER_SELL ? "base" : "quote");
        return -1;
    }
    if (req->side == ORDER_SELL) {
        lock->amount = money_from_fixed(req->qty, def->size_scale);
        return 0;
    }
    if ((px = value_price(req, ref)) <= 0)
        return refuse_unpriced(def, req, reason, len);
    notional = money_notional(px, def->price_scale, req->qty, def->size_scale);
    /* A rebate (negative fee) is never counted on in advance. */
    lock->amount = o->taker_fee_bps > 0 ? sat_add(notional, money_bps(notional, o->taker_fee_bps))
                                        : notional;
    return 0;
}

static int check_spot(const oms *o, const lutra_instrument *def, const order_request *req,
                      int64_t ref, spot_lock *lock, char *reason, size_t len)
{
    char q[FIXED_STR_MAX], need[FIXED_STR_MAX], have[FIXED_STR_MAX];
    int64_t free;

    if (spot_lock_of(o, def, req, ref, lock, reason, len) < 0)
        return -1;
    free = oms_get_balance(o, lock->asset).free;
    if (lock->amount <= free)
        return 0;
    snprintf(reason, len, "balance: %s of %s %s needs %s %s, free %s %s",
             order_side_name(req->side), fmt_fixed(q, req->qty, def->size_scale), def->symbol,
             fmt_fixed(need, lock->amount, MONEY_SCALE), lock->asset,
             fmt_fixed(have, free, MONEY_SCALE), lock->asset);
    return -1;
}

struct one_mark {
    uint32_t instrument;
    int64_t price;
};

static int64_t one_mark(void *ud, uint32_t instrument)
{
    const struct one_mark *m = ud;
    return instrument == m->instrument ? m->price : 0;
}

/*
 * Margin: the position this order would leave once it and the open orders
 * on its side fill, plus the other positions in the same quote (at cost:
 * only this instrument's price is known here), must stay within leverage x
 * equity. An order that leaves the position smaller is always allowed.
 */
static int check_margin(const oms *o, const lutra_instrument *def, const order_request *req,
                        int64_t ref, char *reason, size_t len)
{
    const inst_state *st = inst_at(o, req->instrument);
    int64_t now_qty = st ? st->pos.qty : 0, px = value_price(req, ref), after, exposure;
    int64_t equity, limit, sign = req->side == ORDER_BUY ? 1 : -1;
    struct one_mark m = {req->instrument, 0};
    char e[FIXED_STR_MAX], eq[FIXED_STR_MAX], lim[FIXED_STR_MAX];

    if (!def->quote[0]) {
        snprintf(reason, len, "balance: %s names no quote asset", def->symbol);
        return -1;
    }
    if (px <= 0)
        return refuse_unpriced(def, req, reason, len);
    after = sat_add(now_qty, sign * sat_add(req->qty, st ? st->open_qty[req->side] : 0));
    if (abs_sat(after) <= abs_sat(now_qty))
        return 0;
    m.price = ref > 0 ? ref : px;
    equity = oms_equity(o, def->quote, one_mark, &m);
    exposure = sat_add(exposure_of(o, def->quote, req->instrument, NULL, NULL),
                       money_notional(px, def->price_scale, abs_sat(after), def->size_scale));
    limit = money_muldiv(equity, o->leverage_bps, BPS_ONE);
    if (exposure <= limit)
        return 0;
    snprintf(reason, len, "balance: exposure %s %s after this order exceeds %gx equity %s %s (%s %s)",
             fmt_fixed(e, exposure, MONEY_SCALE), def->quote, (double)o->leverage_bps / BPS_ONE,
             fmt_fixed(eq, equity, MONEY_SCALE), def->quote, fmt_fixed(lim, limit, MONEY_SCALE),
             def->quote);
    return -1;
}

/* Request and funds: the one check oms_check_balance and oms_submit share. */
static const lutra_instrument *check_order(const oms *o, const order_request *req, int64_t ref,
                                           spot_lock *lock, char *reason, size_t len)
{
    const lutra_instrument *def = request_check(o, req, reason, len);

    lock->asset = NULL;
    lock->amount = 0;
    if (!def)
        return NULL;
    if (o->margin ? check_margin(o, def, req, ref, reason, len)
                  : check_spot(o, def, req, ref, lock, reason, len))
        return NULL;
    return def;
}

int oms_check_balance(const oms *o, const order_request *req, int64_t ref_price, char *reason,
                      size_t len)
{
    spot_lock lock;
    return check_order(o, req, ref_price, &lock, reason, len) ? 0 : -1;
}

/* ---- Life and death ---- */

static int prefix_valid(const char *prefix)
{
    size_t n = strlen(prefix);
    return n == 0 || (n < ORDER_ID_MAX && order_id_valid(prefix));
}

oms *oms_new(const instrument_registry *reg, const oms_config *cfg)
{
    const char *prefix = cfg && cfg->id_prefix ? cfg->id_prefix : DEFAULT_PREFIX;
    double leverage = cfg && cfg->leverage > 0 && isfinite(cfg->leverage) ? cfg->leverage : 1.0;
    oms *o;

    if (!reg || !prefix_valid(prefix) || leverage * BPS_ONE >= 9.0e18)
        return NULL;
    if (!(o = calloc(1, sizeof(*o))))
        return NULL;
    o->reg = reg;
    o->margin = cfg && cfg->margin;
    o->leverage_bps = (int64_t)llround(leverage * BPS_ONE);
    o->taker_fee_bps = cfg ? cfg->taker_fee_bps : 0;
    memcpy(o->prefix, prefix, strlen(prefix) + 1);
    o->next_n = cfg && cfg->id_start ? cfg->id_start : 1;
    list_init(&o->open);
    if (table_resize(o, TABLE_MIN) != 0) {
        free(o);
        return NULL;
    }
    return o;
}

void oms_free(oms *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nchunks; i++)
        free(o->chunks[i]);
    free(o->chunks);
    free(o->table);
    for (size_t i = 0; i < o->ninsts; i++)
        free(o->insts[i]);
    free(o->insts);
    free(o->bals);
    free(o);
}

/* ---- Submit and cancel ---- */

/* "<prefix><n>", without printf: it runs for every order (see copy.h). */
static int next_id(const oms *o, char id[ORDER_ID_MAX + 1], char *reason, size_t len)
{
    char buf[ORDER_ID_MAX + FIXED_STR_MAX];
    size_t n = copy_str(buf, sizeof buf, o->prefix);
    int nd = o->next_n < INT64_MAX
                 ? fixed_format((int64_t)o->next_n, 0, buf + n, sizeof buf - n)
                 : -1;

    if (nd < 0 || n + (size_t)nd > ORDER_ID_MAX) {
        snprintf(reason, len, "order: ids exhausted: %s%" PRIu64 " is longer than %d characters",
                 o->prefix, o->next_n, ORDER_ID_MAX);
        return -1;
    }
    memcpy(id, buf, n + (size_t)nd + 1);
    return 0;
}

static slot *slot_insert(oms *o, const char *id);
static void slot_open(oms *o, inst_state *st, slot *s);

order *oms_submit(oms *o, const order_request *req, int64_t ref_price, int64_t now,
                  char *reason, size_t len)
{
    const lutra_instrument *def;
    inst_state *st;
    spot_lock lock;
    char id[ORDER_ID_MAX + 1];
    slot *s;

    if (!(def = check_order(o, req, ref_price, &lock, reason, len)) ||
        next_id(o, id, reason, len) < 0)
        return NULL;
    if (reserve_order(o) < 0 || !(st = inst_ensure(o, req->instrument))) {
        snprintf(reason, len, "order: out of memory for order %" PRIu64 " of %s", o->next_n,
                 def->symbol);
        return NULL;
    }
    s = slot_insert(o, id);
    s->o.req = *req;
    s->o.req.tag[ORDER_TAG_MAX] = '\0';
    s->o.status = ORDER_PENDING_NEW;
    s->o.ts_created = s->o.ts_updated = now;
    balance_lock(o, s, lock.amount ? (req->side == ORDER_SELL ? st->base : st->quote) : NIL,
                 lock.amount);
    slot_open(o, st, s);
    o->next_n++;
    return &s->o;
}

/* Take the next slot (reserved by reserve_order) for id and index it. */
static slot *slot_insert(oms *o, const char *id)
{
    slot *s = slot_at(o, (uint32_t)o->count);
    memset(s, 0, sizeof(*s));
    memcpy(s->o.id, id, strlen(id) + 1);
    s->index = (uint32_t)o->count;
    s->hash = id_hash(id);
    s->lock_asset = NIL;
    table_set(table_entry(o, s->hash, id), s->hash, s->index);
    o->count++;
    return s;
}

/* Thread an open order on the open lists and count its unfilled size. */
static void slot_open(oms *o, inst_state *st, slot *s)
{
    list_push(o, &o->open, s, LIST_ALL);
    list_push(o, &st->open, s, LIST_INSTRUMENT);
    st->open_qty[s->o.req.side] =
        sat_add(st->open_qty[s->o.req.side], s->o.req.qty - s->o.filled);
}

/* ---- Restore (a restart: the state store's records) ---- */

int oms_restore_order(oms *o, const order *src)
{
    inst_state *st;
    slot *s;

    if (!order_id_valid(src->id) || slot_find(o, src->id))
        return -1;
    if (reserve_order(o) < 0 || !(st = inst_ensure(o, src->req.instrument)))
        return -1;
    s = slot_insert(o, src->id);
    s->o = *src;
    s->accepted = src->status != ORDER_PENDING_NEW;
    /* The lock is already inside the restored balances: remember where it
     * is held, move nothing. */
    if (src->locked)
        s->lock_asset = o->margin ? NIL : src->req.side == ORDER_SELL ? st->base : st->quote;
    if (order_status_is_open(src->status))
        slot_open(o, st, s);
    return 0;
}

int oms_restore_position(oms *o, uint32_t instrument, const oms_position *p)
{
    inst_state *st = inst_ensure(o, instrument);

    if (!st)
        return -1;
    st->pos = *p;
    return 0;
}

int oms_restore_balance(oms *o, const char *asset, int64_t free, int64_t locked)
{
    uint32_t i = balance_ensure(o, asset);

    if (i == NIL)
        return -1;
    o->bals[i].b.free = free;
    o->bals[i].b.locked = locked;
    return 0;
}

int oms_next_id(const oms *o, char id[ORDER_ID_MAX + 1])
{
    char reason[ORDER_REASON_MAX];
    return next_id(o, id, reason, sizeof reason);
}

uint64_t oms_next_seq(const oms *o)
{
    return o->next_n;
}

static int refuse_closed(const slot *s, const char *what, char *reason, size_t len)
{
    snprintf(reason, len, "order %s is already %s: %s refused", s->o.id,
             order_status_name(s->o.status), what);
    return -1;
}

int oms_cancel(oms *o, const char *id, int64_t now, char *reason, size_t len)
{
    slot *s = slot_find(o, id);

    if (!s) {
        snprintf(reason, len, "unknown order id '%s'", id ? id : "(null)");
        return -1;
    }
    if (!order_status_is_open(s->o.status))
        return refuse_closed(s, "cancel", reason, len);
    if (s->o.status == ORDER_PENDING_CANCEL) {
        snprintf(reason, len, "order %s: cancel already requested", s->o.id);
        return -1;
    }
    s->o.status = ORDER_PENDING_CANCEL;
    s->o.ts_updated = now;
    s->o.reason[0] = '\0'; /* an open order's reason is a refused cancel's: not this one's */
    return 0;
}

/* ---- Venue reports ---- */

static const char *exec_name(exec_kind k)
{
    switch (k) {
    case EXEC_ACCEPTED: return "accepted";
    case EXEC_FILL: return "fill";
    case EXEC_CANCELED: return "canceled";
    case EXEC_REJECTED: return "rejected";
    case EXEC_EXPIRED: return "expired";
    case EXEC_CANCEL_REJECTED: return "cancel refusal";
    }
    return "unknown report";
}

static void order_close(oms *o, slot *s, order_status status, const exec_report *rep)
{
    inst_state *st = inst_at(o, s->o.req.instrument);

    balance_release(o, s);
    list_remove(o, &o->open, s, LIST_ALL);
    list_remove(o, &st->open, s, LIST_INSTRUMENT);
    st->open_qty[s->o.req.side] -= s->o.req.qty - s->o.filled;
    s->o.status = status;
    if (rep && rep->reason[0])
        copy_field(s->o.reason, sizeof s->o.reason, rep->reason, sizeof rep->reason);
}

/* Spot: the fill exchanges assets; its lock pays first. */
static void spot_exchange(oms *o, slot *s, const inst_state *st, int64_t value, int64_t base)
{
    if (s->o.req.side == ORDER_BUY) {
        balance_spend(o, s, st->quote, value);
        balance_credit(o, st->base, base);
    } else {
        balance_spend(o, s, st->base, base);
        balance_credit(o, st->quote, value);
    }
}

static int fill_check(const slot *s, const lutra_instrument *def, const exec_report *rep,
                      char *reason, size_t len)
{
    const order *ord = &s->o;
    int64_t left = ord->req.qty - ord->filled;
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX], c[FIXED_STR_MAX];

    if (rep->qty <= 0 || rep->price <= 0) {
        snprintf(reason, len, "fill of order %s: price and qty must be > 0, got %s x %s",
                 ord->id, fmt_fixed(a, rep->price, def->price_scale),
                 fmt_fixed(b, rep->qty, def->size_scale));
        return -1;
    }
    if (rep->qty > left) {
        snprintf(reason, len, "fill of %s exceeds the %s left of order %s (qty %s)",
                 fmt_fixed(a, rep->qty, def->size_scale), fmt_fixed(b, left, def->size_scale),
                 ord->id, fmt_fixed(c, ord->req.qty, def->size_scale));
        return -1;
    }
    return 0;
}

static int apply_fill(oms *o, slot *s, const exec_report *rep, int64_t now, char *reason,
                      size_t len)
{
    order *ord = &s->o;
    const lutra_instrument *def = instrument_registry_get(o->reg, ord->req.instrument);
    inst_state *st = inst_at(o, ord->req.instrument);
    char fee_asset[LUTRA_ASSET_MAX];
    uint32_t fee_to = NIL;
    int64_t value, realized;

    if (fill_check(s, def, rep, reason, len) < 0)
        return -1;
    copy_field(fee_asset, sizeof fee_asset, rep->fee_asset, sizeof rep->fee_asset);
    if (!fee_asset[0])
        copy_field(fee_asset, sizeof fee_asset, def->quote, sizeof def->quote);
    if (rep->fee != 0 && (fee_to = balance_ensure(o, fee_asset)) == NIL) {
        snprintf(reason, len, "fill of order %s: cannot keep a balance of fee asset '%s'",
                 ord->id, fee_asset);
        return -1;
    }

    value = money_notional(rep->price, def->price_scale, rep->qty, def->size_scale);
    realized = position_fill(&st->pos, def, ord->req.side, rep->price, rep->qty, value);
    if (o->margin)
        balance_credit(o, st->quote, realized);
    else
        spot_exchange(o, s, st, value, money_from_fixed(rep->qty, def->size_scale));
    balance_spend(o, s, fee_to, rep->fee);
    if (strcmp(fee_asset, def->quote) == 0)
        st->pos.fees = sat_add(st->pos.fees, rep->fee);

    if (!ord->fee_asset[0])
        memcpy(ord->fee_asset, fee_asset, sizeof fee_asset);
    if (strcmp(ord->fee_asset, fee_asset) == 0)
        ord->fees = sat_add(ord->fees, rep->fee);
    ord->filled += rep->qty;
    st->open_qty[ord->req.side] -= rep->qty;
    ord->filled_value = sat_add(ord->filled_value, value);
    ord->ts_updated = now;
    s->accepted = 1;
    if (ord->filled == ord->req.qty)
        order_close(o, s, ORDER_FILLED, NULL);
    else if (ord->status != ORDER_PENDING_CANCEL)
        ord->status = ORDER_PARTIALLY_FILLED;
    return 0;
}

/* The venue refused the cancel: the order is what it was before it, and
 * says why, so that its strategy may cancel again (or hear the fill or
 * cancel that got there first, which a venue reports apart). */
static int cancel_refused(slot *s, const exec_report *rep, char *reason, size_t len)
{
    size_t n;

    if (s->o.status != ORDER_PENDING_CANCEL) {
        snprintf(reason, len, "order %s is %s: no cancel to refuse", s->o.id,
                 order_status_name(s->o.status));
        return -1;
    }
    s->o.status = !s->accepted       ? ORDER_PENDING_NEW
                  : s->o.filled > 0 ? ORDER_PARTIALLY_FILLED
                                    : ORDER_NEW;
    /* The venue's reason, cut to what the field holds after the prefix. */
    n = copy_str(s->o.reason, sizeof s->o.reason, "cancel refused: ");
    if (rep->reason[0])
        copy_field(s->o.reason + n, sizeof s->o.reason - n, rep->reason, sizeof rep->reason);
    else
        copy_str(s->o.reason + n, sizeof s->o.reason - n, "no reason given");
    return 0;
}

/* Accepted, canceled, rejected, expired, a cancel refused. */
static int apply_status(oms *o, slot *s, const exec_report *rep, int64_t now, char *reason,
                        size_t len)
{
    switch (rep->kind) {
    case EXEC_ACCEPTED:
        if (s->accepted) {
            snprintf(reason, len, "order %s was already accepted (%s): accepted twice", s->o.id,
                     order_status_name(s->o.status));
            return -1;
        }
        if (s->o.status == ORDER_PENDING_NEW)
            s->o.status = ORDER_NEW;
        s->accepted = 1;
        break;
    case EXEC_REJECTED:
        if (s->accepted) {
            snprintf(reason, len,
                     "order %s was accepted (%s): a reject does not apply, only cancel or expiry",
                     s->o.id, order_status_name(s->o.status));
            return -1;
        }
        order_close(o, s, ORDER_REJECTED, rep);
        break;
    case EXEC_CANCELED:
        order_close(o, s, ORDER_CANCELED, rep);
        break;
    case EXEC_EXPIRED:
        order_close(o, s, ORDER_EXPIRED, rep);
        break;
    case EXEC_CANCEL_REJECTED:
        if (cancel_refused(s, rep, reason, len) < 0)
            return -1;
        break;
    default:
        snprintf(reason, len, "order %s: unknown report kind %d", s->o.id, (int)rep->kind);
        return -1;
    }
    s->o.ts_updated = now;
    return 0;
}

int oms_apply(oms *o, const exec_report *rep, int64_t now, oms_change *chg, char *reason,
              size_t len)
{
    char id[ORDER_ID_MAX + 1];
    order_status before;
    slot *s;
    int rc;

    copy_field(id, sizeof id, rep->order_id, sizeof rep->order_id);
    if (!(s = slot_find(o, id))) {
        snprintf(reason, len, "%s for unknown order id '%s'", exec_name(rep->kind), id);
        return -1;
    }
    if (!order_status_is_open(s->o.status))
        return refuse_closed(s, exec_name(rep->kind), reason, len);
    before = s->o.status;
    rc = rep->kind == EXEC_FILL ? apply_fill(o, s, rep, now, reason, len)
                                : apply_status(o, s, rep, now, reason, len);
    if (rc < 0)
        return -1;
    if (rep->venue_order_id[0])
        copy_field(s->o.venue_order_id, sizeof s->o.venue_order_id, rep->venue_order_id,
                   sizeof rep->venue_order_id);
    if (chg) {
        memset(chg, 0, sizeof(*chg));
        chg->order = &s->o;
        chg->status_changed = s->o.status != before;
        if (rep->kind == EXEC_FILL) {
            chg->filled = 1;
            chg->fill_price = rep->price;
            chg->fill_qty = rep->qty;
            chg->fill_fee = rep->fee;
            chg->fill_liquidity = rep->liquidity;
        }
    }
    return 0;
}

/* ---- Lookups ---- */

order *oms_find(const oms *o, const char *id)
{
    slot *s = slot_find(o, id);
    return s ? &s->o : NULL;
}

size_t oms_open_orders(const oms *o, int32_t instrument, order **out, size_t max)
{
    const inst_state *st = instrument < 0 ? NULL : inst_at(o, (uint32_t)instrument);
    const list *l = instrument < 0 ? &o->open : st ? &st->open : NULL;
    int which = instrument < 0 ? LIST_ALL : LIST_INSTRUMENT;
    size_t k = 0;

    if (!l)
        return 0;
    for (uint32_t i = l->head; i != NIL && k < max; i = slot_at(o, i)->links[which].next)
        out[k++] = &slot_at(o, i)->o;
    return l->count;
}

size_t oms_open_count(const oms *o, int32_t instrument)
{
    const inst_state *st;

    if (instrument < 0)
        return o->open.count;
    st = inst_at(o, (uint32_t)instrument);
    return st ? st->open.count : 0;
}

size_t oms_order_count(const oms *o)
{
    return o->count;
}

order *oms_order_at(const oms *o, size_t i)
{
    return i < o->count ? &slot_at(o, (uint32_t)i)->o : NULL;
}
