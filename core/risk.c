/*
 * risk.c -- pre-trade risk gates (core/risk.h; the user's view in
 * docs/risk.md).
 *
 * The gates run in the header's order, each a function of one signature in
 * risk_gates[]; the first that refuses writes "risk: <gate>: <detail>" and
 * stops the check. Limits are doubles from the configuration; each is
 * converted to the instrument's fixed point (sizes) or to money units
 * (notionals) at check time, rounded to the nearest unit, so a limit means
 * the same whatever the instrument's scales are and survives a reload of
 * either. Comparisons are then exact integers.
 *
 * Numbers in reasons are decimals: prices at the instrument's precision,
 * quantities and configured limits without trailing zeros, money amounts
 * with at least two decimals ("notional 1234.50 above max_order_notional
 * 1000").
 *
 * Nothing here allocates after risk_new: a check reads the registry, the OMS
 * and the view's callbacks, and writes only into the caller's buffer.
 */
#include "risk.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixed.h"
#include "money.h"
#include "timestamp.h"

/*
 * The rate bucket counts in units where one order is RATE_ORDER units and
 * a rate of r orders per second refills r x 1000 units per nanosecond
 * (orders_per_second is kept to 0.001 order per second). Integers keep the
 * bucket exact and the same on every run.
 */
#define RATE_MILLI_PER_ORDER INT64_C(1000)
#define RATE_ORDER (RATE_MILLI_PER_ORDER * TS_NS_PER_SEC)
/* Above this the bucket's capacity would not fit an int64. */
#define RATE_MAX_MILLI INT64_C(1000000000)

typedef enum risk_trip {
    RISK_TRIP_NONE = 0,
    RISK_TRIP_DAILY_LOSS = 1,
    RISK_TRIP_KILL = 2
} risk_trip;

struct risk {
    risk_limits limits;

    /* orders_per_second token bucket; filled on its first use. */
    int64_t rate_milli;     /* refill per ns, in units; 0 when no limit */
    int64_t rate_capacity;  /* units */
    int64_t rate_tokens;    /* units */
    int64_t rate_last;      /* engine time of the last refill */
    int rate_started;

    /* Daily loss: the first equity seen in the current UTC day. */
    int have_day;
    int64_t day;            /* days since the epoch, UTC */
    int64_t day_start;      /* money units */
    int have_equity;
    int64_t last_equity;

    risk_trip trip;
    char why[ORDER_REASON_MAX];
};

/* What the gates share about the order being checked. */
typedef struct risk_order {
    const order_request *req;
    const lutra_instrument *inst; /* NULL: unknown instrument */
    int64_t ref;                  /* reference price, 0 when unknown */
    int64_t value_price;          /* the price the order is valued at, 0 when unknown */
    int64_t notional;             /* money units at value_price, 0 when unknown */
} risk_order;

typedef int (*risk_gate)(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                         char *reason, size_t len);

/* ---- Reasons and numbers ---- */

static int refuse(char *reason, size_t len, const char *gate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(char *reason, size_t len, const char *gate, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!reason || len == 0)
        return -1;
    n = snprintf(reason, len, "risk: %s: ", gate);
    if (n < 0 || (size_t)n >= len)
        return -1;
    va_start(ap, fmt);
    vsnprintf(reason + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A value at scale without trailing zeros: quantities and limits. */
static const char *fmt_trim(char buf[FIXED_STR_MAX], int64_t v, int scale)
{
    if (fixed_format_trim(v, scale, buf, FIXED_STR_MAX) < 0)
        snprintf(buf, FIXED_STR_MAX, "?");
    return buf;
}

/* A price at its instrument's precision ("100.00"). */
static const char *fmt_price(char buf[FIXED_STR_MAX], int64_t v, const lutra_instrument *inst)
{
    if (fixed_format(v, inst->price_scale, buf, FIXED_STR_MAX) < 0)
        snprintf(buf, FIXED_STR_MAX, "?");
    return buf;
}

/* A money amount: trailing zeros dropped, but at least two decimals. */
static const char *fmt_money(char buf[FIXED_STR_MAX], int64_t m)
{
    int n = fixed_format(m, MONEY_SCALE, buf, FIXED_STR_MAX);
    char *dot;

    if (n < 0)
        return strcpy(buf, "?");
    if (!(dot = strchr(buf, '.')))
        return buf;
    while (n > 0 && buf[n - 1] == '0' && &buf[n - 1] > dot + 2)
        buf[--n] = '\0';
    return buf;
}

/* A configured limit (base units, quote units, percent) at `scale`
 * decimals, rounded to the nearest unit and saturated. */
static int64_t limit_units(double limit, int scale)
{
    double x = limit * (double)fixed_pow10(scale);

    if (x >= 9.2e18)
        return INT64_MAX;
    return (int64_t)llround(x);
}

static int64_t add_saturated(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;
}

/* ---- The order being checked ---- */

static int has_limit_price(order_type t)
{
    return t == ORDER_LIMIT || t == ORDER_STOP_LIMIT;
}

static int has_stop_price(order_type t)
{
    return t == ORDER_STOP || t == ORDER_STOP_LIMIT;
}

/* A limit is valued at its limit, a stop-market at its stop, a market order
 * at the reference price. */
static int64_t order_value_price(const order_request *req, int64_t ref)
{
    if (has_limit_price(req->type))
        return req->price;
    if (req->type == ORDER_STOP)
        return req->stop_price;
    return ref;
}

static int64_t no_mark(void *ud, uint32_t instrument)
{
    (void)ud;
    (void)instrument;
    return 0;
}

static void risk_order_init(risk_order *o, const risk_view *v, const order_request *req)
{
    memset(o, 0, sizeof *o);
    o->req = req;
    o->inst = instrument_registry_get(v->reg, req->instrument);
    if (!o->inst)
        return;
    o->ref = v->ref_price ? v->ref_price(v->ud, req->instrument) : 0;
    if (o->ref < 0)
        o->ref = 0;
    o->value_price = order_value_price(req, o->ref);
    if (o->value_price > 0 && req->qty > 0)
        o->notional = money_notional(o->value_price, o->inst->price_scale, req->qty,
                                     o->inst->size_scale);
}

static int64_t position_qty(const risk_view *v, uint32_t instrument)
{
    const oms_position *p = oms_get_position(v->oms, instrument);
    return p ? p->qty : 0;
}

static int64_t position_after(const risk_order *o, int64_t now_qty)
{
    return add_saturated(now_qty, o->req->side == ORDER_BUY ? o->req->qty : -o->req->qty);
}

/* An order that brings its position closer to flat never adds risk: the
 * position and exposure gates let it through even above their limits, so a
 * lowered limit or a price move never traps a position. */
static int reduces_position(int64_t now_qty, int64_t after_qty)
{
    return abs64(after_qty) < abs64(now_qty);
}

/* ---- valid ---- */

static int check_positive(const char *what, int64_t v, int scale, char *reason, size_t len)
{
    char a[FIXED_STR_MAX];

    if (v > 0)
        return 0;
    return refuse(reason, len, "valid", "%s %s must be above 0", what, fmt_trim(a, v, scale));
}

static int check_increment(const char *what, int64_t v, int64_t inc, int scale,
                           const char *inc_name, char *reason, size_t len)
{
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX];

    if (inc <= 0 || v % inc == 0)
        return 0;
    return refuse(reason, len, "valid", "%s %s is not on the %s %s", what,
                  fmt_trim(a, v, scale), inc_name, fmt_trim(b, inc, scale));
}

static int check_prices(const risk_order *o, char *reason, size_t len)
{
    const order_request *req = o->req;
    const lutra_instrument *inst = o->inst;
    int ps = inst->price_scale;

    if (has_limit_price(req->type)) {
        if (check_positive("limit price", req->price, ps, reason, len) < 0 ||
            check_increment("price", req->price, inst->price_increment, ps, "price increment",
                            reason, len) < 0)
            return -1;
    }
    if (has_stop_price(req->type)) {
        if (check_positive("stop_price", req->stop_price, ps, reason, len) < 0 ||
            check_increment("stop_price", req->stop_price, inst->price_increment, ps,
                            "price increment", reason, len) < 0)
            return -1;
    }
    return 0;
}

static int check_minimums(const risk_order *o, char *reason, size_t len)
{
    const lutra_instrument *inst = o->inst;
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX];
    int64_t min_notional;

    if (o->req->qty < inst->min_qty)
        return refuse(reason, len, "valid", "qty %s below min_qty %s",
                      fmt_trim(a, o->req->qty, inst->size_scale),
                      fmt_trim(b, inst->min_qty, inst->size_scale));
    /* A market order with no reference price cannot be valued: the venue
     * applies its own minimum then. */
    if (inst->min_notional <= 0 || o->notional == 0)
        return 0;
    min_notional = money_from_fixed(inst->min_notional, inst->price_scale);
    if (o->notional >= min_notional)
        return 0;
    return refuse(reason, len, "valid", "notional %s below min_notional %s",
                  fmt_money(a, o->notional), fmt_trim(b, min_notional, MONEY_SCALE));
}

static int gate_valid(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                      char *reason, size_t len)
{
    (void)r;
    (void)v;
    (void)now;
    if (!o->inst)
        return refuse(reason, len, "valid", "unknown instrument %u", o->req->instrument);
    if (check_positive("qty", o->req->qty, o->inst->size_scale, reason, len) < 0 ||
        check_prices(o, reason, len) < 0 ||
        check_increment("qty", o->req->qty, o->inst->size_increment, o->inst->size_scale,
                        "size increment", reason, len) < 0)
        return -1;
    return check_minimums(o, reason, len);
}

/* ---- balance ---- */

static int gate_balance(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                        char *reason, size_t len)
{
    static const char prefix[] = "risk: ";
    char scratch[1];

    (void)r;
    (void)now;
    /* The OMS writes "balance: <detail>" after our prefix. */
    if (!reason || len <= sizeof prefix - 1)
        return oms_check_balance(v->oms, o->req, o->ref, scratch, sizeof scratch);
    memcpy(reason, prefix, sizeof prefix - 1);
    return oms_check_balance(v->oms, o->req, o->ref, reason + sizeof prefix - 1,
                             len - (sizeof prefix - 1));
}

/* ---- max_order ---- */

static int refuse_unvalued(const char *gate, const char *limit_name, double limit, char *reason,
                           size_t len)
{
    char a[FIXED_STR_MAX];

    return refuse(reason, len, gate,
                  "notional unknown (a market order and no reference price) with %s %s",
                  limit_name, fmt_trim(a, limit_units(limit, MONEY_SCALE), MONEY_SCALE));
}

static int gate_max_order(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                          char *reason, size_t len)
{
    const risk_limits *lim = &r->limits;
    int ss = o->inst->size_scale;
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX];

    (void)v;
    (void)now;
    if (lim->max_order_qty > 0) {
        int64_t max_qty = limit_units(lim->max_order_qty, ss);
        if (o->req->qty > max_qty)
            return refuse(reason, len, "max_order", "qty %s above max_order_qty %s",
                          fmt_trim(a, o->req->qty, ss), fmt_trim(b, max_qty, ss));
    }
    if (lim->max_order_notional > 0) {
        int64_t max_notional = limit_units(lim->max_order_notional, MONEY_SCALE);
        if (o->value_price <= 0)
            return refuse_unvalued("max_order", "max_order_notional", lim->max_order_notional,
                                   reason, len);
        if (o->notional > max_notional)
            return refuse(reason, len, "max_order", "notional %s above max_order_notional %s",
                          fmt_money(a, o->notional), fmt_trim(b, max_notional, MONEY_SCALE));
    }
    return 0;
}

/* ---- price_band ---- */

/* |price - ref| / ref x 100 <= price_band_pct, exactly: the percentage is
 * kept to 1e-6 and the products done in 128 bits. Market and stop-market
 * orders have no price of their own to check; without a reference price
 * there is nothing to compare with, and the gate passes. */
static int gate_price_band(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                           char *reason, size_t len)
{
    const int64_t micro = INT64_C(1000000);
    int64_t band_micro, deviation;
    __int128 diff, lhs, rhs;
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX], c[FIXED_STR_MAX], d[FIXED_STR_MAX];

    (void)v;
    (void)now;
    if (!(r->limits.price_band_pct > 0) || !has_limit_price(o->req->type) || o->ref <= 0)
        return 0;
    band_micro = limit_units(r->limits.price_band_pct, 6);
    diff = (__int128)o->req->price - o->ref;
    if (diff < 0)
        diff = -diff;
    lhs = diff * 100 * micro;
    rhs = (__int128)band_micro * o->ref;
    if (lhs <= rhs)
        return 0;
    /* Shown to 1e-4 percent, rounded up: never printed equal to the band. */
    deviation = (int64_t)((diff * 100 * 10000 + o->ref - 1) / o->ref);
    return refuse(reason, len, "price_band",
                  "price %s is %s%% from the reference price %s (price_band_pct %s)",
                  fmt_price(a, o->req->price, o->inst), fmt_trim(b, deviation, 4),
                  fmt_price(c, o->ref, o->inst), fmt_trim(d, band_micro, 6));
}

/* ---- position ---- */

static const double *max_position_for(const risk_limits *lim, const char *symbol)
{
    for (size_t i = 0; i < lim->nmax_position && i < RISK_MAX_POSITION_LIMITS; i++)
        if (strcmp(lim->max_position[i].symbol, symbol) == 0)
            return &lim->max_position[i].qty;
    return NULL;
}

static int gate_position(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                         char *reason, size_t len)
{
    const double *limit = max_position_for(&r->limits, o->inst->symbol);
    int ss = o->inst->size_scale;
    int64_t max_qty, now_qty, after_qty;
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX], c[FIXED_STR_MAX];

    (void)now;
    if (!limit || !(*limit > 0))
        return 0;
    max_qty = limit_units(*limit, ss);
    now_qty = position_qty(v, o->req->instrument);
    after_qty = position_after(o, now_qty);
    if (abs64(after_qty) <= max_qty || reduces_position(now_qty, after_qty))
        return 0;
    return refuse(reason, len, "position",
                  "%s would be %s after this %s (now %s), above max_position %s", o->inst->symbol,
                  fmt_trim(a, after_qty, ss), order_side_name(o->req->side),
                  fmt_trim(b, now_qty, ss), fmt_trim(c, max_qty, ss));
}

/* ---- exposure ---- */

static int gate_exposure(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                         char *reason, size_t len)
{
    double limit = r->limits.max_gross_exposure;
    int64_t max_exposure, gross, after, now_qty;
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX], c[FIXED_STR_MAX], d[FIXED_STR_MAX];

    (void)now;
    if (!(limit > 0))
        return 0;
    now_qty = position_qty(v, o->req->instrument);
    if (reduces_position(now_qty, position_after(o, now_qty)))
        return 0;
    if (o->value_price <= 0)
        return refuse_unvalued("exposure", "max_gross_exposure", limit, reason, len);
    max_exposure = limit_units(limit, MONEY_SCALE);
    gross = oms_gross_exposure(v->oms, v->ref_price ? v->ref_price : no_mark, v->ud);
    after = add_saturated(gross, o->notional);
    if (after <= max_exposure)
        return 0;
    return refuse(reason, len, "exposure",
                  "gross exposure %s + this order %s = %s above max_gross_exposure %s",
                  fmt_money(a, gross), fmt_money(b, o->notional), fmt_money(c, after),
                  fmt_trim(d, max_exposure, MONEY_SCALE));
}

/* ---- open_orders ---- */

static int gate_open_orders(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                            char *reason, size_t len)
{
    size_t open;

    (void)o;
    (void)now;
    if (r->limits.max_open_orders <= 0)
        return 0;
    open = oms_open_count(v->oms, -1);
    if (open < (size_t)r->limits.max_open_orders)
        return 0;
    return refuse(reason, len, "open_orders", "%zu open orders, max_open_orders %d", open,
                  r->limits.max_open_orders);
}

/* ---- rate ---- */

static void rate_configure(risk *r)
{
    double per_second = r->limits.orders_per_second;

    r->rate_started = 0;
    r->rate_milli = 0;
    if (!(per_second > 0))
        return;
    r->rate_milli = per_second >= (double)RATE_MAX_MILLI / 1000
                        ? RATE_MAX_MILLI
                        : (int64_t)llround(per_second * 1000);
    if (r->rate_milli < 1)
        r->rate_milli = 1;
    /* Burst: max(1, rate) orders. */
    r->rate_capacity = (r->rate_milli > RATE_MILLI_PER_ORDER ? r->rate_milli
                                                             : RATE_MILLI_PER_ORDER) *
                       TS_NS_PER_SEC;
}

/* Tokens accrue with engine time; a clock that steps back adds none. */
static void rate_refill(risk *r, int64_t now)
{
    int64_t elapsed, room;

    if (!r->rate_started) {
        r->rate_started = 1;
        r->rate_tokens = r->rate_capacity;
        r->rate_last = now;
        return;
    }
    if (now <= r->rate_last)
        return;
    elapsed = now - r->rate_last;
    r->rate_last = now;
    room = r->rate_capacity - r->rate_tokens;
    if (elapsed > room / r->rate_milli)
        r->rate_tokens = r->rate_capacity;
    else
        r->rate_tokens += elapsed * r->rate_milli;
}

static int gate_rate(risk *r, const risk_view *v, const risk_order *o, int64_t now, char *reason,
                     size_t len)
{
    int64_t wait_ns;
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX], c[FIXED_STR_MAX];

    (void)v;
    (void)o;
    if (r->rate_milli == 0)
        return 0;
    rate_refill(r, now);
    if (r->rate_tokens >= RATE_ORDER)
        return 0;
    wait_ns = (RATE_ORDER - r->rate_tokens + r->rate_milli - 1) / r->rate_milli;
    return refuse(reason, len, "rate",
                  "orders_per_second %s used up (burst %s), next order in %s s",
                  fmt_trim(a, r->rate_milli, 3), fmt_trim(b, r->rate_capacity / TS_NS_PER_SEC, 3),
                  fmt_trim(c, wait_ns, 9));
}

/* Charged only once every gate has passed: a refused order costs nothing. */
static void rate_charge(risk *r)
{
    if (r->rate_milli != 0)
        r->rate_tokens -= RATE_ORDER;
}

/* ---- daily_loss ---- */

static int64_t utc_day(int64_t now)
{
    int64_t day = now / TS_NS_PER_DAY;
    return now % TS_NS_PER_DAY < 0 ? day - 1 : day;
}

/* The day's start is the first equity seen in its UTC day. A trip holds
 * until risk_resume, across days. @return 1 if this equity tripped. */
static int daily_loss_feed(risk *r, int64_t equity, int64_t now)
{
    int64_t day = utc_day(now), max_loss, floor_equity;
    char a[FIXED_STR_MAX], b[FIXED_STR_MAX], c[FIXED_STR_MAX], d[FIXED_STR_MAX];

    r->have_equity = 1;
    r->last_equity = equity;
    if (!r->have_day || day != r->day) {
        r->have_day = 1;
        r->day = day;
        r->day_start = equity;
    }
    if (r->trip != RISK_TRIP_NONE || !(r->limits.max_daily_loss > 0))
        return 0;
    max_loss = limit_units(r->limits.max_daily_loss, MONEY_SCALE);
    floor_equity = add_saturated(r->day_start, -max_loss);
    if (equity > floor_equity)
        return 0;
    snprintf(r->why, sizeof r->why,
             "risk: daily_loss: equity %s is %s below the day's start %s (max_daily_loss %s)",
             fmt_money(a, equity), fmt_money(b, add_saturated(r->day_start, -equity)),
             fmt_money(c, r->day_start), fmt_trim(d, max_loss, MONEY_SCALE));
    r->trip = RISK_TRIP_DAILY_LOSS;
    return 1;
}

static int refuse_tripped(const risk *r, char *reason, size_t len)
{
    if (reason && len > 0)
        snprintf(reason, len, "%s", r->why);
    return -1;
}

static int gate_daily_loss(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                           char *reason, size_t len)
{
    (void)o;
    if (r->trip == RISK_TRIP_DAILY_LOSS)
        return refuse_tripped(r, reason, len);
    if (!(r->limits.max_daily_loss > 0) || !v->equity)
        return 0;
    if (daily_loss_feed(r, v->equity(v->ud), now))
        return refuse_tripped(r, reason, len);
    return 0;
}

/* ---- kill_switch ---- */

static int gate_kill_switch(risk *r, const risk_view *v, const risk_order *o, int64_t now,
                            char *reason, size_t len)
{
    (void)v;
    (void)o;
    (void)now;
    if (r->trip == RISK_TRIP_KILL)
        return refuse_tripped(r, reason, len);
    return 0;
}

/* ---- The check ---- */

/* The order of DESIGN.md and risk.h: the first refusal is the reason. */
static const risk_gate risk_gates[] = {
    gate_valid,    gate_balance,     gate_max_order, gate_price_band, gate_position,
    gate_exposure, gate_open_orders, gate_rate,      gate_daily_loss, gate_kill_switch,
};

int risk_check_order(risk *r, const risk_view *v, const order_request *req, int64_t now,
                     char *reason, size_t len)
{
    risk_order o;

    if (!v || !v->reg || !v->oms)
        return refuse(reason, len, "valid",
                      "no instrument registry or order manager to check against");
    risk_order_init(&o, v, req);
    for (size_t i = 0; i < sizeof risk_gates / sizeof risk_gates[0]; i++)
        if (risk_gates[i](r, v, &o, now, reason, len) < 0)
            return -1;
    rate_charge(r);
    return 0;
}

/* ---- Life, limits and controls ---- */

static int limits_check(const risk_limits *l, char *err, size_t errlen)
{
    const struct {
        const char *name;
        double v;
    } values[] = {
        {"max_order_qty", l->max_order_qty},
        {"max_order_notional", l->max_order_notional},
        {"price_band_pct", l->price_band_pct},
        {"max_gross_exposure", l->max_gross_exposure},
        {"orders_per_second", l->orders_per_second},
        {"max_daily_loss", l->max_daily_loss},
        {"max_open_orders", (double)l->max_open_orders},
    };

    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (!(values[i].v >= 0) || isinf(values[i].v)) {
            snprintf(err, errlen, "risk.%s: want a number >= 0, got %g", values[i].name,
                     values[i].v);
            return -1;
        }
    if (l->nmax_position > RISK_MAX_POSITION_LIMITS) {
        snprintf(err, errlen, "risk.max_position: %zu symbols, at most %d", l->nmax_position,
                 RISK_MAX_POSITION_LIMITS);
        return -1;
    }
    for (size_t i = 0; i < l->nmax_position; i++) {
        if (!l->max_position[i].symbol[0]) {
            snprintf(err, errlen, "risk.max_position: entry %zu has no symbol", i + 1);
            return -1;
        }
        if (!(l->max_position[i].qty >= 0) || isinf(l->max_position[i].qty)) {
            snprintf(err, errlen, "risk.max_position.%s: want a number >= 0, got %g",
                     l->max_position[i].symbol, l->max_position[i].qty);
            return -1;
        }
    }
    return 0;
}

risk *risk_new(const risk_limits *limits, char *err, size_t errlen)
{
    static const risk_limits none;
    risk *r;

    if (!limits)
        limits = &none;
    if (limits_check(limits, err, errlen) < 0)
        return NULL;
    if (!(r = calloc(1, sizeof *r))) {
        snprintf(err, errlen, "risk: out of memory");
        return NULL;
    }
    r->limits = *limits;
    rate_configure(r);
    return r;
}

void risk_free(risk *r)
{
    free(r);
}

/* The bucket restarts full under a new rate; the day's start and a trip
 * are kept. */
void risk_set_limits(risk *r, const risk_limits *limits)
{
    double old_rate = r->limits.orders_per_second;

    r->limits = *limits;
    if (r->limits.nmax_position > RISK_MAX_POSITION_LIMITS)
        r->limits.nmax_position = RISK_MAX_POSITION_LIMITS;
    if (r->limits.orders_per_second != old_rate)
        rate_configure(r);
}

int risk_on_equity(risk *r, int64_t equity, int64_t now)
{
    return daily_loss_feed(r, equity, now);
}

void risk_kill(risk *r, const char *why)
{
    r->trip = RISK_TRIP_KILL;
    snprintf(r->why, sizeof r->why, "risk: kill_switch: %s",
             why && *why ? why : "engaged by the operator");
}

/* Resuming after a daily loss accepts that loss: the day starts again from
 * the last equity seen, so only a further max_daily_loss trips again. */
void risk_resume(risk *r)
{
    r->trip = RISK_TRIP_NONE;
    r->why[0] = '\0';
    if (r->have_equity)
        r->day_start = r->last_equity;
}

int risk_tripped(const risk *r, const char **why)
{
    if (why)
        *why = r->why;
    return r->trip != RISK_TRIP_NONE;
}
