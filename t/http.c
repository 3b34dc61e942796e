/*
 * t/http.c -- the HTTP client against a real HTTP/1.1 server (t/httpd_test.h)
 * on a free 127.0.0.1 port, served from the same libevent loop: methods,
 * headers and bodies, keep-alive reuse, concurrency, timeouts that never
 * block the loop, refused connections, cancel, the body limit, and error
 * statuses with their headers. Every run has a deadline.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "httpd_test.h"
#include "json.h"
#include "loop.h"
#include "tap.h"

#define MS INT64_C(1000000)
#define DEADLINE_MS 5000

static char err[512];
static loop *lp;
static httpd_test srv;
static int pending;      /* answers awaited before the loop breaks */
static int deadline_hit;

/* What a callback saw. */
typedef struct result {
    int calls;
    int error;
    int status;
    char text[512];
    char body[256];
    size_t body_len;
    int padded; /* JSON_PADDING zero bytes after the body */
    char method[16], echo[64], echo_lower[64], conn_port[16], retry_after[16], weight[16];
    int missing_is_null;
} result;

static void copy_header(const http_response *r, const char *name, char *out, size_t cap)
{
    const char *v = http_response_header(r, name);
    snprintf(out, cap, "%s", v ? v : "");
}

static void on_done(void *ud, uint64_t id, const http_response *r)
{
    result *res = ud;
    (void)id;

    res->calls++;
    res->error = r->error;
    res->status = r->status;
    snprintf(res->text, sizeof res->text, "%s", r->error_text ? r->error_text : "");
    res->body_len = r->body_len;
    snprintf(res->body, sizeof res->body, "%.*s", (int)r->body_len, r->body);
    res->padded = 1;
    for (size_t i = 0; i < JSON_PADDING; i++)
        res->padded &= r->body[r->body_len + i] == 0;
    copy_header(r, "X-Method", res->method, sizeof res->method);
    copy_header(r, "X-Test-Echo", res->echo, sizeof res->echo);
    copy_header(r, "x-test-echo", res->echo_lower, sizeof res->echo_lower);
    copy_header(r, "X-Conn-Port", res->conn_port, sizeof res->conn_port);
    copy_header(r, "Retry-After", res->retry_after, sizeof res->retry_after);
    copy_header(r, "x-mbx-used-weight-1m", res->weight, sizeof res->weight);
    res->missing_is_null = http_response_header(r, "X-Not-Sent") == NULL;
    if (--pending == 0)
        loop_break(lp);
}

static void on_deadline(loop_timer *t, void *ud)
{
    (void)t;
    (void)ud;
    deadline_hit = 1;
    loop_break(lp);
}

/* Run the loop until `pending` answers came (@return 1) or ms passed (0). */
static int run_for(int64_t ms)
{
    loop_timer *deadline = loop_timer_add(lp, ms * MS, 0, on_deadline, NULL, err, sizeof err);

    deadline_hit = 0;
    if (!deadline || loop_run(lp, err, sizeof err) < 0) {
        diag("%s", err);
        return 0;
    }
    if (!deadline_hit)
        loop_timer_cancel(deadline);
    return !deadline_hit;
}

static char *url(const char *path_and_query)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", srv.port, path_and_query);
    return buf;
}

static uint64_t send_req(http_client *c, const char *method, const char *path,
                         const char *body, int64_t timeout_ns, result *res)
{
    static const char *const headers[] = {"X-Test: abc", "Content-Type: text/plain"};
    http_request req = {method, url(path), headers, 2, body, body ? strlen(body) : 0,
                        timeout_ns};
    uint64_t id = http_send(c, &req, on_done, res, err, sizeof err);

    if (!id)
        diag("http_send: %s", err);
    else
        pending++;
    return id;
}

static http_client *client(size_t max_body)
{
    http_options o = {0};
    http_client *c;

    o.max_body = max_body;
    c = http_new(loop_base(lp), &o, err, sizeof err);
    if (!c)
        bail_out("http_new: %s", err);
    return c;
}

/* ---- methods, headers, bodies ---- */

static void test_methods(http_client *c)
{
    result get = {0}, post = {0}, del = {0}, put = {0};

    send_req(c, "GET", "/echo", NULL, 0, &get);
    send_req(c, "POST", "/echo", "symbol=BTCUSDT&side=BUY", 0, &post);
    send_req(c, "DELETE", "/echo?orderId=7", "origClientOrderId=x1", 0, &del);
    send_req(c, "PUT", "/echo", NULL, 0, &put);
    ok(run_for(DEADLINE_MS), "GET, POST, DELETE, PUT answered before the deadline");
    ok(get.error == HTTP_ERR_NONE && get.status == 200, "GET: status 200 (%d, %s)", get.status,
       get.text);
    is_str(get.method, "GET", "GET: the server saw GET");
    is_str(get.echo, "abc", "GET: our X-Test header reached the server, echoed back");
    is_str(get.echo_lower, "abc", "response headers are looked up case-insensitively");
    ok(get.missing_is_null, "a header not sent is NULL");
    ok(get.body_len == 0 && get.padded, "GET: empty body, padded with zeros");
    is_str(post.method, "POST", "POST: the server saw POST");
    is_str(post.body, "symbol=BTCUSDT&side=BUY", "POST: the body went and came back");
    ok(post.padded, "POST: JSON_PADDING zero bytes follow the body");
    is_str(del.method, "DELETE", "DELETE with a body: the server saw DELETE");
    is_str(del.body, "origClientOrderId=x1", "DELETE: its body arrived");
    is_str(put.method, "PUT", "PUT without a body: the server saw PUT");
}

/* ---- keep-alive: 10 requests in a row, one connection ---- */

static http_client *chain_client;
static result chain[10];
static int chain_next;

static void on_chain(void *ud, uint64_t id, const http_response *r)
{
    /* The next request leaves before on_done counts this answer, so the
     * loop only breaks after the tenth. */
    if (++chain_next < 10) {
        http_request req = {"GET", url("/echo"), NULL, 0, NULL, 0, 0};
        if (http_send(chain_client, &req, on_chain, &chain[chain_next], err, sizeof err))
            pending++;
    }
    on_done(ud, id, r);
}

static void test_keepalive(void)
{
    int before = atomic_load(&srv.connections);
    http_request req = {"GET", url("/echo"), NULL, 0, NULL, 0, 0};
    int same_port = 1;

    chain_client = client(0);
    pending = 1;
    http_send(chain_client, &req, on_chain, &chain[0], err, sizeof err);
    ok(run_for(DEADLINE_MS), "keep-alive: 10 sequential requests answered");
    is_int(chain_next, 10, "keep-alive: all 10 callbacks ran");
    for (int i = 1; i < 10; i++)
        same_port &= strcmp(chain[i].conn_port, chain[0].conn_port) == 0;
    is_int(atomic_load(&srv.connections) - before, 1,
           "keep-alive: the server accepted one connection for 10 requests");
    ok(same_port && chain[0].conn_port[0], "keep-alive: every reply came over port %s",
       chain[0].conn_port);
    http_free(chain_client);
}

/* ---- 20 requests at once ---- */

static void test_concurrent(void)
{
    http_client *c = client(0);
    result res[20] = {{0}};
    char bodies[20][16];
    int before = atomic_load(&srv.connections);
    int all_ok = 1, opened;

    for (int i = 0; i < 20; i++) {
        snprintf(bodies[i], sizeof bodies[i], "req-%d", i);
        send_req(c, "POST", "/echo", bodies[i], 0, &res[i]);
    }
    is_int(http_in_flight(c), 20, "20 requests in flight at once");
    ok(run_for(DEADLINE_MS), "all 20 answered before the deadline");
    for (int i = 0; i < 20; i++)
        all_ok &= res[i].calls == 1 && res[i].status == 200 && !strcmp(res[i].body, bodies[i]);
    ok(all_ok, "each of the 20 got its own body back, once");
    is_int(http_in_flight(c), 0, "nothing left in flight");
    opened = atomic_load(&srv.connections) - before;
    ok(opened >= 1 && opened <= HTTP_DEFAULT_HOST_CONNECTIONS,
       "at most %d connections to the host (%d opened)", HTTP_DEFAULT_HOST_CONNECTIONS,
       opened);
    http_free(c);
}

/* ---- a timeout does not block the loop ---- */

static int ticks;

static void on_tick(loop_timer *t, void *ud)
{
    (void)t;
    (void)ud;
    ticks++;
}

static void on_check_late(loop_timer *t, void *ud)
{
    if (atomic_load(&srv.late_sent) >= *(int *)ud) {
        loop_timer_cancel(t);
        loop_break(lp);
    }
}

/* Let the server send (or drop) its late replies, so none is left. */
static int wait_late_replies(int want)
{
    loop_timer *poll = loop_timer_add(lp, 5 * MS, 5 * MS, on_check_late, &want, err,
                                      sizeof err);
    int done_in_time = poll && run_for(DEADLINE_MS);
    if (!done_in_time && poll)
        loop_timer_cancel(poll);
    return done_in_time;
}

static void test_timeout(http_client *c)
{
    result res = {0};
    loop_timer *ticker = loop_timer_add(lp, 10 * MS, 10 * MS, on_tick, NULL, err, sizeof err);
    int late_before = atomic_load(&srv.late_sent);

    ticks = 0;
    send_req(c, "GET", "/delay?ms=600&signature=SECRET", NULL, 200 * MS, &res);
    ok(run_for(DEADLINE_MS), "timeout: the answer came before the deadline");
    loop_timer_cancel(ticker);
    is_int(res.error, HTTP_ERR_TIMEOUT, "timeout: reported as a timeout (%s)", res.text);
    is_int(res.status, 0, "timeout: no HTTP status");
    ok(strstr(res.text, "timeout") && strstr(res.text, "GET http://127.0.0.1:"),
       "timeout: the text names the failure and the request: %s", res.text);
    ok(!strstr(res.text, "SECRET"), "timeout: the text leaves the query string out");
    ok(ticks >= 5, "the loop kept running during the wait: a 10 ms timer ticked %d times",
       ticks);
    ok(wait_late_replies(late_before + 1), "the server's late reply went out (or was dropped)");
}

/* ---- connection refused ---- */

/* A port bound but not listening: connecting to it is refused. */
static int refusing_port(int *fd)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof sa;

    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(*fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    return ntohs(sa.sin_port);
}

static void test_refused(http_client *c)
{
    result res = {0};
    int fd, port = refusing_port(&fd);
    char u[128];
    http_request req = {"GET", u, NULL, 0, NULL, 0, 0};

    snprintf(u, sizeof u, "http://127.0.0.1:%d/x?signature=SECRET", port);
    pending++;
    ok(port > 0 && http_send(c, &req, on_done, &res, err, sizeof err),
       "refused: request sent to port %d", port);
    ok(run_for(DEADLINE_MS), "refused: answered before the deadline");
    is_int(res.error, HTTP_ERR_CONNECT, "refused: a connect error (%s)", res.text);
    ok(res.status == 0 && res.body_len == 0, "refused: no status, empty body");
    ok(strstr(res.text, "connect") && !strstr(res.text, "SECRET"),
       "refused: the text says so, without the query: %s", res.text);
    close(fd);
}

/* ---- cancel ---- */

static http_client *cancel_client;
static uint64_t victim;
static int cancel_from_callback;

static void on_cancel_other(void *ud, uint64_t id, const http_response *r)
{
    on_done(ud, id, r);
    cancel_from_callback = http_cancel(cancel_client, victim);
    if (cancel_from_callback)
        pending--; /* the victim will not answer */
    if (pending == 0)
        loop_break(lp);
}

static void test_cancel(http_client *c)
{
    result slow = {0}, first = {0}, second = {0};
    http_request echo = {"GET", NULL, NULL, 0, NULL, 0, 0};
    int late_before = atomic_load(&srv.late_sent);
    uint64_t id = send_req(c, "GET", "/delay?ms=100", NULL, 0, &slow);

    is_int(http_cancel(c, id), 1, "cancel: an in-flight request is cancelled");
    pending--;
    is_int(http_cancel(c, id), 0, "cancel: cancelling it again is a no-op");
    is_int(http_in_flight(c), 0, "cancel: nothing in flight");
    ok(!run_for(300), "cancel: nothing answered for 300 ms (the deadline ended the wait)");
    is_int(slow.calls, 0, "cancel: the callback was never called");

    cancel_client = c;
    victim = send_req(c, "GET", "/delay?ms=150", NULL, 0, &second);
    pending++;
    echo.url = url("/echo");
    http_send(c, &echo, on_cancel_other, &first, err, sizeof err);
    ok(run_for(DEADLINE_MS), "cancel from another request's callback: loop done");
    ok(cancel_from_callback && first.calls == 1 && second.calls == 0,
       "cancel from a callback: the other request never answers");
    /* The first request was cancelled before it left: only the victim
     * reached the server. */
    ok(wait_late_replies(late_before + 1), "cancel: the server's late reply was dropped");
    is_int(second.calls, 0, "cancel: still no callback after the server replied");
}

/* ---- the body limit ---- */

static void test_too_large(void)
{
    http_client *c = client(1000);
    result big = {0}, chunked = {0}, exact = {0}, exact_chunked = {0};

    send_req(c, "GET", "/big?n=5000", NULL, 0, &big);
    send_req(c, "GET", "/chunked?n=5000", NULL, 0, &chunked);
    send_req(c, "GET", "/big?n=1000", NULL, 0, &exact);
    send_req(c, "GET", "/chunked?n=1000", NULL, 0, &exact_chunked);
    ok(run_for(DEADLINE_MS), "body limit: all answered before the deadline");
    is_int(big.error, HTTP_ERR_TOO_LARGE, "a 5000-byte body over a 1000-byte limit is refused");
    ok(strstr(big.text, "over the limit of 1000 bytes") != NULL, "it says so: %s", big.text);
    is_int(chunked.error, HTTP_ERR_TOO_LARGE, "a chunked body (no length) over it too");
    ok(exact.error == HTTP_ERR_NONE && exact.body_len == 1000,
       "a body of exactly the limit is delivered (%zu bytes)", exact.body_len);
    ok(exact_chunked.error == HTTP_ERR_NONE && exact_chunked.body_len == 1000,
       "a chunked body of exactly the limit is delivered");
    http_free(c);
}

/* ---- statuses are statuses, with their headers ---- */

static void test_statuses(http_client *c)
{
    static const int codes[] = {429, 418, 500};
    result res[3] = {{0}};
    char path[64], want[64];

    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/status?code=%d", codes[i]);
        send_req(c, "GET", path, NULL, 0, &res[i]);
    }
    ok(run_for(DEADLINE_MS), "statuses: answered before the deadline");
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "{\"code\":%d}", codes[i]);
        ok(res[i].error == HTTP_ERR_NONE && res[i].status == codes[i] && !res[i].text[0],
           "status %d delivered as a status, not a transport error", codes[i]);
        ok(!strcmp(res[i].retry_after, "7") && !strcmp(res[i].weight, "42") &&
               !strcmp(res[i].body, want),
           "status %d: Retry-After %s, X-MBX-USED-WEIGHT-1M %s, body %s", codes[i],
           res[i].retry_after, res[i].weight, res[i].body);
    }
}

/* ---- one slot, request after request: nothing of one leaks into the next ---- */

/* Send one request on c and run the loop until it is answered. */
static void send_one(http_client *c, const char *method, const char *path,
                     const char *const *headers, size_t nheaders, const char *body,
                     int64_t timeout_ns, result *res)
{
    http_request req = {method, url(path), headers, nheaders, body, body ? strlen(body) : 0,
                        timeout_ns};

    if (!http_send(c, &req, on_done, res, err, sizeof err)) {
        diag("http_send: %s", err);
        return;
    }
    pending = 1;
    if (!run_for(DEADLINE_MS))
        diag("%s %s: no answer before the deadline", method, path);
}

static int saw(const result *r, const char *method, const char *body, const char *echo)
{
    int same = r->calls == 1 && r->error == HTTP_ERR_NONE && r->status == 200 &&
               !strcmp(r->method, method) && !strcmp(r->body, body) && !strcmp(r->echo, echo);
    if (!same)
        diag("got %d call(s), error %d, status %d, method '%s', body '%s', X-Test '%s'",
             r->calls, r->error, r->status, r->method, r->body, r->echo);
    return same;
}

/* A fresh client answered one request at a time has one slot, so every
 * request below reuses the easy handle of the one before it. */
static void test_reuse(void)
{
    static const char *const key1[] = {"X-Test: key1"};
    static const char *const key2[] = {"X-Test: key2"};
    http_client *c = client(0);
    result post = {0}, get = {0}, del = {0}, head = {0}, post2 = {0}, slow = {0}, after = {0};
    result bare[6] = {{0}};
    int late_before = atomic_load(&srv.late_sent);

    send_one(c, "POST", "/echo", key1, 1, "a=1", 0, &post);
    send_one(c, "GET", "/echo", key1, 1, NULL, 0, &get);
    send_one(c, "DELETE", "/echo", key2, 1, NULL, 0, &del);
    send_one(c, "HEAD", "/echo", NULL, 0, NULL, 0, &head);
    send_one(c, "POST", "/echo", NULL, 0, "b=22", 0, &post2);
    send_one(c, "GET", "/delay?ms=300", NULL, 0, NULL, 100 * MS, &slow);
    send_one(c, "GET", "/delay?ms=150", NULL, 0, NULL, 0, &after);
    /* Bodyless requests of one method in a row keep the handle as it is. */
    send_one(c, "POST", "/echo", key1, 1, NULL, 0, &bare[0]);
    send_one(c, "POST", "/echo", key1, 1, NULL, 0, &bare[1]);
    send_one(c, "DELETE", "/echo", key1, 1, NULL, 0, &bare[2]);
    send_one(c, "DELETE", "/echo", key1, 1, NULL, 0, &bare[3]);
    send_one(c, "POST", "/echo", key1, 1, "c=3", 0, &bare[4]);
    send_one(c, "POST", "/echo", key1, 1, NULL, 0, &bare[5]);
    ok(saw(&post, "POST", "a=1", "key1"), "reuse: a POST with a body and a header");
    ok(saw(&get, "GET", "", "key1"),
       "reuse: the GET after it is a GET without the POST's body, the same header sent");
    ok(saw(&del, "DELETE", "", "key2"),
       "reuse: a DELETE without a body sends no body and its own header, not the last one");
    ok(head.calls == 1 && head.error == HTTP_ERR_NONE && head.status == 200 &&
           !strcmp(head.method, "OTHER") && head.body_len == 0 && !head.echo[0],
       "reuse: a HEAD without headers sends none (method '%s', X-Test '%s')", head.method,
       head.echo);
    ok(saw(&post2, "POST", "b=22", ""), "reuse: a POST after the HEAD gets its answer's body");
    is_int(slow.error, HTTP_ERR_TIMEOUT, "reuse: a request with a 100 ms timeout times out");
    ok(after.error == HTTP_ERR_NONE && after.status == 200,
       "reuse: the next request has the client's timeout, not the 100 ms (%s)", after.text);
    ok(saw(&bare[0], "POST", "", "key1") && saw(&bare[1], "POST", "", "key1"),
       "reuse: two POSTs without a body in a row, both POSTs without one");
    ok(saw(&bare[2], "DELETE", "", "key1") && saw(&bare[3], "DELETE", "", "key1"),
       "reuse: then two DELETEs without a body, both DELETEs");
    ok(saw(&bare[4], "POST", "c=3", "key1") && saw(&bare[5], "POST", "", "key1"),
       "reuse: a POST with a body, then one without: the body is not sent again");
    ok(wait_late_replies(late_before + 1), "reuse: the server's late reply went out");
    http_free(c);
}

/* ---- misuse and the end ---- */

static void test_misuse(http_client *c)
{
    result res = {0};
    http_request none = {"GET", NULL, NULL, 0, NULL, 0, 0};
    http_request ftp = {"GET", "ftp://127.0.0.1/", NULL, 0, NULL, 0, 0};

    ok(http_send(c, &none, on_done, &res, err, sizeof err) == 0 && strstr(err, "URL"),
       "a request without a URL is refused: %s", err);
    pending++;
    ok(http_send(c, &ftp, on_done, &res, err, sizeof err) != 0, "an ftp:// URL is accepted...");
    ok(run_for(DEADLINE_MS), "...and answered");
    ok(res.error == HTTP_ERR_OTHER && res.text[0], "...as a transport error: %s", res.text);
}

static void test_free_in_flight(void)
{
    http_client *c = client(0);
    result res = {0};

    send_req(c, "GET", "/delay?ms=50", NULL, 0, &res);
    pending--;
    http_free(c); /* aborts it: no callback, nothing leaked (ASan) */
    ok(!run_for(150), "http_free with a request in flight: nothing answers");
    is_int(res.calls, 0, "its callback was never called");
}

int main(void)
{
    http_client *c;

    plan(73);
    lp = loop_new(err, sizeof err);
    if (!lp)
        bail_out("loop_new: %s", err);
    if (httpd_start(&srv, loop_base(lp)) < 0)
        bail_out("cannot start the test server");
    c = client(0);
    test_methods(c);
    test_keepalive();
    test_concurrent();
    test_timeout(c);
    test_refused(c);
    test_cancel(c);
    test_too_large();
    test_statuses(c);
    test_reuse();
    test_misuse(c);
    test_free_in_flight();
    http_free(c);
    httpd_stop(&srv);
    loop_free(lp);
    return done();
}
