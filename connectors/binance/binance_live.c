/*
 * binance_live.c -- the Binance connector live: the REST calls and the two
 * WebSocket streams that keep books synchronised and orders reported.
 *
 * start():
 *   GET /api/v3/time (the clock offset for signed requests and report
 *   times), GET /api/v3/exchangeInfo for the configured symbols (each one
 *   defines its instrument from the filters), then the combined market
 *   stream <sym>@depth@100ms/<sym>@trade/<sym>@bookTicker. Every market
 *   message goes to the same decode as a capture. Once the stream is open,
 *   each symbol's GET /api/v3/depth?limit=1000 is fed to decode as its
 *   snapshot; a symbol whose book falls out of step (a gap, a stale
 *   snapshot) gets a new one. With keys: POST /api/v3/userDataStream and
 *   the user stream ws_url/ws/<listenKey>, kept alive every 30 minutes;
 *   while it is down after having been up the venue is DISCONNECTED, so
 *   the host reconciles it once it is back (a fill during the drop is not
 *   missed). Each stream's connection is replaced by a planned reconnect
 *   before Binance's 24-hour limit (ws_max_age_s).
 *
 * query_order: GET /api/v3/order by lutra's id, then the order's trades
 * (GET /api/v3/myTrades) as FILLs, then the STATUS that ends the answer.
 *
 * The venue's state (emit_state) is what stands in the way of trading,
 * worst first: trading stopped (the venue refused the key, its signature
 * or the account's permissions on a signed request), exchangeInfo not in,
 * the market stream down, with keys the user data stream lost after it
 * was up (DISCONNECTED) or not up yet (fills would be learned only by
 * reconciliation), a book waiting for its snapshot. READY
 * when nothing does; the engine refuses orders with the reason otherwise.
 *
 * Every REST call goes through one FIFO queue: the weight tracker
 * (binance_rest.c) says when a call may leave, a 429/418 sets a back-off,
 * and a call that must wait waits on a timer, never in a loop. A call with
 * none queued ahead of it that the weight allows leaves at once, from the
 * call that made it (an order from submit, with no loop turn between);
 * the others are sent by the pump, from a timer, in order. Signed calls
 * are built when they leave, so a delayed one carries a fresh timestamp.
 * Nothing reports from inside submit or cancel: a call refused before it
 * leaves is reported by the pump. Calls come from a pool of slots, kept
 * between calls, so the steady state allocates nothing.
 *
 * A fill or state heard both in a REST answer and on the user stream is
 * reported once: trades (symbol, trade id, side) and order states seen
 * lately are remembered in two small rings.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binance.h"

#define LIVE_SYMBOLS_MAX 64
#define LIVE_URL_MAX 256
#define LIVE_DEPTH_LIMIT 1000
#define LIVE_LISTEN_KEY_MAX 128
#define LIVE_WHY_MAX 256 /* why the venue is not ready, for people */
#define MS_NS INT64_C(1000000)
#define KEEPALIVE_MS (30 * 60 * 1000)
#define SNAPSHOT_RETRY_MS 500
#define SETUP_RETRY_MS 5000
/* Binance closes a WebSocket connection after 24 hours: each one is
 * replaced by a planned reconnect before, at this age (ws_max_age_s). */
#define WS_MAX_AGE_DEFAULT_MS (INT64_C(84600) * 1000)
#define WS_MAX_AGE_LIMIT_MS (INT64_C(86400) * 1000)
#define WS_AGE_RETRY_MS 60000 /* a planned reconnect still under way: try again */
#define SPARE_CALLS_MAX 64     /* call slots kept for reuse; more are freed */
#define UNKNOWN_ASK_MS 1000    /* how long the venue gets to take such an order */
#define UNKNOWN_ASK_MAX_MS 60000 /* the longest wait before asking again */

enum call_kind {
    CALL_TIME = 1,
    CALL_EXCHANGE_INFO,
    CALL_DEPTH,
    CALL_LISTEN_KEY,
    CALL_KEEPALIVE,
    CALL_NEW_ORDER,
    CALL_CANCEL,
    CALL_OPEN_ORDERS,
    CALL_ACCOUNT,
    CALL_QUERY_ORDER,
    CALL_MY_TRADES
};

static const char *const call_names[] = {
    "", "server time", "exchangeInfo", "depth snapshot", "listenKey", "listenKey keepalive",
    "new order", "cancel", "open orders", "account", "query order", "order's trades",
};

typedef struct bn_live bn_live;

/* One REST call, queued then in flight. */
typedef struct bn_call {
    struct bn_call *prev, *next;
    bn_live *L;
    int kind;          /* enum call_kind */
    int queued;        /* not sent yet */
    size_t sym;        /* DEPTH and the order calls: index in L->syms */
    uint64_t http_id;  /* in flight */
    int64_t sent_ms;
    bn_request req;
    lutra_order order; /* NEW_ORDER, CANCEL, QUERY_ORDER, MY_TRADES */
    char local_err[256]; /* refused before it left: reported from the queue */
    /* MY_TRADES: the order as QUERY_ORDER found it, the next page's first
     * trade id, and the size its trades reported so far add up to. */
    bn_order_state state;
    int64_t from_trade_id;
    int64_t trades_qty;
    /* QUERY_ORDER, MY_TRADES asking about an order whose submit got no
     * clear answer: the wait before asking again if this try fails. */
    int64_t outcome_wait_ms;
} bn_call;

typedef struct live_sym {
    bn_live *L;
    bn_symbol *s;
    int snapshot_wanted; /* a depth call queued or in flight, or its retry timer */
    uint64_t retry_timer;
    int was_synced;
} live_sym;

/* An order's flags in bn_live.orders. */
enum { ORDER_ACCEPTED = 1, ORDER_DONE = 2 };

/* An order whose submit got no clear answer (a timeout, a 5xx): asked
 * about by its id a little later, on a timer of its own. */
typedef struct live_unknown {
    struct live_unknown *prev, *next;
    bn_live *L;
    lutra_order order;
    size_t sym;
    int64_t wait_ms; /* how long it waits for this ask */
    uint64_t timer;
} live_unknown;

/* A stream's age: at ws_max_age_ms it is replaced by a planned reconnect. */
typedef struct stream_age {
    struct bn_live *L;
    lutra_ws **ws;     /* &L->market_ws or &L->user_ws */
    const char *name;
    uint64_t timer;
} stream_age;

struct bn_live {
    bn_conn *c;
    const lutra_host_api *api;
    lutra_host *h;
    char rest_url[LIVE_URL_MAX];
    char ws_url[LIVE_URL_MAX];
    live_sym syms[LIVE_SYMBOLS_MAX];
    size_t nsyms;
    int defined;       /* exchangeInfo defined every symbol */
    bn_auth auth;
    int keyed;
    bn_ratelimit rl;
    bn_call *head, *tail;
    size_t nqueued;    /* calls in the queue not sent yet */
    bn_call *spare;    /* free call slots (linked by next) */
    size_t nspare;
    uint64_t kick_timer;
    uint64_t setup_timer;
    uint64_t keepalive_timer;
    live_unknown *unknown; /* orders waiting to be asked about */
    lutra_ws *market_ws, *user_ws;
    int64_t ws_max_age_ms;
    stream_age market_age, user_age;
    int market_open;
    int user_opened;   /* the user stream opened once: later opens are reconnects */
    int user_up;       /* the user stream is open: fills are heard as they happen */
    char listen_key[LIVE_LISTEN_KEY_MAX];
    char stream_key[LIVE_LISTEN_KEY_MAX]; /* the key user_ws was opened with */
    /* What keeps the venue from READY (venue_update), each "" when nothing. */
    char setup_why[LIVE_WHY_MAX];   /* exchangeInfo is not in */
    char market_why[LIVE_WHY_MAX];  /* the market stream closed ("" before it first opened) */
    char user_why[LIVE_WHY_MAX];    /* the user stream is not up */
    char user_logged[LIVE_WHY_MAX]; /* its last set-up failure logged (each kind once) */
    char halted[LIVE_WHY_MAX];      /* "binance: trading stopped: ..." */
    int feed_state;    /* the last emit_state, and its reason */
    char feed_reason[LIVE_WHY_MAX + 64];
    bn_recent orders; /* by client order id: ORDER_ACCEPTED | ORDER_DONE reported */
    bn_recent trades; /* by symbol and trade id: its fill reported */
    char *warm_msg;   /* the last depth diff, JSON_PADDING after it: bn_live_warm's */
    size_t warm_len, warm_cap;
};

static void pump(bn_live *L);
static void call_fail(bn_call *k, int cls, const char *reason);
static void age_arm(stream_age *a);
static void age_arm_in(stream_age *a, int64_t ms);
static void age_stop(stream_age *a);

static int64_t now_ms(bn_live *L)
{
    return L->api->now(L->h) / MS_NS;
}

/* The server's clock as we estimate it: the rate limits' windows are its. */
static int64_t server_now_ms(bn_live *L)
{
    return now_ms(L) + L->auth.clock_offset_ms;
}

/* ---- Dedup of reports ---- */

/* Set flag on order id. @return 1 if it was not set (report it), else 0. */
static int order_mark(bn_live *L, const char *id, uint8_t flag)
{
    /* The oldest of BN_RECENT_MAX is forgotten: at worst it is reported
     * twice, 1,024 newer orders later. An id too long to keep (the engine
     * makes none) is reported each time. */
    uint8_t *flags = bn_recent_flags(&L->orders, id, strlen(id));

    if (flags && (*flags & flag))
        return 0;
    if (flags)
        *flags |= flag;
    return 1;
}

/*
 * Whether our side's fill of (sym, trade id) was reported lately: non-zero
 * once it was. Both sides of a trade between two of the account's orders
 * (no self-trade prevention) carry the same trade id: the side tells the
 * two fills apart. Set it only when the fill is reported: a fill refused (a
 * field malformed, or not at the instrument's scales) is not taken as
 * told, so that another report of the trade, whole, still gets through.
 */
static uint8_t *trade_reported(bn_live *L, size_t sym, int side, int64_t id)
{
    uint8_t key[sizeof(uint64_t) + sizeof id];
    uint64_t sym64 = (uint64_t)sym << 1 | (side == LUTRA_SIDE_SELL);

    memcpy(key, &sym64, sizeof sym64);
    memcpy(key + sizeof sym64, &id, sizeof id);
    return bn_recent_flags(&L->trades, key, sizeof key);
}

/* ---- Symbols ---- */

static live_sym *sym_by_name(bn_live *L, const char *name, size_t len)
{
    for (size_t i = 0; i < L->nsyms; i++)
        if (strncmp(L->syms[i].s->name, name, len) == 0 && L->syms[i].s->name[len] == '\0')
            return &L->syms[i];
    return NULL;
}

static live_sym *sym_by_instrument(bn_live *L, uint32_t id)
{
    for (size_t i = 0; i < L->nsyms; i++)
        if (L->syms[i].s->instrument >= 0 && (uint32_t)L->syms[i].s->instrument == id)
            return &L->syms[i];
    return NULL;
}

/* ---- Reports ---- */

static void exec_init(lutra_exec *x, int kind, const char *id, int64_t ts)
{
    memset(x, 0, sizeof *x);
    x->kind = (uint8_t)kind;
    x->ts = ts;
    snprintf(x->order_id, sizeof x->order_id, "%s", id);
}

static void exec_emit(bn_live *L, lutra_exec *x, const live_sym *ls)
{
    if (ls)
        x->instrument = (uint32_t)ls->s->instrument;
    L->api->emit_exec(L->h, x);
}

/* A kind that happens once per order (ACCEPTED, or one of the ends). */
static void report_state(bn_live *L, const live_sym *ls, int kind, const char *id,
                         int64_t venue_id, int64_t ts, const char *reason)
{
    lutra_exec x;
    uint8_t flag = kind == LUTRA_EXEC_ACCEPTED ? ORDER_ACCEPTED : ORDER_DONE;

    if (!id[0] || !order_mark(L, id, flag))
        return;
    exec_init(&x, kind, id, ts);
    if (venue_id > 0)
        snprintf(x.venue_order_id, sizeof x.venue_order_id, "%" PRId64, venue_id);
    if (reason)
        snprintf(x.reason, sizeof x.reason, "%s", reason);
    exec_emit(L, &x, ls);
}

static int64_t ms_or_now(bn_live *L, int64_t ms)
{
    return ms > 0 ? ms * MS_NS : L->api->now(L->h);
}

/* ---- The venue's state ---- */

/* Told once per change of the state or of its reason: the reason is what
 * the engine refuses orders with. */
static void feed_state(bn_live *L, int state, const char *reason)
{
    if (state == L->feed_state && strcmp(reason, L->feed_reason) == 0)
        return;
    L->feed_state = state;
    snprintf(L->feed_reason, sizeof L->feed_reason, "%s", reason);
    L->api->emit_state(L->h, state, reason);
}

/* The venue's state from what stands in the way of trading, worst first
 * (see the top of this file). */
static void venue_update(bn_live *L)
{
    char why[sizeof L->feed_reason];
    size_t synced = 0;

    for (size_t i = 0; i < L->nsyms; i++)
        synced += (size_t)L->syms[i].s->synced;
    if (L->halted[0]) {
        feed_state(L, LUTRA_FEED_DISCONNECTED, L->halted);
    } else if (!L->defined) {
        feed_state(L, L->setup_why[0] ? LUTRA_FEED_DISCONNECTED : LUTRA_FEED_CONNECTING,
                   L->setup_why[0] ? L->setup_why : "asking exchangeInfo");
    } else if (!L->market_open) {
        feed_state(L, L->market_why[0] ? LUTRA_FEED_DISCONNECTED : LUTRA_FEED_CONNECTING,
                   L->market_why[0] ? L->market_why : "opening the market stream");
    } else if (L->keyed && !L->user_up && !L->user_opened) {
        snprintf(why, sizeof why, "binance: no user data stream yet: %s", L->user_why);
        feed_state(L, LUTRA_FEED_SYNCING, why);
    } else if (L->keyed && !L->user_up) {
        /* Reports sent while it is down are lost: DISCONNECTED has the
         * host reconcile the venue once it is READY again. */
        snprintf(why, sizeof why, "binance: user data stream lost: %s", L->user_why);
        feed_state(L, LUTRA_FEED_DISCONNECTED, why);
    } else if (synced < L->nsyms) {
        feed_state(L, LUTRA_FEED_SYNCING, "waiting for depth snapshots");
    } else {
        feed_state(L, LUTRA_FEED_READY, "every book synchronised");
    }
}

/* An error reason without the "binance " it starts with, for a reason that
 * names the connector already ("binance: trading stopped: -2015 ..."). */
static const char *error_text(const char *reason)
{
    return strncmp(reason, "binance ", 8) == 0 ? reason + 8 : reason;
}

static void snapshot_request(bn_live *L, live_sym *ls);

/* After decode: a book that fell out of step wants a snapshot; then the
 * venue's state. */
static void check_sync(bn_live *L)
{
    for (size_t i = 0; i < L->nsyms; i++) {
        live_sym *ls = &L->syms[i];
        if (ls->was_synced && !ls->s->synced)
            snapshot_request(L, ls);
        ls->was_synced = ls->s->synced;
    }
    venue_update(L);
}

/* ---- The REST queue ---- */

static void call_unlink(bn_live *L, bn_call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        L->head = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        L->tail = k->prev;
    if (k->queued)
        L->nqueued--;
}

/* Out of the queue, its slot kept for the next call (up to SPARE_CALLS_MAX). */
static void call_free(bn_call *k)
{
    bn_live *L = k->L;

    call_unlink(L, k);
    if (L->nspare == SPARE_CALLS_MAX) {
        free(k);
        return;
    }
    k->next = L->spare;
    L->spare = k;
    L->nspare++;
}

static void spare_free(bn_live *L)
{
    while (L->spare) {
        bn_call *k = L->spare;
        L->spare = k->next;
        free(k);
    }
    L->nspare = 0;
}

/* A slot for a new call, spare or new, its fields as a fresh call has
 * them (the request is built when it leaves). @return NULL: out of memory. */
static bn_call *call_take(bn_live *L)
{
    bn_call *k = L->spare;

    if (!k)
        return calloc(1, sizeof *k);
    L->spare = k->next;
    L->nspare--;
    k->http_id = 0;
    k->sent_ms = 0;
    k->local_err[0] = '\0';
    memset(&k->order, 0, sizeof k->order);
    memset(&k->state, 0, sizeof k->state);
    k->from_trade_id = 0;
    k->trades_qty = 0;
    k->outcome_wait_ms = 0;
    return k;
}

static void kick(void *ud)
{
    bn_live *L = ud;
    L->kick_timer = 0;
    pump(L);
}

static void schedule_pump(bn_live *L, int64_t delay_ms)
{
    if (!L->kick_timer)
        L->kick_timer = L->api->timer_add(L->h, delay_ms * MS_NS, 0, kick, L);
}

/* Queue a call without starting it (call_start does), so the caller can
 * fill in more first. @return it, or NULL (out of memory, logged). */
static bn_call *call_queue(bn_live *L, int kind, size_t sym, const lutra_order *o)
{
    bn_call *k = call_take(L);
    if (!k) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "out of memory queueing a %s request",
                    call_names[kind]);
        return NULL;
    }
    k->L = L;
    k->kind = kind;
    k->sym = sym;
    k->queued = 1;
    if (o)
        k->order = *o;
    k->prev = L->tail;
    k->next = NULL;
    if (L->tail)
        L->tail->next = k;
    else
        L->head = k;
    L->tail = k;
    L->nqueued++;
    return k;
}

static void call_start(bn_call *k);

/* Queue a call and start it. @return it, or NULL (out of memory, logged). */
static bn_call *call_add(bn_live *L, int kind, size_t sym, const lutra_order *o)
{
    bn_call *k = call_queue(L, kind, sym, o);
    if (k)
        call_start(k);
    return k;
}

static int order_spec(bn_call *k, bn_order_spec *sp, char *err, size_t errlen)
{
    const lutra_order *o = &k->order;
    const bn_symbol *s = k->L->syms[k->sym].s;

    memset(sp, 0, sizeof *sp);
    sp->symbol = s->name;
    sp->client_id = o->id;
    sp->side = o->side == LUTRA_SIDE_SELL ? BN_SELL : BN_BUY;
    sp->qty = o->qty;
    sp->price = o->price;
    sp->price_scale = s->price_scale;
    sp->size_scale = s->size_scale;
    sp->resp_type = BN_RESP_FULL;
    if (o->type == LUTRA_TYPE_MARKET) {
        sp->type = BN_MARKET;
        sp->price = 0;
        return 0;
    }
    if (o->type != LUTRA_TYPE_LIMIT) {
        snprintf(err, errlen, "binance: %s orders are not supported (limit and market only)",
                 o->type == LUTRA_TYPE_STOP ? "stop" : "stop-limit");
        return -1;
    }
    static const int tifs[] = {BN_GTC, BN_IOC, BN_FOK, BN_TIF_NONE};
    sp->type = o->tif == LUTRA_TIF_POST_ONLY ? BN_LIMIT_MAKER : BN_LIMIT;
    sp->tif = o->tif < 4 ? tifs[o->tif] : BN_GTC;
    return 0;
}

/* Build k's request as it leaves now. @return 0, or -1 with err. */
static int call_build(bn_call *k, int64_t now, char *err, size_t errlen)
{
    bn_live *L = k->L;
    bn_request *r = &k->req;
    const char *syms[LIVE_SYMBOLS_MAX];
    bn_order_spec sp;

    switch (k->kind) {
    case CALL_TIME:
        return bn_req_server_time(r, err, errlen);
    case CALL_EXCHANGE_INFO:
        for (size_t i = 0; i < L->nsyms; i++)
            syms[i] = L->syms[i].s->name;
        return bn_req_exchange_info(r, syms, L->nsyms, err, errlen);
    case CALL_DEPTH:
        return bn_req_depth(r, L->syms[k->sym].s->name, LIVE_DEPTH_LIMIT, err, errlen);
    case CALL_LISTEN_KEY:
        return bn_req_listen_key_create(r, &L->auth, err, errlen);
    case CALL_KEEPALIVE:
        return bn_req_listen_key_keepalive(r, &L->auth, L->listen_key, err, errlen);
    case CALL_NEW_ORDER:
        if (order_spec(k, &sp, err, errlen) != 0)
            return -1;
        return bn_req_new_order(r, &L->auth, &sp, now, err, errlen);
    case CALL_CANCEL:
        return bn_req_cancel(r, &L->auth, L->syms[k->sym].s->name, k->order.id, now, err,
                             errlen);
    case CALL_OPEN_ORDERS:
        return bn_req_open_orders(r, &L->auth, NULL, now, err, errlen);
    case CALL_ACCOUNT:
        return bn_req_account(r, &L->auth, now, err, errlen);
    case CALL_QUERY_ORDER:
        return bn_req_query_order(r, &L->auth, L->syms[k->sym].s->name, k->order.id, now, err,
                                  errlen);
    case CALL_MY_TRADES:
        return bn_req_my_trades(r, &L->auth, L->syms[k->sym].s->name, k->state.order_id,
                                k->from_trade_id, BN_MY_TRADES_MAX, now, err, errlen);
    }
    snprintf(err, errlen, "unknown call kind %d", k->kind);
    return -1;
}

static void on_http(void *ud, const lutra_http_response *resp);

/* base ‖ path [‖ "?" ‖ query], cut to cap - 1 bytes (none is that long:
 * the URL's parts are bounded) and NUL-terminated, without snprintf: it
 * runs for every order. */
static void url_join(char *url, size_t cap, const char *base, const char *path,
                     const char *query)
{
    const char *parts[] = {base, path, query ? "?" : "", query ? query : ""};
    size_t n = 0;

    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        size_t len = strnlen(parts[i], cap - 1 - n);
        memcpy(url + n, parts[i], len);
        n += len;
    }
    url[n] = '\0';
}

/* Hand k's built request to the host's HTTP client. @return 0 (in
 * flight), or -1 with err (still queued: the pump reports it). */
static int call_send(bn_call *k, int64_t now, char *err, size_t errlen)
{
    bn_live *L = k->L;
    char url[LIVE_URL_MAX + BN_QUERY_MAX + 64];
    const char *headers[1] = {k->req.header};
    lutra_http_request hr;

    url_join(url, sizeof url, L->rest_url, k->req.path, k->req.query.len ? k->req.query.s : NULL);
    memset(&hr, 0, sizeof hr);
    hr.method = k->req.method;
    hr.url = url;
    hr.headers = headers;
    hr.nheaders = k->req.header[0] ? 1 : 0;
    bn_ratelimit_spend(&L->rl, k->req.weight, k->req.orders, now + L->auth.clock_offset_ms);
    k->sent_ms = now;
    k->http_id = L->api->http_request(L->h, &hr, on_http, k);
    if (L->auth.signer)
        bn_signer_prime(L->auth.signer); /* for the next request, off this one's path */
    if (k->http_id) {
        k->queued = 0;
        L->nqueued--;
        return 0;
    }
    snprintf(err, errlen, "%s: the HTTP client refused the request", call_names[k->kind]);
    return -1;
}

enum { TRY_SENT, TRY_WAIT, TRY_REFUSED };

/* Build queued call k as it leaves now and send it if the weight allows.
 * Reports nothing. @return TRY_SENT; TRY_WAIT with *wait_ms (it stays
 * queued); or TRY_REFUSED, the reason in k->local_err (still queued, for
 * the pump to report). */
static int call_try(bn_call *k, int64_t *wait_ms)
{
    bn_live *L = k->L;
    int64_t now = now_ms(L), wait;

    /* Trading stopped: an order or a cancel would be refused the same way. */
    if (L->halted[0] && !k->local_err[0] && (k->kind == CALL_NEW_ORDER || k->kind == CALL_CANCEL))
        snprintf(k->local_err, sizeof k->local_err, "%s", L->halted);
    if (k->local_err[0] || call_build(k, now, k->local_err, sizeof k->local_err) != 0)
        return TRY_REFUSED;

    wait = bn_ratelimit_wait(&L->rl, k->req.weight, k->req.orders,
                             now + L->auth.clock_offset_ms);
    if (wait < 0) {
        snprintf(k->local_err, sizeof k->local_err,
                 "%s: weight %d can never fit the rate limits", call_names[k->kind],
                 k->req.weight);
        return TRY_REFUSED;
    }
    if (wait > 0) {
        *wait_ms = wait;
        return TRY_WAIT;
    }
    return call_send(k, now, k->local_err, sizeof k->local_err) == 0 ? TRY_SENT : TRY_REFUSED;
}

/* A new call leaves at once if none queued is ahead of it (FIFO: a cancel
 * never overtakes its order) and the weight allows; else the pump sends
 * it, or reports it refused, from a timer. */
static void call_start(bn_call *k)
{
    bn_live *L = k->L;
    int64_t wait = 0;

    if (L->nqueued > 1) {
        schedule_pump(L, 0); /* no-op while a wait for weight is armed */
        return;
    }
    switch (call_try(k, &wait)) {
    case TRY_SENT:
        return;
    case TRY_WAIT:
        schedule_pump(L, wait);
        return;
    default:
        schedule_pump(L, 0);
        return;
    }
}

/* Send what may leave, in order; the first that must wait arms the timer. */
static void pump(bn_live *L)
{
    bn_call *k, *next;
    int64_t wait = 0;

    for (k = L->head; k; k = next) {
        next = k->next;
        if (!k->queued)
            continue;
        switch (call_try(k, &wait)) {
        case TRY_WAIT:
            schedule_pump(L, wait);
            return;
        case TRY_REFUSED:
            call_fail(k, BN_ERR_REJECTED, k->local_err);
            break;
        default:
            break;
        }
    }
}

/* ---- Answers ---- */

/* now: the server's clock, as the limits count on it (server_now_ms). */
static void note_limits(bn_live *L, const lutra_http_response *r, int64_t now)
{
    static const char *const names[] = {"X-MBX-USED-WEIGHT-1M", "X-MBX-ORDER-COUNT-10S",
                                        "X-MBX-ORDER-COUNT-1D"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = L->api->http_header(r, names[i]);
        if (v)
            bn_ratelimit_header(&L->rl, names[i], strlen(names[i]), v, strlen(v), now);
    }
    if (r->status == 429 || r->status == 418) {
        const char *ra = L->api->http_header(r, "Retry-After");
        int64_t until = bn_ratelimit_backoff(&L->rl, r->status, ra, ra ? strlen(ra) : 0, now);
        L->api->log(L->h, LUTRA_LOG_WARN, "rate limited: HTTP %d, no request for %" PRId64 " ms",
                    r->status, until - now);
    }
}

static void setup_retry(void *ud);

static void schedule_setup_retry(bn_live *L)
{
    if (!L->setup_timer)
        L->setup_timer = L->api->timer_add(L->h, SETUP_RETRY_MS * MS_NS, 0, setup_retry, L);
}

static void snapshot_retry(void *ud)
{
    live_sym *ls = ud;
    ls->retry_timer = 0;
    ls->snapshot_wanted = 0;
    snapshot_request(ls->L, ls);
}

static void snapshot_later(bn_live *L, live_sym *ls)
{
    ls->snapshot_wanted = 1;
    if (!ls->retry_timer)
        ls->retry_timer =
            L->api->timer_add(L->h, SNAPSHOT_RETRY_MS * MS_NS, 0, snapshot_retry, ls);
}

static void query_failed(bn_call *k, int cls, const char *reason);

/* Does a call of this kind concern one symbol (k->sym)? */
static int call_has_symbol(int kind)
{
    return kind == CALL_DEPTH || kind == CALL_NEW_ORDER || kind == CALL_CANCEL ||
           kind == CALL_QUERY_ORDER || kind == CALL_MY_TRADES;
}

/*
 * An order whose submit got no clear answer may rest at the venue or not.
 * After UNKNOWN_ASK_MS (the venue has had time to take it) it is asked
 * about by its id (query_order): its fills if any, then the STATUS that
 * ends the answer and settles it in the host; one the venue does not know
 * ends rejected. Never resent. A question that fails is asked again, each
 * wait twice the last, up to UNKNOWN_ASK_MAX_MS: nobody else would ask.
 * Each waits on a timer of its own (the host's timers, on one clock).
 */
/* Ask now; wait_ms is what this ask waited, doubled if it fails. */
static void outcome_query(bn_live *L, size_t sym, const lutra_order *o, int64_t wait_ms)
{
    bn_call *k = call_queue(L, CALL_QUERY_ORDER, sym, o);
    if (k) {
        k->outcome_wait_ms = wait_ms;
        call_start(k);
    }
}

static void outcome_unlink(bn_live *L, live_unknown *u)
{
    if (u->prev)
        u->prev->next = u->next;
    else
        L->unknown = u->next;
    if (u->next)
        u->next->prev = u->prev;
}

static void outcome_ask(void *ud)
{
    live_unknown *u = ud;
    bn_live *L = u->L;

    outcome_unlink(L, u);
    outcome_query(L, u->sym, &u->order, u->wait_ms);
    free(u);
}

static void outcome_later(bn_live *L, size_t sym, const lutra_order *o, int64_t wait_ms)
{
    live_unknown *u = calloc(1, sizeof *u);

    if (!u || !(u->timer = L->api->timer_add(L->h, wait_ms * MS_NS, 0, outcome_ask, u))) {
        free(u);
        L->api->log(L->h, LUTRA_LOG_ERROR, "order %s: no timer to ask about it later: asked "
                    "now", o->id);
        outcome_query(L, sym, o, wait_ms);
        return;
    }
    u->L = L;
    u->order = *o;
    u->sym = sym;
    u->wait_ms = wait_ms;
    u->next = L->unknown;
    if (L->unknown)
        L->unknown->prev = u;
    L->unknown = u;
}

/* Stopping: nobody is left to hear the answers. */
static void outcome_forget(bn_live *L)
{
    while (L->unknown) {
        live_unknown *u = L->unknown;
        L->api->timer_cancel(L->h, u->timer);
        outcome_unlink(L, u);
        free(u);
    }
}

/*
 * The venue refused the key, the signature or the account's permissions
 * (class auth) on a signed request: trading stops. From now on orders and
 * cancels are refused without being sent, with the reason; the venue goes
 * DISCONNECTED with it, so the engine refuses new orders before they get
 * here and strategies hear it in on_status. Orders open at the venue stay
 * as they are (a cancel would fail the same way); the user stream still
 * reports their fills, and queries still go out (a key that may not trade
 * may still read). Only a new instance, after the operator has fixed the
 * key, trades again: a connector reload or a restart, which reconcile.
 */
static void trading_stop(bn_live *L, const bn_call *k, const char *reason)
{
    if (L->halted[0])
        return;
    snprintf(L->halted, sizeof L->halted, "binance: trading stopped: %s", error_text(reason));
    L->api->log(L->h, LUTRA_LOG_ERROR,
                "trading stopped: the venue refused the API key, the signature or the "
                "account's permissions; new orders and cancels are refused, open orders stay "
                "as they are. Check the key, its permissions (spot trading) and its IP "
                "allow-list, then run lutra ctl reload-plugin %s, or restart lutra "
                "request=\"%s\" error=\"%s\"",
                L->c->venue, call_names[k->kind], reason);
    venue_update(L);
}

/* The user stream's set-up failed (listenKey, or the connection could not
 * be made): asked again in SETUP_RETRY_MS. Logged once per kind of
 * failure, not at every retry. A stream still open (a replacement key was
 * wanted) goes on delivering: the venue stays as it is. */
static void user_setup_failed(bn_live *L, const char *why)
{
    if (strcmp(why, L->user_logged) != 0) {
        snprintf(L->user_logged, sizeof L->user_logged, "%s", why);
        L->api->log(L->h, LUTRA_LOG_WARN, "%s, tried again every %d s error=\"%s\"",
                    L->user_up ? "user data stream: a new one could not be set up; the one "
                                 "open now goes on delivering"
                               : "no user data stream: its set-up failed; orders are refused "
                                 "until it connects",
                    SETUP_RETRY_MS / 1000, why);
    }
    if (!L->user_up) {
        snprintf(L->user_why, sizeof L->user_why, "%s", why);
        venue_update(L);
    }
    schedule_setup_retry(L);
}

/* What a failed call means for what it carried. */
static void call_fail(bn_call *k, int cls, const char *reason)
{
    bn_live *L = k->L;
    live_sym *ls = call_has_symbol(k->kind) ? &L->syms[k->sym] : NULL;
    int64_t t = L->api->now(L->h);
    char why[BN_REASON_MAX];

    if (k->kind != CALL_LISTEN_KEY) /* retried every 5 s: user_setup_failed logs it */
        L->api->log(L->h, cls == BN_ERR_REJECTED ? LUTRA_LOG_INFO : LUTRA_LOG_WARN,
                    "%s failed (%s): %s", call_names[k->kind], bn_error_class_name(cls), reason);
    if (cls == BN_ERR_CLOCK && k->kind != CALL_TIME)
        call_add(L, CALL_TIME, 0, NULL); /* measure the offset again for the next */
    /* Before the order's own report: whatever its owner does on hearing
     * it is refused already. */
    if (cls == BN_ERR_AUTH && k->req.is_signed)
        trading_stop(L, k, reason);
    switch (k->kind) {
    case CALL_NEW_ORDER:
        if (cls == BN_ERR_OUTCOME_UNKNOWN) {
            outcome_later(L, k->sym, &k->order, UNKNOWN_ASK_MS);
            break;
        }
        report_state(L, ls, LUTRA_EXEC_REJECTED, k->order.id, 0, t, reason);
        break;
    case CALL_CANCEL: {
        lutra_exec x;
        exec_init(&x, LUTRA_EXEC_CANCEL_REJECTED, k->order.id, t);
        snprintf(x.reason, sizeof x.reason, "%s", reason);
        exec_emit(L, &x, ls);
        break;
    }
    case CALL_DEPTH:
        snapshot_later(L, ls);
        break;
    case CALL_EXCHANGE_INFO:
        snprintf(L->setup_why, sizeof L->setup_why, "exchangeInfo: %s", error_text(reason));
        venue_update(L);
        schedule_setup_retry(L);
        break;
    case CALL_LISTEN_KEY:
        snprintf(why, sizeof why, "listenKey: %s", error_text(reason));
        user_setup_failed(L, why);
        break;
    case CALL_KEEPALIVE:
        /* The key expired or was closed (-1125): start over with a new one. */
        L->listen_key[0] = '\0';
        call_add(L, CALL_LISTEN_KEY, 0, NULL);
        break;
    case CALL_QUERY_ORDER:
    case CALL_MY_TRADES:
        query_failed(k, cls, reason);
        break;
    default:
        break;
    }
    call_free(k);
}

/* A non-2xx answer: its error code's class and reason. */
static void fail_status(bn_call *k, const lutra_http_response *r)
{
    char msg[BN_REASON_MAX], reason[BN_REASON_MAX], err[256];
    int code = 0;
    int cls = bn_http_class(r->status);

    if (bn_parse_error(k->L->c, r->body, r->body_len, &code, msg, sizeof msg, err,
                       sizeof err) == 0) {
        cls = bn_error_class(code, msg);
        bn_error_reason(code, msg, reason, sizeof reason);
    } else {
        snprintf(reason, sizeof reason, "binance HTTP %d", r->status);
    }
    /* Binance: a 5XX is its own failure and "the execution status is
     * UNKNOWN and could have been a success", whatever code it carries. */
    if (r->status >= 500)
        cls = BN_ERR_OUTCOME_UNKNOWN;
    call_fail(k, cls, reason);
}

static void fail_transport(bn_call *k, const lutra_http_response *r)
{
    /* A request that never connected never reached the venue; any other
     * failure may have happened after it did. */
    int sure = r->error == LUTRA_HTTP_ERR_CONNECT || r->error == LUTRA_HTTP_ERR_DNS ||
               r->error == LUTRA_HTTP_ERR_TLS;
    call_fail(k, sure ? BN_ERR_RETRY : BN_ERR_OUTCOME_UNKNOWN,
              r->error_text ? r->error_text : "transport failure");
}

/* exchangeInfo: define the configured symbols' instruments. */
static int on_symbol_info(void *ud, const bn_symbol_info *info)
{
    bn_live *L = ud;
    live_sym *ls = sym_by_name(L, info->def.symbol, strlen(info->def.symbol));

    if (!ls)
        return 0;
    if (!info->trading)
        L->api->log(L->h, LUTRA_LOG_WARN, "symbol %s is not TRADING at the venue",
                    info->def.symbol);
    int32_t id = L->api->instrument_define(L->h, &info->def);
    if (id < 0)
        return -1;
    ls->s->instrument = id;
    ls->s->price_scale = info->def.price_scale;
    ls->s->size_scale = info->def.size_scale;
    return 0;
}

static void market_open(bn_live *L);

static void on_exchange_info(bn_live *L, const lutra_http_response *r)
{
    char err[256];

    if (bn_parse_exchange_info(L->c, r->body, r->body_len, on_symbol_info, L, &L->rl, err,
                               sizeof err) != 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "%s", err);
        snprintf(L->setup_why, sizeof L->setup_why, "exchangeInfo: %.200s", err);
        venue_update(L);
        schedule_setup_retry(L);
        return;
    }
    for (size_t i = 0; i < L->nsyms; i++) {
        if (L->syms[i].s->instrument < 0) {
            snprintf(err, sizeof err, "symbol %s is not listed by exchangeInfo",
                     L->syms[i].s->name);
            L->api->log(L->h, LUTRA_LOG_ERROR, "%s", err);
            snprintf(L->setup_why, sizeof L->setup_why, "%s", err);
            venue_update(L);
            return;
        }
    }
    L->defined = 1;
    venue_update(L);
    market_open(L);
}

/* Hand a market message to the host's recorder (lutra record), if any,
 * before decode sees it: a recording replays through the same decode. */
static void record(bn_live *L, int64_t recv_ns, const char *msg, size_t len)
{
    if (L->api->record)
        L->api->record(L->h, recv_ns, msg, len);
}

/* A REST snapshot does not name its symbol: record it wrapped as
 * {"stream":"<symbol>@depthSnapshot","data":<body>}, which decode reads. */
static void record_snapshot(bn_live *L, const live_sym *ls, int64_t recv_ns, const char *body,
                            size_t len)
{
    char head[LUTRA_SYMBOL_MAX + 48];
    size_t n, i;
    char *line;

    if (!L->api->record)
        return;
    n = (size_t)snprintf(head, sizeof head, "{\"stream\":\"%s@depthSnapshot\",\"data\":",
                         ls->s->name);
    for (i = 11; head[i] != '@'; i++)
        head[i] = (char)tolower((unsigned char)head[i]);
    if (!(line = malloc(n + len + 2)))
        return;
    memcpy(line, head, n);
    memcpy(line + n, body, len);
    line[n + len] = '}';
    record(L, recv_ns, line, n + len + 1);
    free(line);
}

static void on_depth(bn_call *k, const lutra_http_response *r)
{
    bn_live *L = k->L;
    live_sym *ls = &L->syms[k->sym];
    int64_t recv_ns = L->api->now(L->h);

    ls->snapshot_wanted = 0;
    record_snapshot(L, ls, recv_ns, r->body, r->body_len);
    bn_decode_snapshot_for(L->c, ls->s, recv_ns, r->body, r->body_len);
    ls->was_synced = ls->s->synced;
    if (!ls->s->synced)
        snapshot_later(L, ls); /* stale against the buffered diffs: another */
    check_sync(L);
}

static void user_open(bn_live *L);

static void keepalive(void *ud)
{
    call_add(ud, CALL_KEEPALIVE, 0, NULL);
}

static void on_listen_key(bn_live *L, const lutra_http_response *r)
{
    char err[256];

    if (bn_parse_listen_key(L->c, r->body, r->body_len, L->listen_key, sizeof L->listen_key,
                            err, sizeof err) != 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "%s", err);
        schedule_setup_retry(L);
        return;
    }
    if (!L->keepalive_timer)
        L->keepalive_timer = L->api->timer_add(L->h, KEEPALIVE_MS * MS_NS, KEEPALIVE_MS * MS_NS,
                                               keepalive, L);
    /* Binance answers with the key in use while it is valid (a keepalive
     * that failed on the way): the stream open on it still delivers, and
     * reopening it would lose what comes meanwhile. */
    if (L->user_ws && L->user_up && strcmp(L->listen_key, L->stream_key) == 0)
        return;
    user_open(L);
}

/* One fill of a FULL answer: ACCEPTED first, then the fill, once. */
static int on_rest_fill(void *ud, const bn_order_state *o, const bn_fill *f)
{
    bn_call *k = ud;
    bn_live *L = k->L;
    live_sym *ls = &L->syms[k->sym];
    int64_t ts = ms_or_now(L, o->time_ms);
    lutra_exec x;

    report_state(L, ls, LUTRA_EXEC_ACCEPTED, k->order.id, o->order_id, ts, NULL);
    uint8_t *reported = trade_reported(L, k->sym, k->order.side, f->trade_id);
    if (*reported)
        return 0;
    exec_init(&x, LUTRA_EXEC_FILL, k->order.id, ts);
    x.side = k->order.side;
    x.liquidity = LUTRA_LIQ_TAKER; /* filled in the answer: it took */
    snprintf(x.venue_order_id, sizeof x.venue_order_id, "%" PRId64, o->order_id);
    snprintf(x.trade_id, sizeof x.trade_id, "%" PRId64, f->trade_id);
    snprintf(x.fee_asset, sizeof x.fee_asset, "%s", f->commission_asset);
    if (bn_amount_rescale(f->price, ls->s->price_scale, &x.price) != 0 ||
        bn_amount_rescale(f->qty, ls->s->size_scale, &x.qty) != 0 ||
        bn_amount_rescale(f->commission, 8, &x.fee) != 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR,
                    "fill of order %s trade %" PRId64 " does not fit the instrument's scales",
                    k->order.id, f->trade_id);
        return 0;
    }
    *reported = 1;
    exec_emit(L, &x, ls);
    return 0;
}

static void on_new_order(bn_call *k, const lutra_http_response *r)
{
    bn_live *L = k->L;
    live_sym *ls = &L->syms[k->sym];
    bn_order_state o;
    char err[256];

    if (bn_parse_order(L->c, r->body, r->body_len, &o, on_rest_fill, k, err, sizeof err) != 0) {
        /* Placed, but the answer is unreadable: the stream will tell. */
        L->api->log(L->h, LUTRA_LOG_ERROR, "order %s: %s", k->order.id, err);
        return;
    }
    int64_t ts = ms_or_now(L, o.time_ms);
    if (o.status == BN_ST_REJECTED) {
        report_state(L, ls, LUTRA_EXEC_REJECTED, k->order.id, o.order_id, ts,
                     "binance: order status REJECTED");
        return;
    }
    report_state(L, ls, LUTRA_EXEC_ACCEPTED, k->order.id, o.order_id, ts, NULL);
    if (o.status == BN_ST_EXPIRED || o.status == BN_ST_EXPIRED_IN_MATCH)
        report_state(L, ls, LUTRA_EXEC_EXPIRED, k->order.id, o.order_id, ts,
                     "binance: the rest of the order expired");
    else if (o.status == BN_ST_CANCELED)
        report_state(L, ls, LUTRA_EXEC_CANCELED, k->order.id, o.order_id, ts,
                     "binance: canceled");
}

static void on_cancel(bn_call *k, const lutra_http_response *r)
{
    bn_live *L = k->L;
    bn_order_state o;
    char err[256];

    if (bn_parse_order(L->c, r->body, r->body_len, &o, NULL, NULL, err, sizeof err) != 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "cancel of %s: %s", k->order.id, err);
        return;
    }
    /* Fills made before the cancel reach us on the user data stream, which
     * reports the cancel after them; this answer can overtake them, and an
     * order closed first would refuse them. With something executed, the
     * stream's CANCELED closes the order (or, the stream down, the
     * reconciliation after it comes back). */
    if (o.executed_qty.v != 0)
        return;
    report_state(L, &L->syms[k->sym], LUTRA_EXEC_CANCELED, k->order.id, o.order_id,
                 ms_or_now(L, o.time_ms), "canceled on request");
}

/* The status a STATUS reports for a Binance order status. Binance's
 * PENDING_NEW (an order list's order waiting for its turn) is at the venue
 * already: NEW. */
static uint8_t status_from_binance(int status)
{
    switch (status) {
    case BN_ST_NEW:
    case BN_ST_PENDING_NEW: return LUTRA_ORDER_NEW;
    case BN_ST_PARTIALLY_FILLED: return LUTRA_ORDER_PARTIALLY_FILLED;
    case BN_ST_FILLED: return LUTRA_ORDER_FILLED;
    case BN_ST_CANCELED: return LUTRA_ORDER_CANCELED;
    case BN_ST_PENDING_CANCEL: return LUTRA_ORDER_PENDING_CANCEL;
    case BN_ST_REJECTED: return LUTRA_ORDER_REJECTED;
    case BN_ST_EXPIRED:
    case BN_ST_EXPIRED_IN_MATCH: return LUTRA_ORDER_EXPIRED;
    default: return LUTRA_ORDER_PENDING_NEW; /* none said: not known */
    }
}

/* x: a STATUS of order o (of ls's symbol) under lutra's id.
 * @return 0, or -1 when a value does not fit the symbol's scales (logged). */
static int status_report(bn_live *L, const live_sym *ls, const bn_order_state *o,
                         const char *id, lutra_exec *x)
{
    exec_init(x, LUTRA_EXEC_STATUS, id, ms_or_now(L, o->time_ms));
    x->status = status_from_binance(o->status);
    x->side = o->side == BN_SELL ? LUTRA_SIDE_SELL : LUTRA_SIDE_BUY;
    snprintf(x->venue_order_id, sizeof x->venue_order_id, "%" PRId64, o->order_id);
    if (bn_amount_rescale(o->price, ls->s->price_scale, &x->price) == 0 &&
        bn_amount_rescale(o->orig_qty, ls->s->size_scale, &x->qty) == 0 &&
        bn_amount_rescale(o->executed_qty, ls->s->size_scale, &x->filled) == 0)
        return 0;
    L->api->log(L->h, LUTRA_LOG_ERROR, "order %s does not fit %s's scales", id, ls->s->name);
    return -1;
}

static int on_open_order(void *ud, const bn_order_state *o)
{
    bn_live *L = ud;
    live_sym *ls = sym_by_name(L, o->symbol, strlen(o->symbol));
    lutra_exec x;

    if (!ls || strlen(o->client_id) > LUTRA_ORDER_ID_MAX) {
        L->api->log(L->h, LUTRA_LOG_INFO, "open order %s %s is not lutra's: not reported",
                    o->symbol, o->client_id);
        return 0;
    }
    if (status_report(L, ls, o, o->client_id, &x) == 0)
        exec_emit(L, &x, ls);
    return 0;
}

static void on_open_orders(bn_live *L, const lutra_http_response *r)
{
    char err[256];
    lutra_exec done;

    if (bn_parse_open_orders(L->c, r->body, r->body_len, on_open_order, L, err, sizeof err) !=
        0) {
        /* No "done": a partial list must not read as the whole. */
        L->api->log(L->h, LUTRA_LOG_ERROR, "%s", err);
        return;
    }
    exec_init(&done, LUTRA_EXEC_STATUS, "", L->api->now(L->h));
    L->api->emit_exec(L->h, &done);
}

/* ---- One order's fate (query_order) ----
 *
 * GET /api/v3/order by lutra's id; when something was executed, the
 * order's trades follow (GET /api/v3/myTrades, a page of BN_MY_TRADES_MAX
 * at a time) as FILLs, then the STATUS that ends the answer. Every step is
 * a call of the queue: weighed, backed off, never retried here.
 */

#define QUERY_UNKNOWN "query failed, the outcome is still unknown"

/* End the answer with a STATUS made of the order asked about: the venue
 * told nothing of it. */
static void query_end(bn_call *k, uint8_t status, const char *why, const char *detail)
{
    bn_live *L = k->L;
    lutra_exec x;

    exec_init(&x, LUTRA_EXEC_STATUS, k->order.id, L->api->now(L->h));
    x.status = status;
    x.side = k->order.side;
    x.price = k->order.price;
    x.qty = k->order.qty;
    snprintf(x.reason, sizeof x.reason, "%s: %s", why, detail);
    exec_emit(L, &x, &L->syms[k->sym]);
    if (status == LUTRA_ORDER_PENDING_NEW && k->outcome_wait_ms > 0) {
        int64_t wait = k->outcome_wait_ms * 2;
        if (wait > UNKNOWN_ASK_MAX_MS)
            wait = UNKNOWN_ASK_MAX_MS;
        L->api->log(L->h, LUTRA_LOG_WARN, "order %s: its outcome is still unknown, asked "
                    "again in %" PRId64 " ms", k->order.id, wait);
        outcome_later(L, k->sym, &k->order, wait);
    }
}

static void query_failed(bn_call *k, int cls, const char *reason)
{
    if (k->kind == CALL_QUERY_ORDER && cls == BN_ERR_UNKNOWN_ORDER)
        query_end(k, LUTRA_ORDER_REJECTED, "the venue does not know this order", reason);
    else
        query_end(k, LUTRA_ORDER_PENDING_NEW, QUERY_UNKNOWN, reason);
}

/* The STATUS of what the venue holds: it ends the answer. */
static void query_status(bn_call *k)
{
    bn_live *L = k->L;
    live_sym *ls = &L->syms[k->sym];
    lutra_exec x;

    if (status_report(L, ls, &k->state, k->order.id, &x) != 0) {
        query_end(k, LUTRA_ORDER_PENDING_NEW, QUERY_UNKNOWN,
                  "the venue's values do not fit the instrument's scales");
        return;
    }
    if (x.status == LUTRA_ORDER_CANCELED || x.status == LUTRA_ORDER_REJECTED ||
        x.status == LUTRA_ORDER_EXPIRED)
        snprintf(x.reason, sizeof x.reason, "binance: %s at the venue",
                 bn_order_status_name(k->state.status));
    exec_emit(L, &x, ls);
}

/* Queue the page of k's order's trades from trade id from_id on.
 * @return 0, or -1 (out of memory, logged). */
static int query_trades(bn_call *k, int64_t from_id)
{
    bn_call *next = call_queue(k->L, CALL_MY_TRADES, k->sym, &k->order);

    if (!next)
        return -1;
    next->state = k->state;
    next->from_trade_id = from_id;
    next->trades_qty = k->trades_qty;
    next->outcome_wait_ms = k->outcome_wait_ms;
    call_start(next);
    return 0;
}

static void on_query_order(bn_call *k, const lutra_http_response *r)
{
    char err[256];

    if (bn_parse_order(k->L->c, r->body, r->body_len, &k->state, NULL, NULL, err,
                       sizeof err) != 0) {
        query_end(k, LUTRA_ORDER_PENDING_NEW, QUERY_UNKNOWN, err);
        return;
    }
    if (k->state.executed_qty.v == 0) {
        query_status(k);
        return;
    }
    k->trades_qty = 0;
    if (query_trades(k, 0) != 0)
        query_end(k, LUTRA_ORDER_PENDING_NEW, QUERY_UNKNOWN, "out of memory asking its trades");
}

typedef struct trades_page {
    bn_call *k;
    size_t n;          /* trades in the page */
} trades_page;

/* One trade of the order: a FILL, reported whether or not it was before
 * (the engine counts a trade id once). */
static int on_query_trade(void *ud, const bn_trade *t)
{
    trades_page *pg = ud;
    bn_call *k = pg->k;
    bn_live *L = k->L;
    live_sym *ls = &L->syms[k->sym];
    lutra_exec x;

    pg->n++;
    k->from_trade_id = t->fill.trade_id + 1;
    if (t->order_id != k->state.order_id)
        return 0; /* not asked for */
    exec_init(&x, LUTRA_EXEC_FILL, k->order.id, ms_or_now(L, t->time_ms));
    x.side = t->is_buyer ? LUTRA_SIDE_BUY : LUTRA_SIDE_SELL;
    x.liquidity = t->is_maker ? LUTRA_LIQ_MAKER : LUTRA_LIQ_TAKER;
    snprintf(x.venue_order_id, sizeof x.venue_order_id, "%" PRId64, t->order_id);
    snprintf(x.trade_id, sizeof x.trade_id, "%" PRId64, t->fill.trade_id);
    snprintf(x.fee_asset, sizeof x.fee_asset, "%s", t->fill.commission_asset);
    if (bn_amount_rescale(t->fill.price, ls->s->price_scale, &x.price) != 0 ||
        bn_amount_rescale(t->fill.qty, ls->s->size_scale, &x.qty) != 0 ||
        bn_amount_rescale(t->fill.commission, 8, &x.fee) != 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "trade %" PRId64 " of order %s does not fit %s's "
                    "scales", t->fill.trade_id, k->order.id, ls->s->name);
        return -1;
    }
    k->trades_qty += x.qty;
    x.filled = k->trades_qty;
    /* the user stream need not tell it again */
    *trade_reported(L, k->sym, x.side, t->fill.trade_id) = 1;
    exec_emit(L, &x, ls);
    return 0;
}

static void on_my_trades(bn_call *k, const lutra_http_response *r)
{
    trades_page pg = {k, 0};
    int64_t executed = 0;
    char err[256];

    if (bn_parse_my_trades(k->L->c, r->body, r->body_len, on_query_trade, &pg, err,
                           sizeof err) != 0) {
        query_end(k, LUTRA_ORDER_PENDING_NEW, QUERY_UNKNOWN, err);
        return;
    }
    if (pg.n == BN_MY_TRADES_MAX) {
        if (query_trades(k, k->from_trade_id) != 0)
            query_end(k, LUTRA_ORDER_PENDING_NEW, QUERY_UNKNOWN, "out of memory asking its "
                      "trades");
        return;
    }
    /* The trade list is read from a database that may lag the order. */
    if (bn_amount_rescale(k->state.executed_qty, k->L->syms[k->sym].s->size_scale,
                          &executed) != 0 ||
        executed != k->trades_qty) {
        snprintf(err, sizeof err, "its trades add up to %" PRId64 " of the %" PRId64
                 " executed (size units): the venue's trade list is behind",
                 k->trades_qty, executed);
        query_end(k, LUTRA_ORDER_PENDING_NEW, QUERY_UNKNOWN, err);
        return;
    }
    query_status(k);
}

static int balance_emit(bn_live *L, const char *asset, size_t alen, bn_amount free_,
                        bn_amount locked)
{
    lutra_balance b;

    memset(&b, 0, sizeof b);
    if (alen >= sizeof b.asset || bn_amount_rescale(free_, 8, &b.free) != 0 ||
        bn_amount_rescale(locked, 8, &b.locked) != 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "balance of %.*s does not fit money units",
                    (int)(alen > 16 ? 16 : alen), asset);
        return 0;
    }
    memcpy(b.asset, asset, alen);
    L->api->emit_balance(L->h, &b);
    return 0;
}

static int on_account_balance(void *ud, const char *asset, bn_amount free_, bn_amount locked)
{
    return balance_emit(ud, asset, strlen(asset), free_, locked);
}

static void on_account(bn_live *L, const lutra_http_response *r)
{
    char err[256];
    if (bn_parse_account(L->c, r->body, r->body_len, on_account_balance, L, err, sizeof err) !=
        0)
        L->api->log(L->h, LUTRA_LOG_ERROR, "%s", err);
}

static void on_time(bn_call *k, const lutra_http_response *r)
{
    bn_live *L = k->L;
    int64_t server_ms;
    char err[256];

    if (bn_parse_server_time(L->c, r->body, r->body_len, &server_ms, err, sizeof err) != 0) {
        L->api->log(L->h, LUTRA_LOG_WARN, "%s: signing with the local clock", err);
        return;
    }
    L->auth.clock_offset_ms = bn_clock_offset(k->sent_ms, now_ms(L), server_ms);
}

static void call_done(bn_call *k, const lutra_http_response *r)
{
    bn_live *L = k->L;

    switch (k->kind) {
    case CALL_TIME: on_time(k, r); break;
    case CALL_EXCHANGE_INFO: on_exchange_info(L, r); break;
    case CALL_DEPTH: on_depth(k, r); break;
    case CALL_LISTEN_KEY: on_listen_key(L, r); break;
    case CALL_NEW_ORDER: on_new_order(k, r); break;
    case CALL_CANCEL: on_cancel(k, r); break;
    case CALL_OPEN_ORDERS: on_open_orders(L, r); break;
    case CALL_ACCOUNT: on_account(L, r); break;
    case CALL_QUERY_ORDER: on_query_order(k, r); break;
    case CALL_MY_TRADES: on_my_trades(k, r); break;
    default: break;
    }
}

static void on_http(void *ud, const lutra_http_response *r)
{
    bn_call *k = ud;
    bn_live *L = k->L;

    k->http_id = 0;
    note_limits(L, r, server_now_ms(L));
    if (r->error != LUTRA_HTTP_ERR_NONE) {
        fail_transport(k, r);
        return;
    }
    if (r->status < 200 || r->status > 299) {
        fail_status(k, r);
        return;
    }
    call_done(k, r);
    call_free(k);
}

/* ---- Snapshots ---- */

static void snapshot_request(bn_live *L, live_sym *ls)
{
    if (ls->snapshot_wanted || !L->market_open)
        return;
    ls->snapshot_wanted = 1;
    if (!call_add(L, CALL_DEPTH, (size_t)(ls - L->syms), NULL))
        ls->snapshot_wanted = 0;
}

/* ---- The market stream ---- */

/* A copy of the depth diff just decoded, for bn_live_warm to rehearse.
 * Its orders are out by now. Out of memory: the warm rehearses less. */
static void keep_for_warm(bn_live *L, const char *data, size_t len)
{
    if (len + JSON_PADDING > L->warm_cap) {
        char *m = realloc(L->warm_msg, len + JSON_PADDING);
        if (!m) {
            L->warm_len = 0;
            return;
        }
        L->warm_msg = m;
        L->warm_cap = len + JSON_PADDING;
    }
    memcpy(L->warm_msg, data, len);
    memset(L->warm_msg + len, ' ', JSON_PADDING);
    L->warm_len = len;
}

static void on_market_message(void *ud, int64_t recv_ns, const char *data, size_t len)
{
    bn_live *L = ud;
    record(L, recv_ns, data, len);
    bn_decode(L->c, recv_ns, data, len);
    if (L->c->decoded_depth)
        keep_for_warm(L, data, len);
    check_sync(L);
}

static void on_market_state(void *ud, const lutra_ws_status *st)
{
    bn_live *L = ud;

    if (st->state == LUTRA_WS_OPEN) {
        L->market_open = 1;
        age_arm(&L->market_age);
        for (size_t i = 0; i < L->nsyms; i++)
            if (!L->syms[i].s->synced)
                snapshot_request(L, &L->syms[i]);
        check_sync(L);
    } else if (st->state == LUTRA_WS_CLOSED) {
        int64_t now = L->api->now(L->h);
        L->market_open = 0;
        age_stop(&L->market_age);
        L->api->log(L->h, LUTRA_LOG_WARN, "market stream closed: %s, retry in %" PRId64 " ms",
                    st->reason ? st->reason : "?", st->retry_in_ms);
        /* The venue first (orders stop), then each book: diffs are missed
         * from now on, so every book syncs again from a snapshot once the
         * stream is back (READY only then). */
        snprintf(L->market_why, sizeof L->market_why, "market stream closed: %s",
                 st->reason && st->reason[0] ? st->reason : "no reason given");
        venue_update(L);
        for (size_t i = 0; i < L->nsyms; i++)
            bn_book_lost(L->c, L->syms[i].s, now);
    }
}

static void lower_copy(char *dst, const char *src)
{
    while (*src)
        *dst++ = (char)tolower((unsigned char)*src++);
    *dst = '\0';
}

static void market_open(bn_live *L)
{
    char url[LIVE_URL_MAX + LIVE_SYMBOLS_MAX * 80];
    char lower[LUTRA_SYMBOL_MAX];
    size_t n = (size_t)snprintf(url, sizeof url, "%s/stream?streams=", L->ws_url);
    lutra_ws_config cfg;

    if (L->market_ws)
        return;
    for (size_t i = 0; i < L->nsyms; i++) {
        lower_copy(lower, L->syms[i].s->name);
        n += (size_t)snprintf(url + n, sizeof url - n, "%s%s@depth@100ms/%s@trade/%s@bookTicker",
                              i ? "/" : "", lower, lower, lower);
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.on_message = on_market_message;
    cfg.on_state = on_market_state;
    cfg.ud = L;
    cfg.seed = (uint64_t)L->api->now(L->h);
    L->market_ws = L->api->ws_open(L->h, &cfg);
    if (!L->market_ws) {
        snprintf(L->market_why, sizeof L->market_why, "the market stream could not be opened");
        venue_update(L);
        schedule_setup_retry(L);
    }
}

/* ---- The user data stream ---- */

typedef struct user_msg {
    json_value root;
    bn_live *L;
    const char *what;
} user_msg;

/* A string field into dst; absent or null is "". @return 0, or -1 (logged). */
static int user_text(user_msg *m, const char *key, char *dst, size_t cap)
{
    json_value v;
    const char *s;
    size_t len;
    int rc = m->L->api->json_field_opt(&m->root, key, &v);

    dst[0] = '\0';
    if (rc == 0 || (rc == 1 && m->L->api->json_string(&v, &s, &len) != 0))
        return 0; /* absent, or null */
    if (rc < 0 || len >= cap) {
        m->L->api->log(m->L->h, LUTRA_LOG_ERROR, "%s refused: field \"%s\" malformed or too long",
                       m->what, key);
        return -1;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int user_i64(user_msg *m, const char *key, int64_t *out)
{
    json_value v;
    *out = 0;
    if (m->L->api->json_field(&m->root, key, &v) == 0 && m->L->api->json_int64(&v, out) == 0)
        return 0;
    m->L->api->log(m->L->h, LUTRA_LOG_ERROR, "%s refused: field \"%s\": %s", m->what, key,
                   m->L->api->json_last_error());
    return -1;
}

/* A decimal field at scale. */
static int user_fixed(user_msg *m, const bn_symbol *s, const char *key, int scale, int64_t *out)
{
    json_value v;
    const char *txt;
    size_t len;

    if (m->L->api->json_field(&m->root, key, &v) != 0 ||
        m->L->api->json_number_text(&v, &txt, &len) != 0) {
        m->L->api->log(m->L->h, LUTRA_LOG_ERROR, "%s refused: field \"%s\": %s", m->what, key,
                       m->L->api->json_last_error());
        return -1;
    }
    return bn_parse_value(m->L->c, s, key, txt, len, scale, out);
}

static int user_bool(user_msg *m, const char *key)
{
    json_value v;
    int b = 0;
    if (m->L->api->json_field(&m->root, key, &v) == 0)
        m->L->api->json_bool(&v, &b);
    return b;
}

static void user_fill(user_msg *m, live_sym *ls, const char *id, int64_t venue_id, int side,
                      int64_t ts)
{
    bn_live *L = m->L;
    lutra_exec x;
    int64_t trade_id;

    if (user_i64(m, "t", &trade_id) != 0)
        return;
    uint8_t *reported = trade_reported(L, (size_t)(ls - L->syms), side, trade_id);
    if (*reported)
        return;
    exec_init(&x, LUTRA_EXEC_FILL, id, ts);
    x.side = (uint8_t)side;
    x.liquidity = user_bool(m, "m") ? LUTRA_LIQ_MAKER : LUTRA_LIQ_TAKER;
    snprintf(x.venue_order_id, sizeof x.venue_order_id, "%" PRId64, venue_id);
    snprintf(x.trade_id, sizeof x.trade_id, "%" PRId64, trade_id);
    /* In the order Binance sends them (l, z, L, n, N): each lookup then
     * goes on from the last, after one scan back for "l". */
    if (user_fixed(m, ls->s, "l", ls->s->size_scale, &x.qty) != 0 || x.qty == 0 || /* no fill */
        user_fixed(m, ls->s, "z", ls->s->size_scale, &x.filled) != 0 ||
        user_fixed(m, ls->s, "L", ls->s->price_scale, &x.price) != 0 ||
        user_fixed(m, ls->s, "n", 8, &x.fee) != 0 ||
        user_text(m, "N", x.fee_asset, sizeof x.fee_asset) != 0)
        return;
    *reported = 1;
    exec_emit(L, &x, ls);
}

/* The report that ends an order in Binance status st, or 0: open, or
 * FILLED (its fills end it). */
static int status_end_kind(int st)
{
    switch (status_from_binance(st)) {
    case LUTRA_ORDER_CANCELED: return LUTRA_EXEC_CANCELED;
    case LUTRA_ORDER_EXPIRED: return LUTRA_EXEC_EXPIRED;
    case LUTRA_ORDER_REJECTED: return LUTRA_EXEC_REJECTED;
    default: return 0;
    }
}

static void on_execution_report(user_msg *m)
{
    bn_live *L = m->L;
    char sym[LUTRA_SYMBOL_MAX], id[BN_CLIENT_ID_MAX], orig[BN_CLIENT_ID_MAX], x[32], X[32],
        side[8], why[64], reason[LUTRA_REASON_SIZE];
    int64_t venue_id, t_ms;
    int st, end;

    m->what = "executionReport";
    if (user_text(m, "s", sym, sizeof sym) != 0 || user_text(m, "c", id, sizeof id) != 0 ||
        user_text(m, "S", side, sizeof side) != 0 ||
        user_text(m, "C", orig, sizeof orig) != 0 || user_text(m, "x", x, sizeof x) != 0 ||
        user_text(m, "X", X, sizeof X) != 0 || user_text(m, "r", why, sizeof why) != 0 ||
        user_i64(m, "i", &venue_id) != 0 || user_i64(m, "T", &t_ms) != 0)
        return;
    live_sym *ls = sym_by_name(L, sym, strlen(sym));
    /* A cancel names itself in "c" and the order in "C". */
    const char *order = strcmp(x, "CANCELED") == 0 && orig[0] ? orig : id;
    if (!ls || strlen(order) > LUTRA_ORDER_ID_MAX) {
        L->api->log(L->h, LUTRA_LOG_DEBUG, "executionReport of %s %s is not lutra's", sym, order);
        return;
    }
    int64_t ts = ms_or_now(L, t_ms);
    st = bn_order_status_parse(X);
    if (strcmp(x, "NEW") == 0) {
        report_state(L, ls, LUTRA_EXEC_ACCEPTED, order, venue_id, ts, NULL);
    } else if (strcmp(x, "TRADE") == 0) {
        report_state(L, ls, LUTRA_EXEC_ACCEPTED, order, venue_id, ts, NULL);
        user_fill(m, ls, order, venue_id, strcmp(side, "SELL") == 0, ts);
        /* A TRADE can carry the order's end (with "l" 0: no fill). */
        if ((end = status_end_kind(st)) != 0) {
            snprintf(reason, sizeof reason, "binance: %s at the venue", bn_order_status_name(st));
            report_state(L, ls, end, order, venue_id, ts, reason);
        }
    } else if (strcmp(x, "CANCELED") == 0) {
        report_state(L, ls, LUTRA_EXEC_CANCELED, order, venue_id, ts, "canceled at the venue");
    } else if (strcmp(x, "EXPIRED") == 0) {
        report_state(L, ls, LUTRA_EXEC_EXPIRED, order, venue_id, ts, "binance: expired");
    } else if (strcmp(x, "TRADE_PREVENTION") == 0 && status_end_kind(st)) {
        /* It would have traded with the account's own order: expired
         * (EXPIRED_IN_MATCH); nothing was executed ("l" is what was
         * prevented). An order still open after it is told by later reports. */
        report_state(L, ls, LUTRA_EXEC_EXPIRED, order, venue_id, ts,
                     "binance: expired by self-trade prevention");
    } else if (strcmp(x, "REJECTED") == 0) {
        snprintf(reason, sizeof reason, "binance: rejected (%s)", why);
        report_state(L, ls, LUTRA_EXEC_REJECTED, order, venue_id, ts, reason);
    } else {
        L->api->log(L->h, LUTRA_LOG_DEBUG, "executionReport type %s of %s not reported", x,
                    order);
    }
}

static void on_account_position(user_msg *m)
{
    bn_live *L = m->L;
    json_value arr, row, v;
    json_iter it;
    int rc;

    if (L->api->json_field(&m->root, "B", &arr) != 0 || L->api->json_array_begin(&arr, &it) != 0)
        goto bad;
    while ((rc = L->api->json_array_next(&it, &row)) == 1) {
        const char *asset, *f, *l;
        size_t alen, flen, llen;
        bn_amount free_, locked;
        if (L->api->json_field(&row, "a", &v) != 0 || L->api->json_string(&v, &asset, &alen) != 0 ||
            L->api->json_field(&row, "f", &v) != 0 ||
            L->api->json_number_text(&v, &f, &flen) != 0 ||
            (free_.scale = L->api->fixed_decimals(f, flen)) < 0 ||
            L->api->fixed_parse(f, flen, free_.scale, &free_.v) != 0 ||
            L->api->json_field(&row, "l", &v) != 0 ||
            L->api->json_number_text(&v, &l, &llen) != 0 ||
            (locked.scale = L->api->fixed_decimals(l, llen)) < 0 ||
            L->api->fixed_parse(l, llen, locked.scale, &locked.v) != 0)
            goto bad;
        balance_emit(L, asset, alen, free_, locked);
    }
    if (rc == 0)
        return;
bad:
    L->api->log(L->h, LUTRA_LOG_ERROR, "outboundAccountPosition refused: %s",
                L->api->json_last_error());
}

static void on_user_message(void *ud, int64_t recv_ns, const char *data, size_t len)
{
    bn_live *L = ud;
    user_msg m = {.L = L, .what = "user stream message"};
    char e[32];

    (void)recv_ns;
    if (L->api->json_parse(L->c->jp, data, len, &m.root) != 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "user stream message refused: %s",
                    L->api->json_last_error());
        return;
    }
    if (user_text(&m, "e", e, sizeof e) != 0)
        return;
    if (strcmp(e, "executionReport") == 0)
        on_execution_report(&m);
    else if (strcmp(e, "outboundAccountPosition") == 0)
        on_account_position(&m);
    else if (strcmp(e, "listenKeyExpired") == 0)
        call_add(L, CALL_LISTEN_KEY, 0, NULL);
}

static void on_user_state(void *ud, const lutra_ws_status *st)
{
    bn_live *L = ud;

    if (st->state == LUTRA_WS_OPEN) {
        /* What happened while it was down is only in REST: the host asks
         * for it (query_orders, query_order, query_balances) once the
         * venue, DISCONNECTED meanwhile, is READY. */
        L->user_opened = 1;
        L->user_up = 1;
        L->user_why[0] = '\0';
        if (L->user_logged[0])
            L->api->log(L->h, LUTRA_LOG_INFO, "user data stream connected: orders are taken "
                        "again after=\"%s\"", L->user_logged);
        L->user_logged[0] = '\0';
        age_arm(&L->user_age);
        venue_update(L);
    } else if (st->state == LUTRA_WS_CLOSED) {
        age_stop(&L->user_age);
        L->api->log(L->h, LUTRA_LOG_WARN, "user stream closed: %s, retry in %" PRId64 " ms",
                    st->reason ? st->reason : "?", st->retry_in_ms);
        L->user_up = 0;
        snprintf(L->user_why, sizeof L->user_why, "user stream closed: %s",
                 st->reason && st->reason[0] ? st->reason : "no reason given");
        venue_update(L);
    }
}

static void user_open(bn_live *L)
{
    char url[LIVE_URL_MAX + LIVE_LISTEN_KEY_MAX + 8];
    lutra_ws_config cfg;

    if (L->user_ws) {
        L->api->ws_close(L->user_ws);
        L->user_ws = NULL;
        age_stop(&L->user_age);
    }
    /* Fills are not heard until the new connection opens. */
    L->user_up = 0;
    snprintf(L->user_why, sizeof L->user_why, "connecting the user stream");
    venue_update(L);
    snprintf(L->stream_key, sizeof L->stream_key, "%s", L->listen_key);
    snprintf(url, sizeof url, "%s/ws/%s", L->ws_url, L->listen_key);
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.on_message = on_user_message;
    cfg.on_state = on_user_state;
    cfg.ud = L;
    cfg.seed = (uint64_t)L->api->now(L->h) + 1;
    L->user_ws = L->api->ws_open(L->h, &cfg);
    if (!L->user_ws)
        user_setup_failed(L, "the user stream could not be opened");
}

/* What did not come up is tried again. */
static void setup_retry(void *ud)
{
    bn_live *L = ud;
    L->setup_timer = 0;
    if (!L->defined)
        call_add(L, CALL_EXCHANGE_INFO, 0, NULL);
    else if (!L->market_ws)
        market_open(L);
    if (L->keyed && !L->listen_key[0])
        call_add(L, CALL_LISTEN_KEY, 0, NULL);
    else if (L->keyed && !L->user_ws)
        user_open(L);
}

/* ---- Configuration ---- */

static int config_url(bn_live *L, const char *key, char *dst)
{
    const char *v = L->api->config_get(L->h, key);
    size_t len = v ? strlen(v) : 0;

    if (!v || len == 0 || len >= LIVE_URL_MAX) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "config %s %s", key,
                    v ? "is empty or too long" : "is missing (needed live)");
        return -1;
    }
    while (len > 0 && v[len - 1] == '/')
        len--;
    memcpy(dst, v, len);
    dst[len] = '\0';
    return 0;
}

/* symbols: names separated by commas or spaces ("BTCUSDT,ETHUSDT"); else
 * the config key symbol. */
static int config_symbols(bn_live *L)
{
    const char *v = L->api->config_get(L->h, "symbols");
    if (!v)
        v = L->api->config_get(L->h, "symbol");
    if (!v) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "config symbols is missing (needed live)");
        return -1;
    }
    for (const char *p = v; *p;) {
        char name[LUTRA_SYMBOL_MAX];
        size_t n = strcspn(p, ", \t");
        if (n >= sizeof name || L->nsyms == LIVE_SYMBOLS_MAX) {
            L->api->log(L->h, LUTRA_LOG_ERROR, "config symbols: \"%.*s\" %s", (int)(n > 40 ? 40 : n),
                        p, n >= sizeof name ? "is too long" : "is one too many (64 at most)");
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            name[i] = (char)toupper((unsigned char)p[i]);
        if (n > 0 && !sym_by_name(L, name, n)) {
            bn_symbol *s = bn_symbol_get(L->c, name, n);
            if (!s)
                return -1;
            L->syms[L->nsyms++] = (live_sym){.L = L, .s = s};
        }
        p += n;
        p += strspn(p, ", \t");
    }
    if (L->nsyms == 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "config symbols names no symbol");
        return -1;
    }
    return 0;
}

/* ws_max_age_s: seconds, up to three decimals; 84600 (23.5 h) when unset. */
static int config_ws_max_age(bn_live *L)
{
    const char *v = L->api->config_get(L->h, "ws_max_age_s");
    int64_t ms;

    L->ws_max_age_ms = WS_MAX_AGE_DEFAULT_MS;
    if (!v)
        return 0;
    if (L->api->fixed_parse(v, strlen(v), 3, &ms) != 0 || ms <= 0 ||
        ms > WS_MAX_AGE_LIMIT_MS) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "config ws_max_age_s \"%.40s\": want seconds above 0 "
                    "and at most 86400 (Binance closes a connection at 24 hours)", v);
        return -1;
    }
    L->ws_max_age_ms = ms;
    return 0;
}

static int config_keys(bn_live *L)
{
    const char *key = L->api->secret_get(L->h, "api_key");
    const char *secret = L->api->secret_get(L->h, "api_secret");
    char err[256];

    if (!key && !secret)
        return 0; /* market data only */
    if (!key || !secret || strlen(key) >= sizeof L->auth.api_key) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "secrets: api_key and api_secret go together, and "
                                           "the key has at most %d characters",
                    BN_KEY_MAX - 1);
        return -1;
    }
    snprintf(L->auth.api_key, sizeof L->auth.api_key, "%s", key);
    L->auth.signer = bn_signer_new(secret, strlen(secret), err, sizeof err);
    if (!L->auth.signer) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "%s", err);
        return -1;
    }
    L->keyed = 1;
    return 0;
}

/* ---- The plugin's live entries ---- */

static int live_services(const lutra_host_api *api, lutra_host *h)
{
    size_t need = offsetof(lutra_host_api, json_parse_copy) + sizeof api->json_parse_copy;
    if (api->size >= need && api->now && api->timer_add && api->http_request && api->ws_open &&
        api->secret_get && api->emit_exec && api->emit_balance && api->emit_state)
        return 1;
    api->log(h, LUTRA_LOG_ERROR, "this lutra offers no live services to the connector");
    return 0;
}

void bn_live_free(bn_conn *c)
{
    bn_live *L = c->live;
    if (!L)
        return;
    bn_live_stop(c);
    spare_free(L);
    bn_signer_free(L->auth.signer);
    free(L->warm_msg);
    free(L);
    c->live = NULL;
}

int bn_live_start(void *self)
{
    bn_conn *c = self;
    bn_live *L;

    if (!live_services(c->api, c->host))
        return -1;
    bn_live_free(c); /* a start after a stop begins afresh */
    if (!(L = calloc(1, sizeof *L))) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "out of memory starting live");
        return -1;
    }
    L->c = c;
    L->api = c->api;
    L->h = c->host;
    L->auth.recv_window_ms = BN_RECV_WINDOW_DEFAULT;
    bn_ratelimit_init(&L->rl);
    L->market_age = (stream_age){.L = L, .ws = &L->market_ws, .name = "market stream"};
    L->user_age = (stream_age){.L = L, .ws = &L->user_ws, .name = "user stream"};
    c->live = L;
    if (config_url(L, "rest_url", L->rest_url) != 0 || config_url(L, "ws_url", L->ws_url) != 0 ||
        config_symbols(L) != 0 || config_ws_max_age(L) != 0 || config_keys(L) != 0) {
        bn_live_free(c);
        return -1;
    }
    snprintf(L->user_why, sizeof L->user_why, "asking for a listenKey");
    venue_update(L);
    call_add(L, CALL_TIME, 0, NULL);
    call_add(L, CALL_EXCHANGE_INFO, 0, NULL);
    if (L->keyed)
        call_add(L, CALL_LISTEN_KEY, 0, NULL);
    return 0;
}

static void cancel_timer(bn_live *L, uint64_t *id)
{
    if (*id)
        L->api->timer_cancel(L->h, *id);
    *id = 0;
}

/* ---- Planned reconnects ----
 *
 * Binance closes a WebSocket connection after 24 hours. At ws_max_age_ms a
 * stream's connection is replaced by a planned reconnect: the host opens a
 * second connection and switches to it once it delivers (lutra_plugin.h,
 * ws_reconnect_planned). Messages both connections carried around the
 * switch may come twice: depth diffs already in the book are ignored by
 * its sequence check, trades by their ids (binance_decode.c), user stream
 * reports by the rings above. The switch is silent (no OPEN): the timer is
 * armed again for the new connection at once; a connection that opens
 * after a drop arms it afresh.
 */

static void stream_aged(void *ud)
{
    stream_age *a = ud;
    bn_live *L = a->L;

    a->timer = 0;
    if (!*a->ws)
        return;
    if (L->api->ws_reconnect_planned(*a->ws) != 0) {
        /* The previous one has not switched yet (a quiet stream switches at
         * its first message, or when the old connection is closed). */
        L->api->log(L->h, LUTRA_LOG_INFO, "%s: a planned reconnect is still under way, "
                    "another in %d s", a->name, WS_AGE_RETRY_MS / 1000);
        age_arm_in(a, WS_AGE_RETRY_MS);
        return;
    }
    L->api->log(L->h, LUTRA_LOG_INFO, "%s: %" PRId64 " ms old, replaced by a planned "
                "reconnect", a->name, L->ws_max_age_ms);
    age_arm(a);
}

static void age_arm_in(stream_age *a, int64_t ms)
{
    bn_live *L = a->L;

    cancel_timer(L, &a->timer);
    a->timer = L->api->timer_add(L->h, ms * MS_NS, 0, stream_aged, a);
}

/* A connection of the stream has just opened: replace it when it is old. */
static void age_arm(stream_age *a)
{
    age_arm_in(a, a->L->ws_max_age_ms);
}

static void age_stop(stream_age *a)
{
    cancel_timer(a->L, &a->timer);
}

int bn_live_stop(void *self)
{
    bn_conn *c = self;
    bn_live *L = c->live;

    if (!L)
        return 0;
    while (L->head) {
        if (L->head->http_id)
            L->api->http_cancel(L->h, L->head->http_id);
        call_free(L->head);
    }
    cancel_timer(L, &L->kick_timer);
    cancel_timer(L, &L->setup_timer);
    cancel_timer(L, &L->keepalive_timer);
    outcome_forget(L);
    age_stop(&L->market_age);
    age_stop(&L->user_age);
    for (size_t i = 0; i < L->nsyms; i++) {
        cancel_timer(L, &L->syms[i].retry_timer);
        L->syms[i].snapshot_wanted = 0;
    }
    if (L->market_ws)
        L->api->ws_close(L->market_ws);
    if (L->user_ws)
        L->api->ws_close(L->user_ws);
    L->market_ws = L->user_ws = NULL;
    L->market_open = 0;
    return 0;
}

/* The symbol of an order, or -1 with the reason in err. */
static int order_symbol(bn_live *L, const lutra_order *o, size_t *sym)
{
    live_sym *ls = sym_by_instrument(L, o->instrument);
    if (!ls)
        return -1;
    *sym = (size_t)(ls - L->syms);
    return 0;
}

static int order_call(void *self, const lutra_order *o, int kind)
{
    bn_conn *c = self;
    bn_live *L = c->live;
    size_t sym = 0;

    if (!L || !L->keyed || !L->defined)
        return -1; /* not connected, or no keys: the engine rejects it */
    int known = order_symbol(L, o, &sym) == 0;
    bn_call *k = call_queue(L, kind, sym, o);
    if (!k)
        return -1;
    if (!known)
        snprintf(k->local_err, sizeof k->local_err,
                 "binance: instrument %u is not one of this venue's symbols", o->instrument);
    call_start(k);
    return 0;
}

int bn_live_submit(void *self, const lutra_order *o)
{
    return order_call(self, o, CALL_NEW_ORDER);
}

int bn_live_cancel(void *self, const lutra_order *o)
{
    return order_call(self, o, CALL_CANCEL);
}

static int query(void *self, int kind)
{
    bn_conn *c = self;
    if (!c->live || !c->live->keyed)
        return -1;
    return call_add(c->live, kind, 0, NULL) ? 0 : -1;
}

int bn_live_query_orders(void *self)
{
    return query(self, CALL_OPEN_ORDERS);
}

int bn_live_query_balances(void *self)
{
    return query(self, CALL_ACCOUNT);
}

int bn_live_query_order(void *self, const lutra_order *o)
{
    bn_conn *c = self;
    bn_live *L = c->live;
    size_t sym;

    if (!L || !L->keyed || !L->defined)
        return -1; /* not connected, or no keys */
    if (order_symbol(L, o, &sym) != 0) {
        L->api->log(L->h, LUTRA_LOG_ERROR, "query_order %s: instrument %u is not one of this "
                    "venue's symbols", o->id, o->instrument);
        return -1;
    }
    return call_add(L, CALL_QUERY_ORDER, sym, o) ? 0 : -1;
}

/* lutra_plugin.warm: decode the last depth diff again as a rehearsal
 * (bn_conn.rehearsal: parsed, levels read, nothing applied or emitted);
 * build and sign a new order the way call_build does, and send nothing.
 * The signer is primed again, as after a request: the next order finds
 * it ready, and the code and data of both steps in the caches. */
void bn_live_warm(void *self)
{
    bn_conn *c = self;
    bn_live *L = c->live;
    bn_order_spec sp;
    bn_request r;
    char err[128];

    if (!L)
        return;
    if (L->warm_len) {
        c->rehearsal = 1;
        if (bn_decode(c, 0, L->warm_msg, L->warm_len) != 0)
            L->warm_len = 0; /* logged; not rehearsed until the next diff */
        c->rehearsal = 0;
    }
    if (!L->keyed || !L->defined || L->halted[0] || !L->auth.signer || L->nsyms == 0)
        return;
    memset(&sp, 0, sizeof sp);
    sp.symbol = L->syms[0].s->name;
    sp.client_id = "warm";
    sp.side = BN_BUY;
    sp.type = BN_LIMIT_MAKER;
    sp.qty = 1;
    sp.price = 1;
    sp.price_scale = L->syms[0].s->price_scale;
    sp.size_scale = L->syms[0].s->size_scale;
    sp.resp_type = BN_RESP_FULL;
    bn_req_new_order(&r, &L->auth, &sp, now_ms(L), err, sizeof err);
    bn_signer_prime(L->auth.signer);
}
