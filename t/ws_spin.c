/*
 * ws_spin.c -- the WebSocket client's low-latency options (core/ws.h):
 * spin_us (the engine polls the ring every loop turn before it sleeps on
 * the eventfd again) and the latency probe (ws_set_probe), against the
 * real libwebsockets server of t/ws_server.h on 127.0.0.1. Every wait has
 * a deadline.
 */
#include <event2/event.h>
#include <stdint.h>
#include <time.h>

#include "log.h"
#include "tap.h"
#include "ws.h"
#include "ws_server.h"

#define DEADLINE_MS 10000
#define BURST_N 5000
#define BURST_SIZE 100
#define STREAM_N 300

typedef struct client {
    ws *w;
    uint64_t count;
    int in_order;           /* burst: message i is the i-th; stream: no gap */
    uint64_t last_seq;
    /* the probe's view */
    uint64_t before, after;
    int probe_order_ok;     /* before, on_message, after, in that order */
    int stamps_ok;          /* stamps set, not decreasing, not in the future */
    int64_t last_stamp;
    int in_message;         /* 1 between before and after */
    uint64_t idle;          /* on_idle calls */
} client;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_burst(void *ud, int64_t recv_ns, const char *data, size_t len)
{
    client *c = ud;
    char expect[BURST_SIZE + 32];
    (void)recv_ns;
    c->count++;
    if (tws_message(c->count, BURST_SIZE, expect) != len || memcmp(expect, data, len) != 0)
        c->in_order = 0;
    if (c->in_message != 1)
        c->probe_order_ok = 0;
    c->in_message = 2;
}

static void on_stream(void *ud, int64_t recv_ns, const char *data, size_t len)
{
    client *c = ud;
    uint64_t seq = strtoull(data, NULL, 10);
    (void)recv_ns;
    (void)len;
    if (c->count && seq != c->last_seq + 1)
        c->in_order = 0;
    c->last_seq = seq;
    c->count++;
}

static void probe_before(void *ud, int64_t complete_ns, const char *data, size_t len)
{
    client *c = *(client **)ud;
    (void)data;
    (void)len;
    c->before++;
    if (c->in_message != 0)
        c->probe_order_ok = 0;
    c->in_message = 1;
    if (complete_ns <= 0 || complete_ns < c->last_stamp || complete_ns > mono_ns())
        c->stamps_ok = 0;
    c->last_stamp = complete_ns;
}

static void probe_after(void *ud)
{
    client *c = *(client **)ud;
    c->after++;
    if (c->in_message != 2)
        c->probe_order_ok = 0;
    c->in_message = 0;
}

static int64_t now_ms(void)
{
    return mono_ns() / 1000000;
}

/* Run the loop until c has count messages or the deadline passes. */
static int run_until_count(struct event_base *base, client *c, uint64_t count)
{
    int64_t end = now_ms() + DEADLINE_MS;
    struct timeval tick = {0, 2000};
    while (c->count < count) {
        if (now_ms() > end)
            return 0;
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
    return 1;
}

static ws *open_client(struct event_base *base, const tws *s, const char *path, client *c,
                       ws_message_fn fn, int64_t spin_us)
{
    char url[128], err[256];
    ws_config cfg = {0};

    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", s->port, path);
    memset(c, 0, sizeof *c);
    c->in_order = 1;
    c->probe_order_ok = 1;
    c->stamps_ok = 1;
    cfg.url = url;
    cfg.on_message = fn;
    cfg.ud = c;
    cfg.spin_us = spin_us;
    cfg.backoff_base_ms = 10;
    cfg.backoff_cap_ms = 80;
    if (!(c->w = ws_open(base, &cfg, err, sizeof err)))
        diag("ws_open: %s", err);
    return c->w;
}

static void test_bad_spin(struct event_base *base, const tws *s)
{
    char err[256] = "", url[64];
    ws_config cfg = {0};

    snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", s->port);
    cfg.url = url;
    cfg.on_message = on_burst;
    cfg.spin_us = -5;
    ws *w = ws_open(base, &cfg, err, sizeof err);
    ok(!w && strstr(err, "spin_us -5"), "a negative spin_us is refused, named: %s", err);
    ws_free(w);
}

/* A burst through a small ring while spinning: the ring fills, the I/O
 * thread stops reading, the spinning engine drains: nothing lost. */
static void test_spin_burst(struct event_base *base, const tws *s)
{
    char path[64];
    client c;

    snprintf(path, sizeof path, "/burst/%d/%d", BURST_N, BURST_SIZE);
    if (!open_client(base, s, path, &c, on_burst, 200)) {
        skip(2, "no client");
        return;
    }
    int arrived = run_until_count(base, &c, BURST_N);
    ok(arrived, "spin_us 200: the burst of %d arrived (%llu)", BURST_N,
       (unsigned long long)c.count);
    ok(c.in_order && c.count == BURST_N, "spin_us 200: every message once, in order");
    ws_free(c.w);
}

/* Ten messages a millisecond, a spin window shorter than the gaps: the
 * engine sleeps between messages and every one must still wake it. */
static void test_spin_then_sleep(struct event_base *base, const tws *s)
{
    client c;

    if (!open_client(base, s, "/stream", &c, on_stream, 20)) {
        skip(1, "no client");
        return;
    }
    int arrived = run_until_count(base, &c, STREAM_N);
    ok(arrived && c.in_order,
       "spin_us 20, messages 100 us apart: %llu arrive without a gap, each waking the engine",
       (unsigned long long)c.count);
    ws_free(c.w);
}

static void count_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (*(int *)arg)++;
}

/* A spin window longer than the test: the loop must keep turning, so a
 * timer of the loop fires on time while messages flow. */
static void test_timers_while_spinning(struct event_base *base, const tws *s)
{
    struct timeval every = {0, 5000};
    int fired = 0;
    client c;
    struct event *t = event_new(base, -1, EV_PERSIST, count_timer, &fired);

    if (!t || event_add(t, &every) != 0 || !open_client(base, s, "/stream", &c, on_stream,
                                                          1000000)) {
        skip(1, "no client or no timer");
        if (t)
            event_free(t);
        return;
    }
    int64_t start = now_ms();
    run_until_count(base, &c, STREAM_N);
    int64_t took = now_ms() - start;
    ok(c.count >= STREAM_N && fired >= took / 5 / 2,
       "spin_us 1 s: a 5 ms timer fired %d times in %lld ms while the engine spun", fired,
       (long long)took);
    event_free(t);
    ws_free(c.w);
}

/* Run the loop for ms milliseconds. */
static void run_for(struct event_base *base, int64_t ms)
{
    int64_t end = now_ms() + ms;
    struct timeval tick = {0, 2000};
    while (now_ms() < end) {
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
}

static void count_idle(void *ud)
{
    client *c = ud;
    c->idle++;
    if (c->in_message)
        c->probe_order_ok = 0;
}

/* on_idle: called while the engine spins and nothing comes, no more often
 * than idle_us; never while it sleeps on the eventfd. */
static void test_idle(struct event_base *base, const tws *s)
{
    char url[128], err[256];
    client c, *current = &c;
    ws_probe probe = {probe_before, probe_after, &current}; /* marks the deliveries */

    ws_set_probe(&probe);
    for (int spin = 1; spin >= 0; spin--) {
        ws_config cfg = {0};
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/burst/10/100", s->port);
        memset(&c, 0, sizeof c);
        c.in_order = c.probe_order_ok = 1;
        cfg.url = url;
        cfg.on_message = on_burst;
        cfg.on_idle = count_idle;
        cfg.idle_us = 2000;
        cfg.ud = &c;
        cfg.spin_us = spin ? 1000000 : 0;
        if (!(c.w = ws_open(base, &cfg, err, sizeof err))) {
            diag("ws_open: %s", err);
            skip(spin ? 2 : 1, "no client");
            continue;
        }
        run_until_count(base, &c, 10);
        c.idle = 0;
        run_for(base, 100);
        if (spin) {
            ok(c.idle >= 1 && c.idle <= 100 / 2 + 1,
               "spin_us 1 s, idle_us 2000: on_idle called %llu times in 100 ms of quiet",
               (unsigned long long)c.idle);
            ok(c.probe_order_ok, "on_idle is never called inside a delivery");
        } else {
            ok(c.idle == 0, "sleeping on the eventfd, on_idle is never called (%llu)",
               (unsigned long long)c.idle);
        }
        ws_free(c.w);
    }
    ws_set_probe(NULL);
}

static void test_probe(struct event_base *base, const tws *s)
{
    char path[64];
    client c, *current = &c;
    ws_probe probe = {probe_before, probe_after, &current};

    snprintf(path, sizeof path, "/burst/%d/%d", BURST_N, BURST_SIZE);
    ws_set_probe(&probe);
    if (!open_client(base, s, path, &c, on_burst, 0)) {
        ws_set_probe(NULL);
        skip(3, "no client");
        return;
    }
    run_until_count(base, &c, BURST_N);
    ws_free(c.w);
    ws_set_probe(NULL);
    ok(c.before == BURST_N && c.after == BURST_N,
       "probe: before and after once per message (%llu, %llu of %d)",
       (unsigned long long)c.before, (unsigned long long)c.after, BURST_N);
    ok(c.probe_order_ok, "probe: before, on_message, after, in that order");
    ok(c.stamps_ok, "probe: every message stamped, stamps never decrease or lie ahead");
}

int main(void)
{
    tws server;

    plan(11);
    log_set_level(LOG_ERROR);
    if (tws_start(&server) < 0)
        bail_out("cannot start the test server on 127.0.0.1");
    struct event_base *base = event_base_new();
    test_bad_spin(base, &server);
    test_spin_burst(base, &server);
    test_spin_then_sleep(base, &server);
    test_timers_while_spinning(base, &server);
    test_probe(base, &server);
    test_idle(base, &server);
    event_base_free(base);
    tws_stop(&server);
    return done();
}
