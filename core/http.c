/*
 * http.c -- the HTTP(S) client over libcurl's multi interface (http.h).
 *
 * libcurl tells us which sockets to watch (socket callback) and when to
 * call it back (timer callback); libevent watches them on the caller's
 * base and we hand each event to curl_multi_socket_action, then collect
 * finished transfers. One curl easy handle per request in flight, taken
 * from a pool of slots that keep their handle and buffers between
 * requests, so the steady state allocates nothing of ours.
 *
 * A slot's handle is set up once, when the slot is made (everything that
 * is the same for every request of the client), and never reset: a
 * request sets only what is its own (URL, method and body, and the
 * timeout and header lines when they differ from the slot's last ones).
 * libcurl keeps options from one transfer to the next, so every option a
 * request may set is set, to its value or back to its default, by every
 * request: nothing of one request leaks into the next.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "copy.h"
#include "grow.h"
#include "json.h"

#ifndef LUTRA_VERSION
#define LUTRA_VERSION "dev"
#endif

/* A slot's response buffer above this is released after its answer, so
 * one large reply does not pin memory for the client's life. */
#define SLOT_KEEP_BODY_CAP ((size_t)256 << 10)
/* How much of a request's method and URL error texts quote. */
#define WHAT_MAX 200

typedef struct http_slot http_slot;

struct http_slot {
    http_client *c;
    CURL *easy;
    struct curl_slist *headers; /* the last request's lines, "Expect:" first */
    long timeout_ms;         /* the last request's; 0 before the first */
    char bodyless[8];        /* the method the handle is set for, without a body; "": none */
    uint64_t id;             /* 0 while the slot is free */
    http_done_fn fn;
    void *ud;
    int64_t started_ns;
    int too_large;
    char *body;              /* the response, JSON_PADDING spare bytes */
    size_t body_len, body_cap;
    char *sent;              /* a copy of the request body */
    size_t sent_cap;
    char what[WHAT_MAX];     /* "GET http://host/path", for error texts */
    char curl_err[CURL_ERROR_SIZE];
    http_slot *prev, *next;  /* in flight (doubly linked) or free list */
};

/* One socket libcurl asked us to watch. */
typedef struct http_sock http_sock;
struct http_sock {
    http_client *c;
    struct event *ev;
    http_sock *prev, *next; /* the client's sockets, for http_free */
};

struct http_client {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;     /* libcurl's next timeout */
    http_slot *in_flight;
    http_slot *free_slots;
    http_sock *socks;
    size_t n_in_flight;
    uint64_t last_id;
    size_t max_body;
    long timeout_ms;
    long connect_timeout_ms;
    int insecure;
    char user_agent[64];
};

static const char empty_body[JSON_PADDING];

/* http_set_probe's; NULL unless a benchmark watches. */
static const http_probe *hand_off_probe;

void http_set_probe(const http_probe *probe)
{
    hand_off_probe = probe;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

/* ns to whole ms, rounding up so a short timeout never becomes "none". */
static long ns_to_ms(int64_t ns)
{
    return (long)((ns + 999999) / 1000000);
}

const char *http_error_name(int error)
{
    switch (error) {
    case HTTP_ERR_NONE: return "ok";
    case HTTP_ERR_TIMEOUT: return "timeout";
    case HTTP_ERR_CONNECT: return "connect";
    case HTTP_ERR_DNS: return "dns";
    case HTTP_ERR_TLS: return "tls";
    case HTTP_ERR_TOO_LARGE: return "too large";
    default: return "transport";
    }
}

/* ---- Slots ---- */

static void slot_destroy(http_slot *s)
{
    if (s->easy)
        curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->headers);
    free(s->body);
    free(s->sent);
    free(s);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud);

/* What every request of client c shares, set once on a new slot's handle. */
static int slot_setup(http_client *c, http_slot *s)
{
    CURL *e = s->easy;
    CURLcode rc = CURLE_OK;

    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->curl_err);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    rc |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (c->insecure) {
        rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return rc == CURLE_OK ? 0 : -1;
}

static http_slot *slot_take(http_client *c)
{
    http_slot *s = c->free_slots;

    if (s) {
        c->free_slots = s->next;
    } else {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        s->c = c;
        s->easy = curl_easy_init();
        if (!s->easy || slot_setup(c, s) < 0) {
            slot_destroy(s);
            return NULL;
        }
    }
    s->prev = s->next = NULL;
    return s;
}

static void slot_release(http_client *c, http_slot *s)
{
    s->id = 0;
    s->fn = NULL;
    s->ud = NULL;
    s->too_large = 0;
    s->body_len = 0;
    if (s->body_cap > SLOT_KEEP_BODY_CAP) {
        free(s->body);
        s->body = NULL;
        s->body_cap = 0;
    }
    s->next = c->free_slots;
    c->free_slots = s;
}

static void flight_link(http_client *c, http_slot *s)
{
    s->prev = NULL;
    s->next = c->in_flight;
    if (c->in_flight)
        c->in_flight->prev = s;
    c->in_flight = s;
    c->n_in_flight++;
}

static void flight_unlink(http_client *c, http_slot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->in_flight = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    c->n_in_flight--;
}

/* ---- Transfer callbacks (called by libcurl) ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    http_slot *s = ud;
    size_t len = size * nmemb;
    size_t need = s->body_len + len + JSON_PADDING;

    if (s->body_len + len > s->c->max_body) {
        s->too_large = 1;
        return 0; /* libcurl ends the transfer with a write error */
    }
    if (need > s->body_cap) {
        char *b = grow_capacity(s->body, &s->body_cap, need, 1, 4096);
        if (!b)
            return 0;
        s->body = b;
    }
    memcpy(s->body + s->body_len, data, len);
    s->body_len += len;
    return len;
}

/* ---- Building a request ---- */

/* "GET http://host/path": the URL up to its query, which may hold a
 * signature. Written for every request, so without snprintf (copy.h). */
static void describe(http_slot *s, const char *method, const char *url)
{
    size_t n = copy_str(s->what, sizeof s->what - 1, method), path_len = strcspn(url, "?#");

    s->what[n++] = ' ';
    if (path_len > sizeof s->what - 1 - n)
        path_len = sizeof s->what - 1 - n;
    memcpy(s->what + n, url, path_len);
    s->what[n + path_len] = '\0';
}

/* Are req's header lines the ones s->headers holds (after "Expect:")? */
static int same_headers(const http_slot *s, const http_request *req)
{
    const struct curl_slist *l = s->headers ? s->headers->next : NULL;
    size_t i = 0;

    if (!s->headers)
        return 0;
    for (; l && i < req->nheaders; l = l->next, i++)
        if (strcmp(l->data, req->headers[i]) != 0)
            return 0;
    return !l && i == req->nheaders;
}

/* The request's header lines, built only when they are not the last
 * request's (a venue's requests carry the same key header every time). */
static int set_headers(http_slot *s, const http_request *req)
{
    struct curl_slist *list;

    if (same_headers(s, req))
        return 0;
    /* No "Expect: 100-continue" round trip before a large body. */
    list = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; list && i < req->nheaders; i++) {
        struct curl_slist *more = curl_slist_append(list, req->headers[i]);
        if (!more)
            curl_slist_free_all(list);
        list = more;
    }
    if (!list || curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, list) != CURLE_OK) {
        curl_slist_free_all(list);
        return -1;
    }
    /* The handle points at the new list now: the old one can go. */
    curl_slist_free_all(s->headers);
    s->headers = list;
    return 0;
}

/*
 * Method and body. HTTPGET first puts the handle back to a plain GET (no
 * upload, a body expected) whatever the slot's last request was. HEAD
 * turns the body off; a body (or POST) makes it a POST, which CUSTOMREQUEST
 * renames for any other method, as it renames a GET without a body for
 * methods other than GET; otherwise CUSTOMREQUEST goes back to none. A
 * request without a body stays a GET underneath: the last request's
 * POSTFIELDS, still on the handle, is not sent.
 */
static int set_method(http_slot *s, const char *method, const http_request *req)
{
    CURL *e = s->easy;
    size_t len = req->body_len;
    int is_post = strcmp(method, "POST") == 0;
    const char *custom = strcmp(method, "GET") == 0 ? NULL : method;
    CURLcode rc;

    /* The same method without a body as the slot's last request: the
     * handle is set already (four setopt calls fewer per order). */
    if (len == 0 && strcmp(s->bodyless, method) == 0)
        return 0;
    s->bodyless[0] = '\0';
    rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);

    if (strcmp(method, "HEAD") == 0) {
        rc |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        custom = NULL;
    } else if (len > 0 || is_post) {
        if (len + 1 > s->sent_cap) {
            char *b = grow_capacity(s->sent, &s->sent_cap, len + 1, 1, 1024);
            if (!b)
                return -1;
            s->sent = b;
        }
        if (len)
            memcpy(s->sent, req->body, len);
        s->sent[len] = '\0';
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->sent);
        custom = is_post ? NULL : method;
    }
    rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, custom);
    if (rc != CURLE_OK)
        return -1;
    if (len == 0 && strlen(method) < sizeof s->bodyless)
        memcpy(s->bodyless, method, strlen(method) + 1);
    return 0;
}

/* What is the request's own, on a slot set up by slot_setup. */
static int configure(http_client *c, http_slot *s, const char *method,
                     const http_request *req)
{
    long timeout_ms = req->timeout_ns > 0 ? ns_to_ms(req->timeout_ns) : c->timeout_ms;

    s->curl_err[0] = '\0';
    if (curl_easy_setopt(s->easy, CURLOPT_URL, req->url) != CURLE_OK)
        return -1;
    if (timeout_ms != s->timeout_ms) {
        if (curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK)
            return -1;
        s->timeout_ms = timeout_ms;
    }
    return set_headers(s, req) < 0 || set_method(s, method, req) < 0 ? -1 : 0;
}

uint64_t http_send(http_client *c, const http_request *req, http_done_fn fn, void *ud,
                   char *err, size_t errlen)
{
    const char *method = req->method ? req->method : "GET";
    http_slot *s;
    CURLMcode mc;

    if (!req->url || !*req->url || !fn || !*method) {
        snprintf(err, errlen, "http: a request needs a method, a URL and a callback");
        return 0;
    }
    s = slot_take(c);
    if (!s) {
        snprintf(err, errlen, "http: out of memory for a request");
        return 0;
    }
    describe(s, method, req->url);
    if (configure(c, s, method, req) < 0) {
        snprintf(err, errlen, "http: %s: cannot set up the request (out of memory?)",
                 s->what);
        slot_release(c, s);
        return 0;
    }
    mc = curl_multi_add_handle(c->multi, s->easy);
    if (mc != CURLM_OK) {
        snprintf(err, errlen, "http: %s: %s", s->what, curl_multi_strerror(mc));
        slot_release(c, s);
        return 0;
    }
    if (hand_off_probe)
        hand_off_probe->handed(hand_off_probe->ud, req);
    s->id = ++c->last_id;
    s->fn = fn;
    s->ud = ud;
    s->started_ns = mono_ns();
    flight_link(c, s);
    return s->id;
}

/* ---- Completion ---- */

static int classify(CURLcode rc, int too_large)
{
    if (too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return HTTP_ERR_TOO_LARGE;
    switch (rc) {
    case CURLE_OK:
        return HTTP_ERR_NONE;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_ERR_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
        return HTTP_ERR_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HTTP_ERR_DNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return HTTP_ERR_TLS;
    default:
        return HTTP_ERR_OTHER;
    }
}

/* Fill r for a finished transfer; text is where an error text is written. */
static void make_response(http_slot *s, CURLcode rc, http_response *r, char *text,
                          size_t textlen)
{
    long status = 0;

    memset(r, 0, sizeof *r);
    r->error = classify(rc, s->too_large);
    r->elapsed_ns = mono_ns() - s->started_ns;
    r->handle_ = s->easy;
    if (r->error == HTTP_ERR_NONE) {
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
        r->status = (int)status;
        r->body = s->body_len ? s->body : empty_body;
        r->body_len = s->body_len;
        if (s->body_len)
            memset(s->body + s->body_len, 0, JSON_PADDING);
        return;
    }
    r->body = empty_body;
    if (r->error == HTTP_ERR_TOO_LARGE)
        snprintf(text, textlen,
                 "http: %s: too large: the response body is over the limit of %zu bytes",
                 s->what, s->c->max_body);
    else
        snprintf(text, textlen, "http: %s: %s: %s", s->what, http_error_name(r->error),
                 s->curl_err[0] ? s->curl_err : curl_easy_strerror(rc));
    r->error_text = text;
}

static void complete(http_client *c, http_slot *s, CURLcode rc)
{
    char text[WHAT_MAX + CURL_ERROR_SIZE + 64];
    http_response r;

    /* Out of the in-flight list first: cancelling this id from inside its
     * own callback is then a harmless no-op. The response headers live in
     * the easy handle, so it leaves the multi handle after the callback. */
    flight_unlink(c, s);
    make_response(s, rc, &r, text, sizeof text);
    s->fn(s->ud, s->id, &r);
    curl_multi_remove_handle(c->multi, s->easy);
    slot_release(c, s);
}

/* Hand every finished transfer to its callback. */
static void collect(http_client *c)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left))) {
        char *slot = NULL;
        CURLcode rc = msg->data.result;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
        if (slot)
            complete(c, (http_slot *)slot, rc);
    }
}

/* ---- libcurl driven by libevent ---- */

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    http_sock *hs = arg;
    http_client *c = hs->c; /* hs may be freed by socket_action */
    int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
                ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;

    curl_multi_socket_action(c->multi, fd, flags, &running);
    collect(c);
}

static void on_timer_event(evutil_socket_t fd, short what, void *arg)
{
    http_client *c = arg;
    int running;
    (void)fd;
    (void)what;

    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect(c);
}

static http_sock *sock_new(http_client *c, curl_socket_t s)
{
    http_sock *hs = calloc(1, sizeof *hs);

    if (!hs || !(hs->ev = event_new(c->base, s, 0, on_sock_event, hs))) {
        free(hs);
        return NULL;
    }
    hs->c = c;
    hs->next = c->socks;
    if (c->socks)
        c->socks->prev = hs;
    c->socks = hs;
    return hs;
}

static void sock_free(http_sock *hs)
{
    http_client *c = hs->c;

    if (hs->prev)
        hs->prev->next = hs->next;
    else
        c->socks = hs->next;
    if (hs->next)
        hs->next->prev = hs->prev;
    event_free(hs->ev);
    free(hs);
}

/* libcurl: watch socket s for `what`, or forget it. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    http_client *c = userp;
    http_sock *hs = socketp;
    short events = EV_PERSIST;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        if (hs) {
            sock_free(hs);
            curl_multi_assign(c->multi, s, NULL);
        }
        return 0;
    }
    if (!hs) {
        hs = sock_new(c, s);
        if (!hs)
            return -1;
        curl_multi_assign(c->multi, s, hs);
    } else {
        event_del(hs->ev);
    }
    if (what & CURL_POLL_IN)
        events |= EV_READ;
    if (what & CURL_POLL_OUT)
        events |= EV_WRITE;
    if (event_assign(hs->ev, c->base, s, events, on_sock_event, hs) < 0 ||
        event_add(hs->ev, NULL) < 0)
        return -1;
    return 0;
}

/* libcurl: call socket_action(TIMEOUT) in timeout_ms, or never (-1). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    http_client *c = userp;
    struct timeval tv;
    (void)multi;

    if (timeout_ms < 0)
        return event_del(c->timer) < 0 ? -1 : 0;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return event_add(c->timer, &tv) < 0 ? -1 : 0;
}

/* ---- The client ---- */

static void apply_options(http_client *c, const http_options *o)
{
    static const http_options none;
    if (!o)
        o = &none;
    c->max_body = o->max_body ? o->max_body : HTTP_DEFAULT_MAX_BODY;
    c->timeout_ms = ns_to_ms(o->timeout_ns > 0 ? o->timeout_ns : HTTP_DEFAULT_TIMEOUT_NS);
    c->connect_timeout_ms = ns_to_ms(o->connect_timeout_ns > 0 ? o->connect_timeout_ns
                                                               : HTTP_DEFAULT_CONNECT_TIMEOUT_NS);
    c->insecure = o->insecure;
    snprintf(c->user_agent, sizeof c->user_agent, "%s",
             o->user_agent ? o->user_agent : "lutra/" LUTRA_VERSION);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      o->max_host_connections > 0 ? o->max_host_connections
                                                  : (long)HTTP_DEFAULT_HOST_CONNECTIONS);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      o->max_total_connections > 0 ? o->max_total_connections : 0L);
}

http_client *http_new(struct event_base *base, const http_options *opt, char *err,
                      size_t errlen)
{
    http_client *c;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "http: libcurl could not initialise");
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (!c || !(c->multi = curl_multi_init()) ||
        !(c->timer = evtimer_new(base, on_timer_event, c))) {
        snprintf(err, errlen, "http: out of memory for a client");
        if (c && c->multi)
            curl_multi_cleanup(c->multi);
        free(c);
        curl_global_cleanup();
        return NULL;
    }
    c->base = base;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    apply_options(c, opt);
    return c;
}

/* Take s out of the multi handle without calling its callback. */
static void abort_slot(http_client *c, http_slot *s)
{
    flight_unlink(c, s);
    curl_multi_remove_handle(c->multi, s->easy);
    slot_release(c, s);
}

int http_cancel(http_client *c, uint64_t id)
{
    for (http_slot *s = c->in_flight; s; s = s->next) {
        if (s->id == id) {
            abort_slot(c, s);
            return 1;
        }
    }
    return 0;
}

size_t http_in_flight(const http_client *c)
{
    return c->n_in_flight;
}

void http_free(http_client *c)
{
    if (!c)
        return;
    while (c->in_flight)
        abort_slot(c, c->in_flight);
    /* Cleaning up the multi handle closes the cached connections; whatever
     * socket it did not tell us to forget is forgotten here. */
    curl_multi_cleanup(c->multi);
    while (c->socks)
        sock_free(c->socks);
    while (c->free_slots) {
        http_slot *s = c->free_slots;
        c->free_slots = s->next;
        slot_destroy(s);
    }
    event_free(c->timer);
    free(c);
    curl_global_cleanup();
}

const char *http_response_header(const http_response *r, const char *name)
{
    struct curl_header *h;

    if (!r->handle_ || r->error != HTTP_ERR_NONE)
        return NULL;
    if (curl_easy_header(r->handle_, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return NULL;
    return h->value;
}
