/*
 * mock_ws.c -- the mock's WebSocket server (see mock_ws.h).
 */
#include "mock_ws.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_exchange.h"

#define MWS_MAX_KEYS 16
#define MWS_KEY_MAX 80
#define MWS_MAX_SUBS 32
#define MWS_NAME_MAX 96

/* A published message, shared by the connections it goes to (I/O thread). */
typedef struct mmsg {
    struct mmsg *next; /* in the publish queue */
    int refs;
    char stream[MWS_NAME_MAX];
    size_t len;
    char data[];
} mmsg;

/* One message waiting for a connection's turn to write. */
typedef struct mqent {
    struct mqent *next;
    mmsg *msg;
    int sub; /* the subscription it matched, for the combined wrapper */
} mqent;

typedef struct mconn {
    struct lws *wsi;
    struct mconn *prev, *next;
    int combined;
    int user; /* a user data stream */
    int closing;
    int nsubs;
    char match[MWS_MAX_SUBS][MWS_NAME_MAX]; /* the name published */
    char name[MWS_MAX_SUBS][MWS_NAME_MAX];  /* the name subscribed */
    mqent *head, *tail;
} mconn;

struct mws {
    struct lws_context *ctx;
    pthread_t thread;
    int port;
    atomic_int stop, silent, drop, connections;
    atomic_int user_down, drop_user; /* the user_down fault; its drop to do */
    atomic_uint_fast64_t accepted, user_accepted;
    pthread_mutex_t lock; /* guards queue and keys */
    mmsg *queue_head, *queue_tail;
    char keys[MWS_MAX_KEYS][MWS_KEY_MAX];
    mconn *conns; /* the I/O thread's */
};

static void msg_unref(mmsg *m)
{
    if (--m->refs <= 0)
        free(m);
}

/* ---- Subscriptions ---- */

static int is_listen_key(mws *w, const char *name)
{
    int found = 0;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < MWS_MAX_KEYS && !found; i++)
        found = w->keys[i][0] && strcmp(w->keys[i], name) == 0;
    pthread_mutex_unlock(&w->lock);
    return found;
}

static void add_sub(mws *w, mconn *c, const char *name, size_t len)
{
    static const char depth[] = "@depth";
    char *match, *shown;

    if (len == 0 || len >= MWS_NAME_MAX - 8 || c->nsubs >= MWS_MAX_SUBS)
        return;
    match = c->match[c->nsubs];
    shown = c->name[c->nsubs];
    memcpy(shown, name, len);
    shown[len] = 0;
    if (is_listen_key(w, shown))
        memcpy(match, MEXCH_USER_STREAM, sizeof MEXCH_USER_STREAM);
    else if (len > sizeof depth - 1 && strcmp(shown + len - (sizeof depth - 1), depth) == 0)
        memcpy(mempcpy(match, shown, len), "@100ms", sizeof "@100ms"); /* len < MAX - 8 */
    else
        memcpy(match, shown, len + 1);
    c->nsubs++;
}

/* Streams separated by '/'. */
static void add_subs(mws *w, mconn *c, const char *list)
{
    while (*list) {
        const char *slash = strchr(list, '/');
        size_t len = slash ? (size_t)(slash - list) : strlen(list);
        add_sub(w, c, list, len);
        list += len + (slash ? 1 : 0);
    }
}

static int established(mws *w, struct lws *wsi, mconn *c)
{
    char uri[1024], buf[1024];
    const char *streams;

    memset(c, 0, sizeof *c);
    c->wsi = wsi;
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0)
        return -1;
    if (strncmp(uri, "/ws/", 4) == 0) {
        add_subs(w, c, uri + 4);
    } else if (strcmp(uri, "/stream") == 0 &&
               (streams = lws_get_urlarg_by_name(wsi, "streams=", buf, sizeof buf)) != NULL) {
        /* the value is where the returned pointer says, after the name */
        c->combined = 1;
        add_subs(w, c, streams);
    } else {
        return -1;
    }
    for (int i = 0; i < c->nsubs; i++)
        c->user |= strcmp(c->match[i], MEXCH_USER_STREAM) == 0;
    if (c->user && atomic_load(&w->user_down)) {
        c->wsi = NULL; /* refused: never linked, nothing for closed() to undo */
        return -1;
    }
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    atomic_fetch_add(&w->connections, 1);
    atomic_fetch_add(&w->accepted, 1);
    if (c->user)
        atomic_fetch_add(&w->user_accepted, 1);
    return 0;
}

static void closed(mws *w, mconn *c)
{
    if (!c->wsi)
        return; /* never established */
    while (c->head) {
        mqent *e = c->head;
        c->head = e->next;
        msg_unref(e->msg);
        free(e);
    }
    if (c->prev)
        c->prev->next = c->next;
    else if (w->conns == c)
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->wsi = NULL;
    atomic_fetch_sub(&w->connections, 1);
}

/* ---- Distribution (I/O thread) ---- */

static void enqueue(mconn *c, mmsg *m, int sub)
{
    mqent *e = malloc(sizeof *e);
    if (!e)
        return; /* the client sees a gap, which it must survive anyway */
    e->next = NULL;
    e->msg = m;
    e->sub = sub;
    m->refs++;
    if (c->tail)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
    lws_callback_on_writable(c->wsi);
}

static void distribute(mws *w)
{
    mmsg *m;

    pthread_mutex_lock(&w->lock);
    m = w->queue_head;
    w->queue_head = w->queue_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    while (m) {
        mmsg *next = m->next;
        m->refs = 1; /* held while handing out */
        for (mconn *c = w->conns; c; c = c->next)
            for (int i = 0; i < c->nsubs; i++)
                if (strcmp(c->match[i], m->stream) == 0)
                    enqueue(c, m, i);
        msg_unref(m);
        m = next;
    }
    int drop = atomic_exchange(&w->drop, 0), drop_user = atomic_exchange(&w->drop_user, 0);
    for (mconn *c = w->conns; c && (drop || drop_user); c = c->next)
        if (drop || c->user) {
            c->closing = 1;
            lws_callback_on_writable(c->wsi);
        }
}

static int write_one(mconn *c, const mqent *e)
{
    const mmsg *m = e->msg;
    size_t cap = LWS_PRE + m->len + MWS_NAME_MAX + 32, len;
    unsigned char *buf = malloc(cap);
    int n;

    if (!buf)
        return -1;
    if (c->combined) {
        len = (size_t)snprintf((char *)buf + LWS_PRE, cap - LWS_PRE, "{\"stream\":\"%s\",\"data\":",
                               c->name[e->sub]);
        memcpy(buf + LWS_PRE + len, m->data, m->len);
        len += m->len;
        buf[LWS_PRE + len++] = '}';
    } else {
        memcpy(buf + LWS_PRE, m->data, m->len);
        len = m->len;
    }
    n = lws_write(c->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    free(buf);
    return n < (int)len ? -1 : 0;
}

static int writeable(mconn *c)
{
    if (c->closing) {
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"dropped", 7);
        return -1;
    }
    while (c->head && !lws_send_pipe_choked(c->wsi)) {
        mqent *e = c->head;
        int rc = write_one(c, e);
        c->head = e->next;
        if (!c->head)
            c->tail = NULL;
        msg_unref(e->msg);
        free(e);
        if (rc != 0)
            return -1;
    }
    if (c->head)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    mws *w = ctx ? lws_context_user(ctx) : NULL;
    mconn *c = user;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return established(w, wsi, c);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return writeable(c);
    case LWS_CALLBACK_RECEIVE:
        return 0; /* subscribe requests are not served: streams come from the URL */
    case LWS_CALLBACK_CLOSED:
        closed(w, c);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (w)
            distribute(w);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"binance", callback, sizeof(mconn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *thread_main(void *arg)
{
    mws *w = arg;
    while (!atomic_load(&w->stop)) {
        if (atomic_load(&w->silent)) {
            usleep(2000);
            continue;
        }
        lws_service(w->ctx, 0);
    }
    return NULL;
}

/* ---- API ---- */

mws *mws_start(int port, int ping_interval_s, char *err, size_t errlen)
{
    struct lws_context_creation_info info;
    mws *w = calloc(1, sizeof *w);
    static lws_retry_bo_t retry;

    if (!w) {
        snprintf(err, errlen, "mock ws: out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    lws_set_log_level(LLL_ERR, NULL);
    retry.secs_since_valid_ping = (uint16_t)(ping_interval_s > 0 ? ping_interval_s : 20);
    retry.secs_since_valid_hangup = (uint16_t)(4 * retry.secs_since_valid_ping);
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.user = w;
    info.fd_limit_per_thread = 128;
    info.retry_and_idle_policy = &retry;
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        snprintf(err, errlen, "mock ws: cannot listen on 127.0.0.1:%d", port);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    w->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(w->ctx, "default"));
    if (w->port <= 0 || pthread_create(&w->thread, NULL, thread_main, w) != 0) {
        snprintf(err, errlen, "mock ws: no listening port or no thread");
        lws_context_destroy(w->ctx);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void mws_stop(mws *w)
{
    if (!w)
        return;
    atomic_store(&w->silent, 0);
    atomic_store(&w->stop, 1);
    lws_cancel_service(w->ctx);
    pthread_join(w->thread, NULL);
    lws_context_destroy(w->ctx);
    while (w->queue_head) {
        mmsg *m = w->queue_head;
        w->queue_head = m->next;
        free(m);
    }
    pthread_mutex_destroy(&w->lock);
    free(w);
}

int mws_port(const mws *w)
{
    return w->port;
}

void mws_publish(mws *w, const char *stream, const char *json, size_t len)
{
    mmsg *m;

    if (atomic_load(&w->silent))
        return;
    m = malloc(sizeof *m + len);
    if (!m)
        return;
    m->next = NULL;
    m->refs = 0;
    snprintf(m->stream, sizeof m->stream, "%s", stream);
    m->len = len;
    memcpy(m->data, json, len);
    pthread_mutex_lock(&w->lock);
    if (w->queue_tail)
        w->queue_tail->next = m;
    else
        w->queue_head = m;
    w->queue_tail = m;
    pthread_mutex_unlock(&w->lock);
    lws_cancel_service(w->ctx);
}

int mws_add_listen_key(mws *w, const char *key)
{
    int rc = -1;
    if (strlen(key) >= MWS_KEY_MAX)
        return -1;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < MWS_MAX_KEYS && rc != 0; i++) {
        if (!w->keys[i][0]) {
            snprintf(w->keys[i], MWS_KEY_MAX, "%s", key);
            rc = 0;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void mws_remove_listen_key(mws *w, const char *key)
{
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < MWS_MAX_KEYS; i++)
        if (strcmp(w->keys[i], key) == 0)
            w->keys[i][0] = 0;
    pthread_mutex_unlock(&w->lock);
}

int mws_has_listen_key(mws *w, const char *key)
{
    return is_listen_key(w, key);
}

int mws_listen_key(mws *w, char *out, size_t cap)
{
    int found = 0;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < MWS_MAX_KEYS && !found; i++) {
        if (w->keys[i][0]) {
            snprintf(out, cap, "%s", w->keys[i]);
            found = 1;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return found;
}

void mws_drop_all(mws *w)
{
    atomic_store(&w->drop, 1);
    lws_cancel_service(w->ctx);
}

void mws_set_user_down(mws *w, int on)
{
    atomic_store(&w->user_down, on ? 1 : 0);
    if (on) {
        atomic_store(&w->drop_user, 1);
        lws_cancel_service(w->ctx);
    }
}

void mws_set_silent(mws *w, int on)
{
    atomic_store(&w->silent, on ? 1 : 0);
    lws_cancel_service(w->ctx);
}

int mws_connections(const mws *w)
{
    return atomic_load(&((mws *)w)->connections);
}

uint64_t mws_accepted(const mws *w)
{
    return atomic_load(&((mws *)w)->accepted);
}

uint64_t mws_user_accepted(const mws *w)
{
    return atomic_load(&((mws *)w)->user_accepted);
}
