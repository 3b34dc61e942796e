/*
 * http_probe.c -- the HTTP client's hand-off probe (http_set_probe in
 * core/http.h) against a real HTTP/1.1 server on 127.0.0.1
 * (t/httpd_test.h), both on one libevent loop: the probe hears each request
 * libcurl accepted, once, with the request as given, before its answer;
 * not a request http_send refused; nothing once it is cleared.
 */
#include <event2/event.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "httpd_test.h"
#include "log.h"
#include "tap.h"

#define DEADLINE_MS 5000

typedef struct watch {
    int handed, answered;
    int handed_before_answer;   /* every hand-off came before its answer */
    char method[16], url[256], body[64];
} watch;

static void on_handed(void *ud, const http_request *req)
{
    watch *w = ud;
    w->handed++;
    if (w->answered >= w->handed)
        w->handed_before_answer = 0;
    snprintf(w->method, sizeof w->method, "%s", req->method ? req->method : "GET");
    snprintf(w->url, sizeof w->url, "%s", req->url);
    snprintf(w->body, sizeof w->body, "%.*s", (int)req->body_len, req->body ? req->body : "");
}

static void on_answer(void *ud, uint64_t id, const http_response *r)
{
    watch *w = ud;
    (void)id;
    (void)r;
    w->answered++;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void run_until_answered(struct event_base *base, const watch *w, int n)
{
    struct timeval tick = {0, 2000};
    for (int64_t end = now_ms() + DEADLINE_MS; w->answered < n && now_ms() < end;) {
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
}

int main(void)
{
    struct event_base *base = event_base_new();
    httpd_test srv;
    char url[128], err[256];
    watch w = {.handed_before_answer = 1};
    http_probe probe = {on_handed, &w};

    plan(6);
    log_set_level(LOG_ERROR);
    if (!base || httpd_start(&srv, base) < 0)
        bail_out("cannot start the test server on 127.0.0.1");
    http_client *c = http_new(base, NULL, err, sizeof err);
    if (!c)
        bail_out("http_new: %s", err);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/echo?x=1", srv.port);

    http_set_probe(&probe);
    http_request post = {.method = "POST", .url = url, .body = "hello", .body_len = 5};
    uint64_t id = http_send(c, &post, on_answer, &w, err, sizeof err);
    is_int(w.handed, id ? 1 : -1, "the probe heard the request inside http_send, once");
    ok(!strcmp(w.method, "POST") && !strcmp(w.url, url) && !strcmp(w.body, "hello"),
       "with the request as given: %s %s \"%s\"", w.method, w.url, w.body);

    http_request bad = {.url = ""};
    ok(http_send(c, &bad, on_answer, &w, err, sizeof err) == 0 && w.handed == 1,
       "a request http_send refuses is not heard");

    http_request get = {.url = url};
    http_send(c, &get, on_answer, &w, err, sizeof err);
    run_until_answered(base, &w, 2);
    ok(w.answered == 2 && w.handed == 2 && w.handed_before_answer,
       "each hand-off came before its answer (%d handed, %d answered)", w.handed, w.answered);

    http_set_probe(NULL);
    http_send(c, &get, on_answer, &w, err, sizeof err);
    run_until_answered(base, &w, 3);
    is_int(w.answered, 3, "a request after the probe is cleared is answered");
    is_int(w.handed, 2, "...and not heard");

    http_free(c);
    httpd_stop(&srv);
    event_base_free(base);
    return done();
}
