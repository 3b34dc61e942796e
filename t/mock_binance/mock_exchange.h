/*
 * mock_exchange.h -- the mock Binance's matching engine and account: the
 * symbols it lists, each symbol's market book, our own orders, balances,
 * and the depth update ids that the diff stream carries.
 *
 * Prices and quantities are int64 at MEXCH_SCALE decimals (Binance writes 8
 * everywhere), parsed and written through core/fixed.h.
 *
 * Two books per symbol: `market` holds the liquidity the feed (a replayed
 * capture, the generator or a test) says is there; `published` is what
 * clients see -- market plus our own resting orders -- and every change to
 * a published level takes the next update id and joins the pending diff,
 * which mexch_flush turns into one depthUpdate (U = first id, u = last).
 *
 * Matching: our orders trade against market liquidity only (they never
 * match each other) and consume it, best price first. A resting order of
 * ours fills when a market trade prints through its price or when market
 * liquidity appears that crosses it; it fills at its own price, as maker,
 * with no queue position (the whole printed quantity is available to it).
 * Commission is zero.
 *
 * Everything a client would hear is handed to the publish callback as the
 * payload of a stream ("btcusdt@depth@100ms" -- which serves @depth too --, "btcusdt@trade",
 * "btcusdt@bookTicker", or MEXCH_USER_STREAM for executionReport and
 * outboundAccountPosition). Not thread-safe: the caller serialises.
 */
#ifndef LUTRA_MOCK_EXCHANGE_H
#define LUTRA_MOCK_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#define MEXCH_SCALE 8
#define MEXCH_USER_STREAM "!user"
#define MEXCH_CLIENT_ID_MAX 36

typedef struct mexch mexch;

enum mexch_side { MEXCH_BUY = 0, MEXCH_SELL = 1 };
enum mexch_type { MEXCH_LIMIT = 0, MEXCH_MARKET, MEXCH_LIMIT_MAKER };
enum mexch_tif { MEXCH_GTC = 0, MEXCH_IOC, MEXCH_FOK };
enum mexch_status {
    MEXCH_NEW = 0,
    MEXCH_PARTIALLY_FILLED,
    MEXCH_FILLED,
    MEXCH_CANCELED,
    MEXCH_REJECTED,
    MEXCH_EXPIRED
};

/* A symbol's listing; decimal strings. */
typedef struct mexch_symbol_spec {
    const char *symbol;       /* "BTCUSDT" */
    const char *base, *quote; /* "BTC", "USDT" */
    const char *tick_size;    /* NULL: "0.01" */
    const char *step_size;    /* NULL: "0.00001" */
    const char *min_qty;      /* NULL: the step */
    const char *max_qty;      /* NULL: "9000" */
    const char *min_notional; /* NULL: "5" */
    const char *max_notional; /* NULL: "9000000" */
} mexch_symbol_spec;

/* A symbol as listed, values at MEXCH_SCALE. */
typedef struct mexch_symbol_info {
    const char *symbol, *lower, *base, *quote;
    int64_t tick, step, min_qty, max_qty, min_notional, max_notional;
} mexch_symbol_info;

typedef struct mexch_order {
    uint64_t order_id;
    char client_id[MEXCH_CLIENT_ID_MAX + 1];
    int symbol;              /* index */
    int side, type, tif, status;
    int64_t price;           /* 0 for MARKET */
    int64_t qty, filled, quote_filled;
    int64_t locked;          /* what the order still holds of the balance */
    int64_t time_ms, update_ms;
    int working;             /* 1 while it rests on the book */
} mexch_order;

typedef struct mexch_fill {
    int64_t price, qty, commission;
    uint64_t trade_id;
} mexch_fill;

/* One of our fills as the account's trade list keeps it (GET myTrades). */
typedef struct mexch_trade {
    uint64_t trade_id, order_id;
    int symbol;              /* index */
    int64_t price, qty, quote_qty, commission;
    int64_t time_ms;
    int is_buyer, is_maker;
} mexch_trade;

/* What a new order asks for; the strings are the request's parameters. */
typedef struct mexch_new_order {
    const char *symbol, *side, *type, *tif, *quantity, *price, *client_id;
} mexch_new_order;

/* An order refused: the HTTP status and Binance's code and message. */
typedef struct mexch_reject {
    int http_status;
    int code;
    char msg[160];
} mexch_reject;

typedef void (*mexch_publish_fn)(void *ud, const char *stream, const char *json, size_t len);
typedef int64_t (*mexch_clock_fn)(void *ud); /* ms since the epoch */

/* @return a new exchange, or NULL when out of memory. */
mexch *mexch_new(mexch_publish_fn publish, mexch_clock_fn clock, void *ud);
void mexch_free(mexch *x);

/* List a symbol. @return its index, or -1 with the reason in err. */
int mexch_add_symbol(mexch *x, const mexch_symbol_spec *spec, char *err, size_t errlen);
size_t mexch_symbol_count(const mexch *x);
/* @return the index of symbol (exact, upper case), or -1. */
int mexch_symbol_find(const mexch *x, const char *symbol);
void mexch_symbol_get(const mexch *x, int sym, mexch_symbol_info *out);

/* Set an asset's free balance (locked is untouched). @return 0 or -1. */
int mexch_set_balance(mexch *x, const char *asset, int64_t free_amount, char *err,
                      size_t errlen);
/* Free and locked of an asset (0 and 0 when unknown). */
void mexch_balance(const mexch *x, const char *asset, int64_t *free_out, int64_t *locked);
size_t mexch_asset_count(const mexch *x);
const char *mexch_asset_name(const mexch *x, size_t i);

/* ---- Market data ---- */

/* Empty a symbol's market book before a snapshot's levels are set with
 * mexch_market_level, and move its update id up to last_update_id when
 * that is above it. @return 0 or -1. */
int mexch_market_reset(mexch *x, int sym, uint64_t last_update_id, char *err, size_t errlen);
/* Set one market level (qty 0 removes it); our crossed resting orders fill.
 * is_bid: 1 bid side, 0 ask side. @return 0 or -1 (no memory). */
int mexch_market_level(mexch *x, int sym, int is_bid, int64_t price, int64_t qty);
/* A trade in the market (buyer_maker: the seller was the aggressor): it is
 * published and fills our resting orders it prints through. */
void mexch_market_trade(mexch *x, int sym, int64_t price, int64_t qty, int buyer_maker);

/* Skip one update id before the next published change: a gap in U/u. */
void mexch_gap(mexch *x);
/* Publish the pending diff of every symbol (and its bookTicker when the top
 * changed). Called every 100 ms. */
void mexch_flush(mexch *x);
uint64_t mexch_update_id(const mexch *x, int sym);

/* Copy up to limit levels of a side of the published book, best first.
 * @return how many. */
size_t mexch_depth(const mexch *x, int sym, int is_bid, int64_t *prices, int64_t *qtys,
                   size_t limit);

/* ---- Orders ---- */

/*
 * Validate, match and maybe rest an order (the request's strings, as sent).
 * On success *out is the order and fills/nfills its fills (valid until the
 * next call). @return 0, or -1 with *rej filled (nothing changed).
 */
int mexch_place(mexch *x, const mexch_new_order *req, const mexch_order **out,
                const mexch_fill **fills, size_t *nfills, mexch_reject *rej);

/* Find an order of sym by id (when order_id != 0) or client id.
 * @return it, or NULL. */
const mexch_order *mexch_find(const mexch *x, int sym, uint64_t order_id,
                              const char *client_id);
/* Cancel an open order; cancel_id is the cancel request's own client id
 * (NULL: one is made up), which the executionReport carries in "c" with the
 * order's in "C", as Binance does. @return 0, or -1 with rej set
 * ("Unknown order sent."). */
int mexch_cancel(mexch *x, int sym, uint64_t order_id, const char *client_id,
                 const char *cancel_id, const mexch_order **out, mexch_reject *rej);
/* Open orders of sym (or of every symbol when sym < 0), in placing order. */
size_t mexch_open_orders(const mexch *x, int sym, const mexch_order **out, size_t cap);

/* Orders of sym, oldest first, as GET /api/v3/allOrders selects them
 * (open and closed; an order the REST answer refused was never one):
 * from_order_id != 0: the first `cap` with an id of at least it; 0: the
 * `cap` most recent. @return how many went to out (valid until the next
 * change). */
size_t mexch_all_orders(const mexch *x, int sym, uint64_t from_order_id,
                        const mexch_order **out, size_t cap);

/* New-order requests whose client order id an earlier request already
 * carried (accepted or refused, open or closed since): resends that a
 * client keeping its ids unique never makes. Binance refuses only the
 * reuse of an open order's id (-2010 "Duplicate order sent."); this counts
 * every reuse. */
uint64_t mexch_client_id_reuses(const mexch *x);

/* Our trades of sym, oldest first, as GET /api/v3/myTrades selects them:
 * of order_id only when it is not 0; from_id >= 0: the first `cap` with an
 * id of at least from_id; from_id < 0: the `cap` most recent.
 * @return how many went to out (valid until the next change). */
size_t mexch_my_trades(const mexch *x, int sym, uint64_t order_id, int64_t from_id,
                       const mexch_trade **out, size_t cap);

const char *mexch_side_name(int side);
const char *mexch_type_name(int type);
const char *mexch_tif_name(int tif);
const char *mexch_status_name(int status);

#endif
