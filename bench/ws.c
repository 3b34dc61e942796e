/*
 * ws.c -- the WebSocket transport's hand-off from its I/O thread to the
 * engine: messages per second through the ring to the on_message callback,
 * and the latency from "message complete in the I/O thread" (its receive
 * stamp) to "callback starts", woken by the eventfd and in spin mode.
 *
 * A libwebsockets server on 127.0.0.1 (t/ws_server.h), on this machine:
 * throughput from a burst of N messages of SIZE bytes (their latency is
 * mostly queueing behind one another, so it is not reported); latency from
 * a paced stream of ten messages a millisecond (20,000 of them).
 *
 *   bench/ws [N [SIZE]]      default 200000 messages of 200 bytes
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "ws.h"
#include "../t/ws_server.h"
#include "bench.h"

typedef struct run {
    uint64_t n, got;
    int64_t *lat_ns;
    int64_t first_ns, last_ns;
} run;

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_message(void *ud, int64_t recv_ns, const char *data, size_t len)
{
    run *r = ud;
    int64_t now = realtime_ns();
    (void)data;
    (void)len;
    if (r->got < r->n)
        r->lat_ns[r->got] = now - recv_ns;
    if (!r->got)
        r->first_ns = now;
    r->last_ns = now;
    r->got++;
}

/* burst: report throughput; else latency. */
static int measure(tws *s, struct event_base *base, int spin, const char *path, uint64_t n,
                   int burst, const char *name)
{
    char url[128], err[256];
    run r = {n, 0, calloc(n, sizeof(int64_t)), 0, 0};
    ws_config cfg = {0};
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", s->port, path);
    cfg.url = url;
    cfg.on_message = on_message;
    cfg.ud = &r;
    cfg.spin = spin;
    cfg.ping_interval_ms = -1;
    if (!r.lat_ns)
        return -1;
    ws *w = ws_open(spin ? NULL : base, &cfg, err, sizeof err);
    if (!w) {
        fprintf(stderr, "bench/ws: %s\n", err);
        free(r.lat_ns);
        return -1;
    }
    time_t deadline = time(NULL) + 60;
    struct timeval tick = {0, 10000};
    while (r.got < n && time(NULL) < deadline) {
        if (spin) {
            ws_poll(w);
        } else {
            event_base_loopexit(base, &tick);
            event_base_dispatch(base);
        }
    }
    ws_free(w);
    if (r.got < n) {
        fprintf(stderr, "bench/ws: %s: %llu of %llu messages in 60 s\n", name,
                (unsigned long long)r.got, (unsigned long long)n);
        free(r.lat_ns);
        return -1;
    }
    double secs = (double)(r.last_ns - r.first_ns) / 1e9;
    bench_sort_i64(r.lat_ns, n);
    if (burst) {
        printf("%s messages_per_sec: %.0f msg/s\n", name, secs > 0 ? (double)(n - 1) / secs : 0);
    } else {
        printf("%s latency_median: %.2f us\n", name, (double)r.lat_ns[n / 2] / 1e3);
        printf("%s latency_p99: %.2f us\n", name, (double)r.lat_ns[n * 99 / 100] / 1e3);
    }
    free(r.lat_ns);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    size_t size = argc > 2 ? strtoull(argv[2], NULL, 10) : 200;
    tws server;
    if (n < 2 || size < 8) {
        fprintf(stderr, "usage: bench/ws [N >= 2 [SIZE >= 8]]\n");
        return 2;
    }
    log_set_level(LOG_ERROR);
    if (tws_start(&server) < 0) {
        fprintf(stderr, "bench/ws: cannot start the server on 127.0.0.1\n");
        return 1;
    }
    struct event_base *base = event_base_new();
    printf("messages: %llu of %zu bytes\n", (unsigned long long)n, size);
    char burst[64];
    snprintf(burst, sizeof burst, "/burst/%llu/%zu", (unsigned long long)n, size);
    int rc = measure(&server, base, 0, burst, n, 1, "eventfd");
    rc |= measure(&server, base, 1, burst, n, 1, "spin");
    rc |= measure(&server, base, 0, "/stream", 20000, 0, "eventfd");
    rc |= measure(&server, base, 1, "/stream", 20000, 0, "spin");
    event_base_free(base);
    tws_stop(&server);
    return rc ? 1 : 0;
}
