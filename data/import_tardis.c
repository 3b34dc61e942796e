/*
 * import_tardis.c -- Tardis.dev normalized CSV: incremental_book_L2, trades,
 * quotes and book_snapshot_N (https://docs.tardis.dev/downloadable-csv-files).
 *
 * Every Tardis CSV starts with exchange,symbol,timestamp,local_timestamp:
 * timestamp is the exchange's time and local_timestamp Tardis' receive time,
 * both in microseconds. Columns are found by their header names, so a file
 * with its columns in another order, or with extra ones, reads the same.
 */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "import.h"

/* The columns every Tardis file has, in the order tardis.base[] keeps them. */
enum { T_EXCHANGE, T_SYMBOL, T_TIMESTAMP, T_LOCAL_TIMESTAMP, T_NBASE };
static const char *const tardis_base_columns[] = {"exchange", "symbol", "timestamp",
                                                  "local_timestamp", NULL};

/* Columns of each format besides the base ones, in tardis.col[] order. */
static const char *const tardis_book_columns[] = {"is_snapshot", "side", "price", "amount",
                                                  NULL};
static const char *const tardis_trades_columns[] = {"side", "price", "amount", NULL};
/* What tells a trades file from an incremental_book_L2 one (both have side,
 * price and amount). */
static const char *const tardis_trades_signature[] = {"id", "side", "price", "amount", NULL};
static const char *const tardis_quotes_columns[] = {"ask_amount", "ask_price", "bid_price",
                                                    "bid_amount", NULL};
#define TARDIS_MAX_COLS 4

/* A book_snapshot_N level: the columns of asks[i] and bids[i]. */
enum { L_ASK_PRICE, L_ASK_AMOUNT, L_BID_PRICE, L_BID_AMOUNT, L_NCOLS };
/* More levels than Tardis sells (it has 5, 10 and 25). */
#define TARDIS_MAX_LEVELS 1000
#define TARDIS_MAX_FIELDS (T_NBASE + L_NCOLS * TARDIS_MAX_LEVELS + 64)

/* Per-instrument book state of an incremental_book_L2 file. */
typedef struct tardis_book_state {
    int seen;        /* a row of this instrument came */
    int in_snapshot; /* its last row was a snapshot row */
} tardis_book_state;

typedef struct tardis {
    import_ctx *ic;
    csv_field *f;         /* room for the header's count of fields */
    int nfields;          /* fields of the header */
    int base[T_NBASE];
    int col[TARDIS_MAX_COLS];
    int (*level)[L_NCOLS]; /* book_snapshot_N: levels' column indexes */
    int nlevels;
    const csv_field **lv_field; /* book_snapshot_N row scratch: 4 per level */
    int64_t *lv_value;
    uint8_t *lv_bid;
    tardis_book_state *book; /* incremental_book_L2, by registry id */
    size_t nbook;
    int msg_open;         /* incremental_book_L2: a message is under way */
    int32_t msg_inst;
    int64_t msg_recv;
} tardis;

/* What a row holds before its own columns. */
typedef struct tardis_row {
    int32_t inst;
    int64_t ts_exch, ts_recv;
} tardis_row;

typedef int (*tardis_row_fn)(tardis *t, const tardis_row *r);

/* ---- Header ---- */

/* 1 if every name of list is among the fields. */
static int tardis_has_all(const csv_field *f, int n, const char *const *list)
{
    for (; *list; list++)
        if (csv_find(f, n, *list) < 0)
            return 0;
    return 1;
}

/* "asks[3].price" -> side 'a', level 3, price. @return the L_ column or -1. */
static int tardis_level_column(const csv_field *f, int *level)
{
    char name[48];
    int bid, n = 0, col;
    const char *p;

    if (f->len >= sizeof name)
        return -1;
    memcpy(name, f->s, f->len);
    name[f->len] = '\0';
    if (strncmp(name, "asks[", 5) != 0 && strncmp(name, "bids[", 5) != 0)
        return -1;
    bid = name[0] == 'b';
    for (p = name + 5; *p >= '0' && *p <= '9' && n < TARDIS_MAX_LEVELS; p++)
        n = n * 10 + (*p - '0');
    if (p == name + 5 || n >= TARDIS_MAX_LEVELS)
        return -1;
    if (strcmp(p, "].price") == 0)
        col = bid ? L_BID_PRICE : L_ASK_PRICE;
    else if (strcmp(p, "].amount") == 0)
        col = bid ? L_BID_AMOUNT : L_ASK_AMOUNT;
    else
        return -1;
    *level = n;
    return col;
}

/* Count the snapshot levels of a header. @return levels, or 0 when none. */
static int tardis_count_levels(const csv_field *f, int n)
{
    int levels = 0, level;

    for (int i = 0; i < n; i++)
        if (tardis_level_column(&f[i], &level) >= 0 && level + 1 > levels)
            levels = level + 1;
    return levels;
}

static int tardis_map_levels(tardis *t, const csv_field *f, int n)
{
    int level, col;

    t->nlevels = tardis_count_levels(f, n);
    if (t->nlevels == 0)
        return import_fail(t->ic, "line 1: no asks[0].price, bids[0].price, ... columns");
    t->level = malloc((size_t)t->nlevels * sizeof *t->level);
    t->lv_field = malloc((size_t)t->nlevels * L_NCOLS * sizeof *t->lv_field);
    t->lv_value = malloc((size_t)t->nlevels * L_NCOLS * sizeof *t->lv_value);
    t->lv_bid = malloc((size_t)t->nlevels * 2);
    if (!t->level || !t->lv_field || !t->lv_value || !t->lv_bid)
        return import_fail(t->ic, "out of memory");
    memset(t->level, -1, (size_t)t->nlevels * sizeof *t->level);
    for (int i = 0; i < n; i++)
        if ((col = tardis_level_column(&f[i], &level)) >= 0)
            t->level[level][col] = i;
    for (int i = 0; i < t->nlevels; i++)
        for (int c = 0; c < L_NCOLS; c++)
            if (t->level[i][c] < 0)
                return import_fail(t->ic, "line 1: level %d of the snapshot lacks its %s%s "
                                   "column", i, c < L_BID_PRICE ? "asks" : "bids",
                                   c == L_ASK_PRICE || c == L_BID_PRICE ? " price" : " amount");
    return 0;
}

static int tardis_map_columns(tardis *t, const csv_field *f, int n, const char *const *list,
                              int *out)
{
    for (int i = 0; list && list[i]; i++) {
        out[i] = csv_find(f, n, list[i]);
        if (out[i] < 0)
            return import_fail(t->ic, "line 1: no '%s' column in the header", list[i]);
    }
    return 0;
}

/* Read the header line and find the columns. */
static int tardis_header(tardis *t, const char *const *own, int snapshot)
{
    char *line;
    size_t len;
    int rc, n;

    rc = import_next_line(t->ic, &line, &len);
    if (rc <= 0)
        return rc < 0 ? -1 : import_fail(t->ic, "empty file: no header");
    t->f = malloc(TARDIS_MAX_FIELDS * sizeof *t->f);
    if (!t->f)
        return import_fail(t->ic, "out of memory");
    n = csv_split(line, len, t->f, TARDIS_MAX_FIELDS);
    if (n < 0)
        return import_fail(t->ic, "line 1: unterminated quote in the header");
    if (n > TARDIS_MAX_FIELDS)
        return import_fail(t->ic, "line 1: more than %d columns", TARDIS_MAX_FIELDS);
    t->nfields = n;
    if (tardis_map_columns(t, t->f, n, tardis_base_columns, t->base) < 0 ||
        tardis_map_columns(t, t->f, n, own, t->col) < 0)
        return -1;
    return snapshot ? tardis_map_levels(t, t->f, n) : 0;
}

/* ---- Rows ---- */

static int tardis_time(import_ctx *ic, const csv_field *f, const char *what, int64_t *ns)
{
    int64_t us;
    int rc = import_field_int(ic, f, what, &us);

    if (rc)
        return rc;
    if (us < 0 || __builtin_mul_overflow(us, 1000, ns))
        return import_bad_row(ic, f->col, "%s %lld is not a time in microseconds", what,
                              (long long)us) < 0 ? -1 : 1;
    return 0;
}

/* The instrument and times of a row. @return as import_fields. */
static int tardis_row_head(tardis *t, tardis_row *r)
{
    const import_options *opt = import_opts(t->ic);
    const csv_field *sym = &t->f[t->base[T_SYMBOL]];
    char venue_buf[LUTRA_VENUE_MAX], symbol_buf[LUTRA_SYMBOL_MAX];
    const char *venue = opt->venue ? opt->venue : venue_buf;
    const char *symbol = opt->symbol ? opt->symbol : symbol_buf;
    int rc;

    if (!opt->venue && (rc = import_field_name(t->ic, &t->f[t->base[T_EXCHANGE]],
                                               "exchange (use --venue)", venue_buf,
                                               sizeof venue_buf)))
        return rc;
    if (!opt->symbol &&
        (rc = import_field_name(t->ic, sym, "symbol", symbol_buf, sizeof symbol_buf)))
        return rc;
    if ((rc = tardis_time(t->ic, &t->f[t->base[T_TIMESTAMP]], "timestamp", &r->ts_exch)) ||
        (rc = tardis_time(t->ic, &t->f[t->base[T_LOCAL_TIMESTAMP]], "local_timestamp",
                          &r->ts_recv)))
        return rc;
    r->inst = import_instrument(t->ic, venue, symbol, NULL, NULL);
    if (r->inst < 0)
        return import_bad_row(t->ic, sym->col, "%s", import_last_error(t->ic)) < 0 ? -1 : 1;
    return 0;
}

static void tardis_event_head(lutra_event *ev, const tardis_row *r, int type, int flags)
{
    memset(ev, 0, sizeof *ev);
    ev->h.ts_recv = r->ts_recv;
    ev->h.ts_exch = r->ts_exch;
    ev->h.type = (uint8_t)type;
    ev->h.flags = (uint8_t)flags;
    ev->h.instrument = (uint32_t)r->inst;
}

/* A price and an amount field. @return as import_fields. */
static int tardis_price_amount(tardis *t, int32_t inst, int price_col, int amount_col,
                               int64_t *price, int64_t *amount)
{
    const csv_field *p = &t->f[price_col], *a = &t->f[amount_col];
    int rc = import_fields(t->ic, inst, IMPORT_PRICE, &p, 1, price);

    return rc ? rc : import_fields(t->ic, inst, IMPORT_SIZE, &a, 1, amount);
}

/* "true"/"false", or "bid"/"ask", ...: index of f in words, or a bad row. */
static int tardis_word(tardis *t, int col, const char *what, const char *const *words,
                       int *out)
{
    const csv_field *f = &t->f[col];

    for (int i = 0; words[i]; i++)
        if (csv_field_is(f, words[i])) {
            *out = i;
            return 0;
        }
    return import_bad_row(t->ic, f->col, "%s '%.*s' is not one of %s, %s%s", what,
                          f->len > 20 ? 20 : (int)f->len, f->s, words[0], words[1],
                          words[2] ? ", ..." : "") < 0 ? -1 : 1;
}

static tardis_book_state *tardis_book_state_of(tardis *t, int32_t inst)
{
    tardis_book_state *p = grow_to_index(t->book, &t->nbook, (size_t)inst, sizeof *p, 8);
    if (!p)
        return NULL;
    t->book = p;
    return &p[inst];
}

/*
 * incremental_book_L2: rows with the same local_timestamp are one message.
 * A run of snapshot rows replaces the book, so it opens with a CLEAR.
 */
static int tardis_book_row(tardis *t, const tardis_row *r)
{
    static const char *const bools[] = {"false", "true", NULL};
    static const char *const sides[] = {"ask", "bid", NULL};
    tardis_book_state *st;
    int snapshot, bid, rc, flags;
    lutra_event ev;
    int64_t price, amount;

    if ((rc = tardis_word(t, t->col[0], "is_snapshot", bools, &snapshot)) ||
        (rc = tardis_word(t, t->col[1], "side", sides, &bid)) ||
        (rc = tardis_price_amount(t, r->inst, t->col[2], t->col[3], &price, &amount)))
        return rc;
    if (!(st = tardis_book_state_of(t, r->inst)))
        return import_fail(t->ic, "out of memory");
    if (t->msg_open && (r->inst != t->msg_inst || r->ts_recv != t->msg_recv))
        import_end_message(t->ic);
    flags = snapshot ? LUTRA_F_SNAPSHOT : 0;
    if (snapshot && (!st->seen || !st->in_snapshot)) {
        if (t->msg_open)
            import_end_message(t->ic);
        tardis_event_head(&ev, r, LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT);
        if (import_emit(t->ic, &ev) < 0)
            return -1;
    }
    tardis_event_head(&ev, r, LUTRA_EV_BOOK_DELTA, flags | (bid ? LUTRA_F_BID : 0));
    ev.delta.price = price;
    ev.delta.qty = amount;
    if (import_emit(t->ic, &ev) < 0)
        return -1;
    st->seen = 1;
    st->in_snapshot = snapshot;
    t->msg_open = 1;
    t->msg_inst = r->inst;
    t->msg_recv = r->ts_recv;
    return 0;
}

static int tardis_trade_row(tardis *t, const tardis_row *r)
{
    static const char *const sides[] = {"sell", "buy", "unknown", NULL};
    static const int side_flags[] = {0, LUTRA_F_BUY, LUTRA_F_NO_SIDE};
    int side, rc;
    lutra_event ev;
    int64_t price, amount;

    if ((rc = tardis_word(t, t->col[0], "side", sides, &side)) ||
        (rc = tardis_price_amount(t, r->inst, t->col[1], t->col[2], &price, &amount)))
        return rc;
    tardis_event_head(&ev, r, LUTRA_EV_TRADE, side_flags[side]);
    ev.trade.price = price;
    ev.trade.qty = amount;
    return import_emit(t->ic, &ev);
}

/* An empty field: that side of the book is absent, 0. */
static const csv_field tardis_zero = {"0", 1, 0};

static const csv_field *tardis_or_zero(const csv_field *f)
{
    return f->len ? f : &tardis_zero;
}

static int tardis_quote_row(tardis *t, const tardis_row *r)
{
    const csv_field *prices[2] = {tardis_or_zero(&t->f[t->col[2]]),
                                  tardis_or_zero(&t->f[t->col[1]])};
    const csv_field *sizes[2] = {tardis_or_zero(&t->f[t->col[3]]),
                                 tardis_or_zero(&t->f[t->col[0]])};
    int64_t p[2], s[2];
    lutra_event ev;
    int rc;

    if ((rc = import_fields(t->ic, r->inst, IMPORT_PRICE, prices, 2, p)) ||
        (rc = import_fields(t->ic, r->inst, IMPORT_SIZE, sizes, 2, s)))
        return rc;
    tardis_event_head(&ev, r, LUTRA_EV_QUOTE, 0);
    ev.quote.bid_price = p[0];
    ev.quote.ask_price = p[1];
    ev.quote.bid_qty = s[0];
    ev.quote.ask_qty = s[1];
    return import_emit(t->ic, &ev);
}

/* book_snapshot_N: each row is a whole top-N book; empty levels are skipped. */
static int tardis_snapshot_row(tardis *t, const tardis_row *r)
{
    size_t max = (size_t)t->nlevels * 2, n = 0;
    const csv_field **prices = t->lv_field, **sizes = t->lv_field + max;
    int64_t *values = t->lv_value;
    lutra_event ev;
    int rc;

    for (int side = 0; side < 2; side++)
        for (int i = 0; i < t->nlevels; i++) {
            const csv_field *p = &t->f[t->level[i][side ? L_BID_PRICE : L_ASK_PRICE]];
            const csv_field *a = &t->f[t->level[i][side ? L_BID_AMOUNT : L_ASK_AMOUNT]];
            if (!p->len || !a->len)
                continue;
            prices[n] = p;
            sizes[n] = a;
            t->lv_bid[n++] = (uint8_t)side;
        }
    if ((rc = import_fields(t->ic, r->inst, IMPORT_PRICE, prices, n, values)) ||
        (rc = import_fields(t->ic, r->inst, IMPORT_SIZE, sizes, n, values + max)))
        return rc;
    tardis_event_head(&ev, r, LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT);
    if (import_emit(t->ic, &ev) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        tardis_event_head(&ev, r, LUTRA_EV_BOOK_DELTA,
                          LUTRA_F_SNAPSHOT | (t->lv_bid[i] ? LUTRA_F_BID : 0));
        ev.delta.price = values[i];
        ev.delta.qty = values[max + i];
        if (import_emit(t->ic, &ev) < 0)
            return -1;
    }
    import_end_message(t->ic);
    return 0;
}

/* ---- The loop ---- */

static int tardis_run(import_ctx *ic, const char *const *own, int snapshot, tardis_row_fn row)
{
    tardis t;
    tardis_row r;
    char *line;
    size_t len;
    int rc, n;

    memset(&t, 0, sizeof t);
    t.ic = ic;
    rc = tardis_header(&t, own, snapshot);
    while (rc == 0 && (rc = import_next_line(ic, &line, &len)) == 1) {
        rc = 0;
        if (len == 0)
            continue;
        n = csv_split(line, len, t.f, t.nfields);
        if (n < 0)
            rc = import_bad_row(ic, 1, "unterminated quote");
        else if (n != t.nfields)
            rc = import_bad_row(ic, len + 1, "%d fields where the header has %d", n,
                                t.nfields);
        else if ((rc = tardis_row_head(&t, &r)) == 0)
            rc = row(&t, &r);
        if (rc > 0)
            rc = 0;
    }
    if (rc == 0 && t.msg_open)
        import_end_message(ic);
    free(t.f);
    free(t.level);
    free(t.lv_field);
    free(t.lv_value);
    free(t.lv_bid);
    free(t.book);
    return rc < 0 ? -1 : 0;
}

static int tardis_book_run(import_ctx *ic)
{
    return tardis_run(ic, tardis_book_columns, 0, tardis_book_row);
}

static int tardis_trades_run(import_ctx *ic)
{
    return tardis_run(ic, tardis_trades_columns, 0, tardis_trade_row);
}

static int tardis_quotes_run(import_ctx *ic)
{
    return tardis_run(ic, tardis_quotes_columns, 0, tardis_quote_row);
}

static int tardis_snapshot_run(import_ctx *ic)
{
    return tardis_run(ic, NULL, 1, tardis_snapshot_row);
}

/* ---- Detection: the header says it all ---- */

static int tardis_detect(const char *const *lines, const size_t *lens, size_t n,
                         const char *const *own, int snapshot)
{
    csv_field f[512];
    char buf[8192];
    int nf;

    if (n == 0)
        return 0;
    nf = import_split_copy(lines[0], lens[0], buf, sizeof buf, f, 512);
    if (nf < 0 || nf > 512 || !tardis_has_all(f, nf, tardis_base_columns))
        return 0;
    if (snapshot)
        return tardis_count_levels(f, nf) > 0 ? 100 : 0;
    return tardis_has_all(f, nf, own) ? 100 : 0;
}

static int tardis_book_detect(const char *const *lines, const size_t *lens, size_t n)
{
    return tardis_detect(lines, lens, n, tardis_book_columns, 0);
}

static int tardis_trades_detect(const char *const *lines, const size_t *lens, size_t n)
{
    return tardis_detect(lines, lens, n, tardis_trades_signature, 0);
}

static int tardis_quotes_detect(const char *const *lines, const size_t *lens, size_t n)
{
    return tardis_detect(lines, lens, n, tardis_quotes_columns, 0);
}

static int tardis_snapshot_detect(const char *const *lines, const size_t *lens, size_t n)
{
    return tardis_detect(lines, lens, n, NULL, 1);
}

const importer import_tardis_book = {
    "tardis-book", "Tardis incremental_book_L2 CSV (L2 deltas and snapshots)",
    tardis_book_detect, tardis_book_run, NULL};
const importer import_tardis_trades = {"tardis-trades", "Tardis trades CSV",
                                       tardis_trades_detect, tardis_trades_run, NULL};
const importer import_tardis_quotes = {"tardis-quotes", "Tardis quotes CSV (best bid and ask)",
                                       tardis_quotes_detect, tardis_quotes_run, NULL};
const importer import_tardis_snapshot = {
    "tardis-snapshot", "Tardis book_snapshot_N CSV (top-N books)", tardis_snapshot_detect,
    tardis_snapshot_run, NULL};
