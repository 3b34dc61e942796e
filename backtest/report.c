/*
 * report.c -- a backtest's report: fills.csv as the fills come, round trips
 * from the positions after each fill, a thinned equity curve with exact
 * drawdown and daily closes, then the statistics, report.json,
 * trades.csv, equity.csv, report.html and the printed summary.
 *
 * Everything written to a file is built in memory first (growable buffers
 * with a sticky out-of-memory flag, checked once), so fills_sha256 is the
 * hash of the exact bytes of fills.csv and a run's files never depend on
 * the wall clock. docs/report.md describes every file and field.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "fixed.h"
#include "grow.h"
#include "json_write.h"
#include "money.h"
#include "timestamp.h"

/* equity.csv keeps at most this many rows (plus the header). */
#define REPORT_CURVE_MAX 100000
/* The curve keeps the last sample of each such span (doubled on thinning). */
#define REPORT_CURVE_SPAN (INT64_C(60) * TS_NS_PER_SEC)
/* Points per curve in report.html, and trades listed there. */
#define REPORT_HTML_POINTS 2000
#define REPORT_HTML_TRADES 1000
#define REPORT_SHARPE_BASIS "daily returns of equity, annualised by sqrt(N)"

/* ---- growable text buffers ---- */

typedef struct rbuf {
    char *p;
    size_t len, cap;
    int oom; /* sticky: every later append is a no-op */
} rbuf;

static int rb_reserve(rbuf *b, size_t more)
{
    size_t cap;
    char *p;
    if (b->oom)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void rb_put(rbuf *b, const char *s, size_t n)
{
    if (rb_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void rb_puts(rbuf *b, const char *s)
{
    rb_put(b, s, strlen(s));
}

static void rb_printf(rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rb_printf(rbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[256];

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        rb_put(b, small, (size_t)n);
        return;
    }
    if (rb_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void rb_free(rbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- escaping: JSON strings, HTML text, CSV fields ---- */

static void rb_html_char(rbuf *b, unsigned char c)
{
    switch (c) {
    case '<': rb_puts(b, "&lt;"); return;
    case '>': rb_puts(b, "&gt;"); return;
    case '&': rb_puts(b, "&amp;"); return;
    case '"': rb_puts(b, "&quot;"); return;
    default: break;
    }
    if (c < 0x20 && c != '\n' && c != '\t')
        c = ' ';
    rb_put(b, (const char *)&c, 1);
}

/* s as HTML text; bytes that are not UTF-8 become U+FFFD (a strategy's
 * error message may carry one). */
static void rb_html_text(rbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s), n;
    while (left > 0) {
        n = json_write_utf8_len(p, left);
        if (n == 0) {
            rb_puts(b, "\xEF\xBF\xBD");
            n = 1;
        } else if (n == 1) {
            rb_html_char(b, *p);
        } else {
            rb_put(b, (const char *)p, n);
        }
        p += n;
        left -= n;
    }
}

static void rb_sink(void *b, const char *s, size_t n)
{
    rb_put(b, s, n);
}

static void rb_json_string(rbuf *b, const char *s)
{
    if (!s) {
        rb_puts(b, "null");
        return;
    }
    json_write_text(rb_sink, b, s, strlen(s));
}

/* A CSV field, quoted (RFC 4180) only when it must be. */
static void rb_csv_field(rbuf *b, const char *s)
{
    const char *p;
    if (!strpbrk(s, ",\"\r\n")) {
        rb_puts(b, s);
        return;
    }
    rb_puts(b, "\"");
    for (p = s; *p; p++) {
        if (*p == '"')
            rb_puts(b, "\"");
        rb_put(b, p, 1);
    }
    rb_puts(b, "\"");
}

/* ---- number and time formatting ---- */

typedef char numstr[FIXED_STR_MAX];

/* Money units as an exact decimal: "12.5", "-0.00000001", "0". */
static const char *fmt_money(int64_t m, numstr out)
{
    if (fixed_format_trim(m, MONEY_SCALE, out, FIXED_STR_MAX) < 0)
        snprintf(out, FIXED_STR_MAX, "0");
    return out;
}

static const char *fmt_fixed(int64_t v, int scale, numstr out)
{
    if (fixed_format_trim(v, scale, out, FIXED_STR_MAX) < 0)
        snprintf(out, FIXED_STR_MAX, "%" PRId64, v);
    return out;
}

static const char *fmt_time(int64_t ns, char out[TS_ISO_MAX])
{
    if (ts_format_iso(ns, out, TS_ISO_MAX) < 0)
        snprintf(out, TS_ISO_MAX, "%" PRId64, ns);
    return out;
}

/* A double for JSON: null when undefined (NaN) or infinite. */
static void rb_json_double(rbuf *b, double v)
{
    if (!isfinite(v))
        rb_puts(b, "null");
    else
        rb_printf(b, "%.15g", v);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- the report ---- */

typedef struct trip {
    int open;
    int side;                   /* +1 long, -1 short */
    int64_t entry_time;
    int64_t max_qty;            /* largest |position|, size scale */
    int64_t entry_qty, entry_value; /* fills that grew the position */
    int64_t exit_qty, exit_value;   /* fills that shrank it */
    int64_t realized_base;      /* the position's realized PnL when it opened */
    int64_t fees;               /* money units of the quote */
} trip;

typedef struct trade {
    uint32_t instrument;
    int side;
    int64_t entry_time, exit_time;
    int64_t qty;
    int64_t entry_avg, exit_avg; /* money units per base unit */
    int64_t pnl, fees;
    double return_pct;
} trade;

typedef struct curve_point {
    int64_t time, equity;
    double drawdown_pct;
    int pinned;                 /* never replaced by a later sample of its span */
} curve_point;

typedef struct report_stats {
    int64_t pnl;
    double return_pct, max_drawdown_pct, sharpe, sortino, win_rate, profit_factor;
    double events_per_sec;
} report_stats;

struct report {
    const instrument_registry *reg;
    char *strategy, *params_json, *equity_asset, *models_json, *models_text;
    int bar_mode;
    double periods_per_year;

    rbuf fills_csv;
    trip *trips;                /* by instrument id */
    size_t ntrips;
    trade *trades;
    size_t ntrades, trades_cap;

    curve_point *curve;
    size_t ncurve;
    int64_t curve_span;
    int fill_pending;           /* a fill since the last equity sample */
    int have_peak;
    int64_t peak;
    double max_drawdown_pct;

    int64_t *closes;            /* each UTC day's last equity */
    size_t ncloses, closes_cap;
    int have_day;
    int64_t day, day_equity;

    int finished;
    report_totals totals;
    char *error;
    report_stats stats;
    char sha256[65];
    int oom;
};

static char *dup_or(const char *s, const char *fallback)
{
    return strdup(s && *s ? s : fallback);
}

report *report_new(const report_meta *meta, const instrument_registry *reg)
{
    report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->reg = reg;
    r->strategy = dup_or(meta->strategy, "strategy");
    r->params_json = dup_or(meta->params_json, "{}");
    r->equity_asset = dup_or(meta->equity_asset, "USD");
    r->models_json = dup_or(meta->models_json, "{}");
    r->models_text = dup_or(meta->models_text, "");
    r->bar_mode = meta->bar_mode;
    r->periods_per_year = meta->periods_per_year > 0 ? meta->periods_per_year : 365;
    r->curve_span = REPORT_CURVE_SPAN;
    r->curve = malloc(REPORT_CURVE_MAX * sizeof *r->curve);
    if (!r->strategy || !r->params_json || !r->equity_asset || !r->models_json ||
        !r->models_text || !r->curve) {
        report_free(r);
        return NULL;
    }
    rb_puts(&r->fills_csv, "time,order_id,symbol,side,price,qty,fee,fee_asset,liquidity,tag\n");
    return r;
}

void report_free(report *r)
{
    if (!r)
        return;
    free(r->strategy);
    free(r->params_json);
    free(r->equity_asset);
    free(r->models_json);
    free(r->models_text);
    rb_free(&r->fills_csv);
    free(r->trips);
    free(r->trades);
    free(r->curve);
    free(r->closes);
    free(r->error);
    free(r);
}

/* ---- fills and round trips ---- */

static trip *trip_of(report *r, uint32_t instrument)
{
    size_t n = r->ntrips;
    trip *t;
    if (instrument < n)
        return &r->trips[instrument];
    while (n <= instrument)
        n = n ? n * 2 : 8;
    t = realloc(r->trips, n * sizeof *t);
    if (!t)
        return NULL;
    memset(t + r->ntrips, 0, (n - r->ntrips) * sizeof *t);
    r->trips = t;
    r->ntrips = n;
    return &r->trips[instrument];
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

static int sign64(int64_t v)
{
    return (v > 0) - (v < 0);
}

/* A fill's fee in the instrument's quote (a fee in the base is valued at the
 * fill price; any other asset is taken as it is). */
static int64_t fee_in_quote(const lutra_instrument *in, const order *o, const oms_change *c)
{
    if (o->fee_asset[0] && strcmp(o->fee_asset, in->base) == 0)
        return money_muldiv(c->fill_fee, c->fill_price, fixed_pow10(in->price_scale));
    return c->fill_fee;
}

static void trip_open(trip *t, int side, int64_t qty, int64_t value, int64_t fee,
                      int64_t realized, int64_t now)
{
    memset(t, 0, sizeof *t);
    t->open = 1;
    t->side = side;
    t->entry_time = now;
    t->max_qty = qty;
    t->entry_qty = qty;
    t->entry_value = value;
    t->fees = fee;
    t->realized_base = realized;
}

/* Average price in money units per base unit of value over qty. */
static int64_t avg_price(int64_t value, int64_t qty, int size_scale)
{
    return qty ? money_muldiv(value, fixed_pow10(size_scale), qty) : 0;
}

static int trip_close(report *r, trip *t, uint32_t instrument, const lutra_instrument *in,
                      int64_t realized, int64_t now)
{
    trade *d = grow_capacity(r->trades, &r->trades_cap, r->ntrades + 1, sizeof *d, 64);
    if (!d)
        return -1;
    r->trades = d;
    d = &r->trades[r->ntrades++];
    d->instrument = instrument;
    d->side = t->side;
    d->entry_time = t->entry_time;
    d->exit_time = now;
    d->qty = t->max_qty;
    d->entry_avg = avg_price(t->entry_value, t->entry_qty, in->size_scale);
    d->exit_avg = avg_price(t->exit_value, t->exit_qty, in->size_scale);
    d->fees = t->fees;
    d->pnl = realized - t->realized_base - t->fees;
    d->return_pct = t->entry_value ? (double)d->pnl / (double)t->entry_value * 100.0 : NAN;
    t->open = 0;
    return 0;
}

/*
 * Round trips from the position before and after a fill: flat to non-flat
 * opens one, non-flat to flat closes it, and a fill that crosses zero closes
 * one and opens the next, its fee split between them by quantity. A
 * position that was already held when the report started (no trip open) is
 * not a trip until it has been flat.
 */
static int trip_on_fill(report *r, uint32_t instrument, const lutra_instrument *in,
                        const order *o, const oms_change *c, const oms_position *after,
                        int64_t now)
{
    trip *t = trip_of(r, instrument);
    int64_t signed_qty = o->req.side == ORDER_BUY ? c->fill_qty : -c->fill_qty;
    int64_t before = after->qty - signed_qty;
    int64_t fee = fee_in_quote(in, o, c);
    int64_t value = money_notional(c->fill_price, in->price_scale, c->fill_qty, in->size_scale);
    int64_t closed, close_fee;

    if (!t)
        return -1;
    if (before == 0) {
        if (after->qty != 0)
            trip_open(t, sign64(after->qty), abs64(after->qty), value, fee, after->realized_pnl,
                      now);
        return 0;
    }
    if (sign64(before) == sign64(after->qty) && abs64(after->qty) > abs64(before)) {
        if (t->open) {
            t->entry_qty += c->fill_qty;
            t->entry_value += value;
            t->fees += fee;
            if (abs64(after->qty) > t->max_qty)
                t->max_qty = abs64(after->qty);
        }
        return 0;
    }
    if (after->qty == 0 || sign64(before) == sign64(after->qty)) {
        if (!t->open)
            return 0;
        t->exit_qty += c->fill_qty;
        t->exit_value += value;
        t->fees += fee;
        return after->qty == 0 ? trip_close(r, t, instrument, in, after->realized_pnl, now) : 0;
    }
    /* Crossing zero: |before| closes the trip, |after| opens the next. */
    closed = abs64(before);
    close_fee = money_muldiv(fee, closed, c->fill_qty);
    if (t->open) {
        t->exit_qty += closed;
        t->exit_value +=
            money_notional(c->fill_price, in->price_scale, closed, in->size_scale);
        t->fees += close_fee;
        if (trip_close(r, t, instrument, in, after->realized_pnl, now) < 0)
            return -1;
    }
    trip_open(t, sign64(after->qty), abs64(after->qty),
              money_notional(c->fill_price, in->price_scale, abs64(after->qty), in->size_scale),
              fee - close_fee, after->realized_pnl, now);
    return 0;
}

static const char *liquidity_name(order_liquidity l)
{
    return l == ORDER_MAKER ? "maker" : "taker";
}

static void fill_row(rbuf *b, const lutra_instrument *in, const order *o, const oms_change *c,
                     int64_t now)
{
    char when[TS_ISO_MAX];
    numstr price, qty, fee;
    rb_printf(b, "%s,%s,", fmt_time(now, when), o->id);
    rb_csv_field(b, in->symbol);
    rb_printf(b, ",%s,%s,%s,%s,", order_side_name(o->req.side),
              fmt_fixed(c->fill_price, in->price_scale, price),
              fmt_fixed(c->fill_qty, in->size_scale, qty), fmt_money(c->fill_fee, fee));
    rb_csv_field(b, o->fee_asset[0] ? o->fee_asset : in->quote);
    rb_printf(b, ",%s,", liquidity_name(c->fill_liquidity));
    rb_csv_field(b, o->req.tag);
    rb_puts(b, "\n");
}

int report_on_fill(report *r, const order *o, const oms_change *c, const oms_position *after,
                   int64_t now)
{
    uint32_t instrument = o->req.instrument;
    const lutra_instrument *in = instrument_registry_get(r->reg, instrument);

    if (!in || !c->filled || !after)
        return -1;
    fill_row(&r->fills_csv, in, o, c, now);
    r->fill_pending = 1;
    if (r->fills_csv.oom || trip_on_fill(r, instrument, in, o, c, after, now) < 0) {
        r->oom = 1;
        return -1;
    }
    return 0;
}

/* ---- equity: drawdown, daily closes, the thinned curve ---- */

/* Halve the curve: keep the first row, then the later of each pair, and
 * double the span, so the curve stays bounded and evenly thinned. */
static void curve_halve(report *r)
{
    size_t i, n = 1;
    for (i = 2; i < r->ncurve; i += 2)
        r->curve[n++] = r->curve[i];
    if (r->ncurve % 2 == 0)
        r->curve[n++] = r->curve[r->ncurve - 1];
    r->ncurve = n;
    r->curve_span *= 2;
}

/*
 * Keep the last sample of each span of engine time, every sample taken
 * right after a fill, and the first one; a sample replaces the previous
 * row when both fall in the same span and that row is not pinned.
 */
static void curve_add(report *r, int64_t now, int64_t equity, double dd)
{
    curve_point *last = r->ncurve ? &r->curve[r->ncurve - 1] : NULL;
    int pinned = r->fill_pending || r->ncurve == 0;

    if (last && !pinned && !last->pinned &&
        floor_div(last->time, r->curve_span) == floor_div(now, r->curve_span)) {
        last->time = now;
        last->equity = equity;
        last->drawdown_pct = dd;
        return;
    }
    if (r->ncurve == REPORT_CURVE_MAX)
        curve_halve(r);
    r->curve[r->ncurve++] = (curve_point){now, equity, dd, pinned};
}

/* Room for one more close of a day (daily returns). @return 0 or -1. */
static int report_grow_closes(report *r)
{
    int64_t *c = grow_capacity(r->closes, &r->closes_cap, r->ncloses + 1, sizeof *c, 64);
    if (!c)
        return -1;
    r->closes = c;
    return 0;
}

static int daily_add(report *r, int64_t now, int64_t equity)
{
    int64_t day = floor_div(now, TS_NS_PER_DAY);
    if (r->have_day && day > r->day) {
        if (report_grow_closes(r) < 0)
            return -1;
        r->closes[r->ncloses++] = r->day_equity;
    }
    if (!r->have_day || day > r->day)
        r->day = day;
    r->have_day = 1;
    r->day_equity = equity;
    return 0;
}

int report_on_equity(report *r, int64_t now, int64_t equity)
{
    double dd = 0;

    if (!r->have_peak || equity > r->peak)
        r->peak = equity;
    r->have_peak = 1;
    if (r->peak > 0)
        dd = (double)(r->peak - equity) / (double)r->peak * 100.0;
    if (dd > r->max_drawdown_pct)
        r->max_drawdown_pct = dd;
    curve_add(r, now, equity, dd);
    r->fill_pending = 0;
    if (daily_add(r, now, equity) < 0) {
        r->oom = 1;
        return -1;
    }
    return 0;
}

/* ---- statistics ---- */

/* Sharpe and Sortino of the daily returns of equity, the first day's
 * base being the initial equity. NaN (null) when undefined. */
static void daily_ratios(const report *r, int64_t initial, double *sharpe, double *sortino)
{
    double sum = 0, mean, var = 0, down = 0, ret, prev = (double)initial;
    double scale = sqrt(r->periods_per_year);
    size_t i, n = r->ncloses;

    *sharpe = *sortino = NAN;
    if (n < 2)
        return;
    for (i = 0; i < n; i++) {
        if (prev <= 0)
            return;
        sum += (double)r->closes[i] / prev - 1.0;
        prev = (double)r->closes[i];
    }
    mean = sum / (double)n;
    prev = (double)initial;
    for (i = 0; i < n; i++) {
        ret = (double)r->closes[i] / prev - 1.0;
        prev = (double)r->closes[i];
        var += (ret - mean) * (ret - mean);
        if (ret < 0)
            down += ret * ret;
    }
    var /= (double)(n - 1);
    down = sqrt(down / (double)n);
    if (var > 0)
        *sharpe = mean / sqrt(var) * scale;
    if (down > 0)
        *sortino = mean / down * scale;
}

static void trade_ratios(const report *r, double *win_rate, double *profit_factor)
{
    int64_t gross_win = 0, gross_loss = 0;
    size_t i, wins = 0, losses = 0;

    for (i = 0; i < r->ntrades; i++) {
        if (r->trades[i].pnl > 0) {
            wins++;
            gross_win += r->trades[i].pnl;
        } else if (r->trades[i].pnl < 0) {
            losses++;
            gross_loss -= r->trades[i].pnl;
        }
    }
    *win_rate = r->ntrades ? (double)wins / (double)r->ntrades * 100.0 : NAN;
    *profit_factor = losses && gross_loss ? (double)gross_win / (double)gross_loss : NAN;
}

static void fills_hash(report *r)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    r->sha256[0] = '\0';
    if (r->fills_csv.oom ||
        EVP_Digest(r->fills_csv.p, r->fills_csv.len, md, &mdlen, EVP_sha256(), NULL) != 1)
        return;
    for (i = 0; i < mdlen && i < 32; i++)
        snprintf(r->sha256 + 2 * i, 3, "%02x", md[i]);
}

void report_finish(report *r, const report_totals *t)
{
    report_stats *s = &r->stats;
    const curve_point *last;

    r->totals = *t;
    free(r->error);
    r->error = t->error ? strdup(t->error) : NULL;
    r->totals.error = r->error;
    if (t->error && !r->error)
        r->oom = 1;

    /* The curve ends at the final equity, whatever the driver sampled. */
    last = r->ncurve ? &r->curve[r->ncurve - 1] : NULL;
    if (!last || last->equity != t->final_equity || last->time < t->end)
        report_on_equity(r, last && last->time > t->end ? last->time : t->end, t->final_equity);
    if (r->have_day) {
        if (report_grow_closes(r) < 0)
            r->oom = 1;
        else
            r->closes[r->ncloses++] = r->day_equity;
        r->have_day = 0;
    }

    s->pnl = t->final_equity - t->initial_equity;
    s->return_pct =
        t->initial_equity > 0 ? (double)s->pnl / (double)t->initial_equity * 100.0 : NAN;
    s->max_drawdown_pct = r->max_drawdown_pct;
    daily_ratios(r, t->initial_equity, &s->sharpe, &s->sortino);
    trade_ratios(r, &s->win_rate, &s->profit_factor);
    s->events_per_sec = t->wall_seconds > 0 ? (double)t->events / t->wall_seconds : NAN;
    fills_hash(r);
    r->finished = 1;
}

const char *report_fills_sha256(const report *r)
{
    return r->sha256;
}

/* ---- report.json ---- */

static void json_key(rbuf *b, const char *key)
{
    rb_printf(b, ",\n  \"%s\": ", key);
}

static void json_money(rbuf *b, const char *key, int64_t m)
{
    numstr s;
    json_key(b, key);
    rb_puts(b, fmt_money(m, s));
}

static void json_u64(rbuf *b, const char *key, uint64_t v)
{
    json_key(b, key);
    rb_printf(b, "%" PRIu64, v);
}

static void json_dbl(rbuf *b, const char *key, double v)
{
    json_key(b, key);
    rb_json_double(b, v);
}

static void json_str(rbuf *b, const char *key, const char *s)
{
    json_key(b, key);
    rb_json_string(b, s);
}

static void json_raw(rbuf *b, const char *key, const char *raw)
{
    json_key(b, key);
    rb_puts(b, raw);
}

static void json_time(rbuf *b, const char *key, const report *r, int64_t ns)
{
    char when[TS_ISO_MAX];
    json_str(b, key, r->totals.events ? fmt_time(ns, when) : NULL);
}

static void build_json(const report *r, rbuf *b)
{
    const report_totals *t = &r->totals;
    const report_stats *s = &r->stats;

    rb_puts(b, "{\n  \"strategy\": ");
    rb_json_string(b, r->strategy);
    json_raw(b, "params", r->params_json);
    json_str(b, "mode", r->bar_mode ? "bar" : "tick");
    json_u64(b, "events", t->events);
    json_time(b, "start", r, t->start);
    json_time(b, "end", r, t->end);
    json_str(b, "equity_asset", r->equity_asset);
    json_money(b, "initial_equity", t->initial_equity);
    json_money(b, "final_equity", t->final_equity);
    json_money(b, "pnl", s->pnl);
    json_dbl(b, "return_pct", s->return_pct);
    json_dbl(b, "max_drawdown_pct", s->max_drawdown_pct);
    json_dbl(b, "sharpe", s->sharpe);
    json_dbl(b, "sortino", s->sortino);
    json_str(b, "sharpe_basis", REPORT_SHARPE_BASIS);
    json_dbl(b, "periods_per_year", r->periods_per_year);
    json_u64(b, "trades", r->ntrades);
    json_dbl(b, "win_rate", s->win_rate);
    json_dbl(b, "profit_factor", s->profit_factor);
    json_money(b, "fees", t->fees);
    json_u64(b, "orders", t->orders);
    json_u64(b, "rejected", t->rejected);
    json_u64(b, "fills", t->fills);
    json_dbl(b, "wall_seconds", t->wall_seconds);
    json_dbl(b, "events_per_sec", s->events_per_sec);
    json_str(b, "fills_sha256", r->sha256);
    json_raw(b, "models", r->models_json);
    json_raw(b, "own_fills_change_book", "false");
    json_str(b, "error", r->error);
    rb_puts(b, "\n}\n");
}

/* ---- trades.csv and equity.csv ---- */

#define TRADE_COLUMNS 10
#define TRADE_FIELD_MAX 64

static const char *const trade_header[TRADE_COLUMNS] = {
    "symbol", "side", "entry_time", "exit_time", "qty", "entry_avg_price", "exit_avg_price",
    "pnl", "fees", "return_pct"};

/* A trade's columns as text, shared by trades.csv and report.html. */
static void trade_fields(const report *r, const trade *d, char f[TRADE_COLUMNS][TRADE_FIELD_MAX])
{
    const lutra_instrument *in = instrument_registry_get(r->reg, d->instrument);
    numstr n;

    snprintf(f[0], TRADE_FIELD_MAX, "%s", in ? in->symbol : "?");
    snprintf(f[1], TRADE_FIELD_MAX, "%s", d->side > 0 ? "long" : "short");
    fmt_time(d->entry_time, f[2]);
    fmt_time(d->exit_time, f[3]);
    snprintf(f[4], TRADE_FIELD_MAX, "%s", fmt_fixed(d->qty, in ? in->size_scale : 0, n));
    snprintf(f[5], TRADE_FIELD_MAX, "%s", fmt_money(d->entry_avg, n));
    snprintf(f[6], TRADE_FIELD_MAX, "%s", fmt_money(d->exit_avg, n));
    snprintf(f[7], TRADE_FIELD_MAX, "%s", fmt_money(d->pnl, n));
    snprintf(f[8], TRADE_FIELD_MAX, "%s", fmt_money(d->fees, n));
    if (isfinite(d->return_pct))
        snprintf(f[9], TRADE_FIELD_MAX, "%.6f", d->return_pct);
    else
        f[9][0] = '\0';
}

static void build_trades_csv(const report *r, rbuf *b)
{
    char f[TRADE_COLUMNS][TRADE_FIELD_MAX];
    size_t i, k;

    for (k = 0; k < TRADE_COLUMNS; k++)
        rb_printf(b, "%s%s", k ? "," : "", trade_header[k]);
    rb_puts(b, "\n");
    for (i = 0; i < r->ntrades; i++) {
        trade_fields(r, &r->trades[i], f);
        for (k = 0; k < TRADE_COLUMNS; k++) {
            if (k)
                rb_puts(b, ",");
            rb_csv_field(b, f[k]);
        }
        rb_puts(b, "\n");
    }
}

static void build_equity_csv(const report *r, rbuf *b)
{
    char when[TS_ISO_MAX];
    numstr eq;
    size_t i;

    rb_puts(b, "time,equity,drawdown_pct\n");
    for (i = 0; i < r->ncurve; i++)
        rb_printf(b, "%s,%s,%.6f\n", fmt_time(r->curve[i].time, when),
                  fmt_money(r->curve[i].equity, eq), r->curve[i].drawdown_pct);
}

/* ---- the summary (printed and in report.html) ---- */

#define SUMMARY_ROWS 24

typedef struct summary {
    const char *label[SUMMARY_ROWS];
    const char *value[SUMMARY_ROWS];
    int html[SUMMARY_ROWS];     /* 0: machine-dependent, left out of the page */
    size_t n;
    char pool[4096];
    size_t used;
} summary;

static void summary_add(summary *s, const char *label, int html, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void summary_add(summary *s, const char *label, int html, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *dst = s->pool + s->used;
    size_t room = sizeof s->pool - s->used;

    if (s->n == SUMMARY_ROWS || room < 2)
        return;
    va_start(ap, fmt);
    n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    s->used += (size_t)n < room ? (size_t)n + 1 : room;
    s->label[s->n] = label;
    s->value[s->n] = dst;
    s->html[s->n++] = html;
}

/* A ratio or percentage for people: "n/a" when undefined. */
static const char *fmt_ratio(double v, const char *unit, char *buf, size_t cap)
{
    if (!isfinite(v))
        snprintf(buf, cap, "n/a");
    else if (v != 0 && fabs(v) < 0.005) /* two significant digits, never "-0.00" */
        snprintf(buf, cap, "%.2g%s", v, unit);
    else
        snprintf(buf, cap, "%.2f%s", v, unit);
    return buf;
}

static void fmt_duration(int64_t ns, char *buf, size_t cap)
{
    int64_t s = ns / TS_NS_PER_SEC;
    if (s >= 86400)
        snprintf(buf, cap, "%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, cap, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, cap, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
}

static void summary_build(const report *r, summary *s)
{
    const report_totals *t = &r->totals;
    const report_stats *st = &r->stats;
    char a[TS_ISO_MAX], b[TS_ISO_MAX], d[32], x[32], y[32];
    numstr m1, m2;

    memset(s, 0, sizeof *s);
    summary_add(s, "Strategy", 1, "%s (%s mode)", r->strategy, r->bar_mode ? "bar" : "tick");
    if (t->events) {
        fmt_duration(t->end - t->start, d, sizeof d);
        summary_add(s, "Period", 1, "%s .. %s (%s)", fmt_time(t->start, a), fmt_time(t->end, b),
                    d);
    } else {
        summary_add(s, "Period", 1, "n/a (no events)");
    }
    summary_add(s, "Events", 1, "%" PRIu64, t->events);
    summary_add(s, "Equity", 1, "%s -> %s %s", fmt_money(t->initial_equity, m1),
                fmt_money(t->final_equity, m2), r->equity_asset);
    summary_add(s, "PnL", 1, "%s %s (%s)", fmt_money(st->pnl, m1), r->equity_asset,
                fmt_ratio(st->return_pct, " %", x, sizeof x));
    summary_add(s, "Max drawdown", 1, "%s", fmt_ratio(st->max_drawdown_pct, " %", x, sizeof x));
    summary_add(s, "Sharpe / Sortino", 1, "%s / %s (daily, x sqrt(%g))",
                fmt_ratio(st->sharpe, "", x, sizeof x), fmt_ratio(st->sortino, "", y, sizeof y),
                r->periods_per_year);
    summary_add(s, "Trades", 1, "%zu (win rate %s, profit factor %s)", r->ntrades,
                fmt_ratio(st->win_rate, " %", x, sizeof x),
                fmt_ratio(st->profit_factor, "", y, sizeof y));
    summary_add(s, "Fees", 1, "%s %s", fmt_money(t->fees, m1), r->equity_asset);
    summary_add(s, "Orders", 1, "%" PRIu64 " sent, %" PRIu64 " rejected, %" PRIu64 " fills",
                t->orders, t->rejected, t->fills);
    if (r->models_text[0])
        summary_add(s, "Models", 1, "%s", r->models_text);
    if (!isfinite(st->events_per_sec))
        summary_add(s, "Speed", 0, "%.3f s", t->wall_seconds);
    else if (st->events_per_sec >= 1e6)
        summary_add(s, "Speed", 0, "%.3f s, %.2f M events/s", t->wall_seconds,
                    st->events_per_sec / 1e6);
    else
        summary_add(s, "Speed", 0, "%.3f s, %.0f events/s", t->wall_seconds,
                    st->events_per_sec);
    summary_add(s, "Fills SHA-256", 1, "%s", r->sha256[0] ? r->sha256 : "n/a");
}

void report_print_summary(const report *r, FILE *out)
{
    summary s;
    size_t i, w = 0;

    summary_build(r, &s);
    for (i = 0; i < s.n; i++)
        if (strlen(s.label[i]) > w)
            w = strlen(s.label[i]);
    fprintf(out, "backtest %s\n", r->strategy);
    for (i = 0; i < s.n; i++)
        fprintf(out, "  %-*s  %s\n", (int)w, s.label[i], s.value[i]);
    if (r->error)
        fprintf(out, "  %-*s  %s\n", (int)w, "Error", r->error);
}

/* ---- report.html ---- */

#define SVG_W 960
#define SVG_H 240
#define SVG_LEFT 90
#define SVG_RIGHT 10
#define SVG_TOP 10
#define SVG_BOTTOM 24

typedef enum curve_column { CURVE_EQUITY, CURVE_DRAWDOWN } curve_column;

static double curve_value(const curve_point *p, curve_column col)
{
    return col == CURVE_EQUITY ? money_to_double(p->equity) : -p->drawdown_pct;
}

/* An axis bound as people read it: drawdowns positive, no "-0.00". */
static double axis_label(double v, curve_column col)
{
    if (col == CURVE_DRAWDOWN)
        v = -v;
    return fabs(v) < 0.005 ? 0.0 : v;
}

/* Indexes of the points to draw: all when few, else the lowest and highest
 * of each of REPORT_HTML_POINTS / 2 buckets (in time order), so no peak or
 * trough is lost. @return how many (out holds REPORT_HTML_POINTS). */
static size_t curve_sample(const report *r, curve_column col, size_t *out)
{
    size_t buckets = REPORT_HTML_POINTS / 2, k, i, lo, hi, from, to, n = 0;

    if (r->ncurve <= REPORT_HTML_POINTS) {
        for (i = 0; i < r->ncurve; i++)
            out[n++] = i;
        return n;
    }
    for (k = 0; k < buckets; k++) {
        from = r->ncurve * k / buckets;
        to = r->ncurve * (k + 1) / buckets;
        lo = hi = from;
        for (i = from; i < to; i++) {
            if (curve_value(&r->curve[i], col) < curve_value(&r->curve[lo], col))
                lo = i;
            if (curve_value(&r->curve[i], col) > curve_value(&r->curve[hi], col))
                hi = i;
        }
        out[n++] = lo < hi ? lo : hi;
        if (lo != hi)
            out[n++] = lo < hi ? hi : lo;
    }
    return n;
}

static void html_curve(const report *r, rbuf *b, curve_column col, const char *title,
                       const char *unit)
{
    size_t idx[REPORT_HTML_POINTS], n, i;
    double vmin, vmax, v, x, y, pw = SVG_W - SVG_LEFT - SVG_RIGHT, ph = SVG_H - SVG_TOP - SVG_BOTTOM;
    int64_t t0, t1;
    char a[TS_ISO_MAX], z[TS_ISO_MAX];

    rb_printf(b, "<h2>%s</h2>\n", title);
    n = curve_sample(r, col, idx);
    if (n == 0) {
        rb_puts(b, "<p>No equity samples.</p>\n");
        return;
    }
    vmin = vmax = curve_value(&r->curve[idx[0]], col);
    for (i = 1; i < n; i++) {
        v = curve_value(&r->curve[idx[i]], col);
        vmin = v < vmin ? v : vmin;
        vmax = v > vmax ? v : vmax;
    }
    t0 = r->curve[idx[0]].time;
    t1 = r->curve[idx[n - 1]].time;
    rb_printf(b,
              "<svg class=\"curve\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
              "role=\"img\" aria-label=\"%s\">\n",
              SVG_W, SVG_H, SVG_W, SVG_H, title);
    rb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" class=\"frame\"/>\n",
              SVG_LEFT, SVG_TOP, pw, ph);
    rb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f%s</text>\n", SVG_LEFT - 6,
              SVG_TOP + 10, axis_label(vmax, col), unit);
    rb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f%s</text>\n", SVG_LEFT - 6,
              SVG_H - SVG_BOTTOM, axis_label(vmin, col), unit);
    rb_printf(b, "<text x=\"%d\" y=\"%d\">%s</text>\n", SVG_LEFT, SVG_H - 6, fmt_time(t0, a));
    rb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", SVG_W - SVG_RIGHT,
              SVG_H - 6, fmt_time(t1, z));
    rb_printf(b, "<polyline class=\"%s\" points=\"", col == CURVE_EQUITY ? "eq" : "dd");
    for (i = 0; i < n; i++) {
        const curve_point *p = &r->curve[idx[i]];
        x = t1 > t0 ? SVG_LEFT + (double)(p->time - t0) / (double)(t1 - t0) * pw
                    : SVG_LEFT + pw / 2;
        y = vmax > vmin ? SVG_TOP + (vmax - curve_value(p, col)) / (vmax - vmin) * ph
                        : SVG_TOP + ph / 2;
        rb_printf(b, "%s%.1f,%.1f", i ? " " : "", x, y);
    }
    rb_puts(b, "\"/>\n</svg>\n");
}

static void html_summary(const report *r, rbuf *b)
{
    summary s;
    size_t i;

    summary_build(r, &s);
    rb_puts(b, "<table class=\"summary\">\n");
    for (i = 0; i < s.n; i++) {
        if (!s.html[i])
            continue;
        rb_printf(b, "<tr><th>%s</th><td>", s.label[i]);
        rb_html_text(b, s.value[i]);
        rb_puts(b, "</td></tr>\n");
    }
    rb_puts(b, "</table>\n");
}

static void html_trades(const report *r, rbuf *b)
{
    char f[TRADE_COLUMNS][TRADE_FIELD_MAX];
    size_t i, k, shown = r->ntrades < REPORT_HTML_TRADES ? r->ntrades : REPORT_HTML_TRADES;

    rb_printf(b, "<h2>Trades (%zu)</h2>\n", r->ntrades);
    if (shown < r->ntrades)
        rb_printf(b, "<p>The first %zu of %zu; trades.csv has them all.</p>\n", shown,
                  r->ntrades);
    if (r->ntrades == 0) {
        rb_puts(b, "<p>No closed round trip.</p>\n");
        return;
    }
    rb_puts(b, "<table class=\"trades\">\n<tr>");
    for (k = 0; k < TRADE_COLUMNS; k++)
        rb_printf(b, "<th>%s</th>", trade_header[k]);
    rb_puts(b, "</tr>\n");
    for (i = 0; i < shown; i++) {
        trade_fields(r, &r->trades[i], f);
        rb_printf(b, "<tr class=\"%s\">", r->trades[i].pnl < 0 ? "loss" : "win");
        for (k = 0; k < TRADE_COLUMNS; k++) {
            rb_puts(b, "<td>");
            rb_html_text(b, f[k]);
            rb_puts(b, "</td>");
        }
        rb_puts(b, "</tr>\n");
    }
    rb_puts(b, "</table>\n");
}

static const char html_style[] =
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}\n"
    "h1{font-size:20px}h2{font-size:16px;margin-top:28px}\n"
    "table{border-collapse:collapse;font-size:13px}\n"
    "th,td{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}\n"
    "table.summary th{color:#555;font-weight:normal}\n"
    "table.trades td{font-family:monospace}\n"
    "tr.loss td{color:#b00020}\n"
    "svg.curve{display:block;font:11px sans-serif;fill:#555}\n"
    "svg .frame{fill:none;stroke:#ccc}\n"
    "svg polyline{fill:none;stroke-width:1.5}\n"
    "svg polyline.eq{stroke:#1f6feb}svg polyline.dd{stroke:#b00020}\n"
    "pre.error{background:#fff0f0;padding:8px;white-space:pre-wrap}\n"
    "p.note{color:#666;font-size:12px}\n";

static void build_html(const report *r, rbuf *b)
{
    rb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>");
    rb_html_text(b, r->strategy);
    rb_puts(b, " - lutra backtest</title>\n<style>\n");
    rb_puts(b, html_style);
    rb_puts(b, "</style>\n</head>\n<body>\n<h1>Backtest: ");
    rb_html_text(b, r->strategy);
    rb_puts(b, "</h1>\n");
    html_summary(r, b);
    if (r->error) {
        rb_puts(b, "<h2>Error</h2>\n<pre class=\"error\">");
        rb_html_text(b, r->error);
        rb_puts(b, "</pre>\n");
    }
    html_curve(r, b, CURVE_EQUITY, "Equity", "");
    html_curve(r, b, CURVE_DRAWDOWN, "Drawdown", " %");
    html_trades(r, b);
    rb_printf(b,
              "<p class=\"note\">Sharpe and Sortino: %s (N = %g). Our own fills do not change "
              "the book. Parameters: <code>",
              REPORT_SHARPE_BASIS, r->periods_per_year);
    rb_html_text(b, r->params_json);
    rb_puts(b, "</code></p>\n</body>\n</html>\n");
}

/* ---- writing the files ---- */

static void report_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* mkdir -p. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    size_t i, len = strlen(dir);

    if (len == 0 || len >= sizeof path) {
        report_error(err, errlen, "report: output folder '%s': bad length", dir);
        return -1;
    }
    memcpy(path, dir, len + 1);
    for (i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0777) < 0 && errno != EEXIST) {
            report_error(err, errlen, "report: cannot create folder %s: %s", path,
                         strerror(errno));
            return -1;
        }
        path[i] = dir[i];
    }
    return 0;
}

static int write_file(const char *dir, const char *name, const rbuf *b, char *err,
                      size_t errlen)
{
    char path[4096];
    FILE *f;
    int bad;

    if (b->oom) {
        report_error(err, errlen, "report: %s/%s: out of memory", dir, name);
        return -1;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        report_error(err, errlen, "report: %s/%s: path too long", dir, name);
        return -1;
    }
    f = fopen(path, "wb");
    if (!f) {
        report_error(err, errlen, "report: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    bad = b->len && fwrite(b->p, 1, b->len, f) != b->len;
    if (fclose(f) != 0 || bad) {
        report_error(err, errlen, "report: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

typedef void (*report_builder)(const report *r, rbuf *b);

static int write_built(const report *r, const char *dir, const char *name,
                       report_builder build, char *err, size_t errlen)
{
    rbuf b = {0};
    int rc;
    build(r, &b);
    rc = write_file(dir, name, &b, err, errlen);
    rb_free(&b);
    return rc;
}

int report_write(report *r, const char *dir, char *err, size_t errlen)
{
    if (!r->finished) {
        report_error(err, errlen, "report: report_write before report_finish");
        return -1;
    }
    if (r->oom) {
        report_error(err, errlen, "report: out of memory while collecting the report");
        return -1;
    }
    if (make_dirs(dir, err, errlen) < 0 ||
        write_file(dir, "fills.csv", &r->fills_csv, err, errlen) < 0 ||
        write_built(r, dir, "trades.csv", build_trades_csv, err, errlen) < 0 ||
        write_built(r, dir, "equity.csv", build_equity_csv, err, errlen) < 0 ||
        write_built(r, dir, "report.json", build_json, err, errlen) < 0 ||
        write_built(r, dir, "report.html", build_html, err, errlen) < 0)
        return -1;
    return 0;
}
