/*
 * import.c -- the import context shared by every importer (see import.h).
 *
 * Events are buffered whole, 64 bytes each, because two things can only be
 * done at the end: the merge of several inputs by receive time, and the
 * instruments' scales, which keep growing while numbers with more decimals
 * turn up (every event already buffered is then rescaled exactly). The
 * output file is written once everything has been read.
 */
#include "import.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evfile.h"
#include "fixed.h"
#include "json.h"
#include "log.h"
#include "timestamp.h"

#define IMPORT_PEEK_LINES 8
/* Bad rows skipped with --skip-bad that are also shown on stderr. */
#define IMPORT_SHOWN_BAD_ROWS 10
/* Lines between two looks at the clock for the progress line. */
#define IMPORT_PROGRESS_EVERY 16384

/* The importers, each in its own file. */
extern const importer import_tardis_book, import_tardis_trades, import_tardis_quotes,
    import_tardis_snapshot, import_binance_trades, import_binance_aggtrades,
    import_binance_klines, import_ohlcv, import_binance_capture;

const importer *const import_formats[] = {
    &import_tardis_book,    &import_tardis_trades,     &import_tardis_quotes,
    &import_tardis_snapshot, &import_binance_trades,   &import_binance_aggtrades,
    &import_binance_klines, &import_ohlcv,             &import_binance_capture,
    NULL,
};

#define IMPORT_MAX_FORMATS 16

/* What the context knows of an instrument besides its registry entry. */
typedef struct import_inst {
    int present;
    lutra_instrument def;  /* scales and increments as they stand now */
    int price_fixed;       /* by --tick or by the connector that defined it */
    int size_fixed;        /* by --lot or by the connector */
    uint64_t kinds[LUTRA_EV_TYPE_MAX + 1]; /* buffered events by type */
} import_inst;

struct import_ctx {
    const import_options *opt;
    instrument_registry *reg;
    import_inst *inst;     /* indexed by registry id */
    size_t inst_cap;

    lutra_event *ev;       /* buffered events; type 0 marks a dropped one */
    size_t nev, ev_cap;

    /* The current input. */
    const char *path;
    lineread *lr;
    char *peek[IMPORT_PEEK_LINES]; /* lines detection read, served first */
    size_t peek_len[IMPORT_PEEK_LINES];
    size_t npeek, peek_next;
    uint64_t lineno;
    size_t row_start;      /* events before the current line's */
    size_t input_start;    /* events before the current input's */

    uint64_t rows, bad_rows, gaps, events;

    int progress;          /* show it: not quiet, stderr a terminal */
    int progress_shown;
    struct timespec progress_at;

    const importer *cur;   /* the current input's importer */
    void *state[IMPORT_MAX_FORMATS]; /* by index in import_formats */

    /* The instrument rows named last: most files have one. */
    int32_t cache_id;
    char cache_venue[LUTRA_VENUE_MAX];
    char cache_symbol[LUTRA_SYMBOL_MAX];

    char err[1024];
};

/* ---- Errors ---- */

static int import_error(import_ctx *ic, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int import_error(import_ctx *ic, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ic->err, sizeof ic->err, fmt, ap);
    va_end(ap);
    return -1;
}

const char *import_last_error(const import_ctx *ic)
{
    return ic->err;
}

int import_fail(import_ctx *ic, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return import_error(ic, "%s: %s", ic->path, msg);
}

static void import_count(import_ctx *ic, const lutra_event *ev, int delta)
{
    ic->inst[ev->h.instrument].kinds[ev->h.type] += (uint64_t)(int64_t)delta;
    if (ev->h.type == LUTRA_EV_STATUS && ev->status.state == LUTRA_FEED_SYNCING &&
        ev->status.reason == LUTRA_REASON_GAP)
        ic->gaps += (uint64_t)(int64_t)delta;
}

/* The message is formatted first: an argument may be ic->err itself. */
static int import_bad_row_v(import_ctx *ic, uint64_t line, size_t col, const char *fmt,
                            va_list ap)
{
    char msg[768];

    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(ic->err, sizeof ic->err, "%s:%" PRIu64 ":%zu: %s", ic->path, line, col, msg);
    if (!ic->opt->skip_bad)
        return -1;
    ic->bad_rows++;
    if (!ic->opt->quiet && ic->bad_rows <= IMPORT_SHOWN_BAD_ROWS)
        log_write(LOG_WARN, "import", "%s (row skipped)%s", ic->err,
                  ic->bad_rows == IMPORT_SHOWN_BAD_ROWS ? "; further bad rows are only counted"
                                                        : "");
    return 0;
}

int import_bad_row_at(import_ctx *ic, uint64_t line, size_t col, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = import_bad_row_v(ic, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

int import_bad_row(import_ctx *ic, size_t col, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = import_bad_row_v(ic, ic->lineno, col, fmt, ap);
    va_end(ap);
    /* A skipped row leaves nothing behind, even if it had emitted events. */
    while (rc == 0 && ic->nev > ic->row_start) {
        ic->nev--;
        if (ic->ev[ic->nev].h.type)
            import_count(ic, &ic->ev[ic->nev], -1);
    }
    return rc;
}

/* ---- Instruments ---- */

static import_inst *import_inst_slot(import_ctx *ic, uint32_t id)
{
    if (id >= ic->inst_cap) {
        size_t cap = ic->inst_cap ? ic->inst_cap : 8;
        import_inst *p;
        while (cap <= id)
            cap *= 2;
        p = realloc(ic->inst, cap * sizeof *p);
        if (!p) {
            import_error(ic, "out of memory");
            return NULL;
        }
        memset(p + ic->inst_cap, 0, (cap - ic->inst_cap) * sizeof *p);
        ic->inst = p;
        ic->inst_cap = cap;
    }
    return &ic->inst[id];
}

/* The state of a registry id; an instrument a connector defined is taken
 * as it is, scales fixed. */
static import_inst *import_inst_get(import_ctx *ic, uint32_t id)
{
    const lutra_instrument *def;
    import_inst *in;

    if (id < ic->inst_cap && ic->inst[id].present)
        return &ic->inst[id];
    def = instrument_registry_get(ic->reg, id);
    if (!def) {
        import_error(ic, "event for instrument %" PRIu32 ", which no one defined", id);
        return NULL;
    }
    in = import_inst_slot(ic, id);
    if (!in)
        return NULL;
    in->present = 1;
    in->def = *def;
    in->price_fixed = in->size_fixed = 1;
    return in;
}

/* Base and quote when the importer did not say: split the symbol, else
 * take the whole symbol as base and USD as quote (DESIGN.md). */
static void import_assets(const char *symbol, const char **base, const char **quote,
                          char *b, size_t blen, char *q, size_t qlen)
{
    if (*base && *quote)
        return;
    if (instrument_split_symbol(symbol, b, blen, q, qlen) < 0)
        snprintf(q, qlen, "USD");
    if (!*base)
        *base = b;
    if (!*quote)
        *quote = q;
}

static int32_t import_define(import_ctx *ic, const char *venue, const char *symbol,
                             const char *base, const char *quote)
{
    char b[LUTRA_ASSET_MAX * 2], q[LUTRA_ASSET_MAX * 2], msg[512];
    lutra_instrument def;
    import_inst *in;
    int32_t id;

    if (instrument_registry_count(ic->reg) >= EVFILE_MAX_INSTRUMENTS)
        return import_error(ic, "instrument %s %s: more than %d instruments in one import",
                            venue, symbol, EVFILE_MAX_INSTRUMENTS);
    b[0] = q[0] = '\0';
    import_assets(symbol, &base, &quote, b, sizeof b, q, sizeof q);
    if (instrument_define(&def, venue, symbol, base, quote,
                          ic->opt->tick ? ic->opt->tick : "1",
                          ic->opt->lot ? ic->opt->lot : "1", NULL, NULL, msg, sizeof msg) < 0)
        return import_error(ic, "instrument %s %s: %s", venue, symbol, msg);
    id = instrument_registry_add(ic->reg, &def, msg, sizeof msg);
    if (id < 0)
        return import_error(ic, "instrument %s %s: %s", venue, symbol, msg);
    in = import_inst_slot(ic, (uint32_t)id);
    if (!in)
        return -1;
    in->present = 1;
    in->def = def;
    in->price_fixed = ic->opt->tick != NULL;
    in->size_fixed = ic->opt->lot != NULL;
    return id;
}

int32_t import_instrument(import_ctx *ic, const char *venue, const char *symbol,
                          const char *base, const char *quote)
{
    int32_t id;

    if (ic->cache_id >= 0 && strcmp(venue, ic->cache_venue) == 0 &&
        strcmp(symbol, ic->cache_symbol) == 0)
        return ic->cache_id;
    id = instrument_registry_find(ic->reg, venue, symbol);
    if (id < 0)
        id = import_define(ic, venue, symbol, base, quote);
    if (id < 0 || !import_inst_get(ic, (uint32_t)id))
        return -1;
    if (strlen(venue) < sizeof ic->cache_venue && strlen(symbol) < sizeof ic->cache_symbol) {
        strcpy(ic->cache_venue, venue);
        strcpy(ic->cache_symbol, symbol);
        ic->cache_id = id;
    }
    return id;
}

/* Flag an early --tick/--lot mistake before any file is read. */
static int import_check_increments(import_ctx *ic)
{
    lutra_instrument def;
    char msg[512];

    if (!ic->opt->tick && !ic->opt->lot)
        return 0;
    if (instrument_define(&def, "check", "CHECK", "CHECK", "USD",
                          ic->opt->tick ? ic->opt->tick : "1", ic->opt->lot ? ic->opt->lot : "1",
                          NULL, NULL, msg, sizeof msg) < 0)
        return import_error(ic, "bad --tick or --lot: %s", msg);
    if (def.price_increment <= 0)
        return import_error(ic, "bad --tick '%s': must be positive", ic->opt->tick);
    if (def.size_increment <= 0)
        return import_error(ic, "bad --lot '%s': must be positive", ic->opt->lot);
    return 0;
}

/* ---- Numbers and scales ---- */

static const char *const import_kind_name[] = {"price", "size"};

/* Where an inferred scale cannot hold a file's range, a coarser increment
 * given by the user can (values finer than it are then bad rows). */
static const char *import_coarser_hint(const import_inst *in, import_num_kind kind)
{
    if (kind == IMPORT_PRICE)
        return in->price_fixed ? "" : " (the finest any price uses): give a coarser --tick";
    return in->size_fixed ? "" : " (the finest any size uses): give a coarser --lot";
}

/* The fields of ev holding numbers of one kind. @return how many. */
static size_t import_event_numbers(lutra_event *ev, import_num_kind kind, int64_t *f[4])
{
    int price = kind == IMPORT_PRICE;

    switch (ev->h.type) {
    case LUTRA_EV_BOOK_CLEAR:
    case LUTRA_EV_BOOK_DELTA:
        f[0] = price ? &ev->delta.price : &ev->delta.qty;
        return 1;
    case LUTRA_EV_TRADE:
        f[0] = price ? &ev->trade.price : &ev->trade.qty;
        return 1;
    case LUTRA_EV_QUOTE:
        f[0] = price ? &ev->quote.bid_price : &ev->quote.bid_qty;
        f[1] = price ? &ev->quote.ask_price : &ev->quote.ask_qty;
        return 2;
    case LUTRA_EV_BAR:
        if (!price) {
            f[0] = &ev->bar.volume;
            return 1;
        }
        f[0] = &ev->bar.open;
        f[1] = &ev->bar.high;
        f[2] = &ev->bar.low;
        f[3] = &ev->bar.close;
        return 4;
    default:
        return 0;
    }
}

/*
 * Multiply every buffered number of one kind of instrument id by factor:
 * first only check that all fit (so a refusal changes nothing), then do it.
 */
static int import_rescale_events(import_ctx *ic, uint32_t id, import_num_kind kind,
                                 int64_t factor, int to_scale)
{
    for (int apply = 0; apply <= 1; apply++) {
        for (size_t i = 0; i < ic->nev; i++) {
            lutra_event *ev = &ic->ev[i];
            int64_t *f[4], v;
            size_t n;

            if (ev->h.instrument != id)
                continue;
            n = import_event_numbers(ev, kind, f);
            for (size_t k = 0; k < n; k++) {
                if (__builtin_mul_overflow(*f[k], factor, &v))
                    return import_error(ic, "a %s seen earlier does not fit 64 bits at %d "
                                        "decimals%s", import_kind_name[kind], to_scale,
                                        import_coarser_hint(&ic->inst[id], kind));
                if (apply)
                    *f[k] = v;
            }
        }
    }
    return 0;
}

static int import_raise_scale(import_ctx *ic, uint32_t id, import_num_kind kind, int to)
{
    import_inst *in = &ic->inst[id];
    uint8_t *scale = kind == IMPORT_PRICE ? &in->def.price_scale : &in->def.size_scale;
    uint64_t buffered = 0;

    for (int t = 0; t <= LUTRA_EV_TYPE_MAX; t++)
        buffered += in->kinds[t];
    if (buffered &&
        import_rescale_events(ic, id, kind, fixed_pow10(to - *scale), to) < 0)
        return -1;
    *scale = (uint8_t)to;
    return 0;
}

int import_number(import_ctx *ic, int32_t inst, import_num_kind kind, const char *s,
                  size_t len, int64_t *out)
{
    const char *what = import_kind_name[kind];
    int shown = len > 40 ? 40 : (int)len;
    import_inst *in;
    int fixed, scale, d, rc;
    int64_t increment;

    if (inst < 0 || !(in = import_inst_get(ic, (uint32_t)inst)))
        return import_error(ic, "%s for an unknown instrument", what);
    fixed = kind == IMPORT_PRICE ? in->price_fixed : in->size_fixed;
    scale = kind == IMPORT_PRICE ? in->def.price_scale : in->def.size_scale;
    increment = kind == IMPORT_PRICE ? in->def.price_increment : in->def.size_increment;
    if (len == 0)
        return import_error(ic, "empty %s", what);
    d = fixed_decimals(s, len);
    if (d == FIXED_ESYNTAX)
        return import_error(ic, "%s '%.*s' is not a decimal number", what, shown, s);
    if (d < 0)
        return import_error(ic, "%s '%.*s': %s", what, shown, s, fixed_strerror(d));
    if (d > scale) {
        char inc[FIXED_STR_MAX];
        if (fixed) {
            fixed_format_trim(increment, scale, inc, sizeof inc);
            return import_error(ic, "%s '%.*s' is finer than the %s %s", what, shown, s,
                                kind == IMPORT_PRICE ? "tick" : "lot", inc);
        }
        if (import_raise_scale(ic, (uint32_t)inst, kind, d) < 0)
            return -1;
        scale = d;
    }
    rc = fixed_parse(s, len, scale, out);
    if (rc == FIXED_EOVERFLOW)
        return import_error(ic, "%s '%.*s' does not fit 64 bits at %d decimals%s", what, shown,
                            s, scale, import_coarser_hint(in, kind));
    if (rc != FIXED_OK)
        return import_error(ic, "%s '%.*s': %s", what, shown, s, fixed_strerror(rc));
    if (kind == IMPORT_SIZE && *out < 0)
        return import_error(ic, "size '%.*s' is negative", shown, s);
    if (fixed && increment > 1 && *out % increment != 0) {
        char inc[FIXED_STR_MAX];
        fixed_format_trim(increment, scale, inc, sizeof inc);
        return import_error(ic, "%s '%.*s' is not a multiple of the %s %s", what, shown, s,
                            kind == IMPORT_PRICE ? "tick" : "lot", inc);
    }
    return 0;
}

int import_fields(import_ctx *ic, int32_t inst, import_num_kind kind,
                  const csv_field *const *f, size_t n, int64_t *out)
{
    import_inst *in;
    int before;

    if (inst < 0 || !(in = import_inst_get(ic, (uint32_t)inst)))
        return -1;
    /* Two passes at most: after the first, the scale fits all of them. */
    for (int pass = 0; pass < 2; pass++) {
        before = kind == IMPORT_PRICE ? in->def.price_scale : in->def.size_scale;
        for (size_t i = 0; i < n; i++)
            if (import_number(ic, inst, kind, f[i]->s, f[i]->len, &out[i]) < 0)
                return import_bad_row(ic, f[i]->col, "%s", ic->err) < 0 ? -1 : 1;
        in = &ic->inst[inst];
        if ((kind == IMPORT_PRICE ? in->def.price_scale : in->def.size_scale) == before)
            return 0;
    }
    return 0;
}

int import_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    int64_t v = 0;

    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return -1;
    for (; i < len; i++) {
        int digit = s[i] - '0';
        if (digit < 0 || digit > 9)
            return -1;
        /* Accumulate negatively: INT64_MIN has no positive twin. */
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, digit, &v))
            return -1;
    }
    if (!neg && __builtin_mul_overflow(v, -1, &v))
        return -1;
    *out = v;
    return 0;
}

int import_field_int(import_ctx *ic, const csv_field *f, const char *what, int64_t *out)
{
    int shown = f->len > 40 ? 40 : (int)f->len;

    if (import_int64(f->s, f->len, out) == 0)
        return 0;
    if (f->len == 0)
        return import_bad_row(ic, f->col, "empty %s", what) < 0 ? -1 : 1;
    return import_bad_row(ic, f->col, "%s '%.*s' is not an integer", what, shown, f->s) < 0
               ? -1
               : 1;
}

int import_field_name(import_ctx *ic, const csv_field *f, const char *what, char *buf,
                      size_t cap)
{
    int shown = f->len > 40 ? 40 : (int)f->len;

    if (f->len == 0)
        return import_bad_row(ic, f->col, "empty %s", what) < 0 ? -1 : 1;
    if (f->len >= cap)
        return import_bad_row(ic, f->col, "%s '%.*s' is longer than %zu characters", what,
                              shown, f->s, cap - 1) < 0
                   ? -1
                   : 1;
    memcpy(buf, f->s, f->len);
    buf[f->len] = '\0';
    return 0;
}

int import_epoch_ns(int64_t v, int64_t *ns, int64_t *unit_ns)
{
    int64_t unit;

    if (v < 0)
        return -1;
    if (v < INT64_C(100000000000))
        unit = TS_NS_PER_SEC;
    else if (v < INT64_C(100000000000000))
        unit = INT64_C(1000000);
    else if (v < INT64_C(100000000000000000))
        unit = INT64_C(1000);
    else
        unit = 1;
    if (__builtin_mul_overflow(v, unit, ns))
        return -1;
    if (unit_ns)
        *unit_ns = unit;
    return 0;
}

/* ---- Events ---- */

int import_emit(import_ctx *ic, const lutra_event *ev)
{
    uint16_t size = lutra_event_size(ev->h.type);
    lutra_event *dst;

    if (!size)
        return import_error(ic, "event of unknown type %u", ev->h.type);
    if (!import_inst_get(ic, ev->h.instrument))
        return -1;
    if (ic->nev == ic->ev_cap) {
        size_t cap = ic->ev_cap ? ic->ev_cap * 2 : 65536;
        lutra_event *p = realloc(ic->ev, cap * sizeof *p);
        if (!p)
            return import_error(ic, "out of memory after %zu events", ic->nev);
        ic->ev = p;
        ic->ev_cap = cap;
    }
    /* Copy only the record's own size: emitters pass their typed struct. */
    dst = &ic->ev[ic->nev];
    memset(dst, 0, sizeof *dst);
    memcpy(dst, ev, size);
    dst->h.size = size;
    import_count(ic, dst, +1);
    ic->nev++;
    return 0;
}

void import_end_message(import_ctx *ic)
{
    if (ic->nev > ic->input_start)
        ic->ev[ic->nev - 1].h.flags |= LUTRA_F_LAST;
}

size_t import_event_count(const import_ctx *ic)
{
    return ic->nev;
}

lutra_event *import_event_at(import_ctx *ic, size_t i)
{
    return i < ic->nev ? &ic->ev[i] : NULL;
}

void import_drop_event(import_ctx *ic, size_t i)
{
    if (i >= ic->nev || !ic->ev[i].h.type)
        return;
    import_count(ic, &ic->ev[i], -1);
    ic->ev[i].h.type = 0;
}

/* ---- Input ---- */

const char *import_input_path(const import_ctx *ic)
{
    return ic->path;
}

lineread *import_input(import_ctx *ic)
{
    return ic->lr;
}

const import_options *import_opts(const import_ctx *ic)
{
    return ic->opt;
}

instrument_registry *import_registry(import_ctx *ic)
{
    return ic->reg;
}

uint64_t import_lineno(const import_ctx *ic)
{
    return ic->lineno;
}

static void import_human(uint64_t n, char *buf, size_t cap)
{
    if (n >= 1000000)
        snprintf(buf, cap, "%.1fM", (double)n / 1e6);
    else if (n >= 1000)
        snprintf(buf, cap, "%.1fk", (double)n / 1e3);
    else
        snprintf(buf, cap, "%" PRIu64, n);
}

/* One status line, rewritten in place about once a second. */
static void import_progress(import_ctx *ic)
{
    uint64_t size = lineread_file_size(ic->lr);
    struct timespec now;
    char rows[32];

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - ic->progress_at.tv_sec < 1)
        return;
    ic->progress_at = now;
    ic->progress_shown = 1;
    import_human(ic->rows, rows, sizeof rows);
    if (size)
        fprintf(stderr, "\rimport: %s %d%% %s rows\033[K", ic->path,
                (int)(lineread_offset(ic->lr) * 100 / size), rows);
    else
        fprintf(stderr, "\rimport: %s %s rows\033[K", ic->path, rows);
}

int import_next_line(import_ctx *ic, char **line, size_t *len)
{
    if (ic->peek_next < ic->npeek) {
        *line = ic->peek[ic->peek_next];
        *len = ic->peek_len[ic->peek_next];
        ic->peek_next++;
    } else {
        const char *l;
        int rc = lineread_next(ic->lr, &l, len, ic->err, sizeof ic->err);
        if (rc <= 0)
            return rc;
        /* The reader's own buffer, rewritten on the next call: the
         * importer may split it in place. */
        *line = (char *)l;
    }
    ic->lineno++;
    ic->rows++;
    ic->row_start = ic->nev;
    if (ic->progress && ic->rows % IMPORT_PROGRESS_EVERY == 0)
        import_progress(ic);
    return 1;
}

int import_split_copy(const char *line, size_t len, char *buf, size_t cap, csv_field *fields,
                      int max)
{
    if (len >= cap)
        return -1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    return csv_split(buf, len, fields, max);
}

static void import_free_peek(import_ctx *ic)
{
    for (size_t i = 0; i < ic->npeek; i++)
        free(ic->peek[i]);
    ic->npeek = ic->peek_next = 0;
}

/* Read the first lines for detection; import_next_line serves them again. */
static int import_peek(import_ctx *ic)
{
    const char *l;
    size_t len;
    int rc;

    while (ic->npeek < IMPORT_PEEK_LINES) {
        rc = lineread_next(ic->lr, &l, &len, ic->err, sizeof ic->err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        ic->peek[ic->npeek] = calloc(1, len + 1 + JSON_PADDING);
        if (!ic->peek[ic->npeek])
            return import_error(ic, "out of memory");
        memcpy(ic->peek[ic->npeek], l, len);
        ic->peek_len[ic->npeek++] = len;
    }
    return 0;
}

static void import_format_names(char *buf, size_t cap)
{
    size_t at = 0;

    buf[0] = '\0';
    for (size_t i = 0; import_formats[i] && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? ", " : "",
                               import_formats[i]->name);
}

static const importer *import_find_format(const char *name)
{
    for (size_t i = 0; import_formats[i]; i++)
        if (strcmp(import_formats[i]->name, name) == 0)
            return import_formats[i];
    return NULL;
}

/* The importer most sure of the peeked lines; a tie is no answer. */
static const importer *import_detect(import_ctx *ic)
{
    const importer *best = NULL;
    int best_conf = 0, tie = 0;
    char names[512];

    for (size_t i = 0; import_formats[i]; i++) {
        int conf = import_formats[i]->detect((const char *const *)ic->peek, ic->peek_len,
                                             ic->npeek);
        if (conf > best_conf) {
            best = import_formats[i];
            best_conf = conf;
            tie = 0;
        } else if (conf == best_conf && conf > 0) {
            tie = 1;
        }
    }
    if (best && !tie)
        return best;
    import_format_names(names, sizeof names);
    import_error(ic, "cannot tell the format of %s; use --format (one of: %s)", ic->path, names);
    return NULL;
}

static int import_one(import_ctx *ic, const char *path, const importer *forced)
{
    const importer *imp = forced;
    int rc = -1;

    ic->path = strcmp(path, "-") == 0 ? "standard input" : path;
    ic->lineno = 0;
    ic->input_start = ic->row_start = ic->nev;
    ic->lr = lineread_open(path, ic->err, sizeof ic->err);
    if (!ic->lr)
        return -1;
    if (!imp && import_peek(ic) == 0)
        imp = import_detect(ic);
    if (imp) {
        ic->cur = imp;
        rc = imp->run(ic);
    }
    if (rc == 0 && ic->progress_shown)
        import_progress(ic);
    if (rc == 0 && lineread_truncated(ic->lr))
        fprintf(stderr, "import: warning: %s is cut short (an interrupted recording?): "
                        "imported its %llu whole lines, dropped the rest\n",
                ic->path, (unsigned long long)ic->lineno);
    import_free_peek(ic);
    lineread_close(ic->lr);
    ic->lr = NULL;
    return rc;
}

/* ---- Output ---- */

typedef struct import_key {
    int64_t ts_recv;
    size_t seq; /* emission order: ties keep it */
} import_key;

static int import_key_cmp(const void *a, const void *b)
{
    const import_key *x = a, *y = b;
    if (x->ts_recv != y->ts_recv)
        return x->ts_recv < y->ts_recv ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The order to write in: NULL (with *order_ok 1) when the events already
 * are in receive-time order, the common case; else the sorted keys.
 */
static import_key *import_order(import_ctx *ic, int *order_ok)
{
    int64_t last = INT64_MIN;
    import_key *keys;
    size_t n = 0;

    *order_ok = 1;
    for (size_t i = 0; i < ic->nev; i++) {
        if (!ic->ev[i].h.type)
            continue;
        if (ic->ev[i].h.ts_recv < last)
            break;
        last = ic->ev[i].h.ts_recv;
        n = i + 1;
    }
    for (size_t i = n; i < ic->nev; i++)
        if (ic->ev[i].h.type && ic->ev[i].h.ts_recv < last)
            goto sort;
    return NULL;
sort:
    keys = malloc((ic->nev ? ic->nev : 1) * sizeof *keys);
    if (!keys) {
        *order_ok = 0;
        import_error(ic, "out of memory sorting %zu events", ic->nev);
        return NULL;
    }
    for (size_t i = 0; i < ic->nev; i++) {
        keys[i].ts_recv = ic->ev[i].h.ts_recv;
        keys[i].seq = i;
    }
    qsort(keys, ic->nev, sizeof *keys, import_key_cmp);
    return keys;
}

/* Describe each instrument that has events; map[id] is its file index. */
static int import_write_instruments(import_ctx *ic, evfile_writer *w, uint32_t *map)
{
    size_t n = instrument_registry_count(ic->reg);
    char msg[512];

    for (size_t id = 0; id < n; id++) {
        import_inst *in = id < ic->inst_cap && ic->inst[id].present ? &ic->inst[id] : NULL;
        uint64_t events = 0;
        int32_t idx;

        for (int t = 0; in && t <= LUTRA_EV_TYPE_MAX; t++)
            events += in->kinds[t];
        if (!events)
            continue;
        idx = evfile_add_instrument(w, &in->def, msg, sizeof msg);
        if (idx < 0)
            return import_error(ic, "%s", msg);
        map[id] = (uint32_t)idx;
    }
    return 0;
}

static int import_write_events(import_ctx *ic, evfile_writer *w, const uint32_t *map,
                               const import_key *keys)
{
    char msg[512];

    for (size_t i = 0; i < ic->nev; i++) {
        lutra_event ev = ic->ev[keys ? keys[i].seq : i];
        if (!ev.h.type)
            continue;
        ev.h.instrument = map[ev.h.instrument];
        if (evfile_append(w, &ev, msg, sizeof msg) < 0)
            return import_error(ic, "%s", msg);
    }
    return 0;
}

/* Write the output; on failure nothing is left of it. */
static int import_write(import_ctx *ic, const char *output)
{
    size_t ninst = instrument_registry_count(ic->reg);
    uint32_t *map = calloc(ninst ? ninst : 1, sizeof *map);
    import_key *keys = NULL;
    evfile_writer *w = NULL;
    char msg[512];
    int order_ok, created = 0, rc = -1;

    if (!map) {
        import_error(ic, "out of memory");
        goto out;
    }
    keys = import_order(ic, &order_ok);
    if (!order_ok)
        goto out;
    w = evfile_create(output, msg, sizeof msg);
    if (!w) {
        import_error(ic, "%s", msg);
        goto out;
    }
    created = 1;
    if (import_write_instruments(ic, w, map) < 0 || import_write_events(ic, w, map, keys) < 0)
        goto out;
    ic->events = evfile_writer_count(w);
    rc = evfile_close(w, msg, sizeof msg);
    w = NULL;
    if (rc < 0)
        import_error(ic, "%s", msg);
out:
    if (w)
        evfile_close(w, msg, sizeof msg);
    if (rc < 0 && created)
        unlink(output);
    free(keys);
    free(map);
    return rc;
}

/* ---- The whole import ---- */

static size_t import_format_index(const importer *imp)
{
    size_t i = 0;
    while (import_formats[i] && import_formats[i] != imp)
        i++;
    return i;
}

void **import_state(import_ctx *ic)
{
    return &ic->state[import_format_index(ic->cur)];
}

static void import_ctx_free(import_ctx *ic)
{
    for (size_t i = 0; import_formats[i] && i < IMPORT_MAX_FORMATS; i++)
        if (ic->state[i] && import_formats[i]->finish)
            import_formats[i]->finish(ic->state[i]);
    import_free_peek(ic);
    lineread_close(ic->lr);
    instrument_registry_free(ic->reg);
    free(ic->inst);
    free(ic->ev);
}

int import_run(const import_options *opt, const char *const *inputs, size_t n,
               const char *output, import_report *rep, char *err, size_t errlen)
{
    const importer *forced = NULL;
    import_ctx ic;
    int rc = -1;

    memset(&ic, 0, sizeof ic);
    ic.opt = opt;
    ic.cache_id = -1;
    ic.path = "";
    /* The first status line comes after a second: quick imports show none. */
    ic.progress = !opt->quiet && isatty(2);
    clock_gettime(CLOCK_MONOTONIC, &ic.progress_at);
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (n == 0 || !output) {
        snprintf(err, errlen, "import: %s", n == 0 ? "no input file" : "no output file");
        return -1;
    }
    if (opt->format && !(forced = import_find_format(opt->format))) {
        char names[512];
        import_format_names(names, sizeof names);
        snprintf(err, errlen, "unknown format '%s' (one of: %s)", opt->format, names);
        return -1;
    }
    ic.reg = instrument_registry_new();
    if (!ic.reg) {
        snprintf(err, errlen, "import: out of memory");
        return -1;
    }
    if (import_check_increments(&ic) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (import_one(&ic, inputs[i], forced) < 0)
            goto out;
    rc = import_write(&ic, output);
out:
    /* End the status line; the command prints the report itself. */
    if (ic.progress_shown)
        fprintf(stderr, "\rimport: %" PRIu64 " rows read%s\033[K\n", ic.rows,
                rc < 0 ? ", failed" : "");
    if (rc < 0)
        snprintf(err, errlen, "%s", ic.err);
    if (rep) {
        rep->rows = ic.rows;
        rep->events = ic.events;
        rep->bad_rows = ic.bad_rows;
        rep->gaps = ic.gaps;
    }
    import_ctx_free(&ic);
    return rc;
}
