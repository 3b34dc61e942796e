/*
 * httpd_test.h -- a real HTTP/1.1 server on a free 127.0.0.1 port (libevent's
 * evhttp) for the HTTP client's test and benchmark. It runs on whatever
 * event_base it is given: the client's own loop, or a thread's.
 *
 *   /echo            200; the request body back; X-Method: the method;
 *                    X-Test-Echo: the request's X-Test header
 *   /delay?ms=N      200 "late", N ms later (the server's loop is not blocked)
 *   /status?code=N   status N with Retry-After: 7 and X-MBX-USED-WEIGHT-1M: 42
 *   /big?n=N         N bytes of 'x' with a Content-Length
 *   /chunked?n=N     N bytes of 'y', chunked (no Content-Length)
 *
 * Every reply carries X-Conn-Port (the client's port: one per connection);
 * `connections` counts accepted connections, `requests` requests, and
 * `late_sent` the /delay replies that went out (or were dropped because the
 * client had gone).
 */
#ifndef LUTRA_HTTPD_TEST_H
#define LUTRA_HTTPD_TEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define HTTPD_MAX_LATE 64

typedef struct httpd_test httpd_test;

typedef struct httpd_late {
    httpd_test *srv;
    struct evhttp_request *req;
    struct event *ev;
} httpd_late;

struct httpd_test {
    struct event_base *base;
    struct evhttp *http;
    int port;
    atomic_int connections;
    atomic_int requests;
    atomic_int late_sent;
    httpd_late late[HTTPD_MAX_LATE]; /* /delay replies waiting; ev NULL when free */
};

/* A query parameter as a number, or dflt. */
static inline long httpd_param(struct evhttp_request *req, const char *key, long dflt)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params;
    const char *v;
    long n = dflt;

    if (!query || evhttp_parse_query_str(query, &params) < 0)
        return dflt;
    v = evhttp_find_header(&params, key);
    if (v)
        n = strtol(v, NULL, 10);
    evhttp_clear_headers(&params);
    return n;
}

static inline void httpd_common_headers(struct evhttp_request *req)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;
    char buf[16];

    if (!conn)
        return;
    evhttp_connection_get_peer(conn, &addr, &port);
    snprintf(buf, sizeof buf, "%u", (unsigned)port);
    evhttp_add_header(out, "X-Conn-Port", buf);
}

static inline void httpd_echo(struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *body = evbuffer_new();
    const char *test = evhttp_find_header(in, "X-Test");
    const char *method = "OTHER";

    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: method = "GET"; break;
    case EVHTTP_REQ_POST: method = "POST"; break;
    case EVHTTP_REQ_PUT: method = "PUT"; break;
    case EVHTTP_REQ_DELETE: method = "DELETE"; break;
    default: break;
    }
    evhttp_add_header(out, "X-Method", method);
    if (test)
        evhttp_add_header(out, "X-Test-Echo", test);
    evbuffer_add_buffer(body, evhttp_request_get_input_buffer(req));
    evhttp_send_reply(req, 200, "OK", body);
    evbuffer_free(body);
}

static inline void httpd_fill(struct evhttp_request *req, int chunked, long n)
{
    struct evbuffer *body = evbuffer_new();
    char block[4096];

    memset(block, chunked ? 'y' : 'x', sizeof block);
    if (!chunked) {
        for (long left = n; left > 0; left -= (long)sizeof block)
            evbuffer_add(body, block, left < (long)sizeof block ? (size_t)left : sizeof block);
        evhttp_send_reply(req, 200, "OK", body);
        evbuffer_free(body);
        return;
    }
    evhttp_send_reply_start(req, 200, "OK");
    for (long left = n; left > 0; left -= (long)sizeof block) {
        evbuffer_add(body, block, left < (long)sizeof block ? (size_t)left : sizeof block);
        evhttp_send_reply_chunk(req, body);
    }
    evhttp_send_reply_end(req);
    evbuffer_free(body);
}

static inline void httpd_status(struct evhttp_request *req)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *body = evbuffer_new();
    int code = (int)httpd_param(req, "code", 500);

    evhttp_add_header(out, "Retry-After", "7");
    evhttp_add_header(out, "X-MBX-USED-WEIGHT-1M", "42");
    evbuffer_add_printf(body, "{\"code\":%d}", code);
    evhttp_send_reply(req, code, "Test Status", body);
    evbuffer_free(body);
}

/* A late reply's time came: send it (evhttp frees a request whose client
 * has gone instead of writing it). */
static inline void httpd_late_fire(evutil_socket_t fd, short what, void *arg)
{
    httpd_late *l = arg;
    struct evbuffer *body = evbuffer_new();
    (void)fd;
    (void)what;

    evbuffer_add(body, "late", 4);
    evhttp_send_reply(l->req, 200, "OK", body);
    evbuffer_free(body);
    event_free(l->ev);
    l->ev = NULL;
    atomic_fetch_add(&l->srv->late_sent, 1);
}

static inline void httpd_delay(httpd_test *srv, struct evhttp_request *req)
{
    long ms = httpd_param(req, "ms", 100);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    for (int i = 0; i < HTTPD_MAX_LATE; i++) {
        httpd_late *l = &srv->late[i];
        if (l->ev)
            continue;
        l->srv = srv;
        l->req = req;
        l->ev = evtimer_new(srv->base, httpd_late_fire, l);
        evtimer_add(l->ev, &tv);
        return;
    }
    evhttp_send_error(req, 503, "too many delayed replies");
}

static inline void httpd_route(struct evhttp_request *req, void *arg)
{
    httpd_test *srv = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    atomic_fetch_add(&srv->requests, 1);
    httpd_common_headers(req);
    if (!path)
        evhttp_send_error(req, 400, "no path");
    else if (strcmp(path, "/echo") == 0)
        httpd_echo(req);
    else if (strcmp(path, "/delay") == 0)
        httpd_delay(srv, req);
    else if (strcmp(path, "/status") == 0)
        httpd_status(req);
    else if (strcmp(path, "/big") == 0)
        httpd_fill(req, 0, httpd_param(req, "n", 0));
    else if (strcmp(path, "/chunked") == 0)
        httpd_fill(req, 1, httpd_param(req, "n", 0));
    else
        evhttp_send_error(req, 404, "no such path");
}

/* evhttp asks for a bufferevent once per accepted connection: count it. */
static inline struct bufferevent *httpd_new_connection(struct event_base *base, void *arg)
{
    httpd_test *srv = arg;
    atomic_fetch_add(&srv->connections, 1);
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

/* Listen on 127.0.0.1, a free port. @return 0, or -1 (message on stderr). */
static inline int httpd_start(httpd_test *srv, struct event_base *base)
{
    struct evhttp_bound_socket *bound;
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof ss;

    memset(srv, 0, sizeof *srv);
    srv->base = base;
    srv->http = evhttp_new(base);
    if (!srv->http)
        return -1;
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(srv->http, httpd_route, srv);
    evhttp_set_bevcb(srv->http, httpd_new_connection, srv);
    bound = evhttp_bind_socket_with_handle(srv->http, "127.0.0.1", 0);
    if (!bound || getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss,
                              &len) < 0) {
        fprintf(stderr, "httpd_test: cannot listen on 127.0.0.1\n");
        evhttp_free(srv->http);
        return -1;
    }
    srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

/* Answer what is still waiting, then close everything. */
static inline void httpd_stop(httpd_test *srv)
{
    for (int i = 0; i < HTTPD_MAX_LATE; i++) {
        if (srv->late[i].ev) {
            event_del(srv->late[i].ev);
            httpd_late_fire(-1, 0, &srv->late[i]);
        }
    }
    evhttp_free(srv->http);
}

#endif
