/*
 * mock_binance.c -- the mock Binance Spot server: its threads, the REST
 * side on evhttp (routing, weights, keys and signatures, faults), the
 * control endpoint, and the programmatic API (see mock_binance.h).
 *
 * Threads: the exchange thread runs a libevent loop with evhttp, the feed
 * and the depth diff timer; the WebSocket thread is mock_ws's. Exchange
 * state (matching engine, weights, faults) is guarded by one mutex, held by
 * every callback of the exchange thread and by every API call, so a test
 * thread may act on the exchange at any time. Work that only the exchange
 * thread may do (dropping its connections, stopping its loop) is asked for
 * through an eventfd that its loop watches.
 */
#include "mock_binance.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "fixed.h"
#include "mock_errors.h"
#include "mock_feed.h"
#include "mock_rest.h"
#include "mock_sign.h"
#include "mock_weight.h"
#include "mock_ws.h"

#define ORDER_WINDOW_10S_MS INT64_C(10000)
#define DAY_MS INT64_C(86400000)
#define REJECTS_MAX 64

/* Requests to refuse (the reject fault): `left` more with this answer. */
typedef struct mreject {
    int on;                  /* enum mock_reject_on */
    int code, http_status;   /* code 0: msg is the body, not Binance's JSON */
    long left;
    char msg[160];
} mreject;

/* A REST answer held back: delayed (timer set) or silenced (timer NULL). */
typedef struct mheld {
    struct mheld *next;
    mock_binance *mx;
    struct evhttp_request *req;
    struct event *timer;
    int status;
    struct evbuffer *body;
} mheld;

struct mock_binance {
    pthread_mutex_t lock;
    mexch *x;
    mws *ws;
    mfeed *feed;
    mweight weight;
    struct event_base *base;
    struct evhttp *http;
    struct event *flush_ev, *feed_ev, *wake_ev;
    int wake_fd;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    int rest_port;
    char api_key[128], secret[128];
    /* faults */
    int64_t delay_ms;
    int fail_status;
    long fail_count;
    int silent;
    int drop_pending;
    struct evhttp_connection *drop_except; /* the control request asking for it */
    mreject rejects[REJECTS_MAX];           /* first given, first used */
    size_t nrejects;
    /* REST connections open now, and answers held back */
    struct evhttp_connection **conns;
    size_t nconns, conns_cap;
    mheld *held;
    /* counters */
    uint64_t requests;
    uint64_t rate_limited, new_orders, cancels, listen_keys, open_orders;
    int feed_ended;
    int64_t orders_10s_window, orders_10s, orders_day_window, orders_day;
};

/* ---- Clocks ---- */

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void *ud)
{
    (void)ud;
    return wall_us() / 1000;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timeval tv_of_ns(int64_t ns)
{
    struct timeval tv;
    if (ns < 0)
        ns = 0;
    tv.tv_sec = (time_t)(ns / 1000000000);
    tv.tv_usec = (suseconds_t)(ns % 1000000000 / 1000);
    return tv;
}

/* What the exchange says goes out on the WebSocket streams. */
static void publish(void *ud, const char *stream, const char *json, size_t len)
{
    mws_publish(ud, stream, json, len);
}

static void wake(mock_binance *mx)
{
    uint64_t one = 1;
    if (write(mx->wake_fd, &one, sizeof one) < 0) {
        /* the counter is full: the loop wakes anyway */
    }
}

/* ---- REST connections ---- */

static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
    mock_binance *mx = arg;
    for (size_t i = 0; i < mx->nconns; i++) {
        if (mx->conns[i] == conn) {
            mx->conns[i] = mx->conns[--mx->nconns];
            return;
        }
    }
}

static void track_connection(mock_binance *mx, struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct evhttp_connection **grown;

    if (!conn)
        return;
    for (size_t i = 0; i < mx->nconns; i++)
        if (mx->conns[i] == conn)
            return;
    if (mx->nconns == mx->conns_cap) {
        size_t cap = mx->conns_cap ? mx->conns_cap * 2 : 16;
        grown = realloc(mx->conns, cap * sizeof *grown);
        if (!grown)
            return; /* untracked: a drop will miss it */
        mx->conns = grown;
        mx->conns_cap = cap;
    }
    mx->conns[mx->nconns++] = conn;
    evhttp_connection_set_closecb(conn, on_conn_close, mx);
}

/* Cut every REST connection's socket: libevent sees the end and cleans up,
 * and a held answer whose client has gone is freed when it is sent. */
static void drop_connections(mock_binance *mx)
{
    for (size_t i = 0; i < mx->nconns; i++) {
        struct bufferevent *bev;
        if (mx->conns[i] == mx->drop_except)
            continue;
        bev = evhttp_connection_get_bufferevent(mx->conns[i]);
        if (bev && bufferevent_getfd(bev) >= 0)
            shutdown(bufferevent_getfd(bev), SHUT_RDWR);
    }
    mx->drop_pending = 0;
    mx->drop_except = NULL;
}

/* ---- Answers ---- */

static void send_answer(struct evhttp_request *req, int status, struct evbuffer *body)
{
    const char *reason = status == 200 ? "OK" : status == 429 ? "Too Many Requests"
                       : status == 418 ? "I'm a teapot" : status >= 500 ? "Server Error"
                       : "Error";
    evhttp_send_reply(req, status, reason, body);
}

static void held_unlink(mock_binance *mx, mheld *h)
{
    for (mheld **p = &mx->held; *p; p = &(*p)->next) {
        if (*p == h) {
            *p = h->next;
            return;
        }
    }
}

static void held_release(mock_binance *mx, mheld *h)
{
    held_unlink(mx, h);
    send_answer(h->req, h->status, h->body);
    evbuffer_free(h->body);
    if (h->timer)
        event_free(h->timer);
    free(h);
}

static void on_held_timer(evutil_socket_t fd, short what, void *arg)
{
    mheld *h = arg;
    mock_binance *mx = h->mx;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&mx->lock);
    held_release(mx, h);
    pthread_mutex_unlock(&mx->lock);
}

/* Send now, or hold back as the delay and silent faults say. */
static void respond(mock_binance *mx, struct evhttp_request *req, int status, struct evbuffer *body)
{
    mheld *h;
    struct timeval tv;

    if (!mx->silent && mx->delay_ms <= 0) {
        send_answer(req, status, body);
        evbuffer_free(body);
        return;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        send_answer(req, status, body);
        evbuffer_free(body);
        return;
    }
    h->mx = mx;
    h->req = req;
    h->status = status;
    h->body = body;
    if (!mx->silent) {
        h->timer = evtimer_new(mx->base, on_held_timer, h);
        tv = tv_of_ns(mx->delay_ms * 1000000);
        if (!h->timer || evtimer_add(h->timer, &tv) != 0) {
            if (h->timer)
                event_free(h->timer);
            h->timer = NULL; /* held until the fault clears */
        }
    }
    h->next = mx->held;
    mx->held = h;
}

static void release_silenced(mock_binance *mx)
{
    mheld *h = mx->held;
    while (h) {
        mheld *next = h->next;
        if (!h->timer)
            held_release(mx, h);
        h = next;
    }
}

static void add_header_int(struct evhttp_request *req, const char *name, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    evhttp_add_header(evhttp_request_get_output_headers(req), name, s);
}

/* ---- Faults ---- */

int mock_fault_parse(const char *kind, const char *value, const char *count, mock_fault *out,
                     char *err, size_t errlen)
{
    static const char *const names[] = {"clear", "drop", "delay", "gap", "status", "silent",
                                        "reject", "user_down"};
    char *end;

    memset(out, 0, sizeof *out);
    out->kind = -1;
    for (size_t i = 0; kind && i < sizeof names / sizeof *names; i++)
        if (strcmp(kind, names[i]) == 0)
            out->kind = (int)i;
    if (out->kind < 0) {
        snprintf(err, errlen, "fault kind '%s': not one of clear, drop, delay, gap, status, "
                 "silent, reject, user_down", kind ? kind : "(none)");
        return -1;
    }
    out->value = value ? strtol(value, &end, 10) : 0;
    /* reject's value is an error code: written with its sign or without */
    if (value && (*end || (out->value < 0 && out->kind != MOCK_FAULT_REJECT))) {
        snprintf(err, errlen, "fault value '%s': not a whole number >= 0", value);
        return -1;
    }
    out->count = count ? strtol(count, &end, 10) : 1;
    if (count && (*end || out->count < 0)) {
        snprintf(err, errlen, "fault count '%s': not a whole number >= 0", count);
        return -1;
    }
    return 0;
}

/* Queue the answer for the next count requests of its kind. */
static int reject_locked(mock_binance *mx, const mock_reject *rq, char *err, size_t errlen)
{
    int code = rq->code > 0 ? (int)-rq->code : (int)rq->code;
    const merr_doc *doc = code ? merr_find(code) : NULL;
    mreject *r;

    if (rq->on < MOCK_REJECT_ORDER || rq->on > MOCK_REJECT_QUERY) {
        snprintf(err, errlen, "fault reject: 'on' %d is not order, cancel, listenKey or query",
                 rq->on);
        return -1;
    }
    if (code && !doc && !rq->msg) {
        snprintf(err, errlen, "fault reject %d: not an error of errors.md; give its message",
                 code);
        return -1;
    }
    if ((!code || rq->http_status) && (rq->http_status < 400 || rq->http_status > 599)) {
        snprintf(err, errlen, "fault reject %d: status %d is not an HTTP error status (400-599)",
                 code, rq->http_status);
        return -1;
    }
    if (mx->nrejects == REJECTS_MAX) {
        snprintf(err, errlen, "fault reject %d: %d rejections queued already", code, REJECTS_MAX);
        return -1;
    }
    if (rq->count <= 0)
        return 0;
    r = &mx->rejects[mx->nrejects++];
    r->on = rq->on;
    r->code = code;
    r->http_status = rq->http_status ? rq->http_status : doc ? doc->http_status : 400;
    r->left = rq->count;
    snprintf(r->msg, sizeof r->msg, "%s",
             rq->msg ? rq->msg
             : code  ? doc->msg
                     : "<html><head><title>Error</title></head><body><h1>Access denied"
                       "</h1></body></html>");
    return 0;
}

/* The kind of request a reject may answer, or -1 for one it never does. */
static int reject_kind(const mrest_route *r)
{
    if (!strcmp(r->path, "/api/v3/order"))
        return !strcmp(r->method, "POST")     ? MOCK_REJECT_ORDER
               : !strcmp(r->method, "DELETE") ? MOCK_REJECT_CANCEL
               : !strcmp(r->method, "GET")    ? MOCK_REJECT_QUERY
                                              : -1;
    if (!strcmp(r->path, "/api/v3/userDataStream") && !strcmp(r->method, "POST"))
        return MOCK_REJECT_LISTEN_KEY;
    return -1;
}

/* The first reject queued for requests of route r, or NULL. */
static mreject *reject_for(mock_binance *mx, const mrest_route *r)
{
    int kind = reject_kind(r);

    for (size_t i = 0; kind >= 0 && i < mx->nrejects; i++)
        if (mx->rejects[i].on == kind)
            return &mx->rejects[i];
    return NULL;
}

/* The answer to a request the reject fault picked; 429 comes with a
 * Retry-After, as Binance sends it. @return the HTTP status. */
static int planned_reject(mock_binance *mx, mreject *r, struct evhttp_request *req,
                          struct evbuffer *out)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    int status = r->http_status;

    if (status == 429 || status == 418)
        evhttp_add_header(headers, "Retry-After", "1");
    if (r->code) {
        mrest_error(out, r->code, r->msg);
    } else {
        evhttp_remove_header(headers, "Content-Type");
        evhttp_add_header(headers, "Content-Type", "text/html");
        evbuffer_add(out, r->msg, strlen(r->msg));
    }
    if (--r->left == 0) {
        size_t i = (size_t)(r - mx->rejects);
        memmove(r, r + 1, (--mx->nrejects - i) * sizeof *r);
    }
    return status;
}

static int fault_locked(mock_binance *mx, const mock_fault *f, char *err, size_t errlen)
{
    switch (f->kind) {
    case MOCK_FAULT_CLEAR:
        mx->delay_ms = 0;
        mx->fail_count = 0;
        mx->silent = 0;
        mx->nrejects = 0;
        mws_set_silent(mx->ws, 0);
        mws_set_user_down(mx->ws, 0);
        release_silenced(mx);
        return 0;
    case MOCK_FAULT_DROP:
        mx->drop_pending = 1;
        mws_drop_all(mx->ws);
        wake(mx);
        return 0;
    case MOCK_FAULT_DELAY:
        mx->delay_ms = f->value;
        return 0;
    case MOCK_FAULT_GAP:
        mexch_gap(mx->x);
        return 0;
    case MOCK_FAULT_STATUS:
        if (f->value < 400 || f->value > 599) {
            snprintf(err, errlen, "fault status %ld: not an HTTP error status (400-599)",
                     f->value);
            return -1;
        }
        mx->fail_status = (int)f->value;
        mx->fail_count = f->count;
        return 0;
    case MOCK_FAULT_SILENT:
        mx->silent = f->value != 0;
        mws_set_silent(mx->ws, mx->silent);
        if (!mx->silent)
            release_silenced(mx);
        return 0;
    case MOCK_FAULT_USER_DOWN:
        mws_set_user_down(mx->ws, f->value != 0);
        return 0;
    case MOCK_FAULT_REJECT: {
        mock_reject rq = {.on = MOCK_REJECT_ORDER, .code = f->value, .count = f->count};
        return reject_locked(mx, &rq, err, errlen);
    }
    default:
        snprintf(err, errlen, "fault kind %d: unknown", f->kind);
        return -1;
    }
}

/* The answer to a request the status fault picked. */
static int injected_status(mock_binance *mx, struct evhttp_request *req, struct evbuffer *out)
{
    int status = mx->fail_status;
    mx->fail_count--;
    if (status == 429 || status == 418) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        mrest_error(out, -1003, "Too many requests queued.");
    } else if (status == 503) {
        mrest_error(out, -1008, "Server is currently overloaded with other requests. Please "
                    "try again in a few minutes.");
    } else if (status >= 500) {
        mrest_error(out, -1001, "Internal error; unable to process your request. Please try "
                    "again.");
    } else {
        mrest_error(out, -1000, "An unknown error occurred while processing the request.");
    }
    return status;
}

/* ---- Market and account, lock held ---- */

static int parse_amount(const char *s, int64_t *out, char *err, size_t errlen)
{
    int rc = s ? fixed_parse(s, strlen(s), MEXCH_SCALE, out) : FIXED_ESYNTAX;
    if (rc != FIXED_OK || *out < 0) {
        snprintf(err, errlen, "amount '%s': %s", s ? s : "(none)",
                 rc != FIXED_OK ? fixed_strerror(rc) : "negative");
        return -1;
    }
    return 0;
}

static int symbol_index(mock_binance *mx, const char *symbol, char *err, size_t errlen)
{
    int sym = mexch_symbol_find(mx->x, symbol);
    if (sym < 0)
        snprintf(err, errlen, "symbol '%s': not listed", symbol ? symbol : "(none)");
    return sym;
}

static int set_balance_locked(mock_binance *mx, const char *asset, const char *amount,
                              char *err, size_t errlen)
{
    int64_t v;
    if (parse_amount(amount, &v, err, errlen) != 0)
        return -1;
    return mexch_set_balance(mx->x, asset, v, err, errlen);
}

static int set_level_locked(mock_binance *mx, const char *symbol, int is_bid, const char *price,
                            const char *qty, char *err, size_t errlen)
{
    int sym = symbol_index(mx, symbol, err, errlen);
    int64_t p, q;

    if (sym < 0 || parse_amount(price, &p, err, errlen) != 0 ||
        parse_amount(qty, &q, err, errlen) != 0)
        return -1;
    if (mexch_market_level(mx->x, sym, is_bid, p, q) != 0) {
        snprintf(err, errlen, "level %s of %s: a zero price, or out of memory", price, symbol);
        return -1;
    }
    return 0;
}

static int trade_locked(mock_binance *mx, const char *symbol, const char *price, const char *qty,
                        int buyer_maker, char *err, size_t errlen)
{
    int sym = symbol_index(mx, symbol, err, errlen);
    int64_t p, q;

    if (sym < 0 || parse_amount(price, &p, err, errlen) != 0 ||
        parse_amount(qty, &q, err, errlen) != 0)
        return -1;
    mexch_market_trade(mx->x, sym, p, q, buyer_maker);
    return 0;
}

static void pause_feed_locked(mock_binance *mx, int paused)
{
    if (mx->feed)
        mfeed_pause(mx->feed, paused, mono_ns());
}

static void stats_locked(mock_binance *mx, mock_binance_stats *out)
{
    out->requests = mx->requests;
    out->rest_connections = mx->nconns;
    out->ws_connections = mws_connections(mx->ws);
    out->ws_accepted = mws_accepted(mx->ws);
    out->ws_user_accepted = mws_user_accepted(mx->ws);
    out->weight_total = mx->weight.total;
    out->feed_messages = mx->feed ? mfeed_applied(mx->feed) : 0;
    out->feed_ended = mx->feed_ended;
    out->rate_limited = mx->rate_limited;
    out->new_orders = mx->new_orders;
    out->feed_paused = mx->feed ? mfeed_paused(mx->feed) : 0;
    out->client_id_reuses = mexch_client_id_reuses(mx->x);
    out->cancels = mx->cancels;
    out->listen_keys = mx->listen_keys;
    out->open_orders = mx->open_orders;
}

/* ---- The control endpoint (/mock/...) ---- */

/* A true|false parameter. @return 1, 0, or -1 (absent or another word). */
static int param_bool(const struct evkeyvalq *q, const char *key)
{
    const char *v = evhttp_find_header(q, key);
    if (!v)
        return -1;
    return !strcmp(v, "true") ? 1 : !strcmp(v, "false") ? 0 : -1;
}

static int is_loopback(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;

    if (!conn)
        return 0;
    evhttp_connection_get_peer(conn, &addr, &port);
    return addr && strcmp(addr, "127.0.0.1") == 0;
}

/* /mock/fault?kind=reject&value=&count=, with msg=, status= and
 * on=order|cancel|listenKey|query. @return 0, or -1 with err. */
static int control_reject(mock_binance *mx, const struct evkeyvalq *q, const mock_fault *f,
                          char *err, size_t errlen)
{
    static const char *const ons[] = {"order", "cancel", "listenKey", "query"};
    const char *on = evhttp_find_header(q, "on"), *status = evhttp_find_header(q, "status");
    mock_reject rq = {.on = on ? -1 : MOCK_REJECT_ORDER, .code = f->value, .count = f->count,
                      .msg = evhttp_find_header(q, "msg")};
    char *end = NULL;

    for (size_t i = 0; on && i < sizeof ons / sizeof *ons; i++)
        if (!strcmp(on, ons[i]))
            rq.on = (int)i;
    if (rq.on < 0) {
        snprintf(err, errlen, "fault reject: on '%s' is not order, cancel, listenKey or query",
                 on);
        return -1;
    }
    if (status) {
        rq.http_status = (int)strtol(status, &end, 10);
        if (*end || !*status) {
            snprintf(err, errlen, "fault reject: status '%s' is not a number", status);
            return -1;
        }
    }
    return reject_locked(mx, &rq, err, errlen);
}

static int control(mock_binance *mx, struct evhttp_request *req, const char *path,
                   const struct evkeyvalq *q, struct evbuffer *out)
{
    char err[256] = "";
    int rc = 0;
    mock_fault f;

    if (!is_loopback(req)) {
        mrest_error(out, -1002, "The control endpoint answers loopback only.");
        return 403;
    }
    if (strcmp(path, "/mock/fault") == 0) {
        rc = mock_fault_parse(evhttp_find_header(q, "kind"), evhttp_find_header(q, "value"),
                              evhttp_find_header(q, "count"), &f, err, sizeof err);
        if (rc == 0) {
            if (f.kind == MOCK_FAULT_DROP)
                mx->drop_except = evhttp_request_get_connection(req);
            rc = f.kind == MOCK_FAULT_REJECT ? control_reject(mx, q, &f, err, sizeof err)
                                             : fault_locked(mx, &f, err, sizeof err);
        }
    } else if (strcmp(path, "/mock/balance") == 0) {
        rc = set_balance_locked(mx, evhttp_find_header(q, "asset"), evhttp_find_header(q, "free"),
                                err, sizeof err);
    } else if (strcmp(path, "/mock/level") == 0) {
        const char *side = evhttp_find_header(q, "side");
        rc = set_level_locked(mx, evhttp_find_header(q, "symbol"), side && !strcmp(side, "bid"),
                              evhttp_find_header(q, "price"), evhttp_find_header(q, "qty"), err,
                              sizeof err);
    } else if (strcmp(path, "/mock/trade") == 0) {
        const char *bm = evhttp_find_header(q, "buyerMaker");
        rc = trade_locked(mx, evhttp_find_header(q, "symbol"), evhttp_find_header(q, "price"),
                          evhttp_find_header(q, "qty"), bm && !strcmp(bm, "true"), err,
                          sizeof err);
    } else if (strcmp(path, "/mock/reset-weight") == 0) {
        mweight_reset(&mx->weight);
    } else if (strcmp(path, "/mock/feed") == 0) {
        int paused = param_bool(q, "paused");
        if (paused < 0) {
            snprintf(err, sizeof err, "feed: paused must be true or false");
            rc = -1;
        } else {
            pause_feed_locked(mx, paused);
        }
    } else if (strcmp(path, "/mock/stats") == 0) {
        mock_binance_stats st;
        char json[1024];
        stats_locked(mx, &st);
        mock_binance_stats_json(&st, json, sizeof json);
        evbuffer_add(out, json, strlen(json));
        return 200;
    } else {
        mrest_error(out, -1000, "Unknown control path: /mock/fault, /mock/balance, /mock/level, "
                    "/mock/trade, /mock/reset-weight, /mock/feed or /mock/stats.");
        return 404;
    }
    if (rc != 0) {
        mrest_error(out, -1100, err);
        return 400;
    }
    evbuffer_add(out, "{}", 2);
    return 200;
}

/* ---- The Binance API ---- */

static const char *method_name(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    default: return "OTHER";
    }
}

/* The weight window as a header name, X-MBX-USED-WEIGHT-(intervalNum)
 * (intervalLetter), and as the 429's text says it ("1 MINUTE"). */
static void weight_interval(const mweight *w, char *header, size_t hcap, char *text,
                            size_t tcap)
{
    int64_t secs = w->interval_ms / 1000;

    if (secs == 60) {
        snprintf(header, hcap, "X-MBX-USED-WEIGHT-1M");
        snprintf(text, tcap, "1 MINUTE");
    } else {
        snprintf(header, hcap, "X-MBX-USED-WEIGHT-%" PRId64 "S", secs);
        snprintf(text, tcap, "%" PRId64 " SECOND", secs);
    }
}

/* Charge the weight. @return 0, or the 429/418 status with the answer in out. */
static int charge(mock_binance *mx, struct evhttp_request *req, int weight, int64_t now_ms,
                  struct evbuffer *out)
{
    int64_t retry = 0;
    char msg[256];
    int verdict = mweight_charge(&mx->weight, now_ms, weight, &retry);
    char header[40], interval[32];

    weight_interval(&mx->weight, header, sizeof header, interval, sizeof interval);
    add_header_int(req, header, mweight_used(&mx->weight, now_ms));
    if (verdict == MWEIGHT_OK)
        return 0;
    mx->rate_limited++;
    add_header_int(req, "Retry-After", retry);
    if (verdict == MWEIGHT_429)
        snprintf(msg, sizeof msg, "Too much request weight used; current limit is %" PRId64
                 " request weight per %s. Please use WebSocket Streams for live updates "
                 "to avoid polling the API.", mx->weight.limit, interval);
    else
        snprintf(msg, sizeof msg, "Way too much request weight used; IP banned until %" PRId64
                 ". Please use WebSocket Streams for live updates to avoid bans.",
                 mx->weight.banned_until_ms);
    mrest_error(out, -1003, msg);
    return verdict;
}

/* Key, timestamp and signature as the route requires. @return 0, or the
 * HTTP status with the answer in out. */
static int authenticate(mock_binance *mx, struct evhttp_request *req, const mrest_route *r,
                        const mrest_call *call, const char *raw_query, const char *raw_body,
                        size_t body_len, struct evbuffer *out)
{
    const char *key = evhttp_find_header(evhttp_request_get_input_headers(req), "X-MBX-APIKEY");
    msign_error e;

    if (r->security == MREST_NONE)
        return 0;
    if (!key || !*key) {
        mrest_error(out, -2014, "API-key format invalid.");
        return 401;
    }
    if (strcmp(key, mx->api_key) != 0) {
        mrest_error(out, -2015, "Invalid API-key, IP, or permissions for action.");
        return 401;
    }
    if (r->security != MREST_SIGNED)
        return 0;
    if (msign_check_time(mrest_param(call, "timestamp"), mrest_param(call, "recvWindow"),
                         wall_us(), &e) != 0 ||
        msign_check(mx->secret, raw_query, raw_body, body_len, &e) != 0) {
        mrest_error(out, e.code, e.msg);
        return 400;
    }
    return 0;
}

/* X-MBX-ORDER-COUNT-10S and -1D on an accepted order. */
static void count_order(mock_binance *mx, struct evhttp_request *req, int64_t now_ms)
{
    if (now_ms / ORDER_WINDOW_10S_MS != mx->orders_10s_window) {
        mx->orders_10s_window = now_ms / ORDER_WINDOW_10S_MS;
        mx->orders_10s = 0;
    }
    if (now_ms / DAY_MS != mx->orders_day_window) {
        mx->orders_day_window = now_ms / DAY_MS;
        mx->orders_day = 0;
    }
    add_header_int(req, "X-MBX-ORDER-COUNT-10S", ++mx->orders_10s);
    add_header_int(req, "X-MBX-ORDER-COUNT-1D", ++mx->orders_day);
}

static int api(mock_binance *mx, struct evhttp_request *req, const char *path,
               const struct evkeyvalq *query, const char *raw_query, struct evbuffer *out)
{
    const mrest_route *r = mrest_find(method_name(req), path);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t body_len = evbuffer_get_length(in);
    char *body = malloc(body_len + 1);
    struct evkeyvalq form;
    mrest_call call;
    int status;

    if (!body) {
        mrest_error(out, -1000, "An unknown error occurred while processing the request.");
        return 500;
    }
    evbuffer_copyout(in, body, body_len);
    body[body_len] = 0;
    evhttp_parse_query_str(body, &form); /* a body that is not a form has no parameters */
    memset(&call, 0, sizeof call);
    call.x = mx->x;
    call.ws = mx->ws;
    call.query = query;
    call.body = &form;
    call.now_ms = wall_ms(NULL);
    call.weight_limit = mx->weight.limit;
    call.weight_interval_s = (int)(mx->weight.interval_ms / 1000);
    call.out = out;
    if (r) {
        int kind = reject_kind(r);
        mx->new_orders += kind == MOCK_REJECT_ORDER;
        mx->cancels += kind == MOCK_REJECT_CANCEL;
        mx->listen_keys += kind == MOCK_REJECT_LISTEN_KEY;
        mx->open_orders += !strcmp(r->path, "/api/v3/openOrders");
    }
    if (!r) {
        mrest_error(out, -1000, "Unknown path or method.");
        status = 404;
    } else if ((status = charge(mx, req, mrest_weight(r, &call), call.now_ms, out)) == 0 &&
               (status = authenticate(mx, req, r, &call, raw_query, body, body_len, out)) == 0) {
        mreject *planned = reject_for(mx, r);
        status = planned ? planned_reject(mx, planned, req, out) : r->handle(&call);
        if (status == 200 && r->is_order)
            count_order(mx, req, call.now_ms);
    }
    evhttp_clear_headers(&form);
    free(body);
    return status;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    mock_binance *mx = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri), *raw_query = evhttp_uri_get_query(uri);
    struct evbuffer *out = evbuffer_new();
    struct evkeyvalq query;
    int status;

    if (!out) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evhttp_parse_query_str(raw_query ? raw_query : "", &query);
    if (!path)
        path = "/";
    pthread_mutex_lock(&mx->lock);
    track_connection(mx, req);
    mx->requests++;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json;charset=UTF-8");
    if (strncmp(path, "/mock/", 6) == 0) {
        /* the control endpoint is never delayed, silenced or failed */
        status = control(mx, req, path, &query, out);
        send_answer(req, status, out);
        evbuffer_free(out);
    } else {
        status = mx->fail_count > 0 ? injected_status(mx, req, out)
                                    : api(mx, req, path, &query, raw_query, out);
        respond(mx, req, status, out);
    }
    pthread_mutex_unlock(&mx->lock);
    evhttp_clear_headers(&query);
}

/* ---- The exchange thread ---- */

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    mock_binance *mx = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&mx->lock);
    mexch_flush(mx->x);
    pthread_mutex_unlock(&mx->lock);
}

static void on_feed(evutil_socket_t fd, short what, void *arg)
{
    mock_binance *mx = arg;
    char err[256];
    int64_t next;
    struct timeval tv;
    (void)fd;
    (void)what;

    pthread_mutex_lock(&mx->lock);
    next = mfeed_step(mx->feed, mono_ns(), err, sizeof err);
    if (next < 0)
        mx->feed_ended = 1;
    pthread_mutex_unlock(&mx->lock);
    if (next == -2)
        fprintf(stderr, "mock_binance: feed stopped: %s\n", err);
    if (next < 0)
        return;
    tv = tv_of_ns(next);
    evtimer_add(mx->feed_ev, &tv);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    mock_binance *mx = arg;
    uint64_t n;
    (void)what;

    if (read(fd, &n, sizeof n) < 0) {
        /* nothing to read: a spurious wake */
    }
    if (atomic_load(&mx->stop)) {
        event_base_loopbreak(mx->base);
        return;
    }
    pthread_mutex_lock(&mx->lock);
    if (mx->drop_pending)
        drop_connections(mx);
    pthread_mutex_unlock(&mx->lock);
}

static void *thread_main(void *arg)
{
    mock_binance *mx = arg;
    event_base_dispatch(mx->base);
    return NULL;
}

/* ---- Start and stop ---- */

/* Base and quote of a symbol name, by the quote assets Binance lists most. */
static void split_symbol(const char *symbol, char *base, char *quote, size_t cap)
{
    static const char *const quotes[] = {"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC",
                                         "ETH",  "BNB",  "EUR",   "TRY",  "BRL"};
    size_t n = strlen(symbol);

    for (size_t i = 0; i < sizeof quotes / sizeof *quotes; i++) {
        size_t q = strlen(quotes[i]);
        if (n > q && strcmp(symbol + n - q, quotes[i]) == 0 && n - q < cap) {
            snprintf(base, cap, "%.*s", (int)(n - q), symbol);
            snprintf(quote, cap, "%s", quotes[i]);
            return;
        }
    }
    snprintf(base, cap, "%.*s", (int)(n > 3 ? n - 3 : n), symbol);
    snprintf(quote, cap, "%s", n > 3 ? symbol + n - 3 : "USD");
}

static int list_symbols(mock_binance *mx, const mock_binance_options *opt, char *err,
                        size_t errlen)
{
    char name[32] = "BTCUSDT", base[16], quote[16];
    mexch_symbol_spec spec;

    for (size_t i = 0; i < opt->nsymbols; i++)
        if (mexch_add_symbol(mx->x, &opt->symbols[i], err, errlen) < 0)
            return -1;
    if (opt->nsymbols)
        return 0;
    if (opt->data && mfeed_capture_symbol(opt->data, name, sizeof name, err, errlen) != 0)
        return -1;
    split_symbol(name, base, quote, sizeof base);
    memset(&spec, 0, sizeof spec);
    spec.symbol = name;
    spec.base = base;
    spec.quote = quote;
    return mexch_add_symbol(mx->x, &spec, err, errlen) < 0 ? -1 : 0;
}

static int start_feed(mock_binance *mx, const mock_binance_options *opt, char *err,
                      size_t errlen)
{
    int64_t mid;
    const char *mid_s = opt->mid_price ? opt->mid_price : "60000";

    if (opt->data) {
        mx->feed = mfeed_open_capture(mx->x, 0, opt->data, opt->speed, err, errlen);
        return mx->feed ? 0 : -1;
    }
    if (!opt->generate)
        return 0;
    if (fixed_parse(mid_s, strlen(mid_s), MEXCH_SCALE, &mid) != FIXED_OK) {
        snprintf(err, errlen, "mid price '%s': not a decimal number", mid_s);
        return -1;
    }
    mx->feed = mfeed_new_generator(mx->x, 0, mid, opt->seed, opt->speed, err, errlen);
    return mx->feed ? 0 : -1;
}

static int start_http(mock_binance *mx, int port, char *err, size_t errlen)
{
    struct evhttp_bound_socket *bound;
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    mx->http = evhttp_new(mx->base);
    if (!mx->http) {
        snprintf(err, errlen, "mock rest: out of memory");
        return -1;
    }
    evhttp_set_allowed_methods(mx->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                             EVHTTP_REQ_DELETE);
    evhttp_set_gencb(mx->http, on_request, mx);
    bound = evhttp_bind_socket_with_handle(mx->http, "127.0.0.1", (ev_uint16_t)port);
    if (!bound || getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin,
                              &len) != 0) {
        snprintf(err, errlen, "mock rest: cannot listen on 127.0.0.1:%d", port);
        return -1;
    }
    mx->rest_port = ntohs(sin.sin_port);
    return 0;
}

static int start_loop(mock_binance *mx, const mock_binance_options *opt, char *err,
                      size_t errlen)
{
    int64_t every_ms = opt->depth_interval_ms > 0 ? opt->depth_interval_ms : 100;
    struct timeval every = tv_of_ns(every_ms * 1000000), now = {0, 0};

    mx->base = event_base_new();
    mx->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!mx->base || mx->wake_fd < 0) {
        snprintf(err, errlen, "mock rest: no event base or eventfd");
        return -1;
    }
    if (start_http(mx, opt->rest_port, err, errlen) != 0)
        return -1;
    mx->wake_ev = event_new(mx->base, mx->wake_fd, EV_READ | EV_PERSIST, on_wake, mx);
    mx->flush_ev = event_new(mx->base, -1, EV_PERSIST, on_flush, mx);
    mx->feed_ev = evtimer_new(mx->base, on_feed, mx);
    if (!mx->wake_ev || !mx->flush_ev || !mx->feed_ev || event_add(mx->wake_ev, NULL) != 0 ||
        event_add(mx->flush_ev, &every) != 0 || (mx->feed && evtimer_add(mx->feed_ev, &now) != 0)) {
        snprintf(err, errlen, "mock rest: cannot add the loop's events");
        return -1;
    }
    if (pthread_create(&mx->thread, NULL, thread_main, mx) != 0) {
        snprintf(err, errlen, "mock rest: cannot start its thread");
        return -1;
    }
    mx->thread_started = 1;
    return 0;
}

mock_binance *mock_binance_start(const mock_binance_options *opt, char *err, size_t errlen)
{
    mock_binance *mx = calloc(1, sizeof *mx);

    if (!mx) {
        snprintf(err, errlen, "mock_binance: out of memory");
        return NULL;
    }
    pthread_mutex_init(&mx->lock, NULL);
    mx->wake_fd = -1;
    snprintf(mx->api_key, sizeof mx->api_key, "%s", opt->api_key ? opt->api_key : MOCK_BINANCE_API_KEY);
    snprintf(mx->secret, sizeof mx->secret, "%s",
             opt->api_secret ? opt->api_secret : MOCK_BINANCE_API_SECRET);
    mweight_init(&mx->weight, opt->weight_limit);
    if (opt->weight_interval_s > 0)
        mweight_set_interval(&mx->weight, opt->weight_interval_s * INT64_C(1000));
    mx->ws = mws_start(opt->ws_port, opt->ping_interval_s, err, errlen);
    if (!mx->ws)
        goto fail;
    mx->x = mexch_new(publish, wall_ms, mx->ws);
    if (!mx->x) {
        snprintf(err, errlen, "mock_binance: out of memory");
        goto fail;
    }
    if (list_symbols(mx, opt, err, errlen) != 0 || start_feed(mx, opt, err, errlen) != 0 ||
        start_loop(mx, opt, err, errlen) != 0)
        goto fail;
    return mx;
fail:
    mock_binance_stop(mx);
    return NULL;
}

void mock_binance_stop(mock_binance *mx)
{
    if (!mx)
        return;
    if (mx->thread_started) {
        atomic_store(&mx->stop, 1);
        wake(mx);
        pthread_join(mx->thread, NULL);
    }
    /* Answer what is held (a client that has gone frees its request). */
    while (mx->held)
        held_release(mx, mx->held);
    if (mx->http)
        evhttp_free(mx->http);
    if (mx->wake_ev)
        event_free(mx->wake_ev);
    if (mx->flush_ev)
        event_free(mx->flush_ev);
    if (mx->feed_ev)
        event_free(mx->feed_ev);
    if (mx->base)
        event_base_free(mx->base);
    if (mx->wake_fd >= 0)
        close(mx->wake_fd);
    mws_stop(mx->ws);
    mfeed_free(mx->feed);
    mexch_free(mx->x);
    free(mx->conns);
    pthread_mutex_destroy(&mx->lock);
    free(mx);
}

/* ---- API ---- */

int mock_binance_rest_port(const mock_binance *mx)
{
    return mx->rest_port;
}

int mock_binance_ws_port(const mock_binance *mx)
{
    return mws_port(mx->ws);
}

int mock_binance_set_balance(mock_binance *mx, const char *asset, const char *amount,
                             char *err, size_t errlen)
{
    pthread_mutex_lock(&mx->lock);
    int rc = set_balance_locked(mx, asset, amount, err, errlen);
    pthread_mutex_unlock(&mx->lock);
    return rc;
}

void mock_binance_balance(mock_binance *mx, const char *asset, int64_t *free_out,
                          int64_t *locked)
{
    pthread_mutex_lock(&mx->lock);
    mexch_balance(mx->x, asset, free_out, locked);
    pthread_mutex_unlock(&mx->lock);
}

int mock_binance_set_level(mock_binance *mx, const char *symbol, int is_bid, const char *price,
                           const char *qty, char *err, size_t errlen)
{
    pthread_mutex_lock(&mx->lock);
    int rc = set_level_locked(mx, symbol, is_bid, price, qty, err, errlen);
    pthread_mutex_unlock(&mx->lock);
    return rc;
}

int mock_binance_trade(mock_binance *mx, const char *symbol, const char *price,
                       const char *qty, int buyer_maker, char *err, size_t errlen)
{
    pthread_mutex_lock(&mx->lock);
    int rc = trade_locked(mx, symbol, price, qty, buyer_maker, err, errlen);
    pthread_mutex_unlock(&mx->lock);
    return rc;
}

void mock_binance_flush(mock_binance *mx)
{
    pthread_mutex_lock(&mx->lock);
    mexch_flush(mx->x);
    pthread_mutex_unlock(&mx->lock);
}

void mock_binance_user_send(mock_binance *mx, const char *json)
{
    pthread_mutex_lock(&mx->lock); /* after what the exchange publishes meanwhile */
    mws_publish(mx->ws, MEXCH_USER_STREAM, json, strlen(json));
    pthread_mutex_unlock(&mx->lock);
}

size_t mock_binance_depth(mock_binance *mx, const char *symbol, int is_bid, int64_t *prices,
                          int64_t *qtys, size_t limit)
{
    pthread_mutex_lock(&mx->lock);
    int sym = mexch_symbol_find(mx->x, symbol);
    size_t n = sym >= 0 ? mexch_depth(mx->x, sym, is_bid, prices, qtys, limit) : 0;
    pthread_mutex_unlock(&mx->lock);
    return n;
}

int mock_binance_order(mock_binance *mx, const char *symbol, const char *client_id,
                       mexch_order *out)
{
    pthread_mutex_lock(&mx->lock);
    int sym = mexch_symbol_find(mx->x, symbol);
    const mexch_order *o = sym >= 0 ? mexch_find(mx->x, sym, 0, client_id) : NULL;
    if (o)
        *out = *o;
    pthread_mutex_unlock(&mx->lock);
    return o ? 0 : -1;
}

uint64_t mock_binance_update_id(mock_binance *mx, const char *symbol)
{
    pthread_mutex_lock(&mx->lock);
    int sym = mexch_symbol_find(mx->x, symbol);
    uint64_t id = sym >= 0 ? mexch_update_id(mx->x, sym) : 0;
    pthread_mutex_unlock(&mx->lock);
    return id;
}

int mock_binance_fault(mock_binance *mx, const mock_fault *f, char *err, size_t errlen)
{
    pthread_mutex_lock(&mx->lock);
    int rc = fault_locked(mx, f, err, errlen);
    pthread_mutex_unlock(&mx->lock);
    return rc;
}

int mock_binance_reject(mock_binance *mx, long code, long count, const char *msg, char *err,
                        size_t errlen)
{
    mock_reject rq = {.on = MOCK_REJECT_ORDER, .code = code, .msg = msg, .count = count};

    if (code == 0) {
        snprintf(err, errlen, "fault reject 0: not an error code (mock_binance_reject_as "
                 "sends an answer that is not Binance's)");
        return -1;
    }
    return mock_binance_reject_as(mx, &rq, err, errlen);
}

int mock_binance_reject_as(mock_binance *mx, const mock_reject *r, char *err, size_t errlen)
{
    pthread_mutex_lock(&mx->lock);
    int rc = reject_locked(mx, r, err, errlen);
    pthread_mutex_unlock(&mx->lock);
    return rc;
}

void mock_binance_reset_weight(mock_binance *mx)
{
    pthread_mutex_lock(&mx->lock);
    mweight_reset(&mx->weight);
    pthread_mutex_unlock(&mx->lock);
}

void mock_binance_pause_feed(mock_binance *mx, int paused)
{
    pthread_mutex_lock(&mx->lock);
    pause_feed_locked(mx, paused);
    pthread_mutex_unlock(&mx->lock);
}

void mock_binance_get_stats(mock_binance *mx, mock_binance_stats *out)
{
    pthread_mutex_lock(&mx->lock);
    stats_locked(mx, out);
    pthread_mutex_unlock(&mx->lock);
}

void mock_binance_stats_json(const mock_binance_stats *st, char *out, size_t cap)
{
    snprintf(out, cap, "{\"requests\":%" PRIu64 ",\"rest_connections\":%" PRIu64
             ",\"ws_connections\":%d,\"ws_accepted\":%" PRIu64 ",\"ws_user_accepted\":%" PRIu64
             ",\"weight_total\":%" PRId64 ",\"feed_messages\":%" PRIu64 ",\"feed_ended\":%s"
             ",\"feed_paused\":%s,\"rate_limited\":%" PRIu64 ",\"new_orders\":%" PRIu64
             ",\"client_id_reuses\":%" PRIu64 ",\"cancels\":%" PRIu64
             ",\"listen_keys\":%" PRIu64 ",\"open_orders\":%" PRIu64 "}",
             st->requests, st->rest_connections, st->ws_connections, st->ws_accepted,
             st->ws_user_accepted, st->weight_total, st->feed_messages,
             st->feed_ended ? "true" : "false", st->feed_paused ? "true" : "false",
             st->rate_limited, st->new_orders, st->client_id_reuses, st->cancels,
             st->listen_keys, st->open_orders);
}
