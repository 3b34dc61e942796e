/*
 * binance.h -- the Binance connector's insides, shared by its files:
 * binance.c (the plugin table, configuration, symbols and instruments),
 * binance_decode.c (market-data messages to events) and binance_book.c
 * (the depth book synchronisation). Not a public header.
 *
 * One instance decodes one market: Binance spot or USD-M futures. The
 * market comes from the configuration ("market") or is learned from the
 * first message that tells them apart (USD-M depth diffs carry "pu", its
 * trades "X", its bookTicker "e").
 */
#ifndef BINANCE_H
#define BINANCE_H

#include <stddef.h>
#include <stdint.h>

#include "lutra_plugin.h"

/* Diffs kept per symbol while waiting for a snapshot: the oldest go first
 * beyond these bounds (a snapshot fetched later cannot need them). */
#define BN_PENDING_DIFFS_MAX 1000
#define BN_PENDING_LEVELS_MAX 200000

enum bn_market { BN_MARKET_AUTO = 0, BN_MARKET_SPOT, BN_MARKET_USDM };

/* One price level of a depth message, at the instrument's scales. */
typedef struct bn_level {
    int64_t price;
    int64_t qty;
    int bid;
} bn_level;

/* One depth diff message, parsed. */
typedef struct bn_diff {
    uint64_t first_id; /* U */
    uint64_t last_id;  /* u */
    uint64_t prev_id;  /* pu, when chained */
    int chained;       /* USD-M: continuity is pu == previous u */
    int64_t ts_recv;
    int64_t ts_exch;
    size_t nlevels;
    size_t level_off;  /* buffered: first level's index in bn_symbol.plevels */
} bn_diff;

typedef struct bn_symbol {
    char name[LUTRA_SYMBOL_MAX];
    int32_t instrument; /* -1 until its first price and quantity are seen */
    int price_scale;
    int size_scale;
    int depth_seen;
    /* The last trade and aggTrade ids decoded: ids only grow, so one not
     * above them is a repeat (the overlap of a planned reconnect). */
    uint64_t last_trade_id, last_agg_id;
    /* Book synchronisation (binance_book.c). */
    int synced;         /* book_id is the id of the book the events built */
    int bridging;       /* the next applied diff must straddle book_id */
    uint64_t book_id;
    bn_diff *pending;   /* diffs waiting for a snapshot, oldest first */
    size_t npending;
    size_t pending_cap;
    bn_level *plevels;  /* their levels, in the same order */
    size_t nplevels;
    size_t plevels_cap;
} bn_symbol;

struct bn_live;

typedef struct bn_conn {
    const lutra_host_api *api;
    lutra_host *host;
    json_parser *jp;
    char venue[LUTRA_VENUE_MAX];
    char snapshot_symbol[LUTRA_SYMBOL_MAX]; /* config "symbol", or "" */
    int market;                             /* enum bn_market */
    int tick_scale, lot_scale;              /* -1: from the data */
    int64_t tick, lot;
    bn_symbol **syms;
    size_t nsyms;
    size_t syms_cap;
    bn_level *scratch;                      /* levels of the message being decoded */
    size_t scratch_cap;
    struct bn_live *live;                   /* started live (binance_live.c), or NULL */
    /* lutra_plugin.warm (binance_live.c) decodes the last depth diff again
     * as a rehearsal: parsed and its levels read into scratch, then left
     * there (nothing applied, buffered or emitted). */
    int rehearsal;
    int decoded_depth;                      /* the last bn_decode was a depth diff */
} bn_conn;

/* binance.c */

/* The state of a symbol, made on first sight. @return NULL (logged) if the
 * name is empty or too long, or memory ran out. */
bn_symbol *bn_symbol_get(bn_conn *c, const char *name, size_t len);

/* The symbol a bare REST snapshot belongs to (see binance.c). */
bn_symbol *bn_symbol_for_snapshot(bn_conn *c);

/* Define s's instrument from the first price and quantity strings seen,
 * if not yet done. @return 0, or -1 (logged). */
int bn_instrument_ensure(bn_conn *c, bn_symbol *s, const char *price, size_t plen,
                         const char *qty, size_t qlen);

/* Parse a price or quantity exactly at a scale; never rounds.
 * @return 0, or -1 with the value logged. */
int bn_parse_value(bn_conn *c, const bn_symbol *s, const char *what, const char *txt,
                   size_t len, int scale, int64_t *out);

/* Make room for n levels in c->scratch. @return 0, or -1 (logged). */
int bn_scratch_reserve(bn_conn *c, size_t n);

/* Fill ev's type, size and instrument and hand it to the host.
 * @return 0, or -1 if the host refused it. */
int bn_emit(bn_conn *c, const bn_symbol *s, lutra_event *ev, uint8_t type);

/* Feed a bare REST depth body to decode as s's snapshot (live: the
 * connector knows whose it asked for). @return bn_decode's answer. */
int bn_decode_snapshot_for(bn_conn *c, bn_symbol *s, int64_t recv_ns, const char *body,
                           size_t len);

/* binance_decode.c */

int bn_decode(void *self, int64_t recv_ns, const char *msg, size_t len);

/* binance_book.c */

/* A depth diff for s (levels in lv). @return 0, or -1. */
int bn_book_diff(bn_conn *c, bn_symbol *s, const bn_diff *d, const bn_level *lv);

/* A REST snapshot for s with id last_id. ts_flags is LUTRA_F_ONE_TS when it
 * carried no time. @return 0, 1 if ignored as older than the book, or -1. */
int bn_book_snapshot(bn_conn *c, bn_symbol *s, uint64_t last_id, int64_t ts_recv,
                     int64_t ts_exch, uint8_t ts_flags, const bn_level *lv, size_t n);

/* Free the synchronisation buffers. */
void bn_book_free(bn_symbol *s);
/* The stream that fed s closed: its book can no longer be trusted (diffs
 * are being missed). It is marked unsynchronised, the instrument's
 * DISCONNECTED status emitted, and a snapshot must sync it again. */
int bn_book_lost(bn_conn *c, bn_symbol *s, int64_t ts);

/* ---- Order entry (binance_sign.c, binance_rest.c, binance_errors.c) ----
 *
 * The pure pieces of order entry: requests built into fixed buffers (no
 * allocation per order), signed the documented way, and the REST answers
 * parsed. No network I/O here: a transport sends what these build.
 * Response bodies follow the decode rule: JSON_PADDING readable bytes
 * after len. Failures return -1 with "what failed and why" in err.
 */

/* ch is in the ASCII set `map`, a bit per character (map[0]: 0-63,
 * map[1]: 64-127): the query encoder and the client id check test every
 * byte of an order this way. */
static inline int bn_char_in(const uint64_t map[2], unsigned char ch)
{
    return ch < 128 && (map[ch >> 6] >> (ch & 63) & 1);
}

#define BN_QUERY_MAX 1024
#define BN_KEY_MAX 128             /* API key and secret, NUL included */
#define BN_KEY_HEADER "X-MBX-APIKEY: "
#define BN_HEADER_MAX (BN_KEY_MAX + sizeof BN_KEY_HEADER - 1)
#define BN_CLIENT_ID_MAX 37        /* Binance takes client ids of 36 characters */
#define BN_REASON_MAX 160          /* ORDER_REASON_MAX of the engine */
#define BN_RECV_WINDOW_DEFAULT 5000
#define BN_RECV_WINDOW_MAX 60000

/* binance_sign.c */

/* A query string being built: key=value pairs joined by '&', each key and
 * value percent-encoded (RFC 3986: all but A-Z a-z 0-9 - _ . ~, bytes of
 * UTF-8 as %XX upper case), in the order added, as the docs' examples do. */
typedef struct bn_query {
    char s[BN_QUERY_MAX];
    size_t len;
    int overflow;                  /* a pair did not fit: the query is unusable */
} bn_query;

void bn_query_init(bn_query *q);
void bn_query_add(bn_query *q, const char *key, const char *val, size_t vlen);
void bn_query_add_str(bn_query *q, const char *key, const char *val);
void bn_query_add_int(bn_query *q, const char *key, int64_t v);

/* v at scale (0-18) as a decimal without trailing zeros ("0.001", "58800",
 * "-3") and a NUL in buf. Every order's quantity, price, recvWindow and
 * timestamp go through it: no printf on the order path.
 * @return its length, or -1 when cap is too small. */
int bn_format_decimal(int64_t v, int scale, char *buf, size_t cap);

/* The HMAC-SHA256 key of an API secret, held by OpenSSL; the secret is not
 * kept anywhere else. Signing reuses it: no key set-up per request. */
typedef struct bn_signer bn_signer;

/* @return a signer for secret, or NULL with the reason (never the secret). */
bn_signer *bn_signer_new(const char *secret, size_t len, char *err, size_t errlen);
void bn_signer_free(bn_signer *s);

/* HMAC-SHA256 of query ‖ body (no separator: the docs' rule for a mixed
 * request) as 64 lower-case hex digits and a NUL in hex.
 * @return 0, or -1 with the reason. */
int bn_sign(bn_signer *s, const char *query, size_t qlen, const char *body, size_t blen,
            char hex[65], char *err, size_t errlen);

/* Set the signer up for its next signature now, so that bn_sign has only
 * the request's own bytes to hash: called once a request has left, it
 * takes about half of a signature's time (more, from a cold cache) off
 * the path of the next order. bn_sign does it itself when it was not
 * done. A signer is ready when made. */
void bn_signer_prime(bn_signer *s);

/* Append recvWindow, timestamp and the signature of the whole query to q.
 * @return 0, or -1 (q overflowed, recv_window_ms outside 1..60000). */
int bn_query_sign(bn_query *q, bn_signer *s, int64_t timestamp_ms, int recv_window_ms,
                  char *err, size_t errlen);

/* binance_rest.c: requests */

/* Credentials and timing of signed requests. */
typedef struct bn_auth {
    char api_key[BN_KEY_MAX];
    bn_signer *signer;
    int recv_window_ms;            /* BN_RECV_WINDOW_DEFAULT when 0 */
    int64_t clock_offset_ms;       /* server minus local, see bn_clock_offset */
} bn_auth;

/* One REST request: method, path, query; the body is always empty (the
 * docs allow every parameter in the query string, POST included). */
typedef struct bn_request {
    const char *method;            /* "GET", "POST", "PUT", "DELETE" */
    const char *path;              /* "/api/v3/order" */
    bn_query query;
    char header[BN_HEADER_MAX];    /* "X-MBX-APIKEY: <key>", or "" */
    int weight;                    /* REQUEST_WEIGHT it costs */
    int orders;                    /* unfilled order count it adds */
    int is_signed;
} bn_request;

enum bn_side { BN_BUY = 1, BN_SELL = 2 };
enum bn_order_type { BN_LIMIT = 1, BN_MARKET = 2, BN_LIMIT_MAKER = 3 };
enum bn_tif { BN_TIF_NONE = 0, BN_GTC = 1, BN_IOC = 2, BN_FOK = 3 };
enum bn_resp_type { BN_RESP_DEFAULT = 0, BN_RESP_ACK = 1, BN_RESP_RESULT = 2, BN_RESP_FULL = 3 };

/* A new order as lutra holds it: fixed point at the symbol's scales. */
typedef struct bn_order_spec {
    const char *symbol;
    const char *client_id;         /* lutra's order id: [A-Za-z0-9_-], at most 36 */
    int side;                      /* enum bn_side */
    int type;                      /* enum bn_order_type */
    int tif;                       /* LIMIT: GTC, IOC or FOK; others: BN_TIF_NONE */
    int64_t qty;                   /* > 0, at size_scale */
    int64_t price;                 /* LIMIT, LIMIT_MAKER: > 0, at price_scale */
    int price_scale, size_scale;
    int resp_type;                 /* enum bn_resp_type; DEFAULT sends none */
} bn_order_spec;

/* Signed and keyed requests: now_ms is the local clock, the timestamp
 * sent is now_ms + a->clock_offset_ms. @return 0, or -1 with the reason. */
int bn_req_new_order(bn_request *r, const bn_auth *a, const bn_order_spec *o, int64_t now_ms,
                     char *err, size_t errlen);
int bn_req_cancel(bn_request *r, const bn_auth *a, const char *symbol, const char *client_id,
                  int64_t now_ms, char *err, size_t errlen);
/* symbol NULL: every symbol's open orders (weight 80, not 6). */
int bn_req_open_orders(bn_request *r, const bn_auth *a, const char *symbol, int64_t now_ms,
                       char *err, size_t errlen);
int bn_req_account(bn_request *r, const bn_auth *a, int64_t now_ms, char *err, size_t errlen);
/* GET /api/v3/order of client_id (weight 4). */
int bn_req_query_order(bn_request *r, const bn_auth *a, const char *symbol,
                       const char *client_id, int64_t now_ms, char *err, size_t errlen);
/* GET /api/v3/myTrades of one order (weight 5 with orderId, the docs'
 * "Account trade list"): trades with an id of at least from_id, oldest
 * first, at most limit (1..BN_MY_TRADES_MAX). */
#define BN_MY_TRADES_MAX 1000
int bn_req_my_trades(bn_request *r, const bn_auth *a, const char *symbol, int64_t order_id,
                     int64_t from_id, int limit, int64_t now_ms, char *err, size_t errlen);
int bn_req_listen_key_create(bn_request *r, const bn_auth *a, char *err, size_t errlen);
int bn_req_listen_key_keepalive(bn_request *r, const bn_auth *a, const char *listen_key,
                                char *err, size_t errlen);
/* Public requests. exchangeInfo: nsymbols 0 asks for every symbol. */
int bn_req_exchange_info(bn_request *r, const char *const *symbols, size_t nsymbols, char *err,
                         size_t errlen);
int bn_req_depth(bn_request *r, const char *symbol, int limit, char *err, size_t errlen);
int bn_req_server_time(bn_request *r, char *err, size_t errlen);

/* The request for a log line or an error: method, path and query with the
 * signature's value left out. @return the length written (truncated to cap). */
size_t bn_request_describe(const bn_request *r, char *buf, size_t cap);

/* binance_rest.c: responses */

/* A decimal exactly as Binance wrote it: value at its own smallest scale.
 * Responses are parsed so, without needing the symbol's scales. */
typedef struct bn_amount {
    int64_t v;
    int scale;
} bn_amount;

/* a at another scale, exactly. @return 0, or -1 if a digit would be lost
 * or the value overflows. */
int bn_amount_rescale(bn_amount a, int scale, int64_t *out);

/* exchangeInfo's symbol, as an instrument definition and its state. */
typedef struct bn_symbol_info {
    lutra_instrument def;          /* increments, min_qty, min_notional set */
    int trading;                   /* status is TRADING */
} bn_symbol_info;

typedef int (*bn_symbol_info_fn)(void *ud, const bn_symbol_info *info);

enum bn_order_status {
    BN_ST_UNKNOWN = 0,             /* an ACK response says none */
    BN_ST_NEW, BN_ST_PENDING_NEW, BN_ST_PARTIALLY_FILLED, BN_ST_FILLED, BN_ST_CANCELED,
    BN_ST_PENDING_CANCEL, BN_ST_REJECTED, BN_ST_EXPIRED, BN_ST_EXPIRED_IN_MATCH
};

/* An order response (new, cancel, query, one of open orders). Fields that
 * the response type leaves out are zero (ACK: no status, no quantities). */
typedef struct bn_order_state {
    char symbol[LUTRA_SYMBOL_MAX];
    char client_id[BN_CLIENT_ID_MAX];      /* clientOrderId */
    char orig_client_id[BN_CLIENT_ID_MAX]; /* cancels: the order canceled */
    int64_t order_id;
    int64_t time_ms;               /* transactTime, else updateTime, else 0 */
    int status;                    /* enum bn_order_status */
    int side, type, tif;           /* enums above; 0 if absent or other */
    bn_amount price, orig_qty, executed_qty, cum_quote_qty;
    size_t nfills;
} bn_order_state;

typedef struct bn_fill {
    bn_amount price, qty, commission;
    char commission_asset[LUTRA_ASSET_MAX];
    int64_t trade_id;
} bn_fill;

/* One trade of the account (myTrades). */
typedef struct bn_trade {
    bn_fill fill;                  /* price, qty, commission and its asset, trade id */
    int64_t order_id;
    int64_t time_ms;
    int is_buyer, is_maker;
} bn_trade;

typedef int (*bn_fill_fn)(void *ud, const bn_order_state *o, const bn_fill *f);
typedef int (*bn_trade_fn)(void *ud, const bn_trade *t);
typedef int (*bn_order_fn)(void *ud, const bn_order_state *o);
typedef int (*bn_balance_fn)(void *ud, const char *asset, bn_amount free_, bn_amount locked);

/* A callback returning non-zero stops a parse, which then returns -1. */

struct bn_ratelimit;

/* exchangeInfo: each symbol to fn (venue c->venue, kind spot); its
 * rateLimits replace rl's limits when rl is given and the list is not
 * empty. @return 0, or -1 with the reason. */
int bn_parse_exchange_info(bn_conn *c, const char *body, size_t len, bn_symbol_info_fn fn,
                           void *ud, struct bn_ratelimit *rl, char *err, size_t errlen);
/* An order object (ACK, RESULT, FULL, cancel, query); FULL's fills go to
 * fill_fn (may be NULL) in order. */
int bn_parse_order(bn_conn *c, const char *body, size_t len, bn_order_state *o,
                   bn_fill_fn fill_fn, void *ud, char *err, size_t errlen);
int bn_parse_open_orders(bn_conn *c, const char *body, size_t len, bn_order_fn fn, void *ud,
                         char *err, size_t errlen);
/* myTrades: each trade to fn, in order. */
int bn_parse_my_trades(bn_conn *c, const char *body, size_t len, bn_trade_fn fn, void *ud,
                       char *err, size_t errlen);
int bn_parse_account(bn_conn *c, const char *body, size_t len, bn_balance_fn fn, void *ud,
                     char *err, size_t errlen);
int bn_parse_server_time(bn_conn *c, const char *body, size_t len, int64_t *server_ms,
                         char *err, size_t errlen);
int bn_parse_listen_key(bn_conn *c, const char *body, size_t len, char *key, size_t cap,
                        char *err, size_t errlen);
/* An error body {"code":-2010,"msg":".."}: msg truncated to cap. */
int bn_parse_error(bn_conn *c, const char *body, size_t len, int *code, char *msg, size_t cap,
                   char *err, size_t errlen);

/* The lutra name of a status: "new", "partially_filled", "filled",
 * "canceled", "rejected", "expired", "pending_new", "pending_cancel";
 * NULL for BN_ST_UNKNOWN. */
const char *bn_order_status_name(int status);
/* A status as Binance writes it ("EXPIRED_IN_MATCH"): enum bn_order_status,
 * BN_ST_UNKNOWN for one it is not. */
int bn_order_status_parse(const char *s);

/* Server minus local clock, from a time request sent at sent_ms and
 * answered at recv_ms (local): the server read its clock midway. */
int64_t bn_clock_offset(int64_t sent_ms, int64_t recv_ms, int64_t server_ms);

/* binance_rest.c: rate limits */

enum bn_limit_kind { BN_LIMIT_WEIGHT = 1, BN_LIMIT_ORDERS = 2, BN_LIMIT_RAW = 3 };

#define BN_LIMITERS_MAX 8

/* How far a request's time on the server may be from the time it is
 * counted at (the server clock as bn_clock_offset estimates it): earlier,
 * by the estimate's error; later, by that and the request's way there. A
 * request counts against every window its time on the server may fall
 * in, and waits until it fits all of them, so that one sent just before a
 * window's end cannot make the next window overflow on the server. */
#define BN_RATE_EARLY_MS 100
#define BN_RATE_LATE_MS 250

/* One limiter: at most `limit` per fixed window of interval_ms (windows
 * start at multiples of the interval since the epoch, on the server
 * clock). It counts in the two windows a request may reach. */
typedef struct bn_limiter {
    int kind;                      /* enum bn_limit_kind */
    int64_t interval_ms;
    int64_t limit;
    int64_t used[2];               /* counted in window[i] */
    int64_t window[2];             /* window indexes; -1: none */
} bn_limiter;

typedef struct bn_ratelimit {
    bn_limiter lim[BN_LIMITERS_MAX];
    size_t n;
    int64_t backoff_until_ms;      /* after a 429 or 418: no request before */
} bn_ratelimit;

/* The documented defaults: 6000 weight a minute, 10 orders a second,
 * 61000 raw requests in 5 minutes (until exchangeInfo says otherwise). */
void bn_ratelimit_init(bn_ratelimit *rl);
/* Add or replace the limiter of (kind, interval). @return 0, -1 if full. */
int bn_ratelimit_set(bn_ratelimit *rl, int kind, int64_t interval_ms, int64_t limit);
/* Account for a request about to leave (its weight, its orders), in every
 * window it may reach (now_ms - BN_RATE_EARLY_MS .. + BN_RATE_LATE_MS).
 * now_ms, here and below, is the server's clock as estimated here. */
void bn_ratelimit_spend(bn_ratelimit *rl, int weight, int orders, int64_t now_ms);
/* A response header: X-MBX-USED-WEIGHT-<n><S|M|H|D> or
 * X-MBX-ORDER-COUNT-<n><S|M|H|D> (name matched case-insensitively) sets
 * the matching limiter's count. @return 1 if used, 0 if not such a header
 * or no limiter has its interval, -1 if its value is not a count. */
int bn_ratelimit_header(bn_ratelimit *rl, const char *name, size_t nlen, const char *value,
                        size_t vlen, int64_t now_ms);
/* How long to wait, in ms, before a request of this weight and order count
 * stays within every limit in every window it may reach (0: send now), the
 * back-off included; -1 if it can never fit (heavier than a limit). */
int64_t bn_ratelimit_wait(const bn_ratelimit *rl, int weight, int orders, int64_t now_ms);
/* A 429 or 418 answer: no request before now + Retry-After seconds
 * (retry_after NULL or not a number: 60 s for a 429, 120 s for a 418,
 * the shortest ban). The deadline never moves earlier.
 * @return the deadline in ms, or 0 if status is neither. */
int64_t bn_ratelimit_backoff(bn_ratelimit *rl, int http_status, const char *retry_after,
                             size_t len, int64_t now_ms);

/* binance_errors.c */

/* What a failed request means for the order it carried. */
enum bn_error_class {
    BN_ERR_RETRY = 1,              /* not done: try again later (rate, overload) */
    BN_ERR_REJECTED = 2,           /* refused for good: the order is rejected */
    BN_ERR_UNKNOWN_ORDER = 3,      /* the venue knows no such order */
    BN_ERR_AUTH = 4,               /* key, signature or permissions: stop trading */
    BN_ERR_CLOCK = 5,              /* timestamp outside recvWindow: resync time, retry */
    BN_ERR_OUTCOME_UNKNOWN = 6     /* may have executed: reconcile, never resend */
};

/* The documented name of a code ("NEW_ORDER_REJECTED"), or NULL. */
const char *bn_error_name(int code);
/* The class of an error answer (code and its msg). */
int bn_error_class(int code, const char *msg);
/* The class of an HTTP status without a usable body: 429/418 retry,
 * 5xx outcome unknown, 401/403 auth, other 4xx rejected; 0 for 2xx. */
int bn_http_class(int status);
/* The rejection reason lutra shows: "binance -2010 NEW_ORDER_REJECTED:
 * Account has insufficient balance for requested action." (msg, or the
 * code's documented text when msg is empty; filter failures explained).
 * @return the length written (truncated to cap). */
size_t bn_error_reason(int code, const char *msg, char *buf, size_t cap);
/* The class's name: "retry", "rejected", "unknown_order", "auth", "clock",
 * "outcome_unknown". */
const char *bn_error_class_name(int cls);

/* binance_recent.c: the last keys seen, each with a byte of flags. The
 * user stream and the REST answers tell of the same order or trade, and
 * the engine must hear of it once. A key is found by its hash: a scan of
 * the 1,024 kept read 34 KB for every report, the whole L1 data cache,
 * which the next book update then found cold. When all are taken, a new
 * key takes the oldest's place. Zeroed memory is an empty set. */
#define BN_RECENT_MAX 1024
#define BN_RECENT_KEY_MAX LUTRA_ORDER_ID_MAX

typedef struct bn_recent_entry {
    uint8_t key[BN_RECENT_KEY_MAX];
    uint8_t len; /* 0: free */
    uint8_t flags;
} bn_recent_entry;

typedef struct bn_recent {
    bn_recent_entry entry[BN_RECENT_MAX];
    uint16_t bucket[2 * BN_RECENT_MAX]; /* 1 + the first entry of a hash's chain; 0: none */
    uint16_t chain[BN_RECENT_MAX];      /* 1 + the next entry of the same chain; 0: none */
    size_t next;                        /* the entry the next new key takes */
} bn_recent;

/* The flags of key (1..BN_RECENT_KEY_MAX bytes), added with none set if
 * it was not there. NULL for a key of another length. */
uint8_t *bn_recent_flags(bn_recent *r, const void *key, size_t len);

/* binance_live.c: the plugin's live entries (lutra_plugin.h) */

int bn_live_start(void *self);
int bn_live_stop(void *self);
int bn_live_submit(void *self, const lutra_order *o);
int bn_live_cancel(void *self, const lutra_order *o);
int bn_live_query_orders(void *self);
int bn_live_query_balances(void *self);
int bn_live_query_order(void *self, const lutra_order *o);
/* lutra_plugin.warm: decode the last depth diff again without applying
 * it, and sign an order that is never sent. */
void bn_live_warm(void *self);
/* Stop, and free the live state. */
void bn_live_free(bn_conn *c);

#endif
