/*
 * binance_decode.c -- one received Binance market-data message to events.
 *
 * The same code decodes live frames and recorded captures. Understood:
 *   - the combined-stream envelope {"stream":..,"data":{..}} and bare
 *     stream payloads;
 *   - depthUpdate (spot, and USD-M with "pu" and "T"), handed to the book
 *     synchronisation (binance_book.c);
 *   - trade and aggTrade: "m" true (the buyer was the maker) means the
 *     seller was the aggressor; USD-M trades that are not "X":"MARKET"
 *     (insurance fund, ADL) are no market trades and return 1, and so does
 *     a repeat (an id not above the symbol's last, see trade_is_new);
 *   - bookTicker -> LUTRA_EV_QUOTE (spot's has no time: receive time and
 *     LUTRA_F_ONE_TS);
 *   - a bare REST depth body {"lastUpdateId":..,"bids":..,"asks":..}.
 * Everything else returns 1.
 *
 * Fields are asked for in the order Binance writes them: on-demand parsing
 * finds a field fastest when it comes next.
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "binance.h"

/* ---- Fields ---- */

/* A message field, the failure logged with what the message is. */
static int field(bn_conn *c, json_value *obj, const char *key, json_value *out,
                 const char *what)
{
    if (c->api->json_field(obj, key, out) == 0)
        return 0;
    c->api->log(c->host, LUTRA_LOG_ERROR, "%s refused: %s", what, c->api->json_last_error());
    return -1;
}

/* A field that may be absent. @return 1 present, 0 absent, -1 malformed (logged). */
static int opt_field(bn_conn *c, json_value *obj, const char *key, json_value *out,
                     const char *what)
{
    int rc = c->api->json_field_opt(obj, key, out);
    if (rc < 0)
        c->api->log(c->host, LUTRA_LOG_ERROR, "%s refused: %s", what,
                    c->api->json_last_error());
    return rc;
}

static int type_error(bn_conn *c, const char *what, const char *key)
{
    c->api->log(c->host, LUTRA_LOG_ERROR, "%s refused: field \"%s\": %s", what, key,
                c->api->json_last_error());
    return -1;
}

static int read_u64(bn_conn *c, json_value *obj, const char *key, const char *what,
                    uint64_t *out)
{
    json_value v;
    if (field(c, obj, key, &v, what) != 0)
        return -1;
    return c->api->json_uint64(&v, out) == 0 ? 0 : type_error(c, what, key);
}

static int read_text(bn_conn *c, json_value *obj, const char *key, const char *what,
                     const char **s, size_t *len)
{
    json_value v;
    if (field(c, obj, key, &v, what) != 0)
        return -1;
    return c->api->json_number_text(&v, s, len) == 0 ? 0 : type_error(c, what, key);
}

/* A millisecond time as ns. */
static int ms_to_ns(bn_conn *c, json_value *v, const char *what, const char *key, int64_t *ns)
{
    int64_t ms;
    if (c->api->json_int64(v, &ms) != 0)
        return type_error(c, what, key);
    if (ms < 0 || ms > INT64_MAX / 1000000) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "%s refused: field \"%s\" out of range: %lld ms",
                    what, key, (long long)ms);
        return -1;
    }
    *ns = ms * 1000000;
    return 0;
}

static int read_ms(bn_conn *c, json_value *obj, const char *key, const char *what, int64_t *ns)
{
    json_value v;
    if (field(c, obj, key, &v, what) != 0)
        return -1;
    return ms_to_ns(c, &v, what, key, ns);
}

/* An optional ms time. @return 1 if present (*ns set), 0 if not, -1. */
static int opt_ms(bn_conn *c, json_value *obj, const char *key, const char *what, int64_t *ns)
{
    json_value v;
    int rc = opt_field(c, obj, key, &v, what);
    if (rc <= 0)
        return rc;
    return ms_to_ns(c, &v, what, key, ns) == 0 ? 1 : -1;
}

static bn_symbol *read_symbol(bn_conn *c, json_value *obj, const char *what)
{
    const char *s;
    size_t len;
    json_value v;

    if (field(c, obj, "s", &v, what) != 0)
        return NULL;
    if (c->api->json_string(&v, &s, &len) != 0) {
        type_error(c, what, "s");
        return NULL;
    }
    return bn_symbol_get(c, s, len);
}

static void learn_market(bn_conn *c, int usdm)
{
    if (c->market == BN_MARKET_AUTO)
        c->market = usdm ? BN_MARKET_USDM : BN_MARKET_SPOT;
}

/* ---- Prices and quantities ---- */

/* A price and a quantity, defining the instrument on the symbol's first. */
static int parse_pair(bn_conn *c, bn_symbol *s, const char *p, size_t plen, const char *q,
                      size_t qlen, int64_t *price, int64_t *qty)
{
    if (bn_instrument_ensure(c, s, p, plen, q, qlen) != 0)
        return -1;
    if (bn_parse_value(c, s, "price", p, plen, s->price_scale, price) != 0 ||
        bn_parse_value(c, s, "quantity", q, qlen, s->size_scale, qty) != 0)
        return -1;
    return 0;
}

/* parse_pair for a symbol already defined whose values parse, without the
 * calls into the connector's checks: a level's usual path.
 * @return 0, or -1: parse_pair decides (and says why). */
static inline int quick_pair(const bn_conn *c, const bn_symbol *s, const json_text *pq,
                             bn_level *lv)
{
    return s->instrument >= 0 &&
                   c->api->fixed_parse(pq[0].s, pq[0].len, s->price_scale, &lv->price) == 0 &&
                   c->api->fixed_parse(pq[1].s, pq[1].len, s->size_scale, &lv->qty) == 0 &&
                   lv->price >= 0 && lv->qty >= 0
               ? 0
               : -1;
}

/* Levels read per json_string_rows call: a 5,000-level snapshot side takes
 * 20 calls through an 8 KB buffer on the stack. */
#define LEVELS_PER_CALL 256

/* Append the [price, qty, ...] levels of the array field key to c->scratch
 * from *n on (old messages had a third element, skipped). */
static int read_levels(bn_conn *c, bn_symbol *s, json_value *obj, const char *key, int bid,
                       const char *what, size_t *n)
{
    json_text txt[LEVELS_PER_CALL][2];
    json_value arr;
    json_iter it;
    size_t rows;
    int rc;

    if (field(c, obj, key, &arr, what) != 0)
        return -1;
    if (c->api->json_array_begin(&arr, &it) != 0)
        return type_error(c, what, key);
    do {
        rc = c->api->json_string_rows(&it, txt[0], 2, LEVELS_PER_CALL, &rows);
        if (rc < 0)
            return type_error(c, what, key);
        if (bn_scratch_reserve(c, *n + rows) != 0)
            return -1;
        for (size_t i = 0; i < rows; i++) {
            bn_level *lv = &c->scratch[(*n)++];
            if (quick_pair(c, s, txt[i], lv) != 0 &&
                parse_pair(c, s, txt[i][0].s, txt[i][0].len, txt[i][1].s, txt[i][1].len,
                           &lv->price, &lv->qty) != 0)
                return -1;
            lv->bid = bid;
        }
    } while (rc == 1);
    return 0;
}

/* ---- Messages ---- */

static int decode_depth(bn_conn *c, json_value *m, int64_t recv_ns)
{
    static const char what[] = "depthUpdate";
    bn_diff d;
    bn_symbol *s;
    json_value v;
    int has_t = 0;
    int64_t ts_t = 0;

    memset(&d, 0, sizeof d);
    d.ts_recv = recv_ns;
    if (read_ms(c, m, "E", what, &d.ts_exch) != 0)
        return -1;
    if (c->market != BN_MARKET_SPOT && (has_t = opt_ms(c, m, "T", what, &ts_t)) < 0)
        return -1;
    if (!(s = read_symbol(c, m, what)) || read_u64(c, m, "U", what, &d.first_id) != 0 ||
        read_u64(c, m, "u", what, &d.last_id) != 0)
        return -1;
    if (c->market != BN_MARKET_SPOT) {
        if ((d.chained = opt_field(c, m, "pu", &v, what)) < 0)
            return -1;
        if (d.chained && c->api->json_uint64(&v, &d.prev_id) != 0)
            return type_error(c, what, "pu");
    }
    if (!c->rehearsal)
        learn_market(c, d.chained);
    if (d.first_id > d.last_id) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "%s refused: U > u symbol=%s U=%llu u=%llu",
                    what, s->name, (unsigned long long)d.first_id,
                    (unsigned long long)d.last_id);
        return -1;
    }
    if (has_t)
        d.ts_exch = ts_t;
    if (read_levels(c, s, m, "b", 1, what, &d.nlevels) != 0 ||
        read_levels(c, s, m, "a", 0, what, &d.nlevels) != 0)
        return -1;
    if (c->rehearsal)
        return 0;
    s->depth_seen = 1;
    c->decoded_depth = 1;
    return bn_book_diff(c, s, &d, c->scratch);
}

/* Is this USD-M trade a market trade? @return 1, 0 (not one), or -1. */
static int market_trade(bn_conn *c, json_value *m, const char *what)
{
    json_value v;
    const char *x;
    size_t len;

    if (c->market == BN_MARKET_SPOT)
        return 1;
    int rc = opt_field(c, m, "X", &v, what);
    if (rc <= 0)
        return rc == 0 ? 1 : -1;
    learn_market(c, 1);
    if (c->api->json_string(&v, &x, &len) != 0)
        return type_error(c, what, "X");
    return len == 6 && memcmp(x, "MARKET", 6) == 0;
}

/*
 * The trade's id (key "t", or "a" for an aggTrade) against the last one of
 * its kind decoded for s. A planned reconnect overlaps two connections, and
 * the message both carried may come twice: ids only grow, so one not above
 * the last is that repeat. A message without the id is taken as new.
 * @return 1 new (remembered), 0 a repeat, -1 malformed (logged).
 */
static int trade_is_new(bn_conn *c, bn_symbol *s, json_value *m, int agg, const char *what)
{
    const char *key = agg ? "a" : "t";
    uint64_t *last = agg ? &s->last_agg_id : &s->last_trade_id;
    uint64_t id;
    json_value v;
    int rc = opt_field(c, m, key, &v, what);

    if (rc <= 0)
        return rc == 0 ? 1 : -1;
    if (c->api->json_uint64(&v, &id) != 0)
        return type_error(c, what, key);
    if (id <= *last && *last != 0)
        return 0;
    *last = id;
    return 1;
}

/* A trade, or with agg an aggTrade. */
static int decode_trade(bn_conn *c, json_value *m, int64_t recv_ns, int agg)
{
    const char *what = agg ? "aggTrade" : "trade";
    lutra_event ev;
    bn_symbol *s;
    const char *p, *q;
    size_t plen, qlen;
    json_value v;
    int maker, fresh;

    memset(&ev, 0, sizeof ev);
    ev.trade.h.ts_recv = recv_ns;
    if (!(s = read_symbol(c, m, what)) ||
        (fresh = trade_is_new(c, s, m, agg, what)) < 0 ||
        read_text(c, m, "p", what, &p, &plen) != 0 || read_text(c, m, "q", what, &q, &qlen) != 0 ||
        read_ms(c, m, "T", what, &ev.trade.h.ts_exch) != 0 || field(c, m, "m", &v, what) != 0)
        return -1;
    if (c->api->json_bool(&v, &maker) != 0)
        return type_error(c, what, "m");
    if (!fresh)
        return 1;
    int is_market = market_trade(c, m, what);
    if (is_market <= 0)
        return is_market < 0 ? -1 : 1;
    if (parse_pair(c, s, p, plen, q, qlen, &ev.trade.price, &ev.trade.qty) != 0)
        return -1;
    /* The buyer was the maker: the seller took. */
    ev.trade.h.flags = (uint8_t)(LUTRA_F_LAST | (maker ? 0 : LUTRA_F_BUY));
    return bn_emit(c, s, &ev, LUTRA_EV_TRADE);
}

static int decode_quote(bn_conn *c, json_value *m, int64_t recv_ns, int has_e)
{
    static const char what[] = "bookTicker";
    lutra_event ev;
    lutra_quote *qt = &ev.quote;
    bn_symbol *s;
    const char *b, *bq, *a, *aq;
    size_t blen, bqlen, alen, aqlen;
    int has_t = 0;

    learn_market(c, has_e);
    memset(&ev, 0, sizeof ev);
    qt->h.ts_recv = recv_ns;
    if (!(s = read_symbol(c, m, what)) || read_text(c, m, "b", what, &b, &blen) != 0 ||
        read_text(c, m, "B", what, &bq, &bqlen) != 0 ||
        read_text(c, m, "a", what, &a, &alen) != 0 ||
        read_text(c, m, "A", what, &aq, &aqlen) != 0)
        return -1;
    if (c->market != BN_MARKET_SPOT && (has_t = opt_ms(c, m, "T", what, &qt->h.ts_exch)) < 0)
        return -1;
    if (parse_pair(c, s, b, blen, bq, bqlen, &qt->bid_price, &qt->bid_qty) != 0 ||
        parse_pair(c, s, a, alen, aq, aqlen, &qt->ask_price, &qt->ask_qty) != 0)
        return -1;
    qt->h.flags = LUTRA_F_LAST;
    if (!has_t) {
        qt->h.ts_exch = recv_ns;
        qt->h.flags |= LUTRA_F_ONE_TS;
    }
    return bn_emit(c, s, &ev, LUTRA_EV_QUOTE);
}

static int decode_snapshot(bn_conn *c, json_value *m, json_value *id, int64_t recv_ns)
{
    static const char what[] = "depth snapshot";
    uint64_t last_id;
    int64_t ts_e = 0, ts_t = 0;
    size_t n = 0;
    int has_e, has_t;

    if (c->api->json_uint64(id, &last_id) != 0)
        return type_error(c, what, "lastUpdateId");
    /* USD-M's carries E and T; spot's no time at all. */
    if ((has_e = opt_ms(c, m, "E", what, &ts_e)) < 0 ||
        (has_t = opt_ms(c, m, "T", what, &ts_t)) < 0)
        return -1;
    bn_symbol *s = bn_symbol_for_snapshot(c);
    if (!s || read_levels(c, s, m, "bids", 1, what, &n) != 0 ||
        read_levels(c, s, m, "asks", 0, what, &n) != 0)
        return -1;
    int64_t ts_exch = has_t ? ts_t : has_e ? ts_e : recv_ns;
    uint8_t ts_flags = has_t || has_e ? 0 : LUTRA_F_ONE_TS;
    return bn_book_snapshot(c, s, last_id, recv_ns, ts_exch, ts_flags, c->scratch, n);
}

/*
 * A recording names its REST snapshots, which the REST body does not:
 * {"stream":"btcusdt@depthSnapshot","data":{..the body..}} (lutra record
 * writes that), so a capture of several symbols replays unambiguously.
 * out gets the symbol (upper case), or "" for any other message.
 * @return 0, or -1 for a malformed document.
 */
static int snapshot_stream(bn_conn *c, json_value *root, char *out)
{
    static const char suffix[] = "@depthSnapshot";
    const size_t n = sizeof suffix - 1;
    json_value v;
    const char *name;
    size_t len;
    int rc = opt_field(c, root, "stream", &v, "message");

    out[0] = '\0';
    if (rc <= 0)
        return rc;
    if (c->api->json_string(&v, &name, &len) != 0 || len <= n || len - n >= LUTRA_SYMBOL_MAX ||
        memcmp(name + len - n, suffix, n) != 0)
        return 0;
    for (size_t i = 0; i < len - n; i++)
        out[i] = (char)toupper((unsigned char)name[i]);
    out[len - n] = '\0';
    return 0;
}

/* decode_snapshot for a named symbol ("" : as the body says nothing). */
static int decode_snapshot_of(bn_conn *c, json_value *m, json_value *id, int64_t recv_ns,
                              const char *symbol)
{
    char saved[LUTRA_SYMBOL_MAX];
    int rc;

    if (!symbol[0])
        return decode_snapshot(c, m, id, recv_ns);
    memcpy(saved, c->snapshot_symbol, sizeof saved);
    memcpy(c->snapshot_symbol, symbol, strlen(symbol) + 1); /* shorter: snapshot_stream */
    rc = decode_snapshot(c, m, id, recv_ns);
    memcpy(c->snapshot_symbol, saved, sizeof saved);
    return rc;
}

/* Dispatch on the payload's event type "e". */
static int decode_event(bn_conn *c, json_value *m, json_value *e, int64_t recv_ns)
{
    const char *type;
    size_t len;

    if (c->api->json_string(e, &type, &len) != 0)
        return type_error(c, "message", "e");
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(type, lit, len) == 0)
    if (IS("depthUpdate"))
        return decode_depth(c, m, recv_ns);
    if (IS("trade"))
        return decode_trade(c, m, recv_ns, 0);
    if (IS("aggTrade"))
        return decode_trade(c, m, recv_ns, 1);
    if (IS("bookTicker"))
        return decode_quote(c, m, recv_ns, 1);
#undef IS
    return 1;
}

int bn_decode(void *self, int64_t recv_ns, const char *msg, size_t len)
{
    static const char what[] = "message";
    bn_conn *c = self;
    json_value root, payload, v;
    int rc;

    c->decoded_depth = 0;
    if (c->api->json_parse(c->jp, msg, len, &root) != 0) {
        c->api->log(c->host, LUTRA_LOG_ERROR, "message refused: %s: %.*s",
                    c->api->json_last_error(), (int)(len > 80 ? 80 : len), msg);
        return -1;
    }
    char snapshot_of[LUTRA_SYMBOL_MAX];
    if (snapshot_stream(c, &root, snapshot_of) < 0)
        return -1;
    int wrapped = opt_field(c, &root, "data", &payload, what);
    if (wrapped < 0)
        return -1;
    if (!wrapped)
        payload = root;
    if ((rc = opt_field(c, &payload, "e", &v, what)) != 0)
        return rc < 0 ? -1 : decode_event(c, &payload, &v, recv_ns);
    /* A partial depth stream's payload looks like a REST snapshot, but it
     * comes wrapped; only a bare body, or one wrapped as a recording's
     * "<symbol>@depthSnapshot", is the snapshot. */
    if ((!wrapped || snapshot_of[0]) &&
        (rc = opt_field(c, &payload, "lastUpdateId", &v, what)) != 0)
        return rc < 0 ? -1 : decode_snapshot_of(c, &payload, &v, recv_ns, snapshot_of);
    /* bookTicker, spot's: no "e". */
    if ((rc = opt_field(c, &payload, "u", &v, what)) <= 0 ||
        (rc = opt_field(c, &payload, "A", &v, what)) <= 0)
        return rc < 0 ? -1 : 1;
    return decode_quote(c, &payload, recv_ns, 0);
}
