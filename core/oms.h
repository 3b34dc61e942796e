/*
 * oms.h -- the order manager: every order's life, fills, positions,
 * balances, PnL and fees.
 *
 * The engine asks the risk gates first, then oms_submit creates the order
 * (pending_new) and locks what it may spend; venues report back through
 * oms_apply, which moves the state machine
 *
 *   pending_new -> new -> partially_filled -> filled | canceled | rejected | expired
 *                  (any open state) -> pending_cancel -> canceled | filled
 *
 * and updates positions and balances. A report that does not fit the state
 * machine (a fill for a closed order, more filled than ordered) is refused
 * with a reason and changes nothing.
 *
 * Spot semantics by default: a buy locks its quote amount (limit price x qty,
 * plus the taker fee; a market buy locks at the reference price given to
 * oms_submit, plus a margin of OMS_MARKET_SLIPPAGE_BPS) and a sell locks its
 * base quantity; a fill moves assets between the two and unlocks the rest
 * when the order closes. With margin, orders lock nothing; positions may go
 * short and gross exposure is held under leverage x equity by the risk gates.
 *
 * Positions are signed (negative is short) with a cost basis in money units:
 * avg_price = cost / qty. A fill that reduces a position realizes
 * (fill price - avg price) x qty closed (sign-adjusted); one that crosses
 * zero closes the old position and opens the rest at the fill price.
 */
#ifndef LUTRA_OMS_H
#define LUTRA_OMS_H

#include <stddef.h>
#include <stdint.h>

#include "instrument.h"
#include "order.h"

#define OMS_MARKET_SLIPPAGE_BPS 100

typedef struct oms oms;

typedef struct oms_config {
    int margin;               /* 0: spot (default); 1: shorting and leverage allowed */
    double leverage;          /* with margin: gross exposure limit = leverage x equity */
    double taker_fee_bps;     /* reserved on spot buys so a fill never overdraws */
    const char *id_prefix;    /* client order ids are <prefix><n>; default "lt" */
    uint64_t id_start;        /* first n (restarts continue from the store) */
} oms_config;

typedef struct oms_position {
    int64_t qty;              /* size scale of the instrument, signed */
    int64_t seed_qty;         /* held before any fill (oms_seed_position) */
    int64_t cost;             /* money units of the quote: signed, qty x avg price */
    int64_t realized_pnl;     /* money units of the quote */
    int64_t fees;             /* money units (of whatever fee asset, summed when it is the quote) */
} oms_position;

typedef struct oms_balance {
    int64_t free;             /* money units */
    int64_t locked;
} oms_balance;

/* What oms_apply changed, for the engine to tell the strategy. */
typedef struct oms_change {
    order *order;             /* the order after the report */
    int status_changed;       /* 1 if order->status moved */
    int filled;               /* 1 if the report was a fill (then fill_* are set) */
    int64_t fill_price, fill_qty, fill_fee;
    order_liquidity fill_liquidity;
} oms_change;

oms *oms_new(const instrument_registry *reg, const oms_config *cfg);
void oms_free(oms *o);

/* Set an asset's free balance (starting cash, --balance, a venue's report). */
int oms_set_balance(oms *o, const char *asset, int64_t free);
oms_balance oms_get_balance(const oms *o, const char *asset);

/*
 * Can this order be afforded (spot) or held (margin)? ref_price (price
 * scale) values market orders. @return 0, or -1 with "balance: ..." details
 * in reason (the risk gate "balance" calls this).
 */
int oms_check_balance(const oms *o, const order_request *req, int64_t ref_price, char *reason,
                      size_t len);

/*
 * Create an order in pending_new with a fresh client order id and lock what
 * it may spend. @return the order (owned by the OMS, valid until
 * oms_forget), or NULL with reason set (balance, out of memory).
 */
order *oms_submit(oms *o, const order_request *req, int64_t ref_price, int64_t now,
                  char *reason, size_t len);

/* Mark an open order pending_cancel. @return 0, or -1 with reason (unknown
 * id, not open). */
int oms_cancel(oms *o, const char *id, int64_t now, char *reason, size_t len);

/* Apply a venue's report. @return 0 and *chg filled, or -1 with reason (the
 * report changes nothing). */
int oms_apply(oms *o, const exec_report *rep, int64_t now, oms_change *chg, char *reason,
              size_t len);

order *oms_find(const oms *o, const char *id);

/* Open orders (optionally of one instrument, -1 for all), oldest first.
 * @return how many there are (out gets up to max of them). */
size_t oms_open_orders(const oms *o, int32_t instrument, order **out, size_t max);
size_t oms_open_count(const oms *o, int32_t instrument);

/* Make room now for the next n orders: their chunk allocated with its
 * memory touched and the id table large enough, so that submitting them
 * allocates, rehashes and page-faults nothing. Without it a submit does
 * all that itself when needed: a page fault every few orders, a chunk
 * every OMS_CHUNK, a rehash of every order at each doubling. Call it off
 * the order path (the live driver does, after a message's orders left).
 * @return 0, or -1 when memory ran out (nothing lost: a submit tries again). */
int oms_reserve_ahead(oms *o, size_t n);

/* Every order ever submitted, in submission order (reports). */
size_t oms_order_count(const oms *o);
order *oms_order_at(const oms *o, size_t i);

const oms_position *oms_get_position(const oms *o, uint32_t instrument);

/*
 * Start a position from holdings the account had before any trade (spot: a
 * starting base balance), valued at a price (price scale), so that selling
 * them reads as reducing a long, not opening a short. Only on a flat
 * position with no fills. @return 0, or -1 (not flat, unknown instrument).
 */
int oms_seed_position(oms *o, uint32_t instrument, int64_t qty, int64_t price);

/* Unrealized PnL of a position at a mark price (price scale), money units. */
int64_t oms_unrealized(const oms *o, uint32_t instrument, int64_t mark);

/*
 * Equity in one asset (money units): balances of that asset plus, for each
 * instrument quoted in it, position value at the mark price given by
 * mark(ud, instrument) (a price at the instrument's scale; 0 if unknown:
 * the position is then valued at cost). Spot: base holdings are valued at
 * mark; margin: unrealized PnL is added.
 */
int64_t oms_equity(const oms *o, const char *asset, int64_t (*mark)(void *ud, uint32_t inst),
                   void *ud);

/* Sum over instruments of |qty| x mark, money units of each quote (added
 * as they are: gross exposure for one quote asset). */
int64_t oms_gross_exposure(const oms *o, int64_t (*mark)(void *ud, uint32_t inst), void *ud);

/*
 * Restore (a restart, from the state store). An order comes back exactly as
 * it was saved, open lists and locks included; its lock is taken to be
 * inside the balances restored with oms_restore_balance, which set free
 * and locked as saved. @return 0, or -1 (invalid or duplicate id, unknown
 * instrument, out of memory).
 */
int oms_restore_order(oms *o, const order *src);
int oms_restore_position(oms *o, uint32_t instrument, const oms_position *p);
int oms_restore_balance(oms *o, const char *asset, int64_t free, int64_t locked);

/* The n of the next client order id "<prefix><n>" (stored with each new
 * order, so ids continue after a restart: oms_config.id_start). */
uint64_t oms_next_seq(const oms *o);

/* The id the next order will get. @return 0, or -1 when ids are exhausted
 * (oms_submit then refuses, saying so). */
int oms_next_id(const oms *o, char id[ORDER_ID_MAX + 1]);

#endif
