/*
 * ws_server.h -- a real WebSocket server on 127.0.0.1 for the ws tests and
 * benchmark, built on libwebsockets' server API and run on its own thread
 * with its own lws context.
 *
 * What a connection gets depends on its path:
 *   /echo               each message is sent back; the last one is kept
 *                       for the test to read (tws_last_received)
 *   /burst/N/SIZE       N messages tws_message(i, SIZE), i = 1..N
 *   /frag               "hello fragmented world" in three fragments, a
 *                       1 MiB message in 64 KiB fragments, then "after"
 *   /big                one 1 MiB message in one frame
 *   /stream             numbered messages "seq ...": ten a millisecond,
 *                       the same numbers on every connection at the same
 *                       time, each connection starting from the current one
 *
 * Misbehaviour on demand: `refuse` refuses that many handshakes; `close_next`
 * makes the next connection send one message and close (code 4000), then
 * refuse `refuse_after_close` handshakes;
 * `frozen` stops servicing entirely (no pong, no data: a dead peer).
 */
#ifndef LUTRA_T_WS_SERVER_H
#define LUTRA_T_WS_SERVER_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TWS_FRAG_BIG ((size_t)1 << 20)
#define TWS_FRAG_PIECE ((size_t)64 << 10)

typedef struct tws {
    struct lws_context *ctx;
    pthread_t thread;
    int port;
    int64_t start_us;
    atomic_int stop;
    atomic_int frozen;
    atomic_int refuse;
    atomic_int close_next;
    atomic_int refuse_after_close; /* refuse is set to this when close_next fires */
    atomic_int established;
    atomic_int closed;
    pthread_mutex_t lock; /* guards last/last_len */
    char *last;
    size_t last_len;
} tws;

enum tws_kind { TWS_ECHO = 1, TWS_BURST, TWS_FRAG, TWS_BIG, TWS_STREAM };

typedef struct tws_conn {
    int kind;
    int close_after_one;
    uint64_t n, sent, size; /* burst */
    uint64_t next_seq;      /* stream */
    int step;               /* frag */
    unsigned char *rx;      /* echo: the message being joined */
    size_t rx_len, rx_cap;
    unsigned char *tx;      /* echo: the reply waiting for its turn */
    size_t tx_len;
} tws_conn;

static inline int64_t tws_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Message i of a burst: "i:" then filler that depends on i, size bytes in
 * all (at least the number). Writes into buf (size + 32 bytes). */
static inline size_t tws_message(uint64_t i, size_t size, char *buf)
{
    size_t n = (size_t)snprintf(buf, 32, "%llu:", (unsigned long long)i);
    for (; n < size; n++)
        buf[n] = (char)('a' + (i + n) % 26);
    return n;
}

static inline int tws_write(struct lws *wsi, const void *data, size_t len, int flags)
{
    unsigned char *buf = malloc(LWS_PRE + len + 1);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, data, len);
    int n = lws_write(wsi, buf + LWS_PRE, len, (enum lws_write_protocol)flags);
    free(buf);
    return n < (int)len ? -1 : 0;
}

static inline void tws_pattern(unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)('a' + i % 26);
}

static inline int tws_write_frag(struct lws *wsi, tws_conn *c)
{
    static const char *pieces[] = {"hello ", "fragmented ", "world"};
    size_t nbig = TWS_FRAG_BIG / TWS_FRAG_PIECE;
    int step = c->step++;
    if (step < 3) {
        int flags = step == 0 ? LWS_WRITE_TEXT : LWS_WRITE_CONTINUATION;
        return tws_write(wsi, pieces[step], strlen(pieces[step]),
                         flags | (step < 2 ? LWS_WRITE_NO_FIN : 0));
    }
    if ((size_t)step < 3 + nbig) {
        size_t k = (size_t)step - 3;
        unsigned char *piece = malloc(TWS_FRAG_PIECE);
        if (!piece)
            return -1;
        /* The pattern runs on across pieces: piece k starts at k * PIECE. */
        for (size_t i = 0; i < TWS_FRAG_PIECE; i++)
            piece[i] = (unsigned char)('a' + (k * TWS_FRAG_PIECE + i) % 26);
        int flags = k == 0 ? LWS_WRITE_TEXT : LWS_WRITE_CONTINUATION;
        int rc = tws_write(wsi, piece, TWS_FRAG_PIECE, flags | (k + 1 < nbig ? LWS_WRITE_NO_FIN : 0));
        free(piece);
        return rc;
    }
    if ((size_t)step == 3 + nbig)
        return tws_write(wsi, "after", 5, LWS_WRITE_TEXT);
    return 0;
}

static inline int tws_write_burst(struct lws *wsi, tws_conn *c)
{
    char *buf = malloc(c->size + 32);
    if (!buf)
        return -1;
    while (c->sent < c->n && !lws_send_pipe_choked(wsi)) {
        size_t len = tws_message(c->sent + 1, c->size, buf);
        if (tws_write(wsi, buf, len, LWS_WRITE_TEXT) < 0) {
            free(buf);
            return -1;
        }
        c->sent++;
    }
    free(buf);
    return 0;
}

static inline int tws_write_stream(tws *s, struct lws *wsi, tws_conn *c)
{
    uint64_t now_seq = (uint64_t)(tws_now_us() - s->start_us) / 100;
    char buf[64];
    while (c->next_seq <= now_seq && !lws_send_pipe_choked(wsi)) {
        int n = snprintf(buf, sizeof buf, "%llu stream", (unsigned long long)c->next_seq);
        if (tws_write(wsi, buf, (size_t)n, LWS_WRITE_TEXT) < 0)
            return -1;
        c->next_seq++;
    }
    return 0;
}

static inline int tws_established(tws *s, struct lws *wsi, tws_conn *c)
{
    char uri[256];
    unsigned long long n = 0, size = 0;
    memset(c, 0, sizeof *c);
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0)
        return -1;
    if (!strcmp(uri, "/echo"))
        c->kind = TWS_ECHO;
    else if (sscanf(uri, "/burst/%llu/%llu", &n, &size) == 2)
        c->kind = TWS_BURST, c->n = n, c->size = size;
    else if (!strcmp(uri, "/frag"))
        c->kind = TWS_FRAG;
    else if (!strcmp(uri, "/big"))
        c->kind = TWS_BIG;
    else if (!strcmp(uri, "/stream"))
        c->kind = TWS_STREAM;
    else
        return -1;
    if (c->kind == TWS_STREAM) {
        c->next_seq = (uint64_t)(tws_now_us() - s->start_us) / 100 + 1;
        lws_set_timer_usecs(wsi, 1000);
    }
    int one = 1;
    c->close_after_one = atomic_compare_exchange_strong(&s->close_next, &one, 0);
    atomic_fetch_add(&s->established, 1);
    if (c->kind != TWS_ECHO || c->close_after_one)
        lws_callback_on_writable(wsi);
    return 0;
}

static inline int tws_writeable(tws *s, struct lws *wsi, tws_conn *c)
{
    if (c->close_after_one) {
        int step = c->step++;
        if (step == 0) {
            if (tws_write(wsi, "1 bye soon", 10, LWS_WRITE_TEXT) < 0)
                return -1;
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (step == 1) /* lws may call once more before the close */
            atomic_store(&s->refuse, atomic_exchange(&s->refuse_after_close, 0));
        lws_close_reason(wsi, 4000, (unsigned char *)"bye", 3);
        return -1;
    }
    int rc = 0;
    switch (c->kind) {
    case TWS_ECHO:
        if (c->tx) {
            rc = tws_write(wsi, c->tx, c->tx_len, LWS_WRITE_TEXT);
            free(c->tx);
            c->tx = NULL;
        }
        return rc;
    case TWS_BURST:
        rc = tws_write_burst(wsi, c);
        if (!rc && c->sent < c->n)
            lws_callback_on_writable(wsi);
        return rc;
    case TWS_FRAG:
        rc = tws_write_frag(wsi, c);
        if (!rc && (size_t)c->step <= 3 + TWS_FRAG_BIG / TWS_FRAG_PIECE)
            lws_callback_on_writable(wsi);
        return rc;
    case TWS_BIG:
        if (c->step++ == 0) {
            unsigned char *big = malloc(TWS_FRAG_BIG);
            if (!big)
                return -1;
            tws_pattern(big, TWS_FRAG_BIG);
            rc = tws_write(wsi, big, TWS_FRAG_BIG, LWS_WRITE_TEXT);
            free(big);
        }
        return rc;
    case TWS_STREAM:
        return tws_write_stream(s, wsi, c);
    }
    return 0;
}

static inline int tws_receive(tws *s, struct lws *wsi, tws_conn *c, const void *in, size_t len)
{
    if (c->rx_len + len > c->rx_cap) {
        size_t cap = (c->rx_len + len) * 2;
        unsigned char *p = realloc(c->rx, cap);
        if (!p)
            return -1;
        c->rx = p, c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!lws_is_final_fragment(wsi))
        return 0;
    pthread_mutex_lock(&s->lock);
    free(s->last);
    s->last = malloc(c->rx_len + 1);
    if (s->last) {
        memcpy(s->last, c->rx, c->rx_len);
        s->last[c->rx_len] = 0;
        s->last_len = c->rx_len;
    }
    pthread_mutex_unlock(&s->lock);
    if (c->kind == TWS_ECHO && !c->tx) {
        c->tx = c->rx, c->tx_len = c->rx_len;
        c->rx = NULL, c->rx_cap = 0;
        lws_callback_on_writable(wsi);
    }
    c->rx_len = 0;
    return 0;
}

static inline int tws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    tws *s = lws_context_user(lws_get_context(wsi));
    tws_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
        int left = atomic_load(&s->refuse);
        if (left > 0) {
            atomic_fetch_sub(&s->refuse, 1);
            return 1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        return tws_established(s, wsi, c);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return tws_writeable(s, wsi, c);
    case LWS_CALLBACK_RECEIVE:
        return tws_receive(s, wsi, c, in, len);
    case LWS_CALLBACK_TIMER:
        lws_callback_on_writable(wsi);
        lws_set_timer_usecs(wsi, 1000);
        return 0;
    case LWS_CALLBACK_CLOSED:
        free(c->rx);
        free(c->tx);
        c->rx = c->tx = NULL;
        atomic_fetch_add(&s->closed, 1);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols tws_protocols[] = {
    {"lutra-test", tws_callback, sizeof(tws_conn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static inline void *tws_thread(void *arg)
{
    tws *s = arg;
    while (!atomic_load(&s->stop)) {
        if (atomic_load(&s->frozen)) {
            usleep(1000);
            continue;
        }
        lws_service(s->ctx, 0);
    }
    return NULL;
}

/* @return 0 with s->port listening on 127.0.0.1, or -1. */
static inline int tws_start(tws *s)
{
    struct lws_context_creation_info info;
    memset(s, 0, sizeof *s);
    lws_set_log_level(LLL_ERR, NULL);
    pthread_mutex_init(&s->lock, NULL);
    s->start_us = tws_now_us();
    memset(&info, 0, sizeof info);
    info.port = 0; /* the kernel picks a free one */
    info.iface = "127.0.0.1";
    info.protocols = tws_protocols;
    info.user = s;
    info.fd_limit_per_thread = 64;
    s->ctx = lws_create_context(&info);
    if (!s->ctx)
        return -1;
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    if (s->port <= 0 || pthread_create(&s->thread, NULL, tws_thread, s)) {
        lws_context_destroy(s->ctx);
        return -1;
    }
    return 0;
}

static inline void tws_stop(tws *s)
{
    atomic_store(&s->frozen, 0);
    atomic_store(&s->stop, 1);
    lws_cancel_service(s->ctx);
    pthread_join(s->thread, NULL);
    lws_context_destroy(s->ctx);
    free(s->last);
    pthread_mutex_destroy(&s->lock);
}

/* A copy of the last message the server received (free it), or NULL. */
static inline char *tws_last_received(tws *s)
{
    pthread_mutex_lock(&s->lock);
    char *copy = s->last ? strdup(s->last) : NULL;
    pthread_mutex_unlock(&s->lock);
    return copy;
}

#endif
