/*
 * import_ohlcv.c -- generic OHLCV CSV with a header: Yahoo Finance
 * (Date,Open,High,Low,Close,Adj Close,Volume), CryptoDataDownload (a URL
 * banner line, then unix,date,symbol,open,...,Volume BTC,Volume USD, newest
 * first), backtesting.py (an unnamed index column), and the like.
 *
 * A bar's time in the file is its open; it is received at its close, open
 * plus the bar interval. Files do not state the interval, so it is inferred
 * once the whole file is read: the smallest positive spacing between two
 * consecutive bars (weekends and missing bars only make spacings larger).
 */
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "timestamp.h"

#define OHLCV_MAX_FIELDS 64

/* Names a time column goes by (an unnamed first column is one too). */
static const char *const ohlcv_time_names[] = {"date", "datetime", "time", "timestamp", "unix",
                                               NULL};

enum { C_TIME, C_OPEN, C_HIGH, C_LOW, C_CLOSE, C_VOLUME, C_SYMBOL, C_NCOLS };

typedef struct ohlcv_header {
    int col[C_NCOLS]; /* field index of each, -1 if absent (volume, symbol) */
    int nfields;
} ohlcv_header;

/* What the end-of-file pass needs of every bar. */
typedef struct ohlcv_bar {
    int64_t open_ns;
    uint64_t line;
    size_t col;   /* of the time field, for a duplicate's message */
    size_t event; /* index among the context's events */
    int32_t inst;
    int dropped;
} ohlcv_bar;

typedef struct ohlcv {
    import_ctx *ic;
    ohlcv_header h;
    int32_t inst;        /* the one instrument, unless rows name theirs */
    const char *venue;
    ohlcv_bar *bars;
    size_t nbars, cap;
} ohlcv;

/* ---- Header and detection ---- */

static int ohlcv_starts_with(const csv_field *f, const char *prefix)
{
    csv_field head = *f;
    size_t n = strlen(prefix);

    while (head.len > 0 && (*head.s == ' ' || *head.s == '\t')) {
        head.s++;
        head.len--;
    }
    if (head.len < n)
        return 0;
    head.len = n;
    return csv_field_is(&head, prefix);
}

static int ohlcv_is_time_name(const csv_field *f, int index)
{
    for (int i = 0; ohlcv_time_names[i]; i++)
        if (csv_field_is(f, ohlcv_time_names[i]))
            return 1;
    return index == 0 && csv_field_is(f, "");
}

/* @return 1 and h filled if the fields are an OHLCV header, else 0. */
static int ohlcv_parse_header(const csv_field *f, int n, ohlcv_header *h)
{
    static const char *const prices[] = {"open", "high", "low", "close"};

    for (int c = 0; c < C_NCOLS; c++)
        h->col[c] = -1;
    h->nfields = n;
    for (int i = 0; i < n && h->col[C_TIME] < 0; i++)
        if (ohlcv_is_time_name(&f[i], i))
            h->col[C_TIME] = i;
    for (int c = 0; c < 4; c++)
        h->col[C_OPEN + c] = csv_find(f, n, prices[c]);
    for (int i = 0; i < n && h->col[C_VOLUME] < 0; i++)
        if (ohlcv_starts_with(&f[i], "volume"))
            h->col[C_VOLUME] = i;
    h->col[C_SYMBOL] = csv_find(f, n, "symbol");
    for (int c = C_TIME; c <= C_CLOSE; c++)
        if (h->col[c] < 0)
            return 0;
    return 1;
}

/* A header on line 1, or on line 2 under a banner. */
static int ohlcv_detect(const char *const *lines, const size_t *lens, size_t n)
{
    csv_field f[OHLCV_MAX_FIELDS];
    ohlcv_header h;
    char buf[4096];

    for (size_t i = 0; i < n && i < 2; i++) {
        int nf = import_split_copy(lines[i], lens[i], buf, sizeof buf, f, OHLCV_MAX_FIELDS);
        if (nf > 0 && nf <= OHLCV_MAX_FIELDS && ohlcv_parse_header(f, nf, &h))
            return 80;
    }
    return 0;
}

static int ohlcv_read_header(ohlcv *o, csv_field *f)
{
    char *line;
    size_t len;
    int rc, n;

    for (int i = 0; i < 2; i++) {
        rc = import_next_line(o->ic, &line, &len);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        n = csv_split(line, len, f, OHLCV_MAX_FIELDS);
        if (n > 0 && n <= OHLCV_MAX_FIELDS && ohlcv_parse_header(f, n, &o->h))
            return 0;
    }
    return import_fail(o->ic, "no header naming a date or time column and Open, High, Low, "
                              "Close on line 1 or 2");
}

/* ---- Instrument ---- */

/*
 * With --symbol or without a symbol column, one instrument for the file:
 * --symbol (BASE/QUOTE splits), else the file name's stem with the quote
 * asset USD and its leading letters and digits as base.
 */
static int ohlcv_file_instrument(ohlcv *o)
{
    const import_options *opt = import_opts(o->ic);
    const char *path = import_input_path(o->ic), *name = strrchr(path, '/');
    char stem[256], base[LUTRA_ASSET_MAX];
    size_t len, b = 0;

    if (opt->symbol)
        o->inst = import_instrument(o->ic, o->venue, opt->symbol, NULL, NULL);
    else if (o->h.col[C_SYMBOL] >= 0)
        return 0;
    else {
        if (strcmp(path, "standard input") == 0)
            return import_fail(o->ic, "no symbol column: use --symbol");
        name = name ? name + 1 : path;
        len = strcspn(name, ".");
        if (len == 0 || len >= sizeof stem)
            return import_fail(o->ic, "cannot make a symbol of the file name; use --symbol");
        memcpy(stem, name, len);
        stem[len] = '\0';
        while (b < len && b + 1 < sizeof base &&
               ((stem[b] >= 'a' && stem[b] <= 'z') || (stem[b] >= 'A' && stem[b] <= 'Z') ||
                (stem[b] >= '0' && stem[b] <= '9')))
            b++;
        memcpy(base, stem, b ? b : 1);
        base[b ? b : 1] = '\0';
        o->inst = import_instrument(o->ic, o->venue, stem, base, "USD");
    }
    if (o->inst < 0)
        return import_fail(o->ic, "%s; use --symbol", import_last_error(o->ic));
    return 0;
}

/* @return the row's instrument, or as import_fields when it is bad. */
static int ohlcv_row_instrument(ohlcv *o, const csv_field *f, int32_t *inst)
{
    const csv_field *sym;
    char symbol[LUTRA_SYMBOL_MAX];
    int rc;

    if (o->h.col[C_SYMBOL] < 0 || import_opts(o->ic)->symbol) {
        *inst = o->inst;
        return 0;
    }
    sym = &f[o->h.col[C_SYMBOL]];
    if ((rc = import_field_name(o->ic, sym, "symbol", symbol, sizeof symbol)))
        return rc;
    *inst = import_instrument(o->ic, o->venue, symbol, NULL, NULL);
    if (*inst < 0)
        return import_bad_row(o->ic, sym->col, "%s", import_last_error(o->ic)) < 0 ? -1 : 1;
    return 0;
}

/* ---- Rows ---- */

/* A date, an ISO date-time, or unix seconds, ms or µs. */
static int ohlcv_time(import_ctx *ic, const csv_field *f, int64_t *ns)
{
    int64_t v;

    if (import_int64(f->s, f->len, &v) == 0 ? import_epoch_ns(v, ns, NULL) == 0
                                            : ts_parse_iso(f->s, f->len, ns) == 0)
        return 0;
    if (f->len == 0)
        return import_bad_row(ic, f->col, "empty time") < 0 ? -1 : 1;
    return import_bad_row(ic, f->col, "time '%.*s' is not a date, a date-time or a count "
                                      "since the epoch", f->len > 40 ? 40 : (int)f->len, f->s) < 0
               ? -1
               : 1;
}

static int ohlcv_remember(ohlcv *o, int64_t open_ns, size_t col, int32_t inst)
{
    if (o->nbars == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 1024;
        ohlcv_bar *p = realloc(o->bars, cap * sizeof *p);
        if (!p)
            return import_fail(o->ic, "out of memory");
        o->bars = p;
        o->cap = cap;
    }
    o->bars[o->nbars++] = (ohlcv_bar){open_ns, import_lineno(o->ic), col,
                                      import_event_count(o->ic) - 1, inst, 0};
    return 0;
}

static int ohlcv_row(ohlcv *o, const csv_field *f)
{
    const int *col = o->h.col;
    const csv_field *ohlc[4] = {&f[col[C_OPEN]], &f[col[C_HIGH]], &f[col[C_LOW]],
                                &f[col[C_CLOSE]]};
    const csv_field *volume = col[C_VOLUME] >= 0 ? &f[col[C_VOLUME]] : NULL;
    int64_t open_ns, px[4], vol = 0;
    int32_t inst;
    lutra_event ev;
    int rc;

    if ((rc = ohlcv_time(o->ic, &f[col[C_TIME]], &open_ns)) ||
        (rc = ohlcv_row_instrument(o, f, &inst)) ||
        (rc = import_fields(o->ic, inst, IMPORT_PRICE, ohlc, 4, px)) ||
        (volume && (rc = import_fields(o->ic, inst, IMPORT_SIZE, &volume, 1, &vol))))
        return rc;
    memset(&ev, 0, sizeof ev);
    /* ts_recv becomes the close once the interval is known. */
    ev.h.ts_recv = ev.h.ts_exch = open_ns;
    ev.h.type = LUTRA_EV_BAR;
    ev.h.flags = LUTRA_F_ONE_TS;
    ev.h.instrument = (uint32_t)inst;
    ev.bar.open = px[0];
    ev.bar.high = px[1];
    ev.bar.low = px[2];
    ev.bar.close = px[3];
    ev.bar.volume = vol;
    if (import_emit(o->ic, &ev) < 0)
        return -1;
    return ohlcv_remember(o, open_ns, f[col[C_TIME]].col, inst);
}

/* ---- After the last row ---- */

static int ohlcv_bar_cmp(const void *a, const void *b)
{
    const ohlcv_bar *x = a, *y = b;
    if (x->inst != y->inst)
        return x->inst < y->inst ? -1 : 1;
    if (x->open_ns != y->open_ns)
        return x->open_ns < y->open_ns ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Bars [from, to) of one instrument, sorted: drop duplicates, then set each
 * bar's receive time to its close. */
static int ohlcv_close_bars(ohlcv *o, size_t from, size_t to)
{
    int64_t interval = 0, last = 0;
    size_t kept = 0;

    for (size_t i = from; i < to; i++) {
        ohlcv_bar *b = &o->bars[i];
        if (kept && b->open_ns == last) {
            if (import_bad_row_at(o->ic, b->line, b->col, "duplicate bar time") < 0)
                return -1;
            import_drop_event(o->ic, b->event);
            b->dropped = 1;
            continue;
        }
        if (kept && (interval == 0 || b->open_ns - last < interval))
            interval = b->open_ns - last;
        last = b->open_ns;
        kept++;
    }
    if (kept < 2) {
        const lutra_instrument *def =
            instrument_registry_get(import_registry(o->ic), (uint32_t)o->bars[from].inst);
        return import_fail(o->ic, "only one bar of %s: cannot infer the bar interval",
                           def ? def->symbol : "?");
    }
    for (size_t i = from; i < to; i++) {
        lutra_event *ev = import_event_at(o->ic, o->bars[i].event);
        if (o->bars[i].dropped)
            continue;
        if (__builtin_add_overflow(o->bars[i].open_ns, interval, &ev->h.ts_recv))
            return import_fail(o->ic, "line %llu: bar close beyond the year 2262",
                               (unsigned long long)o->bars[i].line);
    }
    return 0;
}

static int ohlcv_finish(ohlcv *o)
{
    size_t from = 0;

    if (o->nbars == 0)
        return 0;
    qsort(o->bars, o->nbars, sizeof *o->bars, ohlcv_bar_cmp);
    for (size_t i = 1; i <= o->nbars; i++)
        if (i == o->nbars || o->bars[i].inst != o->bars[from].inst) {
            if (ohlcv_close_bars(o, from, i) < 0)
                return -1;
            from = i;
        }
    return 0;
}

static int ohlcv_run(import_ctx *ic)
{
    csv_field f[OHLCV_MAX_FIELDS];
    ohlcv o;
    char *line;
    size_t len;
    int rc, n;

    memset(&o, 0, sizeof o);
    o.ic = ic;
    o.venue = import_opts(ic)->venue ? import_opts(ic)->venue : "csv";
    rc = ohlcv_read_header(&o, f) < 0 || ohlcv_file_instrument(&o) < 0 ? -1 : 0;
    while (rc == 0 && (rc = import_next_line(ic, &line, &len)) == 1) {
        rc = 0;
        if (len == 0)
            continue;
        n = csv_split(line, len, f, OHLCV_MAX_FIELDS);
        if (n < 0)
            rc = import_bad_row(ic, 1, "unterminated quote");
        else if (n != o.h.nfields)
            rc = import_bad_row(ic, len + 1, "%d fields where the header has %d", n,
                                o.h.nfields);
        else
            rc = ohlcv_row(&o, f);
        if (rc > 0)
            rc = 0;
    }
    if (rc == 0)
        rc = ohlcv_finish(&o);
    free(o.bars);
    return rc;
}

const importer import_ohlcv = {"ohlcv",
                               "OHLCV CSV with a header (Yahoo, CryptoDataDownload, ...)",
                               ohlcv_detect, ohlcv_run, NULL};
