/*
 * Fuzz target: the Binance connector's readers of REST answers
 * (connectors/binance/binance_rest.c, compiled in) on any body: what the
 * venue, or anything between it and us, may send. The first byte picks the
 * answer, the rest is its body. The connector reaches the host through the
 * lutra binary's own table (plugin_host_api).
 *
 * Beyond not crashing, each reader keeps its contract: a refusal says why,
 * and what it hands over is whole: strings end inside their arrays, and
 * amounts carry a scale fixed point can hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binance.h"
#include "fixed.h"
#include "json.h"
#include "plugin_impl.h"

#define ENDS_INSIDE(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_amount(bn_amount a)
{
    if (a.scale < 0 || a.scale > FIXED_MAX_SCALE)
        abort();
}

static void check_fill(const bn_fill *f)
{
    check_amount(f->price);
    check_amount(f->qty);
    check_amount(f->commission);
    if (!ENDS_INSIDE(f->commission_asset))
        abort();
}

static void check_order(const bn_order_state *o)
{
    if (!ENDS_INSIDE(o->symbol) || !ENDS_INSIDE(o->client_id) || !ENDS_INSIDE(o->orig_client_id))
        abort();
    check_amount(o->price);
    check_amount(o->orig_qty);
    check_amount(o->executed_qty);
    check_amount(o->cum_quote_qty);
}

static int on_symbol(void *ud, const bn_symbol_info *info)
{
    (void)ud;
    (void)info;
    return 0;
}

static int on_fill(void *ud, const bn_order_state *o, const bn_fill *f)
{
    (void)ud;
    (void)o;
    check_fill(f);
    return 0;
}

static int on_order(void *ud, const bn_order_state *o)
{
    (void)ud;
    check_order(o);
    return 0;
}

static int on_trade(void *ud, const bn_trade *t)
{
    (void)ud;
    check_fill(&t->fill);
    return 0;
}

static int on_balance(void *ud, const char *asset, bn_amount free_, bn_amount locked)
{
    (void)ud;
    if (!asset)
        abort();
    check_amount(free_);
    check_amount(locked);
    return 0;
}

/* A response header "name: value" to the rate-limit tracker. */
static void read_header(bn_ratelimit *rl, const char *b, size_t n)
{
    const char *colon = memchr(b, ':', n);
    size_t nlen = colon ? (size_t)(colon - b) : n;
    size_t vlen = colon ? n - nlen - 1 : 0;
    int rc = bn_ratelimit_header(rl, b, nlen, colon ? colon + 1 : "", vlen, 1700000000000);

    if (rc < -1 || rc > 1)
        abort();
}

/* One body to the reader `which` picks. @return its result. */
static int read_answer(bn_conn *c, bn_ratelimit *rl, unsigned which, const char *b, size_t n,
                       char *err, size_t errlen)
{
    bn_order_state o;
    int64_t ms;
    char key[128], msg[128];
    int code, rc;

    switch (which % 9) {
    case 0:
        return bn_parse_exchange_info(c, b, n, on_symbol, NULL, rl, err, errlen);
    case 1:
        if ((rc = bn_parse_order(c, b, n, &o, on_fill, NULL, err, errlen)) == 0)
            check_order(&o);
        return rc;
    case 2:
        return bn_parse_open_orders(c, b, n, on_order, NULL, err, errlen);
    case 3:
        return bn_parse_my_trades(c, b, n, on_trade, NULL, err, errlen);
    case 4:
        return bn_parse_account(c, b, n, on_balance, NULL, err, errlen);
    case 5:
        return bn_parse_server_time(c, b, n, &ms, err, errlen);
    case 6:
        if ((rc = bn_parse_listen_key(c, b, n, key, sizeof key, err, errlen)) == 0 &&
            !ENDS_INSIDE(key))
            abort();
        return rc;
    case 7:
        if ((rc = bn_parse_error(c, b, n, &code, msg, sizeof msg, err, errlen)) == 0 &&
            !ENDS_INSIDE(msg))
            abort();
        return rc;
    default:
        read_header(rl, b, n);
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bn_conn conn;
    static bn_ratelimit rl;
    static char *buf;
    static size_t cap;
    char err[512];

    if (!conn.jp) {
        conn.api = &plugin_host_api;
        if (!(conn.jp = json_parser_new()))
            abort();
        snprintf(conn.venue, sizeof conn.venue, "binance");
    }
    if (size < 1)
        return 0;
    if (size + JSON_PADDING > cap) {
        cap = size + JSON_PADDING;
        if (!(buf = realloc(buf, cap)))
            abort();
    }
    memcpy(buf, data + 1, size - 1);
    memset(buf + size - 1, 0, JSON_PADDING);
    bn_ratelimit_init(&rl);
    err[0] = '\0';
    if (read_answer(&conn, &rl, data[0], buf, size - 1, err, sizeof err) != 0 && !err[0])
        abort(); /* refused without a reason */
    return 0;
}
