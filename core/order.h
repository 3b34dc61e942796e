/*
 * order.h -- orders as the engine and venues see them.
 *
 * The strategy API names (DESIGN.md, "Strategy API") are the ones
 * order_status_name and the parsers below use: "new", "partially_filled",
 * "buy", "limit", "gtc", ... An order id is at most ORDER_ID_MAX characters
 * of [A-Za-z0-9_-], accepted as a client order id by every exchange we
 * connect.
 */
#ifndef LUTRA_ORDER_H
#define LUTRA_ORDER_H

#include <stdint.h>

#include "lutra_event.h"

#define ORDER_ID_MAX 32
#define ORDER_TAG_MAX 32
#define ORDER_REASON_MAX 160

typedef enum order_side { ORDER_BUY = 0, ORDER_SELL = 1 } order_side;

typedef enum order_type {
    ORDER_LIMIT = 0,
    ORDER_MARKET = 1,
    ORDER_STOP = 2,       /* stop-market: becomes a market order at stop_price */
    ORDER_STOP_LIMIT = 3  /* becomes a limit order at price when stop_price trades */
} order_type;

typedef enum order_tif {
    ORDER_GTC = 0,
    ORDER_IOC = 1,
    ORDER_FOK = 2,
    ORDER_POST_ONLY = 3   /* a limit that is refused if it would take liquidity */
} order_tif;

typedef enum order_status {
    ORDER_PENDING_NEW = 0,   /* sent (or about to be), not yet acknowledged */
    ORDER_NEW = 1,
    ORDER_PARTIALLY_FILLED = 2,
    ORDER_FILLED = 3,
    ORDER_CANCELED = 4,
    ORDER_REJECTED = 5,
    ORDER_EXPIRED = 6,
    ORDER_PENDING_CANCEL = 7 /* cancel asked, not yet confirmed */
} order_status;

typedef enum order_liquidity { ORDER_MAKER = 0, ORDER_TAKER = 1 } order_liquidity;

/* What a strategy asks for. Prices and sizes are fixed point at the
 * instrument's scales; price is 0 for market and stop orders. */
typedef struct order_request {
    uint32_t instrument;
    uint32_t strategy;      /* index of the strategy that sends it */
    order_side side;
    order_type type;
    order_tif tif;
    int64_t price;
    int64_t stop_price;     /* stop orders only */
    int64_t qty;
    char tag[ORDER_TAG_MAX + 1];
} order_request;

/* An order's whole state, owned by the OMS. Money fields in money units
 * (money.h). */
typedef struct order {
    char id[ORDER_ID_MAX + 1];
    order_request req;
    order_status status;
    int64_t filled;          /* size scale */
    int64_t filled_value;    /* sum of fill price x qty, money units of the quote */
    int64_t fees;            /* money units of fee_asset */
    char fee_asset[LUTRA_ASSET_MAX];
    int64_t locked;          /* money units still locked for it (spot) */
    int64_t ts_created;      /* engine time the strategy sent it */
    int64_t ts_updated;
    char venue_order_id[48];
    char reason[ORDER_REASON_MAX]; /* why it was rejected, canceled or expired */
} order;

/* What a venue reports about an order. */
typedef enum exec_kind {
    EXEC_ACCEPTED = 1,   /* the venue has it: pending_new -> new */
    EXEC_FILL = 2,       /* a fill of qty at price */
    EXEC_CANCELED = 3,
    EXEC_REJECTED = 4,
    EXEC_EXPIRED = 5,    /* IOC/FOK remainder, or data ended */
    /* 6 is the plugin ABI's STATUS, which the driver turns into the above */
    EXEC_CANCEL_REJECTED = 7 /* the venue refused a cancel: pending_cancel goes back to
                              * the status the order had, reason "cancel refused: ..." */
} exec_kind;

typedef struct exec_report {
    exec_kind kind;
    char order_id[ORDER_ID_MAX + 1];
    int64_t ts;                   /* venue time of the event */
    int64_t price;                /* fills: price scale */
    int64_t qty;                  /* fills: size scale */
    int64_t fee;                  /* fills: money units of fee_asset */
    char fee_asset[LUTRA_ASSET_MAX];
    order_liquidity liquidity;    /* fills */
    char venue_order_id[48];
    char reason[ORDER_REASON_MAX];/* rejects, cancels, expiries */
    char trade_id[48];            /* fills: the venue's trade id ("" if none): a fill
                                   * heard twice is applied once */
} exec_report;

/* Strategy API names. */
const char *order_status_name(order_status s);
const char *order_side_name(order_side s);
const char *order_type_name(order_type t);
const char *order_tif_name(order_tif t);
/* Parse the names above. @return 0, or -1 for an unknown name. */
int order_side_parse(const char *s, order_side *out);
int order_type_parse(const char *s, order_type *out);
int order_tif_parse(const char *s, order_tif *out);

/* 1 for pending_new, new, partially_filled and pending_cancel. */
int order_status_is_open(order_status s);

/* 1 if id is a valid client order id (1..ORDER_ID_MAX of [A-Za-z0-9_-]). */
int order_id_valid(const char *id);

#endif
