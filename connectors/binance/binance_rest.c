/*
 * binance_rest.c -- Binance Spot REST order entry without the network:
 * requests built into fixed buffers, their answers parsed, and the rate
 * limits kept from the answers' headers.
 *
 * Requests: every parameter goes in the query string, in the order the docs
 * list them (allowed for POST, PUT and DELETE too), so what is signed is
 * exactly the query. Quantities and prices leave as exact decimals of the
 * order's fixed point, trailing zeros trimmed ("0.001", "61000.5").
 *
 * Responses: decimals are kept as written (bn_amount, the value at its own
 * smallest scale), so a parse needs no instrument; the caller rescales to
 * the instrument's scales exactly or refuses. Fields are asked for in the
 * order Binance writes them: on-demand parsing finds the next one fastest.
 *
 * Rate limits: Binance counts in fixed windows (a minute, ten seconds, a
 * day). A request is charged locally before it leaves, and every answer's
 * X-MBX-USED-WEIGHT-* / X-MBX-ORDER-COUNT-* header brings the count up to
 * the server's. A 429 or 418 sets a back-off deadline; nothing here waits
 * or retries: bn_ratelimit_wait says how long the caller should.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "binance.h"

/* ---- Decimals ---- */

/* v at scale as a decimal without trailing zeros. The host API offers
 * parsing only, so the connector writes its own (six lines of digits). */
int bn_format_decimal(int64_t v, int scale, char *buf, size_t cap)
{
    char digits[24];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = 0, len = 0;

    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0 || n <= scale);
    int first = 0; /* trailing zeros of the fraction are dropped */
    while (first < scale && digits[first] == '0')
        first++;
    if (cap < (size_t)n + 3)
        return -1;
    if (v < 0)
        buf[len++] = '-';
    for (int i = n - 1; i >= first; i--) {
        if (i == scale - 1)
            buf[len++] = '.';
        buf[len++] = digits[i];
    }
    buf[len] = '\0';
    return len;
}

static int64_t pow10_i64(int n)
{
    int64_t p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

int bn_amount_rescale(bn_amount a, int scale, int64_t *out)
{
    if (scale < 0 || scale > 18 || a.scale < 0 || a.scale > 18)
        return -1;
    if (scale >= a.scale) {
        int64_t m = pow10_i64(scale - a.scale);
        if (a.v > INT64_MAX / m || a.v < INT64_MIN / m)
            return -1;
        *out = a.v * m;
        return 0;
    }
    int64_t d = pow10_i64(a.scale - scale);
    if (a.v % d != 0)
        return -1;
    *out = a.v / d;
    return 0;
}

/* a at scale, rounded up: a minimum finer than the increments it applies
 * to is met only by the next representable value. */
static int amount_ceil(bn_amount a, int scale, int64_t *out)
{
    if (bn_amount_rescale(a, scale, out) == 0)
        return 0;
    if (scale < 0 || a.scale <= scale || a.v < 0)
        return -1;
    int64_t d = pow10_i64(a.scale - scale);
    *out = a.v / d + 1;
    return 0;
}

/* ---- Requests ---- */

static void req_begin(bn_request *r, const char *method, const char *path, int weight,
                      int orders)
{
    r->method = method;
    r->path = path;
    bn_query_init(&r->query);
    r->header[0] = '\0';
    r->weight = weight;
    r->orders = orders;
    r->is_signed = 0;
}

static int req_key(bn_request *r, const bn_auth *a, char *err, size_t errlen)
{
    size_t len = strnlen(a->api_key, sizeof a->api_key);
    if (len == 0 || len == sizeof a->api_key) {
        snprintf(err, errlen, "%s %s: no API key configured", r->method, r->path);
        return -1;
    }
    /* Copied, not printed: this runs for every order (BN_HEADER_MAX holds
     * the prefix and the longest key). */
    memcpy(r->header, BN_KEY_HEADER, sizeof BN_KEY_HEADER - 1);
    memcpy(r->header + sizeof BN_KEY_HEADER - 1, a->api_key, len + 1);
    return 0;
}

static int req_sign(bn_request *r, const bn_auth *a, int64_t now_ms, char *err, size_t errlen)
{
    int window = a->recv_window_ms ? a->recv_window_ms : BN_RECV_WINDOW_DEFAULT;

    if (req_key(r, a, err, errlen) != 0)
        return -1;
    if (!a->signer) {
        snprintf(err, errlen, "%s %s: no API secret configured", r->method, r->path);
        return -1;
    }
    r->is_signed = 1;
    return bn_query_sign(&r->query, a->signer, now_ms + a->clock_offset_ms, window, err,
                         errlen);
}

static int check_overflow(const bn_request *r, char *err, size_t errlen)
{
    if (!r->query.overflow)
        return 0;
    snprintf(err, errlen, "%s %s: query longer than %d bytes", r->method, r->path,
             BN_QUERY_MAX - 1);
    return -1;
}

static int check_symbol(const char *what, const char *symbol, char *err, size_t errlen)
{
    if (symbol && symbol[0] && strlen(symbol) < LUTRA_SYMBOL_MAX)
        return 0;
    snprintf(err, errlen, "%s: symbol \"%.40s\" empty or longer than %d characters", what,
             symbol ? symbol : "", LUTRA_SYMBOL_MAX - 1);
    return -1;
}

/* lutra's ids are [A-Za-z0-9_-]; Binance takes up to 36 of them. A bitmap
 * (bn_char_in), not strspn, which builds its table again every call. */
static const uint64_t client_id_chars[2] = {
    0x03FF200000000000u, /* - 0-9 */
    0x07FFFFFE87FFFFFEu, /* A-Z _ a-z */
};

static int check_client_id(const char *what, const char *id, char *err, size_t errlen)
{
    size_t len = 0;

    while (id && len < BN_CLIENT_ID_MAX && bn_char_in(client_id_chars, (unsigned char)id[len]))
        len++;
    if (len > 0 && len < BN_CLIENT_ID_MAX && id[len] == '\0')
        return 0;
    snprintf(err, errlen, "%s: client order id \"%.40s\" must be 1..%d characters of "
             "[A-Za-z0-9_-]", what, id ? id : "", BN_CLIENT_ID_MAX - 1);
    return -1;
}

static const char *const side_names[] = {NULL, "BUY", "SELL"};
static const char *const type_names[] = {NULL, "LIMIT", "MARKET", "LIMIT_MAKER"};
static const char *const tif_names[] = {NULL, "GTC", "IOC", "FOK"};
static const char *const resp_names[] = {NULL, "ACK", "RESULT", "FULL"};

#define IN_TABLE(v, table) ((v) > 0 && (size_t)(v) < sizeof(table) / sizeof(table)[0])

static int add_decimal(bn_request *r, const char *key, int64_t v, int scale, char *err,
                       size_t errlen)
{
    char num[48];
    if (v <= 0 || scale < 0 || scale > 18 || bn_format_decimal(v, scale, num, sizeof num) < 0) {
        snprintf(err, errlen, "new order: %s %" PRId64 " at scale %d is not a positive "
                 "decimal", key, v, scale);
        return -1;
    }
    bn_query_add_str(&r->query, key, num);
    return 0;
}

/* The combination rules of the docs' "additional mandatory parameters". */
static int check_order(const bn_order_spec *o, char *err, size_t errlen)
{
    if (check_symbol("new order", o->symbol, err, errlen) != 0 ||
        check_client_id("new order", o->client_id, err, errlen) != 0)
        return -1;
    if (!IN_TABLE(o->side, side_names) || !IN_TABLE(o->type, type_names)) {
        snprintf(err, errlen, "new order %s: side %d or type %d unknown", o->client_id,
                 o->side, o->type);
        return -1;
    }
    if (o->type == BN_LIMIT ? !IN_TABLE(o->tif, tif_names) : o->tif != BN_TIF_NONE) {
        snprintf(err, errlen, "new order %s: a %s order %s", o->client_id,
                 type_names[o->type],
                 o->type == BN_LIMIT ? "needs timeInForce GTC, IOC or FOK"
                                     : "takes no timeInForce");
        return -1;
    }
    if (o->resp_type != BN_RESP_DEFAULT && !IN_TABLE(o->resp_type, resp_names)) {
        snprintf(err, errlen, "new order %s: response type %d unknown", o->client_id,
                 o->resp_type);
        return -1;
    }
    return 0;
}

int bn_req_new_order(bn_request *r, const bn_auth *a, const bn_order_spec *o, int64_t now_ms,
                     char *err, size_t errlen)
{
    req_begin(r, "POST", "/api/v3/order", 1, 1);
    if (check_order(o, err, errlen) != 0)
        return -1;
    bn_query_add_str(&r->query, "symbol", o->symbol);
    bn_query_add_str(&r->query, "side", side_names[o->side]);
    bn_query_add_str(&r->query, "type", type_names[o->type]);
    if (o->tif != BN_TIF_NONE)
        bn_query_add_str(&r->query, "timeInForce", tif_names[o->tif]);
    if (add_decimal(r, "quantity", o->qty, o->size_scale, err, errlen) != 0)
        return -1;
    if (o->type != BN_MARKET && add_decimal(r, "price", o->price, o->price_scale, err,
                                            errlen) != 0)
        return -1;
    bn_query_add_str(&r->query, "newClientOrderId", o->client_id);
    if (o->resp_type != BN_RESP_DEFAULT)
        bn_query_add_str(&r->query, "newOrderRespType", resp_names[o->resp_type]);
    return req_sign(r, a, now_ms, err, errlen);
}

int bn_req_cancel(bn_request *r, const bn_auth *a, const char *symbol, const char *client_id,
                  int64_t now_ms, char *err, size_t errlen)
{
    req_begin(r, "DELETE", "/api/v3/order", 1, 0);
    if (check_symbol("cancel", symbol, err, errlen) != 0 ||
        check_client_id("cancel", client_id, err, errlen) != 0)
        return -1;
    bn_query_add_str(&r->query, "symbol", symbol);
    bn_query_add_str(&r->query, "origClientOrderId", client_id);
    return req_sign(r, a, now_ms, err, errlen);
}

int bn_req_open_orders(bn_request *r, const bn_auth *a, const char *symbol, int64_t now_ms,
                       char *err, size_t errlen)
{
    req_begin(r, "GET", "/api/v3/openOrders", symbol ? 6 : 80, 0);
    if (symbol) {
        if (check_symbol("open orders", symbol, err, errlen) != 0)
            return -1;
        bn_query_add_str(&r->query, "symbol", symbol);
    }
    return req_sign(r, a, now_ms, err, errlen);
}

int bn_req_account(bn_request *r, const bn_auth *a, int64_t now_ms, char *err, size_t errlen)
{
    req_begin(r, "GET", "/api/v3/account", 20, 0);
    bn_query_add_str(&r->query, "omitZeroBalances", "true");
    return req_sign(r, a, now_ms, err, errlen);
}

int bn_req_query_order(bn_request *r, const bn_auth *a, const char *symbol,
                       const char *client_id, int64_t now_ms, char *err, size_t errlen)
{
    req_begin(r, "GET", "/api/v3/order", 4, 0);
    if (check_symbol("query order", symbol, err, errlen) != 0 ||
        check_client_id("query order", client_id, err, errlen) != 0)
        return -1;
    bn_query_add_str(&r->query, "symbol", symbol);
    bn_query_add_str(&r->query, "origClientOrderId", client_id);
    return req_sign(r, a, now_ms, err, errlen);
}

int bn_req_my_trades(bn_request *r, const bn_auth *a, const char *symbol, int64_t order_id,
                     int64_t from_id, int limit, int64_t now_ms, char *err, size_t errlen)
{
    req_begin(r, "GET", "/api/v3/myTrades", 5, 0);
    if (check_symbol("trades", symbol, err, errlen) != 0)
        return -1;
    if (order_id <= 0 || from_id < 0 || limit < 1 || limit > BN_MY_TRADES_MAX) {
        snprintf(err, errlen, "trades of %s: orderId %" PRId64 ", fromId %" PRId64
                 " or limit %d out of range", symbol, order_id, from_id, limit);
        return -1;
    }
    bn_query_add_str(&r->query, "symbol", symbol);
    bn_query_add_int(&r->query, "orderId", order_id);
    bn_query_add_int(&r->query, "fromId", from_id);
    bn_query_add_int(&r->query, "limit", limit);
    return req_sign(r, a, now_ms, err, errlen);
}

int bn_req_listen_key_create(bn_request *r, const bn_auth *a, char *err, size_t errlen)
{
    req_begin(r, "POST", "/api/v3/userDataStream", 2, 0);
    return req_key(r, a, err, errlen);
}

int bn_req_listen_key_keepalive(bn_request *r, const bn_auth *a, const char *listen_key,
                                char *err, size_t errlen)
{
    req_begin(r, "PUT", "/api/v3/userDataStream", 2, 0);
    if (!listen_key || !listen_key[0]) {
        snprintf(err, errlen, "listenKey keepalive: no listenKey");
        return -1;
    }
    bn_query_add_str(&r->query, "listenKey", listen_key);
    if (check_overflow(r, err, errlen) != 0)
        return -1;
    return req_key(r, a, err, errlen);
}

/* One symbol as symbol=, several as symbols=["A","B"] (encoded). */
int bn_req_exchange_info(bn_request *r, const char *const *symbols, size_t nsymbols, char *err,
                         size_t errlen)
{
    char list[BN_QUERY_MAX];
    size_t len = 0;

    req_begin(r, "GET", "/api/v3/exchangeInfo", 20, 0);
    for (size_t i = 0; i < nsymbols; i++)
        if (check_symbol("exchangeInfo", symbols[i], err, errlen) != 0)
            return -1;
    if (nsymbols == 1)
        bn_query_add_str(&r->query, "symbol", symbols[0]);
    if (nsymbols < 2)
        return 0;
    list[len++] = '[';
    for (size_t i = 0; i < nsymbols && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s\"%s\"", i ? "," : "",
                                symbols[i]);
    if (len + 1 >= sizeof list) {
        snprintf(err, errlen, "exchangeInfo: %zu symbols do not fit a query", nsymbols);
        return -1;
    }
    list[len++] = ']';
    bn_query_add(&r->query, "symbols", list, len);
    return check_overflow(r, err, errlen);
}

/* The weight of a depth request grows with its limit (docs' table). */
static int depth_weight(int limit)
{
    return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
}

int bn_req_depth(bn_request *r, const char *symbol, int limit, char *err, size_t errlen)
{
    req_begin(r, "GET", "/api/v3/depth", depth_weight(limit), 0);
    if (check_symbol("depth", symbol, err, errlen) != 0)
        return -1;
    if (limit < 1 || limit > 5000) {
        snprintf(err, errlen, "depth %s: limit %d outside 1..5000", symbol, limit);
        return -1;
    }
    bn_query_add_str(&r->query, "symbol", symbol);
    bn_query_add_int(&r->query, "limit", limit);
    return 0;
}

int bn_req_server_time(bn_request *r, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    req_begin(r, "GET", "/api/v3/time", 1, 0);
    return 0;
}

size_t bn_request_describe(const bn_request *r, char *buf, size_t cap)
{
    const char *q = r->query.s;
    size_t qlen = r->query.len;
    const char *sig = strstr(q, "&signature=");
    int n;

    if (cap == 0)
        return 0;
    if (sig)
        qlen = (size_t)(sig - q);
    n = snprintf(buf, cap, "%s %s%s%.*s%s", r->method ? r->method : "?",
                 r->path ? r->path : "?", qlen ? "?" : "", (int)qlen, q,
                 sig ? "&signature=(omitted)" : "");
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ---- JSON fields ---- */

static int fail_json(const bn_conn *c, const char *what, const char *key, char *err,
                     size_t errlen)
{
    snprintf(err, errlen, "%s: field \"%s\": %s", what, key, c->api->json_last_error());
    return -1;
}

/* A field lookup's error names the field itself. */
static int fail_lookup(const bn_conn *c, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, c->api->json_last_error());
    return -1;
}

static int get(bn_conn *c, json_value *obj, const char *key, json_value *out, const char *what,
               char *err, size_t errlen)
{
    return c->api->json_field(obj, key, out) == 0 ? 0 : fail_lookup(c, what, err, errlen);
}

/* @return 1 present, 0 absent, -1 malformed. */
static int get_opt(bn_conn *c, json_value *obj, const char *key, json_value *out,
                   const char *what, char *err, size_t errlen)
{
    int rc = c->api->json_field_opt(obj, key, out);
    if (rc < 0)
        fail_lookup(c, what, err, errlen);
    return rc;
}

static int get_i64(bn_conn *c, json_value *obj, const char *key, int64_t *out,
                   const char *what, char *err, size_t errlen)
{
    json_value v;
    if (get(c, obj, key, &v, what, err, errlen) != 0)
        return -1;
    return c->api->json_int64(&v, out) == 0 ? 0 : fail_json(c, what, key, err, errlen);
}

static int opt_i64(bn_conn *c, json_value *obj, const char *key, int64_t *out,
                   const char *what, char *err, size_t errlen)
{
    json_value v;
    int rc = get_opt(c, obj, key, &v, what, err, errlen);
    if (rc <= 0)
        return rc;
    return c->api->json_int64(&v, out) == 0 ? 1 : fail_json(c, what, key, err, errlen);
}

/* A string field copied into dst[cap]; too long is an error naming it. */
static int copy_string(bn_conn *c, json_value *v, const char *key, char *dst, size_t cap,
                       const char *what, char *err, size_t errlen)
{
    const char *s;
    size_t len;

    if (c->api->json_string(v, &s, &len) != 0)
        return fail_json(c, what, key, err, errlen);
    if (len >= cap) {
        snprintf(err, errlen, "%s: field \"%s\" \"%.*s\" longer than %zu characters", what, key,
                 (int)(len > 64 ? 64 : len), s, cap - 1);
        return -1;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int get_string(bn_conn *c, json_value *obj, const char *key, char *dst, size_t cap,
                      const char *what, char *err, size_t errlen)
{
    json_value v;
    if (get(c, obj, key, &v, what, err, errlen) != 0)
        return -1;
    return copy_string(c, &v, key, dst, cap, what, err, errlen);
}

static int opt_string(bn_conn *c, json_value *obj, const char *key, char *dst, size_t cap,
                      const char *what, char *err, size_t errlen)
{
    json_value v;
    int rc = get_opt(c, obj, key, &v, what, err, errlen);
    if (rc <= 0)
        return rc;
    return copy_string(c, &v, key, dst, cap, what, err, errlen) == 0 ? 1 : -1;
}

static int to_amount(bn_conn *c, json_value *v, const char *key, bn_amount *out,
                     const char *what, char *err, size_t errlen)
{
    const char *s;
    size_t len;
    int d;

    if (c->api->json_number_text(v, &s, &len) != 0)
        return fail_json(c, what, key, err, errlen);
    d = c->api->fixed_decimals(s, len);
    if (d < 0 || c->api->fixed_parse(s, len, d, &out->v) != 0) {
        snprintf(err, errlen, "%s: field \"%s\" \"%.*s\" is not an exact decimal", what, key,
                 (int)(len > 40 ? 40 : len), s);
        return -1;
    }
    out->scale = d;
    return 0;
}

static int get_amount(bn_conn *c, json_value *obj, const char *key, bn_amount *out,
                      const char *what, char *err, size_t errlen)
{
    json_value v;
    if (get(c, obj, key, &v, what, err, errlen) != 0)
        return -1;
    return to_amount(c, &v, key, out, what, err, errlen);
}

static int opt_amount(bn_conn *c, json_value *obj, const char *key, bn_amount *out,
                      const char *what, char *err, size_t errlen)
{
    json_value v;
    int rc = get_opt(c, obj, key, &v, what, err, errlen);
    if (rc <= 0)
        return rc;
    return to_amount(c, &v, key, out, what, err, errlen) == 0 ? 1 : -1;
}

static int parse_root(bn_conn *c, const char *body, size_t len, json_value *root,
                      const char *what, char *err, size_t errlen)
{
    if (c->api->json_parse(c->jp, body, len, root) == 0)
        return 0;
    snprintf(err, errlen, "%s: %s", what, c->api->json_last_error());
    return -1;
}

static int array_begin(bn_conn *c, json_value *arr, json_iter *it, const char *what,
                       const char *key, char *err, size_t errlen)
{
    return c->api->json_array_begin(arr, it) == 0 ? 0 : fail_json(c, what, key, err, errlen);
}

/* @return 1 with the next element, 0 at the end, -1 malformed. */
static int array_next(bn_conn *c, json_iter *it, json_value *out, const char *what,
                      const char *key, char *err, size_t errlen)
{
    int rc = c->api->json_array_next(it, out);
    if (rc < 0)
        fail_json(c, what, key, err, errlen);
    return rc;
}

static int stopped(const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: stopped by its consumer", what);
    return -1;
}

/* ---- exchangeInfo ---- */

static int64_t interval_unit_ms(const char *name)
{
    static const struct { const char *name; int64_t ms; } units[] = {
        {"SECOND", 1000}, {"MINUTE", 60000}, {"HOUR", 3600000}, {"DAY", 86400000},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(name, units[i].name) == 0)
            return units[i].ms;
    return 0;
}

static int limit_kind(const char *name)
{
    return strcmp(name, "REQUEST_WEIGHT") == 0 ? BN_LIMIT_WEIGHT
           : strcmp(name, "ORDERS") == 0       ? BN_LIMIT_ORDERS
           : strcmp(name, "RAW_REQUESTS") == 0 ? BN_LIMIT_RAW
                                               : 0;
}

static int parse_rate_limit(bn_conn *c, json_value *obj, bn_ratelimit *out, char *err,
                            size_t errlen)
{
    static const char what[] = "exchangeInfo rateLimits";
    char type[32], interval[16];
    int64_t num, limit, unit;

    if (get_string(c, obj, "rateLimitType", type, sizeof type, what, err, errlen) != 0 ||
        get_string(c, obj, "interval", interval, sizeof interval, what, err, errlen) != 0 ||
        get_i64(c, obj, "intervalNum", &num, what, err, errlen) != 0 ||
        get_i64(c, obj, "limit", &limit, what, err, errlen) != 0)
        return -1;
    unit = interval_unit_ms(interval);
    if (!limit_kind(type) || !unit)
        return 0; /* a limiter of a kind we do not send: nothing to keep under */
    if (num < 1 || num > 1000 || limit < 1) {
        snprintf(err, errlen, "%s: %s intervalNum %" PRId64 " limit %" PRId64 " out of range",
                 what, type, num, limit);
        return -1;
    }
    if (bn_ratelimit_set(out, limit_kind(type), num * unit, limit) != 0) {
        snprintf(err, errlen, "%s: more than %d limiters", what, BN_LIMITERS_MAX);
        return -1;
    }
    return 0;
}

/* The new limits replace the old; counts already made in a window that
 * both know carry over. */
static void adopt_limits(bn_ratelimit *rl, const bn_ratelimit *fresh)
{
    bn_ratelimit merged = *fresh;
    merged.backoff_until_ms = rl->backoff_until_ms;
    for (size_t i = 0; i < merged.n; i++)
        for (size_t j = 0; j < rl->n; j++)
            if (rl->lim[j].kind == merged.lim[i].kind &&
                rl->lim[j].interval_ms == merged.lim[i].interval_ms) {
                memcpy(merged.lim[i].used, rl->lim[j].used, sizeof merged.lim[i].used);
                memcpy(merged.lim[i].window, rl->lim[j].window, sizeof merged.lim[i].window);
            }
    *rl = merged;
}

static int parse_rate_limits(bn_conn *c, json_value *root, bn_ratelimit *rl, char *err,
                             size_t errlen)
{
    static const char what[] = "exchangeInfo";
    bn_ratelimit fresh;
    json_value arr, obj;
    json_iter it;
    int rc = get_opt(c, root, "rateLimits", &arr, what, err, errlen);

    if (rc <= 0 || !rl)
        return rc;
    memset(&fresh, 0, sizeof fresh);
    if (array_begin(c, &arr, &it, what, "rateLimits", err, errlen) != 0)
        return -1;
    while ((rc = array_next(c, &it, &obj, what, "rateLimits", err, errlen)) == 1)
        if (parse_rate_limit(c, &obj, &fresh, err, errlen) != 0)
            return -1;
    if (rc < 0)
        return -1;
    if (fresh.n > 0)
        adopt_limits(rl, &fresh);
    return 0;
}

/* The filters lutra's instrument holds, as written. */
typedef struct symbol_filters {
    bn_amount tick, step, min_qty, min_notional;
    int have_tick, have_step;
} symbol_filters;

static int parse_filter(bn_conn *c, json_value *obj, symbol_filters *f, const char *symbol,
                        char *err, size_t errlen)
{
    char what[64], type[32];

    snprintf(what, sizeof what, "exchangeInfo %s filters", symbol);
    if (get_string(c, obj, "filterType", type, sizeof type, what, err, errlen) != 0)
        return -1;
    if (strcmp(type, "PRICE_FILTER") == 0) {
        f->have_tick = 1;
        return get_amount(c, obj, "tickSize", &f->tick, what, err, errlen);
    }
    if (strcmp(type, "LOT_SIZE") == 0) {
        f->have_step = 1;
        return get_amount(c, obj, "minQty", &f->min_qty, what, err, errlen) == 0 &&
                       get_amount(c, obj, "stepSize", &f->step, what, err, errlen) == 0
                   ? 0
                   : -1;
    }
    if (strcmp(type, "MIN_NOTIONAL") == 0 || strcmp(type, "NOTIONAL") == 0)
        return get_amount(c, obj, "minNotional", &f->min_notional, what, err, errlen);
    return 0; /* other filters are the risk gates' or the venue's business */
}

/* A zero tick or step disables the rule: one unit of the asset's precision
 * then, the finest Binance would accept anyway. */
static int set_increment(bn_amount inc, int have, int64_t precision, uint8_t *scale,
                         int64_t *out)
{
    if (have && inc.v > 0) {
        *scale = (uint8_t)inc.scale;
        *out = inc.v;
        return 0;
    }
    if (precision < 0 || precision > 18)
        return -1;
    *scale = (uint8_t)precision;
    *out = 1;
    return 0;
}

static int symbol_definition(bn_conn *c, bn_symbol_info *info, const symbol_filters *f,
                             int64_t base_prec, int64_t quote_prec, char *err, size_t errlen)
{
    lutra_instrument *d = &info->def;

    if (set_increment(f->tick, f->have_tick, quote_prec, &d->price_scale,
                      &d->price_increment) != 0 ||
        set_increment(f->step, f->have_step, base_prec, &d->size_scale,
                      &d->size_increment) != 0) {
        snprintf(err, errlen, "exchangeInfo %s: no usable tickSize or stepSize", d->symbol);
        return -1;
    }
    if (amount_ceil(f->min_qty, d->size_scale, &d->min_qty) != 0 ||
        amount_ceil(f->min_notional, d->price_scale, &d->min_notional) != 0) {
        snprintf(err, errlen, "exchangeInfo %s: minQty or minNotional out of range", d->symbol);
        return -1;
    }
    memcpy(d->venue, c->venue, sizeof d->venue);
    d->kind = LUTRA_KIND_SPOT;
    return 0;
}

static int parse_symbol(bn_conn *c, json_value *obj, bn_symbol_info *info, char *err,
                        size_t errlen)
{
    lutra_instrument *d = &info->def;
    symbol_filters f;
    char status[32], what[64] = "exchangeInfo symbols";
    int64_t base_prec = 8, quote_prec = 8;
    json_value arr, fo;
    json_iter it;
    int rc;

    memset(info, 0, sizeof *info);
    memset(&f, 0, sizeof f);
    if (get_string(c, obj, "symbol", d->symbol, sizeof d->symbol, what, err, errlen) != 0)
        return -1;
    snprintf(what, sizeof what, "exchangeInfo symbol %s", d->symbol);
    if (get_string(c, obj, "status", status, sizeof status, what, err, errlen) != 0 ||
        get_string(c, obj, "baseAsset", d->base, sizeof d->base, what, err, errlen) != 0 ||
        opt_i64(c, obj, "baseAssetPrecision", &base_prec, what, err, errlen) < 0 ||
        get_string(c, obj, "quoteAsset", d->quote, sizeof d->quote, what, err, errlen) != 0 ||
        opt_i64(c, obj, "quoteAssetPrecision", &quote_prec, what, err, errlen) < 0 ||
        get(c, obj, "filters", &arr, what, err, errlen) != 0 ||
        array_begin(c, &arr, &it, what, "filters", err, errlen) != 0)
        return -1;
    while ((rc = array_next(c, &it, &fo, what, "filters", err, errlen)) == 1)
        if (parse_filter(c, &fo, &f, d->symbol, err, errlen) != 0)
            return -1;
    if (rc < 0)
        return -1;
    info->trading = strcmp(status, "TRADING") == 0;
    return symbol_definition(c, info, &f, base_prec, quote_prec, err, errlen);
}

int bn_parse_exchange_info(bn_conn *c, const char *body, size_t len, bn_symbol_info_fn fn,
                           void *ud, bn_ratelimit *rl, char *err, size_t errlen)
{
    static const char what[] = "exchangeInfo";
    bn_symbol_info info;
    json_value root, arr, obj;
    json_iter it;
    int rc;

    if (parse_root(c, body, len, &root, what, err, errlen) != 0 ||
        parse_rate_limits(c, &root, rl, err, errlen) < 0 ||
        get(c, &root, "symbols", &arr, what, err, errlen) != 0 ||
        array_begin(c, &arr, &it, what, "symbols", err, errlen) != 0)
        return -1;
    while ((rc = array_next(c, &it, &obj, what, "symbols", err, errlen)) == 1) {
        if (parse_symbol(c, &obj, &info, err, errlen) != 0)
            return -1;
        if (fn && fn(ud, &info) != 0)
            return stopped(what, err, errlen);
    }
    return rc < 0 ? -1 : 0;
}

/* ---- Orders ---- */

static int lookup(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (names[i] && strcmp(s, names[i]) == 0)
            return (int)i;
    return 0;
}

static const char *const status_names[] = {
    NULL, "NEW", "PENDING_NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED",
    "PENDING_CANCEL", "REJECTED", "EXPIRED", "EXPIRED_IN_MATCH",
};

int bn_order_status_parse(const char *s)
{
    return lookup(s, status_names, sizeof status_names / sizeof *status_names);
}

const char *bn_order_status_name(int status)
{
    static const char *const lutra_names[] = {
        NULL, "new", "pending_new", "partially_filled", "filled", "canceled",
        "pending_cancel", "rejected", "expired", "expired",
    };
    return IN_TABLE(status, lutra_names) ? lutra_names[status] : NULL;
}

/* An enum field: absent or not one we know is 0. */
static int opt_enum(bn_conn *c, json_value *obj, const char *key, const char *const *names,
                    size_t n, int *out, const char *what, char *err, size_t errlen)
{
    char s[32];
    int rc = opt_string(c, obj, key, s, sizeof s, what, err, errlen);
    *out = rc == 1 ? lookup(s, names, n) : 0;
    return rc < 0 ? -1 : 0;
}

#define OPT_ENUM(key, table, out)                                                          \
    opt_enum(c, obj, key, table, sizeof(table) / sizeof(table)[0], out, what, err, errlen)

static int parse_fill(bn_conn *c, json_value *obj, bn_fill *f, char *err, size_t errlen)
{
    static const char what[] = "order fills";

    memset(f, 0, sizeof *f);
    return get_amount(c, obj, "price", &f->price, what, err, errlen) == 0 &&
                   get_amount(c, obj, "qty", &f->qty, what, err, errlen) == 0 &&
                   get_amount(c, obj, "commission", &f->commission, what, err, errlen) == 0 &&
                   get_string(c, obj, "commissionAsset", f->commission_asset,
                              sizeof f->commission_asset, what, err, errlen) == 0 &&
                   get_i64(c, obj, "tradeId", &f->trade_id, what, err, errlen) == 0
               ? 0
               : -1;
}

static int parse_fills(bn_conn *c, json_value *obj, bn_order_state *o, bn_fill_fn fn,
                       void *ud, char *err, size_t errlen)
{
    static const char what[] = "order";
    json_value arr, fo;
    json_iter it;
    bn_fill f;
    int rc = get_opt(c, obj, "fills", &arr, what, err, errlen);

    if (rc <= 0)
        return rc;
    if (array_begin(c, &arr, &it, what, "fills", err, errlen) != 0)
        return -1;
    while ((rc = array_next(c, &it, &fo, what, "fills", err, errlen)) == 1) {
        if (parse_fill(c, &fo, &f, err, errlen) != 0)
            return -1;
        o->nfills++;
        if (fn && fn(ud, o, &f) != 0)
            return stopped(what, err, errlen);
    }
    return rc;
}

/* The fields every order answer shares; the ACK type stops after time. */
static int parse_order_object(bn_conn *c, json_value *obj, bn_order_state *o, bn_fill_fn fn,
                              void *ud, char *err, size_t errlen)
{
    static const char what[] = "order";
    int64_t t;

    memset(o, 0, sizeof *o);
    if (get_string(c, obj, "symbol", o->symbol, sizeof o->symbol, what, err, errlen) != 0 ||
        opt_string(c, obj, "origClientOrderId", o->orig_client_id, sizeof o->orig_client_id,
                   what, err, errlen) < 0 ||
        get_i64(c, obj, "orderId", &o->order_id, what, err, errlen) != 0 ||
        get_string(c, obj, "clientOrderId", o->client_id, sizeof o->client_id, what, err,
                   errlen) != 0 ||
        opt_i64(c, obj, "transactTime", &o->time_ms, what, err, errlen) < 0 ||
        opt_amount(c, obj, "price", &o->price, what, err, errlen) < 0 ||
        opt_amount(c, obj, "origQty", &o->orig_qty, what, err, errlen) < 0 ||
        opt_amount(c, obj, "executedQty", &o->executed_qty, what, err, errlen) < 0 ||
        opt_amount(c, obj, "cummulativeQuoteQty", &o->cum_quote_qty, what, err, errlen) < 0 ||
        OPT_ENUM("status", status_names, &o->status) != 0 ||
        OPT_ENUM("timeInForce", tif_names, &o->tif) != 0 ||
        OPT_ENUM("type", type_names, &o->type) != 0 ||
        OPT_ENUM("side", side_names, &o->side) != 0)
        return -1;
    if (o->time_ms == 0) {
        int rc = opt_i64(c, obj, "updateTime", &t, what, err, errlen);
        if (rc < 0)
            return -1;
        o->time_ms = rc ? t : 0;
    }
    return parse_fills(c, obj, o, fn, ud, err, errlen) < 0 ? -1 : 0;
}

int bn_parse_order(bn_conn *c, const char *body, size_t len, bn_order_state *o,
                   bn_fill_fn fill_fn, void *ud, char *err, size_t errlen)
{
    json_value root;
    if (parse_root(c, body, len, &root, "order", err, errlen) != 0)
        return -1;
    return parse_order_object(c, &root, o, fill_fn, ud, err, errlen);
}

/*
 * A top-level array of objects (open orders, trades): each is parsed by
 * one(c, obj, ud, ...), which returns 0 to go on, 1 when the caller's
 * visitor asked to stop, -1 on a parse error.
 */
typedef int (*element_fn)(bn_conn *c, json_value *obj, void *ud, char *err, size_t errlen);

static int parse_each(bn_conn *c, const char *body, size_t len, const char *what,
                      element_fn one, void *ud, char *err, size_t errlen)
{
    json_value root, obj;
    json_iter it;
    int rc;

    if (parse_root(c, body, len, &root, what, err, errlen) != 0 ||
        array_begin(c, &root, &it, what, "(the array)", err, errlen) != 0)
        return -1;
    while ((rc = array_next(c, &it, &obj, what, "(the array)", err, errlen)) == 1) {
        int r = one(c, &obj, ud, err, errlen);
        if (r < 0)
            return -1;
        if (r > 0)
            return stopped(what, err, errlen);
    }
    return rc < 0 ? -1 : 0;
}

typedef struct order_visit {
    bn_order_fn fn;
    void *ud;
} order_visit;

static int open_order_one(bn_conn *c, json_value *obj, void *ud, char *err, size_t errlen)
{
    const order_visit *v = ud;
    bn_order_state o;

    if (parse_order_object(c, obj, &o, NULL, NULL, err, errlen) != 0)
        return -1;
    return v->fn && v->fn(v->ud, &o) != 0;
}

int bn_parse_open_orders(bn_conn *c, const char *body, size_t len, bn_order_fn fn, void *ud,
                         char *err, size_t errlen)
{
    order_visit v = {fn, ud};
    return parse_each(c, body, len, "open orders", open_order_one, &v, err, errlen);
}

static int get_bool(bn_conn *c, json_value *obj, const char *key, int *out, const char *what,
                    char *err, size_t errlen)
{
    json_value v;
    if (get(c, obj, key, &v, what, err, errlen) != 0)
        return -1;
    return c->api->json_bool(&v, out) == 0 ? 0 : fail_json(c, what, key, err, errlen);
}

static int parse_trade(bn_conn *c, json_value *obj, bn_trade *t, char *err, size_t errlen)
{
    static const char what[] = "trades";
    bn_fill *f = &t->fill;

    memset(t, 0, sizeof *t);
    return get_i64(c, obj, "id", &f->trade_id, what, err, errlen) == 0 &&
                   get_i64(c, obj, "orderId", &t->order_id, what, err, errlen) == 0 &&
                   get_amount(c, obj, "price", &f->price, what, err, errlen) == 0 &&
                   get_amount(c, obj, "qty", &f->qty, what, err, errlen) == 0 &&
                   get_amount(c, obj, "commission", &f->commission, what, err, errlen) == 0 &&
                   get_string(c, obj, "commissionAsset", f->commission_asset,
                              sizeof f->commission_asset, what, err, errlen) == 0 &&
                   get_i64(c, obj, "time", &t->time_ms, what, err, errlen) == 0 &&
                   get_bool(c, obj, "isBuyer", &t->is_buyer, what, err, errlen) == 0 &&
                   get_bool(c, obj, "isMaker", &t->is_maker, what, err, errlen) == 0
               ? 0
               : -1;
}

typedef struct trade_visit {
    bn_trade_fn fn;
    void *ud;
} trade_visit;

static int trade_one(bn_conn *c, json_value *obj, void *ud, char *err, size_t errlen)
{
    const trade_visit *v = ud;
    bn_trade t;

    if (parse_trade(c, obj, &t, err, errlen) != 0)
        return -1;
    return v->fn && v->fn(v->ud, &t) != 0;
}

int bn_parse_my_trades(bn_conn *c, const char *body, size_t len, bn_trade_fn fn, void *ud,
                       char *err, size_t errlen)
{
    trade_visit v = {fn, ud};
    return parse_each(c, body, len, "trades", trade_one, &v, err, errlen);
}

/* ---- Account, time, listenKey, errors ---- */

int bn_parse_account(bn_conn *c, const char *body, size_t len, bn_balance_fn fn, void *ud,
                     char *err, size_t errlen)
{
    static const char what[] = "account balances";
    char asset[LUTRA_ASSET_MAX];
    bn_amount free_, locked;
    json_value root, arr, obj;
    json_iter it;
    int rc;

    if (parse_root(c, body, len, &root, "account", err, errlen) != 0 ||
        get(c, &root, "balances", &arr, "account", err, errlen) != 0 ||
        array_begin(c, &arr, &it, "account", "balances", err, errlen) != 0)
        return -1;
    while ((rc = array_next(c, &it, &obj, "account", "balances", err, errlen)) == 1) {
        if (get_string(c, &obj, "asset", asset, sizeof asset, what, err, errlen) != 0 ||
            get_amount(c, &obj, "free", &free_, what, err, errlen) != 0 ||
            get_amount(c, &obj, "locked", &locked, what, err, errlen) != 0)
            return -1;
        if (fn && fn(ud, asset, free_, locked) != 0)
            return stopped(what, err, errlen);
    }
    return rc < 0 ? -1 : 0;
}

int bn_parse_server_time(bn_conn *c, const char *body, size_t len, int64_t *server_ms,
                         char *err, size_t errlen)
{
    json_value root;
    if (parse_root(c, body, len, &root, "server time", err, errlen) != 0 ||
        get_i64(c, &root, "serverTime", server_ms, "server time", err, errlen) != 0)
        return -1;
    if (*server_ms <= 0) {
        snprintf(err, errlen, "server time: serverTime %" PRId64 " is not a time", *server_ms);
        return -1;
    }
    return 0;
}

int bn_parse_listen_key(bn_conn *c, const char *body, size_t len, char *key, size_t cap,
                        char *err, size_t errlen)
{
    json_value root;
    if (parse_root(c, body, len, &root, "listenKey", err, errlen) != 0 ||
        get_string(c, &root, "listenKey", key, cap, "listenKey", err, errlen) != 0)
        return -1;
    if (!key[0]) {
        snprintf(err, errlen, "listenKey: empty");
        return -1;
    }
    return 0;
}

int bn_parse_error(bn_conn *c, const char *body, size_t len, int *code, char *msg, size_t cap,
                   char *err, size_t errlen)
{
    static const char what[] = "error answer";
    json_value root, v;
    const char *s;
    size_t slen;
    int64_t n;

    if (parse_root(c, body, len, &root, what, err, errlen) != 0 ||
        get_i64(c, &root, "code", &n, what, err, errlen) != 0 ||
        get(c, &root, "msg", &v, what, err, errlen) != 0)
        return -1;
    if (c->api->json_string(&v, &s, &slen) != 0)
        return fail_json(c, what, "msg", err, errlen);
    if (n < INT32_MIN || n > INT32_MAX) {
        snprintf(err, errlen, "%s: code %" PRId64 " out of range", what, n);
        return -1;
    }
    *code = (int)n;
    if (cap > 0) {
        size_t k = slen < cap ? slen : cap - 1;
        memcpy(msg, s, k);
        msg[k] = '\0';
    }
    return 0;
}

int64_t bn_clock_offset(int64_t sent_ms, int64_t recv_ms, int64_t server_ms)
{
    return server_ms - (sent_ms + (recv_ms - sent_ms) / 2);
}

/* ---- Rate limits ---- */

void bn_ratelimit_init(bn_ratelimit *rl)
{
    memset(rl, 0, sizeof *rl);
    bn_ratelimit_set(rl, BN_LIMIT_WEIGHT, 60000, 6000);
    bn_ratelimit_set(rl, BN_LIMIT_ORDERS, 1000, 10);
    bn_ratelimit_set(rl, BN_LIMIT_RAW, 300000, 61000);
}

int bn_ratelimit_set(bn_ratelimit *rl, int kind, int64_t interval_ms, int64_t limit)
{
    for (size_t i = 0; i < rl->n; i++)
        if (rl->lim[i].kind == kind && rl->lim[i].interval_ms == interval_ms) {
            rl->lim[i].limit = limit;
            return 0;
        }
    if (rl->n == BN_LIMITERS_MAX || interval_ms <= 0)
        return -1;
    bn_limiter *l = &rl->lim[rl->n++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->interval_ms = interval_ms;
    l->limit = limit;
    l->window[0] = l->window[1] = -1;
    return 0;
}

static int64_t window_of(const bn_limiter *l, int64_t now_ms)
{
    int64_t w = now_ms / l->interval_ms;
    return now_ms < 0 && now_ms % l->interval_ms ? w - 1 : w;
}

/* What window w has counted (0: nothing). */
static int64_t used_in(const bn_limiter *l, int64_t w)
{
    return l->window[0] == w ? l->used[0] : l->window[1] == w ? l->used[1] : 0;
}

/* Count n more in window w. A window not kept yet takes the slot of the
 * older one kept (over by now); one older than both is over itself. */
static void add_to(bn_limiter *l, int64_t w, int64_t n)
{
    int i = l->window[0] == w ? 0 : l->window[1] == w ? 1 : -1;

    if (i < 0) {
        i = l->window[0] <= l->window[1] ? 0 : 1;
        if (l->window[i] > w)
            return;
        l->window[i] = w;
        l->used[i] = 0;
    }
    l->used[i] += n;
}

/* The windows a request counted at now_ms may reach on the server. */
static void reach_of(const bn_limiter *l, int64_t now_ms, int64_t *first, int64_t *last)
{
    *first = window_of(l, now_ms - BN_RATE_EARLY_MS);
    *last = window_of(l, now_ms + BN_RATE_LATE_MS);
    if (*last > *first + 1) /* an interval shorter than the margins: the two nearest */
        *last = *first + 1;
}

static int64_t cost_of(const bn_limiter *l, int weight, int orders)
{
    return l->kind == BN_LIMIT_WEIGHT ? weight : l->kind == BN_LIMIT_ORDERS ? orders : 1;
}

void bn_ratelimit_spend(bn_ratelimit *rl, int weight, int orders, int64_t now_ms)
{
    for (size_t i = 0; i < rl->n; i++) {
        bn_limiter *l = &rl->lim[i];
        int64_t first, last, cost = cost_of(l, weight, orders);

        reach_of(l, now_ms, &first, &last);
        for (int64_t w = first; cost > 0 && w <= last; w++)
            add_to(l, w, cost);
    }
}

/* "10S" -> 10000. @return 0 if not <digits><S|M|H|D>. */
static int64_t header_interval(const char *s, size_t len)
{
    int64_t n = 0;
    size_t i = 0;

    while (i < len && i < 6 && s[i] >= '0' && s[i] <= '9')
        n = n * 10 + (s[i++] - '0');
    if (i == 0 || i + 1 != len)
        return 0;
    switch (s[i] | 0x20) {
    case 's': return n * 1000;
    case 'm': return n * 60000;
    case 'h': return n * 3600000;
    case 'd': return n * 86400000;
    default: return 0;
    }
}

static int parse_count(const char *s, size_t len, int64_t *out)
{
    int64_t n = 0;
    size_t i = 0, digits = 0;

    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9' && digits < 18; i++, digits++)
        n = n * 10 + (s[i] - '0');
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    if (digits == 0 || i != len)
        return -1;
    *out = n;
    return 0;
}

int bn_ratelimit_header(bn_ratelimit *rl, const char *name, size_t nlen, const char *value,
                        size_t vlen, int64_t now_ms)
{
    static const struct { const char *prefix; int kind; } headers[] = {
        {"X-MBX-USED-WEIGHT-", BN_LIMIT_WEIGHT},
        {"X-MBX-ORDER-COUNT-", BN_LIMIT_ORDERS},
    };

    for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
        size_t plen = strlen(headers[h].prefix);
        if (nlen <= plen || strncasecmp(name, headers[h].prefix, plen) != 0)
            continue;
        int64_t interval = header_interval(name + plen, nlen - plen), count;
        if (!interval)
            return 0;
        if (parse_count(value, vlen, &count) != 0)
            return -1;
        for (size_t i = 0; i < rl->n; i++) {
            bn_limiter *l = &rl->lim[i];
            if (l->kind != headers[h].kind || l->interval_ms != interval)
                continue;
            /* Requests still in flight are in our count, not yet in the
             * server's: the larger of the two is the truth. */
            int64_t w = window_of(l, now_ms), mine = used_in(l, w);
            if (count > mine)
                add_to(l, w, count - mine);
            return 1;
        }
        return 0;
    }
    return 0;
}

/* The first time from now_ms at which cost fits every window it may
 * reach: past a full window, once the early margin has left it. Only two
 * windows hold counts, so three looks settle it. */
static int64_t limiter_fits_at(const bn_limiter *l, int64_t cost, int64_t now_ms)
{
    int64_t at = now_ms;

    for (int look = 0; look < 3; look++) {
        int64_t first, last, full = -1;
        reach_of(l, at, &first, &last);
        for (int64_t w = first; w <= last; w++)
            if (used_in(l, w) + cost > l->limit)
                full = w;
        if (full < 0)
            break;
        at = (full + 1) * l->interval_ms + BN_RATE_EARLY_MS;
    }
    return at;
}

int64_t bn_ratelimit_wait(const bn_ratelimit *rl, int weight, int orders, int64_t now_ms)
{
    int64_t at = rl->backoff_until_ms > now_ms ? rl->backoff_until_ms : now_ms;

    for (size_t i = 0; i < rl->n; i++) {
        const bn_limiter *l = &rl->lim[i];
        int64_t cost = cost_of(l, weight, orders), fits;
        if (cost <= 0)
            continue;
        if (cost > l->limit)
            return -1;
        if ((fits = limiter_fits_at(l, cost, now_ms)) > at)
            at = fits;
    }
    return at - now_ms;
}

int64_t bn_ratelimit_backoff(bn_ratelimit *rl, int http_status, const char *retry_after,
                             size_t len, int64_t now_ms)
{
    int64_t secs;

    if (http_status != 429 && http_status != 418)
        return 0;
    if (!retry_after || parse_count(retry_after, len, &secs) != 0)
        secs = http_status == 418 ? 120 : 60;
    if (secs > 3 * 86400)
        secs = 3 * 86400; /* the longest ban the docs know */
    if (now_ms + secs * 1000 > rl->backoff_until_ms)
        rl->backoff_until_ms = now_ms + secs * 1000;
    return rl->backoff_until_ms;
}
