/*
 * lutra_plugin.h -- the plugin ABI: the one header a connector or plugin
 * includes (with the public headers it pulls in: lutra_event.h,
 * lutra_order.h, json.h).
 *
 * A plugin is a shared object exporting one function, LUTRA_PLUGIN_ENTRY,
 * that returns a const table describing it. The host hands each instance a
 * table of services (lutra_host_api). Both tables start with the ABI version
 * and their own size and only ever grow at the end: a reader uses a field
 * only when the other side's `size` covers it (the sqlite rule). A plugin
 * whose abi_version differs from the host's is refused, naming the file and
 * both versions.
 *
 * Threads: every call into a plugin, and every service call it makes, happens
 * on the engine thread unless a service says otherwise.
 *
 * Live and offline: `lutra run` gives an instance the live services (clock,
 * timers, HTTP, WebSocket, secrets, order reports); `lutra import` has no
 * loop, and there those services log "not available offline" once and fail
 * (0, NULL or -1). Callbacks a plugin registers (timers, HTTP answers,
 * WebSocket messages) are never called from inside the service call that
 * registers them, and never after the instance is destroyed: the host
 * cancels what is left.
 */
#ifndef LUTRA_PLUGIN_H
#define LUTRA_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "lutra_event.h"
#include "lutra_order.h"

#define LUTRA_PLUGIN_ABI_VERSION 1
#define LUTRA_PLUGIN_ENTRY "lutra_plugin_entry"

/* Kinds of plugin. */
enum lutra_plugin_kind {
    LUTRA_PLUGIN_CONNECTOR = 1, /* an exchange: decode, order entry */
    LUTRA_PLUGIN_OTHER = 2
};

/* Log levels for lutra_host_api.log. */
enum lutra_log_level {
    LUTRA_LOG_DEBUG = 0,
    LUTRA_LOG_INFO = 1,
    LUTRA_LOG_WARN = 2,
    LUTRA_LOG_ERROR = 3
};

/* Opaque handle the host passes back into its own services. */
typedef struct lutra_host lutra_host;

/* ---- HTTP: a public mirror of core/http.h ---- */

/* What went wrong below HTTP; LUTRA_HTTP_ERR_NONE when a response (any
 * status, 429 and 5xx included) arrived. */
enum lutra_http_error {
    LUTRA_HTTP_ERR_NONE = 0,
    LUTRA_HTTP_ERR_TIMEOUT = 1,   /* the request's timeout passed */
    LUTRA_HTTP_ERR_CONNECT = 2,   /* refused or unreachable */
    LUTRA_HTTP_ERR_DNS = 3,       /* the host name did not resolve */
    LUTRA_HTTP_ERR_TLS = 4,       /* handshake or certificate */
    LUTRA_HTTP_ERR_TOO_LARGE = 5, /* the body is over the client's limit */
    LUTRA_HTTP_ERR_OTHER = 6      /* the connection broke, a malformed URL or reply */
};

/* One request; the host copies all of it before http_request returns. */
typedef struct lutra_http_request {
    const char *method;         /* "GET" when NULL; "POST", "PUT", "DELETE" */
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    const char *body;           /* sent when body_len > 0, or always for POST */
    size_t body_len;
    int64_t timeout_ns;         /* the whole request; 0: the host's (10 s) */
    void *reserved[4];          /* zero */
} lutra_http_request;

/* An answer; it and everything it points to are valid during the done
 * callback only. */
typedef struct lutra_http_response {
    uint64_t id;            /* what http_request returned */
    int error;              /* enum lutra_http_error */
    int status;             /* the HTTP status; 0 on a transport failure */
    const char *error_text; /* NULL when error is LUTRA_HTTP_ERR_NONE; names
                             * the method and the URL without its query */
    const char *body;       /* never NULL; JSON_PADDING readable bytes after
                             * body_len, so json_parse works in place */
    size_t body_len;
    int64_t elapsed_ns;     /* from http_request to the answer */
    const void *host_;      /* the host's, for http_header */
    void *reserved[4];
} lutra_http_response;

typedef void (*lutra_http_done_fn)(void *ud, const lutra_http_response *r);

/* ---- WebSocket: a public mirror of core/ws.h ---- */

typedef struct lutra_ws lutra_ws;

enum lutra_ws_state {
    LUTRA_WS_CONNECTING = 1, /* an attempt began */
    LUTRA_WS_OPEN = 2,       /* the handshake completed: messages flow */
    LUTRA_WS_CLOSED = 3      /* the connection ended; a retry is scheduled */
};

typedef struct lutra_ws_status {
    int state;           /* enum lutra_ws_state */
    uint32_t attempt;    /* CONNECTING: 1 for the first attempt after a drop */
    const char *reason;  /* CLOSED: why ("pong timeout", "server closed (1000)") */
    int64_t retry_in_ms; /* CLOSED: the delay before the next attempt */
} lutra_ws_status;

/* A message: data has JSON_PADDING readable zero bytes after len and is
 * valid during the call only; recv_ns is when its last byte arrived. */
typedef void (*lutra_ws_message_fn)(void *ud, int64_t recv_ns, const char *data, size_t len);
typedef void (*lutra_ws_state_fn)(void *ud, const lutra_ws_status *st);
/* A message's sequence number, for an exact planned reconnect (ws.h).
 * @return 0, or -1 if the message has none. Called on the I/O thread: it
 * must only read data. */
typedef int (*lutra_ws_seq_fn)(void *ud, const char *data, size_t len, uint64_t *seq);

/* A connection that stays up: it reconnects by itself after a drop, with
 * exponential backoff and full jitter, and pings. Zero fields take the
 * defaults. */
typedef struct lutra_ws_config {
    const char *url;              /* ws://host[:port]/path or wss://...; copied */
    lutra_ws_message_fn on_message; /* required */
    lutra_ws_state_fn on_state;   /* may be NULL */
    lutra_ws_seq_fn seq;          /* may be NULL */
    void *ud;                     /* passed to the three above */
    int64_t backoff_base_ms;      /* 0: 250 */
    int64_t backoff_cap_ms;       /* 0: 30000 */
    int64_t ping_interval_ms;     /* 0: 20000; negative: no pings */
    int64_t pong_timeout_ms;      /* 0: 10000 */
    uint64_t seed;                /* the jitter's generator */
    size_t max_message;           /* a longer message drops the connection; 0: 64 MiB */
    void *reserved[4];            /* zero */
} lutra_ws_config;

/*
 * Services the host offers a plugin instance. Append-only.
 */
typedef struct lutra_host_api {
    uint32_t abi_version; /* LUTRA_PLUGIN_ABI_VERSION of the host */
    uint32_t size;        /* sizeof(lutra_host_api) in the host */

    /* Log one line under the plugin's name. Never pass a secret. */
    void (*log)(lutra_host *h, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Hand one normalized event to the engine (copied before return).
     * head.instrument is an id from instrument_find/instrument_define.
     * @return 0, or -1 if the engine refused it (the reason is logged). */
    int (*emit)(lutra_host *h, const lutra_event *ev);

    /* Instruments. find: the id of (venue, symbol) or -1. define: add a
     * definition (or get the id of an identical one) or -1 on conflict;
     * empty base and quote are filled by splitting the symbol. */
    int32_t (*instrument_find)(lutra_host *h, const char *venue, const char *symbol);
    int32_t (*instrument_define)(lutra_host *h, const lutra_instrument *def);
    const lutra_instrument *(*instrument_get)(lutra_host *h, uint32_t id);

    /* Configuration of this instance: the value of key as a string, or NULL.
     * Valid for the instance's life. */
    const char *(*config_get)(lutra_host *h, const char *key);

    /* Exact decimals (fixed.h): parse, and the smallest scale that holds s. */
    int (*fixed_parse)(const char *s, size_t len, int scale, int64_t *out);
    int (*fixed_decimals)(const char *s, size_t len);

    /* The JSON facade (json.h). */
    json_parser *(*json_parser_new)(void);
    void (*json_parser_free)(json_parser *p);
    int (*json_parse)(json_parser *p, const char *buf, size_t len, json_value *root);
    int (*json_field)(json_value *obj, const char *key, json_value *out);
    int (*json_string)(json_value *v, const char **s, size_t *len);
    int (*json_number_text)(json_value *v, const char **s, size_t *len);
    int (*json_int64)(json_value *v, int64_t *out);
    int (*json_uint64)(json_value *v, uint64_t *out);
    int (*json_bool)(json_value *v, int *out);
    int (*json_array_begin)(json_value *arr, json_iter *it);
    int (*json_array_next)(json_iter *it, json_value *out);
    const char *(*json_last_error)(void);
    int (*json_field_opt)(json_value *obj, const char *key, json_value *out);

    /* Services below took a reserved slot, so `size` covers them in every
     * host of this ABI version: a host older than one leaves it NULL. Check
     * the pointer before the first call. */

    /* A whole array of [price, qty, ...] rows in one call (json.h). */
    int (*json_string_rows)(json_iter *it, json_text *out, size_t cols, size_t max_rows,
                            size_t *nrows);

    /* ---- Live services (see "Live and offline" above) ---- */

    /* The engine's clock, ns since the epoch: the wall clock live. Offline: 0. */
    int64_t (*now)(lutra_host *h);

    /* Call fn(ud) after delay_ns, then every every_ns if every_ns > 0.
     * @return the timer's id (never 0), or 0 with the reason logged.
     * timer_cancel: stop it; an id that fired (one-shot) or was cancelled
     * is ignored; allowed inside fn. */
    uint64_t (*timer_add)(lutra_host *h, int64_t delay_ns, int64_t every_ns,
                          void (*fn)(void *ud), void *ud);
    void (*timer_cancel)(lutra_host *h, uint64_t id);

    /* Send a request through the host's HTTP client (libcurl on the
     * engine's loop: kept-alive connections, never blocking). done is
     * called once, later, unless the request is cancelled first.
     * @return the request's id (never 0), or 0 with the reason logged.
     * http_cancel: done will not be called; a finished id is ignored.
     * http_header: a response header (case-insensitive; the first of a
     * repeated one), or NULL; during done only. */
    uint64_t (*http_request)(lutra_host *h, const lutra_http_request *req,
                             lutra_http_done_fn done, void *ud);
    void (*http_cancel)(lutra_host *h, uint64_t id);
    const char *(*http_header)(const lutra_http_response *r, const char *name);

    /* Open a WebSocket connection (its own I/O thread; callbacks on the
     * engine thread). @return it, or NULL with the reason logged.
     * ws_send: queue one text message. @return 0, or -1 (logged) when not
     * open or the queue is full; a message queued when the connection drops
     * is lost: resend what a new connection needs after LUTRA_WS_OPEN.
     * ws_reconnect_planned: open a second connection and switch to it once
     * it delivers (a venue's 24-hour limit); the switch is silent (no
     * on_state), and without a seq function a message sent on both around
     * it may come twice. @return 0, or -1 if one is under way or not open.
     * ws_close: close it; no callback of it runs afterwards, and the
     * pointer is dead. Allowed inside its own callbacks. */
    lutra_ws *(*ws_open)(lutra_host *h, const lutra_ws_config *cfg);
    int (*ws_send)(lutra_ws *w, const char *data, size_t len);
    int (*ws_reconnect_planned)(lutra_ws *w);
    void (*ws_close)(lutra_ws *w);

    /* The secret named by configuration key `key` ("api_key",
     * "api_secret"), resolved by the host from the environment or an
     * owner-only file, or NULL if this instance has none. Valid for the
     * instance's life. Never log it, put it in an error, or send it anywhere
     * but where the venue requires it. */
    const char *(*secret_get)(lutra_host *h, const char *key);

    /* Order entry reports (lutra_order.h), copied before return. See
     * lutra_plugin.submit for what each call must lead to.
     * @return 0, or -1 if refused (malformed: the reason is logged). */
    int (*emit_exec)(lutra_host *h, const lutra_exec *x);
    int (*emit_balance)(lutra_host *h, const lutra_balance *b);
    /* The venue's connection state (enum lutra_feed_state) for order entry
     * and the feed as a whole; reason (may be NULL) is for people.
     * DISCONNECTED says reports may have been lost meanwhile: once the venue
     * is READY again the host reconciles it (query_orders, query_order for
     * each open order the list leaves out, query_balances). */
    int (*emit_state)(lutra_host *h, int state, const char *reason);

    /* v at scale as an exact decimal without trailing zeros ("0.0015").
     * @return its length, or -1 if cap is too small (32 always suffices). */
    int (*fixed_format_trim)(int64_t v, int scale, char *buf, size_t cap);
    /* json_parse for a buffer without JSON_PADDING: the parser copies it. */
    int (*json_parse_copy)(json_parser *p, const char *buf, size_t len, json_value *root);

    /* A connector calls this with every market-data message it receives
     * live, exactly the bytes (and receive time) it then hands to its own
     * decode: each WebSocket market message and each REST depth snapshot
     * body. A recording (`lutra record`) then replays through the same
     * decode. A no-op when nothing records, and offline. msg is read
     * during the call only. */
    void (*record)(lutra_host *h, int64_t recv_ns, const char *msg, size_t len);

    /* Room to grow without breaking plugins built against this version. */
    void *reserved[13];
} lutra_host_api;

/*
 * What a plugin exports. Append-only, like lutra_host_api.
 */
typedef struct lutra_plugin {
    uint32_t abi_version; /* LUTRA_PLUGIN_ABI_VERSION the plugin was built with */
    uint32_t size;        /* sizeof(lutra_plugin) in the plugin */
    uint32_t kind;        /* enum lutra_plugin_kind */
    uint32_t reserved0;
    const char *name;     /* "binance" */
    const char *version;  /* the plugin's own version, shown to users */

    /* Make an instance. Configuration comes through api->config_get.
     * @return the instance, or NULL with the reason logged. */
    void *(*create)(const lutra_host_api *api, lutra_host *h);
    /* Connect and begin (live only). @return 0 or -1. */
    int (*start)(void *self);
    /* Stop what start began; no service is called after it returns. */
    int (*stop)(void *self);
    void (*destroy)(void *self);

    /*
     * Connector: decode one received market-data message into events through
     * api->emit, keeping any book synchronisation state in the instance.
     * msg has JSON_PADDING readable bytes after len. The same code decodes
     * live frames and recorded captures.
     * @return 0; 1 if the message was understood but not market data this
     * connector turns into events; -1 if malformed (the reason is logged).
     */
    int (*decode)(void *self, int64_t recv_ns, const char *msg, size_t len);

    /*
     * Connector order entry; NULL in a plugin that only decodes. Each call
     * starts work and returns: every outcome is reported later through
     * api->emit_exec / emit_balance, never from inside the call.
     *
     * submit: send order o (copy what you keep). @return 0 when taken: then
     * exactly one ACCEPTED or REJECTED follows (REJECTED with the reason,
     * local refusals included), then, for an accepted order, FILLs until
     * it is filled, or CANCELED or EXPIRED. -1 when it could not be taken at
     * all (not connected): nothing follows and the engine rejects it.
     */
    int (*submit)(void *self, const lutra_order *o);
    /* Ask to cancel o. @return 0 when sent: then CANCELED, or the FILL or
     * EXPIRED that ended it first, or CANCEL_REJECTED with the reason when
     * the venue refused and the order stays as it was; -1 as submit. */
    int (*cancel)(void *self, const lutra_order *o);
    /* Report every open order at the venue as a STATUS (status, side,
     * instrument, price, qty, filled), then one STATUS with an empty
     * order_id: done.
     * @return 0, or -1 when it cannot ask (nothing follows). */
    int (*query_orders)(void *self);
    /* Report every balance through emit_balance. @return 0 or -1. */
    int (*query_balances)(void *self);

    /* Entries below took a reserved slot: a plugin built before one leaves
     * it NULL, and the host checks the pointer (plugin.h says what it does
     * then). */

    /*
     * Learn the fate of an order whose outcome is unknown (sent before a
     * crash, or a submit whose answer was lost). Report what the venue knows
     * of o (by o->id and o->instrument): each of its fills as a FILL with
     * trade_id, fee and liquidity (all of them, ones reported before
     * included: the engine counts a trade_id once), then one STATUS with
     * status, filled, price, qty, side, venue_order_id: the STATUS ends the
     * answer. An order the venue does not know ends with a STATUS whose
     * status is REJECTED and a reason saying the venue does not know it
     * (qty, price and side then are o's). A question that fails on the way
     * (network, the venue's rate limits or errors) ends with a STATUS whose
     * status is PENDING_NEW and the reason: still unknown, ask again later;
     * the connector does not retry by itself.
     * @return 0, or -1 when it cannot ask (nothing follows).
     */
    int (*query_order)(void *self, const lutra_order *o);

    /*
     * Optional (NULL: nothing). Keep the order path warm: while the engine
     * thread spins between messages (the venue's ws_spin_us), the host
     * calls it every LUTRA_WARM_EVERY_US or so of quiet, on the engine
     * thread, never inside another entry. Run the code an order will run,
     * and touch the data it will read, without any effect: sign a request
     * that is never sent, say. On this kind of machine code that ran a
     * millisecond ago runs several times slower than code that ran a few
     * microseconds ago. It must not emit, send, start timers or change
     * anything a later call can observe, and should take a microsecond or
     * two at most.
     */
    void (*warm)(void *self);

    /* Room to grow without breaking plugins built against this version. */
    void *reserved[10];
} lutra_plugin;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && defined(__LP64__)
_Static_assert(sizeof(lutra_host_api) == 424, "lutra_host_api keeps its size in ABI 1");
_Static_assert(sizeof(lutra_plugin) == 200, "lutra_plugin keeps its size in ABI 1");
#endif

/* How often, at most, the host calls lutra_plugin.warm while spinning. */
#define LUTRA_WARM_EVERY_US 100

/* The signature of the exported entry point. */
typedef const lutra_plugin *(*lutra_plugin_entry_fn)(void);

#endif
