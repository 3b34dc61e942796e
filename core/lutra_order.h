/*
 * lutra_order.h -- order entry as a connector sees it: the order the engine
 * hands to submit and cancel, and the reports (executions, order snapshots,
 * balances) the connector hands back through the host. Public, like
 * lutra_plugin.h, which includes it: plain C, no engine internals.
 *
 * Prices and quantities are int64 fixed point at the instrument's
 * price_scale and size_scale (lutra_event.h); amounts of an asset (fees,
 * balances) are int64 money units, 1e-8 of the asset, whatever the
 * instrument. Strings are NUL-terminated inside their arrays; an empty
 * string means "not known".
 *
 * The enums have the values of the engine's own (core/order.h), so the host
 * converts nothing. Structs end in reserved bytes: fields are added in their
 * place, so sizes never change within an ABI version. Whoever fills a
 * struct zeroes it first (reserved bytes are zero).
 */
#ifndef LUTRA_ORDER_PUBLIC_H
#define LUTRA_ORDER_PUBLIC_H

#include <stdint.h>

#define LUTRA_ORDER_ID_MAX 32        /* client order id: 1..32 of [A-Za-z0-9_-] */
#define LUTRA_VENUE_ORDER_ID_SIZE 48 /* buffer for the venue's order id, NUL included */
#define LUTRA_TRADE_ID_SIZE 48       /* buffer for the venue's trade id, NUL included */
#define LUTRA_FEE_ASSET_SIZE 16
#define LUTRA_REASON_SIZE 160

enum lutra_side { LUTRA_SIDE_BUY = 0, LUTRA_SIDE_SELL = 1 };

enum lutra_order_type {
    LUTRA_TYPE_LIMIT = 0,
    LUTRA_TYPE_MARKET = 1,
    LUTRA_TYPE_STOP = 2,      /* stop-market: a market order once stop_price trades */
    LUTRA_TYPE_STOP_LIMIT = 3 /* a limit order at price once stop_price trades */
};

enum lutra_tif {
    LUTRA_TIF_GTC = 0,
    LUTRA_TIF_IOC = 1,
    LUTRA_TIF_FOK = 2,
    LUTRA_TIF_POST_ONLY = 3 /* a limit order refused if it would take liquidity */
};

/* What a lutra_exec reports. */
enum lutra_exec_kind {
    LUTRA_EXEC_ACCEPTED = 1, /* the venue has the order (it rests, or is about to fill) */
    LUTRA_EXEC_FILL = 2,     /* one fill: qty at price, its fee */
    LUTRA_EXEC_CANCELED = 3, /* canceled (by us or by the venue); reason says which */
    LUTRA_EXEC_REJECTED = 4, /* refused: never on the book; reason says why */
    LUTRA_EXEC_EXPIRED = 5,  /* IOC/FOK remainder, a post-only that would take, ... */
    LUTRA_EXEC_STATUS = 6,   /* a snapshot of an order: query_orders, query_order */
    LUTRA_EXEC_CANCEL_REJECTED = 7 /* a cancel refused; the order stays as it was */
};

enum lutra_liquidity { LUTRA_LIQ_MAKER = 0, LUTRA_LIQ_TAKER = 1 };

/* An order's state at the venue, as a STATUS reports it. */
enum lutra_order_status {
    /* query_order: the venue could not be asked after all (reason says
     * why): the outcome is still unknown. Never a venue's own answer. */
    LUTRA_ORDER_PENDING_NEW = 0,
    LUTRA_ORDER_NEW = 1,              /* on the book, nothing filled */
    LUTRA_ORDER_PARTIALLY_FILLED = 2, /* on the book, partly filled */
    LUTRA_ORDER_FILLED = 3,
    LUTRA_ORDER_CANCELED = 4,
    /* refused by the venue, or (query_order) unknown to it: reason says which */
    LUTRA_ORDER_REJECTED = 5,
    LUTRA_ORDER_EXPIRED = 6,
    LUTRA_ORDER_PENDING_CANCEL = 7    /* a cancel is under way at the venue */
};

/*
 * An order, as the engine hands it to submit and cancel. 128 bytes.
 */
typedef struct lutra_order {
    /* lutra's client order id, 1..LUTRA_ORDER_ID_MAX of [A-Za-z0-9_-]: send
     * it as the venue's client order id and report under it. */
    char id[LUTRA_ORDER_ID_MAX + 1];
    uint8_t side;          /* enum lutra_side */
    uint8_t type;          /* enum lutra_order_type */
    uint8_t tif;           /* enum lutra_tif; market orders: ignore */
    uint32_t instrument;   /* registry id (instrument_find / instrument_get) */
    int64_t price;         /* limit price, price scale; 0 for MARKET and STOP */
    int64_t stop_price;    /* STOP, STOP_LIMIT: the trigger, price scale; else 0 */
    int64_t qty;           /* > 0, size scale */
    /* cancel: the venue's id when an earlier report gave one, else "". */
    char venue_order_id[LUTRA_VENUE_ORDER_ID_SIZE];
    uint8_t reserved[16];
} lutra_order;

/*
 * A report about one order: what submit, cancel, query_orders and
 * query_order lead to, and whatever the venue pushes by itself (a fill of a
 * resting order). 384 bytes. Fields a kind does not use stay zero.
 */
typedef struct lutra_exec {
    uint8_t kind;          /* enum lutra_exec_kind */
    uint8_t side;          /* enum lutra_side: STATUS; others when known */
    uint8_t liquidity;     /* enum lutra_liquidity: FILL */
    /* enum lutra_order_status: STATUS. Took reserved0: a plugin built
     * before it leaves 0 in its query_orders STATUS, which means open there. */
    uint8_t status;
    uint32_t instrument;   /* registry id: STATUS; others when known (the engine
                            * goes by order_id) */
    int64_t ts;            /* the venue's time of the event, ns since the epoch
                            * (the receive time when the venue gives none) */
    int64_t price;         /* FILL: the fill's price; STATUS: the limit price
                            * (0 for a market order) */
    int64_t qty;           /* FILL: the fill's size; STATUS: the order's size */
    int64_t filled;        /* STATUS: the size filled so far; FILL: the order's
                            * cumulative filled size when known, else 0 */
    int64_t fee;           /* FILL: money units of fee_asset (1e-8); negative is a rebate */
    /* lutra's client order id; empty only in the STATUS that ends a
     * query_orders answer. */
    char order_id[LUTRA_ORDER_ID_MAX + 1];
    char venue_order_id[LUTRA_VENUE_ORDER_ID_SIZE];
    /* FILL: the venue's trade id, so that a fill heard twice (pushed, then
     * found again by a query after a reconnect) is counted once. */
    char trade_id[LUTRA_TRADE_ID_SIZE];
    char fee_asset[LUTRA_FEE_ASSET_SIZE]; /* FILL: "USDT", "BNB", ... */
    /* REJECTED, CANCELED, EXPIRED, CANCEL_REJECTED: why, for people
     * ("binance -2010 NEW_ORDER_REJECTED: Account has insufficient balance"). */
    char reason[LUTRA_REASON_SIZE];
    uint8_t reserved[31];
} lutra_exec;

/* One asset's balance at the venue, money units (1e-8). 48 bytes. */
typedef struct lutra_balance {
    char asset[16];        /* "BTC", "USDT" */
    int64_t free;          /* available to trade */
    int64_t locked;        /* held by open orders */
    uint8_t reserved[16];
} lutra_balance;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(lutra_order) == 128, "lutra_order keeps its size");
_Static_assert(sizeof(lutra_exec) == 384, "lutra_exec keeps its size");
_Static_assert(sizeof(lutra_balance) == 48, "lutra_balance keeps its size");
#endif

#endif
