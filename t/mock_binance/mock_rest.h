/*
 * mock_rest.h -- the mock Binance's REST endpoints: what each one weighs,
 * what it requires (nothing, an API key, a signature) and how it answers.
 *
 * The server (mock_binance.c) finds the route, charges its weight, checks
 * the key and signature, then calls the handler with the request's
 * parameters decoded (query string first, then the form body: a parameter
 * in both is taken from the query, as documented).
 */
#ifndef LUTRA_MOCK_REST_H
#define LUTRA_MOCK_REST_H

#include <stdint.h>

#include "mock_exchange.h"
#include "mock_ws.h"

struct evbuffer;
struct evkeyvalq;

enum mrest_security { MREST_NONE = 0, MREST_API_KEY, MREST_SIGNED };

typedef struct mrest_call {
    mexch *x;
    mws *ws;                       /* listenKeys */
    const struct evkeyvalq *query; /* decoded parameters */
    const struct evkeyvalq *body;
    int64_t now_ms;
    int64_t weight_limit;          /* for exchangeInfo's rateLimits */
    int weight_interval_s;         /* ... and its window (60: MINUTE 1) */
    struct evbuffer *out;          /* the JSON answer */
} mrest_call;

typedef struct mrest_route {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *path;
    int security;       /* enum mrest_security */
    int weight;
    int is_order;       /* counts against the ORDERS limits */
    /* @return the HTTP status; the body is in call->out */
    int (*handle)(mrest_call *call);
} mrest_route;

/* The route for method and path, or NULL. */
const mrest_route *mrest_find(const char *method, const char *path);

/* The weight of a call of route (depth weighs by its limit). */
int mrest_weight(const mrest_route *r, const mrest_call *call);

/* A parameter (query first, then body), or NULL. */
const char *mrest_param(const mrest_call *call, const char *key);

/* Write Binance's error body {"code":..,"msg":".."}. */
void mrest_error(struct evbuffer *out, int code, const char *msg);

#endif
