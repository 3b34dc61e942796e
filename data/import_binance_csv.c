/*
 * import_binance_csv.c -- Binance public data CSV (data.binance.vision):
 * trades, aggTrades and klines.
 *
 * The files have no header (some futures files do: it is skipped) and name
 * the symbol only in their file name (BTCUSDT-trades-2024-08-08.csv).
 * Timestamps are milliseconds, except in spot files from 2025 on, which use
 * microseconds: each value is read by its magnitude, so a file that mixes
 * both reads right too.
 */
#include <string.h>

#include "fixed.h"
#include "import.h"

#define BINANCE_MAX_FIELDS 16

typedef enum binance_kind { BN_TRADES, BN_AGGTRADES, BN_KLINES } binance_kind;

/* Where each kind keeps its fields (0-based), and how many it may have. */
typedef struct binance_layout {
    const char *first_header; /* first column name of the optional header */
    int min_fields, max_fields;
    int price, qty, time, buyer_maker; /* trades and aggTrades */
} binance_layout;

static const binance_layout binance_layouts[] = {
    [BN_TRADES] = {"id", 6, 7, 1, 2, 4, 5},
    [BN_AGGTRADES] = {"agg_trade_id", 7, 8, 1, 2, 5, 6},
    [BN_KLINES] = {"open_time", 12, 12, 0, 0, 0, 0},
};

/* Kline columns. */
enum { K_OPEN_TIME = 0, K_OPEN = 1, K_VOLUME = 5, K_CLOSE_TIME = 6 };

/* A timestamp (ms or µs) since the epoch. */
static int binance_is_time(const csv_field *f)
{
    int64_t v;
    return import_int64(f->s, f->len, &v) == 0 && v >= INT64_C(100000000000);
}

static int binance_is_int(const csv_field *f, int64_t *v)
{
    return import_int64(f->s, f->len, v) == 0;
}

static int binance_is_decimal(const csv_field *f)
{
    return f->len > 0 && fixed_decimals(f->s, f->len) >= 0;
}

static int binance_is_bool(const csv_field *f)
{
    return csv_field_is(f, "true") || csv_field_is(f, "false");
}

/*
 * Which kind a data row looks like, or -1. Seven fields fit both a spot
 * trades row and a futures aggTrades row: trades have their is_buyer_maker
 * flag in the 6th field and the time in the 5th; aggTrades have the time in
 * the 6th and two trade ids, first <= last, in the 4th and 5th.
 */
static int binance_classify(const csv_field *f, int n)
{
    int64_t first, last;
    int i;

    if (n == 12) {
        for (i = 0; i < 12 && binance_is_decimal(&f[i]); i++)
            ;
        return i == 12 && binance_is_time(&f[K_OPEN_TIME]) && binance_is_time(&f[K_CLOSE_TIME])
                   ? BN_KLINES
                   : -1;
    }
    if (n < 6 || n > 8 || !binance_is_int(&f[0], &first) || !binance_is_decimal(&f[1]) ||
        !binance_is_decimal(&f[2]))
        return -1;
    if ((n == 6 || n == 7) && binance_is_bool(&f[5]) && binance_is_time(&f[4]) &&
        binance_is_decimal(&f[3]) && (n == 6 || binance_is_bool(&f[6])))
        return BN_TRADES;
    if ((n == 7 || n == 8) && binance_is_bool(&f[6]) && binance_is_time(&f[5]) &&
        binance_is_int(&f[3], &first) && binance_is_int(&f[4], &last) && first <= last &&
        (n == 7 || binance_is_bool(&f[7])))
        return BN_AGGTRADES;
    return -1;
}

/* 1 if the fields are the optional header of kind. */
static int binance_is_header(const csv_field *f, int n, binance_kind kind)
{
    const binance_layout *l = &binance_layouts[kind];
    return n >= l->min_fields && n <= l->max_fields && csv_field_is(&f[0], l->first_header);
}

/* Every data line among the first ones is of kind (a header may lead). */
static int binance_detect(const char *const *lines, const size_t *lens, size_t n,
                          binance_kind kind)
{
    csv_field f[BINANCE_MAX_FIELDS];
    char buf[4096];
    int header = 0, rows = 0;

    for (size_t i = 0; i < n; i++) {
        int nf = import_split_copy(lines[i], lens[i], buf, sizeof buf, f, BINANCE_MAX_FIELDS);
        if (nf < 0 || nf > BINANCE_MAX_FIELDS)
            return 0;
        if (lens[i] == 0)
            continue;
        if (i == 0 && binance_is_header(f, nf, kind)) {
            header = 1;
            continue;
        }
        if (binance_classify(f, nf) != (int)kind)
            return 0;
        rows++;
    }
    return header ? 100 : rows ? 90 : 0;
}

static int binance_trades_detect(const char *const *lines, const size_t *lens, size_t n)
{
    return binance_detect(lines, lens, n, BN_TRADES);
}

static int binance_aggtrades_detect(const char *const *lines, const size_t *lens, size_t n)
{
    return binance_detect(lines, lens, n, BN_AGGTRADES);
}

static int binance_klines_detect(const char *const *lines, const size_t *lens, size_t n)
{
    return binance_detect(lines, lens, n, BN_KLINES);
}

/* ---- Rows ---- */

/* A timestamp by magnitude, and its unit. @return as import_fields. */
static int binance_time(import_ctx *ic, const csv_field *f, const char *what, int64_t *ns,
                        int64_t *unit)
{
    int64_t v;
    int rc = import_field_int(ic, f, what, &v);

    if (rc)
        return rc;
    if (import_epoch_ns(v, ns, unit) < 0)
        return import_bad_row(ic, f->col, "%s %lld is not a time", what, (long long)v) < 0 ? -1
                                                                                           : 1;
    return 0;
}

static void binance_head(lutra_event *ev, int32_t inst, int type, int64_t ts_exch,
                         int64_t ts_recv, int flags)
{
    memset(ev, 0, sizeof *ev);
    ev->h.ts_recv = ts_recv;
    ev->h.ts_exch = ts_exch;
    ev->h.type = (uint8_t)type;
    ev->h.flags = (uint8_t)flags;
    ev->h.instrument = (uint32_t)inst;
}

/* trades and aggTrades: one timestamp; is_buyer_maker true means the
 * aggressor sold. */
static int binance_trade_row(import_ctx *ic, int32_t inst, const binance_layout *l,
                             const csv_field *f)
{
    const csv_field *price = &f[l->price], *qty = &f[l->qty], *maker = &f[l->buyer_maker];
    int64_t ts, p, q;
    lutra_event ev;
    int rc, sold;

    if ((rc = binance_time(ic, &f[l->time], "time", &ts, NULL)) ||
        (rc = import_fields(ic, inst, IMPORT_PRICE, &price, 1, &p)) ||
        (rc = import_fields(ic, inst, IMPORT_SIZE, &qty, 1, &q)))
        return rc;
    sold = csv_field_is(maker, "true");
    if (!sold && !csv_field_is(maker, "false"))
        return import_bad_row(ic, maker->col, "is_buyer_maker '%.*s' is neither true nor false",
                              maker->len > 20 ? 20 : (int)maker->len, maker->s) < 0 ? -1 : 1;
    binance_head(&ev, inst, LUTRA_EV_TRADE, ts, ts, LUTRA_F_ONE_TS | (sold ? 0 : LUTRA_F_BUY));
    ev.trade.price = p;
    ev.trade.qty = q;
    return import_emit(ic, &ev);
}

/* A kline is received when it closes: one unit after its close_time. */
static int binance_kline_row(import_ctx *ic, int32_t inst, const csv_field *f)
{
    const csv_field *ohlc[4] = {&f[K_OPEN], &f[K_OPEN + 1], &f[K_OPEN + 2], &f[K_OPEN + 3]};
    const csv_field *volume = &f[K_VOLUME];
    int64_t open_ns, close_ns, unit, px[4], vol;
    lutra_event ev;
    int rc;

    if ((rc = binance_time(ic, &f[K_OPEN_TIME], "open_time", &open_ns, NULL)) ||
        (rc = binance_time(ic, &f[K_CLOSE_TIME], "close_time", &close_ns, &unit)) ||
        (rc = import_fields(ic, inst, IMPORT_PRICE, ohlc, 4, px)) ||
        (rc = import_fields(ic, inst, IMPORT_SIZE, &volume, 1, &vol)))
        return rc;
    if (close_ns < open_ns)
        return import_bad_row(ic, f[K_CLOSE_TIME].col, "close_time before open_time") < 0 ? -1
                                                                                           : 1;
    binance_head(&ev, inst, LUTRA_EV_BAR, open_ns, close_ns + unit, 0);
    ev.bar.open = px[0];
    ev.bar.high = px[1];
    ev.bar.low = px[2];
    ev.bar.close = px[3];
    ev.bar.volume = vol;
    return import_emit(ic, &ev);
}

/* The symbol: --symbol, else the file name's first '-'-separated part.
 * @return it (in buf or the options), or NULL with the error recorded. */
static const char *binance_symbol(import_ctx *ic, char *buf, size_t cap)
{
    const char *path = import_input_path(ic), *base = strrchr(path, '/');
    const char *dash;

    if (import_opts(ic)->symbol)
        return import_opts(ic)->symbol;
    base = base ? base + 1 : path;
    dash = strchr(base, '-');
    if (!dash || dash == base || (size_t)(dash - base) >= cap) {
        import_fail(ic, "cannot tell the symbol from the file name (Binance names files "
                        "SYMBOL-...); use --symbol");
        return NULL;
    }
    memcpy(buf, base, (size_t)(dash - base));
    buf[dash - base] = '\0';
    return buf;
}

static int binance_run(import_ctx *ic, binance_kind kind)
{
    const binance_layout *l = &binance_layouts[kind];
    const import_options *opt = import_opts(ic);
    csv_field f[BINANCE_MAX_FIELDS];
    char buf[256];
    const char *symbol;
    char *line;
    size_t len;
    int32_t inst;
    int rc, n;

    if (!(symbol = binance_symbol(ic, buf, sizeof buf)))
        return -1;
    inst = import_instrument(ic, opt->venue ? opt->venue : "binance", symbol, NULL, NULL);
    if (inst < 0)
        return import_fail(ic, "%s", import_last_error(ic));
    while ((rc = import_next_line(ic, &line, &len)) == 1) {
        rc = 0;
        if (len == 0)
            continue;
        n = csv_split(line, len, f, BINANCE_MAX_FIELDS);
        if (import_lineno(ic) == 1 && n > 0 && binance_is_header(f, n, kind))
            continue;
        if (n < 0)
            rc = import_bad_row(ic, 1, "unterminated quote");
        else if (n < l->min_fields || n > l->max_fields)
            rc = import_bad_row(ic, len + 1, "%d fields where %s has %d%s", n,
                                kind == BN_KLINES ? "a kline" : "a trade", l->min_fields,
                                l->max_fields > l->min_fields ? " or one more" : "");
        else if (kind == BN_KLINES)
            rc = binance_kline_row(ic, inst, f);
        else
            rc = binance_trade_row(ic, inst, l, f);
        if (rc < 0)
            return -1;
    }
    return rc;
}

static int binance_trades_run(import_ctx *ic)
{
    return binance_run(ic, BN_TRADES);
}

static int binance_aggtrades_run(import_ctx *ic)
{
    return binance_run(ic, BN_AGGTRADES);
}

static int binance_klines_run(import_ctx *ic)
{
    return binance_run(ic, BN_KLINES);
}

const importer import_binance_trades = {"binance-trades", "Binance public data trades CSV",
                                        binance_trades_detect, binance_trades_run, NULL};
const importer import_binance_aggtrades = {"binance-aggtrades",
                                           "Binance public data aggTrades CSV",
                                           binance_aggtrades_detect, binance_aggtrades_run, NULL};
const importer import_binance_klines = {"binance-klines", "Binance public data klines CSV (bars)",
                                        binance_klines_detect, binance_klines_run, NULL};
