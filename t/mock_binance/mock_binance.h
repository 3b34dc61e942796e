/*
 * mock_binance.h -- a mock Binance Spot exchange on loopback, for tests and
 * for running a connector against without an account.
 *
 * REST on one port, served by libevent's evhttp on the mock's own thread
 * (which also owns the matching engine, the market feed and the 100 ms
 * depth diffs); WebSocket streams on a second port, served by
 * libwebsockets on another thread (mock_ws.h). Both bind 127.0.0.1 only.
 * See docs/mock-exchange.md for what it implements and how it misbehaves
 * on demand.
 *
 * Every function here is thread-safe: a test drives the mock from its own
 * thread while the mock serves.
 */
#ifndef LUTRA_MOCK_BINANCE_H
#define LUTRA_MOCK_BINANCE_H

#include <stddef.h>
#include <stdint.h>

#include "mock_exchange.h"

/* The key pair of Binance's signing example (rest-api.md). */
#define MOCK_BINANCE_API_KEY "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
#define MOCK_BINANCE_API_SECRET "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

typedef struct mock_binance mock_binance;

typedef struct mock_binance_options {
    int rest_port, ws_port;            /* 0: a free port each */
    const char *api_key, *api_secret;  /* NULL: MOCK_BINANCE_API_KEY / _SECRET */
    const mexch_symbol_spec *symbols;  /* listed symbols; none: BTCUSDT/BTC/USDT, or the */
    size_t nsymbols;                   /*   capture's symbol with the same filters */
    const char *data;                  /* a capture to replay for the first symbol */
    int generate;                      /* no data: 1 generates a market, 0 leaves the book */
                                       /*   to the test (mock_binance_set_level) */
    const char *mid_price;             /* the generator's mid; NULL: "60000" */
    double speed;                      /* replay/generator speed factor; <= 0: 1 */
    uint64_t seed;                     /* the generator's */
    int64_t weight_limit;              /* REQUEST_WEIGHT per minute; 0: 6000 */
    int64_t depth_interval_ms;         /* diff batching; 0: 100 */
    int ping_interval_s;               /* WebSocket pings; 0: 20 */
    int weight_interval_s;             /* REQUEST_WEIGHT window, seconds; 0: 60 (Binance's) */
} mock_binance_options;

enum mock_fault_kind {
    MOCK_FAULT_CLEAR = 0, /* undo delay, status, silent and user_down */
    MOCK_FAULT_DROP,      /* close every REST and WebSocket connection now */
    MOCK_FAULT_DELAY,     /* answer REST requests `value` ms late (0: on time) */
    MOCK_FAULT_GAP,       /* skip one depth update id: the next diff's U is u + 2 */
    MOCK_FAULT_STATUS,    /* answer the next `count` REST requests with HTTP `value` */
    MOCK_FAULT_SILENT,    /* value 1: accept connections, answer nothing; 0: resume */
    MOCK_FAULT_REJECT,    /* answer the next `count` new orders with error code `value` (its */
                          /*   sign does not matter) and its message in errors.md; rejects */
                          /*   given in turn queue up, first given first used */
                          /*   (mock_binance_reject_as: other requests, other answers) */
    MOCK_FAULT_USER_DOWN  /* value 1: the user data streams alone down (closed, refused, */
                          /*   their reports lost); 0: accepted again */
};

typedef struct mock_fault {
    int kind;   /* enum mock_fault_kind */
    long value;
    long count;
} mock_fault;

typedef struct mock_binance_stats {
    uint64_t requests;      /* REST requests received */
    uint64_t rest_connections; /* open now */
    int ws_connections;     /* open now */
    uint64_t ws_accepted;   /* WebSocket connections accepted so far */
    uint64_t ws_user_accepted; /* of them, user data streams (a listenKey) */
    int64_t weight_total;   /* REQUEST_WEIGHT counted so far, every minute's */
    uint64_t feed_messages; /* market messages applied from the feed */
    int feed_ended;
    uint64_t rate_limited;  /* 429 and 418 answers of the weight limiter (not of faults) */
    uint64_t new_orders;    /* POST /api/v3/order requests received */
    int feed_paused;
    uint64_t client_id_reuses; /* new orders reusing an earlier request's client id */
    uint64_t cancels;       /* DELETE /api/v3/order requests received */
    uint64_t listen_keys;   /* POST /api/v3/userDataStream requests received */
    uint64_t open_orders;   /* GET /api/v3/openOrders requests received */
} mock_binance_stats;

/* Start serving. @return the mock, or NULL with the reason in err. */
mock_binance *mock_binance_start(const mock_binance_options *opt, char *err, size_t errlen);
/* Close everything and free the mock. NULL is fine. */
void mock_binance_stop(mock_binance *mx);

int mock_binance_rest_port(const mock_binance *mx);
int mock_binance_ws_port(const mock_binance *mx);

/* Set an asset's free balance, a decimal string. @return 0 or -1 with err. */
int mock_binance_set_balance(mock_binance *mx, const char *asset, const char *amount,
                             char *err, size_t errlen);
/* An asset's free and locked at MEXCH_SCALE (0 when unknown). */
void mock_binance_balance(mock_binance *mx, const char *asset, int64_t *free_out,
                          int64_t *locked);

/* Set a market level of symbol (qty "0" removes it); it is published with
 * the next diff. @return 0 or -1 with err. */
int mock_binance_set_level(mock_binance *mx, const char *symbol, int is_bid, const char *price,
                           const char *qty, char *err, size_t errlen);
/* A market trade (buyer_maker: the seller was the aggressor). @return 0 or -1. */
int mock_binance_trade(mock_binance *mx, const char *symbol, const char *price,
                       const char *qty, int buyer_maker, char *err, size_t errlen);
/* Publish pending depth diffs now rather than at the next interval. */
void mock_binance_flush(mock_binance *mx);
/* Send json, as it is, to every user data stream after what is already
 * queued: a report the matching engine would not make (malformed, or one
 * told again). */
void mock_binance_user_send(mock_binance *mx, const char *json);
/* Up to limit levels of a side of symbol's published book, best first, at
 * MEXCH_SCALE, as GET /api/v3/depth shows them. @return how many (0 for
 * a symbol not listed). */
size_t mock_binance_depth(mock_binance *mx, const char *symbol, int is_bid, int64_t *prices,
                          int64_t *qtys, size_t limit);
/* Our order of symbol by its client id, copied to out. @return 0, or -1
 * when the mock has none. */
int mock_binance_order(mock_binance *mx, const char *symbol, const char *client_id,
                       mexch_order *out);
/* The last update id of symbol's book (0 when unknown). */
uint64_t mock_binance_update_id(mock_binance *mx, const char *symbol);

/* Inject a fault. @return 0, or -1 with err (an unknown kind). */
int mock_binance_fault(mock_binance *mx, const mock_fault *f, char *err, size_t errlen);
/* A fault from its name ("clear", "drop", "delay", "gap", "status",
 * "silent", "reject") and value/count texts (NULL: 0 and 1), as the control
 * endpoint takes them. @return 0 or -1 with err. */
int mock_fault_parse(const char *kind, const char *value, const char *count, mock_fault *out,
                     char *err, size_t errlen);

/* Pause the market feed (paused 1: no level changes, no trades, so no
 * fills of resting orders) or let it go on (0) where it stopped. A mock
 * without a feed ignores it. */
void mock_binance_pause_feed(mock_binance *mx, int paused);

/* The reject fault with a message of the test's: answer the next count new
 * orders with code (its sign does not matter) and msg (NULL: the code's in
 * errors.md, mock_errors.h). @return 0, or -1 with err (no message for a
 * code errors.md does not list, too many queued). */
int mock_binance_reject(mock_binance *mx, long code, long count, const char *msg, char *err,
                        size_t errlen);

/* The requests a reject answers (the control endpoint's `on`). */
enum mock_reject_on {
    MOCK_REJECT_ORDER = 0,   /* "order": POST /api/v3/order, new orders (the default) */
    MOCK_REJECT_CANCEL,      /* "cancel": DELETE /api/v3/order */
    MOCK_REJECT_LISTEN_KEY,  /* "listenKey": POST /api/v3/userDataStream */
    MOCK_REJECT_QUERY        /* "query": GET /api/v3/order, one order asked by its id */
};

/* A reject of any of those requests, answered after its weight, key and
 * signature passed, the request not carried out. Rejects queue up per
 * kind of request, first given first used. */
typedef struct mock_reject {
    int on;           /* enum mock_reject_on */
    long code;        /* an error code (its sign does not matter); 0: an answer that is not
                       * Binance's (a proxy's error page) */
    const char *msg;  /* with a code: its message (NULL: the code's in errors.md); code 0: the
                       * body, sent as it is, as text/html (NULL: a short HTML page) */
    int http_status;  /* 0: the one Binance sends the code with (400 for a code errors.md
                       * does not list); code 0 needs one, 400-599 */
    long count;       /* how many requests it answers */
} mock_reject;

/* Queue r. @return 0, or -1 with err (as mock_binance_reject; a status
 * outside 400-599, an unknown `on`). */
int mock_binance_reject_as(mock_binance *mx, const mock_reject *r, char *err, size_t errlen);

/* Forget the weight used and any IP ban. */
void mock_binance_reset_weight(mock_binance *mx);

void mock_binance_get_stats(mock_binance *mx, mock_binance_stats *out);
/* The same as one JSON object (GET /mock/stats), keys as the fields. */
void mock_binance_stats_json(const mock_binance_stats *st, char *out, size_t cap);

#endif
