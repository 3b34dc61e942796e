/*
 * bench/http.c -- the HTTP client (core/http.h) on loopback: requests per
 * second and latency of GET /echo against an in-process evhttp server
 * (t/httpd_test.h) running on its own thread and event_base, so client and
 * server do not share a core's loop.
 *
 *   http [REQUESTS]     default 20000 per run
 *
 * Two runs: sequential (each request leaves from the previous answer's
 * callback) and 8 in flight (a new request leaves from each answer's
 * callback). Latency is from http_send to the callback, CLOCK_MONOTONIC,
 * over every request after a warm-up of 200; connections are kept alive.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../t/httpd_test.h"
#include "http.h"
#include "loop.h"
#include "bench.h"

#define WARMUP 200

typedef struct run {
    loop *lp;
    http_client *c;
    const char *url;
    long target;       /* requests to answer, warm-up excluded */
    long sent, answered, failed;
    int64_t *lat_ns;    /* one per request after the warm-up */
    int64_t started_ns; /* when the warm-up ended */
    int64_t elapsed_ns;
} run;

typedef struct req_slot {
    run *r;
    int64_t sent_ns;
} req_slot;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_answer(void *ud, uint64_t id, const http_response *res);

static int send_one(run *r, req_slot *slot)
{
    http_request req = {"GET", r->url, NULL, 0, NULL, 0, 0};
    char err[256];

    slot->r = r;
    slot->sent_ns = mono_ns();
    if (!http_send(r->c, &req, on_answer, slot, err, sizeof err)) {
        fprintf(stderr, "http: %s\n", err);
        return -1;
    }
    r->sent++;
    return 0;
}

static void on_answer(void *ud, uint64_t id, const http_response *res)
{
    req_slot *slot = ud;
    run *r = slot->r;
    int64_t now = mono_ns();
    long n = r->answered++ - WARMUP;
    (void)id;

    if (res->error != HTTP_ERR_NONE || res->status != 200)
        r->failed++;
    if (n == -1)
        r->started_ns = now;
    else if (n >= 0)
        r->lat_ns[n] = now - slot->sent_ns;
    if (r->answered == r->target + WARMUP) {
        r->elapsed_ns = now - r->started_ns;
        loop_break(r->lp);
    } else if (r->sent < r->target + WARMUP && send_one(r, slot) < 0) {
        loop_break(r->lp);
    }
}

/* @return 0 after printing the run's figures, -1 if it failed. */
static int bench(loop *lp, const char *url, const char *name, int in_flight, long target)
{
    char err[256];
    http_options opt = {0};
    req_slot slots[8];
    run r = {0};

    opt.max_host_connections = in_flight;
    r.lp = lp;
    r.url = url;
    r.target = target;
    r.lat_ns = malloc((size_t)target * sizeof *r.lat_ns);
    r.c = http_new(loop_base(lp), &opt, err, sizeof err);
    if (!r.lat_ns || !r.c) {
        fprintf(stderr, "http: %s\n", r.c ? "out of memory" : err);
        free(r.lat_ns);
        http_free(r.c);
        return -1;
    }
    for (int i = 0; i < in_flight; i++)
        send_one(&r, &slots[i]);
    if (loop_run(lp, err, sizeof err) < 0 || r.answered != target + WARMUP || r.failed) {
        fprintf(stderr, "http: %s: %ld answered, %ld failed %s\n", name, r.answered, r.failed,
                err);
        free(r.lat_ns);
        http_free(r.c);
        return -1;
    }
    bench_sort_i64(r.lat_ns, (size_t)target);
    printf("%s_requests: %ld\n", name, target);
    printf("%s_rate: %.0f req/s\n", name, target * 1e9 / (double)r.elapsed_ns);
    printf("%s_median: %.1f us\n", name, r.lat_ns[target / 2] / 1e3);
    printf("%s_p99: %.1f us\n", name, r.lat_ns[(size_t)(target * 0.99)] / 1e3);
    free(r.lat_ns);
    http_free(r.c);
    return 0;
}

static atomic_int server_stop;

/* The server's base belongs to its thread (libevent is not told about
 * threads), so the thread looks for the stop flag itself. */
static void on_stop_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    if (atomic_load(&server_stop))
        event_base_loopbreak(arg);
}

static void *serve(void *arg)
{
    struct event_base *base = arg;
    struct event *check = event_new(base, -1, EV_PERSIST, on_stop_check, base);
    struct timeval every = {0, 20000};

    if (check && event_add(check, &every) == 0)
        event_base_dispatch(base);
    event_free(check);
    return NULL;
}

int main(int argc, char **argv)
{
    long target = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    struct event_base *server_base = event_base_new();
    httpd_test srv;
    pthread_t thread;
    char err[256], url[128];
    loop *lp = loop_new(err, sizeof err);
    int rc = 0;

    if (target < 100 || !server_base || !lp || httpd_start(&srv, server_base) < 0) {
        fprintf(stderr, "usage: http [REQUESTS >= 100]; or the loop or server failed\n");
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/echo", srv.port);
    if (pthread_create(&thread, NULL, serve, server_base) != 0) {
        fprintf(stderr, "http: cannot start the server thread\n");
        return 1;
    }
    printf("server: evhttp on its own thread, 127.0.0.1:%d; client: core/http.c on core/loop.c\n",
           srv.port);
    rc |= bench(lp, url, "sequential", 1, target);
    printf("sequential_connections: %d\n", atomic_load(&srv.connections));
    rc |= bench(lp, url, "inflight8", 8, target);
    printf("inflight8_connections: %d\n", atomic_load(&srv.connections));
    atomic_store(&server_stop, 1);
    pthread_join(thread, NULL);
    httpd_stop(&srv);
    event_base_free(server_base);
    loop_free(lp);
    return rc ? 1 : 0;
}
