/*
 * mock_client.h -- signed GETs to the mock Binance exchange's REST API, for
 * the C tests that ask the mock, after a run, what it holds (its open
 * orders, every order, one order by client id).
 *
 *   mock_client_answer a;
 *   if (mock_client_get(mx, "/api/v3/openOrders", "symbol=BTCUSDT", &a) == 200) ...
 *   mock_client_free(&a);
 *
 * Each call builds a loop and an HTTP client of its own and waits on them
 * for at most MOCK_CLIENT_DEADLINE_MS, so it works while no engine loop runs.
 * The request is signed with the mock's default key and secret.
 */
#ifndef LUTRA_MOCK_CLIENT_H
#define LUTRA_MOCK_CLIENT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "json.h"
#include "loop.h"
#include "mock_binance.h"
#include "mock_sign.h"
#include "tap.h"

#define MOCK_CLIENT_DEADLINE_MS 5000

typedef struct mock_client_answer {
    int done;
    int status; /* the HTTP status; 0 when no answer came in time */
    char *body; /* NUL-terminated ("" without an answer), JSON_PADDING bytes after
                   it so that json_parse reads it in place; mock_client_free */
} mock_client_answer;

static inline int64_t mock_client_clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void mock_client_done(void *ud, uint64_t id, const http_response *r)
{
    mock_client_answer *a = ud;
    (void)id;
    a->done = 1;
    a->status = r->status;
    if (!(a->body = calloc(1, r->body_len + 1 + JSON_PADDING)))
        bail_out("mock_client: out of memory for a %zu-byte answer", r->body_len);
    memcpy(a->body, r->body, r->body_len);
}

/* GET path?query&timestamp=..&signature=.. from the mock.
 * @return the HTTP status (0: no answer in time); the body in a, which the
 * caller frees with mock_client_free. */
static inline int mock_client_get(const mock_binance *mx, const char *path, const char *query,
                                  mock_client_answer *a)
{
    char err[512], signed_query[1024], sig[65], url[1400];
    const char *headers[] = {"X-MBX-APIKEY: " MOCK_BINANCE_API_KEY};
    http_client *http;
    loop *lp;

    memset(a, 0, sizeof *a);
    snprintf(signed_query, sizeof signed_query, "%s&timestamp=%lld", query,
             (long long)mock_client_clock_ms(CLOCK_REALTIME));
    if (msign_hmac_hex(MOCK_BINANCE_API_SECRET, signed_query, strlen(signed_query), sig) != 0)
        bail_out("mock_client: cannot sign %s", signed_query);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s?%s&signature=%s",
             mock_binance_rest_port(mx), path, signed_query, sig);
    if (!(lp = loop_new(err, sizeof err)) ||
        !(http = http_new(loop_base(lp), NULL, err, sizeof err)))
        bail_out("mock_client: %s", err);
    http_request req = {.method = "GET", .url = url, .headers = headers, .nheaders = 1};
    if (http_send(http, &req, mock_client_done, a, err, sizeof err) == 0)
        bail_out("mock_client: http_send %s: %s", url, err);
    for (int64_t end = mock_client_clock_ms(CLOCK_MONOTONIC) + MOCK_CLIENT_DEADLINE_MS;
         !a->done && mock_client_clock_ms(CLOCK_MONOTONIC) < end;) {
        loop_run_nowait(lp);
        usleep(1000);
    }
    http_free(http);
    loop_free(lp);
    if (!a->body && !(a->body = calloc(1, 1 + JSON_PADDING)))
        bail_out("mock_client: out of memory");
    return a->status;
}

static inline void mock_client_free(mock_client_answer *a)
{
    free(a->body);
    a->body = NULL;
}

#endif
