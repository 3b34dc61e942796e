/*
 * ws.c -- a WebSocket client connection on its own libwebsockets I/O thread
 * (see ws.h for the contract).
 *
 * Two threads share a ws object. Who may touch what:
 *
 *   set in ws_open, read-only after: cfg, url parts (host, path, port, tls),
 *     ctx, base, efd, ev (ev: engine only), the four rings' storage.
 *   rings (spsc.h), each with one producer and one consumer:
 *     in        I/O -> engine   completed messages and connection events
 *     in_free   engine -> I/O   inbound frames handed back for reuse
 *     out       engine -> I/O   messages to send
 *     out_free  I/O -> engine   outbound frames handed back for reuse
 *   atomics (both threads): stop, wake_pending, io_blocked,
 *     planned_request, retire_gen, frames_allocated, sent.
 *   I/O thread only: conns[], cur, next, next_gen, attempt, rng,
 *     reconnect_sul, spare, backlog, out_head, and everything lws owns.
 *   engine thread only: eng_gen, eng_open, handover_*, retiring_gen,
 *     have_last, last_seq, held, stats (but the two atomic counters),
 *     spin_until, spin_ev, idle_at.
 *
 * lws_cancel_service() is the one lws call the engine thread makes: the
 * library documents it as safe from any thread. The lws context is created
 * on the engine thread before the I/O thread starts and destroyed on the
 * I/O thread before it ends; pthread_create and pthread_join order those.
 *
 * Connections are numbered (gen) in the order they are opened. Every frame
 * on the in ring carries the gen of the connection it came from, so the
 * engine can tell a planned reconnect's new stream from the old one and
 * drop what a retired connection still delivered.
 */
#include "ws.h"

#include <errno.h>
#include <event2/event.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "json.h"
#include "log.h"
#include "rng.h"
#include "spsc.h"

#define WS_DEFAULT_BACKOFF_BASE_MS 250
#define WS_DEFAULT_BACKOFF_CAP_MS 30000
#define WS_DEFAULT_PING_MS 20000
#define WS_DEFAULT_PONG_MS 10000
#define WS_DEFAULT_SLOTS 4096
#define WS_DEFAULT_FRAME 4096
#define WS_DEFAULT_MAX_MESSAGE ((size_t)64 << 20)
#define WS_DEFAULT_IDLE_US 100
/* A spin window longer than this is a mistake (a second of a busy core). */
#define WS_MAX_SPIN_US 1000000
/* Messages delivered per wake before the engine's loop gets a turn. */
#define WS_DRAIN_BATCH 1024
#define WS_REASON_MAX 128
#define WS_US_PER_MS ((lws_usec_t)1000)

enum frame_kind { FRAME_MESSAGE = 0, FRAME_STATE = 1, FRAME_END = 2 };

/*
 * One message or connection event. data is buf + LWS_PRE: lws writes its
 * header in the room before it; JSON_PADDING zero bytes follow len.
 */
typedef struct ws_frame {
    struct ws_frame *next; /* backlog and spare lists (I/O thread) */
    int64_t recv_ns;
    size_t len;
    size_t cap;            /* bytes available at data, padding excluded */
    uint32_t gen;
    uint8_t kind;          /* enum frame_kind */
    uint8_t planned;       /* FRAME_STATE of a planned reconnect's connection */
    uint8_t has_seq;
    int state;             /* FRAME_STATE */
    uint32_t attempt;
    int64_t retry_in_ms;
    uint64_t seq;          /* engine: cfg.seq of the message */
    int64_t probe_ns;      /* CLOCK_MONOTONIC when whole, if a probe is set (ws_set_probe) */
    char buf[];
} ws_frame;

#define FRAME_DATA(f) ((f)->buf + LWS_PRE)

typedef struct ws_conn {
    struct ws *w;
    struct lws *wsi;
    uint32_t gen;
    uint32_t prev_gen;     /* the connection this one replaced by handover */
    int in_use;
    int open;
    int planned;           /* opened by a planned reconnect, not yet current */
    int got_data;
    int ping_due;
    int pong_awaited;      /* a ping went out and its pong has not come */
    ws_frame *rx;          /* the message being joined */
    lws_sorted_usec_list_t ping_sul;
    lws_sorted_usec_list_t pong_sul;
    char close_reason[WS_REASON_MAX];
    unsigned char ping_buf[LWS_PRE + 8];
} ws_conn;

struct ws {
    ws_config cfg;
    char url[1024];
    char host[256];
    char path[768];
    int port;
    int tls;
    struct lws_context *ctx;
    struct event_base *base;
    struct event *ev;
    int efd;
    pthread_t thread;
    int thread_started;

    spsc in, in_free, out, out_free;

    atomic_int stop;
    atomic_int wake_pending;
    atomic_int io_blocked;
    atomic_int planned_request;
    atomic_uint retire_gen;
    atomic_ullong frames_allocated;
    atomic_ullong sent;

    /* I/O thread */
    ws_conn conns[2];
    ws_conn *cur;
    ws_conn *next;
    uint32_t next_gen;
    uint32_t attempt;
    rng rng;
    lws_sorted_usec_list_t reconnect_sul;
    ws_frame *spare;
    ws_frame *backlog_head, *backlog_tail;
    ws_frame *out_head;

    /* engine thread */
    uint32_t eng_gen;
    int eng_open;
    int handover_busy;
    uint32_t handover_gen;
    int handover_open;
    uint32_t retiring_gen;
    int have_last;
    uint64_t last_seq;
    ws_frame **held;
    size_t held_n, held_cap;
    ws_stats stats;
    int64_t spin_ns;       /* cfg.spin_us in ns; 0: no spinning */
    int64_t spin_until;    /* CLOCK_MONOTONIC end of the spin window */
    struct event *spin_ev; /* the zero-delay timer that turns the loop */
    int64_t idle_ns;       /* cfg.idle_us in ns */
    int64_t idle_at;       /* CLOCK_MONOTONIC time of the next on_idle */
};

/* ---- frames (either thread: a frame belongs to one side at a time) ---- */

static ws_frame *frame_alloc(size_t cap)
{
    ws_frame *f = malloc(sizeof *f + LWS_PRE + cap + JSON_PADDING);
    if (!f)
        return NULL;
    memset(f, 0, sizeof *f);
    f->cap = cap;
    return f;
}

/* Make room for need bytes at data, keeping what is there.
 * @return 0, or -1 when memory ran out (*fp is unchanged). */
static int frame_reserve(ws_frame **fp, size_t need)
{
    ws_frame *f = *fp;
    if (need <= f->cap)
        return 0;
    size_t cap = f->cap * 2 > need ? f->cap * 2 : need;
    ws_frame *g = realloc(f, sizeof *g + LWS_PRE + cap + JSON_PADDING);
    if (!g)
        return -1;
    g->cap = cap;
    *fp = g;
    return 0;
}

static void frame_reset(ws_frame *f)
{
    f->next = NULL;
    f->len = 0;
    f->probe_ns = 0;
    f->kind = FRAME_MESSAGE;
    f->planned = 0;
    f->has_seq = 0;
}

static void frames_free_ring(spsc *q)
{
    ws_frame *f;
    while ((f = spsc_pop(q)) != NULL)
        free(f);
}

static void frames_free_list(ws_frame *f)
{
    while (f) {
        ws_frame *next = f->next;
        free(f);
        f = next;
    }
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_realtime_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

/* ---- Process-wide settings (ws.h) ---- */

static int64_t spin_default_us;

void ws_set_spin_default(int64_t spin_us)
{
    spin_default_us = spin_us > 0 ? spin_us : 0;
}

/* ---- The latency probe (ws.h) ---- */

static const ws_probe *latency_probe;

void ws_set_probe(const ws_probe *probe)
{
    latency_probe = probe;
}

/* ---- I/O thread: handing frames to the engine ---- */

static void io_wake_engine(ws *w)
{
    if (w->cfg.spin)
        return;
    if (atomic_exchange(&w->wake_pending, 1) == 0) {
        uint64_t one = 1;
        /* EAGAIN means the counter is already non-zero: the engine will wake. */
        ssize_t n = write(w->efd, &one, sizeof one);
        (void)n;
    }
}

static void io_set_rx_flow(ws *w, int enable)
{
    for (size_t i = 0; i < 2; i++)
        if (w->conns[i].in_use && w->conns[i].open)
            lws_rx_flow_control(w->conns[i].wsi, enable);
}

/* When the engine lags and the in ring is full, frames wait here in order
 * and reading stops until the engine has made room. */
static void io_push(ws *w, ws_frame *f)
{
    if (!w->backlog_head && spsc_push(&w->in, f)) {
        io_wake_engine(w);
        return;
    }
    f->next = NULL;
    if (w->backlog_tail)
        w->backlog_tail->next = f;
    else
        w->backlog_head = f;
    w->backlog_tail = f;
    if (!atomic_exchange(&w->io_blocked, 1))
        io_set_rx_flow(w, 0);
    io_wake_engine(w);
}

static void io_flush_backlog(ws *w)
{
    int moved = 0;

    while (w->backlog_head && spsc_push(&w->in, w->backlog_head)) {
        w->backlog_head = w->backlog_head->next;
        if (!w->backlog_head)
            w->backlog_tail = NULL;
        moved = 1;
    }
    /* What moved into the ring needs the engine as much as what waits: the
     * last frames of a burst may arrive no other way. */
    if (moved || w->backlog_head)
        io_wake_engine(w);
    if (!w->backlog_head && atomic_exchange(&w->io_blocked, 0))
        io_set_rx_flow(w, 1);
}

/* A frame to fill: one the engine handed back, else a new one. */
static ws_frame *io_frame_take(ws *w)
{
    ws_frame *f = w->spare;
    if (f)
        w->spare = f->next;
    else
        f = spsc_pop(&w->in_free);
    if (!f) {
        f = frame_alloc(w->cfg.frame_bytes);
        if (!f)
            return NULL;
        atomic_fetch_add(&w->frames_allocated, 1);
    }
    frame_reset(f);
    return f;
}

static void io_frame_give_back(ws *w, ws_frame *f)
{
    f->next = w->spare;
    w->spare = f;
}

/* Connection events travel on the in ring like messages, so the engine sees
 * them in order with the messages around them. Out of memory, the event is
 * lost and said so: the connection itself goes on. */
static void io_push_event(ws *w, int kind, ws_conn *c, uint32_t gen, int state,
                          const char *reason, int64_t retry_in_ms)
{
    ws_frame *f = io_frame_take(w);
    size_t n = reason ? strlen(reason) : 0;
    if (!f || frame_reserve(&f, n + 1) < 0) {
        if (f)
            io_frame_give_back(w, f);
        log_write(LOG_ERROR, "ws", "out of memory reporting a connection event url=%s", w->url);
        return;
    }
    f->kind = (uint8_t)kind;
    f->gen = gen;
    f->planned = c && c->planned;
    f->state = state;
    f->attempt = w->attempt;
    f->retry_in_ms = retry_in_ms;
    f->recv_ns = now_realtime_ns();
    memcpy(FRAME_DATA(f), reason ? reason : "", n + 1);
    f->len = n;
    io_push(w, f);
}

/* ---- I/O thread: connections ---- */

static void io_close_conn(ws_conn *c, const char *reason)
{
    if (!c->close_reason[0])
        snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* One ping at a time: its deadline is not pushed back by the next. */
static void io_ping_cb(lws_sorted_usec_list_t *sul)
{
    ws_conn *c = lws_container_of(sul, ws_conn, ping_sul);
    if (!c->pong_awaited) {
        c->ping_due = 1;
        lws_callback_on_writable(c->wsi);
    }
    lws_sul_schedule(c->w->ctx, 0, &c->ping_sul, io_ping_cb,
                     c->w->cfg.ping_interval_ms * WS_US_PER_MS);
}

static void io_pong_deadline_cb(lws_sorted_usec_list_t *sul)
{
    ws_conn *c = lws_container_of(sul, ws_conn, pong_sul);
    io_close_conn(c, "pong timeout");
}

static void io_reconnect_cb(lws_sorted_usec_list_t *sul);

/* Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]. */
static int64_t io_backoff_ms(ws *w)
{
    int64_t bound = w->cfg.backoff_base_ms;
    for (uint32_t i = 1; i < w->attempt && bound < w->cfg.backoff_cap_ms; i++)
        bound = bound > w->cfg.backoff_cap_ms / 2 ? w->cfg.backoff_cap_ms : bound * 2;
    if (bound > w->cfg.backoff_cap_ms)
        bound = w->cfg.backoff_cap_ms;
    return rng_range(&w->rng, 0, bound);
}

static void io_promote_next(ws *w)
{
    ws_conn *old = w->cur;
    w->cur = w->next;
    w->next = NULL;
    w->cur->planned = 0;
    w->cur->prev_gen = old ? old->gen : 0;
}

/*
 * A connection ended: it closed, failed to connect, or was dropped. The
 * current one is replaced by a planned successor that is already open, or
 * else reported closed and retried after the backoff delay.
 */
static void io_conn_ended(ws_conn *c, const char *reason)
{
    ws *w = c->w;
    if (!c->in_use)
        return;
    lws_sul_cancel(&c->ping_sul);
    lws_sul_cancel(&c->pong_sul);
    if (c->rx)
        io_frame_give_back(w, c->rx);
    c->rx = NULL;
    c->in_use = 0;
    c->open = 0;
    c->wsi = NULL;
    if (atomic_load(&w->stop))
        return;
    io_push_event(w, FRAME_END, c, c->gen, 0, reason, 0);
    if (c == w->next) {
        w->next = NULL;
        log_write(LOG_WARN, "ws", "planned reconnect failed url=%s reason=\"%s\"", w->url, reason);
        return;
    }
    if (c != w->cur)
        return; /* retired by a handover */
    if (w->next && w->next->open) {
        io_promote_next(w);
        return;
    }
    if (w->next) {
        io_close_conn(w->next, "current connection lost");
        w->next = NULL;
    }
    w->cur = NULL;
    w->attempt++;
    int64_t delay = io_backoff_ms(w);
    io_push_event(w, FRAME_STATE, NULL, c->gen, WS_CLOSED, reason, delay);
    lws_sul_schedule(w->ctx, 0, &w->reconnect_sul, io_reconnect_cb, delay * WS_US_PER_MS);
}

static void io_connect(ws *w, int planned)
{
    ws_conn *c = !w->conns[0].in_use ? &w->conns[0] : !w->conns[1].in_use ? &w->conns[1] : NULL;
    if (!c) {
        log_write(LOG_ERROR, "ws", "no free connection slot url=%s", w->url);
        return;
    }
    memset(c, 0, sizeof *c);
    c->w = w;
    c->in_use = 1;
    c->planned = planned;
    c->gen = ++w->next_gen;
    if (planned)
        w->next = c;
    else
        w->cur = c;
    io_push_event(w, FRAME_STATE, c, c->gen, WS_CONNECTING, NULL, 0);

    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = w->ctx;
    ci.address = w->host;
    ci.port = w->port;
    ci.path = w->path;
    ci.host = w->host;
    ci.origin = w->host;
    ci.ssl_connection = w->tls ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "lutra-ws";
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    /* On failure lws may already have called CONNECTION_ERROR, which ended c. */
    if (!lws_client_connect_via_info(&ci))
        io_conn_ended(c, "connect failed");
}

static void io_reconnect_cb(lws_sorted_usec_list_t *sul)
{
    ws *w = lws_container_of(sul, ws, reconnect_sul);
    io_connect(w, 0);
}

static void io_opened(ws_conn *c)
{
    ws *w = c->w;
    c->open = 1;
    if (atomic_load(&w->io_blocked))
        lws_rx_flow_control(c->wsi, 0);
    io_push_event(w, FRAME_STATE, c, c->gen, WS_OPEN, NULL, 0);
    if (w->cfg.ping_interval_ms > 0)
        lws_sul_schedule(w->ctx, 0, &c->ping_sul, io_ping_cb,
                         w->cfg.ping_interval_ms * WS_US_PER_MS);
}

/* Proof of life from the server: the backoff starts over. */
static void io_alive(ws_conn *c)
{
    if (!c->got_data) {
        c->got_data = 1;
        c->w->attempt = 0;
    }
}

static int io_receive(ws_conn *c, const void *in, size_t len)
{
    ws *w = c->w;
    if (!c->rx && !(c->rx = io_frame_take(w))) {
        snprintf(c->close_reason, sizeof c->close_reason, "out of memory");
        return -1;
    }
    size_t need = c->rx->len + len;
    if (need > w->cfg.max_message || frame_reserve(&c->rx, need) < 0) {
        snprintf(c->close_reason, sizeof c->close_reason,
                 "message of more than %zu bytes (max_message %zu)", need, w->cfg.max_message);
        return -1;
    }
    memcpy(FRAME_DATA(c->rx) + c->rx->len, in, len);
    c->rx->len = need;
    if (!lws_is_final_fragment(c->wsi))
        return 0;
    ws_frame *f = c->rx;
    c->rx = NULL;
    if (latency_probe)
        f->probe_ns = clock_ns(CLOCK_MONOTONIC);
    f->recv_ns = now_realtime_ns();
    memset(FRAME_DATA(f) + f->len, 0, JSON_PADDING);
    f->kind = FRAME_MESSAGE;
    f->gen = c->gen;
    io_push(w, f);
    io_alive(c);
    return 0;
}

/* The connection an outbound frame goes to: the one it was sent on, or the
 * one that replaced it by a planned reconnect. NULL: discard it. */
static ws_conn *io_out_target(ws *w, const ws_frame *f)
{
    for (size_t i = 0; i < 2; i++) {
        ws_conn *c = &w->conns[i];
        if (c->in_use && c->open && (c->gen == f->gen || (c == w->cur && c->prev_gen == f->gen)))
            return c;
    }
    return NULL;
}

static void io_out_release(ws *w, ws_frame *f)
{
    if (!spsc_push(&w->out_free, f))
        free(f);
}

/* Find the next outbound frame with a live target and ask for its turn. */
static void io_kick_writer(ws *w)
{
    for (;;) {
        if (!w->out_head && !(w->out_head = spsc_pop(&w->out)))
            return;
        ws_conn *c = io_out_target(w, w->out_head);
        if (c) {
            lws_callback_on_writable(c->wsi);
            return;
        }
        io_out_release(w, w->out_head);
        w->out_head = NULL;
    }
}

static int io_writeable(ws_conn *c)
{
    ws *w = c->w;
    if (c->ping_due) {
        c->ping_due = 0;
        if (lws_write(c->wsi, c->ping_buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        c->pong_awaited = 1;
        lws_sul_schedule(w->ctx, 0, &c->pong_sul, io_pong_deadline_cb,
                         w->cfg.pong_timeout_ms * WS_US_PER_MS);
        io_kick_writer(w);
        return 0;
    }
    if (!w->out_head || io_out_target(w, w->out_head) != c) {
        io_kick_writer(w);
        return 0;
    }
    ws_frame *f = w->out_head;
    w->out_head = NULL;
    int n = lws_write(c->wsi, (unsigned char *)FRAME_DATA(f), f->len, LWS_WRITE_TEXT);
    io_out_release(w, f);
    if (n < 0) {
        snprintf(c->close_reason, sizeof c->close_reason, "write failed");
        return -1;
    }
    atomic_fetch_add(&w->sent, 1);
    io_kick_writer(w);
    return 0;
}

/* The engine called lws_cancel_service: see what it asked for. */
static void io_serve_engine(ws *w)
{
    if (atomic_load(&w->stop))
        return;
    io_flush_backlog(w);
    uint32_t retire = atomic_exchange(&w->retire_gen, 0);
    if (retire && w->cur && w->cur->gen == retire && w->next && w->next->open) {
        ws_conn *old = w->cur;
        io_promote_next(w);
        io_close_conn(old, "replaced by planned reconnect");
    }
    if (atomic_exchange(&w->planned_request, 0) && w->cur && w->cur->open && !w->next)
        io_connect(w, 1);
    io_kick_writer(w);
}

static void io_peer_close_reason(ws_conn *c, const void *in, size_t len)
{
    const unsigned char *p = in;
    unsigned code = len >= 2 ? (unsigned)p[0] << 8 | p[1] : 0;
    snprintf(c->close_reason, sizeof c->close_reason, "server closed (%u)", code);
}

static int io_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    (void)user;
    ws_conn *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        io_serve_engine(lws_context_user(lws_get_context(wsi)));
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        io_opened(c);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return io_receive(c, in, len);
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        lws_sul_cancel(&c->pong_sul);
        c->pong_awaited = 0;
        io_alive(c);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return io_writeable(c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        io_peer_close_reason(c, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[WS_REASON_MAX];
        snprintf(why, sizeof why, "connect failed: %.*s", in ? (int)len : 7,
                 in ? (const char *)in : "unknown");
        if (c)
            io_conn_ended(c, why);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c)
            io_conn_ended(c, c->close_reason[0] ? c->close_reason : "connection lost");
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        /* The upgrade got no reply: libwebsockets timed it out, or saw the
         * server hang up before reading; it closes the connection as an
         * HTTP client's (lws 4.1), with no CONNECTION_ERROR. Unseen, it
         * would stay "connecting" and never be tried again. */
        if (c && c->wsi == wsi)
            io_conn_ended(c, "connect failed: no reply to the upgrade (the server hung up or "
                             "did not answer in time)");
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols io_protocols[] = {
    {"lutra-ws", io_callback, 0, 16384, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *io_thread(void *arg)
{
    ws *w = arg;
    io_connect(w, 0);
    while (!atomic_load(&w->stop))
        lws_service(w->ctx, 0);
    return NULL;
}

/* ---- engine thread: delivery ---- */

static void eng_recycle(ws *w, ws_frame *f)
{
    if (!spsc_push(&w->in_free, f))
        free(f);
}

static void eng_deliver(ws *w, ws_frame *f)
{
    if (f->has_seq && w->have_last && f->seq <= w->last_seq) {
        w->stats.handover_dropped++;
        return;
    }
    if (f->has_seq) {
        w->last_seq = f->seq;
        w->have_last = 1;
    }
    w->stats.messages++;
    w->stats.bytes += f->len;
    const ws_probe *probe = latency_probe;
    if (probe)
        probe->before(probe->ud, f->probe_ns, FRAME_DATA(f), f->len);
    w->cfg.on_message(w->cfg.ud, f->recv_ns, FRAME_DATA(f), f->len);
    if (probe)
        probe->after(probe->ud);
}

static void eng_release_held(ws *w, int deliver)
{
    for (size_t i = 0; i < w->held_n; i++) {
        if (deliver)
            eng_deliver(w, w->held[i]);
        eng_recycle(w, w->held[i]);
    }
    w->held_n = 0;
}

static void eng_end_handover(ws *w)
{
    eng_release_held(w, 0);
    w->handover_gen = 0;
    w->handover_open = 0;
    w->handover_busy = 0;
}

/* The new connection takes over; the I/O thread closes the old one. */
static void eng_switch(ws *w)
{
    uint32_t old = w->eng_gen;
    w->eng_gen = w->handover_gen;
    w->handover_gen = 0;
    w->handover_open = 0;
    w->handover_busy = 0;
    w->retiring_gen = old;
    w->stats.handovers++;
    atomic_store(&w->retire_gen, old);
    lws_cancel_service(w->ctx);
    eng_release_held(w, 1);
}

/* Held messages of the new connection may go once the old one has
 * delivered everything before the first of them. */
static int eng_caught_up(const ws *w)
{
    const ws_frame *first = w->held[0];
    return !w->have_last || !first->has_seq || w->last_seq + 1 >= first->seq;
}

static void eng_hold(ws *w, ws_frame *f)
{
    ws_frame **h = grow_capacity(w->held, &w->held_cap, w->held_n + 1, sizeof *h, 64);
    if (!h) {
        /* No room to wait: switch now, at the cost of a possible gap. */
        log_write(LOG_ERROR, "ws", "out of memory holding a handover message url=%s", w->url);
        eng_switch(w);
        eng_deliver(w, f);
        eng_recycle(w, f);
        return;
    }
    w->held = h;
    w->held[w->held_n++] = f;
}

static void eng_handover_message(ws *w, ws_frame *f)
{
    if (!w->cfg.seq) {
        if (f->gen == w->handover_gen)
            eng_switch(w);
        eng_deliver(w, f);
        eng_recycle(w, f);
        return;
    }
    if (f->gen == w->eng_gen) {
        eng_deliver(w, f);
        eng_recycle(w, f);
    } else {
        eng_hold(w, f);
    }
    if (w->held_n && eng_caught_up(w))
        eng_switch(w);
}

static void eng_message(ws *w, ws_frame *f)
{
    if (w->cfg.seq)
        f->has_seq = w->cfg.seq(w->cfg.ud, FRAME_DATA(f), f->len, &f->seq) == 0;
    if (w->handover_gen && (f->gen == w->eng_gen || f->gen == w->handover_gen)) {
        eng_handover_message(w, f);
        return;
    }
    if (f->gen == w->eng_gen)
        eng_deliver(w, f);
    else
        w->stats.handover_dropped++; /* a retired connection's last words */
    eng_recycle(w, f);
}

static void eng_state(ws *w, ws_frame *f)
{
    if (f->planned) {
        if (f->state == WS_CONNECTING)
            w->handover_gen = f->gen;
        if (f->state == WS_OPEN) {
            w->handover_open = 1;
            w->stats.connects++;
        }
        return;
    }
    if (f->state == WS_OPEN) {
        w->eng_gen = f->gen;
        w->eng_open = 1;
        w->have_last = 0;
        w->stats.connects++;
    } else if (f->state == WS_CLOSED) {
        w->eng_open = 0;
        w->retiring_gen = 0;
        eng_end_handover(w);
    }
    if (w->cfg.on_state) {
        ws_status st = {f->state, FRAME_DATA(f), f->attempt, f->retry_in_ms};
        w->cfg.on_state(w->cfg.ud, &st);
    }
}

static void eng_end(ws *w, const ws_frame *f)
{
    if (f->gen == w->retiring_gen)
        w->retiring_gen = 0;
    if (!w->handover_gen)
        return;
    if (f->gen == w->handover_gen) {
        eng_end_handover(w);
    } else if (f->gen == w->eng_gen && w->handover_open) {
        /* The old connection died first: the new one is all there is. */
        eng_switch(w);
        w->retiring_gen = 0;
    }
}

static void eng_frame(ws *w, ws_frame *f)
{
    switch (f->kind) {
    case FRAME_MESSAGE:
        eng_message(w, f);
        return;
    case FRAME_STATE:
        eng_state(w, f);
        break;
    default:
        eng_end(w, f);
        break;
    }
    eng_recycle(w, f);
}

/* @return frames handled; `limit` means more may be waiting. */
static int eng_drain(ws *w, int limit)
{
    int n = 0;
    ws_frame *f;
    while (n < limit && (f = spsc_pop(&w->in)) != NULL) {
        eng_frame(w, f);
        n++;
    }
    /* A blocked I/O thread waits for us to make room, even when this drain
     * found the ring empty: it may have found the ring full before our
     * previous drain emptied it, and blocked after that drain looked. Its
     * backlog then waits for this call, and only for it. */
    if (atomic_load(&w->io_blocked))
        lws_cancel_service(w->ctx);
    return n;
}

/* ---- engine thread: spinning (ws_config.spin_us) ----
 *
 * A zero-delay timer keeps the loop turning without sleeping (timers and
 * the other events still run every turn: the timer goes through the loop,
 * it does not loop inside a callback) and polls the ring once a turn.
 * wake_pending stays set all along, so the I/O thread writes no eventfd.
 * Once the ring has been empty for spin_us, the engine goes back to
 * sleeping on the eventfd. */

/* Poll again on the loop's next turn. */
static void eng_spin_turn(ws *w)
{
    static const struct timeval at_once = {0, 0};
    event_add(w->spin_ev, &at_once);
}

/* A message came at now: spin for spin_ns more, quiet (on_idle) from idle_ns. */
static void eng_spin_from(ws *w, int64_t now)
{
    w->spin_until = now + w->spin_ns;
    w->idle_at = now + w->idle_ns;
}

static void eng_spin_cb(evutil_socket_t fd, short what, void *arg)
{
    ws *w = arg;
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    (void)fd;
    (void)what;

    if (eng_drain(w, WS_DRAIN_BATCH))
        eng_spin_from(w, now);
    if (now < w->spin_until) {
        if (w->cfg.on_idle && now >= w->idle_at) {
            w->cfg.on_idle(w->cfg.ud);
            w->idle_at = clock_ns(CLOCK_MONOTONIC) + w->idle_ns;
        }
        eng_spin_turn(w);
        return;
    }
    atomic_store(&w->wake_pending, 0);
    /* A frame pushed before that store saw wake_pending set and wrote no
     * eventfd: look once more. */
    if (eng_drain(w, WS_DRAIN_BATCH)) {
        atomic_store(&w->wake_pending, 1);
        eng_spin_from(w, clock_ns(CLOCK_MONOTONIC));
        eng_spin_turn(w);
    }
}

static void eng_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    ws *w = arg;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    if (w->spin_ns) {
        /* wake_pending stays set (the I/O thread set it): spin from now. */
        eng_drain(w, WS_DRAIN_BATCH);
        eng_spin_from(w, clock_ns(CLOCK_MONOTONIC));
        eng_spin_turn(w);
        return;
    }
    /* Clear before draining: a frame pushed after this point writes again. */
    atomic_store(&w->wake_pending, 0);
    if (eng_drain(w, WS_DRAIN_BATCH) == WS_DRAIN_BATCH)
        event_active(w->ev, EV_READ, 0);
}

int ws_poll(ws *w)
{
    return eng_drain(w, WS_DRAIN_BATCH);
}

/* ---- engine thread: the API ---- */

int ws_send(ws *w, const char *data, size_t len, char *err, size_t errlen)
{
    if (!w->eng_open) {
        snprintf(err, errlen, "ws send to %s: not connected", w->url);
        return -1;
    }
    ws_frame *f = spsc_pop(&w->out_free);
    if (!f)
        f = frame_alloc(len > WS_DEFAULT_FRAME ? len : WS_DEFAULT_FRAME);
    if (!f || frame_reserve(&f, len) < 0) {
        free(f);
        snprintf(err, errlen, "ws send to %s: out of memory for %zu bytes", w->url, len);
        return -1;
    }
    frame_reset(f);
    memcpy(FRAME_DATA(f), data, len);
    f->len = len;
    f->gen = w->eng_gen;
    if (!spsc_push(&w->out, f)) {
        free(f);
        snprintf(err, errlen, "ws send to %s: outbound queue full (%u messages)", w->url,
                 w->cfg.ring_slots - 1);
        return -1;
    }
    lws_cancel_service(w->ctx);
    return 0;
}

int ws_reconnect_planned(ws *w)
{
    if (!w->eng_open || w->handover_busy || w->handover_gen || w->retiring_gen)
        return -1;
    w->handover_busy = 1;
    atomic_store(&w->planned_request, 1);
    lws_cancel_service(w->ctx);
    return 0;
}

void ws_get_stats(const ws *w, ws_stats *out)
{
    *out = w->stats;
    out->sent = atomic_load(&w->sent);
    out->frames_allocated = atomic_load(&w->frames_allocated);
}

static int ws_config_check(ws_config *c, char *err, size_t errlen)
{
    if (!c->url || !c->on_message) {
        snprintf(err, errlen, "ws: url and on_message are required");
        return -1;
    }
    if (!c->backoff_base_ms)
        c->backoff_base_ms = WS_DEFAULT_BACKOFF_BASE_MS;
    if (!c->backoff_cap_ms)
        c->backoff_cap_ms = WS_DEFAULT_BACKOFF_CAP_MS;
    if (!c->ping_interval_ms)
        c->ping_interval_ms = WS_DEFAULT_PING_MS;
    if (!c->pong_timeout_ms)
        c->pong_timeout_ms = WS_DEFAULT_PONG_MS;
    if (!c->ring_slots)
        c->ring_slots = WS_DEFAULT_SLOTS;
    if (!c->frame_bytes)
        c->frame_bytes = WS_DEFAULT_FRAME;
    if (!c->max_message)
        c->max_message = WS_DEFAULT_MAX_MESSAGE;
    if (c->backoff_base_ms < 0 || c->backoff_cap_ms < c->backoff_base_ms ||
        c->pong_timeout_ms < 0) {
        snprintf(err, errlen, "ws %s: backoff needs 0 < base <= cap and pong_timeout_ms >= 0 "
                 "(base %lld, cap %lld, pong %lld)", c->url, (long long)c->backoff_base_ms,
                 (long long)c->backoff_cap_ms, (long long)c->pong_timeout_ms);
        return -1;
    }
    if (!c->spin_us)
        c->spin_us = spin_default_us;
    if (c->spin_us < 0 || c->spin_us > WS_MAX_SPIN_US) {
        snprintf(err, errlen, "ws %s: spin_us %lld is not in 0..%d", c->url,
                 (long long)c->spin_us, WS_MAX_SPIN_US);
        return -1;
    }
    if (c->ring_slots < 4 || (c->ring_slots & (c->ring_slots - 1))) {
        snprintf(err, errlen, "ws %s: ring_slots %u is not a power of two >= 4", c->url,
                 c->ring_slots);
        return -1;
    }
    return 0;
}

/* Split the URL with lws_parse_uri (which cuts its buffer in place). */
static int ws_parse_url(ws *w, char *err, size_t errlen)
{
    char buf[sizeof w->url];
    const char *prot, *host, *path;
    if (strlen(w->cfg.url) >= sizeof w->url) {
        snprintf(err, errlen, "ws: url longer than %zu bytes", sizeof w->url - 1);
        return -1;
    }
    snprintf(w->url, sizeof w->url, "%s", w->cfg.url);
    snprintf(buf, sizeof buf, "%s", w->url);
    if (lws_parse_uri(buf, &prot, &host, &w->port, &path) || !host[0]) {
        snprintf(err, errlen, "ws: cannot parse url \"%s\"", w->url);
        return -1;
    }
    if (strcmp(prot, "ws") && strcmp(prot, "wss")) {
        snprintf(err, errlen, "ws: url \"%s\": scheme \"%s\" is not ws or wss", w->url, prot);
        return -1;
    }
    w->tls = !strcmp(prot, "wss");
    snprintf(w->host, sizeof w->host, "%s", host);
    snprintf(w->path, sizeof w->path, "%s%s", path[0] == '/' ? "" : "/", path);
    return 0;
}

static void ws_lws_log(int level, const char *line)
{
    log_write(level == LLL_ERR ? LOG_WARN : LOG_DEBUG, "lws", "%.*s", (int)strcspn(line, "\n"),
              line);
}

/* lws keeps its log level in a global: set it once, errors only (ws reports
 * its connections' fates itself). */
static void ws_lws_log_setup(void)
{
    lws_set_log_level(LLL_ERR, ws_lws_log);
}

static int ws_make_context(ws *w, char *err, size_t errlen)
{
    static pthread_once_t log_once = PTHREAD_ONCE_INIT;
    struct lws_context_creation_info info;
    pthread_once(&log_once, ws_lws_log_setup);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = io_protocols;
    info.user = w;
    info.fd_limit_per_thread = 64;
    info.options = w->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        snprintf(err, errlen, "ws %s: libwebsockets could not create its context", w->url);
        return -1;
    }
    return 0;
}

static int ws_make_rings(ws *w, char *err, size_t errlen)
{
    unsigned n = w->cfg.ring_slots;
    if (spsc_init(&w->in, n) || spsc_init(&w->in_free, n) || spsc_init(&w->out, n) ||
        spsc_init(&w->out_free, n)) {
        snprintf(err, errlen, "ws %s: out of memory for rings of %u", w->url, n);
        return -1;
    }
    return 0;
}

static int ws_make_wakeup(ws *w, char *err, size_t errlen)
{
    if (w->cfg.spin)
        return 0;
    if (!w->base) {
        snprintf(err, errlen, "ws %s: an event_base is needed unless spin is set", w->url);
        return -1;
    }
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        snprintf(err, errlen, "ws %s: eventfd: %s", w->url, strerror(errno));
        return -1;
    }
    w->spin_ns = w->cfg.spin_us * 1000;
    w->idle_ns = (w->cfg.idle_us > 0 ? w->cfg.idle_us : WS_DEFAULT_IDLE_US) * 1000;
    w->spin_ev = w->spin_ns ? evtimer_new(w->base, eng_spin_cb, w) : NULL;
    w->ev = event_new(w->base, w->efd, EV_READ | EV_PERSIST, eng_wake_cb, w);
    if ((w->spin_ns && !w->spin_ev) || !w->ev || event_add(w->ev, NULL) < 0) {
        snprintf(err, errlen, "ws %s: cannot watch the eventfd", w->url);
        return -1;
    }
    return 0;
}

ws *ws_open(struct event_base *base, const ws_config *cfg, char *err, size_t errlen)
{
    ws *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "ws: out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    w->base = base;
    w->efd = -1;
    rng_seed(&w->rng, cfg->seed, 0x7773 /* "ws" */);
    if (ws_config_check(&w->cfg, err, errlen) < 0 || ws_parse_url(w, err, errlen) < 0 ||
        ws_make_rings(w, err, errlen) < 0 || ws_make_wakeup(w, err, errlen) < 0 ||
        ws_make_context(w, err, errlen) < 0)
        goto fail;
    w->cfg.url = w->url;
    int rc = pthread_create(&w->thread, NULL, io_thread, w);
    if (rc) {
        snprintf(err, errlen, "ws %s: cannot start the I/O thread: %s", w->url, strerror(rc));
        goto fail;
    }
    w->thread_started = 1;
    return w;
fail:
    ws_free(w);
    return NULL;
}

void ws_free(ws *w)
{
    if (!w)
        return;
    if (w->thread_started) {
        atomic_store(&w->stop, 1);
        lws_cancel_service(w->ctx);
        pthread_join(w->thread, NULL);
    }
    /* The I/O thread has ended: destroying here races with nothing, and the
     * close callbacks it runs see stop and only tidy up. */
    if (w->ctx)
        lws_context_destroy(w->ctx);
    if (w->ev)
        event_free(w->ev);
    if (w->spin_ev)
        event_free(w->spin_ev);
    if (w->efd >= 0)
        close(w->efd);
    for (size_t i = 0; i < 2; i++)
        free(w->conns[i].rx);
    eng_release_held(w, 0);
    free(w->held);
    frames_free_list(w->spare);
    frames_free_list(w->backlog_head);
    free(w->out_head);
    spsc *rings[] = {&w->in, &w->in_free, &w->out, &w->out_free};
    for (size_t i = 0; i < 4; i++) {
        if (rings[i]->slots)
            frames_free_ring(rings[i]);
        spsc_destroy(rings[i]);
    }
    free(w);
}
