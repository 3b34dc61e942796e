/*
 * mock_rest.c -- the REST endpoints of the mock Binance (see mock_rest.h);
 * payloads follow binance-spot-api-docs' rest-api.md.
 */
#include "mock_rest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "fixed.h"

/* Append a string literal. */
#define ADD_LIT(b, lit) evbuffer_add((b), (lit), sizeof(lit) - 1)

#define DEPTH_DEFAULT 100
#define DEPTH_MAX 5000
#define OPEN_ORDERS_MAX 1000
#define MY_TRADES_DEFAULT 500
#define MY_TRADES_MAX 1000
#define ALL_ORDERS_DEFAULT 500
#define ALL_ORDERS_MAX 1000

static int64_t next_listen_key_seed = 1;

/* ---- Helpers ---- */

const char *mrest_param(const mrest_call *call, const char *key)
{
    const char *v = call->query ? evhttp_find_header(call->query, key) : NULL;
    if (!v && call->body)
        v = evhttp_find_header(call->body, key);
    return v;
}

void mrest_error(struct evbuffer *out, int code, const char *msg)
{
    evbuffer_drain(out, evbuffer_get_length(out));
    evbuffer_add_printf(out, "{\"code\":%d,\"msg\":\"", code);
    for (const char *p = msg; *p; p++) {
        if (*p == '"' || *p == '\\')
            ADD_LIT(out, "\\");
        evbuffer_add(out, p, 1);
    }
    ADD_LIT(out, "\"}");
}

static int fail(mrest_call *c, int status, int code, const char *msg)
{
    mrest_error(c->out, code, msg);
    return status;
}

static int missing(mrest_call *c, const char *param)
{
    char msg[128];
    snprintf(msg, sizeof msg, "Mandatory parameter '%s' was not sent, was empty/null, or "
             "malformed.", param);
    return fail(c, 400, -1102, msg);
}

static int rejected(mrest_call *c, const mexch_reject *rej)
{
    return fail(c, rej->http_status, rej->code, rej->msg);
}

static void add_dec(struct evbuffer *b, const char *key, int64_t v)
{
    char s[FIXED_STR_MAX];
    fixed_format(v, MEXCH_SCALE, s, sizeof s);
    evbuffer_add_printf(b, "\"%s\":\"%s\"", key, s);
}

/* The symbol parameter's index; answers the error itself when it fails. */
static int symbol_of(mrest_call *c, int *status)
{
    const char *s = mrest_param(c, "symbol");
    int sym;

    if (!s || !*s) {
        *status = missing(c, "symbol");
        return -1;
    }
    sym = mexch_symbol_find(c->x, s);
    if (sym < 0)
        *status = fail(c, 400, -1121, "Invalid symbol.");
    return sym;
}

/* price .. side: the fields every order answer shares. */
static void add_order_core(struct evbuffer *b, const mexch_order *o)
{
    add_dec(b, "price", o->price);
    ADD_LIT(b, ",");
    add_dec(b, "origQty", o->qty);
    ADD_LIT(b, ",");
    add_dec(b, "executedQty", o->filled);
    ADD_LIT(b, ",");
    add_dec(b, "cummulativeQuoteQty", o->quote_filled);
    evbuffer_add_printf(b, ",\"status\":\"%s\",\"timeInForce\":\"%s\",\"type\":\"%s\","
                        "\"side\":\"%s\"", mexch_status_name(o->status),
                        mexch_tif_name(o->tif), mexch_type_name(o->type),
                        mexch_side_name(o->side));
}

/* An order as GET /api/v3/order and openOrders show it. */
static void add_order_query(mrest_call *c, const mexch_order *o)
{
    mexch_symbol_info info;
    mexch_symbol_get(c->x, o->symbol, &info);
    evbuffer_add_printf(c->out, "{\"symbol\":\"%s\",\"orderId\":%" PRIu64 ",\"orderListId\":-1,"
                        "\"clientOrderId\":\"%s\",", info.symbol, o->order_id, o->client_id);
    add_order_core(c->out, o);
    evbuffer_add_printf(c->out, ",\"stopPrice\":\"0.00000000\",\"icebergQty\":\"0.00000000\","
                        "\"time\":%" PRId64 ",\"updateTime\":%" PRId64 ",\"isWorking\":%s,"
                        "\"workingTime\":%" PRId64 ",\"origQuoteOrderQty\":\"0.00000000\","
                        "\"selfTradePreventionMode\":\"NONE\"}",
                        o->time_ms, o->update_ms, o->working ? "true" : "false",
                        o->type == MEXCH_MARKET ? INT64_C(-1) : o->time_ms);
}

/* ---- Market data ---- */

static int do_ping(mrest_call *c)
{
    ADD_LIT(c->out, "{}");
    return 200;
}

static int do_time(mrest_call *c)
{
    evbuffer_add_printf(c->out, "{\"serverTime\":%" PRId64 "}", c->now_ms);
    return 200;
}

static void add_symbol_info(mrest_call *c, int sym)
{
    mexch_symbol_info s;
    struct evbuffer *b = c->out;

    mexch_symbol_get(c->x, sym, &s);
    evbuffer_add_printf(b, "{\"symbol\":\"%s\",\"status\":\"TRADING\",\"baseAsset\":\"%s\","
                        "\"baseAssetPrecision\":8,\"quoteAsset\":\"%s\",\"quotePrecision\":8,"
                        "\"quoteAssetPrecision\":8,\"baseCommissionPrecision\":8,"
                        "\"quoteCommissionPrecision\":8,"
                        "\"orderTypes\":[\"LIMIT\",\"LIMIT_MAKER\",\"MARKET\"],"
                        "\"icebergAllowed\":false,\"ocoAllowed\":false,\"otoAllowed\":false,"
                        "\"quoteOrderQtyMarketAllowed\":false,\"allowTrailingStop\":false,"
                        "\"cancelReplaceAllowed\":false,\"isSpotTradingAllowed\":true,"
                        "\"isMarginTradingAllowed\":false,\"filters\":[",
                        s.symbol, s.base, s.quote);
    evbuffer_add_printf(b, "{\"filterType\":\"PRICE_FILTER\",");
    add_dec(b, "minPrice", s.tick);
    evbuffer_add_printf(b, ",\"maxPrice\":\"1000000.00000000\",");
    add_dec(b, "tickSize", s.tick);
    for (int market = 0; market < 2; market++) {
        evbuffer_add_printf(b, "},{\"filterType\":\"%s\",", market ? "MARKET_LOT_SIZE" : "LOT_SIZE");
        add_dec(b, "minQty", s.min_qty);
        ADD_LIT(b, ",");
        add_dec(b, "maxQty", s.max_qty);
        ADD_LIT(b, ",");
        add_dec(b, "stepSize", s.step);
    }
    evbuffer_add_printf(b, "},{\"filterType\":\"NOTIONAL\",");
    add_dec(b, "minNotional", s.min_notional);
    ADD_LIT(b, ",\"applyMinToMarket\":false,");
    add_dec(b, "maxNotional", s.max_notional);
    evbuffer_add_printf(b, ",\"applyMaxToMarket\":false,\"avgPriceMins\":5}],"
                        "\"permissions\":[],\"permissionSets\":[[\"SPOT\"]],"
                        "\"defaultSelfTradePreventionMode\":\"NONE\","
                        "\"allowedSelfTradePreventionModes\":[\"NONE\"]}");
}

/* Which symbols exchangeInfo lists: symbol=X, symbols=["X","Y"], or all.
 * @return how many went to want (-1: an unknown name, answered). */
static int info_selection(mrest_call *c, int *want, size_t cap, int *status)
{
    const char *one = mrest_param(c, "symbol"), *many = mrest_param(c, "symbols");
    int n = 0;

    if (one) {
        want[0] = mexch_symbol_find(c->x, one);
        if (want[0] < 0) {
            *status = fail(c, 400, -1121, "Invalid symbol.");
            return -1;
        }
        return 1;
    }
    if (!many) {
        for (size_t i = 0; i < mexch_symbol_count(c->x) && i < cap; i++)
            want[n++] = (int)i;
        return n;
    }
    /* ["BTCUSDT","ETHUSDT"]: the names between quotes */
    for (const char *p = strchr(many, '"'); p && (size_t)n < cap; p = strchr(p + 1, '"')) {
        const char *end = strchr(p + 1, '"');
        char name[32];
        if (!end || end - p - 1 >= (long)sizeof name)
            break;
        snprintf(name, sizeof name, "%.*s", (int)(end - p - 1), p + 1);
        want[n] = mexch_symbol_find(c->x, name);
        if (want[n++] < 0) {
            *status = fail(c, 400, -1121, "Invalid symbol.");
            return -1;
        }
        p = end;
    }
    return n;
}

static int do_exchange_info(mrest_call *c)
{
    int want[64], status = 200;
    int n = info_selection(c, want, 64, &status);

    if (n < 0)
        return status;
    int minute = c->weight_interval_s <= 0 || c->weight_interval_s == 60;

    evbuffer_add_printf(c->out, "{\"timezone\":\"UTC\",\"serverTime\":%" PRId64 ",\"rateLimits\":["
                        "{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"%s\","
                        "\"intervalNum\":%d,\"limit\":%" PRId64 "},"
                        "{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,"
                        "\"limit\":100},"
                        "{\"rateLimitType\":\"ORDERS\",\"interval\":\"DAY\",\"intervalNum\":1,"
                        "\"limit\":200000},"
                        "{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\","
                        "\"intervalNum\":5,\"limit\":61000}],\"exchangeFilters\":[],\"symbols\":[",
                        c->now_ms, minute ? "MINUTE" : "SECOND",
                        minute ? 1 : c->weight_interval_s, c->weight_limit);
    for (int i = 0; i < n; i++) {
        if (i)
            ADD_LIT(c->out, ",");
        add_symbol_info(c, want[i]);
    }
    ADD_LIT(c->out, "]}");
    return 200;
}

static long depth_limit(const mrest_call *c)
{
    const char *s = mrest_param(c, "limit");
    long n = s ? strtol(s, NULL, 10) : DEPTH_DEFAULT;
    if (n <= 0)
        n = DEPTH_DEFAULT;
    return n > DEPTH_MAX ? DEPTH_MAX : n;
}

static void add_levels(mrest_call *c, int sym, int is_bid, long limit)
{
    int64_t *prices = malloc((size_t)limit * sizeof *prices);
    int64_t *qtys = malloc((size_t)limit * sizeof *qtys);
    size_t n = prices && qtys ? mexch_depth(c->x, sym, is_bid, prices, qtys, (size_t)limit) : 0;
    char p[FIXED_STR_MAX], q[FIXED_STR_MAX];

    ADD_LIT(c->out, "[");
    for (size_t i = 0; i < n; i++) {
        fixed_format(prices[i], MEXCH_SCALE, p, sizeof p);
        fixed_format(qtys[i], MEXCH_SCALE, q, sizeof q);
        evbuffer_add_printf(c->out, "%s[\"%s\",\"%s\"]", i ? "," : "", p, q);
    }
    ADD_LIT(c->out, "]");
    free(prices);
    free(qtys);
}

static int do_depth(mrest_call *c)
{
    int status = 200;
    int sym = symbol_of(c, &status);
    long limit = depth_limit(c);

    if (sym < 0)
        return status;
    evbuffer_add_printf(c->out, "{\"lastUpdateId\":%" PRIu64 ",\"bids\":",
                        mexch_update_id(c->x, sym));
    add_levels(c, sym, 1, limit);
    ADD_LIT(c->out, ",\"asks\":");
    add_levels(c, sym, 0, limit);
    ADD_LIT(c->out, "}");
    return 200;
}

/* ---- Orders ---- */

static void add_fills(mrest_call *c, const mexch_order *o, const mexch_fill *fills, size_t n)
{
    mexch_symbol_info info;
    mexch_symbol_get(c->x, o->symbol, &info);
    ADD_LIT(c->out, ",\"fills\":[");
    for (size_t i = 0; i < n; i++) {
        evbuffer_add(c->out, i ? ",{" : "{", i ? 2 : 1);
        add_dec(c->out, "price", fills[i].price);
        ADD_LIT(c->out, ",");
        add_dec(c->out, "qty", fills[i].qty);
        ADD_LIT(c->out, ",");
        add_dec(c->out, "commission", fills[i].commission);
        evbuffer_add_printf(c->out, ",\"commissionAsset\":\"%s\",\"tradeId\":%" PRIu64 "}",
                            o->side == MEXCH_BUY ? info.base : info.quote, fills[i].trade_id);
    }
    ADD_LIT(c->out, "]");
}

static int do_new_order(mrest_call *c)
{
    mexch_new_order req = {
        mrest_param(c, "symbol"), mrest_param(c, "side"), mrest_param(c, "type"),
        mrest_param(c, "timeInForce"), mrest_param(c, "quantity"), mrest_param(c, "price"),
        mrest_param(c, "newClientOrderId"),
    };
    const char *resp = mrest_param(c, "newOrderRespType");
    const mexch_order *o;
    const mexch_fill *fills;
    size_t nfills;
    mexch_reject rej;
    int full, result;

    if (resp && strcmp(resp, "ACK") && strcmp(resp, "RESULT") && strcmp(resp, "FULL"))
        return fail(c, 400, -1100, "Illegal characters found in parameter 'newOrderRespType'; "
                    "legal range is 'ACK, RESULT, FULL'.");
    if (mexch_place(c->x, &req, &o, &fills, &nfills, &rej) != 0)
        return rejected(c, &rej);
    if (!resp) /* documented default: FULL for LIMIT and MARKET, ACK otherwise */
        resp = o->type == MEXCH_LIMIT_MAKER ? "ACK" : "FULL";
    full = strcmp(resp, "FULL") == 0;
    result = full || strcmp(resp, "RESULT") == 0;
    evbuffer_add_printf(c->out, "{\"symbol\":\"%s\",\"orderId\":%" PRIu64 ",\"orderListId\":-1,"
                        "\"clientOrderId\":\"%s\",\"transactTime\":%" PRId64,
                        req.symbol, o->order_id, o->client_id, o->time_ms);
    if (result) {
        ADD_LIT(c->out, ",");
        add_order_core(c->out, o);
        evbuffer_add_printf(c->out, ",\"origQuoteOrderQty\":\"0.00000000\",\"workingTime\":%" PRId64
                            ",\"selfTradePreventionMode\":\"NONE\"",
                            o->type == MEXCH_MARKET ? INT64_C(-1) : o->time_ms);
    }
    if (full)
        add_fills(c, o, fills, nfills);
    ADD_LIT(c->out, "}");
    return 200;
}

/* orderId and origClientOrderId of a cancel or query; answers when both lack. */
static int order_ref(mrest_call *c, uint64_t *id, const char **client, int *status)
{
    const char *s = mrest_param(c, "orderId");
    *client = mrest_param(c, "origClientOrderId");
    *id = s ? strtoull(s, NULL, 10) : 0;
    if (*id || (*client && **client))
        return 0;
    *status = fail(c, 400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but "
                   "both were empty/null!");
    return -1;
}

static int do_cancel(mrest_call *c)
{
    int status = 200;
    int sym = symbol_of(c, &status);
    uint64_t id;
    const char *client;
    const mexch_order *o;
    mexch_reject rej;

    if (sym < 0 || order_ref(c, &id, &client, &status) != 0)
        return status;
    if (mexch_cancel(c->x, sym, id, client, mrest_param(c, "newClientOrderId"), &o, &rej) != 0)
        return rejected(c, &rej);
    evbuffer_add_printf(c->out, "{\"symbol\":\"%s\",\"origClientOrderId\":\"%s\",\"orderId\":%" PRIu64
                        ",\"orderListId\":-1,\"clientOrderId\":\"%s\",\"transactTime\":%" PRId64 ",",
                        mrest_param(c, "symbol"), o->client_id, o->order_id,
                        mrest_param(c, "newClientOrderId") ? mrest_param(c, "newClientOrderId")
                                                           : o->client_id,
                        c->now_ms);
    add_order_core(c->out, o);
    ADD_LIT(c->out, ",\"origQuoteOrderQty\":\"0.00000000\",\"selfTradePreventionMode\":\"NONE\"}");
    return 200;
}

static int do_query_order(mrest_call *c)
{
    int status = 200;
    int sym = symbol_of(c, &status);
    uint64_t id;
    const char *client;
    const mexch_order *o;

    if (sym < 0 || order_ref(c, &id, &client, &status) != 0)
        return status;
    o = mexch_find(c->x, sym, id, client);
    if (!o)
        return fail(c, 400, -2013, "Order does not exist.");
    add_order_query(c, o);
    return 200;
}

static void add_order_list(mrest_call *c, const mexch_order **list, size_t n)
{
    ADD_LIT(c->out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            ADD_LIT(c->out, ",");
        add_order_query(c, list[i]);
    }
    ADD_LIT(c->out, "]");
}

static int do_open_orders(mrest_call *c)
{
    const mexch_order **list = malloc(OPEN_ORDERS_MAX * sizeof *list);
    int status = 200, sym = -1;
    size_t n;

    if (!list)
        return fail(c, 500, -1000, "An unknown error occurred while processing the request.");
    if (mrest_param(c, "symbol") && (sym = symbol_of(c, &status)) < 0) {
        free(list);
        return status;
    }
    n = mexch_open_orders(c->x, sym, list, OPEN_ORDERS_MAX);
    add_order_list(c, list, n);
    free(list);
    return 200;
}

/* A whole-number parameter; absent is dflt. @return 0, or -1 answered. */
static int param_count(mrest_call *c, const char *key, int64_t dflt, int64_t *out, int *status)
{
    const char *s = mrest_param(c, key);
    char *end;

    *out = dflt;
    if (!s)
        return 0;
    *out = strtoll(s, &end, 10);
    if (*s && !*end && *out >= 0)
        return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "Illegal characters found in parameter '%s'; legal range is "
             "'^[0-9]{1,20}$'.", key);
    *status = fail(c, 400, -1100, msg);
    return -1;
}

/* A limit parameter: absent or below 1 is dflt, above max is max. */
static int64_t clamp_limit(int64_t limit, int64_t dflt, int64_t max)
{
    return limit < 1 ? dflt : limit > max ? max : limit;
}

/* symbol, and orderId (from that order on, else the most recent) and limit
 * as documented; startTime and endTime are not served. */
static int do_all_orders(mrest_call *c)
{
    const mexch_order *list[ALL_ORDERS_MAX];
    int status = 200;
    int sym = symbol_of(c, &status);
    int64_t from_id, limit;

    if (sym < 0 || param_count(c, "orderId", 0, &from_id, &status) != 0 ||
        param_count(c, "limit", ALL_ORDERS_DEFAULT, &limit, &status) != 0)
        return status;
    limit = clamp_limit(limit, ALL_ORDERS_DEFAULT, ALL_ORDERS_MAX);
    add_order_list(c, list, mexch_all_orders(c->x, sym, (uint64_t)from_id, list, (size_t)limit));
    return 200;
}

static void add_my_trade(mrest_call *c, const mexch_trade *t)
{
    mexch_symbol_info info;

    mexch_symbol_get(c->x, t->symbol, &info);
    evbuffer_add_printf(c->out, "{\"symbol\":\"%s\",\"id\":%" PRIu64 ",\"orderId\":%" PRIu64
                        ",\"orderListId\":-1,", info.symbol, t->trade_id, t->order_id);
    add_dec(c->out, "price", t->price);
    ADD_LIT(c->out, ",");
    add_dec(c->out, "qty", t->qty);
    ADD_LIT(c->out, ",");
    add_dec(c->out, "quoteQty", t->quote_qty);
    ADD_LIT(c->out, ",");
    add_dec(c->out, "commission", t->commission);
    evbuffer_add_printf(c->out, ",\"commissionAsset\":\"%s\",\"time\":%" PRId64
                        ",\"isBuyer\":%s,\"isMaker\":%s,\"isBestMatch\":true}",
                        t->is_buyer ? info.base : info.quote, t->time_ms,
                        t->is_buyer ? "true" : "false", t->is_maker ? "true" : "false");
}

/* symbol, and orderId, fromId, limit as documented; startTime and endTime
 * are not served. */
static int do_my_trades(mrest_call *c)
{
    const mexch_trade *list[MY_TRADES_MAX];
    int status = 200;
    int sym = symbol_of(c, &status);
    int64_t order_id, from_id, limit;
    size_t n;

    if (sym < 0 || param_count(c, "orderId", 0, &order_id, &status) != 0 ||
        param_count(c, "fromId", -1, &from_id, &status) != 0 ||
        param_count(c, "limit", MY_TRADES_DEFAULT, &limit, &status) != 0)
        return status;
    limit = clamp_limit(limit, MY_TRADES_DEFAULT, MY_TRADES_MAX);
    n = mexch_my_trades(c->x, sym, (uint64_t)order_id, from_id, list, (size_t)limit);
    ADD_LIT(c->out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            ADD_LIT(c->out, ",");
        add_my_trade(c, list[i]);
    }
    ADD_LIT(c->out, "]");
    return 200;
}

static int do_account(mrest_call *c)
{
    int omit_zero = mrest_param(c, "omitZeroBalances") &&
                    strcmp(mrest_param(c, "omitZeroBalances"), "true") == 0;
    int first = 1;

    evbuffer_add_printf(c->out, "{\"makerCommission\":0,\"takerCommission\":0,\"buyerCommission\":0,"
                        "\"sellerCommission\":0,\"commissionRates\":{\"maker\":\"0.00000000\","
                        "\"taker\":\"0.00000000\",\"buyer\":\"0.00000000\",\"seller\":\"0.00000000\"},"
                        "\"canTrade\":true,\"canWithdraw\":true,\"canDeposit\":true,"
                        "\"brokered\":false,\"requireSelfTradePrevention\":false,\"preventSor\":false,"
                        "\"updateTime\":%" PRId64 ",\"accountType\":\"SPOT\",\"balances\":[",
                        c->now_ms);
    for (size_t i = 0; i < mexch_asset_count(c->x); i++) {
        const char *name = mexch_asset_name(c->x, i);
        int64_t f, l;
        mexch_balance(c->x, name, &f, &l);
        if (omit_zero && f == 0 && l == 0)
            continue;
        evbuffer_add_printf(c->out, "%s{\"asset\":\"%s\",", first ? "" : ",", name);
        add_dec(c->out, "free", f);
        ADD_LIT(c->out, ",");
        add_dec(c->out, "locked", l);
        ADD_LIT(c->out, "}");
        first = 0;
    }
    ADD_LIT(c->out, "],\"permissions\":[\"SPOT\"],\"uid\":1}");
    return 200;
}

/* ---- User data stream (listenKey) ---- */

/* As documented, an account with an active listenKey gets that one back
 * (the mock has one account), so clients that never close theirs (a
 * killed process) do not pile keys up. */
static int do_listen_key_new(mrest_call *c)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char key[65];
    uint64_t v = (uint64_t)c->now_ms * 6364136223846793005ULL + (uint64_t)next_listen_key_seed++;

    if (mws_listen_key(c->ws, key, sizeof key)) {
        evbuffer_add_printf(c->out, "{\"listenKey\":\"%s\"}", key);
        return 200;
    }
    for (int i = 0; i < 64; i++) {
        v = v * 6364136223846793005ULL + 1442695040888963407ULL;
        key[i] = alphabet[(v >> 33) % (sizeof alphabet - 1)];
    }
    key[64] = 0;
    if (mws_add_listen_key(c->ws, key) != 0)
        return fail(c, 400, -1000, "An unknown error occurred while processing the request.");
    evbuffer_add_printf(c->out, "{\"listenKey\":\"%s\"}", key);
    return 200;
}

static int listen_key_known(mrest_call *c, const char **key, int *status)
{
    *key = mrest_param(c, "listenKey");
    if (!*key || !**key) {
        *status = missing(c, "listenKey");
        return 0;
    }
    if (!mws_has_listen_key(c->ws, *key)) {
        *status = fail(c, 400, -1125, "This listenKey does not exist.");
        return 0;
    }
    return 1;
}

static int do_listen_key_keepalive(mrest_call *c)
{
    const char *key;
    int status = 200;
    if (!listen_key_known(c, &key, &status))
        return status;
    ADD_LIT(c->out, "{}");
    return 200;
}

static int do_listen_key_close(mrest_call *c)
{
    const char *key;
    int status = 200;
    if (!listen_key_known(c, &key, &status))
        return status;
    mws_remove_listen_key(c->ws, key);
    ADD_LIT(c->out, "{}");
    return 200;
}

/* ---- Routes ---- */

static const mrest_route routes[] = {
    {"GET", "/api/v3/ping", MREST_NONE, 1, 0, do_ping},
    {"GET", "/api/v3/time", MREST_NONE, 1, 0, do_time},
    {"GET", "/api/v3/exchangeInfo", MREST_NONE, 20, 0, do_exchange_info},
    {"GET", "/api/v3/depth", MREST_NONE, 5, 0, do_depth},
    {"POST", "/api/v3/order", MREST_SIGNED, 1, 1, do_new_order},
    {"DELETE", "/api/v3/order", MREST_SIGNED, 1, 0, do_cancel},
    {"GET", "/api/v3/order", MREST_SIGNED, 4, 0, do_query_order},
    {"GET", "/api/v3/openOrders", MREST_SIGNED, 6, 0, do_open_orders},
    {"GET", "/api/v3/allOrders", MREST_SIGNED, 20, 0, do_all_orders},
    {"GET", "/api/v3/account", MREST_SIGNED, 20, 0, do_account},
    {"GET", "/api/v3/myTrades", MREST_SIGNED, 20, 0, do_my_trades},
    {"POST", "/api/v3/userDataStream", MREST_API_KEY, 2, 0, do_listen_key_new},
    {"PUT", "/api/v3/userDataStream", MREST_API_KEY, 2, 0, do_listen_key_keepalive},
    {"DELETE", "/api/v3/userDataStream", MREST_API_KEY, 2, 0, do_listen_key_close},
};

const mrest_route *mrest_find(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (strcmp(routes[i].method, method) == 0 && strcmp(routes[i].path, path) == 0)
            return &routes[i];
    return NULL;
}

int mrest_weight(const mrest_route *r, const mrest_call *call)
{
    if (r->handle == do_depth) {
        long limit = depth_limit(call);
        return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    }
    if (r->handle == do_open_orders && !mrest_param(call, "symbol"))
        return 80;
    if (r->handle == do_my_trades && mrest_param(call, "orderId"))
        return 5;
    return r->weight;
}
