/*
 * plugin_host.c -- the services a plugin instance is handed (lutra_host_api,
 * lutra_plugin.h): log, events, instruments, configuration, the JSON facade
 * and, live, the clock, timers, HTTP, WebSocket, secrets and order reports.
 *
 * A plugin sees the host only through the one static const table
 * plugin_host_api and the opaque lutra_host of its instance (plugin_impl.h):
 * the registry, the emit callback, a copy of the configuration, the
 * plugin's name for log lines, and, live, the loop and the handles of every
 * timer, HTTP request and WebSocket the instance opened.
 *
 * Handles: a plugin names a timer or a request by a 64-bit id, the
 * generation of a slot above its index, so an id that fired or was
 * cancelled misses when its slot is reused. Slots are allocated once and
 * kept on a free list: a connector that sends a request per order allocates
 * nothing in the steady state. A slot is released before the plugin's
 * callback runs, so cancelling its own id inside the callback is a no-op.
 */
#include "plugin_impl.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixed.h"
#include "grow.h"
#include "json.h"
#include "log.h"
#include "ws.h"

_Static_assert((int)LUTRA_LOG_DEBUG == (int)LOG_DEBUG && (int)LUTRA_LOG_INFO == (int)LOG_INFO &&
                   (int)LUTRA_LOG_WARN == (int)LOG_WARN &&
                   (int)LUTRA_LOG_ERROR == (int)LOG_ERROR,
               "plugin log levels are the core's");
_Static_assert((int)LUTRA_HTTP_ERR_NONE == (int)HTTP_ERR_NONE &&
                   (int)LUTRA_HTTP_ERR_TIMEOUT == (int)HTTP_ERR_TIMEOUT &&
                   (int)LUTRA_HTTP_ERR_CONNECT == (int)HTTP_ERR_CONNECT &&
                   (int)LUTRA_HTTP_ERR_DNS == (int)HTTP_ERR_DNS &&
                   (int)LUTRA_HTTP_ERR_TLS == (int)HTTP_ERR_TLS &&
                   (int)LUTRA_HTTP_ERR_TOO_LARGE == (int)HTTP_ERR_TOO_LARGE &&
                   (int)LUTRA_HTTP_ERR_OTHER == (int)HTTP_ERR_OTHER,
               "plugin HTTP errors are http.h's");
_Static_assert((int)LUTRA_WS_CONNECTING == (int)WS_CONNECTING &&
                   (int)LUTRA_WS_OPEN == (int)WS_OPEN && (int)LUTRA_WS_CLOSED == (int)WS_CLOSED,
               "plugin WebSocket states are ws.h's");


enum handle_kind { HANDLE_FREE = 0, HANDLE_TIMER, HANDLE_HTTP, HANDLE_WS };

/* A timer, a request or a WebSocket of one instance. Allocated once, then
 * reused through the free list: its address is stable (the loop, the HTTP
 * client and the ws object hold it as their callback's ud). */
typedef struct host_handle {
    lutra_host *host;
    uint32_t slot;      /* index in host->handles */
    uint32_t gen;       /* bumped at every release: stale ids miss */
    uint32_t next_free; /* free list link, a slot index or NO_SLOT */
    int kind;           /* enum handle_kind */
    void *ud;           /* the plugin's */
    union {
        struct {
            loop_timer *t;
            void (*fn)(void *ud);
            int repeating;
        } timer;
        struct {
            uint64_t id; /* the HTTP client's */
            lutra_http_done_fn done;
        } http;
        struct {
            ws *w;
            lutra_ws_message_fn on_message;
            lutra_ws_state_fn on_state;
            lutra_ws_seq_fn seq;
            int depth;          /* inside one of its callbacks now */
            int closing;        /* ws_close was called: deliver nothing more */
            loop_timer *reaper; /* frees it after a close from its own callback */
        } ws;
    } u;
} host_handle;

#define NO_SLOT UINT32_MAX

/* Live services warned about offline, one bit each: warn once per instance. */
enum offline_service {
    SVC_NOW = 0,
    SVC_TIMER,
    SVC_HTTP,
    SVC_WS,
    SVC_SECRET,
    SVC_EXEC,
    SVC_BALANCE,
    SVC_STATE
};

void plugin_host_init(lutra_host *h, plugin_handle *image, instrument_registry *reg,
                      plugin_emit_fn emit, void *ud, const plugin_live *live)
{
    h->reg = reg;
    h->emit = emit;
    h->ud = ud;
    h->name = plugin_table(image)->name;
    h->image = image;
    h->free_slot = NO_SLOT;
    if (live) {
        h->live_copy = *live;
        h->live = &h->live_copy;
    }
}

/* ---- Handles ---- */

static uint64_t handle_id(const host_handle *hd)
{
    return (uint64_t)hd->gen << 32 | (uint64_t)(hd->slot + 1);
}

/* A free handle of `kind`, or NULL when out of memory (logged). */
static host_handle *handle_take(lutra_host *h, int kind)
{
    host_handle *hd;

    if (h->free_slot != NO_SLOT) {
        hd = h->handles[h->free_slot];
        h->free_slot = hd->next_free;
    } else {
        host_handle **grown =
            h->nhandles < NO_SLOT - 1
                ? grow_capacity(h->handles, &h->cap, h->nhandles + 1, sizeof *grown, 16)
                : NULL;
        hd = grown ? calloc(1, sizeof *hd) : NULL;
        if (!hd) {
            if (grown)
                h->handles = grown;
            log_write(LOG_ERROR, h->name, "out of memory for a timer, request or websocket");
            return NULL;
        }
        h->handles = grown;
        hd->host = h;
        hd->slot = (uint32_t)h->nhandles;
        hd->gen = 1;
        h->handles[h->nhandles++] = hd;
    }
    memset(&hd->u, 0, sizeof hd->u);
    hd->kind = kind;
    hd->next_free = NO_SLOT;
    h->in_use++;
    plugin_image_ref(h->image);
    return hd;
}

static void handle_release(host_handle *hd)
{
    lutra_host *h = hd->host;

    hd->kind = HANDLE_FREE;
    hd->ud = NULL;
    hd->gen = hd->gen == UINT32_MAX ? 1 : hd->gen + 1;
    hd->next_free = h->free_slot;
    h->free_slot = hd->slot;
    h->in_use--;
    /* Never the last reference: the instance holds one while any of its
     * callbacks can run. */
    plugin_image_unref(h->image);
}

/* The handle of `kind` that id names now, or NULL (fired, cancelled, never). */
static host_handle *handle_find(const lutra_host *h, uint64_t id, int kind)
{
    uint64_t slot = (id & 0xffffffffu) - 1;

    if (id == 0 || slot >= h->nhandles)
        return NULL;
    host_handle *hd = h->handles[slot];
    return hd->kind == kind && hd->gen == (uint32_t)(id >> 32) ? hd : NULL;
}

/* ---- Host services ---- */

static void host_log(lutra_host *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(lutra_host *h, int level, const char *fmt, ...)
{
    va_list ap;

    if (level >= LUTRA_LOG_ERROR) {
        va_start(ap, fmt);
        vsnprintf(h->last_error, sizeof h->last_error, fmt, ap);
        va_end(ap);
    }
    va_start(ap, fmt);
    log_vwrite(level, h->name, fmt, ap);
    va_end(ap);
}

/*
 * The live context, or NULL offline after one warning per service and
 * instance (a connector calling now() per message must not flood the log).
 */
static const plugin_live *live_or_warn(lutra_host *h, int service, const char *what)
{
    if (h->live)
        return h->live;
    if (!(h->offline_warned & 1u << service)) {
        h->offline_warned |= 1u << service;
        log_write(LOG_WARN, h->name, "%s: not available offline (no live context)", what);
    }
    return NULL;
}

static int host_emit(lutra_host *h, const lutra_event *ev)
{
    uint16_t size = lutra_event_size(ev->h.type);

    if (size == 0 || ev->h.size != size) {
        log_write(LOG_ERROR, h->name, "event refused: type %u with size %u (expected %u)",
                  ev->h.type, ev->h.size, size);
        return -1;
    }
    if (!instrument_registry_get(h->reg, ev->h.instrument)) {
        log_write(LOG_ERROR, h->name, "event refused: unknown instrument id %u",
                  ev->h.instrument);
        return -1;
    }
    return h->emit(h->ud, ev);
}

static int32_t host_instrument_find(lutra_host *h, const char *venue, const char *symbol)
{
    return instrument_registry_find(h->reg, venue, symbol);
}

static int32_t host_instrument_define(lutra_host *h, const lutra_instrument *def)
{
    lutra_instrument copy = *def;
    char err[256];

    if (!copy.base[0] && !copy.quote[0] &&
        instrument_split_symbol(copy.symbol, copy.base, sizeof copy.base, copy.quote,
                                sizeof copy.quote) != 0)
        log_write(LOG_WARN, h->name, "cannot tell base and quote of symbol=%.*s",
                  (int)sizeof copy.symbol, copy.symbol);
    int32_t id = instrument_registry_add(h->reg, &copy, err, sizeof err);
    if (id < 0)
        log_write(LOG_ERROR, h->name, "%s", err);
    return id;
}

static const lutra_instrument *host_instrument_get(lutra_host *h, uint32_t id)
{
    return instrument_registry_get(h->reg, id);
}

static const char *host_config_get(lutra_host *h, const char *key)
{
    for (char **kv = h->conf; kv && kv[0]; kv += 2)
        if (strcmp(kv[0], key) == 0)
            return kv[1];
    return NULL;
}

/* ---- Live services: clock and timers ---- */

static int64_t host_now(lutra_host *h)
{
    const plugin_live *live = live_or_warn(h, SVC_NOW, "now");

    if (!live)
        return 0;
    return live->clock ? live->clock(live->clock_ud) : loop_now_ns();
}

static void timer_fired(loop_timer *t, void *arg)
{
    host_handle *hd = arg;
    void (*fn)(void *) = hd->u.timer.fn;
    void *ud = hd->ud;
    (void)t;

    /* A one-shot's loop handle dies when this returns: its id goes first. */
    if (!hd->u.timer.repeating)
        handle_release(hd);
    fn(ud);
}

static uint64_t host_timer_add(lutra_host *h, int64_t delay_ns, int64_t every_ns,
                               void (*fn)(void *ud), void *ud)
{
    const plugin_live *live = live_or_warn(h, SVC_TIMER, "timer_add");
    char err[256];

    if (!live)
        return 0;
    if (!fn) {
        log_write(LOG_ERROR, h->name, "timer_add: no function");
        return 0;
    }
    host_handle *hd = handle_take(h, HANDLE_TIMER);
    if (!hd)
        return 0;
    hd->ud = ud;
    hd->u.timer.fn = fn;
    hd->u.timer.repeating = every_ns > 0;
    hd->u.timer.t = loop_timer_add(live->lp, delay_ns, every_ns > 0 ? every_ns : 0,
                                   timer_fired, hd, err, sizeof err);
    if (!hd->u.timer.t) {
        log_write(LOG_ERROR, h->name, "timer_add: %s", err);
        handle_release(hd);
        return 0;
    }
    return handle_id(hd);
}

static void host_timer_cancel(lutra_host *h, uint64_t id)
{
    host_handle *hd = handle_find(h, id, HANDLE_TIMER);

    if (!hd)
        return;
    loop_timer_cancel(hd->u.timer.t);
    handle_release(hd);
}

/* ---- Live services: HTTP ---- */

static void http_answered(void *arg, uint64_t client_id, const http_response *r)
{
    host_handle *hd = arg;
    lutra_http_done_fn done = hd->u.http.done;
    void *ud = hd->ud;
    lutra_http_response pub = {
        .id = handle_id(hd),
        .error = r->error,
        .status = r->status,
        .error_text = r->error_text,
        .body = r->body,
        .body_len = r->body_len,
        .elapsed_ns = r->elapsed_ns,
        .host_ = r,
    };
    (void)client_id;

    handle_release(hd);
    done(ud, &pub);
}

static uint64_t host_http_request(lutra_host *h, const lutra_http_request *req,
                                  lutra_http_done_fn done, void *ud)
{
    const plugin_live *live = live_or_warn(h, SVC_HTTP, "http_request");
    char err[512];

    if (!live)
        return 0;
    if (!live->http || !req || !done) {
        log_write(LOG_ERROR, h->name, "http_request: %s",
                  !live->http ? "this host has no HTTP client" : "no request or no callback");
        return 0;
    }
    host_handle *hd = handle_take(h, HANDLE_HTTP);
    if (!hd)
        return 0;
    http_request r = {
        .method = req->method,
        .url = req->url,
        .headers = req->headers,
        .nheaders = req->nheaders,
        .body = req->body,
        .body_len = req->body_len,
        .timeout_ns = req->timeout_ns,
    };
    hd->ud = ud;
    hd->u.http.done = done;
    hd->u.http.id = http_send(live->http, &r, http_answered, hd, err, sizeof err);
    if (hd->u.http.id == 0) {
        log_write(LOG_ERROR, h->name, "http_request: %s", err);
        handle_release(hd);
        return 0;
    }
    return handle_id(hd);
}

static void host_http_cancel(lutra_host *h, uint64_t id)
{
    host_handle *hd = handle_find(h, id, HANDLE_HTTP);

    if (!hd)
        return;
    http_cancel(h->live->http, hd->u.http.id);
    handle_release(hd);
}

static const char *host_http_header(const lutra_http_response *r, const char *name)
{
    return r && r->host_ && name ? http_response_header(r->host_, name) : NULL;
}

/* ---- Live services: WebSocket ---- */

/* lutra_ws is a WebSocket handle, seen from outside. */
static host_handle *ws_handle(lutra_ws *w)
{
    return (host_handle *)(void *)w;
}

static void ws_message_cb(void *arg, int64_t recv_ns, const char *data, size_t len)
{
    host_handle *hd = arg;

    if (hd->u.ws.closing)
        return;
    hd->u.ws.depth++;
    hd->u.ws.on_message(hd->ud, recv_ns, data, len);
    hd->u.ws.depth--;
}

static void ws_state_cb(void *arg, const ws_status *st)
{
    host_handle *hd = arg;
    lutra_ws_status pub = {
        .state = st->state,
        .attempt = st->attempt,
        .reason = st->reason,
        .retry_in_ms = st->retry_in_ms,
    };

    if (hd->u.ws.closing || !hd->u.ws.on_state)
        return;
    hd->u.ws.depth++;
    hd->u.ws.on_state(hd->ud, &pub);
    hd->u.ws.depth--;
}

/* On the I/O thread: reads only what stays fixed while the ws is open. */
static int ws_seq_cb(void *arg, const char *data, size_t len, uint64_t *seq)
{
    const host_handle *hd = arg;
    return hd->u.ws.seq(hd->ud, data, len, seq);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The engine spins and nothing came: warm the plugin, once for all of its
 * connections (each calls this) every LUTRA_WARM_EVERY_US. */
static void ws_idle_cb(void *arg)
{
    host_handle *hd = arg;
    lutra_host *h = hd->host;
    int64_t now = mono_ns();

    if (hd->u.ws.closing || now - h->warmed_ns < LUTRA_WARM_EVERY_US * INT64_C(1000))
        return;
    plugin_host_warm(h);
    h->warmed_ns = mono_ns();
}

static lutra_ws *host_ws_open(lutra_host *h, const lutra_ws_config *cfg)
{
    const plugin_live *live = live_or_warn(h, SVC_WS, "ws_open");
    char err[512];

    if (!live)
        return NULL;
    if (!cfg || !cfg->url || !cfg->on_message) {
        log_write(LOG_ERROR, h->name, "ws_open: url and on_message are required");
        return NULL;
    }
    host_handle *hd = handle_take(h, HANDLE_WS);
    if (!hd)
        return NULL;
    hd->ud = cfg->ud;
    hd->u.ws.on_message = cfg->on_message;
    hd->u.ws.on_state = cfg->on_state;
    hd->u.ws.seq = cfg->seq;
    ws_config wc = {
        .url = cfg->url,
        .on_message = ws_message_cb,
        .on_state = ws_state_cb,
        .seq = cfg->seq ? ws_seq_cb : NULL,
        .ud = hd,
        .backoff_base_ms = cfg->backoff_base_ms,
        .backoff_cap_ms = cfg->backoff_cap_ms,
        .ping_interval_ms = cfg->ping_interval_ms,
        .pong_timeout_ms = cfg->pong_timeout_ms,
        .seed = cfg->seed,
        .max_message = cfg->max_message,
        .spin_us = live->ws_spin_us,
        .on_idle = plugin_host_can_warm(h) ? ws_idle_cb : NULL,
        .idle_us = LUTRA_WARM_EVERY_US,
    };
    hd->u.ws.w = ws_open(loop_base(live->lp), &wc, err, sizeof err);
    if (!hd->u.ws.w) {
        log_write(LOG_ERROR, h->name, "ws_open: %s", err);
        handle_release(hd);
        return NULL;
    }
    return (lutra_ws *)(void *)hd;
}

static int host_ws_send(lutra_ws *w, const char *data, size_t len)
{
    host_handle *hd = ws_handle(w);
    char err[512];

    if (!w)
        return -1;
    if (hd->u.ws.closing) {
        log_write(LOG_ERROR, hd->host->name, "ws_send: the connection was closed");
        return -1;
    }
    if (ws_send(hd->u.ws.w, data, len, err, sizeof err) != 0) {
        log_write(LOG_WARN, hd->host->name, "ws_send: %s", err);
        return -1;
    }
    return 0;
}

static int host_ws_reconnect_planned(lutra_ws *w)
{
    host_handle *hd = ws_handle(w);
    return !w || hd->u.ws.closing ? -1 : ws_reconnect_planned(hd->u.ws.w);
}

/* ws_free joins the I/O thread; no callback of it runs afterwards. */
static void ws_handle_free(host_handle *hd)
{
    if (hd->u.ws.reaper)
        loop_timer_cancel(hd->u.ws.reaper);
    ws_free(hd->u.ws.w);
    handle_release(hd);
}

static void ws_reap(loop_timer *t, void *arg)
{
    host_handle *hd = arg;
    (void)t;

    hd->u.ws.reaper = NULL; /* a one-shot: the loop frees it */
    ws_handle_free(hd);
}

static void host_ws_close(lutra_ws *w)
{
    host_handle *hd = ws_handle(w);
    char err[256];

    if (!w || hd->u.ws.closing)
        return;
    hd->u.ws.closing = 1;
    if (hd->u.ws.depth == 0) {
        ws_handle_free(hd);
        return;
    }
    /* Inside its own callback ws is still draining its ring: free it once
     * the loop has left it. Until then it delivers nothing (closing). If no
     * timer can be had, the instance's destroy frees it. */
    hd->u.ws.reaper = loop_timer_add(hd->host->live->lp, 0, 0, ws_reap, hd, err, sizeof err);
    if (!hd->u.ws.reaper)
        log_write(LOG_WARN, hd->host->name, "ws_close: %s; closed at destroy", err);
}

/* ---- Live services: secrets and reports ---- */

static const char *host_secret_get(lutra_host *h, const char *key)
{
    const plugin_live *live = live_or_warn(h, SVC_SECRET, "secret_get");
    return live ? secret_store_get(live->secrets, key) : NULL;
}

static bool str_in(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* @return NULL if x is well formed, else why not. */
static const char *exec_problem(const lutra_exec *x)
{
    if (x->kind < LUTRA_EXEC_ACCEPTED || x->kind > LUTRA_EXEC_CANCEL_REJECTED)
        return "unknown kind";
    if (!str_in(x->order_id, sizeof x->order_id) ||
        !str_in(x->venue_order_id, sizeof x->venue_order_id) ||
        !str_in(x->trade_id, sizeof x->trade_id) ||
        !str_in(x->fee_asset, sizeof x->fee_asset) || !str_in(x->reason, sizeof x->reason))
        return "a string without its NUL";
    if (!x->order_id[0] && x->kind != LUTRA_EXEC_STATUS)
        return "no order_id";
    if (x->kind == LUTRA_EXEC_FILL && (x->qty <= 0 || x->price < 0))
        return "a fill without a positive qty";
    if (x->kind == LUTRA_EXEC_STATUS && x->order_id[0] &&
        (x->qty <= 0 || x->filled < 0 || x->filled > x->qty))
        return "a status without 0 <= filled <= qty";
    if (x->side > LUTRA_SIDE_SELL || x->liquidity > LUTRA_LIQ_TAKER)
        return "unknown side or liquidity";
    if (x->status > LUTRA_ORDER_PENDING_CANCEL)
        return "unknown status";
    return NULL;
}

static int host_emit_exec(lutra_host *h, const lutra_exec *x)
{
    const plugin_live *live = live_or_warn(h, SVC_EXEC, "emit_exec");
    const char *problem;

    if (!live)
        return -1;
    problem = exec_problem(x);
    if (problem) {
        log_write(LOG_ERROR, h->name, "order report refused: %s kind=%u order_id=%.*s", problem,
                  x->kind, (int)strnlen(x->order_id, sizeof x->order_id), x->order_id);
        return -1;
    }
    return live->on_exec ? live->on_exec(live->ud, x) : 0;
}

static int host_emit_balance(lutra_host *h, const lutra_balance *b)
{
    const plugin_live *live = live_or_warn(h, SVC_BALANCE, "emit_balance");

    if (!live)
        return -1;
    if (!str_in(b->asset, sizeof b->asset) || !b->asset[0]) {
        log_write(LOG_ERROR, h->name, "balance refused: no asset name");
        return -1;
    }
    return live->on_balance ? live->on_balance(live->ud, b) : 0;
}

static int host_emit_state(lutra_host *h, int state, const char *reason)
{
    const plugin_live *live = live_or_warn(h, SVC_STATE, "emit_state");

    if (!live)
        return -1;
    if (state < LUTRA_FEED_CONNECTING || state > LUTRA_FEED_DISCONNECTED) {
        log_write(LOG_ERROR, h->name, "state refused: unknown state %d", state);
        return -1;
    }
    if (live->on_state)
        live->on_state(live->ud, state, reason ? reason : "");
    return 0;
}

/* Offline and with recording off this is a silent no-op: a connector calls
 * it for every message and need not know whether anyone listens. */
static void host_record(lutra_host *h, int64_t recv_ns, const char *msg, size_t len)
{
    if (h->live && h->live->record)
        h->live->record(h->live->record_ud, recv_ns, msg, len);
}


const lutra_host_api plugin_host_api = {
    .abi_version = LUTRA_PLUGIN_ABI_VERSION,
    .size = sizeof(lutra_host_api),
    .log = host_log,
    .emit = host_emit,
    .instrument_find = host_instrument_find,
    .instrument_define = host_instrument_define,
    .instrument_get = host_instrument_get,
    .config_get = host_config_get,
    .fixed_parse = fixed_parse,
    .fixed_decimals = fixed_decimals,
    .json_parser_new = json_parser_new,
    .json_parser_free = json_parser_free,
    .json_parse = json_parse,
    .json_field = json_field,
    .json_string = json_string,
    .json_number_text = json_number_text,
    .json_int64 = json_int64,
    .json_uint64 = json_uint64,
    .json_bool = json_bool,
    .json_array_begin = json_array_begin,
    .json_array_next = json_array_next,
    .json_last_error = json_last_error,
    .json_field_opt = json_field_opt,
    .json_string_rows = json_string_rows,
    .now = host_now,
    .timer_add = host_timer_add,
    .timer_cancel = host_timer_cancel,
    .http_request = host_http_request,
    .http_cancel = host_http_cancel,
    .http_header = host_http_header,
    .ws_open = host_ws_open,
    .ws_send = host_ws_send,
    .ws_reconnect_planned = host_ws_reconnect_planned,
    .ws_close = host_ws_close,
    .secret_get = host_secret_get,
    .emit_exec = host_emit_exec,
    .emit_balance = host_emit_balance,
    .emit_state = host_emit_state,
    .fixed_format_trim = fixed_format_trim,
    .json_parse_copy = json_parse_copy,
    .record = host_record,
};

/* Cancel and close whatever the plugin left open, then free the slots. */
void plugin_host_close_handles(lutra_host *h)
{
    for (size_t i = 0; i < h->nhandles; i++) {
        host_handle *hd = h->handles[i];
        int held = hd->kind != HANDLE_FREE;
        switch (hd->kind) {
        case HANDLE_TIMER:
            loop_timer_cancel(hd->u.timer.t);
            break;
        case HANDLE_HTTP:
            http_cancel(h->live->http, hd->u.http.id);
            break;
        case HANDLE_WS:
            if (hd->u.ws.reaper)
                loop_timer_cancel(hd->u.ws.reaper);
            ws_free(hd->u.ws.w);
            break;
        default:
            break;
        }
        if (held)
            plugin_image_unref(h->image);
        free(hd);
    }
    free(h->handles);
    h->handles = NULL;
    h->nhandles = h->cap = h->in_use = 0;
}
