/*
 * http.h -- the HTTP(S) client: libcurl's multi interface driven by the
 * engine's libevent loop.
 *
 * Nothing here blocks: http_send queues a request and returns; libcurl's
 * sockets and timeouts are libevent events on the caller's event_base, and
 * the answer comes back through a callback on that loop's thread. One multi
 * handle holds the connection cache, so requests to a host reuse kept-alive
 * connections (HTTP/1.1) or share one (HTTP/2 over TLS), at most
 * max_host_connections at a time; requests over that wait their turn.
 *
 * A response is either an HTTP status (any status, 429 and 5xx included:
 * the caller decides what they mean) or a transport failure (timeout,
 * connection refused, DNS, TLS, a body over the limit) with its text.
 * Error texts name the method and the URL without its query string, which
 * may carry a signature.
 *
 * Not thread-safe: one thread, the one running the event_base, uses it.
 */
#ifndef LUTRA_HTTP_H
#define LUTRA_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct http_client http_client;

#define HTTP_DEFAULT_MAX_BODY ((size_t)16 << 20)
#define HTTP_DEFAULT_TIMEOUT_NS INT64_C(10000000000)
#define HTTP_DEFAULT_CONNECT_TIMEOUT_NS INT64_C(5000000000)
#define HTTP_DEFAULT_HOST_CONNECTIONS 4

/* Client settings; a zero field takes its default. */
typedef struct http_options {
    long max_host_connections;   /* open connections per host */
    long max_total_connections;  /* all hosts together; 0: no limit */
    size_t max_body;             /* largest response body accepted, bytes */
    int64_t timeout_ns;          /* a whole request, when the request says 0 */
    int64_t connect_timeout_ns;  /* TCP and TLS handshakes */
    const char *user_agent;      /* NULL: "lutra/<version>" */
    int insecure;                /* 1: do not verify TLS peers (self-signed mocks) */
} http_options;

/* What went wrong below HTTP; HTTP_ERR_NONE when a response (any status) arrived. */
enum http_error {
    HTTP_ERR_NONE = 0,
    HTTP_ERR_TIMEOUT,   /* the request's timeout passed (connecting included) */
    HTTP_ERR_CONNECT,   /* refused or unreachable */
    HTTP_ERR_DNS,       /* the host name did not resolve */
    HTTP_ERR_TLS,       /* handshake or certificate */
    HTTP_ERR_TOO_LARGE, /* the body is over max_body */
    HTTP_ERR_OTHER      /* the connection broke, a malformed URL or reply, ... */
};

/* One request; everything is copied by http_send. */
typedef struct http_request {
    const char *method;          /* "GET" when NULL; "POST", "PUT", "DELETE", ... */
    const char *url;             /* http:// or https:// only */
    const char *const *headers;  /* "Name: value" lines */
    size_t nheaders;
    const char *body;            /* sent when body_len > 0, or always for POST */
    size_t body_len;
    int64_t timeout_ns;          /* 0: the client's */
} http_request;

typedef struct http_response {
    int error;               /* enum http_error */
    const char *error_text;  /* NULL when error == HTTP_ERR_NONE */
    int status;              /* the HTTP status; 0 on a transport failure */
    const char *body;        /* never NULL; JSON_PADDING zero bytes after body_len */
    size_t body_len;
    int64_t elapsed_ns;      /* from http_send to the answer */
    void *handle_;           /* private, for http_response_header */
} http_response;

/* The answer to request `id`. r and everything it points to are valid
 * during the call only. */
typedef void (*http_done_fn)(void *ud, uint64_t id, const http_response *r);

/* @return a client on base, or NULL with the reason in err. */
http_client *http_new(struct event_base *base, const http_options *opt, char *err,
                      size_t errlen);
/* Abort every request in flight (their callbacks are not called) and free
 * the client. Not from inside one of its callbacks. */
void http_free(http_client *c);

/*
 * Send a request; fn is called once, later, from the loop (never from
 * inside http_send), unless the request is cancelled first.
 * @return the request's id (never 0), or 0 with the reason in err.
 */
uint64_t http_send(http_client *c, const http_request *req, http_done_fn fn, void *ud,
                   char *err, size_t errlen);

/* Abort request id: its callback will not be called. An id that already
 * completed or was cancelled is ignored. @return 1 if it was in flight. */
int http_cancel(http_client *c, uint64_t id);

/* Requests sent and not yet answered or cancelled. */
size_t http_in_flight(const http_client *c);

/* The value of response header `name` (case-insensitive; the first if it
 * repeats), or NULL. Valid during the callback only. */
const char *http_response_header(const http_response *r, const char *name);

/* "timeout", "connect", ... for an enum http_error. */
const char *http_error_name(int error);

/*
 * ---- Hand-off probe (observability; bench/tick_to_order.c) ----
 *
 * Off by default: then it costs one predictable branch per request. When
 * set, http_send calls `handed` on the caller's thread the moment libcurl's
 * multi handle has accepted a request (curl_multi_add_handle returned OK),
 * before anything of it is written to the network, with the request as the
 * caller gave it. Process-wide: set it before the clients it should watch
 * send anything; NULL turns it off.
 */
typedef struct http_probe {
    void (*handed)(void *ud, const http_request *req);
    void *ud;
} http_probe;

void http_set_probe(const http_probe *probe);

#endif
