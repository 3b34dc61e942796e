/*
 * binance_rest.c -- the Binance connector's order entry without a network:
 * signatures (the docs' worked examples, byte for byte), query encoding,
 * every request builder's exact output, the REST answers parsed (the docs'
 * payloads and the real fixtures under ../shared/exchanges/raw), error
 * answers as rejection reasons, the rate-limit tracker and 429/418 back-off.
 *
 * The connector's files are compiled into this program (CMakeLists.txt):
 * a plugin exports nothing but its table. They reach the host only through
 * lutra_host_api, which this test fills with core's JSON facade and exact
 * decimal parsing, as the lutra binary does.
 */
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "binance.h"
#include "fixed.h"
#include "json.h"
#include "tap.h"

/* The docs' example credentials (rest-api.md, "SIGNED Endpoint Examples"). */
#define DOC_KEY "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
#define DOC_SECRET "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
#define DOC_TS 1499827319559LL

#define RAW "../exchanges/raw/nautilus_trader_binance/"

static lutra_host_api api;
static bn_conn conn;
static char err[512];

/* ---- Helpers ---- */

static void setup(void)
{
    api.abi_version = LUTRA_PLUGIN_ABI_VERSION;
    api.size = sizeof api;
    api.fixed_parse = fixed_parse;
    api.fixed_decimals = fixed_decimals;
    api.json_parser_new = json_parser_new;
    api.json_parser_free = json_parser_free;
    api.json_parse = json_parse;
    api.json_field = json_field;
    api.json_string = json_string;
    api.json_number_text = json_number_text;
    api.json_int64 = json_int64;
    api.json_uint64 = json_uint64;
    api.json_bool = json_bool;
    api.json_array_begin = json_array_begin;
    api.json_array_next = json_array_next;
    api.json_last_error = json_last_error;
    api.json_field_opt = json_field_opt;
    api.json_string_rows = json_string_rows;
    conn.api = &api;
    conn.jp = json_parser_new();
    if (!conn.jp)
        bail_out("out of memory");
    snprintf(conn.venue, sizeof conn.venue, "binance");
}

/* A body with the padding the parser reads past its end. */
static const char *padded(const char *s, size_t *len)
{
    static char buf[64 * 1024 + JSON_PADDING];
    *len = strlen(s);
    if (*len >= sizeof buf - JSON_PADDING)
        bail_out("body too long");
    memcpy(buf, s, *len);
    memset(buf + *len, 0, JSON_PADDING);
    return buf;
}

/* A fixture file's bytes, padded; NULL (tests skipped) when absent. */
static const char *fixture(const char *rel, size_t *len)
{
    static char buf[64 * 1024 + JSON_PADDING];
    const char *path = tap_shared_data_opt(rel);
    FILE *f;

    if (!path || !(f = fopen(path, "rb")))
        return NULL;
    *len = fread(buf, 1, sizeof buf - JSON_PADDING, f);
    fclose(f);
    memset(buf + *len, 0, JSON_PADDING);
    return buf;
}

#define is_amount(got, want_v, want_scale, name)                                         \
    do {                                                                                 \
        bn_amount g_ = (got);                                                            \
        if (!ok(g_.v == (want_v) && g_.scale == (want_scale), "%s", name))              \
            diag("got %lld at scale %d", (long long)g_.v, g_.scale);                     \
    } while (0)

/* A parse that must succeed; its error shown when it does not. */
#define parses(call, ...)                                                                \
    do {                                                                                 \
        err[0] = '\0';                                                                   \
        if (!ok((call) == 0, __VA_ARGS__))                                               \
            diag("%s", err);                                                             \
    } while (0)

/* The signature of a signed request is HMAC-SHA256 of all before it,
 * checked with OpenSSL's one-shot HMAC(), not the connector's code. */
static int signature_verifies(const bn_request *r)
{
    static const char key[] = "&signature=";
    const char *sig = strstr(r->query.s, key);
    unsigned char mac[32];
    unsigned int maclen = 0;
    char hex[65];

    if (!sig || strlen(sig + sizeof key - 1) != 64)
        return 0;
    HMAC(EVP_sha256(), DOC_SECRET, (int)strlen(DOC_SECRET), (const unsigned char *)r->query.s,
         (size_t)(sig - r->query.s), mac, &maclen);
    for (unsigned i = 0; i < maclen; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return maclen == 32 && strcmp(hex, sig + sizeof key - 1) == 0;
}

/* The query with its signature cut off, for exact comparisons. */
static const char *unsigned_part(const bn_request *r)
{
    static char buf[BN_QUERY_MAX];
    const char *sig = strstr(r->query.s, "&signature=");
    size_t n = sig ? (size_t)(sig - r->query.s) : r->query.len;
    memcpy(buf, r->query.s, n);
    buf[n] = '\0';
    return buf;
}

static bn_auth auth;

static void auth_setup(void)
{
    memset(&auth, 0, sizeof auth);
    snprintf(auth.api_key, sizeof auth.api_key, "%s", DOC_KEY);
    auth.signer = bn_signer_new(DOC_SECRET, strlen(DOC_SECRET), err, sizeof err);
    if (!auth.signer)
        bail_out("%s", err);
}

/* ---- Signing ---- */

static void test_signatures(void)
{
    static const struct {
        const char *query, *body, *want;
    } vec[] = {
        {"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow="
         "5000&timestamp=1499827319559", "",
         "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"},
        {"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
         "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
         "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"},
        {"symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&"
         "timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559", "",
         "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"},
        {"apiKey=" DOC_KEY "&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&"
         "symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT", "",
         "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"},
    };
    char hex[65];

    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        int rc = bn_sign(auth.signer, vec[i].query, strlen(vec[i].query), vec[i].body,
                         strlen(vec[i].body), hex, err, sizeof err);
        is_int(rc, 0, "docs' signature example %zu signs", i + 1);
        is_str(hex, vec[i].want, "docs' signature example %zu byte for byte", i + 1);
    }
    /* Primed ahead (as the connector does once a request has left), primed
     * twice, or not at all: the same signature every time. */
    {
        int same = 1;
        for (int round = 0; round < 6; round++) {
            if (round % 3 == 1)
                bn_signer_prime(auth.signer);
            if (round % 3 == 2) {
                bn_signer_prime(auth.signer);
                bn_signer_prime(auth.signer);
            }
            same &= bn_sign(auth.signer, vec[0].query, strlen(vec[0].query), NULL, 0, hex, err,
                            sizeof err) == 0 &&
                    !strcmp(hex, vec[0].want);
        }
        ok(same, "a signer primed ahead, twice or not at all signs the same");
    }

    /* The same examples built from their parameters. */
    static const char *const symbols[] = {"LTCBTC", "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93"
                                          "\xef\xbc\x94\xef\xbc\x95\xef\xbc\x96"};
    for (int i = 0; i < 2; i++) {
        bn_query q;
        char want[BN_QUERY_MAX];
        bn_query_init(&q);
        bn_query_add_str(&q, "symbol", symbols[i]);
        bn_query_add_str(&q, "side", "BUY");
        bn_query_add_str(&q, "type", "LIMIT");
        bn_query_add_str(&q, "timeInForce", "GTC");
        bn_query_add_int(&q, "quantity", 1);
        bn_query_add_str(&q, "price", "0.1");
        is_int(bn_query_sign(&q, auth.signer, DOC_TS, 5000, err, sizeof err), 0,
               "example %d: query signed", i + 1);
        snprintf(want, sizeof want, "%s&signature=%s", vec[i ? 2 : 0].query,
                 vec[i ? 2 : 0].want);
        is_str(q.s, want, "example %d: the docs' request, percent-encoded and signed",
               i + 1);
    }
}

static void test_query_encoding(void)
{
    bn_query q;
    char big[BN_QUERY_MAX];

    bn_query_init(&q);
    bn_query_add_str(&q, "note", "a b&c=d/\xc3\xa9~_.-");
    bn_query_add_str(&q, "k%", "");
    is_str(q.s, "note=a%20b%26c%3Dd%2F%C3%A9~_.-&k%25=",
           "reserved characters and UTF-8 percent-encoded, unreserved kept");

    /* Integers are written without printf: the same digits as printf's. */
    {
        static const int64_t vals[] = {0, 7, -5, 1700000000000, INT64_MAX, INT64_MIN};
        char want[BN_QUERY_MAX];
        size_t n = 0;
        bn_query_init(&q);
        for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
            bn_query_add_int(&q, "n", vals[i]);
            n += (size_t)snprintf(want + n, sizeof want - n, "%sn=%" PRId64, i ? "&" : "",
                                  vals[i]);
        }
        is_str(q.s, want, "integers as printf writes them, INT64_MIN and INT64_MAX included");
    }

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    bn_query_init(&q);
    bn_query_add_str(&q, "a", "1");
    bn_query_add(&q, "big", big, sizeof big - 1);
    ok(q.overflow && strcmp(q.s, "a=1") == 0, "a pair that does not fit is left out whole");
    is_int(bn_query_sign(&q, auth.signer, DOC_TS, 5000, err, sizeof err), -1,
           "an overflowed query is not signed");
    ok(strstr(err, "longer than") != NULL, "and says why: %s", err);

    bn_query_init(&q);
    is_int(bn_query_sign(&q, auth.signer, DOC_TS, 60001, err, sizeof err), -1,
           "recvWindow above 60000 refused");
    ok(strstr(err, "60001") != NULL, "naming the value: %s", err);

    ok(bn_signer_new("", 0, err, sizeof err) == NULL, "an empty secret refused: %s", err);
}

/* ---- Request builders ---- */

static void test_new_order(void)
{
    bn_request r;
    bn_order_spec o = {
        .symbol = "LTCBTC", .client_id = "lutra-1_a", .side = BN_BUY, .type = BN_LIMIT,
        .tif = BN_GTC, .qty = 100000000, .size_scale = 8, .price = 100000, .price_scale = 6,
    };

    is_int(bn_req_new_order(&r, &auth, &o, DOC_TS, err, sizeof err), 0, "limit order built");
    is_str(r.method, "POST", "new order: POST");
    is_str(r.path, "/api/v3/order", "new order: /api/v3/order");
    is_str(unsigned_part(&r),
           "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&"
           "newClientOrderId=lutra-1_a&recvWindow=5000&timestamp=1499827319559",
           "limit order: documented parameters, decimals trimmed, lutra's id");
    ok(signature_verifies(&r), "limit order: signature is HMAC-SHA256 of the query");
    is_str(r.header, "X-MBX-APIKEY: " DOC_KEY, "limit order: the API key header");
    ok(r.weight == 1 && r.orders == 1 && r.is_signed, "weight 1, one order, signed");

    o = (bn_order_spec){.symbol = "BTCUSDT", .client_id = "m2", .side = BN_SELL,
                        .type = BN_MARKET, .qty = 150000, .size_scale = 8,
                        .resp_type = BN_RESP_FULL};
    auth.clock_offset_ms = -250;
    auth.recv_window_ms = 2500;
    is_int(bn_req_new_order(&r, &auth, &o, 1700000000000LL, err, sizeof err), 0,
           "market order built");
    is_str(unsigned_part(&r),
           "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.0015&newClientOrderId=m2&"
           "newOrderRespType=FULL&recvWindow=2500&timestamp=1699999999750",
           "market order: no price, no timeInForce; clock offset and recvWindow applied");
    ok(signature_verifies(&r), "market order: signature verifies");
    auth.clock_offset_ms = 0;
    auth.recv_window_ms = 0;

    o = (bn_order_spec){.symbol = "BTCUSDT", .client_id = "pm", .side = BN_BUY,
                        .type = BN_LIMIT_MAKER, .qty = 12300000, .size_scale = 8,
                        .price = 6100050, .price_scale = 2, .resp_type = BN_RESP_ACK};
    is_int(bn_req_new_order(&r, &auth, &o, DOC_TS, err, sizeof err), 0, "post-only built");
    is_str(unsigned_part(&r),
           "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.123&price=61000.5&"
           "newClientOrderId=pm&newOrderRespType=ACK&recvWindow=5000&timestamp=1499827319559",
           "LIMIT_MAKER: price and quantity exact, no timeInForce");

    o = (bn_order_spec){.symbol = "BTCUSDT", .client_id = "i1", .side = BN_BUY,
                        .type = BN_LIMIT, .tif = BN_IOC, .qty = 3, .size_scale = 0,
                        .price = 7, .price_scale = 0, .resp_type = BN_RESP_RESULT};
    bn_req_new_order(&r, &auth, &o, DOC_TS, err, sizeof err);
    ok(strstr(r.query.s, "timeInForce=IOC&quantity=3&price=7&") &&
           strstr(r.query.s, "newOrderRespType=RESULT"),
       "IOC and integer scales: %s", unsigned_part(&r));
    o.tif = BN_FOK;
    bn_req_new_order(&r, &auth, &o, DOC_TS, err, sizeof err);
    ok(strstr(r.query.s, "timeInForce=FOK") != NULL, "FOK");

    /* Refusals, each naming what is wrong. */
    static const struct {
        bn_order_spec o;
        const char *needle, *name;
    } bad[] = {
        {{.symbol = "BTCUSDT", .client_id = "x", .side = BN_BUY, .type = BN_LIMIT,
          .qty = 1, .price = 1}, "timeInForce", "LIMIT without timeInForce"},
        {{.symbol = "BTCUSDT", .client_id = "x", .side = BN_BUY, .type = BN_MARKET,
          .tif = BN_GTC, .qty = 1}, "takes no timeInForce", "MARKET with timeInForce"},
        {{.symbol = "BTCUSDT", .client_id = "a b", .side = BN_BUY, .type = BN_MARKET,
          .qty = 1}, "a b", "client id with a space"},
        {{.symbol = "BTCUSDT", .client_id = "0123456789012345678901234567890123456",
          .side = BN_BUY, .type = BN_MARKET, .qty = 1}, "1..36", "client id of 37"},
        {{.symbol = "BTCUSDT", .client_id = "x", .side = BN_BUY, .type = BN_MARKET,
          .qty = 0}, "quantity 0", "zero quantity"},
        {{.symbol = "BTCUSDT", .client_id = "x", .side = BN_BUY, .type = BN_LIMIT,
          .tif = BN_GTC, .qty = 1, .price = -5}, "price -5", "negative price"},
        {{.symbol = "", .client_id = "x", .side = BN_BUY, .type = BN_MARKET, .qty = 1},
         "symbol", "empty symbol"},
        {{.symbol = "BTCUSDT", .client_id = "x", .side = 3, .type = BN_MARKET, .qty = 1},
         "side 3", "unknown side"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = bn_req_new_order(&r, &auth, &bad[i].o, DOC_TS, err, sizeof err);
        ok(rc == -1 && strstr(err, bad[i].needle), "refused: %s (%s)", bad[i].name, err);
    }

    bn_auth keyless = auth;
    keyless.api_key[0] = '\0';
    o = (bn_order_spec){.symbol = "BTCUSDT", .client_id = "k", .side = BN_BUY,
                        .type = BN_MARKET, .qty = 1};
    ok(bn_req_new_order(&r, &keyless, &o, DOC_TS, err, sizeof err) == -1 &&
           strstr(err, "API key"),
       "no API key: refused (%s)", err);
}

static void test_other_requests(void)
{
    bn_request r;
    char desc[BN_QUERY_MAX + 64];

    is_int(bn_req_cancel(&r, &auth, "BTCUSDT", "lutra-7", DOC_TS, err, sizeof err), 0,
           "cancel built");
    ok(strcmp(r.method, "DELETE") == 0 && strcmp(r.path, "/api/v3/order") == 0 &&
           r.weight == 1 && r.orders == 0,
       "cancel: DELETE /api/v3/order, weight 1");
    is_str(unsigned_part(&r),
           "symbol=BTCUSDT&origClientOrderId=lutra-7&recvWindow=5000&timestamp=1499827319559",
           "cancel: by origClientOrderId");
    ok(signature_verifies(&r), "cancel: signature verifies");

    is_int(bn_req_open_orders(&r, &auth, "ETHUSDT", DOC_TS, err, sizeof err), 0,
           "open orders (one symbol)");
    ok(strcmp(r.method, "GET") == 0 && strcmp(r.path, "/api/v3/openOrders") == 0 &&
           r.weight == 6 && strcmp(unsigned_part(&r), "symbol=ETHUSDT&recvWindow=5000&"
                                                   "timestamp=1499827319559") == 0,
       "open orders: GET /api/v3/openOrders?symbol=..., weight 6");
    bn_req_open_orders(&r, &auth, NULL, DOC_TS, err, sizeof err);
    ok(r.weight == 80 && strcmp(unsigned_part(&r), "recvWindow=5000&timestamp=1499827319559")
                             == 0 && signature_verifies(&r),
       "open orders of every symbol: weight 80, signed");

    is_int(bn_req_account(&r, &auth, DOC_TS, err, sizeof err), 0, "account built");
    ok(strcmp(r.path, "/api/v3/account") == 0 && r.weight == 20 &&
           strcmp(unsigned_part(&r), "omitZeroBalances=true&recvWindow=5000&"
                                     "timestamp=1499827319559") == 0 && signature_verifies(&r),
       "account: GET /api/v3/account, weight 20, signed");

    is_int(bn_req_listen_key_create(&r, &auth, err, sizeof err), 0, "listenKey create");
    ok(strcmp(r.method, "POST") == 0 && strcmp(r.path, "/api/v3/userDataStream") == 0 &&
           r.query.len == 0 && !r.is_signed && r.weight == 2 &&
           strcmp(r.header, "X-MBX-APIKEY: " DOC_KEY) == 0,
       "listenKey create: POST, key header, no signature, weight 2");
    is_int(bn_req_listen_key_keepalive(&r, &auth, "pqia91ma19a5s61cv6a81va65sdf19v8a65a1", err,
                                       sizeof err), 0, "listenKey keepalive");
    ok(strcmp(r.method, "PUT") == 0 && !r.is_signed &&
           strcmp(r.query.s, "listenKey=pqia91ma19a5s61cv6a81va65sdf19v8a65a1") == 0,
       "listenKey keepalive: PUT listenKey=...");

    const char *syms[] = {"BTCUSDT", "ETHUSDT"};
    bn_req_exchange_info(&r, syms, 0, err, sizeof err);
    ok(strcmp(r.path, "/api/v3/exchangeInfo") == 0 && r.query.len == 0 && r.weight == 20 &&
           r.header[0] == '\0',
       "exchangeInfo of everything: no parameters, no key, weight 20");
    bn_req_exchange_info(&r, syms, 1, err, sizeof err);
    is_str(r.query.s, "symbol=BTCUSDT", "exchangeInfo of one symbol");
    bn_req_exchange_info(&r, syms, 2, err, sizeof err);
    is_str(r.query.s, "symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D",
           "exchangeInfo of two: a JSON array, encoded");

    static const struct { int limit, weight; } depths[] = {
        {1, 5}, {100, 5}, {101, 25}, {500, 25}, {1000, 50}, {5000, 250}};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        bn_req_depth(&r, "BTCUSDT", depths[i].limit, err, sizeof err);
        char want[64];
        snprintf(want, sizeof want, "symbol=BTCUSDT&limit=%d", depths[i].limit);
        ok(strcmp(r.query.s, want) == 0 && r.weight == depths[i].weight,
           "depth limit %d: weight %d", depths[i].limit, depths[i].weight);
    }
    ok(bn_req_depth(&r, "BTCUSDT", 5001, err, sizeof err) == -1 && strstr(err, "5001"),
       "depth limit 5001 refused: %s", err);

    bn_req_server_time(&r, err, sizeof err);
    ok(strcmp(r.method, "GET") == 0 && strcmp(r.path, "/api/v3/time") == 0 &&
           r.query.len == 0 && r.weight == 1,
       "server time: GET /api/v3/time, weight 1");

    /* A request in a log line or an error: never the signature or secret. */
    bn_req_cancel(&r, &auth, "BTCUSDT", "lutra-7", DOC_TS, err, sizeof err);
    bn_request_describe(&r, desc, sizeof desc);
    is_str(desc, "DELETE /api/v3/order?symbol=BTCUSDT&origClientOrderId=lutra-7&"
                 "recvWindow=5000&timestamp=1499827319559&signature=(omitted)",
           "described without its signature");
    ok(!strstr(desc, strstr(r.query.s, "signature=") + 10) && !strstr(desc, DOC_SECRET) &&
           !strstr(desc, DOC_KEY),
       "the description holds no signature, secret or key");
    bn_req_server_time(&r, err, sizeof err);
    bn_request_describe(&r, desc, sizeof desc);
    is_str(desc, "GET /api/v3/time", "a request without a query");
}

/* ---- Responses ---- */

typedef struct collected {
    bn_symbol_info info[8];
    size_t n;
    bn_fill fills[8];
    size_t nfills;
    bn_order_state orders[4];
    size_t norders;
    char assets[4][LUTRA_ASSET_MAX];
    bn_amount free_[4], locked[4];
    size_t nbalances;
} collected;

static int on_symbol(void *ud, const bn_symbol_info *info)
{
    collected *c = ud;
    if (c->n < 8)
        c->info[c->n++] = *info;
    return 0;
}

static int on_fill(void *ud, const bn_order_state *o, const bn_fill *f)
{
    collected *c = ud;
    (void)o;
    if (c->nfills < 8)
        c->fills[c->nfills++] = *f;
    return 0;
}

static int on_order(void *ud, const bn_order_state *o)
{
    collected *c = ud;
    if (c->norders < 4)
        c->orders[c->norders++] = *o;
    return 0;
}

static int on_balance(void *ud, const char *asset, bn_amount free_, bn_amount locked)
{
    collected *c = ud;
    if (c->nbalances < 4) {
        snprintf(c->assets[c->nbalances], LUTRA_ASSET_MAX, "%s", asset);
        c->free_[c->nbalances] = free_;
        c->locked[c->nbalances++] = locked;
    }
    return 0;
}

#define EXCHANGE_INFO_FIXTURE_TESTS 13

static void test_exchange_info_fixture(void)
{
    static const char rel[] = RAW "pytests_http_responses__http_spot_market_exchange_info.json";
    collected got;
    bn_ratelimit rl;
    size_t len;
    const char *body = fixture(rel, &len);

    if (!body) {
        skip(EXCHANGE_INFO_FIXTURE_TESTS, tap_shared_data_missing(rel));
        return;
    }
    memset(&got, 0, sizeof got);
    bn_ratelimit_init(&rl);
    parses(bn_parse_exchange_info(&conn, body, len, on_symbol, &got, &rl, err, sizeof err),
           "real exchangeInfo parsed");
    is_int(got.n, 2, "two symbols");
    const lutra_instrument *d = &got.info[0].def;
    is_str(d->symbol, "BTCUSDT", "BTCUSDT first");
    ok(strcmp(d->base, "BTC") == 0 && strcmp(d->quote, "USDT") == 0 &&
           strcmp(d->venue, "binance") == 0 && d->kind == LUTRA_KIND_SPOT,
       "BTCUSDT: BTC/USDT spot on binance");
    ok(d->price_scale == 2 && d->price_increment == 1, "BTCUSDT: tickSize 0.01");
    ok(d->size_scale == 5 && d->size_increment == 1, "BTCUSDT: stepSize 0.00001");
    is_int(d->min_qty, 1, "BTCUSDT: minQty 0.00001");
    is_int(d->min_notional, 1000, "BTCUSDT: MIN_NOTIONAL 10 (at price scale 2)");
    ok(got.info[0].trading, "BTCUSDT: trading");
    d = &got.info[1].def;
    ok(strcmp(d->symbol, "ETHUSDT") == 0 && d->size_scale == 4 && d->min_qty == 1 &&
           d->price_scale == 2,
       "ETHUSDT: step 0.0001, tick 0.01");
    is_int(rl.n, 4, "its four rate limiters replace the defaults");
    ok(rl.lim[0].kind == BN_LIMIT_WEIGHT && rl.lim[0].interval_ms == 60000 &&
           rl.lim[0].limit == 1200,
       "REQUEST_WEIGHT 1200 a minute");
    ok(rl.lim[1].kind == BN_LIMIT_ORDERS && rl.lim[1].interval_ms == 10000 &&
           rl.lim[1].limit == 50 && rl.lim[2].interval_ms == 86400000 &&
           rl.lim[2].limit == 160000 && rl.lim[3].kind == BN_LIMIT_RAW,
       "ORDERS 50 per 10 s and 160000 a day, RAW_REQUESTS");
}

static void test_exchange_info_shapes(void)
{
    /* Today's NOTIONAL filter, a tick that is not a power of ten, a step of
     * 0 (disabled: the asset's precision), a minimum finer than the price
     * scale (rounded up), a symbol not trading, no rateLimits. */
    static const char doc[] =
        "{\"timezone\":\"UTC\",\"serverTime\":1565246363776,\"symbols\":[{\"symbol\":"
        "\"XYZUSDT\",\"status\":\"BREAK\",\"baseAsset\":\"XYZ\",\"baseAssetPrecision\":6,"
        "\"quoteAsset\":\"USDT\",\"quotePrecision\":8,\"quoteAssetPrecision\":8,\"filters\":["
        "{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"0.05000000\",\"maxPrice\":\"0\","
        "\"tickSize\":\"0.05000000\"},{\"filterType\":\"PERCENT_PRICE_BY_SIDE\","
        "\"bidMultiplierUp\":\"1.2\",\"avgPriceMins\":1},{\"filterType\":\"LOT_SIZE\","
        "\"minQty\":\"0.00000000\",\"maxQty\":\"9000\",\"stepSize\":\"0.00000000\"},"
        "{\"filterType\":\"NOTIONAL\",\"minNotional\":\"5.001\",\"applyMinToMarket\":true,"
        "\"maxNotional\":\"9000000.00000000\",\"applyMaxToMarket\":false}]}]}";
    collected got;
    bn_ratelimit rl;
    size_t len;
    const char *body = padded(doc, &len);

    memset(&got, 0, sizeof got);
    bn_ratelimit_init(&rl);
    parses(bn_parse_exchange_info(&conn, body, len, on_symbol, &got, &rl, err, sizeof err),
           "NOTIONAL-era exchangeInfo parsed");
    const lutra_instrument *d = &got.info[0].def;
    ok(got.n == 1 && d->price_scale == 2 && d->price_increment == 5, "tickSize 0.05");
    ok(d->size_scale == 6 && d->size_increment == 1 && d->min_qty == 0,
       "stepSize 0: one unit of baseAssetPrecision 6");
    is_int(d->min_notional, 501, "NOTIONAL 5.001 rounded up to 5.01 at price scale 2");
    ok(!got.info[0].trading, "status BREAK: not trading");
    ok(rl.n == 3 && rl.lim[0].limit == 6000, "no rateLimits: the defaults stay");

    body = padded("{\"symbols\":[{\"symbol\":\"A\",\"status\":\"TRADING\"}]}", &len);
    ok(bn_parse_exchange_info(&conn, body, len, on_symbol, &got, NULL, err, sizeof err) ==
               -1 && strstr(err, "baseAsset"),
       "a symbol without baseAsset refused: %s", err);
    body = padded("{\"symbols\":[", &len);
    ok(bn_parse_exchange_info(&conn, body, len, on_symbol, &got, NULL, err, sizeof err) == -1,
       "truncated exchangeInfo refused: %s", err);
}

static const char doc_ack[] =
    "{\"symbol\":\"BTCUSDT\",\"orderId\":28,\"orderListId\":-1,\"clientOrderId\":"
    "\"6gCrw2kRUAF9CvJDGP16IP\",\"transactTime\":1507725176595}";
static const char doc_result[] =
    "{\"symbol\":\"BTCUSDT\",\"orderId\":28,\"orderListId\":-1,\"clientOrderId\":"
    "\"6gCrw2kRUAF9CvJDGP16IP\",\"transactTime\":1507725176595,\"price\":\"0.00000000\","
    "\"origQty\":\"10.00000000\",\"executedQty\":\"10.00000000\",\"origQuoteOrderQty\":"
    "\"0.000000\",\"cummulativeQuoteQty\":\"10.00000000\",\"status\":\"FILLED\","
    "\"timeInForce\":\"GTC\",\"type\":\"MARKET\",\"side\":\"SELL\",\"workingTime\":"
    "1507725176595,\"selfTradePreventionMode\":\"NONE\"}";
static const char doc_cancel[] =
    "{\"symbol\":\"LTCBTC\",\"origClientOrderId\":\"myOrder1\",\"orderId\":4,\"orderListId\":"
    "-1,\"clientOrderId\":\"cancelMyOrder1\",\"transactTime\":1684804350068,\"price\":"
    "\"2.00000000\",\"origQty\":\"1.00000000\",\"executedQty\":\"0.00000000\","
    "\"origQuoteOrderQty\":\"0.000000\",\"cummulativeQuoteQty\":\"0.00000000\",\"status\":"
    "\"CANCELED\",\"timeInForce\":\"GTC\",\"type\":\"LIMIT\",\"side\":\"BUY\","
    "\"selfTradePreventionMode\":\"NONE\"}";

#define ORDER_FIXTURE_TESTS 8

static void test_orders(void)
{
    static const char full_rel[] = RAW "crate_spot__http_json__new_order_full_response.json";
    bn_order_state o;
    collected got;
    size_t len;
    const char *body = padded(doc_ack, &len);

    parses(bn_parse_order(&conn, body, len, &o, on_fill, &got, err, sizeof err),
           "ACK parsed");
    ok(strcmp(o.symbol, "BTCUSDT") == 0 && o.order_id == 28 &&
           strcmp(o.client_id, "6gCrw2kRUAF9CvJDGP16IP") == 0 && o.time_ms == 1507725176595LL,
       "ACK: symbol, orderId, clientOrderId, transactTime");
    ok(o.status == BN_ST_UNKNOWN && bn_order_status_name(o.status) == NULL && o.nfills == 0,
       "ACK: no status, no fills");

    body = padded(doc_result, &len);
    parses(bn_parse_order(&conn, body, len, &o, on_fill, &got, err, sizeof err),
           "RESULT parsed");
    ok(o.status == BN_ST_FILLED && o.side == BN_SELL && o.type == BN_MARKET &&
           o.tif == BN_GTC,
       "RESULT: FILLED SELL MARKET GTC");
    is_str(bn_order_status_name(o.status), "filled", "FILLED is lutra's filled");
    is_amount(o.orig_qty, 10, 0, "RESULT: origQty 10");
    is_amount(o.executed_qty, 10, 0, "RESULT: executedQty 10");
    is_amount(o.cum_quote_qty, 10, 0, "RESULT: cummulativeQuoteQty 10");
    is_amount(o.price, 0, 0, "RESULT: price 0 (a market order)");

    body = padded(doc_cancel, &len);
    parses(bn_parse_order(&conn, body, len, &o, NULL, NULL, err, sizeof err),
           "cancel answer parsed");
    ok(strcmp(o.orig_client_id, "myOrder1") == 0 &&
           strcmp(o.client_id, "cancelMyOrder1") == 0 && o.status == BN_ST_CANCELED &&
           o.side == BN_BUY && o.type == BN_LIMIT,
       "cancel: origClientOrderId myOrder1, CANCELED BUY LIMIT");
    is_amount(o.price, 2, 0, "cancel: price 2");
    is_str(bn_order_status_name(BN_ST_EXPIRED_IN_MATCH), "expired",
           "EXPIRED_IN_MATCH is lutra's expired");

    body = fixture(full_rel, &len);
    if (!body) {
        skip(ORDER_FIXTURE_TESTS, tap_shared_data_missing(full_rel));
    } else {
        memset(&got, 0, sizeof got);
        parses(bn_parse_order(&conn, body, len, &o, on_fill, &got, err, sizeof err),
           "FULL (fixture) parsed");
        ok(o.nfills == 5 && got.nfills == 5, "FULL: five fills, in order");
        is_amount(got.fills[1].price, 3999, 0, "fill 2: price 3999");
        is_amount(got.fills[1].qty, 5, 0, "fill 2: qty 5");
        is_amount(got.fills[1].commission, 19995, 3, "fill 2: commission 19.995");
        ok(strcmp(got.fills[1].commission_asset, "USDT") == 0 && got.fills[1].trade_id == 57,
           "fill 2: USDT, tradeId 57");
        ok(got.fills[0].trade_id == 56 && got.fills[4].trade_id == 60,
           "fills 1 and 5: tradeIds 56 and 60");
        int64_t v;
        ok(bn_amount_rescale(got.fills[1].commission, 8, &v) == 0 && v == 1999500000 &&
               bn_amount_rescale(got.fills[1].commission, 2, &v) == -1,
           "commission rescales exactly to 8 decimals, refuses 2");
    }

    body = padded("{\"symbol\":\"BTCUSDT\",\"orderId\":\"x\"}", &len);
    ok(bn_parse_order(&conn, body, len, &o, NULL, NULL, err, sizeof err) == -1 &&
           strstr(err, "orderId"),
       "an orderId that is not a number refused: %s", err);
    body = padded("{\"symbol\":\"BTCUSDT\",\"orderId\":1,\"clientOrderId\":\"c\",\"price\":"
                  "\"1.2.3\"}", &len);
    ok(bn_parse_order(&conn, body, len, &o, NULL, NULL, err, sizeof err) == -1 &&
           strstr(err, "1.2.3"),
       "a price that is no decimal refused: %s", err);
}

#define ACCOUNT_FIXTURE_TESTS 8

static void test_open_orders_account(void)
{
    static const char open_rel[] = RAW "crate_spot__http_json__open_orders_response.json";
    static const char acct_rel[] = RAW "pytests_http_responses__http_spot_wallet_account.json";
    collected got;
    size_t len;
    const char *body = fixture(open_rel, &len);

    if (!body) {
        skip(ACCOUNT_FIXTURE_TESTS, tap_shared_data_missing(open_rel));
        return;
    }
    memset(&got, 0, sizeof got);
    parses(bn_parse_open_orders(&conn, body, len, on_order, &got, err, sizeof err),
           "open orders (fixture) parsed");
    const bn_order_state *o = &got.orders[0];
    ok(got.norders == 1 && strcmp(o->symbol, "LTCBTC") == 0 && o->order_id == 1 &&
           strcmp(o->client_id, "myOrder1") == 0 && o->status == BN_ST_NEW,
       "one open order: LTCBTC 1 myOrder1 NEW");
    is_amount(o->price, 1, 1, "its price 0.1");
    is_int(o->time_ms, 1499827319559LL, "its time: updateTime");

    body = fixture(acct_rel, &len);
    if (!body) {
        skip(ACCOUNT_FIXTURE_TESTS - 4, tap_shared_data_missing(acct_rel));
        return;
    }
    parses(bn_parse_account(&conn, body, len, on_balance, &got, err, sizeof err),
           "account (fixture) parsed");
    ok(got.nbalances == 2 && strcmp(got.assets[0], "BTC") == 0 &&
           strcmp(got.assets[1], "LTC") == 0,
       "balances BTC and LTC");
    is_amount(got.free_[0], 472384689208129LL, 8, "BTC free 4723846.89208129");
    is_amount(got.locked[1], 0, 0, "LTC locked 0");
}

static void test_time_key_errors(void)
{
    int64_t ms = 0;
    int code = 0;
    char msg[128], key[80];
    size_t len;
    const char *body = padded("{\"serverTime\": 1499827319559}", &len);

    is_int(bn_parse_server_time(&conn, body, len, &ms, err, sizeof err), 0, "server time");
    is_int(ms, 1499827319559LL, "serverTime read");
    is_int(bn_clock_offset(1000, 1100, 2000), 950,
           "offset: server time minus the request's local midpoint");
    is_int(bn_clock_offset(5000, 5000, 4000), -1000, "a local clock ahead: negative");
    body = padded("{\"serverTime\": \"soon\"}", &len);
    ok(bn_parse_server_time(&conn, body, len, &ms, err, sizeof err) == -1 &&
           strstr(err, "serverTime"),
       "a serverTime that is no number refused: %s", err);

    body = padded("{\"listenKey\":\"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8"
                  "a65a1\"}", &len);
    is_int(bn_parse_listen_key(&conn, body, len, key, sizeof key, err, sizeof err), 0,
           "listenKey answer parsed");
    is_str(key, "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1",
           "listenKey read");

    body = padded("{\"code\":-2010,\"msg\":\"Account has insufficient balance for requested "
                  "action.\"}", &len);
    is_int(bn_parse_error(&conn, body, len, &code, msg, sizeof msg, err, sizeof err), 0,
           "error answer parsed");
    is_int(code, -2010, "its code");
    is_str(msg, "Account has insufficient balance for requested action.", "its msg");
    body = padded("<html>502 Bad Gateway</html>", &len);
    ok(bn_parse_error(&conn, body, len, &code, msg, sizeof msg, err, sizeof err) == -1 &&
           err[0],
       "a body that is not a Binance error refused: %s", err);
}

/* ---- Errors ---- */

static void test_error_reasons(void)
{
    static const struct {
        int code;
        const char *msg, *reason;
        int cls;
    } cases[] = {
        {-2010, "Account has insufficient balance for requested action.",
         "binance -2010 NEW_ORDER_REJECTED: Account has insufficient balance for requested "
         "action.", BN_ERR_REJECTED},
        {-1013, "Filter failure: LOT_SIZE", "binance -1013 INVALID_MESSAGE: Filter failure: "
         "LOT_SIZE (quantity too high, too low, or off the step size)", BN_ERR_REJECTED},
        {-2010, "Filter failure: NOTIONAL", "binance -2010 NEW_ORDER_REJECTED: Filter failure: "
         "NOTIONAL (price * quantity outside the minimum and maximum notional)",
         BN_ERR_REJECTED},
        {-2010, "Order would immediately match and take.", "binance -2010 NEW_ORDER_REJECTED: "
         "Order would immediately match and take.", BN_ERR_REJECTED},
        {-2010, "Duplicate order sent.", "binance -2010 NEW_ORDER_REJECTED: Duplicate order "
         "sent.", BN_ERR_REJECTED},
        {-2011, "Unknown order sent.", "binance -2011 CANCEL_REJECTED: Unknown order sent.",
         BN_ERR_UNKNOWN_ORDER},
        {-2013, "", "binance -2013 NO_SUCH_ORDER: Order does not exist.",
         BN_ERR_UNKNOWN_ORDER},
        {-2010, "This account may not place or cancel orders.", "binance -2010 "
         "NEW_ORDER_REJECTED: This account may not place or cancel orders.", BN_ERR_AUTH},
        {-1021, "Timestamp for this request is outside of the recvWindow.", "binance -1021 "
         "INVALID_TIMESTAMP: Timestamp for this request is outside of the recvWindow.",
         BN_ERR_CLOCK},
        {-1022, "Signature for this request is not valid.", "binance -1022 INVALID_SIGNATURE: "
         "Signature for this request is not valid.", BN_ERR_AUTH},
        {-2015, "Invalid API-key, IP, or permissions for action.", "binance -2015 "
         "REJECTED_MBX_KEY: Invalid API-key, IP, or permissions for action.", BN_ERR_AUTH},
        {-2014, "API-key format invalid.", "binance -2014 BAD_API_KEY_FMT: API-key format "
         "invalid.", BN_ERR_AUTH},
        {-1002, NULL, "binance -1002 UNAUTHORIZED: You are not authorized to execute this "
         "request.", BN_ERR_AUTH},
        {-1003, "Too many requests queued.", "binance -1003 TOO_MANY_REQUESTS: Too many "
         "requests queued.", BN_ERR_RETRY},
        {-1015, "Too many new orders.", "binance -1015 TOO_MANY_ORDERS: Too many new orders.",
         BN_ERR_RETRY},
        {-1001, "Internal error; unable to process your request. Please try again.",
         "binance -1001 DISCONNECTED: Internal error; unable to process your request. Please "
         "try again.", BN_ERR_RETRY},
        {-1007, "Timeout waiting for response from backend server. Send status unknown; "
         "execution status unknown.", "binance -1007 TIMEOUT: Timeout waiting for response "
         "from backend server. Send status unknown; execution status unknown.",
         BN_ERR_OUTCOME_UNKNOWN},
        {-1000, "", "binance -1000 UNKNOWN: An unknown error occurred while processing the "
         "request.", BN_ERR_OUTCOME_UNKNOWN},
        {-1111, "Parameter 'quantity' has too much precision.", "binance -1111 BAD_PRECISION: "
         "Parameter 'quantity' has too much precision.", BN_ERR_REJECTED},
        {-1121, "Invalid symbol.", "binance -1121 BAD_SYMBOL: Invalid symbol.",
         BN_ERR_REJECTED},
        {-2016, "", "binance -2016 NO_TRADING_WINDOW: No trading window could be found for the "
         "symbol.", BN_ERR_REJECTED},
        {-9999, "Something new.", "binance -9999: Something new.", BN_ERR_REJECTED},
    };
    char buf[BN_REASON_MAX];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bn_error_reason(cases[i].code, cases[i].msg, buf, sizeof buf);
        is_str(buf, cases[i].reason, "reason of %d", cases[i].code);
        int cls = bn_error_class(cases[i].code, cases[i].msg);
        ok(cls == cases[i].cls, "%d \"%s\": %s", cases[i].code,
           cases[i].msg ? cases[i].msg : "", bn_error_class_name(cls));
    }

    /* Every code of the docs' list between -1000 and -2016 has its name. */
    static const struct { int code; const char *name; } names[] = {
        {-1000, "UNKNOWN"}, {-1001, "DISCONNECTED"}, {-1002, "UNAUTHORIZED"},
        {-1003, "TOO_MANY_REQUESTS"}, {-1013, "INVALID_MESSAGE"},
        {-1021, "INVALID_TIMESTAMP"}, {-1022, "INVALID_SIGNATURE"}, {-1111, "BAD_PRECISION"},
        {-1121, "BAD_SYMBOL"}, {-2010, "NEW_ORDER_REJECTED"}, {-2011, "CANCEL_REJECTED"},
        {-2013, "NO_SUCH_ORDER"}, {-2014, "BAD_API_KEY_FMT"}, {-2015, "REJECTED_MBX_KEY"},
        {-2016, "NO_TRADING_WINDOW"},
    };
    int named = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        named += bn_error_name(names[i].code) &&
                 strcmp(bn_error_name(names[i].code), names[i].name) == 0;
    is_int(named, (int)(sizeof names / sizeof names[0]), "every documented code named");
    ok(bn_error_name(-9999) == NULL, "an unknown code has no name");

    size_t n = bn_error_reason(-2010, "Account has insufficient balance for requested action.",
                               buf, 20);
    ok(n == 19 && strlen(buf) == 19, "a reason is cut to its buffer");

    ok(bn_http_class(200) == 0 && bn_http_class(429) == BN_ERR_RETRY &&
           bn_http_class(418) == BN_ERR_RETRY && bn_http_class(503) == BN_ERR_OUTCOME_UNKNOWN &&
           bn_http_class(400) == BN_ERR_REJECTED && bn_http_class(403) == BN_ERR_AUTH,
       "HTTP statuses: 2xx fine, 429/418 retry, 5xx outcome unknown, 400 rejected, 403 auth");
}

/* ---- Rate limits ---- */

static void test_rate_limits(void)
{
    const int64_t minute = 60000LL * 28333334; /* a minute's start, 2023-11-14 */
    int64_t now = minute + 10000;
    bn_ratelimit rl;

    bn_ratelimit_init(&rl);
    ok(rl.n == 3 && bn_ratelimit_wait(&rl, 1, 1, now) == 0, "documented defaults: send now");
    bn_ratelimit_set(&rl, BN_LIMIT_WEIGHT, 60000, 1200);
    bn_ratelimit_set(&rl, BN_LIMIT_ORDERS, 10000, 50);
    bn_ratelimit_set(&rl, BN_LIMIT_ORDERS, 86400000, 160000);

    static const char h[] = "x-mbx-used-weight-1m";
    is_int(bn_ratelimit_header(&rl, h, strlen(h), "1195", 4, now), 1,
           "X-MBX-USED-WEIGHT-1M read, case-insensitive");
    is_int(bn_ratelimit_wait(&rl, 5, 0, now), 0, "1195 + 5 fits 1200: send now");
    /* A request may reach the server's clock up to BN_RATE_EARLY_MS
     * earlier than ours: it goes once the full minute is that far behind. */
    const int64_t early = BN_RATE_EARLY_MS;
    is_int(bn_ratelimit_wait(&rl, 6, 0, now), 50000 + early,
           "1195 + 6 does not: wait for the minute, and the early margin");
    bn_ratelimit_spend(&rl, 5, 0, now);
    is_int(bn_ratelimit_wait(&rl, 1, 0, now + 1000), 49000 + early, "after spending 5: full");
    static const char h2[] = "X-MBX-USED-WEIGHT-1M";
    bn_ratelimit_header(&rl, h2, strlen(h2), " 1100 ", 6, now + 2000);
    is_int(bn_ratelimit_wait(&rl, 1, 0, now + 2000), 48000 + early,
           "a lower count from an earlier answer does not undo ours");
    is_int(bn_ratelimit_wait(&rl, 1, 0, minute + 60000), early,
           "at the minute's turn, the full minute may still be the server's");
    is_int(bn_ratelimit_wait(&rl, 1, 0, minute + 60000 + early), 0,
           "the next minute starts afresh once the margin is past");
    bn_ratelimit_header(&rl, h2, strlen(h2), "1200", 4, minute + 60001 + early);
    is_int(bn_ratelimit_wait(&rl, 1, 0, minute + 60001 + early), 59999,
           "the server's count in a new window is taken");
    is_int(bn_ratelimit_wait(&rl, 1300, 0, minute + 60001), -1,
           "heavier than the limit: never");

    static const char o10[] = "X-MBX-ORDER-COUNT-10S", o1d[] = "X-MBX-ORDER-COUNT-1D";
    now = minute + 3000;
    is_int(bn_ratelimit_header(&rl, o10, strlen(o10), "50", 2, now), 1,
           "X-MBX-ORDER-COUNT-10S read");
    is_int(bn_ratelimit_wait(&rl, 0, 1, now), 7000 + early,
           "50 orders in 10 s: the next in 7 s (and the margin)");
    is_int(bn_ratelimit_wait(&rl, 0, 0, now), 0, "a request that places no order goes");
    bn_ratelimit_header(&rl, o1d, strlen(o1d), "160000", 6, now);
    int64_t day_end = (now / 86400000 + 1) * 86400000;
    is_int(bn_ratelimit_wait(&rl, 0, 1, now), day_end - now + early,
           "160000 orders today: wait for the day's end");

    static const char ct[] = "Content-Type", w5[] = "X-MBX-USED-WEIGHT-5M";
    is_int(bn_ratelimit_header(&rl, ct, strlen(ct), "1", 1, now), 0, "other headers ignored");
    is_int(bn_ratelimit_header(&rl, w5, strlen(w5), "1", 1, now), 0,
           "a window no limiter has: ignored");
    is_int(bn_ratelimit_header(&rl, h2, strlen(h2), "12a", 3, now), -1,
           "a count that is not a number: -1");
}

/* A limiter of 10 orders a second that has counted `first` orders sent at
 * t1, then `then` more at t2. */
static bn_ratelimit ten_a_second(int first, int64_t t1, int then, int64_t t2)
{
    bn_ratelimit rl;

    memset(&rl, 0, sizeof rl);
    bn_ratelimit_set(&rl, BN_LIMIT_ORDERS, 1000, 10);
    for (int i = 0; i < first + then; i++)
        bn_ratelimit_spend(&rl, 0, 1, i < first ? t1 : t2);
    return rl;
}

/* A request counts in every window its time on the server may fall in:
 * up to BN_RATE_EARLY_MS before ours, BN_RATE_LATE_MS after. */
static void test_rate_window_edges(void)
{
    const int64_t second = 1700000000000LL; /* a second's start */
    bn_ratelimit rl;

    rl = ten_a_second(10, second + 1000 - BN_RATE_LATE_MS / 2, 0, 0);
    is_int(bn_ratelimit_wait(&rl, 0, 1, second + 1000 + BN_RATE_EARLY_MS), 1000,
           "ten orders sent just before a second's end may reach the next: it is full too, "
           "the eleventh waits for the one after");
    is_int(bn_ratelimit_wait(&rl, 0, 1, second + 2000 + BN_RATE_EARLY_MS), 0,
           "and goes then");

    rl = ten_a_second(10, second + 500, 0, 0);
    is_int(bn_ratelimit_wait(&rl, 0, 1, second + 600), 400 + BN_RATE_EARLY_MS,
           "ten orders in mid-second fill only that second: the next goes once it is surely over");
    is_int(bn_ratelimit_wait(&rl, 0, 1, second + 1000 + BN_RATE_EARLY_MS), 0,
           "the next second holds none of them");

    rl = ten_a_second(5, second + 1000 + BN_RATE_EARLY_MS / 2, 5, second + 1500);
    is_int(bn_ratelimit_wait(&rl, 0, 1, second + 1600), 400 + BN_RATE_EARLY_MS,
           "orders sent just after a second began count in it, whichever side they reach");
}

static void test_backoff(void)
{
    const int64_t now = 1700000000000LL;
    bn_ratelimit rl;

    bn_ratelimit_init(&rl);
    is_int(bn_ratelimit_backoff(&rl, 429, "7", 1, now), now + 7000,
           "429 Retry-After 7: no request for 7 s");
    is_int(bn_ratelimit_wait(&rl, 1, 0, now + 2000), 5000, "5 s left after 2 s");
    is_int(bn_ratelimit_backoff(&rl, 429, "1", 1, now + 1000), now + 7000,
           "a shorter Retry-After does not move the deadline earlier");
    is_int(bn_ratelimit_backoff(&rl, 418, NULL, 0, now), now + 120000,
           "418 without Retry-After: the shortest ban, 2 minutes");
    is_int(bn_ratelimit_backoff(&rl, 418, "999999999", 9, now), now + 3 * 86400000LL,
           "a Retry-After beyond the longest ban is held to 3 days");
    is_int(bn_ratelimit_backoff(&rl, 500, "5", 1, now), 0, "a 500 is no back-off");
    is_int(bn_ratelimit_wait(&rl, 1, 0, now + 3 * 86400000LL), 0, "over once the ban ends");
}

int main(void)
{
    setup();
    auth_setup();
    test_signatures();
    test_query_encoding();
    test_new_order();
    test_other_requests();
    test_exchange_info_fixture();
    test_exchange_info_shapes();
    test_orders();
    test_open_orders_account();
    test_time_key_errors();
    test_error_reasons();
    test_rate_limits();
    test_rate_window_edges();
    test_backoff();
    bn_signer_free(auth.signer);
    json_parser_free(conn.jp);
    return done();
}
