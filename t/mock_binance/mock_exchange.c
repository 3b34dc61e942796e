/*
 * mock_exchange.c -- the mock Binance's matching engine and account
 * (see mock_exchange.h for the rules it follows).
 */
#include "mock_exchange.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "book.h"
#include "fixed.h"
#include "grow.h"

/* Append a string literal. */
#define ADD_LIT(b, lit) evbuffer_add((b), (lit), sizeof(lit) - 1)

#define MEXCH_ONE INT64_C(100000000) /* 1 at MEXCH_SCALE */
#define MEXCH_MAX_PRICE (INT64_C(1000000) * MEXCH_ONE)

typedef struct mpending {
    int side; /* book_side */
    int64_t price;
} mpending;

typedef struct msym {
    char name[24], lower[24], base[16], quote[16];
    int64_t tick, step, min_qty, max_qty, min_notional, max_notional;
    book *market;    /* the feed's liquidity */
    book *published; /* market + our resting orders: what clients see */
    uint64_t update_id;
    uint64_t pending_first; /* U of the diff being gathered; 0: none */
    mpending *pending;
    size_t npending, pending_cap;
    book_level ticker[2]; /* the last bookTicker sent */
    uint64_t trade_id;
} msym;

typedef struct mexch_client_id {
    char id[MEXCH_CLIENT_ID_MAX + 1];
} mexch_client_id;

typedef struct masset {
    char name[16];
    int64_t free, locked;
} masset;

struct mexch {
    mexch_publish_fn publish;
    mexch_clock_fn clock;
    void *ud;
    msym *syms;
    size_t nsyms, syms_cap;
    masset *assets;
    size_t nassets, assets_cap;
    mexch_order *orders;
    size_t norders, orders_cap;
    mexch_fill *fills;       /* of the order being placed */
    size_t nfills, fills_cap;
    mexch_trade *trades;     /* every fill of ours, for myTrades */
    size_t ntrades, trades_cap;
    mexch_client_id *client_ids; /* every client id a new-order request carried */
    size_t nclient_ids, client_ids_cap;
    uint64_t client_id_reuses;
    uint64_t next_order_id, next_exec_id;
    int gap;
    struct evbuffer *out; /* the message being built */
};

/* ---- Numbers ---- */

static int64_t notional(int64_t price, int64_t qty)
{
    return (int64_t)((__int128)price * qty / MEXCH_ONE);
}

/* What a buy order must lock: its notional rounded up, so that fills at or
 * below its price never need more than it holds. */
static int64_t notional_up(int64_t price, int64_t qty)
{
    __int128 p = (__int128)price * qty;
    return (int64_t)((p + MEXCH_ONE - 1) / MEXCH_ONE);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int parse_spec_value(const char *s, const char *dflt, int64_t *out)
{
    const char *v = s ? s : dflt;
    return fixed_parse(v, strlen(v), MEXCH_SCALE, out) == FIXED_OK ? 0 : -1;
}

static void add_dec(struct evbuffer *b, int64_t v)
{
    char s[FIXED_STR_MAX];
    fixed_format(v, MEXCH_SCALE, s, sizeof s);
    evbuffer_add_printf(b, "\"%s\"", s);
}

static void publish_out(mexch *x, const char *stream)
{
    size_t len = evbuffer_get_length(x->out);
    const char *json = (const char *)evbuffer_pullup(x->out, -1);
    if (json && x->publish)
        x->publish(x->ud, stream, json, len);
    evbuffer_drain(x->out, len);
}

static void publish_to(mexch *x, const msym *s, const char *suffix)
{
    char stream[64];
    snprintf(stream, sizeof stream, "%s@%s", s->lower, suffix);
    publish_out(x, stream);
}

static int64_t now_ms(const mexch *x)
{
    return x->clock(x->ud);
}

/* ---- Names ---- */

static const char *const side_names[] = {"BUY", "SELL"};
static const char *const type_names[] = {"LIMIT", "MARKET", "LIMIT_MAKER"};
static const char *const tif_names[] = {"GTC", "IOC", "FOK"};
static const char *const status_names[] = {"NEW", "PARTIALLY_FILLED", "FILLED",
                                           "CANCELED", "REJECTED", "EXPIRED"};

#define NAME_OF(table, i) ((i) >= 0 && (size_t)(i) < sizeof table / sizeof *table ? table[i] : "?")

const char *mexch_side_name(int side) { return NAME_OF(side_names, side); }
const char *mexch_type_name(int type) { return NAME_OF(type_names, type); }
const char *mexch_tif_name(int tif) { return NAME_OF(tif_names, tif); }
const char *mexch_status_name(int status) { return NAME_OF(status_names, status); }

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

/* ---- Life ---- */

mexch *mexch_new(mexch_publish_fn publish, mexch_clock_fn clock, void *ud)
{
    mexch *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->out = evbuffer_new();
    if (!x->out) {
        free(x);
        return NULL;
    }
    x->publish = publish;
    x->clock = clock;
    x->ud = ud;
    x->next_order_id = 1;
    x->next_exec_id = 1;
    return x;
}

void mexch_free(mexch *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nsyms; i++) {
        book_free(x->syms[i].market);
        book_free(x->syms[i].published);
        free(x->syms[i].pending);
    }
    free(x->syms);
    free(x->assets);
    free(x->orders);
    free(x->fills);
    free(x->trades);
    free(x->client_ids);
    evbuffer_free(x->out);
    free(x);
}

/* ---- Symbols and balances ---- */

static int copy_name(char *dst, size_t cap, const char *src)
{
    if (!src || !*src || strlen(src) >= cap)
        return -1;
    for (size_t i = 0; src[i]; i++)
        if (!isalnum((unsigned char)src[i]))
            return -1;
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int parse_spec(msym *s, const mexch_symbol_spec *spec)
{
    if (copy_name(s->name, sizeof s->name, spec->symbol) != 0 ||
        copy_name(s->base, sizeof s->base, spec->base) != 0 ||
        copy_name(s->quote, sizeof s->quote, spec->quote) != 0)
        return -1;
    for (size_t i = 0; s->name[i]; i++)
        s->lower[i] = (char)tolower((unsigned char)s->name[i]);
    if (parse_spec_value(spec->tick_size, "0.01", &s->tick) != 0 ||
        parse_spec_value(spec->step_size, "0.00001", &s->step) != 0 ||
        parse_spec_value(spec->max_qty, "9000", &s->max_qty) != 0 ||
        parse_spec_value(spec->min_notional, "5", &s->min_notional) != 0 ||
        parse_spec_value(spec->max_notional, "9000000", &s->max_notional) != 0)
        return -1;
    s->min_qty = s->step;
    if (spec->min_qty && parse_spec_value(spec->min_qty, NULL, &s->min_qty) != 0)
        return -1;
    return s->tick > 0 && s->step > 0 ? 0 : -1;
}

int mexch_add_symbol(mexch *x, const mexch_symbol_spec *spec, char *err, size_t errlen)
{
    msym s;
    msym *grown;

    memset(&s, 0, sizeof s);
    if (parse_spec(&s, spec) != 0) {
        snprintf(err, errlen, "symbol %s: a name is missing or not alphanumeric, or a "
                 "size is not a positive decimal", spec->symbol ? spec->symbol : "(null)");
        return -1;
    }
    if (mexch_symbol_find(x, s.name) >= 0) {
        snprintf(err, errlen, "symbol %s: listed twice", s.name);
        return -1;
    }
    grown = grow_capacity(x->syms, &x->syms_cap, x->nsyms + 1, sizeof *x->syms, 4);
    s.market = book_new();
    s.published = book_new();
    if (!grown || !s.market || !s.published) {
        if (grown)
            x->syms = grown;
        book_free(s.market);
        book_free(s.published);
        snprintf(err, errlen, "symbol %s: out of memory", s.name);
        return -1;
    }
    x->syms = grown;
    s.update_id = 1;
    x->syms[x->nsyms] = s;
    return (int)x->nsyms++;
}

size_t mexch_symbol_count(const mexch *x)
{
    return x->nsyms;
}

int mexch_symbol_find(const mexch *x, const char *symbol)
{
    for (size_t i = 0; symbol && i < x->nsyms; i++)
        if (strcmp(x->syms[i].name, symbol) == 0)
            return (int)i;
    return -1;
}

void mexch_symbol_get(const mexch *x, int sym, mexch_symbol_info *out)
{
    const msym *s = &x->syms[sym];
    out->symbol = s->name;
    out->lower = s->lower;
    out->base = s->base;
    out->quote = s->quote;
    out->tick = s->tick;
    out->step = s->step;
    out->min_qty = s->min_qty;
    out->max_qty = s->max_qty;
    out->min_notional = s->min_notional;
    out->max_notional = s->max_notional;
}

static masset *asset_find(const mexch *x, const char *name)
{
    for (size_t i = 0; i < x->nassets; i++)
        if (strcmp(x->assets[i].name, name) == 0)
            return &x->assets[i];
    return NULL;
}

/* The asset's record, created empty when new. @return it, or NULL (no memory). */
static masset *asset_get(mexch *x, const char *name)
{
    masset *a = asset_find(x, name);
    masset *grown;

    if (a)
        return a;
    grown = grow_capacity(x->assets, &x->assets_cap, x->nassets + 1, sizeof *x->assets, 8);
    if (!grown)
        return NULL;
    x->assets = grown;
    a = &x->assets[x->nassets++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    return a;
}

int mexch_set_balance(mexch *x, const char *asset, int64_t free_amount, char *err,
                      size_t errlen)
{
    char name[16];
    masset *a;

    if (copy_name(name, sizeof name, asset) != 0 || free_amount < 0) {
        snprintf(err, errlen, "balance of '%s': not an asset name or a negative amount",
                 asset ? asset : "(null)");
        return -1;
    }
    a = asset_get(x, name);
    if (!a) {
        snprintf(err, errlen, "balance of %s: out of memory", name);
        return -1;
    }
    a->free = free_amount;
    return 0;
}

void mexch_balance(const mexch *x, const char *asset, int64_t *free_out, int64_t *locked)
{
    const masset *a = asset_find(x, asset);
    *free_out = a ? a->free : 0;
    *locked = a ? a->locked : 0;
}

size_t mexch_asset_count(const mexch *x)
{
    return x->nassets;
}

const char *mexch_asset_name(const mexch *x, size_t i)
{
    return i < x->nassets ? x->assets[i].name : NULL;
}

/* ---- The published book and its diffs ---- */

static int64_t own_resting_qty(const mexch *x, int sym, int side, int64_t price)
{
    int64_t sum = 0;
    for (size_t i = 0; i < x->norders; i++) {
        const mexch_order *o = &x->orders[i];
        if (o->working && o->symbol == sym && o->side == side && o->price == price)
            sum += o->qty - o->filled;
    }
    return sum;
}

static int pending_add(msym *s, int side, int64_t price)
{
    mpending *grown;

    for (size_t i = 0; i < s->npending; i++)
        if (s->pending[i].side == side && s->pending[i].price == price)
            return 0;
    grown = grow_capacity(s->pending, &s->pending_cap, s->npending + 1, sizeof *s->pending, 64);
    if (!grown)
        return -1;
    s->pending = grown;
    s->pending[s->npending].side = side;
    s->pending[s->npending].price = price;
    s->npending++;
    return 0;
}

/* Bring a published level in line with market + own orders; a change takes
 * the next update id. book_side for side. @return 0 or -1 (no memory). */
static int sync_level(mexch *x, int sym, int side, int64_t price)
{
    msym *s = &x->syms[sym];
    int own_side = side == BOOK_BID ? MEXCH_BUY : MEXCH_SELL;
    int64_t want = book_qty_at(s->market, (book_side)side, price) +
                   own_resting_qty(x, sym, own_side, price);

    if (book_qty_at(s->published, (book_side)side, price) == want)
        return 0;
    if (book_apply_delta(s->published, (book_side)side, price, want) != 0 ||
        pending_add(s, side, price) != 0)
        return -1;
    if (x->gap) {
        s->update_id++; /* this id is never published */
        x->gap = 0;
    }
    s->update_id++;
    if (!s->pending_first)
        s->pending_first = s->update_id;
    return 0;
}

void mexch_gap(mexch *x)
{
    x->gap = 1;
}

uint64_t mexch_update_id(const mexch *x, int sym)
{
    return x->syms[sym].update_id;
}

static void add_pending_side(mexch *x, const msym *s, int side)
{
    int first = 1;
    ADD_LIT(x->out, "[");
    for (size_t i = 0; i < s->npending; i++) {
        if (s->pending[i].side != side)
            continue;
        evbuffer_add_printf(x->out, "%s[", first ? "" : ",");
        add_dec(x->out, s->pending[i].price);
        ADD_LIT(x->out, ",");
        add_dec(x->out, book_qty_at(s->published, (book_side)side, s->pending[i].price));
        ADD_LIT(x->out, "]");
        first = 0;
    }
    ADD_LIT(x->out, "]");
}

static void flush_ticker(mexch *x, msym *s)
{
    const book_level *top = book_best_levels(s->published);

    if (memcmp(top, s->ticker, sizeof s->ticker) == 0)
        return;
    memcpy(s->ticker, top, sizeof s->ticker);
    evbuffer_add_printf(x->out, "{\"u\":%" PRIu64 ",\"s\":\"%s\",\"b\":", s->update_id, s->name);
    add_dec(x->out, top[BOOK_BID].price);
    ADD_LIT(x->out, ",\"B\":");
    add_dec(x->out, top[BOOK_BID].qty);
    ADD_LIT(x->out, ",\"a\":");
    add_dec(x->out, top[BOOK_ASK].price);
    ADD_LIT(x->out, ",\"A\":");
    add_dec(x->out, top[BOOK_ASK].qty);
    ADD_LIT(x->out, "}");
    publish_to(x, s, "bookTicker");
}

static void flush_symbol(mexch *x, msym *s)
{
    if (s->pending_first) {
        evbuffer_add_printf(x->out,
                            "{\"e\":\"depthUpdate\",\"E\":%" PRId64 ",\"s\":\"%s\",\"U\":%" PRIu64
                            ",\"u\":%" PRIu64 ",\"b\":",
                            now_ms(x), s->name, s->pending_first, s->update_id);
        add_pending_side(x, s, BOOK_BID);
        ADD_LIT(x->out, ",\"a\":");
        add_pending_side(x, s, BOOK_ASK);
        ADD_LIT(x->out, "}");
        publish_to(x, s, "depth@100ms");
        s->pending_first = 0;
        s->npending = 0;
    }
    flush_ticker(x, s);
}

void mexch_flush(mexch *x)
{
    for (size_t i = 0; i < x->nsyms; i++)
        flush_symbol(x, &x->syms[i]);
}

size_t mexch_depth(const mexch *x, int sym, int is_bid, int64_t *prices, int64_t *qtys,
                   size_t limit)
{
    book_level lv;
    size_t n = 0;
    book_side side = is_bid ? BOOK_BID : BOOK_ASK;

    while (n < limit && book_level_at(x->syms[sym].published, side, n, &lv) == 0) {
        prices[n] = lv.price;
        qtys[n] = lv.qty;
        n++;
    }
    return n;
}

/* ---- User data events ---- */

static void publish_account(mexch *x, const msym *s)
{
    const char *names[2] = {s->base, s->quote};
    int64_t t = now_ms(x);

    evbuffer_add_printf(x->out, "{\"e\":\"outboundAccountPosition\",\"E\":%" PRId64
                        ",\"u\":%" PRId64 ",\"B\":[", t, t);
    for (int i = 0; i < 2; i++) {
        masset *a = asset_find(x, names[i]);
        evbuffer_add_printf(x->out, "%s{\"a\":\"%s\",\"f\":", i ? "," : "", names[i]);
        add_dec(x->out, a ? a->free : 0);
        ADD_LIT(x->out, ",\"l\":");
        add_dec(x->out, a ? a->locked : 0);
        ADD_LIT(x->out, "}");
    }
    ADD_LIT(x->out, "]}");
    publish_out(x, MEXCH_USER_STREAM);
}

/* What changed in an executionReport besides the order's own state. */
typedef struct mexec {
    const char *type;      /* "NEW", "TRADE", "CANCELED", "EXPIRED" */
    const char *client_id; /* "c": the order's, or the cancel request's */
    const char *orig_id;   /* "C": the cancelled order's client id, or "" */
    const mexch_fill *fill; /* TRADE only */
    int maker;
} mexec;

static void publish_exec(mexch *x, const mexch_order *o, const mexec *e)
{
    const msym *s = &x->syms[o->symbol];
    int64_t t = now_ms(x);
    int64_t lq = e->fill ? e->fill->qty : 0, lp = e->fill ? e->fill->price : 0;

    evbuffer_add_printf(x->out,
                        "{\"e\":\"executionReport\",\"E\":%" PRId64 ",\"s\":\"%s\",\"c\":\"%s\","
                        "\"S\":\"%s\",\"o\":\"%s\",\"f\":\"%s\",\"q\":",
                        t, s->name, e->client_id, mexch_side_name(o->side),
                        mexch_type_name(o->type), mexch_tif_name(o->tif));
    add_dec(x->out, o->qty);
    ADD_LIT(x->out, ",\"p\":");
    add_dec(x->out, o->price);
    evbuffer_add_printf(x->out, ",\"P\":\"0.00000000\",\"F\":\"0.00000000\",\"g\":-1,"
                        "\"C\":\"%s\",\"x\":\"%s\",\"X\":\"%s\",\"r\":\"NONE\",\"i\":%" PRIu64
                        ",\"l\":", e->orig_id, e->type, mexch_status_name(o->status),
                        o->order_id);
    add_dec(x->out, lq);
    ADD_LIT(x->out, ",\"z\":");
    add_dec(x->out, o->filled);
    ADD_LIT(x->out, ",\"L\":");
    add_dec(x->out, lp);
    if (e->fill)
        evbuffer_add_printf(x->out, ",\"n\":\"0.00000000\",\"N\":\"%s\"",
                            o->side == MEXCH_BUY ? s->base : s->quote);
    else
        evbuffer_add_printf(x->out, ",\"n\":\"0\",\"N\":null");
    evbuffer_add_printf(x->out, ",\"T\":%" PRId64 ",\"t\":%" PRId64 ",\"I\":%" PRIu64
                        ",\"w\":%s,\"m\":%s,\"M\":false,\"O\":%" PRId64 ",\"Z\":",
                        t, e->fill ? (int64_t)e->fill->trade_id : INT64_C(-1),
                        x->next_exec_id++, o->working ? "true" : "false",
                        e->maker ? "true" : "false", o->time_ms);
    add_dec(x->out, o->quote_filled);
    ADD_LIT(x->out, ",\"Y\":");
    add_dec(x->out, notional(lp, lq));
    ADD_LIT(x->out, ",\"Q\":\"0.00000000\"");
    if (o->working)
        evbuffer_add_printf(x->out, ",\"W\":%" PRId64, o->time_ms);
    ADD_LIT(x->out, ",\"V\":\"NONE\"}");
    publish_out(x, MEXCH_USER_STREAM);
}

static void publish_state(mexch *x, const mexch_order *o, const char *type)
{
    mexec e = {type, o->client_id, "", NULL, 0};
    publish_exec(x, o, &e);
}

/* ---- Fills ---- */

static void publish_trade(mexch *x, msym *s, int64_t price, int64_t qty, int buyer_maker,
                          uint64_t trade_id)
{
    int64_t t = now_ms(x);
    evbuffer_add_printf(x->out, "{\"e\":\"trade\",\"E\":%" PRId64 ",\"s\":\"%s\",\"t\":%" PRIu64
                        ",\"p\":", t, s->name, trade_id);
    add_dec(x->out, price);
    ADD_LIT(x->out, ",\"q\":");
    add_dec(x->out, qty);
    evbuffer_add_printf(x->out, ",\"T\":%" PRId64 ",\"m\":%s,\"M\":true}", t,
                        buyer_maker ? "true" : "false");
    publish_to(x, s, "trade");
}

/* Move the balances of one fill of o, release the lock it no longer needs. */
static void settle_fill(mexch *x, mexch_order *o, int64_t price, int64_t qty)
{
    msym *s = &x->syms[o->symbol];
    masset *base = asset_get(x, s->base), *quote = asset_get(x, s->quote);
    int64_t cost = notional(price, qty);

    if (!base || !quote)
        return; /* both exist: placing the order checked the balance */
    if (o->side == MEXCH_SELL) {
        base->locked -= qty;
        o->locked -= qty;
        quote->free += cost;
        return;
    }
    base->free += qty;
    if (o->type == MEXCH_MARKET) {
        quote->free -= cost;
        return;
    }
    int64_t release = o->filled == o->qty ? o->locked : min64(o->locked, notional_up(o->price, qty));
    quote->locked -= release;
    quote->free += release - cost;
    o->locked -= release;
}

/* Keep fill f of order o in the account's trade list. @return 0 or -1. */
static int remember_trade(mexch *x, const mexch_order *o, const mexch_fill *f, int maker)
{
    mexch_trade *grown =
        grow_capacity(x->trades, &x->trades_cap, x->ntrades + 1, sizeof *x->trades, 64);

    if (!grown)
        return -1;
    x->trades = grown;
    x->trades[x->ntrades++] = (mexch_trade){
        .trade_id = f->trade_id,
        .order_id = o->order_id,
        .symbol = o->symbol,
        .price = f->price,
        .qty = f->qty,
        .quote_qty = notional(f->price, f->qty),
        .commission = f->commission,
        .time_ms = now_ms(x),
        .is_buyer = o->side == MEXCH_BUY,
        .is_maker = maker,
    };
    return 0;
}

/* One fill of order oi; print: publish it on the trade stream (not when it
 * is part of a market trade that was printed already). */
static int record_fill(mexch *x, size_t oi, int64_t price, int64_t qty, int maker, int print)
{
    mexch_order *o = &x->orders[oi];
    msym *s = &x->syms[o->symbol];
    mexch_fill *grown = grow_capacity(x->fills, &x->fills_cap, x->nfills + 1, sizeof *x->fills, 16);
    mexch_fill *f;

    if (!grown)
        return -1;
    x->fills = grown;
    f = &x->fills[x->nfills++];
    f->price = price;
    f->qty = qty;
    f->commission = 0;
    f->trade_id = ++s->trade_id;
    if (remember_trade(x, o, f, maker) != 0)
        return -1;
    o->filled += qty;
    o->quote_filled += notional(price, qty);
    o->status = o->filled == o->qty ? MEXCH_FILLED : MEXCH_PARTIALLY_FILLED;
    o->update_ms = now_ms(x);
    settle_fill(x, o, price, qty);
    if (print)
        publish_trade(x, s, price, qty, (o->side == MEXCH_BUY) == maker, f->trade_id);
    mexec e = {"TRADE", o->client_id, "", f, maker};
    if (o->status == MEXCH_FILLED && o->working) {
        o->working = 0;
        publish_exec(x, o, &e);
        return sync_level(x, o->symbol, o->side == MEXCH_BUY ? BOOK_BID : BOOK_ASK, price);
    }
    publish_exec(x, o, &e);
    return 0;
}

/* Give back what an order still locks (it leaves the book or expires). */
static void release_lock(mexch *x, mexch_order *o)
{
    msym *s = &x->syms[o->symbol];
    masset *a = asset_find(x, o->side == MEXCH_BUY ? s->quote : s->base);
    if (a && o->locked) {
        a->locked -= o->locked;
        a->free += o->locked;
    }
    o->locked = 0;
}

static int crosses(int side, int64_t limit, int64_t level_price)
{
    if (limit == 0)
        return 1; /* MARKET */
    return side == MEXCH_BUY ? level_price <= limit : level_price >= limit;
}

/* Market liquidity on the other side within limit (0: any), up to want. */
static int64_t available(const msym *s, int side, int64_t limit, int64_t want, int64_t *cost)
{
    book_side opp = side == MEXCH_BUY ? BOOK_ASK : BOOK_BID;
    book_level lv;
    int64_t got = 0;

    *cost = 0;
    for (size_t i = 0; got < want && book_level_at(s->market, opp, i, &lv) == 0; i++) {
        if (!crosses(side, limit, lv.price))
            break;
        int64_t q = min64(want - got, lv.qty);
        got += q;
        *cost += notional(lv.price, q);
    }
    return got;
}

/* Take market liquidity for order oi, as taker, best price first. */
static int take(mexch *x, size_t oi)
{
    int sym = x->orders[oi].symbol;
    int side = x->orders[oi].side;
    book_side opp = side == MEXCH_BUY ? BOOK_ASK : BOOK_BID;
    book_level lv;

    while (x->orders[oi].filled < x->orders[oi].qty &&
           book_level_at(x->syms[sym].market, opp, 0, &lv) == 0 &&
           crosses(side, x->orders[oi].price, lv.price)) {
        int64_t q = min64(x->orders[oi].qty - x->orders[oi].filled, lv.qty);
        if (book_apply_delta(x->syms[sym].market, opp, lv.price, lv.qty - q) != 0 ||
            sync_level(x, sym, opp, lv.price) != 0 || record_fill(x, oi, lv.price, q, 0, 1) != 0)
            return -1;
    }
    return 0;
}

/*
 * Fill our resting orders of `side` that a price reaches (a market trade or
 * crossing liquidity) at their own price, as maker, up to qty in all.
 * @return the quantity filled.
 */
static int64_t fill_resting(mexch *x, int sym, int side, int64_t price, int64_t qty, int print)
{
    int64_t done = 0;
    for (size_t i = 0; i < x->norders && done < qty; i++) {
        mexch_order *o = &x->orders[i];
        if (!o->working || o->symbol != sym || o->side != side)
            continue;
        if (side == MEXCH_BUY ? o->price < price : o->price > price)
            continue;
        int64_t q = min64(qty - done, o->qty - o->filled);
        int64_t at = o->price;
        if (record_fill(x, i, at, q, 1, print) != 0)
            break;
        done += q;
        if (x->orders[i].working)
            sync_level(x, sym, side == MEXCH_BUY ? BOOK_BID : BOOK_ASK, at);
        publish_account(x, &x->syms[sym]);
    }
    return done;
}

/* ---- Market data ---- */

int mexch_market_reset(mexch *x, int sym, uint64_t last_update_id, char *err, size_t errlen)
{
    msym *s = &x->syms[sym];
    book_level lv;

    for (int side = BOOK_BID; side <= BOOK_ASK; side++) {
        while (book_level_at(s->market, (book_side)side, 0, &lv) == 0) {
            if (book_apply_delta(s->market, (book_side)side, lv.price, 0) != 0 ||
                sync_level(x, sym, side, lv.price) != 0) {
                snprintf(err, errlen, "%s: out of memory clearing the book", s->name);
                return -1;
            }
        }
    }
    if (last_update_id > s->update_id)
        s->update_id = last_update_id;
    return 0;
}

int mexch_market_level(mexch *x, int sym, int is_bid, int64_t price, int64_t qty)
{
    book_side side = is_bid ? BOOK_BID : BOOK_ASK;
    msym *s = &x->syms[sym];

    if (price <= 0 || qty < 0)
        return -1;
    if (book_apply_delta(s->market, side, price, qty) != 0 || sync_level(x, sym, side, price) != 0)
        return -1;
    if (qty == 0)
        return 0;
    /* Liquidity that crosses our resting orders trades with them. */
    int64_t used = fill_resting(x, sym, is_bid ? MEXCH_SELL : MEXCH_BUY, price, qty, 1);
    if (used > 0 && (book_apply_delta(s->market, side, price, qty - used) != 0 ||
                     sync_level(x, sym, side, price) != 0))
        return -1;
    return 0;
}

void mexch_market_trade(mexch *x, int sym, int64_t price, int64_t qty, int buyer_maker)
{
    msym *s = &x->syms[sym];
    publish_trade(x, s, price, qty, buyer_maker, ++s->trade_id);
    fill_resting(x, sym, buyer_maker ? MEXCH_BUY : MEXCH_SELL, price, qty, 0);
}

/* ---- Orders ---- */

static int reject(mexch_reject *rej, int code, const char *fmt, const char *arg)
{
    rej->http_status = 400;
    rej->code = code;
    snprintf(rej->msg, sizeof rej->msg, fmt, arg);
    return -1;
}

static int parse_enum(const char *const *names, size_t n, const char *value, const char *param,
                      int code, const char *bad_msg, int *out, mexch_reject *rej)
{
    if (!value || !*value)
        return reject(rej, -1102, "Mandatory parameter '%s' was not sent, was empty/null, or "
                      "malformed.", param);
    *out = name_index(names, n, value);
    return *out < 0 ? reject(rej, code, "%s", bad_msg) : 0;
}

static int parse_amount(const char *value, const char *param, int64_t *out, mexch_reject *rej)
{
    int rc;
    if (!value || !*value)
        return reject(rej, -1102, "Mandatory parameter '%s' was not sent, was empty/null, or "
                      "malformed.", param);
    rc = fixed_parse(value, strlen(value), MEXCH_SCALE, out);
    if (rc == FIXED_EPRECISION)
        return reject(rej, -1111, "Parameter '%s' has too much precision.", param);
    if (rc != FIXED_OK || *out < 0)
        return reject(rej, -1100, "Illegal characters found in parameter '%s'; legal range is "
                      "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.", param);
    return 0;
}

static int valid_client_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > MEXCH_CLIENT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
            return 0;
    return 1;
}

/* The order's fields from the request: everything checked but money. */
static int parse_order(const mexch *x, const mexch_new_order *req, mexch_order *o,
                       mexch_reject *rej)
{
    memset(o, 0, sizeof *o);
    if (!req->symbol || !*req->symbol)
        return reject(rej, -1102, "Mandatory parameter '%s' was not sent, was empty/null, or "
                      "malformed.", "symbol");
    o->symbol = mexch_symbol_find(x, req->symbol);
    if (o->symbol < 0)
        return reject(rej, -1121, "%s", "Invalid symbol.");
    if (parse_enum(side_names, 2, req->side, "side", -1117, "Invalid side.", &o->side, rej) ||
        parse_enum(type_names, 3, req->type, "type", -1116, "Invalid orderType.", &o->type, rej))
        return -1;
    if (o->type == MEXCH_LIMIT) {
        if (parse_enum(tif_names, 3, req->tif, "timeInForce", -1115, "Invalid timeInForce.",
                       &o->tif, rej))
            return -1;
    } else if (req->tif) {
        return reject(rej, -1106, "Parameter '%s' sent when not required.", "timeInForce");
    }
    if (o->type == MEXCH_MARKET && req->price)
        return reject(rej, -1106, "Parameter '%s' sent when not required.", "price");
    if (parse_amount(req->quantity, "quantity", &o->qty, rej) ||
        (o->type != MEXCH_MARKET && parse_amount(req->price, "price", &o->price, rej)))
        return -1;
    if (req->client_id) {
        if (!valid_client_id(req->client_id))
            return reject(rej, -1100, "Illegal characters found in parameter '%s'; legal range "
                          "is '^[a-zA-Z0-9-_]{1,36}$'.", "newClientOrderId");
        snprintf(o->client_id, sizeof o->client_id, "%s", req->client_id);
    }
    return 0;
}

static int check_filters(const msym *s, const mexch_order *o, mexch_reject *rej)
{
    const char *lot = o->type == MEXCH_MARKET ? "Filter failure: MARKET_LOT_SIZE"
                                              : "Filter failure: LOT_SIZE";
    if (o->type != MEXCH_MARKET &&
        (o->price < s->tick || o->price > MEXCH_MAX_PRICE || o->price % s->tick != 0))
        return reject(rej, -1013, "%s", "Filter failure: PRICE_FILTER");
    if (o->qty < s->min_qty || o->qty > s->max_qty || o->qty % s->step != 0)
        return reject(rej, -1013, "%s", lot);
    if (o->type != MEXCH_MARKET) {
        int64_t n = notional(o->price, o->qty);
        if (n < s->min_notional || n > s->max_notional)
            return reject(rej, -1013, "%s", "Filter failure: NOTIONAL");
    }
    return 0;
}

static int open_client_id_taken(const mexch *x, const char *id)
{
    for (size_t i = 0; i < x->norders; i++)
        if (x->orders[i].working && strcmp(x->orders[i].client_id, id) == 0)
            return 1;
    return 0;
}

/* Remember a request's client id, counting it when an earlier request
 * carried it. A linear scan: a mock serves thousands of orders, not
 * millions. @return 0, or -1 (no memory). */
static int note_client_id(mexch *x, const char *id)
{
    mexch_client_id *grown;

    for (size_t i = 0; i < x->nclient_ids; i++) {
        if (strcmp(x->client_ids[i].id, id) == 0) {
            x->client_id_reuses++;
            return 0;
        }
    }
    grown = grow_capacity(x->client_ids, &x->client_ids_cap, x->nclient_ids + 1,
                          sizeof *x->client_ids, 64);
    if (!grown)
        return -1;
    x->client_ids = grown;
    snprintf(x->client_ids[x->nclient_ids++].id, sizeof grown->id, "%s", id);
    return 0;
}

uint64_t mexch_client_id_reuses(const mexch *x)
{
    return x->client_id_reuses;
}

/* Lock what the order needs. @return 0, or -1 with rej (balance short). */
static int lock_funds(mexch *x, const msym *s, mexch_order *o, mexch_reject *rej)
{
    int buy = o->side == MEXCH_BUY;
    masset *a = asset_get(x, buy ? s->quote : s->base);
    int64_t need = o->qty, cost;

    if (!a)
        return reject(rej, -1000, "%s", "An unknown error occurred while processing the request.");
    if (buy && o->type == MEXCH_MARKET) {
        available(s, o->side, 0, o->qty, &cost);
        need = cost;
    } else if (buy) {
        need = notional_up(o->price, o->qty);
    }
    if (a->free < need)
        return reject(rej, -2010, "%s", "Account has insufficient balance for requested action.");
    if (buy && o->type == MEXCH_MARKET)
        return 0; /* paid fill by fill */
    a->free -= need;
    a->locked += need;
    o->locked = need;
    return 0;
}

static int would_take(const msym *s, const mexch_order *o)
{
    book_level lv;
    book_side opp = o->side == MEXCH_BUY ? BOOK_ASK : BOOK_BID;
    return book_level_at(s->market, opp, 0, &lv) == 0 && crosses(o->side, o->price, lv.price);
}

/* Checks that need the book and the other orders; nothing changes. */
static int check_placeable(const mexch *x, const mexch_order *o, mexch_reject *rej)
{
    const msym *s = &x->syms[o->symbol];
    if (check_filters(s, o, rej) != 0)
        return -1;
    if (o->client_id[0] && open_client_id_taken(x, o->client_id))
        return reject(rej, -2010, "%s", "Duplicate order sent.");
    if (o->type == MEXCH_LIMIT_MAKER && would_take(s, o))
        return reject(rej, -2010, "%s", "Order would immediately match and take.");
    return 0;
}

/* After matching: rest the remainder, or expire it. */
static int finish_order(mexch *x, size_t oi)
{
    mexch_order *o = &x->orders[oi];
    if (o->filled == o->qty) {
        release_lock(x, o); /* rounding left over */
        return 0;
    }
    if (o->type == MEXCH_LIMIT_MAKER || (o->type == MEXCH_LIMIT && o->tif == MEXCH_GTC)) {
        o->working = 1;
        return sync_level(x, o->symbol, o->side == MEXCH_BUY ? BOOK_BID : BOOK_ASK, o->price);
    }
    o->status = MEXCH_EXPIRED;
    release_lock(x, o);
    publish_state(x, o, "EXPIRED");
    return 0;
}

int mexch_place(mexch *x, const mexch_new_order *req, const mexch_order **out,
                const mexch_fill **fills, size_t *nfills, mexch_reject *rej)
{
    mexch_order o;
    mexch_order *grown;
    size_t oi;
    int64_t cost;

    if (parse_order(x, req, &o, rej) != 0)
        return -1;
    if (o.client_id[0] && note_client_id(x, o.client_id) != 0)
        return reject(rej, -1000, "%s", "An unknown error occurred while processing the request.");
    if (check_placeable(x, &o, rej) != 0)
        return -1;
    grown = grow_capacity(x->orders, &x->orders_cap, x->norders + 1, sizeof *x->orders, 64);
    if (!grown)
        return reject(rej, -1000, "%s", "An unknown error occurred while processing the request.");
    x->orders = grown;
    if (lock_funds(x, &x->syms[o.symbol], &o, rej) != 0)
        return -1;
    o.order_id = x->next_order_id++;
    if (!o.client_id[0])
        snprintf(o.client_id, sizeof o.client_id, "mock%012" PRIu64, o.order_id);
    o.status = MEXCH_NEW;
    o.time_ms = o.update_ms = now_ms(x);
    oi = x->norders++;
    x->orders[oi] = o;
    x->nfills = 0;
    publish_state(x, &x->orders[oi], "NEW");
    if (o.tif == MEXCH_FOK && o.type == MEXCH_LIMIT &&
        available(&x->syms[o.symbol], o.side, o.price, o.qty, &cost) < o.qty) {
        x->orders[oi].status = MEXCH_EXPIRED;
        release_lock(x, &x->orders[oi]);
        publish_state(x, &x->orders[oi], "EXPIRED");
    } else if (take(x, oi) != 0 || finish_order(x, oi) != 0) {
        return reject(rej, -1000, "%s", "An unknown error occurred while processing the request.");
    }
    publish_account(x, &x->syms[o.symbol]);
    *out = &x->orders[oi];
    *fills = x->fills;
    *nfills = x->nfills;
    return 0;
}

const mexch_order *mexch_find(const mexch *x, int sym, uint64_t order_id, const char *client_id)
{
    for (size_t i = x->norders; i-- > 0;) {
        const mexch_order *o = &x->orders[i];
        if (o->symbol != sym)
            continue;
        if (order_id ? o->order_id != order_id : !client_id || strcmp(o->client_id, client_id))
            continue;
        if (order_id && client_id && strcmp(o->client_id, client_id) != 0)
            return NULL; /* both sent and they disagree */
        return o;
    }
    return NULL;
}

int mexch_cancel(mexch *x, int sym, uint64_t order_id, const char *client_id,
                 const char *cancel_id, const mexch_order **out, mexch_reject *rej)
{
    mexch_order *o = (mexch_order *)mexch_find(x, sym, order_id, client_id);
    char generated[MEXCH_CLIENT_ID_MAX + 1];

    if (!o || !o->working)
        return reject(rej, -2011, "%s", "Unknown order sent.");
    if (!cancel_id || !*cancel_id) {
        snprintf(generated, sizeof generated, "mockcxl%" PRIu64, x->next_exec_id);
        cancel_id = generated;
    }
    o->working = 0;
    o->status = MEXCH_CANCELED;
    o->update_ms = now_ms(x);
    release_lock(x, o);
    if (sync_level(x, sym, o->side == MEXCH_BUY ? BOOK_BID : BOOK_ASK, o->price) != 0)
        return reject(rej, -1000, "%s", "An unknown error occurred while processing the request.");
    mexec e = {"CANCELED", cancel_id, o->client_id, NULL, 0};
    publish_exec(x, o, &e);
    publish_account(x, &x->syms[sym]);
    *out = o;
    return 0;
}

size_t mexch_open_orders(const mexch *x, int sym, const mexch_order **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < x->norders && n < cap; i++)
        if (x->orders[i].working && (sym < 0 || x->orders[i].symbol == sym))
            out[n++] = &x->orders[i];
    return n;
}

/* allOrders and myTrades answer the first `cap` selected from an id on,
 * else the `cap` most recent: how many selected to pass over first. */
static size_t window_skip(size_t selected, size_t cap, int most_recent)
{
    return most_recent && selected > cap ? selected - cap : 0;
}

static int order_selected(const mexch_order *o, int sym, uint64_t from_order_id)
{
    return o->symbol == sym && o->order_id >= from_order_id;
}

size_t mexch_all_orders(const mexch *x, int sym, uint64_t from_order_id,
                        const mexch_order **out, size_t cap)
{
    size_t n = 0, selected = 0, skip;

    /* Order ids grow with the list's index. */
    for (size_t i = 0; i < x->norders; i++)
        selected += (size_t)order_selected(&x->orders[i], sym, from_order_id);
    skip = window_skip(selected, cap, from_order_id == 0);
    for (size_t i = 0; i < x->norders && n < cap; i++) {
        if (!order_selected(&x->orders[i], sym, from_order_id))
            continue;
        if (skip > 0)
            skip--;
        else
            out[n++] = &x->orders[i];
    }
    return n;
}

static int trade_selected(const mexch_trade *t, int sym, uint64_t order_id, int64_t from_id)
{
    return t->symbol == sym && (!order_id || t->order_id == order_id) &&
           (from_id < 0 || t->trade_id >= (uint64_t)from_id);
}

size_t mexch_my_trades(const mexch *x, int sym, uint64_t order_id, int64_t from_id,
                       const mexch_trade **out, size_t cap)
{
    size_t n = 0, selected = 0, skip;

    /* A symbol's trade ids grow with the list's index: its trades are in id order. */
    for (size_t i = 0; i < x->ntrades; i++)
        selected += (size_t)trade_selected(&x->trades[i], sym, order_id, from_id);
    skip = window_skip(selected, cap, from_id < 0);
    for (size_t i = 0; i < x->ntrades && n < cap; i++) {
        if (!trade_selected(&x->trades[i], sym, order_id, from_id))
            continue;
        if (skip > 0)
            skip--;
        else
            out[n++] = &x->trades[i];
    }
    return n;
}
