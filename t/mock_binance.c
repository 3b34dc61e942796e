/*
 * t/mock_binance.c -- the mock Binance Spot exchange (t/mock_binance/),
 * driven the way a connector drives Binance: started in-process on free
 * 127.0.0.1 ports, then spoken to with lutra's own HTTP client
 * (core/http.h) and WebSocket client (core/ws.h) on a libevent loop.
 *
 * Signing (the documented worked examples, a wrong signature, a stale or
 * early timestamp, missing and wrong keys), exchangeInfo, the depth
 * snapshot then the diff stream (continuous, then a gap on demand), orders
 * (filled, resting, cancelled, filled by market flow, refused with the
 * documented codes and messages), the user data stream, request weights
 * (429 then 418), the faults, a replay of the shared capture, and the
 * standalone program. Every wait has a deadline.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fixed.h"
#include "http.h"
#include "json.h"
#include "loop.h"
#include "mock_binance.h"
#include "mock_feed.h"
#include "mock_sign.h"
#include "tap.h"
#include "ws.h"

#define WAIT_MS 5000
#define MAX_MSGS 512
#define SYM "BTCUSDT"

static loop *lp;
static http_client *hc;
static json_parser *jp;
static char err[512];

/* ---- Waiting ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop for about 2 ms. */
static void pump(void)
{
    struct timeval tick = {0, 2000};
    event_base_loopexit(loop_base(lp), &tick);
    event_base_dispatch(loop_base(lp));
}

/* Run the loop until cond holds or ms pass; cond is evaluated again after. */
#define WAIT_FOR(cond, ms)                                      \
    do {                                                        \
        int64_t wait_end_ = mono_ms() + (ms);                   \
        while (!(cond) && mono_ms() < wait_end_)                \
            pump();                                             \
    } while (0)

/* ---- REST ---- */

enum auth { PUBLIC = 0, KEYED, SIGNED };

typedef struct answer {
    int done, error, status;
    char body[32768];
    size_t len;
    long weight;   /* X-MBX-USED-WEIGHT-1M, -1 when absent */
    long retry;    /* Retry-After, -1 when absent */
    long code;     /* the error body's code, 0 when none */
    char msg[256]; /* its msg */
} answer;

static answer ans;
static const char *api_key = MOCK_BINANCE_API_KEY;
static int64_t request_timeout_ns;

static long header_long(const http_response *r, const char *name)
{
    const char *v = http_response_header(r, name);
    return v ? strtol(v, NULL, 10) : -1;
}

/* A top-level or nested field's text: k2 NULL for a top-level one. */
static int field(const char *json, size_t len, const char *k1, const char *k2, char *out,
                 size_t cap)
{
    json_value root, v, inner;
    const char *s;
    size_t n;

    if (json_parse_copy(jp, json, len, &root) != 0 || json_field(&root, k1, &v) != 0)
        return -1;
    if (k2 && json_field(&v, k2, &inner) != 0)
        return -1;
    if (json_number_text(k2 ? &inner : &v, &s, &n) != 0 || n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

static long field_long(const char *json, size_t len, const char *k1, const char *k2)
{
    char s[64];
    return field(json, len, k1, k2, s, sizeof s) == 0 ? strtol(s, NULL, 10) : -1;
}

static void on_http(void *ud, uint64_t id, const http_response *r)
{
    answer *a = ud;
    (void)id;
    a->done = 1;
    a->error = r->error;
    a->status = r->status;
    a->len = r->body_len < sizeof a->body - 1 ? r->body_len : sizeof a->body - 1;
    memcpy(a->body, r->body, a->len);
    a->body[a->len] = 0;
    a->weight = header_long(r, "X-MBX-USED-WEIGHT-1M");
    a->retry = header_long(r, "Retry-After");
    a->code = 0;
    a->msg[0] = 0;
    if (a->status >= 400 && field(a->body, a->len, "code", NULL, a->msg, sizeof a->msg) == 0) {
        a->code = strtol(a->msg, NULL, 10);
        field(a->body, a->len, "msg", NULL, a->msg, sizeof a->msg);
    }
}

static void sign(const char *payload, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), MOCK_BINANCE_API_SECRET, (int)strlen(MOCK_BINANCE_API_SECRET),
         (const unsigned char *)payload, strlen(payload), mac, &n);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static int64_t wall_ms(void)
{
    return loop_now_ns() / 1000000;
}

/*
 * One request to the mock at port; SIGNED adds timestamp (unless params
 * has one) and the signature over the query. The answer is in `ans`.
 */
static const answer *rest(int port, const char *method, const char *path, const char *params,
                          int auth)
{
    char query[4096], url[4400], sig[65], key_header[160];
    const char *headers[1];
    http_request req;

    snprintf(query, sizeof query, "%s", params ? params : "");
    if (auth == SIGNED) {
        if (!strstr(query, "timestamp="))
            snprintf(query + strlen(query), sizeof query - strlen(query), "%stimestamp=%lld",
                     *query ? "&" : "", (long long)wall_ms());
        sign(query, sig);
        snprintf(query + strlen(query), sizeof query - strlen(query), "&signature=%s", sig);
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s%s%s", port, path, *query ? "?" : "", query);
    snprintf(key_header, sizeof key_header, "X-MBX-APIKEY: %s", api_key);
    headers[0] = key_header;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.nheaders = auth == PUBLIC ? 0 : 1;
    req.timeout_ns = request_timeout_ns;
    memset(&ans, 0, sizeof ans);
    if (!http_send(hc, &req, on_http, &ans, err, sizeof err)) {
        diag("http_send: %s", err);
        return &ans;
    }
    WAIT_FOR(ans.done, WAIT_MS);
    return &ans;
}

/* The sum of the fills' qty of an order answer, at scale 8; -1 on error. */
static int64_t fills_qty(const answer *a, int *nfills)
{
    json_value root, fills, f, q;
    json_iter it;
    int64_t sum = 0, v;
    const char *s;
    size_t n;
    int rc;

    *nfills = 0;
    if (json_parse_copy(jp, a->body, a->len, &root) != 0 || json_field(&root, "fills", &fills) != 0 ||
        json_array_begin(&fills, &it) != 0)
        return -1;
    while ((rc = json_array_next(&it, &f)) == 1) {
        if (json_field(&f, "qty", &q) != 0 || json_number_text(&q, &s, &n) != 0 ||
            fixed_parse(s, n, 8, &v) != FIXED_OK)
            return -1;
        sum += v;
        (*nfills)++;
    }
    return rc == 0 ? sum : -1;
}

/* ---- WebSocket ---- */

typedef struct wsc {
    ws *w;
    int opens, closes;
    int n;
    char *msgs[MAX_MSGS];
    size_t lens[MAX_MSGS];
} wsc;

static void on_msg(void *ud, int64_t recv_ns, const char *data, size_t len)
{
    wsc *c = ud;
    (void)recv_ns;
    if (c->n >= MAX_MSGS)
        return;
    c->msgs[c->n] = malloc(len + 1);
    if (!c->msgs[c->n])
        return;
    memcpy(c->msgs[c->n], data, len);
    c->msgs[c->n][len] = 0;
    c->lens[c->n++] = len;
}

static void on_ws_state(void *ud, const ws_status *st)
{
    wsc *c = ud;
    c->opens += st->state == WS_OPEN;
    c->closes += st->state == WS_CLOSED;
}

static void wsc_clear(wsc *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->msgs[i]);
    c->n = 0;
}

static int wsc_open(wsc *c, int port, const char *path)
{
    char url[512];
    ws_config cfg;

    memset(c, 0, sizeof *c);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", port, path);
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.on_message = on_msg;
    cfg.on_state = on_ws_state;
    cfg.ud = c;
    cfg.ping_interval_ms = -1;
    cfg.backoff_base_ms = 50;
    cfg.backoff_cap_ms = 200;
    c->w = ws_open(loop_base(lp), &cfg, err, sizeof err);
    if (!c->w)
        return -1;
    WAIT_FOR(c->opens > 0, WAIT_MS);
    return c->opens > 0 ? 0 : -1;
}

static void wsc_close(wsc *c)
{
    ws_free(c->w);
    wsc_clear(c);
}

/* Messages of c from index `from` whose stream (combined) names `stream`. */
static int is_stream(const wsc *c, int i, const char *stream)
{
    char s[128];
    return field(c->msgs[i], c->lens[i], "stream", NULL, s, sizeof s) == 0 && !strcmp(s, stream);
}

static int count_stream(const wsc *c, const char *stream)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        n += is_stream(c, i, stream);
    return n;
}

/* ---- Tests ---- */

static void test_signing(void)
{
    char hex[65];
    msign_error e;
    const char *q = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC";
    const char *body = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature="
                       "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77";
    const char *upper = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
                        "&recvWindow=5000&timestamp=1499827319559&signature="
                        "C8DB56825AE71D6D79447849E617115F4A920FA2ACDCAB2B053C4B2838BD6B71";

    msign_hmac_hex(MOCK_BINANCE_API_SECRET,
                   "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
                   "&recvWindow=5000&timestamp=1499827319559", 110, hex);
    is_str(hex, "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
           "signing: the documented worked example");
    ok(msign_check(MOCK_BINANCE_API_SECRET, q, body, strlen(body), &e) == 0,
       "signing: query and body signed together, signature in the body (documented example 3)");
    ok(msign_check(MOCK_BINANCE_API_SECRET, upper, NULL, 0, &e) == 0,
       "signing: an HMAC signature in upper case is accepted");
}

static void test_auth(int port)
{
    char q[256];
    const answer *a;

    a = rest(port, "GET", "/api/v3/ping", NULL, PUBLIC);
    ok(a->status == 200 && !strcmp(a->body, "{}") && a->weight >= 1,
       "ping: 200 {} with X-MBX-USED-WEIGHT-1M (%ld)", a->weight);
    a = rest(port, "GET", "/api/v3/account", "omitZeroBalances=true", SIGNED);
    ok(a->status == 200 && strstr(a->body, "\"asset\":\"USDT\",\"free\":\"100000.00000000\""),
       "account: a signed request is accepted and shows the balance set");
    snprintf(q, sizeof q, "timestamp=%lld&signature=%064d", (long long)wall_ms(), 7);
    a = rest(port, "GET", "/api/v3/account", q, KEYED);
    ok(a->status == 400 && a->code == -1022 &&
       !strcmp(a->msg, "Signature for this request is not valid."),
       "wrong signature: 400 -1022 (%ld %s)", a->code, a->msg);
    snprintf(q, sizeof q, "recvWindow=5000&timestamp=%lld", (long long)wall_ms() - 60000);
    a = rest(port, "GET", "/api/v3/account", q, SIGNED);
    ok(a->status == 400 && a->code == -1021 &&
       !strcmp(a->msg, "Timestamp for this request is outside of the recvWindow."),
       "stale timestamp: -1021 outside of the recvWindow (%ld %s)", a->code, a->msg);
    snprintf(q, sizeof q, "timestamp=%lld", (long long)wall_ms() + 3000);
    a = rest(port, "GET", "/api/v3/account", q, SIGNED);
    ok(a->code == -1021 && strstr(a->msg, "1000ms ahead"),
       "early timestamp: -1021 ahead of the server's time (%s)", a->msg);
    a = rest(port, "GET", "/api/v3/account", NULL, PUBLIC);
    ok(a->status == 401 && a->code == -2014, "no API key: 401 -2014 (%d %ld)", a->status, a->code);
    api_key = "not-the-key";
    a = rest(port, "GET", "/api/v3/account", NULL, SIGNED);
    api_key = MOCK_BINANCE_API_KEY;
    ok(a->status == 401 && a->code == -2015 &&
       !strcmp(a->msg, "Invalid API-key, IP, or permissions for action."),
       "wrong API key: 401 -2015 (%d %ld)", a->status, a->code);
}

static void test_exchange_info(int port)
{
    const answer *a = rest(port, "GET", "/api/v3/exchangeInfo", "symbol=" SYM, PUBLIC);
    json_value root, symbols, s0, filters, f, v;
    json_iter it, fit;
    const char *str;
    size_t n;
    char tick[32] = "", name[32] = "";

    if (json_parse_copy(jp, a->body, a->len, &root) == 0 &&
        json_field(&root, "symbols", &symbols) == 0 && json_array_begin(&symbols, &it) == 0 &&
        json_array_next(&it, &s0) == 1 && json_field(&s0, "symbol", &v) == 0 &&
        json_string(&v, &str, &n) == 0 && n < sizeof name) {
        memcpy(name, str, n);
        if (json_field(&s0, "filters", &filters) == 0 && json_array_begin(&filters, &fit) == 0 &&
            json_array_next(&fit, &f) == 1 && json_field(&f, "tickSize", &v) == 0 &&
            json_string(&v, &str, &n) == 0 && n < sizeof tick)
            memcpy(tick, str, n);
    }
    is_str(name, SYM, "exchangeInfo: parses, lists the symbol");
    is_str(tick, "0.01000000", "exchangeInfo: PRICE_FILTER tickSize");
    a = rest(port, "GET", "/api/v3/exchangeInfo", "symbol=NOPE", PUBLIC);
    ok(a->status == 400 && a->code == -1121 && !strcmp(a->msg, "Invalid symbol."),
       "exchangeInfo: an unknown symbol is -1121");
}

static void set_book(mock_binance *mx)
{
    static const struct { int bid; const char *p, *q; } levels[] = {
        {0, "60001", "0.5"}, {0, "60002", "1"}, {0, "60005", "2"},
        {1, "59999", "0.7"}, {1, "59998", "1"},
    };
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
        if (mock_binance_set_level(mx, SYM, levels[i].bid, levels[i].p, levels[i].q, err,
                                   sizeof err) != 0)
            bail_out("set_level: %s", err);
    mock_binance_flush(mx);
}

/* U and u of message i of the depth stream; 0 on error. */
static int diff_ids(const wsc *c, int i, uint64_t *U, uint64_t *u)
{
    long a = field_long(c->msgs[i], c->lens[i], "data", "U");
    long b = field_long(c->msgs[i], c->lens[i], "data", "u");
    *U = (uint64_t)a;
    *u = (uint64_t)b;
    return a > 0 && b >= a;
}

static void test_depth(mock_binance *mx, int port, int ws_port, wsc *md)
{
    const char *depth = "btcusdt@depth@100ms";
    char bid[64] = "", ask[64] = "";
    long last;
    uint64_t prev_u = 0, U, u;
    int continuous = 1, seen = 0, first_ok = 0;
    json_value root, side;
    json_iter it;
    json_text cell[2];
    size_t nrows;

    ok(wsc_open(md, ws_port, "/stream?streams=btcusdt@depth@100ms/btcusdt@trade") == 0,
       "ws: combined depth and trade streams open");
    rest(port, "GET", "/api/v3/depth", "symbol=" SYM "&limit=5", PUBLIC);
    last = field_long(ans.body, ans.len, "lastUpdateId", NULL);
    if (json_parse_copy(jp, ans.body, ans.len, &root) == 0 && json_field(&root, "bids", &side) == 0 &&
        json_array_begin(&side, &it) == 0 && json_string_rows(&it, cell, 2, 1, &nrows) >= 0 && nrows)
        snprintf(bid, sizeof bid, "%.*s", (int)cell[0].len, cell[0].s);
    if (json_parse_copy(jp, ans.body, ans.len, &root) == 0 && json_field(&root, "asks", &side) == 0 &&
        json_array_begin(&side, &it) == 0 && json_string_rows(&it, cell, 2, 1, &nrows) >= 0 && nrows)
        snprintf(ask, sizeof ask, "%.*s", (int)cell[0].len, cell[0].s);
    ok(last > 0 && !strcmp(bid, "59999.00000000") && !strcmp(ask, "60001.00000000"),
       "depth: snapshot with lastUpdateId %ld, best %s / %s", last, bid, ask);
    for (int k = 0; k < 3; k++) {
        char q[16];
        snprintf(q, sizeof q, "0.%d", k + 1);
        mock_binance_set_level(mx, SYM, 1, "59990", q, err, sizeof err);
        mock_binance_set_level(mx, SYM, 0, "60010", q, err, sizeof err);
        mock_binance_flush(mx);
    }
    WAIT_FOR(count_stream(md, depth) >= 3, WAIT_MS);
    for (int i = 0; i < md->n; i++) {
        if (!is_stream(md, i, depth) || !diff_ids(md, i, &U, &u))
            continue;
        if (!seen)
            first_ok = U <= (uint64_t)last + 1 && (uint64_t)last + 1 <= u;
        else if (U <= (uint64_t)last)
            continue;
        else
            continuous &= U == prev_u + 1;
        prev_u = u;
        seen++;
    }
    ok(seen >= 3 && first_ok && continuous,
       "diff stream: the first diff bridges the snapshot, then U == previous u + 1 (%d diffs)",
       seen);
    wsc_clear(md);
    mock_fault f = {MOCK_FAULT_GAP, 0, 0};
    mock_binance_fault(mx, &f, err, sizeof err);
    mock_binance_set_level(mx, SYM, 1, "59990", "0", err, sizeof err);
    mock_binance_flush(mx);
    WAIT_FOR(count_stream(md, depth) >= 1, WAIT_MS);
    U = 0;
    for (int i = 0; i < md->n && !U; i++)
        if (is_stream(md, i, depth))
            diff_ids(md, i, &U, &u);
    is_int(U, prev_u + 2, "gap fault: the next diff skips one update id");
    wsc_clear(md);
}

static void test_orders(mock_binance *mx, int port, int ws_port, wsc *md)
{
    const answer *a;
    int nfills = 0, trades;
    int64_t filled, free_usdt, locked_usdt;
    char key[80] = "", path[128];
    wsc user;

    /* a market order walks the book */
    a = rest(port, "POST", "/api/v3/order", "symbol=" SYM "&side=BUY&type=MARKET&quantity=0.8",
             SIGNED);
    filled = fills_qty(a, &nfills);
    ok(a->status == 200 && strstr(a->body, "\"status\":\"FILLED\"") && filled == 80000000 &&
       nfills == 2, "market buy 0.8: FILLED, FULL fills (%d) sum to the quantity", nfills);
    WAIT_FOR(count_stream(md, "btcusdt@trade") >= 2, WAIT_MS);
    trades = count_stream(md, "btcusdt@trade");
    is_int(trades, 2, "trade stream: one trade per fill");

    /* the user data stream */
    a = rest(port, "POST", "/api/v3/userDataStream", NULL, KEYED);
    field(a->body, a->len, "listenKey", NULL, key, sizeof key);
    ok(a->status == 200 && strlen(key) == 64, "userDataStream: a listenKey");
    snprintf(path, sizeof path, "/ws/%s", key);
    ok(wsc_open(&user, ws_port, path) == 0, "user data stream: connected");

    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=59000"
             "&newClientOrderId=rest1&newOrderRespType=RESULT", SIGNED);
    ok(a->status == 200 && strstr(a->body, "\"status\":\"NEW\"") &&
       strstr(a->body, "\"clientOrderId\":\"rest1\"") && !strstr(a->body, "fills"),
       "limit buy below the book: NEW, resting (RESULT answer)");
    mock_binance_balance(mx, "USDT", &free_usdt, &locked_usdt);
    is_int(locked_usdt, INT64_C(590000000000), "the resting buy locks price * qty of USDT");
    a = rest(port, "GET", "/api/v3/depth", "symbol=" SYM "&limit=5", PUBLIC);
    ok(strstr(a->body, "[\"59000.00000000\",\"0.10000000\"]") != NULL,
       "depth: the resting order is on the book");
    a = rest(port, "GET", "/api/v3/openOrders", "symbol=" SYM, SIGNED);
    ok(a->status == 200 && strstr(a->body, "\"clientOrderId\":\"rest1\""), "openOrders lists it");
    a = rest(port, "DELETE", "/api/v3/order", "symbol=" SYM "&origClientOrderId=rest1", SIGNED);
    ok(a->status == 200 && strstr(a->body, "\"status\":\"CANCELED\""), "cancel: CANCELED");
    a = rest(port, "DELETE", "/api/v3/order", "symbol=" SYM "&origClientOrderId=rest1", SIGNED);
    ok(a->status == 400 && a->code == -2011 && !strcmp(a->msg, "Unknown order sent."),
       "cancel again: -2011 Unknown order sent.");
    a = rest(port, "GET", "/api/v3/order", "symbol=" SYM "&orderId=999999", SIGNED);
    ok(a->status == 400 && a->code == -2013 && !strcmp(a->msg, "Order does not exist."),
       "query an unknown order: -2013 Order does not exist.");
    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=10&price=59000", SIGNED);
    ok(a->status == 400 && a->code == -2010 &&
       !strcmp(a->msg, "Account has insufficient balance for requested action."),
       "too big a buy: -2010 insufficient balance (%s)", a->msg);

    /* a resting sell filled by market flow */
    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.2&price=60100"
             "&newClientOrderId=rest2", SIGNED);
    ok(a->status == 200 && strstr(a->body, "\"status\":\"NEW\""), "limit sell above the book: NEW");
    mock_binance_trade(mx, SYM, "60100", "0.5", 0, err, sizeof err);
    a = rest(port, "GET", "/api/v3/order", "symbol=" SYM "&origClientOrderId=rest2", SIGNED);
    ok(strstr(a->body, "\"status\":\"FILLED\"") && strstr(a->body, "\"executedQty\":\"0.20000000\""),
       "a market trade through its price fills the resting sell");

    /* executionReports in order */
    WAIT_FOR(user.n >= 7, WAIT_MS);
    char seq[256] = "";
    int accounts = 0;
    for (int i = 0; i < user.n; i++) {
        char e[32], x[32], c[40];
        if (field(user.msgs[i], user.lens[i], "e", NULL, e, sizeof e) != 0)
            continue;
        if (!strcmp(e, "outboundAccountPosition")) {
            accounts++;
            continue;
        }
        if (strcmp(e, "executionReport") || field(user.msgs[i], user.lens[i], "x", NULL, x, sizeof x) ||
            field(user.msgs[i], user.lens[i], "X", NULL, c, sizeof c))
            continue;
        snprintf(seq + strlen(seq), sizeof seq - strlen(seq), "%s%s/%s", *seq ? " " : "", x, c);
    }
    is_str(seq, "NEW/NEW CANCELED/CANCELED NEW/NEW TRADE/FILLED",
           "user data stream: executionReports in order");
    ok(accounts >= 3, "user data stream: outboundAccountPosition after balance changes (%d)",
       accounts);
    wsc_close(&user);
}

static void test_refusals(int port)
{
    const answer *a;

    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=59000.001", SIGNED);
    ok(a->code == -1013 && !strcmp(a->msg, "Filter failure: PRICE_FILTER"),
       "price off the tick: -1013 PRICE_FILTER (%s)", a->msg);
    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000000001&price=59000",
             SIGNED);
    ok(a->code == -1111, "nine decimals: -1111 too much precision (%s)", a->msg);
    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000011&price=59000",
             SIGNED);
    ok(a->code == -1013 && !strcmp(a->msg, "Filter failure: LOT_SIZE"),
       "quantity off the step: -1013 LOT_SIZE");
    a = rest(port, "POST", "/api/v3/order",
             "symbol=XXXUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=1", SIGNED);
    ok(a->code == -1121, "unknown symbol: -1121");
    rest(port, "POST", "/api/v3/order",
         "symbol=" SYM "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=58000"
         "&newClientOrderId=dup1", SIGNED);
    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=58000"
             "&newClientOrderId=dup1", SIGNED);
    ok(a->code == -2010 && !strcmp(a->msg, "Duplicate order sent."),
       "a client id still open: -2010 Duplicate order sent.");
    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=BUY&type=LIMIT_MAKER&quantity=0.1&price=60005", SIGNED);
    ok(a->code == -2010 && !strcmp(a->msg, "Order would immediately match and take."),
       "a crossing LIMIT_MAKER: -2010 would immediately match and take");
}

/* Where needle first occurs in a's body, -1 when it does not; *count how often. */
static long find_in(const answer *a, const char *needle, int *count)
{
    const char *first = strstr(a->body, needle);
    *count = 0;
    for (const char *p = first; p; p = strstr(p + 1, needle))
        (*count)++;
    return first ? first - a->body : -1;
}

/* allOrders: the orders placed so far are the market buy, rest1
 * (cancelled), rest2 (filled) and dup1 (open). */
static void test_all_orders(int port)
{
    const answer *a;
    int n, n1, n2, n3;
    long p1, p2, p3;

    a = rest(port, "GET", "/api/v3/allOrders", "symbol=" SYM, SIGNED);
    find_in(a, "\"clientOrderId\"", &n);
    p1 = find_in(a, "\"clientOrderId\":\"rest1\"", &n1);
    p2 = find_in(a, "\"clientOrderId\":\"rest2\"", &n2);
    p3 = find_in(a, "\"clientOrderId\":\"dup1\"", &n3);
    ok(a->status == 200 && n == 4 && n1 == 1 && n2 == 1 && n3 == 1 && p1 < p2 && p2 < p3,
       "allOrders: every order, open and closed, oldest first (%d)", n);
    a = rest(port, "GET", "/api/v3/allOrders", "symbol=" SYM "&orderId=3&limit=1", SIGNED);
    find_in(a, "\"clientOrderId\"", &n);
    ok(a->status == 200 && n == 1 && strstr(a->body, "\"clientOrderId\":\"rest2\"") &&
       strstr(a->body, "\"status\":\"FILLED\""),
       "allOrders orderId=3&limit=1: the first from that order id on");
    a = rest(port, "GET", "/api/v3/allOrders", "symbol=" SYM "&limit=2", SIGNED);
    find_in(a, "\"clientOrderId\"", &n);
    ok(a->status == 200 && n == 2 && !strstr(a->body, "rest1") && strstr(a->body, "dup1"),
       "allOrders limit=2: the most recent two");
}

/* What t/crash.t reads: client ids sent twice, the stats, the feed switch. */
static void test_crash_support(mock_binance *mx, int port)
{
    mock_binance_stats st;
    const answer *a;
    char key1[80] = "", key2[80] = "", query[96];

    mock_binance_get_stats(mx, &st);
    is_int((long)st.client_id_reuses, 1, "client id reuses: dup1 sent twice counts once");
    a = rest(port, "POST", "/api/v3/order",
             "symbol=" SYM "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=58000"
             "&newClientOrderId=rest1", SIGNED);
    mock_binance_get_stats(mx, &st);
    ok(a->status == 200 && st.client_id_reuses == 2,
       "a closed order's client id is accepted again, as on Binance, and counted");
    a = rest(port, "GET", "/mock/stats", NULL, PUBLIC);
    is_int(field_long(a->body, a->len, "client_id_reuses", NULL), 2,
           "GET /mock/stats: the counters as JSON");
    a = rest(port, "POST", "/mock/feed", "paused=maybe", PUBLIC);
    is_int(a->status, 400, "/mock/feed: paused must be true or false");

    a = rest(port, "POST", "/api/v3/userDataStream", NULL, KEYED);
    field(a->body, a->len, "listenKey", NULL, key1, sizeof key1);
    a = rest(port, "POST", "/api/v3/userDataStream", NULL, KEYED);
    field(a->body, a->len, "listenKey", NULL, key2, sizeof key2);
    ok(*key1 && !strcmp(key1, key2), "userDataStream: the active listenKey is given again");
    snprintf(query, sizeof query, "listenKey=%s", key1);
    rest(port, "DELETE", "/api/v3/userDataStream", query, KEYED);
    a = rest(port, "POST", "/api/v3/userDataStream", NULL, KEYED);
    field(a->body, a->len, "listenKey", NULL, key2, sizeof key2);
    ok(a->status == 200 && strcmp(key1, key2), "userDataStream: a new one once it is closed");
}

static int64_t zero_clock(void *ud)
{
    (void)ud;
    return 0;
}

/* A generated feed paused and resumed, on a clock of our own: it applies
 * nothing while paused and goes on as if the pause had not been. */
static void test_feed_pause(void)
{
    const int64_t ms = 1000000;
    mexch_symbol_spec spec = {SYM, "BTC", "USDT", NULL, NULL, NULL, NULL, NULL, NULL};
    mexch *x[2] = {mexch_new(NULL, zero_clock, NULL), mexch_new(NULL, zero_clock, NULL)};
    mfeed *f[2] = {NULL, NULL};
    uint64_t before = 0, during = 0;

    for (int i = 0; i < 2; i++)
        if (x[i] && mexch_add_symbol(x[i], &spec, err, sizeof err) == 0)
            f[i] = mfeed_new_generator(x[i], 0, INT64_C(6000000000000), 7, 1, err, sizeof err);
    if (f[0] && f[1]) {
        mfeed_step(f[0], 0, err, sizeof err);
        mfeed_step(f[0], 100 * ms, err, sizeof err);
        before = mfeed_applied(f[0]);
        mfeed_pause(f[0], 1, 100 * ms);
        mfeed_step(f[0], 1000 * ms, err, sizeof err);
        during = mfeed_applied(f[0]);
        mfeed_pause(f[0], 0, 1000 * ms);
        mfeed_step(f[0], 1100 * ms, err, sizeof err);
        mfeed_step(f[1], 0, err, sizeof err);
        mfeed_step(f[1], 200 * ms, err, sizeof err); /* the same 200 ms, unpaused */
    }
    ok(f[0] && f[1] && before > 0 && during == before && mfeed_paused(f[0]) == 0,
       "feed paused: nothing applied meanwhile (%llu)", (unsigned long long)before);
    ok(f[0] && f[1] && mfeed_applied(f[0]) == mfeed_applied(f[1]) && mfeed_applied(f[0]) > before,
       "feed resumed where it stopped: nothing caught up (%llu events)",
       (unsigned long long)(f[0] ? mfeed_applied(f[0]) : 0));
    for (int i = 0; i < 2; i++) {
        mfeed_free(f[i]);
        mexch_free(x[i]);
    }
}

static void test_faults(mock_binance *mx, int port, wsc *md)
{
    mock_fault f;
    const answer *a;
    int closes = md->closes;

    f = (mock_fault){MOCK_FAULT_STATUS, 503, 1};
    mock_binance_fault(mx, &f, err, sizeof err);
    a = rest(port, "GET", "/api/v3/ping", NULL, PUBLIC);
    ok(a->status == 503 && a->code == -1008, "status fault: the next answer is 503 (%d)", a->status);
    a = rest(port, "GET", "/api/v3/ping", NULL, PUBLIC);
    is_int(a->status, 200, "status fault: then answers resume");

    request_timeout_ns = INT64_C(300000000);
    f = (mock_fault){MOCK_FAULT_DELAY, 10000, 0};
    mock_binance_fault(mx, &f, err, sizeof err);
    a = rest(port, "GET", "/api/v3/ping", NULL, PUBLIC);
    is_int(a->error, HTTP_ERR_TIMEOUT, "delay fault: a 10 s delay outlasts a 300 ms timeout");
    f = (mock_fault){MOCK_FAULT_SILENT, 1, 0};
    mock_binance_fault(mx, &f, err, sizeof err);
    a = rest(port, "GET", "/api/v3/time", NULL, PUBLIC);
    is_int(a->error, HTTP_ERR_TIMEOUT, "silent fault: no answer");
    f = (mock_fault){MOCK_FAULT_CLEAR, 0, 0};
    mock_binance_fault(mx, &f, err, sizeof err);
    request_timeout_ns = 0;
    a = rest(port, "GET", "/api/v3/time", NULL, PUBLIC);
    is_int(a->status, 200, "clear: answers on time again");

    f = (mock_fault){MOCK_FAULT_DROP, 0, 0};
    mock_binance_fault(mx, &f, err, sizeof err);
    WAIT_FOR(md->closes > closes, WAIT_MS);
    ok(md->closes > closes, "drop fault: the WebSocket client sees its connection close");
    a = rest(port, "GET", "/api/v3/ping", NULL, PUBLIC);
    is_int(a->status, 200, "drop fault: REST answers on a new connection");
}

static void test_weights(void)
{
    mock_binance_options opt;
    mock_binance *mx;
    const answer *a;
    int rising = 1, port;
    long last = 0;

    memset(&opt, 0, sizeof opt);
    opt.weight_limit = 10;
    mx = mock_binance_start(&opt, err, sizeof err);
    if (!mx) {
        diag("second mock: %s", err);
        skip(4, "no second mock");
        return;
    }
    port = mock_binance_rest_port(mx);
    for (int i = 0; i < 10; i++) {
        a = rest(port, "GET", "/api/v3/ping", NULL, PUBLIC);
        rising &= a->status == 200 && a->weight == last + 1;
        last = a->weight;
    }
    ok(rising && last == 10, "weight: X-MBX-USED-WEIGHT-1M counts each ping up to the limit");
    a = rest(port, "GET", "/api/v3/ping", NULL, PUBLIC);
    ok(a->status == 429 && a->code == -1003 && a->retry > 0 && a->retry <= 60,
       "over the limit: 429 -1003 with Retry-After %ld", a->retry);
    a = rest(port, "GET", "/api/v3/ping", NULL, PUBLIC);
    ok(a->status == 418 && a->code == -1003 && strstr(a->msg, "IP banned until"),
       "again after a 429: 418, IP banned (%s)", a->msg);
    ok(a->retry > 60 && a->retry <= 120, "the ban's Retry-After is the ban's length (%ld s)",
       a->retry);
    mock_binance_stop(mx);
}

static void test_replay(void)
{
    const char *rel = "hftbacktest/spot/btcusdt_20240808.gz";
    const char *path = tap_shared_data_opt(rel);
    mock_binance_options opt;
    mock_binance *mx;
    wsc md;
    uint64_t U, u, prev = 0;
    long last;
    int continuous = 1, seen = 0;

    if (!path) {
        skip(2, tap_shared_data_missing(rel));
        return;
    }
    memset(&opt, 0, sizeof opt);
    opt.data = path;
    opt.speed = 20;
    mx = mock_binance_start(&opt, err, sizeof err);
    if (!mx || wsc_open(&md, mock_binance_ws_port(mx), "/ws/btcusdt@depth@100ms") != 0) {
        diag("replay mock: %s", err);
        skip(2, "replay mock did not start");
        mock_binance_stop(mx);
        return;
    }
    WAIT_FOR(md.n >= 10, WAIT_MS);
    rest(mock_binance_rest_port(mx), "GET", "/api/v3/depth", "symbol=BTCUSDT&limit=20", PUBLIC);
    last = field_long(ans.body, ans.len, "lastUpdateId", NULL);
    ok(ans.status == 200 && last >= 50093239218 && strstr(ans.body, "\"bids\":[[\""),
       "replay: the capture's snapshot seeds the book (lastUpdateId %ld)", last);
    for (int i = 0; i < md.n; i++) {
        long a = field_long(md.msgs[i], md.lens[i], "U", NULL), b = field_long(md.msgs[i], md.lens[i], "u", NULL);
        if (a <= 0 || b < a)
            continue;
        U = (uint64_t)a;
        u = (uint64_t)b;
        continuous &= !seen || U == prev + 1;
        prev = u;
        seen++;
    }
    ok(seen >= 10 && continuous, "replay: raw /ws diffs are continuous (%d)", seen);
    wsc_close(&md);
    mock_binance_stop(mx);
}

/* The program: prints its ports, serves, stops on SIGTERM. */
static void test_program(void)
{
    char bin[4096], line[128] = "";
    const char *lutra = tap_lutra_bin();
    const char *slash = strrchr(lutra, '/');
    int fds[2], status = -1, rest_port = 0, ws_port = 0;
    pid_t pid;
    FILE *out;

    snprintf(bin, sizeof bin, "%.*s/t/mock_binance/mock_binance",
             slash ? (int)(slash - lutra) : 1, slash ? lutra : ".");
    if (access(bin, X_OK) != 0 || pipe(fds) != 0) {
        skip(3, "the mock_binance program is not built");
        return;
    }
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(bin, bin, "--port", "0", "--quiet-book", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    if (out && fgets(line, sizeof line, out))
        sscanf(line, "rest_port=%d ws_port=%d", &rest_port, &ws_port);
    line[strcspn(line, "\n")] = 0;
    ok(rest_port > 0 && ws_port > 0, "program: prints its ports (%s)", line);
    if (rest_port > 0)
        rest(rest_port, "GET", "/api/v3/time", NULL, PUBLIC);
    ok(rest_port > 0 && ans.status == 200 && strstr(ans.body, "serverTime"),
       "program: serves REST");
    kill(pid, SIGTERM);
    for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
        usleep(10000);
    if (!WIFEXITED(status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "program: SIGTERM stops it cleanly");
    if (out)
        fclose(out);
}

int main(void)
{
    mock_binance_options opt;
    mock_binance *mx;
    wsc md;

    plan(66);
    signal(SIGPIPE, SIG_IGN);
    lp = loop_new(err, sizeof err);
    hc = lp ? http_new(loop_base(lp), NULL, err, sizeof err) : NULL;
    jp = json_parser_new();
    if (!lp || !hc || !jp)
        bail_out("setup: %s", err);
    memset(&opt, 0, sizeof opt);
    mx = mock_binance_start(&opt, err, sizeof err);
    if (!mx)
        bail_out("mock_binance_start: %s", err);
    if (mock_binance_set_balance(mx, "USDT", "100000", err, sizeof err) != 0 ||
        mock_binance_set_balance(mx, "BTC", "1", err, sizeof err) != 0)
        bail_out("set_balance: %s", err);
    set_book(mx);

    int port = mock_binance_rest_port(mx), ws_port = mock_binance_ws_port(mx);
    test_signing();
    test_auth(port);
    test_exchange_info(port);
    test_depth(mx, port, ws_port, &md);
    test_orders(mx, port, ws_port, &md);
    test_refusals(port);
    test_all_orders(port);
    test_crash_support(mx, port);
    test_feed_pause();
    test_faults(mx, port, &md);
    wsc_close(&md);
    mock_binance_stop(mx);
    test_weights();
    test_replay();
    test_program();

    http_free(hc);
    loop_free(lp);
    json_parser_free(jp);
    return done();
}
