/*
 * ws.c -- the WebSocket client (core/ws.c) against a real libwebsockets
 * server on 127.0.0.1 (t/ws_server.h), the engine side on a libevent loop.
 * Every wait has a deadline.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "tap.h"
#include "ws.h"
#include "ws_server.h"

#define DEADLINE_MS 10000
#define BURST_N 10000
#define BURST_SIZE 100
#define MAX_STATES 64

typedef struct client {
    ws *w;
    uint64_t count;
    uint64_t hash;      /* FNV-1a over every message's bytes */
    int in_order;       /* burst: message i is the i-th */
    int padded;         /* JSON_PADDING zero bytes followed every message */
    int64_t last_recv_ns;
    char *first;        /* a copy of the first message */
    char *last;         /* a copy of the last message */
    size_t last_len;
    uint64_t last_seq;  /* stream */
    uint64_t first_seq;
    int seq_gap;        /* stream: a number missing or repeated */
    size_t lens[8];     /* the first messages' lengths */
    int big_ok;         /* every 1 MiB message carried the pattern */
    int states[MAX_STATES];
    int64_t retry[MAX_STATES];
    uint32_t attempts[MAX_STATES];
    char reasons[MAX_STATES][128];
    int nstates;
} client;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void on_message(void *ud, int64_t recv_ns, const char *data, size_t len)
{
    client *c = ud;
    char expect[BURST_SIZE + 32];
    c->count++;
    c->hash = fnv(c->hash, data, len);
    c->last_recv_ns = recv_ns;
    for (size_t i = 0; i < JSON_PADDING; i++)
        if (data[len + i] != 0)
            c->padded = 0;
    if (len == BURST_SIZE &&
        (tws_message(c->count, BURST_SIZE, expect) != len || memcmp(expect, data, len) != 0))
        c->in_order = 0;
    if (c->count <= 8)
        c->lens[c->count - 1] = len;
    if (c->count == 1)
        c->first = strndup(data, len);
    if (len == TWS_FRAG_BIG)
        for (size_t i = 0; i < len; i++)
            if (data[i] != 'a' + (int)(i % 26))
                c->big_ok = 0;
    free(c->last);
    c->last = malloc(len + 1);
    memcpy(c->last, data, len);
    c->last[len] = 0;
    c->last_len = len;
}

static int stream_seq(void *ud, const char *data, size_t len, uint64_t *seq)
{
    (void)ud;
    char *end;
    if (!len || data[0] < '0' || data[0] > '9')
        return -1;
    *seq = strtoull(data, &end, 10);
    return 0;
}

static void on_stream(void *ud, int64_t recv_ns, const char *data, size_t len)
{
    client *c = ud;
    uint64_t seq;
    (void)recv_ns;
    if (stream_seq(ud, data, len, &seq) < 0)
        return;
    if (c->count && seq != c->last_seq + 1)
        c->seq_gap = 1;
    if (!c->count)
        c->first_seq = seq;
    c->last_seq = seq;
    c->count++;
}

static void on_state(void *ud, const ws_status *st)
{
    client *c = ud;
    if (c->nstates >= MAX_STATES)
        return;
    c->states[c->nstates] = st->state;
    c->retry[c->nstates] = st->retry_in_ms;
    c->attempts[c->nstates] = st->attempt;
    snprintf(c->reasons[c->nstates], sizeof c->reasons[0], "%s", st->reason);
    c->nstates++;
}

static int count_state(const client *c, int state)
{
    int n = 0;
    for (int i = 0; i < c->nstates; i++)
        n += c->states[i] == state;
    return n;
}

typedef int (*cond_fn)(client *c, void *arg);

/* Run the engine's loop until cond holds or the deadline passes. */
static int run_until(struct event_base *base, client *c, cond_fn cond, void *arg, int ms)
{
    int64_t end = now_ms() + ms;
    struct timeval tick = {0, 2000};
    while (!cond(c, arg)) {
        if (now_ms() > end)
            return 0;
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
    return 1;
}

static int cond_open_count(client *c, void *arg)
{
    return count_state(c, WS_OPEN) >= *(int *)arg;
}

static int cond_count(client *c, void *arg)
{
    return c->count >= *(uint64_t *)arg;
}

static int cond_closed_count(client *c, void *arg)
{
    return count_state(c, WS_CLOSED) >= *(int *)arg;
}

/* The first attempt after a close (attempt 1) has begun. */
static int cond_retrying(client *c, void *arg)
{
    (void)arg;
    for (int i = 0; i < c->nstates; i++)
        if (c->states[i] == WS_CONNECTING && c->attempts[i] == 1)
            return 1;
    return 0;
}

static int cond_server_got(client *c, void *arg)
{
    (void)c;
    void **a = arg;
    char *got = tws_last_received(a[0]);
    int match = got && !strcmp(got, a[1]);
    free(got);
    return match;
}

static ws *open_client(struct event_base *base, tws *s, const char *path, client *c,
                       ws_config *override)
{
    char url[128], err[256];
    ws_config cfg = override ? *override : (ws_config){0};
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", s->port, path);
    memset(c, 0, sizeof *c);
    c->in_order = 1;
    c->padded = 1;
    c->big_ok = 1;
    c->hash = 1469598103934665603ULL;
    cfg.url = url;
    if (!cfg.on_message)
        cfg.on_message = on_message;
    cfg.on_state = on_state;
    cfg.ud = c;
    if (!cfg.backoff_base_ms)
        cfg.backoff_base_ms = 10, cfg.backoff_cap_ms = 80;
    c->w = ws_open(base, &cfg, err, sizeof err);
    if (!c->w)
        diag("ws_open: %s", err);
    return c->w;
}

/* ws_open failed where it should not have: a failure, and the n - 1
 * checks that needed the client skipped. */
static void open_failed(int n, const char *what)
{
    ok(0, "%s: ws_open", what);
    if (n > 1)
        skip(n - 1, "no client");
}

static void close_client(client *c)
{
    ws_free(c->w);
    c->w = NULL;
    free(c->first);
    free(c->last);
    c->first = c->last = NULL;
}

static void test_config_errors(void)
{
    char err[256];
    ws_config cfg = {0};
    cfg.on_message = on_message;
    cfg.url = "http://127.0.0.1:1/x";
    ok(!ws_open(NULL, &cfg, err, sizeof err) && strstr(err, "not ws or wss"),
       "an http:// url is refused: %s", err);
    cfg.url = "ws://127.0.0.1:1/x";
    ok(!ws_open(NULL, &cfg, err, sizeof err) && strstr(err, "event_base"),
       "no event_base without spin is refused: %s", err);
    cfg.ring_slots = 100;
    cfg.spin = 1;
    ok(!ws_open(NULL, &cfg, err, sizeof err) && strstr(err, "power of two"),
       "ring_slots not a power of two is refused: %s", err);
}

static void test_echo_and_send(struct event_base *base, tws *s)
{
    client c;
    int one = 1;
    char err[256];
    if (!open_client(base, s, "/echo", &c, NULL)) {
        open_failed(6, __func__);
        return;
    }
    ok(ws_send(c.w, "early", 5, err, sizeof err) < 0 && strstr(err, "not connected"),
       "send before open is refused: %s", err);
    ok(run_until(base, &c, cond_open_count, &one, DEADLINE_MS), "echo: connection opens");
    is_int(c.states[0], WS_CONNECTING, "first state is connecting");
    ok(ws_send(c.w, "{\"op\":\"hello\"}", 14, err, sizeof err) == 0, "send from the engine thread");
    void *arg[2] = {s, "{\"op\":\"hello\"}"};
    ok(run_until(base, &c, cond_server_got, arg, DEADLINE_MS), "the server received the message");
    uint64_t want = 1;
    ok(run_until(base, &c, cond_count, &want, DEADLINE_MS) && c.last &&
           !strcmp(c.last, "{\"op\":\"hello\"}") && c.padded,
       "the echo comes back, JSON_PADDING zero bytes after it");
    close_client(&c);
}

static void test_burst(struct event_base *base, tws *s, unsigned slots, const char *what)
{
    client c;
    char path[64], msg[BURST_SIZE + 32];
    ws_config cfg = {0};
    cfg.ring_slots = slots;
    snprintf(path, sizeof path, "/burst/%d/%d", BURST_N, BURST_SIZE);
    if (!open_client(base, s, path, &c, &cfg)) {
        open_failed(4, what);
        return;
    }
    uint64_t want = BURST_N;
    ok(run_until(base, &c, cond_count, &want, DEADLINE_MS), "%s: all %d messages arrive", what,
       BURST_N);
    uint64_t expect_hash = 1469598103934665603ULL;
    for (uint64_t i = 1; i <= BURST_N; i++)
        expect_hash = fnv(expect_hash, msg, tws_message(i, BURST_SIZE, msg));
    ok(c.count == BURST_N && c.in_order, "%s: in order, none lost or repeated (count %llu)", what,
       (unsigned long long)c.count);
    ok(c.hash == expect_hash, "%s: checksum of the bytes matches", what);
    ws_stats st;
    ws_get_stats(c.w, &st);
    /* Beyond the ring, frames wait only for what lws had already read when
     * reading paused (1,100-1,500 of these 100-byte messages with a 4-slot
     * ring): far fewer than the messages, so frames are reused, not
     * allocated per message. */
    ok(st.frames_allocated <= slots + BURST_N / 4,
       "%s: the frame pool stays bounded (%llu frames for %d messages, ring %u)", what,
       (unsigned long long)st.frames_allocated, BURST_N, slots);
    close_client(&c);
}

static void test_fragments_and_big(struct event_base *base, tws *s)
{
    client c;
    if (!open_client(base, s, "/frag", &c, NULL)) {
        open_failed(4, __func__);
        return;
    }
    uint64_t want = 1;
    /* The first message: more may have come in the same loop turn. */
    ok(run_until(base, &c, cond_count, &want, DEADLINE_MS) && c.first &&
           !strcmp(c.first, "hello fragmented world"),
       "three fragments arrive as one message");
    want = 3;
    ok(run_until(base, &c, cond_count, &want, DEADLINE_MS) && c.lens[1] == TWS_FRAG_BIG && c.big_ok,
       "a 1 MiB message in 16 fragments arrives whole (%zu bytes)", c.lens[1]);
    ok(c.count == 3 && !strcmp(c.last, "after"), "the next message is separate");
    close_client(&c);

    if (!open_client(base, s, "/big", &c, NULL)) {
        open_failed(1, __func__);
        return;
    }
    want = 1;
    int big_ok = run_until(base, &c, cond_count, &want, DEADLINE_MS) &&
                 c.last_len == TWS_FRAG_BIG && c.padded && c.big_ok;
    ok(big_ok, "a 1 MiB single-frame message arrives whole, padded");
    close_client(&c);
}

/* The server closes, then refuses three handshakes: four delays drawn. */
static int run_backoff(struct event_base *base, tws *s, uint64_t seed, int64_t delays[4],
                       client *c)
{
    ws_config cfg = {0};
    cfg.seed = seed;
    cfg.backoff_base_ms = 10;
    cfg.backoff_cap_ms = 40;
    atomic_store(&s->close_next, 1);
    atomic_store(&s->refuse_after_close, 3);
    if (!open_client(base, s, "/echo", c, &cfg)) {
        diag("seed %llu: no client", (unsigned long long)seed);
        return -1;
    }
    int opened = run_until(base, c, cond_open_count, (int[]){2}, DEADLINE_MS);
    int k = 0;
    for (int i = 0; i < c->nstates && k < 4; i++)
        if (c->states[i] == WS_CLOSED)
            delays[k++] = c->retry[i];
    for (int i = 0; (!opened || k < 4) && i < c->nstates; i++) /* what happened */
        diag("seed %llu: state %d attempt %u retry %lld ms: %s", (unsigned long long)seed,
             c->states[i], c->attempts[i], (long long)c->retry[i], c->reasons[i]);
    /* A run cut short leaves the server's plan half spent (refusals armed
     * by the close included): not for the next. */
    atomic_store(&s->close_next, 0);
    atomic_store(&s->refuse_after_close, 0);
    atomic_store(&s->refuse, 0);
    return opened && k == 4 ? 0 : -1;
}

static void test_backoff(struct event_base *base, tws *s)
{
    client c, d;
    int64_t a[4] = {0}, b[4] = {0}, e[4] = {0};
    int rc = run_backoff(base, s, 42, a, &c);
    ok(rc == 0, "server close then 3 refusals: 4 closes and a reconnect");
    if (rc) {
        close_client(&c);
        skip(5, "no backoff run");
        return;
    }
    ok(strstr(c.reasons[2], "server closed (4000)") != NULL, "the first close says why: %s",
       c.reasons[2]);
    int within = 1;
    for (int k = 0; k < 4; k++) {
        int64_t bound = 10 << k > 40 ? 40 : 10 << k;
        diag("delay %d: %lld ms (bound %lld)", k + 1, (long long)a[k], (long long)bound);
        within &= a[k] >= 0 && a[k] <= bound;
    }
    ok(within, "each delay lies in [0, min(cap, base * 2^(n-1))]");
    int attempts_ok = 1, closes = 0;
    for (int i = 0; i < c.nstates; i++)
        if (c.states[i] == WS_CONNECTING && i > 0)
            attempts_ok &= c.attempts[i] == (uint32_t)++closes;
    ok(attempts_ok && closes == 4, "attempts count 1, 2, 3, 4 after the drop");
    close_client(&c);

    rc = run_backoff(base, s, 42, b, &d);
    close_client(&d);
    ok(rc == 0 && !memcmp(a, b, sizeof a), "the same seed draws the same delays");
    diag("delays of seed 42: %lld %lld %lld %lld ms, then %lld %lld %lld %lld ms", (long long)a[0],
         (long long)a[1], (long long)a[2], (long long)a[3], (long long)b[0], (long long)b[1],
         (long long)b[2], (long long)b[3]);
    rc = run_backoff(base, s, 7, e, &d);
    close_client(&d);
    ok(rc == 0 && memcmp(a, e, sizeof a), "another seed draws others");
}

static void test_pong_timeout(struct event_base *base, tws *s)
{
    client c;
    ws_config cfg = {0};
    int one = 1, two = 2;
    cfg.ping_interval_ms = 50;
    /* Far above a ping's round trip even on a loaded machine (builds beside
     * the tests have stalled a thread past 150 ms here), so that only the
     * frozen server below can miss it. */
    cfg.pong_timeout_ms = 1000;
    if (!open_client(base, s, "/echo", &c, &cfg) ||
        !run_until(base, &c, cond_open_count, &one, DEADLINE_MS)) {
        skip(3, "no connection");
        close_client(&c);
        return;
    }
    /* Pongs flow: the connection outlives several ping intervals. */
    run_until(base, &c, cond_closed_count, &one, 400);
    is_int(count_state(&c, WS_CLOSED), 0, "pongs answered: no drop over 8 pings");
    for (int i = 0; i < c.nstates; i++)
        if (c.states[i] == WS_CLOSED)
            diag("closed: %s", c.reasons[i]);
    atomic_store(&s->frozen, 1);
    int closed = run_until(base, &c, cond_closed_count, &one, DEADLINE_MS);
    atomic_store(&s->frozen, 0);
    ok(closed && !strcmp(c.reasons[c.nstates - 1], "pong timeout"),
       "a silent server is detected: %s", closed ? c.reasons[c.nstates - 1] : "(no close)");
    ok(run_until(base, &c, cond_open_count, &two, DEADLINE_MS), "and the client reconnects");
    close_client(&c);
}

static void test_planned(struct event_base *base, tws *s)
{
    client c;
    ws_config cfg = {0};
    cfg.on_message = on_stream;
    cfg.seq = stream_seq;
    int one = 1;
    int before = atomic_load(&s->established);
    if (!open_client(base, s, "/stream", &c, &cfg) ||
        !run_until(base, &c, cond_open_count, &one, DEADLINE_MS)) {
        skip(4, "no connection");
        close_client(&c);
        return;
    }
    uint64_t want = 300;
    run_until(base, &c, cond_count, &want, DEADLINE_MS);
    ok(ws_reconnect_planned(c.w) == 0, "planned reconnect begins");
    ok(ws_reconnect_planned(c.w) < 0, "a second one while the first runs is refused");
    ws_stats st = {0};
    int64_t end = now_ms() + DEADLINE_MS;
    while (now_ms() < end) {
        want = c.count + 50;
        run_until(base, &c, cond_count, &want, 1000);
        ws_get_stats(c.w, &st);
        if (st.handovers == 1 && c.count > 1500)
            break;
    }
    diag("stream %llu..%llu, %llu dropped at the seam", (unsigned long long)c.first_seq,
         (unsigned long long)c.last_seq, (unsigned long long)st.handover_dropped);
    ok(st.handovers == 1 && atomic_load(&s->established) == before + 2 &&
           count_state(&c, WS_OPEN) == 1 && count_state(&c, WS_CLOSED) == 0,
       "switched to a second connection; the user saw no close");
    ok(!c.seq_gap && c.last_seq - c.first_seq + 1 == c.count,
       "no message lost or repeated across the switch (%llu messages)",
       (unsigned long long)c.count);
    close_client(&c);
}

/* ---- A server that never answers the upgrade ---- */

/* Accepts connections and holds them open without reading or answering,
 * as an overloaded endpoint or a stuck proxy would, until stopped. */
typedef struct silent_server {
    int fd, port;
    int held[4];
    int nheld;
    pthread_t thread;
} silent_server;

static void *silent_serve(void *arg)
{
    silent_server *s = arg;
    int fd;

    while ((fd = accept(s->fd, NULL, NULL)) >= 0) {
        if (s->nheld < 4)
            s->held[s->nheld++] = fd;
        else
            close(fd);
    }
    return NULL;
}

static int silent_start(silent_server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;

    s->nheld = 0;
    if ((s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->fd, 8) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) < 0 ||
        pthread_create(&s->thread, NULL, silent_serve, s) != 0) {
        close(s->fd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    return 0;
}

static void silent_stop(silent_server *s)
{
    shutdown(s->fd, SHUT_RDWR); /* accept returns */
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < s->nheld; i++)
        close(s->held[i]);
}

/* No answer to the upgrade: libwebsockets gives up after its 5 s and
 * closes the connection as an HTTP client's (no CONNECTION_ERROR); the
 * connection must be reported closed and tried again, not left
 * "connecting" for ever. */
static void test_no_reply(struct event_base *base)
{
    silent_server srv;
    client c;
    tws fake = {.port = 0};
    int one = 1;

    if (silent_start(&srv) < 0)
        bail_out("cannot start the silent server on 127.0.0.1");
    fake.port = srv.port;
    if (!open_client(base, &fake, "/echo", &c, NULL))
        bail_out("ws_open against the silent server failed");
    int closed = run_until(base, &c, cond_closed_count, &one, DEADLINE_MS);
    const char *why = "no close";
    for (int i = 0; i < c.nstates; i++)
        if (c.states[i] == WS_CLOSED) {
            why = c.reasons[i]; /* the first: a retry at 0 ms may follow it at once */
            break;
        }
    ok(closed && strstr(why, "no reply"), "no answer to the upgrade: reported closed (%s)", why);
    ok(run_until(base, &c, cond_retrying, NULL, DEADLINE_MS), "and tried again after its backoff");
    close_client(&c);
    silent_stop(&srv);
}

static void test_free_while_connected(struct event_base *base, tws *s)
{
    client c;
    ws_config cfg = {0};
    cfg.on_message = on_stream;
    int before = atomic_load(&s->closed);
    uint64_t want = 20;
    if (!open_client(base, s, "/stream", &c, &cfg)) {
        open_failed(1, __func__);
        return;
    }
    run_until(base, &c, cond_count, &want, DEADLINE_MS);
    close_client(&c);
    int64_t end = now_ms() + DEADLINE_MS;
    while (atomic_load(&s->closed) == before && now_ms() < end)
        usleep(1000);
    ok(c.count >= 20 && atomic_load(&s->closed) > before,
       "ws_free while streaming: the server sees the connection end");
}

int main(void)
{
    tws server;
    plan(41);
    log_set_level(LOG_ERROR);
    if (tws_start(&server) < 0)
        bail_out("cannot start the test server on 127.0.0.1");
    struct event_base *base = event_base_new();
    test_config_errors();
    test_echo_and_send(base, &server);
    test_burst(base, &server, 4096, "burst");
    test_burst(base, &server, 16, "burst through a 16-slot ring");
    /* The smallest ring (4) keeps the I/O thread blocking and unblocking
     * all along, where a lost wake-up once left a burst's last frames
     * waiting for ever (seen in about one run in ten of the 16-slot burst
     * on a loaded machine). */
    test_burst(base, &server, 4, "burst through a 4-slot ring");
    test_fragments_and_big(base, &server);
    test_backoff(base, &server);
    test_pong_timeout(base, &server);
    test_planned(base, &server);
    test_free_while_connected(base, &server);
    test_no_reply(base);
    event_base_free(base);
    tws_stop(&server);
    return done();
}
