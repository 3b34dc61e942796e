/*
 * bench/tick_to_order.c -- tick-to-order latency of the live path, on
 * loopback: from the moment a WebSocket message with a book update is whole
 * in the I/O thread to the moment the order it caused is handed to the HTTP
 * transport (libcurl's multi handle).
 *
 *   tick_to_order [--seconds N] [--rate N] [--levels N] [--spin-us N] [--pin]
 *                 [--writemap]
 *
 * Defaults: 10 s measured at 1,000 diffs a second of 20 levels, the engine
 * sleeping on the eventfd between messages; --spin-us sets ws's spin_us
 * for every connection (ws_set_spin_default). --pin gives the engine
 * thread the last CPU to itself and puts every other thread of the bench
 * (I/O threads, the mock's, the relay, the pacer) on the others, as a host
 * with a core set aside for the engine would. --writemap sets the config's
 * state_writemap (LMDB's MDB_WRITEMAP, docs/state.md).
 *
 * Run from the repository root (the strategy and scripts/lib are found from
 * there), with LUTRA_PLUGIN_PATH naming the folder of binance.so (bench/run
 * sets it).
 *
 * Everything in between is the real thing: the ws ring and eventfd wake
 * (core/ws.c), the Binance connector's decode and book synchronisation, the
 * engine's book, the Lua strategy bench/strategies/tick_to_order.lua (a
 * post-only buy below the market on every book update; the orders before
 * it are cancelled once the venue has them), the risk gates, the OMS, the
 * state store's write-ahead (the config's state_dir is a fresh folder on
 * /dev/shm, tmpfs; the bench says whether the driver wrote in it), and the
 * connector's submit (the request built, HMAC-signed and sent at once, or
 * from its REST queue when it must wait). The driver is core/live.h in
 * mode live, as `lutra run` builds it; the exchange is the mock Binance
 * (t/mock_binance), in-process. A
 * pacing thread of the bench drives its book, 20 levels a side around
 * 60000: every 1/--rate s it sets --levels of them to new sizes and has the
 * mock publish them at once, one depth diff of that many levels (the mock's
 * own generator is off: no trades).
 *
 * The clocks: ws's latency probe stamps each message CLOCK_MONOTONIC when
 * its last fragment arrives on the I/O thread and calls us on the engine
 * thread around its delivery; the orders the OMS created during a delivery
 * are that message's. http's hand-off probe calls us when a request has
 * been given to libcurl; a POST /api/v3/order names its order by
 * newClientOrderId, which leads back to the message, whether the request
 * left during the delivery (the connector sends at once when it can) or
 * after it (from its queue, on a later loop turn). The exchange's answer
 * comes after the span and is not in it. The first second of orders is a
 * warm-up and not counted.
 *
 * Counts: "new orders ... handed" counts every POST /api/v3/order of the run,
 * warm-up and the start included, so it exceeds the samples; the
 * strategy's cancels (DELETE) and the connector's other requests are
 * counted apart ("requests in all"), never as orders.
 *
 * The mock says what Binance says about order rates (100 orders per 10 s):
 * the connector would queue all but a few of these orders. A relay in front
 * of the mock's REST port forwards every request and answer unchanged,
 * except exchangeInfo's rateLimits, raised so that the connector sends what
 * the strategy asks at once. The mock's own weight limit is raised through
 * its options.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "http.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "mock_binance.h"
#include "oms.h"
#include "rng.h"
#include "ws.h"
#include "bench.h"

#define SYMBOL "BTCUSDT"
#define WARMUP_NS INT64_C(1000000000)
#define POLL_NS INT64_C(100000000)
#define START_DEADLINE_NS INT64_C(20000000000)
#define ID_SLOTS 4096            /* orders awaiting their hand-off, by id hash */
#define MAX_SAMPLES (1u << 21)
/* One connection to the mock: requests reach it in the order they were
 * sent (a cancel never overtakes the order it cancels). */
#define RELAY_UPSTREAMS 1
#define MOCK_WEIGHT_LIMIT 100000000
#define BOOK_LEVELS 20           /* a side, the pacer's book */
#define BOOK_MID_CENTS 6000000   /* 60000.00 */
#define TMPFS_MAGIC_NUMBER 0x01021994

/* ---- Samples: the two probes ---- */

typedef struct pending_order {
    char id[ORDER_ID_MAX + 1];
    int64_t complete_ns;         /* its message's stamp */
    int64_t delivered_ns;        /* on_message began */
    int64_t returned_ns;         /* on_message returned */
} pending_order;

/* The span in three parts, each sample's: I/O thread to on_message (ring,
 * wake); on_message from its start to the hand-off, or to its return when
 * the request leaves later (decode, book, strategy, risk, OMS, the state
 * store's write-ahead and commit, and when the connector sends at once its
 * request built, signed and given to http); and from on_message's return
 * to the hand-off, 0 when it was inside (the connector's REST queue on a
 * later loop turn, signing, http). */
enum { PART_WAKE, PART_MESSAGE, PART_SEND, PARTS };
static const char *const part_names[PARTS] = {"wake", "on_message", "after it"};

typedef struct bench {
    oms *oms;                    /* the live engine's */
    int pin_cpu;                 /* >= 0: move the engine thread there when measuring starts */
    /* the message being delivered */
    int in_delivery;
    int64_t complete_ns, delivered_ns;
    size_t orders_before;
    /* counts */
    uint64_t messages, depth_messages, depth_bytes, orders_handed, requests_handed, unmatched;
    uint64_t handed_inside;      /* samples whose request left during its delivery */
    int64_t first_order_ns, measure_from_ns, measure_until_ns;
    int64_t seconds_ns;
    pending_order slots[ID_SLOTS];
    int64_t *lat_ns;
    int64_t *part_ns[PARTS];
    size_t nlat;
    int measuring_done;
} bench;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* FNV-1a of an order id, ended by '\0' or '&'. */
static uint32_t id_hash(const char *s, size_t *len)
{
    uint32_t h = 2166136261u;
    size_t n = 0;
    for (; s[n] && s[n] != '&'; n++)
        h = (h ^ (unsigned char)s[n]) * 16777619u;
    *len = n;
    return h;
}

/* Every thread the process starts from now on runs on CPUs 0..n-2 (they
 * inherit it); the engine thread moves to CPU n-1 once the warm-up is over
 * (every thread has been started by then).
 * @return 0, or -1 (fewer than 2 CPUs, or refused: said why). */
static int pin_others(bench *b)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;

    if (n < 2) {
        fprintf(stderr, "tick_to_order: --pin needs 2 CPUs or more\n");
        return -1;
    }
    CPU_ZERO(&set);
    for (long i = 0; i < n - 1; i++)
        CPU_SET(i, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fprintf(stderr, "tick_to_order: --pin: %s\n", strerror(errno));
        return -1;
    }
    b->pin_cpu = (int)(n - 1);
    return 0;
}

static void pin_engine(bench *b)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(b->pin_cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
        fprintf(stderr, "tick_to_order: cannot move the engine to CPU %d\n", b->pin_cpu);
    b->pin_cpu = -1;
}

/* Engine thread, inside the span: keep it to a stamp and a count. */
static void probe_before(void *ud, int64_t complete_ns, const char *data, size_t len)
{
    bench *b = ud;
    b->delivered_ns = mono_ns();
    b->complete_ns = complete_ns;
    b->in_delivery = 1;
    b->orders_before = oms_order_count(b->oms);
    b->messages++;
    /* {"stream":"btcusdt@depth@...: the stream name is near the start.
     * memchr and a memcmp, not memmem: this runs inside the span, and
     * glibc's memmem sets up a search each call (it showed in profiles). */
    const char *at = memchr(data, '@', len < 48 ? len : 48);
    if (at && (size_t)(at - data) + 6 <= len && !memcmp(at, "@depth", 6)) {
        b->depth_messages++;
        b->depth_bytes += len;
    }
}

/* The orders created while the message was delivered are its own. */
static void probe_after(void *ud)
{
    bench *b = ud;
    size_t n = oms_order_count(b->oms), len;
    int64_t now = n > b->orders_before ? mono_ns() : 0;

    b->in_delivery = 0;
    for (size_t i = b->orders_before; i < n; i++) {
        const order *o = oms_order_at(b->oms, i);
        pending_order *p = &b->slots[id_hash(o->id, &len) % ID_SLOTS];
        memcpy(p->id, o->id, len + 1);
        p->complete_ns = b->complete_ns;
        p->delivered_ns = b->delivered_ns;
        p->returned_ns = now;
    }
}

/* A request handed at `now` for an order of the message p describes
 * (p->returned_ns 0: handed during its delivery). */
static void sample_add(bench *b, int64_t now, const pending_order *p)
{
    if (!b->first_order_ns) {
        b->first_order_ns = now;
        b->measure_from_ns = now + WARMUP_NS;
        b->measure_until_ns = b->measure_from_ns + b->seconds_ns;
    }
    if (now < b->measure_from_ns || now >= b->measure_until_ns || b->nlat == MAX_SAMPLES)
        return;
    if (b->pin_cpu >= 0)
        pin_engine(b);
    int64_t returned = p->returned_ns ? p->returned_ns : now;
    b->handed_inside += !p->returned_ns;
    b->part_ns[PART_WAKE][b->nlat] = p->delivered_ns - p->complete_ns;
    b->part_ns[PART_MESSAGE][b->nlat] = returned - p->delivered_ns;
    b->part_ns[PART_SEND][b->nlat] = now - returned;
    b->lat_ns[b->nlat++] = now - p->complete_ns;
}

/* Was order id (len bytes) created during the delivery under way? */
static int created_in_delivery(const bench *b, const char *id, size_t len)
{
    size_t n = oms_order_count(b->oms);

    for (size_t i = b->orders_before; i < n; i++) {
        const order *o = oms_order_at(b->oms, i);
        if (!strncmp(o->id, id, len) && !o->id[len])
            return 1;
    }
    return 0;
}

/* A new order's request reached libcurl: the end of the span. */
static void probe_handed(void *ud, const http_request *req)
{
    static const char key[] = "newClientOrderId=";
    int64_t now = mono_ns();
    bench *b = ud;
    const char *id;
    size_t len;

    b->requests_handed++;
    if (!req->method || strcmp(req->method, "POST") || !strstr(req->url, "/api/v3/order?") ||
        !(id = strstr(req->url, key)))
        return;
    id += sizeof key - 1;
    b->orders_handed++;
    pending_order *p = &b->slots[id_hash(id, &len) % ID_SLOTS];
    if (b->in_delivery && len <= ORDER_ID_MAX && created_in_delivery(b, id, len)) {
        pending_order now_p = {.complete_ns = b->complete_ns, .delivered_ns = b->delivered_ns};
        sample_add(b, now, &now_p);
        return;
    }
    if (len > ORDER_ID_MAX || strncmp(p->id, id, len) || p->id[len] || !p->complete_ns) {
        b->unmatched++;
        return;
    }
    sample_add(b, now, p);
    p->id[0] = '\0';
}

/* ---- REST relay: the mock's answers, with room for our order rate ---- */

typedef struct relay {
    struct event_base *base;
    struct evhttp *http;
    int stop_fd;                 /* an eventfd: written to stop the thread */
    struct event *stop_ev;
    struct evhttp_connection *up[RELAY_UPSTREAMS];
    unsigned next_up;
    int port;
    pthread_t thread;
    int started;
} relay;

static const char relay_limits[] =
    "{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,"
    "\"limit\":100000000},"
    "{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":1,"
    "\"limit\":1000000},"
    "{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,"
    "\"limit\":10000000},"
    "{\"rateLimitType\":\"ORDERS\",\"interval\":\"DAY\",\"intervalNum\":1,"
    "\"limit\":100000000}";

/* exchangeInfo with relay_limits for its rateLimits. @return 0, or -1
 * (no rateLimits array: the body goes as it is). */
static int relay_patch_limits(struct evbuffer *body)
{
    size_t n = evbuffer_get_length(body);
    const char *s = (const char *)evbuffer_pullup(body, -1);
    const char *open = s ? memmem(s, n, "\"rateLimits\":[", 14) : NULL;
    const char *close = open ? memchr(open, ']', n - (size_t)(open - s)) : NULL;
    struct evbuffer *out = evbuffer_new();
    int rc = -1;

    if (open && close && out) {
        open += 14;
        evbuffer_add(out, s, (size_t)(open - s));
        evbuffer_add(out, relay_limits, sizeof relay_limits - 1);
        evbuffer_add(out, close, n - (size_t)(close - s));
        evbuffer_drain(body, n);
        evbuffer_add_buffer(body, out);
        rc = 0;
    }
    if (out)
        evbuffer_free(out);
    return rc;
}

static int relay_hop_header(const char *name)
{
    return !strcasecmp(name, "Content-Length") || !strcasecmp(name, "Connection") ||
           !strcasecmp(name, "Transfer-Encoding") || !strcasecmp(name, "Host");
}

static void relay_copy_headers(struct evkeyvalq *from, struct evkeyvalq *to)
{
    for (struct evkeyval *h = from->tqh_first; h; h = h->next.tqe_next)
        if (!relay_hop_header(h->key))
            evhttp_add_header(to, h->key, h->value);
}

/* The mock answered (answer NULL: it did not). The client's request is
 * still there as long as its connection is: curl keeps its connections for
 * the whole run (a request times out after 10 s; the mock answers in
 * microseconds), and the relay is freed before the HTTP client is. */
static void relay_answered(struct evhttp_request *answer, void *arg)
{
    struct evhttp_request *req = arg;
    const char *uri = evhttp_request_get_uri(req);

    if (!answer || evhttp_request_get_response_code(answer) == 0) {
        evhttp_send_error(req, 502, "the mock did not answer");
        return;
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(answer);
    if (!strncmp(uri, "/api/v3/exchangeInfo", 20) && relay_patch_limits(body) != 0)
        fprintf(stderr, "tick_to_order: exchangeInfo without rateLimits: relayed as it is\n");
    relay_copy_headers(evhttp_request_get_input_headers(answer),
                       evhttp_request_get_output_headers(req));
    evhttp_send_reply(req, evhttp_request_get_response_code(answer),
                      evhttp_request_get_response_code_line(answer), body);
}

static void relay_request(struct evhttp_request *req, void *arg)
{
    relay *r = arg;
    struct evhttp_request *up = evhttp_request_new(relay_answered, req);

    if (!up) {
        evhttp_send_error(req, 500, "relay: out of memory");
        return;
    }
    relay_copy_headers(evhttp_request_get_input_headers(req),
                       evhttp_request_get_output_headers(up));
    evhttp_add_header(evhttp_request_get_output_headers(up), "Host", "127.0.0.1");
    evbuffer_add_buffer(evhttp_request_get_output_buffer(up),
                        evhttp_request_get_input_buffer(req));
    struct evhttp_connection *conn = r->up[r->next_up++ % RELAY_UPSTREAMS];
    if (evhttp_make_request(conn, up, evhttp_request_get_command(req),
                            evhttp_request_get_uri(req)) != 0)
        evhttp_send_error(req, 502, "relay: cannot reach the mock");
}

/* On the relay's thread: libevent is not told about threads here, so the
 * stop comes through an eventfd. */
static void relay_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    event_base_loop(r->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int relay_listen(relay *r, char *err, size_t errlen)
{
    struct evhttp_bound_socket *bound;
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE);
    evhttp_set_gencb(r->http, relay_request, r);
    bound = evhttp_bind_socket_with_handle(r->http, "127.0.0.1", 0);
    if (!bound || getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin,
                              &len) != 0) {
        snprintf(err, errlen, "relay: cannot listen on 127.0.0.1: %s", strerror(errno));
        return -1;
    }
    r->port = ntohs(sin.sin_port);
    return 0;
}

/* Stop the relay's thread, then free it: requests still at the mock go
 * with their connection, their callbacks not called, then the clients'
 * connections close. Safe to call twice. */
static void relay_free(relay *r)
{
    if (r->started) {
        uint64_t one = 1;
        if (write(r->stop_fd, &one, sizeof one) != sizeof one)
            fprintf(stderr, "tick_to_order: cannot stop the relay: %s\n", strerror(errno));
        else
            pthread_join(r->thread, NULL);
    }
    if (r->stop_ev)
        event_free(r->stop_ev);
    if (r->stop_fd > 0)
        close(r->stop_fd);
    for (size_t i = 0; i < RELAY_UPSTREAMS; i++)
        if (r->up[i])
            evhttp_connection_free(r->up[i]);
    if (r->http)
        evhttp_free(r->http);
    if (r->base)
        event_base_free(r->base);
    memset(r, 0, sizeof *r);
}

static int relay_start(relay *r, int upstream_port, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (!(r->base = event_base_new()) || !(r->http = evhttp_new(r->base)) ||
        (r->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        !(r->stop_ev = event_new(r->base, r->stop_fd, EV_READ, relay_stop_cb, r->base)) ||
        event_add(r->stop_ev, NULL) != 0) {
        snprintf(err, errlen, "relay: out of memory, or no eventfd");
        relay_free(r);
        return -1;
    }
    for (size_t i = 0; i < RELAY_UPSTREAMS; i++)
        if (!(r->up[i] = evhttp_connection_base_new(r->base, NULL, "127.0.0.1",
                                                    (ev_uint16_t)upstream_port))) {
            snprintf(err, errlen, "relay: cannot make a connection to the mock");
            relay_free(r);
            return -1;
        }
    if (relay_listen(r, err, errlen) != 0) {
        relay_free(r);
        return -1;
    }
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        snprintf(err, errlen, "relay: cannot start its thread");
        relay_free(r);
        return -1;
    }
    r->started = 1;
    return 0;
}

/* ---- The pacer: the mock's market, one diff at a time ---- */

typedef struct options {
    int64_t seconds;
    int64_t rate;                /* diffs a second */
    int levels;                  /* levels a diff */
    int64_t spin_us;             /* ws_set_spin_default */
    int pin;                     /* the engine alone on the last CPU */
    int writemap;                /* the config's state_writemap */
} options;

typedef struct pacer {
    mock_binance *mx;
    const options *opt;
    rng r;
    atomic_int stop;             /* set by pacer_stop, polled by the pacer */
    pthread_t thread;
    int started;
    uint64_t diffs;
} pacer;

/* Set one level of the book: level 1..BOOK_LEVELS below or above the mid.
 * @return 0, or -1 (the mock refused: said why). */
static int pacer_level(pacer *p, int is_bid, int level, int64_t qty_e5)
{
    char price[32], qty[32], err[256];
    int64_t cents = BOOK_MID_CENTS + (is_bid ? -level : level);

    snprintf(price, sizeof price, "%lld.%02lld", (long long)(cents / 100),
             (long long)(cents % 100));
    snprintf(qty, sizeof qty, "%lld.%05lld", (long long)(qty_e5 / 100000),
             (long long)(qty_e5 % 100000));
    if (mock_binance_set_level(p->mx, SYMBOL, is_bid, price, qty, err, sizeof err) != 0) {
        fprintf(stderr, "tick_to_order: pacer: %s\n", err);
        return -1;
    }
    return 0;
}

/* Every level of both sides, sizes from 0.001 to 2. */
static int pacer_fill(pacer *p)
{
    for (int level = 1; level <= BOOK_LEVELS; level++)
        for (int is_bid = 0; is_bid < 2; is_bid++)
            if (pacer_level(p, is_bid, level, rng_range(&p->r, 100, 200000)) != 0)
                return -1;
    mock_binance_flush(p->mx);
    return 0;
}

/* opt->levels random levels (the sides alternate) to new sizes: one diff. */
static int pacer_diff(pacer *p)
{
    for (int i = 0; i < p->opt->levels; i++) {
        int level = (int)rng_range(&p->r, 1, BOOK_LEVELS);
        if (pacer_level(p, i & 1, level, rng_range(&p->r, 100, 200000)) != 0)
            return -1;
    }
    mock_binance_flush(p->mx);
    p->diffs++;
    return 0;
}

static void *pacer_main(void *arg)
{
    pacer *p = arg;
    int64_t period = INT64_C(1000000000) / p->opt->rate;
    struct timespec next;

    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&p->stop) && pacer_diff(p) == 0) {
        next.tv_nsec += period;
        while (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    return NULL;
}

static int pacer_start(pacer *p, mock_binance *mx, const options *opt, char *err,
                       size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->mx = mx;
    p->opt = opt;
    rng_seed(&p->r, 4, 0);
    if (pacer_fill(p) != 0) {
        snprintf(err, errlen, "pacer: cannot set the first book");
        return -1;
    }
    if (pthread_create(&p->thread, NULL, pacer_main, p) != 0) {
        snprintf(err, errlen, "pacer: cannot start its thread");
        return -1;
    }
    p->started = 1;
    return 0;
}

static void pacer_stop(pacer *p)
{
    if (!p->started)
        return;
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    p->started = 0;
}

/* ---- Set-up: folders, secrets, the mock, the configuration ---- */

typedef struct setup {
    char tmp_dir[64];            /* secrets */
    char state_dir[64];          /* the live driver's state_dir */
    int state_on_tmpfs;
    int writemap;                /* options.writemap */
    char key_path[PATH_MAX], secret_path[PATH_MAX];
    mock_binance *mx;
    relay rl;
    pacer pc;
} setup;

static int write_secret(const char *path, const char *value, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wx");
    if (!f || chmod(path, 0600) != 0 || fputs(value, f) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* The state folder on tmpfs, as the issue asks; /tmp when there is none. */
static int make_state_dir(setup *s, char *err, size_t errlen)
{
    struct statfs fs;

    snprintf(s->state_dir, sizeof s->state_dir, "/dev/shm/lutra-t2o-state-XXXXXX");
    if (!mkdtemp(s->state_dir)) {
        snprintf(s->state_dir, sizeof s->state_dir, "/tmp/lutra-t2o-state-XXXXXX");
        if (!mkdtemp(s->state_dir)) {
            snprintf(err, errlen, "mkdtemp %s: %s", s->state_dir, strerror(errno));
            s->state_dir[0] = '\0';
            return -1;
        }
    }
    s->state_on_tmpfs = statfs(s->state_dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_NUMBER;
    return 0;
}

static int make_files(setup *s, char *err, size_t errlen)
{
    snprintf(s->tmp_dir, sizeof s->tmp_dir, "/tmp/lutra-t2o-XXXXXX");
    if (!mkdtemp(s->tmp_dir)) {
        snprintf(err, errlen, "mkdtemp /tmp: %s", strerror(errno));
        s->tmp_dir[0] = '\0';
        return -1;
    }
    snprintf(s->key_path, sizeof s->key_path, "%s/api.key", s->tmp_dir);
    snprintf(s->secret_path, sizeof s->secret_path, "%s/api.secret", s->tmp_dir);
    if (write_secret(s->key_path, MOCK_BINANCE_API_KEY, err, errlen) != 0 ||
        write_secret(s->secret_path, MOCK_BINANCE_API_SECRET, err, errlen) != 0)
        return -1;
    return make_state_dir(s, err, errlen);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "tick_to_order: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* What the live driver left in the state folder: files and bytes. */
static size_t state_files, state_bytes;

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F) {
        state_files++;
        state_bytes += (size_t)st->st_size;
    }
    return 0;
}

static void count_state(const setup *s)
{
    state_files = state_bytes = 0;
    if (s->state_dir[0])
        nftw(s->state_dir, count_entry, 16, FTW_PHYS);
}

static void remove_tree(const char *dir)
{
    if (dir[0])
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int start_mock(setup *s, const options *o, char *err, size_t errlen)
{
    mock_binance_options mo;

    memset(&mo, 0, sizeof mo);
    mo.weight_limit = MOCK_WEIGHT_LIMIT;
    if (!(s->mx = mock_binance_start(&mo, err, errlen)))
        return -1;
    if (mock_binance_set_balance(s->mx, "USDT", "1000000", err, errlen) != 0 ||
        mock_binance_set_balance(s->mx, "BTC", "10", err, errlen) != 0 ||
        relay_start(&s->rl, mock_binance_rest_port(s->mx), err, errlen) != 0)
        return -1;
    return pacer_start(&s->pc, s->mx, o, err, errlen);
}

static void teardown(setup *s)
{
    pacer_stop(&s->pc);
    relay_free(&s->rl);
    count_state(s);
    mock_binance_stop(s->mx);
    s->mx = NULL;
    remove_tree(s->tmp_dir);
    remove_tree(s->state_dir);
}

static void make_config(const setup *s, char *out, size_t cap)
{
    snprintf(out, cap,
             "return { mode = 'live', cancel_on_stop = true, state_dir = '%s',\n"
             "  state_writemap = %s,\n"
             "  log = { level = 'warn' },\n"
             "  venues = { binance = { connector = 'binance',\n"
             "    rest_url = 'http://127.0.0.1:%d', ws_url = 'ws://127.0.0.1:%d',\n"
             "    api_key = { file = '%s' }, api_secret = { file = '%s' },\n"
             "    symbols = { '" SYMBOL "' } } },\n"
             "  risk = { max_open_orders = 100, orders_per_second = 1000000 },\n"
             "  strategies = { { name = 'quoter', script = 'bench/strategies/tick_to_order.lua',\n"
             "                   venue = 'binance', params = { symbol = '" SYMBOL "' } } } }\n",
             s->state_dir, s->writemap ? "true" : "false", s->rl.port,
             mock_binance_ws_port(s->mx), s->key_path,
             s->secret_path);
}

/* ---- Running ---- */

typedef struct run_ctx {
    live *lv;
    bench *b;
    int64_t started_ns;
    int timed_out;
} run_ctx;

/* Stop once the measured window is over, or when no order came in time. */
static void poll_done(loop_timer *t, void *ud)
{
    run_ctx *rc = ud;
    int64_t now = mono_ns();
    (void)t;

    if (rc->b->measuring_done)
        return;
    if (rc->b->first_order_ns ? now >= rc->b->measure_until_ns
                              : now - rc->started_ns >= START_DEADLINE_NS) {
        rc->timed_out = !rc->b->first_order_ns;
        rc->b->measuring_done = 1;
        live_request_stop(rc->lv);
    }
}

/* Build the live driver on s's mock and relay, run it until poll_done
 * stops it, then stop the market and the relay before the driver is
 * freed (see relay_answered). @return 0, or -1 with err. */
static int run_live(setup *s, bench *b, char *err, size_t errlen)
{
    live_options lo = {.lib_path = "scripts/lib", .stop_grace_ms = 3000};
    config *cfg = malloc(sizeof *cfg);
    char text[4 * PATH_MAX];
    run_ctx rc = {NULL, b, mono_ns(), 0};
    int ok = -1;

    if (!cfg) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    make_config(s, text, sizeof text);
    if (config_load_string("tick_to_order", text, cfg, err, errlen) == 0 &&
        (rc.lv = live_new(cfg, &lo, err, errlen)) != NULL &&
        loop_timer_add(live_loop(rc.lv), POLL_NS, POLL_NS, poll_done, &rc, err, errlen)) {
        b->oms = engine_oms(live_engine(rc.lv));
        ok = live_run(rc.lv, err, errlen);
    }
    if (ok == 0 && rc.timed_out) {
        snprintf(err, errlen, "no order reached the HTTP client within %lld s",
                 (long long)(START_DEADLINE_NS / 1000000000));
        ok = -1;
    }
    pacer_stop(&s->pc);
    relay_free(&s->rl);
    live_free(rc.lv);
    free(cfg);
    return ok;
}

/* ---- Figures ---- */

/* The q-quantile of v[0..n), sorted in place, in us. */
static double quantile_us(int64_t *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i < n ? i : n - 1] / 1e3;
}

/* "median M us, p90 .., p99 .., p99.9 .., max .., mean .." of v (sorted here). */
static void print_spread(int64_t *v, size_t n)
{
    double sum = 0;

    bench_sort_i64(v, n);
    for (size_t i = 0; i < n; i++)
        sum += (double)v[i];
    printf("median %.1f us, p90 %.1f, p99 %.1f, p99.9 %.1f, max %.1f, mean %.1f\n",
           quantile_us(v, n, 0.5), quantile_us(v, n, 0.9), quantile_us(v, n, 0.99),
           quantile_us(v, n, 0.999), (double)v[n - 1] / 1e3, sum / (double)n / 1e3);
}

static void report(bench *b, const setup *s, const options *o)
{
    double secs = (double)b->seconds_ns / 1e9;

    printf("setup            mock Binance in-process, %lld diffs/s of %d levels asked, %llu "
           "published; ws spin_us %lld%s\n",
           (long long)o->rate, o->levels, (unsigned long long)s->pc.diffs,
           (long long)o->spin_us, o->pin ? ", engine pinned alone" : "");
    printf("state            state_dir %s (%s%s): %s, %zu files, %zu KiB\n", s->state_dir,
           s->state_on_tmpfs ? "tmpfs" : "not tmpfs", s->writemap ? ", state_writemap" : "",
           state_files ? "written by the live driver: in the figures" : "not used",
           state_files, state_bytes >> 10);
    printf("messages         %llu delivered, %llu depth diffs of %.0f bytes on average\n",
           (unsigned long long)b->messages, (unsigned long long)b->depth_messages,
           b->depth_messages ? (double)b->depth_bytes / (double)b->depth_messages : 0.0);
    printf("requests         %llu new orders (POST /api/v3/order) handed to HTTP in the whole "
           "run, warm-up and start included (%llu not tied to a message); %llu requests in "
           "all (the cancels and the rest)\n",
           (unsigned long long)b->orders_handed, (unsigned long long)b->unmatched,
           (unsigned long long)b->requests_handed);
    if (!b->nlat) {
        printf("tick to order    no sample\n");
        return;
    }
    printf("tick to order    %zu samples in %.0f s (%.0f orders/s, after a %.0f s warm-up), "
           "%.0f%% handed during their message's delivery: ",
           b->nlat, secs, (double)b->nlat / secs, (double)WARMUP_NS / 1e9,
           100.0 * (double)b->handed_inside / (double)b->nlat);
    print_spread(b->lat_ns, b->nlat);
    for (int k = 0; k < PARTS; k++) {
        printf("  %-14s ", part_names[k]);
        print_spread(b->part_ns[k], b->nlat);
    }
}

/* ---- Main ---- */

static int bench_alloc(bench *b)
{
    b->lat_ns = malloc(MAX_SAMPLES * sizeof *b->lat_ns);
    for (int k = 0; k < PARTS; k++)
        b->part_ns[k] = malloc(MAX_SAMPLES * sizeof *b->part_ns[k]);
    for (int k = 0; k < PARTS; k++)
        if (!b->part_ns[k])
            return -1;
    return b->lat_ns ? 0 : -1;
}

static void bench_free(bench *b)
{
    free(b->lat_ns);
    for (int k = 0; k < PARTS; k++)
        free(b->part_ns[k]);
}

static int parse_args(int argc, char **argv, options *o)
{
    o->seconds = 10;
    o->rate = 1000;
    o->levels = 20;
    o->spin_us = 0;
    o->pin = 0;
    o->writemap = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && !strcmp(argv[i], "--seconds"))
            o->seconds = atoll(v);
        else if (v && !strcmp(argv[i], "--rate"))
            o->rate = atoll(v);
        else if (v && !strcmp(argv[i], "--levels"))
            o->levels = atoi(v);
        else if (v && !strcmp(argv[i], "--spin-us"))
            o->spin_us = atoll(v);
        else if (!strcmp(argv[i], "--pin")) {
            o->pin = 1;
            continue;
        } else if (!strcmp(argv[i], "--writemap")) {
            o->writemap = 1;
            continue;
        } else {
            fprintf(stderr, "usage: tick_to_order [--seconds N] [--rate N] [--levels N] "
                            "[--spin-us N] [--pin] [--writemap]\n");
            return -1;
        }
        i++;
    }
    if (o->seconds < 1 || o->rate < 1 || o->rate > 100000 || o->levels < 1 ||
        o->levels > 2 * BOOK_LEVELS || o->spin_us < 0) {
        fprintf(stderr, "tick_to_order: want --seconds >= 1, --rate in 1..100000, "
                        "--levels in 1..%d, --spin-us >= 0\n", 2 * BOOK_LEVELS);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static bench b;
    setup s;
    options o;
    char err[1024];
    int rc = -1;

    if (parse_args(argc, argv, &o) != 0)
        return 2;
    memset(&s, 0, sizeof s);
    s.writemap = o.writemap;
    b.seconds_ns = o.seconds * INT64_C(1000000000);
    if (bench_alloc(&b) != 0) {
        fprintf(stderr, "tick_to_order: out of memory\n");
        bench_free(&b);
        return 1;
    }
    log_set_level(LOG_WARN);
    ws_set_spin_default(o.spin_us);
    b.pin_cpu = -1;
    if (o.pin && pin_others(&b) != 0) {
        bench_free(&b);
        return 1;
    }
    ws_probe wp = {probe_before, probe_after, &b};
    http_probe hp = {probe_handed, &b};
    ws_set_probe(&wp);
    http_set_probe(&hp);
    if (make_files(&s, err, sizeof err) == 0 && start_mock(&s, &o, err, sizeof err) == 0)
        rc = run_live(&s, &b, err, sizeof err);
    teardown(&s);
    ws_set_probe(NULL);
    http_set_probe(NULL);
    if (rc != 0)
        fprintf(stderr, "tick_to_order: %s\n", err);
    else
        report(&b, &s, &o);
    bench_free(&b);
    return rc != 0;
}
