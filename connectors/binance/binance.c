/*
 * binance.c -- the Binance connector plugin: its table, its configuration,
 * the symbols it has seen and their instruments.
 *
 * Configuration keys (all optional):
 *   venue   instrument venue name, default "binance"
 *   symbol  the symbol a bare REST depth snapshot belongs to; without it, the
 *           only symbol whose depth stream was seen so far
 *   tick    price increment as a decimal string ("0.01"); default: one unit
 *           of the decimals Binance sends in the first price of a symbol
 *   lot     size increment, likewise from the first quantity
 *   market  "spot" or "usdm"; default: learned from the messages
 *
 * Live (binance_live.c), also: rest_url, ws_url, symbols (comma- or
 * space-separated; default the key symbol), and the secrets api_key and
 * api_secret (without them: market data only, no order entry).
 *
 * Only the host API table is used: this file never calls core functions.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "binance.h"

#ifndef LUTRA_PLUGIN_VERSION
#define LUTRA_PLUGIN_VERSION "0"
#endif

/* ---- Symbols ---- */

bn_symbol *bn_symbol_get(bn_conn *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->nsyms; i++) {
        bn_symbol *s = c->syms[i];
        if (strncmp(s->name, name, len) == 0 && s->name[len] == '\0')
            return s;
    }
    if (len == 0 || len >= LUTRA_SYMBOL_MAX) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "bad symbol symbol=\"%.*s\" max_len=%d",
                    (int)(len > 64 ? 64 : len), name, LUTRA_SYMBOL_MAX - 1);
        return NULL;
    }
    if (c->nsyms == c->syms_cap) {
        size_t cap = c->syms_cap ? c->syms_cap * 2 : 4;
        bn_symbol **grown = realloc(c->syms, cap * sizeof *grown);
        if (!grown)
            goto oom;
        c->syms = grown;
        c->syms_cap = cap;
    }
    bn_symbol *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    memcpy(s->name, name, len);
    s->instrument = -1;
    c->syms[c->nsyms++] = s;
    return s;
oom:
    c->api->log(c->host, LUTRA_LOG_ERROR, "out of memory adding symbol=%.*s", (int)len, name);
    return NULL;
}

/*
 * A REST depth body names no symbol: it is the configured one, else the one
 * symbol whose depth stream was seen. Guessing among several would build a
 * book from another symbol's levels.
 */
/*
 * A REST snapshot body does not name its symbol. It belongs to the config's
 * symbol if set; else to the one symbol whose depth stream is waiting for a
 * snapshot (seen, not synchronised), as when one capture holds one symbol or
 * one file of a capture follows another; else to the only depth stream seen.
 */
bn_symbol *bn_symbol_for_snapshot(bn_conn *c)
{
    bn_symbol *waiting = NULL, *seen = NULL;
    size_t nwaiting = 0, nseen = 0;

    if (c->snapshot_symbol[0])
        return bn_symbol_get(c, c->snapshot_symbol, strlen(c->snapshot_symbol));
    for (size_t i = 0; i < c->nsyms; i++) {
        if (!c->syms[i]->depth_seen)
            continue;
        seen = c->syms[i];
        nseen++;
        if (!seen->synced) {
            waiting = seen;
            nwaiting++;
        }
    }
    if (nwaiting == 1)
        return waiting;
    if (nwaiting == 0 && nseen == 1)
        return seen;
    c->api->log(c->host, LUTRA_LOG_ERROR,
                "depth snapshot without a symbol: %zu depth streams seen, %zu waiting for a "
                "snapshot, cannot tell whose it is (set the config key symbol)",
                nseen, nwaiting);
    return NULL;
}

int bn_decode_snapshot_for(bn_conn *c, bn_symbol *s, int64_t recv_ns, const char *body,
                           size_t len)
{
    char saved[LUTRA_SYMBOL_MAX];

    memcpy(saved, c->snapshot_symbol, sizeof saved);
    memcpy(c->snapshot_symbol, s->name, sizeof saved);
    int rc = bn_decode(c, recv_ns, body, len);
    memcpy(c->snapshot_symbol, saved, sizeof saved);
    return rc;
}

/* ---- Instruments ---- */

/*
 * Decimals as written: Binance pads every price and quantity to the
 * symbol's precision ("61837.63000000" -> 8), so the first one tells the
 * scale. A number with an exponent is not Binance's style: its exact
 * decimals then.
 */
static int written_decimals(const bn_conn *c, const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    int n = 0;

    if (memchr(s, 'e', len) || memchr(s, 'E', len))
        return c->api->fixed_decimals(s, len);
    if (!dot)
        return 0;
    for (const char *p = dot + 1; p < s + len && isdigit((unsigned char)*p); p++)
        n++;
    return n;
}

static int instrument_kind(const bn_conn *c, const char *symbol)
{
    if (c->market != BN_MARKET_USDM)
        return LUTRA_KIND_SPOT;
    /* USD-M delivery contracts carry their date: BTCUSDT_240927. */
    return strchr(symbol, '_') ? LUTRA_KIND_FUTURE : LUTRA_KIND_PERPETUAL;
}

/* Scale and increment of one side: configured, or from the first value. */
static int pick_scale(const bn_conn *c, const bn_symbol *s, const char *what, int cfg_scale,
                      int64_t cfg_inc, const char *txt, size_t len, uint8_t *scale,
                      int64_t *inc)
{
    int d = cfg_scale >= 0 ? cfg_scale : written_decimals(c, txt, len);
    if (d < 0 || d > 18) {
        c->api->log(c->host, LUTRA_LOG_ERROR,
                    "cannot take a scale from the first %s symbol=%s value=\"%.*s\"", what,
                    s->name, (int)len, txt);
        return -1;
    }
    *scale = (uint8_t)d;
    *inc = cfg_scale >= 0 ? cfg_inc : 1;
    return 0;
}

int bn_instrument_ensure(bn_conn *c, bn_symbol *s, const char *price, size_t plen,
                         const char *qty, size_t qlen)
{
    lutra_instrument def;

    if (s->instrument >= 0)
        return 0;
    memset(&def, 0, sizeof def);
    if (pick_scale(c, s, "price", c->tick_scale, c->tick, price, plen, &def.price_scale,
                   &def.price_increment) != 0 ||
        pick_scale(c, s, "quantity", c->lot_scale, c->lot, qty, qlen, &def.size_scale,
                   &def.size_increment) != 0)
        return -1;
    memcpy(def.venue, c->venue, sizeof def.venue);
    memcpy(def.symbol, s->name, sizeof def.symbol);
    def.kind = (uint8_t)instrument_kind(c, s->name);
    int32_t id = c->api->instrument_define(c->host, &def);
    if (id < 0)
        return -1;
    s->instrument = id;
    s->price_scale = def.price_scale;
    s->size_scale = def.size_scale;
    return 0;
}

int bn_parse_value(bn_conn *c, const bn_symbol *s, const char *what, const char *txt,
                   size_t len, int scale, int64_t *out)
{
    const char *why;

    if (c->api->fixed_parse(txt, len, scale, out) == 0) {
        if (*out >= 0)
            return 0;
        why = "negative";
    } else {
        /* fixed_parse's codes are not part of the plugin ABI: ask why. */
        int d = c->api->fixed_decimals(txt, len);
        why = d < 0 ? "not a decimal number" : d > scale ? "finer than the instrument's scale"
                                                        : "out of range";
    }
    c->api->log(c->host, LUTRA_LOG_ERROR, "%s refused: %s symbol=%s value=\"%.*s\" scale=%d",
                what, why, s->name, (int)(len > 64 ? 64 : len), txt, scale);
    return -1;
}

int bn_scratch_reserve(bn_conn *c, size_t n)
{
    if (n <= c->scratch_cap)
        return 0;
    size_t cap = c->scratch_cap ? c->scratch_cap : 256;
    while (cap < n)
        cap *= 2;
    bn_level *grown = realloc(c->scratch, cap * sizeof *grown);
    if (!grown) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "out of memory for levels=%zu", n);
        return -1;
    }
    c->scratch = grown;
    c->scratch_cap = cap;
    return 0;
}

int bn_emit(bn_conn *c, const bn_symbol *s, lutra_event *ev, uint8_t type)
{
    ev->h.type = type;
    ev->h.size = lutra_event_size(type);
    ev->h.instrument = (uint32_t)s->instrument;
    return c->api->emit(c->host, ev);
}

/* ---- Configuration ---- */

/* A configured increment: its scale and its value at that scale. */
static int config_increment(bn_conn *c, const char *key, int *scale, int64_t *inc)
{
    const char *v = c->api->config_get(c->host, key);
    *scale = -1;
    *inc = 0;
    if (!v)
        return 0;
    size_t len = strlen(v);
    int d = c->api->fixed_decimals(v, len);
    if (d < 0 || c->api->fixed_parse(v, len, d, inc) != 0 || *inc <= 0) {
        c->api->log(c->host, LUTRA_LOG_ERROR,
                    "config %s must be a positive decimal number, not \"%s\"", key, v);
        return -1;
    }
    *scale = d;
    return 0;
}

static int config_text(bn_conn *c, const char *key, const char *dflt, char *dst, size_t cap,
                       int upper)
{
    const char *v = c->api->config_get(c->host, key);
    if (!v)
        v = dflt;
    size_t len = strlen(v);
    if (len >= cap) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "config %s \"%s\" longer than %zu characters",
                    key, v, cap - 1);
        return -1;
    }
    for (size_t i = 0; i <= len; i++)
        dst[i] = upper ? (char)toupper((unsigned char)v[i]) : v[i];
    return 0;
}

static int config_market(bn_conn *c)
{
    const char *v = c->api->config_get(c->host, "market");
    if (!v)
        c->market = BN_MARKET_AUTO;
    else if (strcmp(v, "spot") == 0)
        c->market = BN_MARKET_SPOT;
    else if (strcmp(v, "usdm") == 0)
        c->market = BN_MARKET_USDM;
    else {
        c->api->log(c->host, LUTRA_LOG_ERROR, "config market must be spot or usdm, not \"%s\"",
                    v);
        return -1;
    }
    return 0;
}

static int configure(bn_conn *c)
{
    if (config_text(c, "venue", "binance", c->venue, sizeof c->venue, 0) != 0 ||
        config_text(c, "symbol", "", c->snapshot_symbol, sizeof c->snapshot_symbol, 1) != 0 ||
        config_increment(c, "tick", &c->tick_scale, &c->tick) != 0 ||
        config_increment(c, "lot", &c->lot_scale, &c->lot) != 0 || config_market(c) != 0)
        return -1;
    if (!c->venue[0]) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "config venue must not be empty");
        return -1;
    }
    return 0;
}

/* ---- The plugin ---- */

static void bn_destroy(void *self)
{
    bn_conn *c = self;
    if (!c)
        return;
    bn_live_free(c);
    for (size_t i = 0; i < c->nsyms; i++) {
        bn_book_free(c->syms[i]);
        free(c->syms[i]);
    }
    free(c->syms);
    free(c->scratch);
    if (c->jp)
        c->api->json_parser_free(c->jp);
    free(c);
}

/* The host must offer every service we call: its size must cover the
 * last, and json_string_rows, which took a reserved slot, must be set. */
static int host_api_usable(const lutra_host_api *api, lutra_host *h)
{
    size_t need = offsetof(lutra_host_api, json_string_rows) + sizeof api->json_string_rows;

    if (api->abi_version != LUTRA_PLUGIN_ABI_VERSION)
        return 0;
    if (api->size >= need && api->json_string_rows)
        return 1;
    api->log(h, LUTRA_LOG_ERROR, "this lutra is older than the connector: no json_string_rows");
    return 0;
}

static void *bn_create(const lutra_host_api *api, lutra_host *h)
{
    if (!host_api_usable(api, h))
        return NULL;
    bn_conn *c = calloc(1, sizeof *c);
    if (!c) {
        api->log(h, LUTRA_LOG_ERROR, "out of memory creating the connector");
        return NULL;
    }
    c->api = api;
    c->host = h;
    c->jp = api->json_parser_new();
    if (!c->jp) {
        api->log(h, LUTRA_LOG_ERROR, "out of memory creating a JSON parser");
        bn_destroy(c);
        return NULL;
    }
    if (configure(c) != 0) {
        bn_destroy(c);
        return NULL;
    }
    return c;
}

static const lutra_plugin bn_plugin = {
    .abi_version = LUTRA_PLUGIN_ABI_VERSION,
    .size = sizeof(lutra_plugin),
    .kind = LUTRA_PLUGIN_CONNECTOR,
    .name = "binance",
    .version = LUTRA_PLUGIN_VERSION,
    .create = bn_create,
    .start = bn_live_start,
    .stop = bn_live_stop,
    .destroy = bn_destroy,
    .decode = bn_decode,
    .submit = bn_live_submit,
    .cancel = bn_live_cancel,
    .query_orders = bn_live_query_orders,
    .query_balances = bn_live_query_balances,
    .query_order = bn_live_query_order,
    .warm = bn_live_warm,
};

__attribute__((visibility("default"))) const lutra_plugin *lutra_plugin_entry(void);

const lutra_plugin *lutra_plugin_entry(void)
{
    return &bn_plugin;
}
