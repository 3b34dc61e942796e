/*
 * engine.c -- books, strategies, risk gates and the OMS on one thread
 * (engine.h). The engine is the strategies' host: the strategy_host_ops
 * below are the whole of what a strategy can reach.
 */
#include "engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixed.h"
#include "grow.h"
#include "copy.h"
#include "crashpoint.h"
#include "journal.h"
#include "log.h"
#include "money.h"
#include "timer.h"
#include "watchdog.h"

#define ENGINE_MAX_STRATEGIES 64
#define ENGINE_OPEN_ORDERS_MAX 4096

#define ENGINE_MAX_BAR_SUBS 16
#define ENGINE_MAX_VENUES 16

/* Bars a strategy asked for (ctx:subscribe{bars=}), built from trades on
 * the engine's clock: a bar opens with the first trade of its interval and
 * is delivered when the interval ends (a timer), so no strategy sees a bar
 * before it closed; an interval without trades makes no bar. */
typedef struct engine_bar_agg {
    uint32_t instrument;
    int64_t interval;     /* ns */
    int open;             /* a bar is being built */
    uint64_t timer;       /* the timer that delivers it */
    lutra_bar bar;
} engine_bar_agg;

/* What a strategy listens to. No subscription at all: everything. */
typedef struct engine_sub {
    int any;              /* a ctx:subscribe narrowed what it hears */
    uint8_t *book;        /* by instrument id */
    uint8_t *trades;
    size_t n;
    engine_bar_agg bars[ENGINE_MAX_BAR_SUBS];
    size_t nbars;
} engine_sub;

/* What a strategy was loaded from, kept (deep copies) for its reloads. */
typedef struct engine_strategy_conf {
    char *name;
    char *path;
    char *lib_path;               /* NULL: none */
    strategy_param *params;
    size_t nparams;
    int handler_timeout_ms;
} engine_strategy_conf;

/* Last prices seen per instrument, for marks and reference prices. */
typedef struct engine_marks {
    int64_t last_trade;
    int64_t last_close;
    int64_t quote_bid, quote_ask;
} engine_marks;

struct engine {
    engine_config cfg;
    instrument_registry *reg;
    bookset *books;
    oms *oms;
    risk *risk;
    timer_heap *timers;
    strategy *strategies[ENGINE_MAX_STRATEGIES];
    engine_sub subs[ENGINE_MAX_STRATEGIES];
    engine_strategy_conf confs[ENGINE_MAX_STRATEGIES];
    size_t nstrategies;
    engine_marks *marks;
    size_t nmarks;

    int64_t (*clock)(void *ud);
    void *clock_ud;
    const venue_ops *venue;
    void *venue_ud;
    engine_fill_fn on_fill;
    void *on_fill_ud;

    /* Durable mode (journal.h): NULL in a backtest. */
    journal *journal;
    void (*on_pending)(void *ud); /* asks the driver for an engine_flush */
    void *pending_ud;
    int started;                  /* engine_start ran: strategies hear events */
    int flushing;                 /* inside engine_flush (it does not nest) */

    /* Venues the driver reported a state for (live); others are ready. */
    struct {
        char name[LUTRA_VENUE_MAX];
        int state;
        char reason[ORDER_REASON_MAX]; /* the venue's word on it, for refusals */
    } venues[ENGINE_MAX_VENUES];
    size_t nvenues;

    char equity_asset[LUTRA_ASSET_MAX];
    int trip_handled;         /* open orders were cancelled for the current trip */
    engine_stats stats;
    int failed;               /* index + 1 of the first strategy that failed */
    char failure[4096];
};

/* ---- Small helpers ---- */

int64_t engine_now(const engine *e)
{
    return e->clock ? e->clock(e->clock_ud) : 0;
}

static engine_marks *engine_marks_for(engine *e, uint32_t id)
{
    engine_marks *m;
    if (id < e->nmarks) /* every trade and quote: no call */
        return &e->marks[id];
    if (!(m = grow_to_index(e->marks, &e->nmarks, id, sizeof *m, 16)))
        return NULL;
    e->marks = m;
    return &m[id];
}

int64_t engine_mark_price(const engine *e, uint32_t instrument)
{
    const book *b = bookset_book(e->books, instrument);
    book_level bid, ask;
    const engine_marks *m;

    if (b && book_best_bid(b, &bid) == 0 && book_best_ask(b, &ask) == 0)
        return bid.price + (ask.price - bid.price) / 2;
    if (instrument >= e->nmarks)
        return 0;
    m = &e->marks[instrument];
    if (m->last_trade)
        return m->last_trade;
    if (m->last_close)
        return m->last_close;
    if (m->quote_bid && m->quote_ask)
        return m->quote_bid + (m->quote_ask - m->quote_bid) / 2;
    return 0;
}

static int64_t engine_mark_cb(void *ud, uint32_t instrument)
{
    return engine_mark_price(ud, instrument);
}

void engine_set_equity_asset(engine *e, const char *asset)
{
    snprintf(e->equity_asset, sizeof e->equity_asset, "%s", asset);
}

const char *engine_equity_asset(const engine *e)
{
    const lutra_instrument *first;
    if (!e->equity_asset[0] && (first = instrument_registry_get(e->reg, 0)))
        snprintf(((engine *)e)->equity_asset, sizeof e->equity_asset, "%s",
                 first->quote[0] ? first->quote : "USD");
    return e->equity_asset[0] ? e->equity_asset : "USD";
}

int64_t engine_equity(const engine *e)
{
    return oms_equity(e->oms, engine_equity_asset(e), engine_mark_cb, (void *)e);
}

static int64_t engine_equity_cb(void *ud)
{
    return engine_equity(ud);
}

static risk_view engine_risk_view(engine *e)
{
    risk_view v = {e->reg, e->oms, engine_mark_cb, engine_equity_cb, e};
    return v;
}

/* ---- Durable mode ---- */

/* The driver flushes once per turn of its loop; tell it there is work. */
static void engine_pending(engine *e)
{
    if (e->on_pending)
        e->on_pending(e->pending_ud);
}

/* ctx.state into the batch when a handler changed it (or always: stop). A
 * state that cannot be saved stops the strategy, as an error would. */
static int engine_save_state(engine *e, strategy *s, int always)
{
    char err[512];
    const void *data;
    size_t len;
    int rc = always ? strategy_state_encode(s, &data, &len, err, sizeof err)
                    : strategy_state_take(s, &data, &len, err, sizeof err);

    if (rc < 0)
        return strategy_stop_with(s, err);
    if (rc == 1) {
        journal_strategy_state(e->journal, strategy_name(s), data, len);
        engine_pending(e);
    }
    return 0;
}

static const char *engine_owner_name(const engine *e, const order *o)
{
    return o->req.strategy < e->nstrategies ? strategy_name(e->strategies[o->req.strategy])
                                            : "";
}

static void engine_journal_balance(engine *e, const char *venue, const char *asset)
{
    oms_balance b;

    if (!asset || !asset[0])
        return;
    b = oms_get_balance(e->oms, asset);
    journal_balance(e->journal, venue, asset, &b);
}

/* What an order's change moved besides the order itself, so that only
 * the records it changed are written (each is a write on the hot path). */
enum {
    TOUCH_ORDER = 0,   /* its status alone (acknowledged, cancel asked) */
    TOUCH_NEW = 1,     /* a new order: the id sequence */
    TOUCH_LOCK = 2,    /* the balance its lock is held in (taken, released) */
    TOUCH_FILL = 4     /* its position, base, quote and fee balances */
};

/* An order changed: its record and what else it touched, in the batch. */
static void engine_journal_order(engine *e, const order *o, int touched)
{
    const lutra_instrument *in = instrument_registry_get(e->reg, o->req.instrument);
    const oms_position *p;

    journal_order(e->journal, o, engine_owner_name(e, o),
                  touched & TOUCH_NEW ? oms_next_seq(e->oms) : 0);
    if (!in)
        return;
    if (touched & TOUCH_FILL) {
        if ((p = oms_get_position(e->oms, o->req.instrument)))
            journal_position(e->journal, o->req.instrument, p);
        engine_journal_balance(e, in->venue, in->base);
        engine_journal_balance(e, in->venue, in->quote);
        if (o->fee_asset[0] && strcmp(o->fee_asset, in->base) && strcmp(o->fee_asset, in->quote))
            engine_journal_balance(e, in->venue, o->fee_asset);
    } else if (touched & TOUCH_LOCK) {
        /* Spot locks the quote to buy, the base to sell; margin, nothing. */
        engine_journal_balance(e, in->venue, o->req.side == ORDER_SELL ? in->base : in->quote);
    }
}

/* Queue a send or a notification behind the commit. */
static void engine_queue(engine *e, journal_kind kind, const order *o, const oms_change *chg)
{
    journal_queue(e->journal, kind, o, chg);
    engine_pending(e);
}

/* ---- Strategy failures ---- */

static size_t engine_cancel_strategy_orders(engine *e, uint32_t index, int32_t instrument);

/* A handler raised: the strategy is stopped (the runtime refuses further
 * calls), its orders cancelled, and the first failure kept for the report. */
static int engine_check(engine *e, strategy *s, int rc)
{
    if (rc == 0 && e->journal)
        rc = engine_save_state(e, s, 0);
    if (rc == 0)
        return 0;
    if (!e->failed) {
        e->failed = (int)strategy_index(s) + 1;
        snprintf(e->failure, sizeof e->failure, "%s", strategy_error(s));
        log_write(LOG_ERROR, "engine", "strategy %s stopped: %s", strategy_name(s),
                  strategy_error(s));
    }
    engine_cancel_strategy_orders(e, strategy_index(s), -1);
    return -1;
}

int engine_failure(const engine *e, const char **name, const char **error)
{
    if (!e->failed)
        return 0;
    if (name)
        *name = strategy_name(e->strategies[e->failed - 1]);
    if (error)
        *error = e->failure;
    return 1;
}

/* ---- Orders ---- */

static void engine_cancel_everything(engine *e);
static void engine_store_failed(engine *e);

/* A tripped daily loss limit or kill switch cancels open orders, once per
 * trip, whoever noticed it first (a fill, or a check of a new order). */
static void engine_handle_trip(engine *e)
{
    const char *why;
    if (!risk_tripped(e->risk, &why)) {
        e->trip_handled = 0;
        return;
    }
    if (e->trip_handled)
        return;
    e->trip_handled = 1;
    log_write(LOG_WARN, "engine", "%s: cancelling every open order", why);
    engine_cancel_everything(e);
}

/* An order that would trade against the same strategy's resting order. */
static int engine_self_trade(engine *e, const order_request *req, char *reason, size_t len)
{
    order *open[256];
    size_t n = oms_open_orders(e->oms, (int32_t)req->instrument, open, 256);
    if (n > 256)
        n = 256;
    for (size_t i = 0; i < n; i++) {
        const order *o = open[i];
        int crosses;
        if (o->req.strategy != req->strategy || o->req.side == req->side ||
            o->req.type != ORDER_LIMIT)
            continue;
        crosses = req->type == ORDER_MARKET ||
                  (req->side == ORDER_BUY ? req->price >= o->req.price : req->price <= o->req.price);
        if (crosses) {
            snprintf(reason, len, "risk: self_trade: would cross own order %s", o->id);
            return 1;
        }
    }
    return 0;
}

static const char *engine_feed_state_name(uint32_t state);

static const char *engine_venue_reason(const engine *e, const char *venue);

/* Refuse an order while its venue is not ready (a live venue reconnecting,
 * still syncing, its trading stopped), with the venue's own reason: it is
 * what the operator must act on. */
static int engine_venue_refuses(const engine *e, uint32_t instrument, char *reason, size_t len)
{
    const lutra_instrument *in = instrument_registry_get(e->reg, instrument);
    int state = in ? engine_venue_state(e, in->venue) : 0;
    const char *why;

    if (state == 0 || state == LUTRA_FEED_READY)
        return 0;
    why = engine_venue_reason(e, in->venue);
    snprintf(reason, len, "venue not ready: %s%s%s%s", engine_feed_state_name((uint32_t)state),
             why[0] ? " (" : "", why, why[0] ? ")" : "");
    return 1;
}

/* A store that failed cannot take the write-ahead of a new order. */
static int engine_store_refuses(const engine *e, char *reason, size_t len)
{
    if (!e->journal || !journal_error(e->journal))
        return 0;
    snprintf(reason, len, "%s", journal_error(e->journal));
    return 1;
}

static int engine_submit(engine *e, const order_request *req, char *id_out, char *reason,
                         size_t len)
{
    risk_view view = engine_risk_view(e);
    int64_t now = engine_now(e);
    order *o;

    if (engine_venue_refuses(e, req->instrument, reason, len) ||
        engine_store_refuses(e, reason, len)) {
        e->stats.rejected++;
        return -1;
    }
    if (risk_check_order(e->risk, &view, req, now, reason, len) < 0 ||
        engine_self_trade(e, req, reason, len)) {
        e->stats.rejected++;
        engine_handle_trip(e);
        return -1;
    }
    if (!e->venue) {
        snprintf(reason, len, "no venue to send orders to");
        e->stats.rejected++;
        return -1;
    }
    if (!(o = oms_submit(e->oms, req, engine_mark_price(e, req->instrument), now, reason, len))) {
        e->stats.rejected++;
        return -1;
    }
    e->stats.orders++;
    copy_str(id_out, ORDER_ID_MAX + 1, o->id);
    if (e->journal) {
        /* Written now, sent once the batch holding it is committed. */
        engine_journal_order(e, o, TOUCH_NEW | TOUCH_LOCK);
        engine_queue(e, JOURNAL_SUBMIT, o, NULL);
        return 0;
    }
    /* A venue that cannot send reports the rejection through the sink. */
    e->venue->submit(e->venue_ud, o, now);
    return 0;
}

/* The cancel request of an order already pending_cancel: behind the
 * commit with a store, else at once. */
static void engine_send_cancel(engine *e, order *o)
{
    if (e->journal)
        engine_queue(e, JOURNAL_CANCEL, o, NULL);
    else if (e->venue)
        e->venue->cancel(e->venue_ud, o, engine_now(e));
}

static int engine_cancel_order(engine *e, order *o, char *reason, size_t len)
{
    if (oms_cancel(e->oms, o->id, engine_now(e), reason, len) < 0)
        return -1;
    if (e->journal && journal_pending_submits(e->journal)) {
        /* An order waits for this batch's commit (a quote replaced: the
         * new one, then the old one's cancel): it goes first, and the
         * cancel's record is written after it, off its path (engine_flush). */
        journal_queue_unwritten(e->journal, o);
        engine_pending(e);
        return 0;
    }
    if (e->journal)
        engine_journal_order(e, o, TOUCH_ORDER);
    engine_send_cancel(e, o);
    return 0;
}

static size_t engine_cancel_strategy_orders(engine *e, uint32_t index, int32_t instrument)
{
    order *open[ENGINE_OPEN_ORDERS_MAX];
    size_t n = oms_open_orders(e->oms, instrument, open, ENGINE_OPEN_ORDERS_MAX), done = 0;
    char reason[ORDER_REASON_MAX];

    if (n > ENGINE_OPEN_ORDERS_MAX)
        n = ENGINE_OPEN_ORDERS_MAX;
    for (size_t i = 0; i < n; i++) {
        if (open[i]->req.strategy != index || open[i]->status == ORDER_PENDING_CANCEL)
            continue;
        done += engine_cancel_order(e, open[i], reason, sizeof reason) == 0;
    }
    return done;
}

/* ---- The host the strategies see ---- */

static int64_t host_now(void *host)
{
    return engine_now(host);
}

static const char *host_mode(void *host)
{
    const engine *e = host;
    return e->cfg.mode ? e->cfg.mode : "backtest";
}

static int32_t host_instrument_find(void *host, const char *symbol)
{
    const engine *e = host;
    size_t n = instrument_registry_count(e->reg);
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(instrument_registry_get(e->reg, i)->symbol, symbol))
            return (int32_t)i;
    return -1;
}

static const lutra_instrument *host_instrument_get(void *host, uint32_t id)
{
    return instrument_registry_get(((engine *)host)->reg, id);
}

static const book *host_book(void *host, uint32_t instrument)
{
    return bookset_book(((engine *)host)->books, instrument);
}

static int host_book_synced(void *host, uint32_t instrument)
{
    return bookset_synced(((engine *)host)->books, instrument);
}

static int host_submit(void *host, strategy *s, const order_request *req, char *id_out,
                       char *reason, size_t len)
{
    order_request r = *req;
    r.strategy = strategy_index(s);
    return engine_submit(host, &r, id_out, reason, len);
}

static int host_cancel(void *host, strategy *s, const char *id, char *reason, size_t len)
{
    engine *e = host;
    order *o = oms_find(e->oms, id);
    if (!o || o->req.strategy != strategy_index(s)) {
        snprintf(reason, len, "no order %s of this strategy", id);
        return -1;
    }
    return engine_cancel_order(e, o, reason, len);
}

static size_t host_cancel_all(void *host, strategy *s, int32_t instrument)
{
    return engine_cancel_strategy_orders(host, strategy_index(s), instrument);
}

static size_t host_open_orders(void *host, strategy *s, int32_t instrument, const order **out,
                               size_t max)
{
    engine *e = host;
    order *open[ENGINE_OPEN_ORDERS_MAX];
    size_t n = oms_open_orders(e->oms, instrument, open, ENGINE_OPEN_ORDERS_MAX), k = 0;
    if (n > ENGINE_OPEN_ORDERS_MAX)
        n = ENGINE_OPEN_ORDERS_MAX;
    for (size_t i = 0; i < n; i++)
        if (open[i]->req.strategy == strategy_index(s)) {
            if (k < max)
                out[k] = open[i];
            k++;
        }
    return k;
}

static const oms_position *host_position(void *host, uint32_t instrument)
{
    return oms_get_position(((engine *)host)->oms, instrument);
}

static oms_balance host_balance(void *host, const char *asset)
{
    return oms_get_balance(((engine *)host)->oms, asset);
}

/* A timer's arg packs the strategy index and the Lua reference. */
static void engine_timer_fire(void *ud, int64_t arg, uint64_t id)
{
    engine *e = ud;
    uint32_t index = (uint32_t)(arg >> 32);
    strategy *s;
    (void)id;
    if (index >= e->nstrategies || strategy_failed(s = e->strategies[index]))
        return;
    engine_check(e, s, strategy_on_timer(s, (int)(uint32_t)arg));
}

static uint64_t host_timer_add(void *host, strategy *s, int64_t at, int64_t every, int ref)
{
    engine *e = host;
    int64_t arg = (int64_t)(((uint64_t)strategy_index(s) << 32) | (uint32_t)ref);
    return timer_add(e->timers, at, every, engine_timer_fire, e, arg);
}

static void host_timer_cancel(void *host, uint64_t id)
{
    timer_cancel(((engine *)host)->timers, id);
}

static int engine_sub_grow(engine_sub *sub, uint32_t instrument)
{
    size_t nb = sub->n, nt = sub->n;
    uint8_t *b = grow_to_index(sub->book, &nb, instrument, 1, 8), *t;
    if (!b)
        return -1;
    sub->book = b;
    if (!(t = grow_to_index(sub->trades, &nt, instrument, 1, 8)))
        return -1;
    sub->trades = t;
    sub->n = nt;
    return 0;
}

static int engine_sub_bars(engine_sub *sub, uint32_t instrument, int64_t bar_ns, char *reason,
                           size_t len)
{
    for (size_t i = 0; i < sub->nbars; i++)
        if (sub->bars[i].instrument == instrument && sub->bars[i].interval == bar_ns)
            return 0;
    if (sub->nbars == ENGINE_MAX_BAR_SUBS) {
        snprintf(reason, len, "at most %d bar subscriptions", ENGINE_MAX_BAR_SUBS);
        return -1;
    }
    memset(&sub->bars[sub->nbars], 0, sizeof sub->bars[0]);
    sub->bars[sub->nbars].instrument = instrument;
    sub->bars[sub->nbars].interval = bar_ns;
    sub->nbars++;
    return 0;
}

static int host_subscribe(void *host, strategy *s, uint32_t instrument, int book, int trades,
                          int64_t bar_ns, char *reason, size_t len)
{
    engine *e = host;
    engine_sub *sub = &e->subs[strategy_index(s)];
    if (engine_sub_grow(sub, instrument) < 0) {
        snprintf(reason, len, "out of memory");
        return -1;
    }
    if (bar_ns > 0 && engine_sub_bars(sub, instrument, bar_ns, reason, len) < 0)
        return -1;
    sub->any = 1;
    sub->book[instrument] |= (uint8_t)(book != 0);
    sub->trades[instrument] |= (uint8_t)(trades != 0);
    return 0;
}

static void host_log(void *host, strategy *s, int level, const char *msg)
{
    (void)host;
    log_write(level, strategy_name(s), "%s", msg);
}

static void host_metric(void *host, strategy *s, const char *name, double value)
{
    (void)host;
    log_write(LOG_DEBUG, strategy_name(s), "metric name=%s value=%.17g", name, value);
}

static void host_refused(void *host, strategy *s, const char *reason)
{
    (void)s;
    (void)reason;
    ((engine *)host)->stats.rejected++;
}

static const strategy_host_ops engine_host_ops = {
    .now = host_now,
    .mode = host_mode,
    .instrument_find = host_instrument_find,
    .instrument_get = host_instrument_get,
    .book = host_book,
    .book_synced = host_book_synced,
    .submit = host_submit,
    .cancel = host_cancel,
    .cancel_all = host_cancel_all,
    .open_orders = host_open_orders,
    .position = host_position,
    .balance = host_balance,
    .timer_add = host_timer_add,
    .timer_cancel = host_timer_cancel,
    .subscribe = host_subscribe,
    .log = host_log,
    .metric = host_metric,
    .refused = host_refused,
};

/* ---- Strategy configurations ---- */

static void engine_conf_free(engine_strategy_conf *c)
{
    free(c->name);
    free(c->path);
    free(c->lib_path);
    free(c->params);
    memset(c, 0, sizeof *c);
}

static char *engine_strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Copy cfg (named name) into out. @return 0, or -1 out of memory. */
static int engine_conf_copy(engine_strategy_conf *out, const strategy_config *cfg,
                            const char *name)
{
    memset(out, 0, sizeof *out);
    out->name = strdup(name);
    out->path = strdup(cfg->path);
    out->lib_path = engine_strdup_or_null(cfg->lib_path);
    out->handler_timeout_ms = cfg->handler_timeout_ms;
    out->nparams = cfg->nparams;
    if (cfg->nparams && (out->params = malloc(cfg->nparams * sizeof *out->params)))
        memcpy(out->params, cfg->params, cfg->nparams * sizeof *out->params);
    if (!out->name || !out->path || (cfg->lib_path && !out->lib_path) ||
        (cfg->nparams && !out->params)) {
        engine_conf_free(out);
        return -1;
    }
    return 0;
}

/* The strategy_config a kept configuration stands for. */
static strategy_config engine_conf_view(const engine_strategy_conf *c, size_t index)
{
    strategy_config v;

    memset(&v, 0, sizeof v);
    v.name = c->name;
    v.path = c->path;
    v.lib_path = c->lib_path;
    v.params = c->params;
    v.nparams = c->nparams;
    v.index = (uint32_t)index;
    v.handler_timeout_ms = c->handler_timeout_ms;
    return v;
}

/* ---- Life ---- */

engine *engine_new(const engine_config *cfg, instrument_registry *reg, char *err,
                   size_t errlen)
{
    engine *e = calloc(1, sizeof *e);
    if (errlen)
        err[0] = '\0';
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = *cfg;
    e->reg = reg;
    e->books = bookset_new();
    e->oms = oms_new(reg, &cfg->oms);
    e->timers = timer_heap_new();
    e->risk = risk_new(&cfg->risk, err, errlen);
    if (!e->books || !e->oms || !e->timers || !e->risk) {
        if (e->risk || !err[0])
            snprintf(err, errlen, "out of memory");
        engine_free(e);
        return NULL;
    }
    /* The count hook stops an interpreted runaway first; the watchdog, a
     * little later, catches what the JIT compiled. */
    if (watchdog_start((cfg->handler_timeout_ms > 0 ? cfg->handler_timeout_ms : 1000) * 3 / 2,
                       err, errlen) < 0) {
        engine_free(e);
        return NULL;
    }
    return e;
}

void engine_free(engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nstrategies; i++) {
        strategy_free(e->strategies[i]);
        engine_conf_free(&e->confs[i]);
        free(e->subs[i].book);
        free(e->subs[i].trades);
    }
    if (e->books)
        bookset_free(e->books);
    if (e->oms)
        oms_free(e->oms);
    if (e->risk)
        risk_free(e->risk);
    if (e->timers)
        timer_heap_free(e->timers);
    free(e->marks);
    free(e);
}

void engine_set_clock(engine *e, int64_t (*now)(void *ud), void *ud)
{
    e->clock = now;
    e->clock_ud = ud;
}

void engine_set_venue(engine *e, const venue_ops *ops, void *venue)
{
    e->venue = ops;
    e->venue_ud = venue;
}

void engine_set_fill_observer(engine *e, engine_fill_fn fn, void *ud)
{
    e->on_fill = fn;
    e->on_fill_ud = ud;
}

int engine_set_balance(engine *e, const char *asset, int64_t amount)
{
    return oms_set_balance(e->oms, asset, amount);
}

int engine_add_strategy(engine *e, const strategy_config *cfg, char *err, size_t errlen)
{
    strategy_config c = *cfg;
    strategy *s;

    if (e->nstrategies == ENGINE_MAX_STRATEGIES) {
        snprintf(err, errlen, "at most %d strategies", ENGINE_MAX_STRATEGIES);
        return -1;
    }
    c.index = (uint32_t)e->nstrategies;
    if (!c.lib_path)
        c.lib_path = e->cfg.lib_path;
    if (!c.handler_timeout_ms)
        c.handler_timeout_ms = e->cfg.handler_timeout_ms;
    if (!(s = strategy_load(&engine_host_ops, e, &c, err, errlen)))
        return -1;
    if (engine_conf_copy(&e->confs[e->nstrategies], &c, strategy_name(s)) < 0) {
        snprintf(err, errlen, "%s: out of memory", c.path);
        strategy_free(s);
        return -1;
    }
    e->strategies[e->nstrategies] = s;
    return (int)e->nstrategies++;
}

void engine_collect(engine *e)
{
    for (size_t i = 0; i < e->nstrategies; i++)
        strategy_collect_step(e->strategies[i]);
}

void engine_prepare(engine *e)
{
    char id[ORDER_ID_MAX + 1];

    if (!e->journal || e->flushing)
        return;
    journal_prepare(e->journal, oms_next_id(e->oms, id) == 0 ? id : NULL);
}

size_t engine_strategy_count(const engine *e)
{
    return e->nstrategies;
}

strategy *engine_strategy_at(const engine *e, size_t i)
{
    return i < e->nstrategies ? e->strategies[i] : NULL;
}

/* A strategy's saved ctx.state from the store into it (none saved: it
 * keeps its empty one). @return 0, or -1 with err set. */
static int engine_read_state(engine *e, strategy *s, char *err, size_t errlen)
{
    char why[512];
    const void *data;
    size_t len;
    int rc = state_get_strategy(journal_store(e->journal), strategy_name(s), &data, &len, why,
                                sizeof why);

    if (rc == 1 && strategy_state_load(s, data, len, why, sizeof why) == 0)
        return 0;
    if (rc == 0)
        return 0;
    snprintf(err, errlen, "saved state: %s", why);
    return -1;
}

/* Each strategy's saved ctx.state, before its on_start. */
static int engine_load_state(engine *e, strategy *s)
{
    char err[600];

    if (engine_read_state(e, s, err, sizeof err) == 0)
        return 0;
    return strategy_stop_with(s, err);
}

int engine_start(engine *e)
{
    e->started = 1;
    for (size_t i = 0; i < e->nstrategies; i++) {
        strategy *s = e->strategies[i];
        if (e->journal && engine_check(e, s, engine_load_state(e, s)) < 0)
            return -1;
        if (engine_check(e, s, strategy_on_start(s)) < 0)
            return -1;
    }
    /* What a restart's reconciliation changed, told now. */
    return engine_flush(e);
}

int engine_started(const engine *e)
{
    return e->started;
}

int engine_stop(engine *e)
{
    int rc = 0;
    /* Stopped before it started (a restart still reconciling): no strategy
     * ran, and orders whose state is not settled are left as they are. */
    if (!e->started)
        return 0;
    for (size_t i = 0; i < e->nstrategies; i++) {
        strategy *s = e->strategies[i];
        if (strategy_failed(s))
            continue;
        if (engine_check(e, s, strategy_on_stop(s)) < 0)
            rc = -1;
        else if (e->journal)
            engine_save_state(e, s, 1);
        if (e->cfg.cancel_on_stop)
            engine_cancel_strategy_orders(e, (uint32_t)i, -1);
    }
    return rc;
}

/* ---- Market data ---- */

int engine_apply_market(engine *e, const lutra_event *ev)
{
    engine_marks *m;

    e->stats.events++;
    switch (ev->h.type) {
    case LUTRA_EV_BOOK_CLEAR:
    case LUTRA_EV_BOOK_DELTA:
    case LUTRA_EV_STATUS:
        return bookset_apply(e->books, ev);
    case LUTRA_EV_TRADE:
        if (!(m = engine_marks_for(e, ev->h.instrument)))
            return -1;
        m->last_trade = ev->trade.price;
        return 0;
    case LUTRA_EV_BAR:
        if (!(m = engine_marks_for(e, ev->h.instrument)))
            return -1;
        m->last_close = ev->bar.close;
        return 0;
    case LUTRA_EV_QUOTE:
        if (!(m = engine_marks_for(e, ev->h.instrument)))
            return -1;
        m->quote_bid = ev->quote.bid_price;
        m->quote_ask = ev->quote.ask_price;
        return 0;
    default:
        return 0;
    }
}

static int engine_hears(const engine *e, size_t i, uint32_t instrument, int trades)
{
    const engine_sub *sub = &e->subs[i];
    if (!sub->any)
        return 1;
    if (instrument >= sub->n)
        return 0;
    return trades ? sub->trades[instrument] : sub->book[instrument];
}

static void engine_bar_deliver(engine *e, uint32_t index, engine_bar_agg *agg)
{
    strategy *s = e->strategies[index];
    agg->open = 0;
    if (!strategy_failed(s))
        engine_check(e, s, strategy_on_bar(s, &agg->bar, agg->interval));
}

/* A bar's interval ended: deliver it. arg packs strategy and bar slot. */
static void engine_bar_close(void *ud, int64_t arg, uint64_t id)
{
    engine *e = ud;
    uint32_t index = (uint32_t)(arg >> 32), slot = (uint32_t)arg;
    engine_bar_agg *agg;

    if (index >= e->nstrategies || slot >= e->subs[index].nbars)
        return;
    agg = &e->subs[index].bars[slot];
    if (agg->open && agg->timer == id)
        engine_bar_deliver(e, index, agg);
}

static void engine_bar_open(engine *e, uint32_t index, uint32_t slot, const lutra_trade *t)
{
    engine_bar_agg *agg = &e->subs[index].bars[slot];
    lutra_bar *b = &agg->bar;
    int64_t start = t->h.ts_recv - (t->h.ts_recv % agg->interval + agg->interval) % agg->interval;

    memset(b, 0, sizeof *b);
    b->h.type = LUTRA_EV_BAR;
    b->h.size = sizeof *b;
    b->h.instrument = t->h.instrument;
    b->h.ts_exch = start;
    b->h.ts_recv = start + agg->interval;
    b->open = b->high = b->low = b->close = t->price;
    b->volume = t->qty;
    agg->open = 1;
    agg->timer = timer_add(e->timers, b->h.ts_recv, 0, engine_bar_close, e,
                           (int64_t)(((uint64_t)index << 32) | slot));
}

/* A trade goes into the bars a strategy builds from it. A trade at or after
 * the open bar's end (received at the same instant as its closing timer)
 * closes it first. */
static void engine_bars_on_trade(engine *e, uint32_t index, const lutra_trade *t)
{
    engine_sub *sub = &e->subs[index];
    for (uint32_t i = 0; i < sub->nbars; i++) {
        engine_bar_agg *agg = &sub->bars[i];
        lutra_bar *b = &agg->bar;
        if (agg->instrument != t->h.instrument)
            continue;
        if (agg->open && t->h.ts_recv >= b->h.ts_recv) {
            timer_cancel(e->timers, agg->timer);
            engine_bar_deliver(e, index, agg);
        }
        if (!agg->open) {
            engine_bar_open(e, index, i, t);
            continue;
        }
        b->high = t->price > b->high ? t->price : b->high;
        b->low = t->price < b->low ? t->price : b->low;
        b->close = t->price;
        b->volume += t->qty;
    }
}

static const char *engine_feed_state_name(uint32_t state)
{
    switch (state) {
    case LUTRA_FEED_CONNECTING: return "connecting";
    case LUTRA_FEED_SYNCING: return "syncing";
    case LUTRA_FEED_READY: return "ready";
    default: return "disconnected";
    }
}

static const char *engine_feed_reason_name(uint32_t reason)
{
    switch (reason) {
    case LUTRA_REASON_GAP: return "gap";
    case LUTRA_REASON_SNAPSHOT: return "snapshot";
    case LUTRA_REASON_STALE: return "stale snapshot";
    default: return "";
    }
}

static int engine_dispatch_one(engine *e, strategy *s, size_t i, const lutra_event *ev)
{
    uint32_t inst = ev->h.instrument;
    const lutra_instrument *in;

    switch (ev->h.type) {
    case LUTRA_EV_BOOK_CLEAR:
    case LUTRA_EV_BOOK_DELTA:
        if (!(ev->h.flags & LUTRA_F_LAST) || !strategy_wants_book(s) ||
            !engine_hears(e, i, inst, 0))
            return 0;
        return strategy_on_book(s, inst, ev->h.ts_recv);
    case LUTRA_EV_TRADE:
        if (e->subs[i].nbars)
            engine_bars_on_trade(e, (uint32_t)i, &ev->trade);
        if (!strategy_wants_trades(s) || !engine_hears(e, i, inst, 1))
            return 0;
        return strategy_on_trade(s, &ev->trade);
    case LUTRA_EV_BAR:
        if (!strategy_wants_bars(s) || !engine_hears(e, i, inst, 0))
            return 0;
        return strategy_on_bar(s, &ev->bar, ev->h.ts_recv - ev->h.ts_exch);
    case LUTRA_EV_STATUS:
        in = instrument_registry_get(e->reg, inst);
        return strategy_on_status(s, in ? in->venue : "", engine_feed_state_name(ev->status.state),
                                  engine_feed_reason_name(ev->status.reason));
    default:
        return 0;
    }
}

int engine_dispatch(engine *e, const lutra_event *ev)
{
    int rc = 0;
    if (!e->started)
        return 0;
    if (ev->h.type == LUTRA_EV_TRADE)
        e->stats.trade_messages++;
    else if ((ev->h.type == LUTRA_EV_BOOK_DELTA || ev->h.type == LUTRA_EV_BOOK_CLEAR) &&
             (ev->h.flags & LUTRA_F_LAST))
        e->stats.book_messages++;
    for (size_t i = 0; i < e->nstrategies; i++) {
        strategy *s = e->strategies[i];
        if (strategy_failed(s))
            continue;
        if (engine_check(e, s, engine_dispatch_one(e, s, i, ev)) < 0)
            rc = -1;
    }
    return rc;
}

int engine_on_event(engine *e, const lutra_event *ev)
{
    if (engine_apply_market(e, ev) < 0)
        return -1;
    return engine_dispatch(e, ev);
}

/* ---- Venue state ---- */

int engine_venue_state(const engine *e, const char *venue)
{
    for (size_t i = 0; i < e->nvenues; i++)
        if (!strcmp(e->venues[i].name, venue))
            return e->venues[i].state;
    return 0;
}

static const char *engine_venue_reason(const engine *e, const char *venue)
{
    for (size_t i = 0; i < e->nvenues; i++)
        if (!strcmp(e->venues[i].name, venue))
            return e->venues[i].reason;
    return "";
}

static int engine_venue_slot(engine *e, const char *venue)
{
    for (size_t i = 0; i < e->nvenues; i++)
        if (!strcmp(e->venues[i].name, venue))
            return (int)i;
    if (e->nvenues == ENGINE_MAX_VENUES)
        return -1;
    snprintf(e->venues[e->nvenues].name, sizeof e->venues[0].name, "%s", venue);
    return (int)e->nvenues++;
}

int engine_set_venue_state(engine *e, const char *venue, int state, const char *reason)
{
    int slot = engine_venue_slot(e, venue), rc = 0;
    const char *name = engine_feed_state_name((uint32_t)state);

    if (slot < 0)
        return -1;
    /* The same state told again without a reason (to strategies that have
     * just started) keeps the reason the venue gave. */
    if ((reason && reason[0]) || e->venues[slot].state != state)
        snprintf(e->venues[slot].reason, sizeof e->venues[slot].reason, "%s",
                 reason ? reason : "");
    if (!reason || !reason[0])
        reason = e->venues[slot].reason;
    e->venues[slot].state = state;
    for (size_t i = 0; e->started && i < e->nstrategies; i++) {
        strategy *s = e->strategies[i];
        if (strategy_failed(s))
            continue;
        if (engine_check(e, s, strategy_on_status(s, venue, name, reason)) < 0)
            rc = -1;
    }
    return rc;
}

/* ---- Execution reports ---- */

static void engine_cancel_everything(engine *e)
{
    for (size_t i = 0; i < e->nstrategies; i++)
        engine_cancel_strategy_orders(e, (uint32_t)i, -1);
}

/* After fills: the daily loss gate; a trip cancels every open order. */
static void engine_after_fill(engine *e, int64_t now)
{
    risk_on_equity(e->risk, engine_equity(e), now);
    engine_handle_trip(e);
}

/* Tell the owner of o what changed: on_order if its status moved, on_fill
 * for a fill. */
static void engine_tell(engine *e, const order *o, int status_changed, const oms_change *fill)
{
    strategy *s = o->req.strategy < e->nstrategies ? e->strategies[o->req.strategy] : NULL;

    if (!s || strategy_failed(s))
        return;
    if (status_changed && engine_check(e, s, strategy_on_order(s, o)) < 0)
        return;
    if (fill)
        engine_check(e, s, strategy_on_fill(s, o, fill));
}

/* Apply a report to the OMS. @return 0 and *chg, or -1 (refused, or a fill
 * already applied). */
static int engine_apply_exec(engine *e, const exec_report *rep, int64_t now, oms_change *chg)
{
    char reason[ORDER_REASON_MAX];

    if (e->journal && rep->kind == EXEC_FILL && journal_fill_seen(e->journal, rep) == 1) {
        log_write(LOG_DEBUG, "engine", "fill heard again order=%s trade=%s", rep->order_id,
                  rep->trade_id);
        return -1;
    }
    if (oms_apply(e->oms, rep, now, chg, reason, sizeof reason) < 0) {
        log_write(LOG_WARN, "engine", "report refused order=%s reason=\"%s\"", rep->order_id,
                  reason);
        return -1;
    }
    if (rep->kind == EXEC_REJECTED)
        e->stats.rejected++;
    if (chg->filled) {
        e->stats.fills++;
        /* Reports record when the fill happened at the venue (a bar's open
         * in bar mode), not when the strategy heard of it. */
        if (e->on_fill)
            e->on_fill(e->on_fill_ud, chg->order, chg, rep->ts ? rep->ts : now);
    }
    return 0;
}

void engine_on_exec(void *ud, const exec_report *rep)
{
    engine *e = ud;
    int64_t now = engine_now(e);
    oms_change chg;

    if (engine_apply_exec(e, rep, now, &chg) < 0)
        return;
    if (e->journal && !journal_error(e->journal)) {
        if (chg.filled)
            crashpoint("fill-received");
        /* Strategies hear of it once the batch holding it is committed. */
        engine_journal_order(e, chg.order,
                             chg.filled                               ? TOUCH_FILL
                             : !order_status_is_open(chg.order->status) ? TOUCH_LOCK
                                                                       : TOUCH_ORDER);
        if (chg.filled)
            journal_fill(e->journal, chg.order, rep);
        if (chg.status_changed)
            engine_queue(e, JOURNAL_ORDER, chg.order, NULL);
        if (chg.filled)
            engine_queue(e, JOURNAL_FILL, chg.order, &chg);
    } else {
        engine_tell(e, chg.order, chg.status_changed, chg.filled ? &chg : NULL);
    }
    if (chg.filled)
        engine_after_fill(e, now);
}

/* ---- Durable mode: the flush ---- */

void engine_set_journal(engine *e, journal *j, void (*on_pending)(void *ud), void *ud)
{
    e->journal = j;
    e->on_pending = on_pending;
    e->pending_ud = ud;
}

/* An order the store could not take never leaves: it is rejected here. */
static void engine_reject_unsent(engine *e, const order *o)
{
    exec_report rep;

    memset(&rep, 0, sizeof rep);
    rep.kind = EXEC_REJECTED;
    rep.ts = engine_now(e);
    snprintf(rep.order_id, sizeof rep.order_id, "%s", o->id);
    snprintf(rep.reason, sizeof rep.reason, "%s", journal_error(e->journal));
    engine_on_exec(e, &rep);
}

static void engine_send(engine *e, journal_kind kind, const char *id, int committed)
{
    order *o = oms_find(e->oms, id);
    int64_t now = engine_now(e);

    if (!o || !order_status_is_open(o->status) || !e->venue)
        return;
    if (kind == JOURNAL_SUBMIT && !committed)
        engine_reject_unsent(e, o);
    else if (kind == JOURNAL_SUBMIT) {
        crashpoint("order-committed");
        e->venue->submit(e->venue_ud, o, now);
    } else {
        crashpoint("cancel-committed");
        e->venue->cancel(e->venue_ud, o, now);
    }
}

/* Deliver one queued item; notifications wait while the strategies have
 * not started (a restart's reconciliation): they are queued again. */
static void engine_deliver(engine *e, journal_item *it, int committed)
{
    switch (it->kind) {
    case JOURNAL_SUBMIT:
    case JOURNAL_CANCEL:
        engine_send(e, it->kind, it->snap.id, committed);
        break;
    case JOURNAL_ORDER:
    case JOURNAL_FILL:
        if (!e->started) {
            journal_queue(e->journal, it->kind, &it->snap, &it->chg);
            break;
        }
        it->chg.order = &it->snap;
        engine_tell(e, &it->snap, it->kind == JOURNAL_ORDER,
                    it->kind == JOURNAL_FILL ? &it->chg : NULL);
        break;
    }
}

/* Commit the batch; a failure stops trading and sets *rc to -1.
 * @return 1 committed, 0 not. */
static int engine_commit(engine *e, int *rc)
{
    if (journal_commit(e->journal) == 0) {
        crashpoint("batch-committed");
        return 1;
    }
    *rc = -1;
    engine_store_failed(e);
    return 0;
}

/* The cancels queued without their record (engine_cancel_order), from the
 * first of them on: their records into a batch of their own, committed
 * before the first is sent. What was queued before them has gone out.
 * @return as engine_commit. */
static int engine_write_unwritten(engine *e, journal_item *items, size_t n, int *rc)
{
    for (size_t i = 0; i < n; i++) {
        order *o = items[i].unwritten ? oms_find(e->oms, items[i].snap.id) : NULL;
        if (o)
            engine_journal_order(e, o, TOUCH_ORDER);
        items[i].unwritten = 0;
    }
    return engine_commit(e, rc);
}

int engine_flush(engine *e)
{
    journal_item *items;
    size_t n, held = 0;
    int committed, rc = 0;

    /* A flush asked for from inside one (a venue answering synchronously
     * into a driver that flushes) is the running one's next round: the
     * queue it drains must not be swapped under it. */
    if (!e->journal || e->flushing)
        return 0;
    e->flushing = 1;
    /* Handlers run below may queue more: each round commits what they
     * wrote before it goes out. Notifications held until engine_start are
     * the only items that come back, so a round that moves nothing else
     * ends the flush. */
    do {
        committed = engine_commit(e, &rc);
        n = journal_take(e->journal, &items);
        for (size_t i = 0; i < n; i++) {
            if (items[i].unwritten)
                committed = engine_write_unwritten(e, items + i, n - i, &rc);
            engine_deliver(e, &items[i], committed);
        }
        held = e->started ? 0 : journal_pending(e->journal);
    } while (journal_pending(e->journal) > held);
    e->flushing = 0;
    return rc;
}

/* The store failed: trading stops (the kill switch, so open orders are
 * cancelled and new ones refused) and the operator is told why. Fills
 * still reach the OMS and the strategies: they happened. */
static void engine_store_failed(engine *e)
{
    const char *why = journal_error(e->journal);

    if (risk_tripped(e->risk, NULL))
        return;
    log_write(LOG_ERROR, "engine", "trading stopped: %s", why ? why : "state store failed");
    risk_kill(e->risk, why ? why : "state store failed");
    engine_handle_trip(e);
}

/* ---- Restart ---- */

static int engine_strategy_by_name(void *ud, const char *name)
{
    const engine *e = ud;
    for (size_t i = 0; name[0] && i < e->nstrategies; i++)
        if (!strcmp(strategy_name(e->strategies[i]), name))
            return (int)i;
    return -1;
}

int engine_restore_venue(engine *e, const char *venue, journal_restored *out, char *err,
                         size_t errlen)
{
    if (!e->journal) {
        snprintf(err, errlen, "no state store");
        return -1;
    }
    return journal_restore(e->journal, e->oms, venue, engine_strategy_by_name, e, out, err,
                           errlen);
}

int engine_cancel_again(engine *e, const char *id)
{
    order *o = oms_find(e->oms, id);

    if (!o || o->status != ORDER_PENDING_CANCEL)
        return -1;
    engine_send_cancel(e, o);
    return 0;
}

int engine_adopt_order(engine *e, const order *o)
{
    order *got;

    if (oms_restore_order(e->oms, o) < 0)
        return -1;
    if (e->journal && (got = oms_find(e->oms, o->id))) {
        engine_journal_order(e, got, TOUCH_ORDER);
        engine_pending(e);
    }
    return 0;
}

int engine_venue_balance(engine *e, const char *venue, const char *asset, int64_t free,
                         int64_t locked)
{
    oms_balance before = oms_get_balance(e->oms, asset);

    if (oms_restore_balance(e->oms, asset, free, locked) < 0)
        return -1;
    if (before.free != free || before.locked != locked)
        log_write(LOG_INFO, "engine",
                  "balance from the venue venue=%s asset=%s free=%" PRId64 " locked=%" PRId64
                  " was_free=%" PRId64 " was_locked=%" PRId64,
                  venue, asset, free, locked, before.free, before.locked);
    if (e->journal) {
        engine_journal_balance(e, venue, asset);
        engine_pending(e);
    }
    return 0;
}

/* ---- Hot reload ---- */

int engine_strategy_find(const engine *e, const char *name)
{
    return engine_strategy_by_name((void *)e, name);
}

const char *engine_strategy_path(const engine *e, size_t index)
{
    return index < e->nstrategies ? e->confs[index].path : NULL;
}

void engine_set_cancel_on_stop(engine *e, int cancel)
{
    e->cfg.cancel_on_stop = cancel;
}

/*
 * ctx.state from the running instance to its successor. With a store it
 * goes the way a restart's does: saved into the batch, committed, then read
 * back by the new instance; the commit makes durable whatever else the
 * batch holds, which changes nothing (what waits for a commit still waits
 * for engine_flush). A stopped instance's state may be the reason it
 * stopped: the last one saved is taken instead.
 */
static int engine_hand_over_state(engine *e, strategy *from, strategy *to, char *err,
                                  size_t errlen)
{
    const void *data = NULL;
    size_t len = 0;
    char why[512];
    int rc = 0;

    if (!strategy_failed(from) || !e->journal)
        rc = strategy_state_encode(from, &data, &len, why, sizeof why);
    if (rc < 0) {
        snprintf(err, errlen, "ctx.state cannot be handed over: %s", why);
        return -1;
    }
    if (!e->journal) {
        if (strategy_state_load(to, data, len, why, sizeof why) == 0)
            return 0;
        snprintf(err, errlen, "ctx.state cannot be handed over: %s", why);
        return -1;
    }
    if (rc == 1)
        journal_strategy_state(e->journal, strategy_name(from), data, len);
    if (journal_commit(e->journal) < 0) {
        snprintf(err, errlen, "%s", journal_error(e->journal));
        engine_pending(e); /* the next flush stops trading on the failed store */
        return -1;
    }
    return engine_read_state(e, to, err, errlen);
}

/* Put s, loaded, in old's place at index. Once the engine has started,
 * ctx.state is handed over and s runs on_reload; if that fails (an error,
 * or a ctx.state it left that cannot be saved), old goes back in place.
 * @return 0, or -1 with err set. */
static int engine_swap_in(engine *e, size_t index, strategy *old, strategy *s, char *err,
                          size_t errlen)
{
    if (e->started && engine_hand_over_state(e, old, s, err, errlen) < 0)
        return -1;
    e->strategies[index] = s;
    if (!e->started)
        return 0;
    if (strategy_on_reload(s) == 0 && (!e->journal || engine_save_state(e, s, 0) == 0))
        return 0;
    snprintf(err, errlen, "%s", strategy_error(s));
    e->strategies[index] = old;
    return -1;
}

int engine_reload_strategy(engine *e, size_t index, const strategy_config *cfg, char *err,
                           size_t errlen)
{
    engine_strategy_conf next;
    strategy_config c;
    strategy *old, *s;

    if (index >= e->nstrategies) {
        snprintf(err, errlen, "no strategy %zu", index);
        return -1;
    }
    old = e->strategies[index];
    if (strategy_in_handler(old)) {
        snprintf(err, errlen, "strategy %s is running a handler: reload it between events",
                 strategy_name(old));
        return -1;
    }
    c = engine_conf_view(&e->confs[index], index);
    if (cfg) {
        c.path = cfg->path;
        c.params = cfg->params;
        c.nparams = cfg->nparams;
        if (cfg->lib_path)
            c.lib_path = cfg->lib_path;
        if (cfg->handler_timeout_ms)
            c.handler_timeout_ms = cfg->handler_timeout_ms;
    }
    if (engine_conf_copy(&next, &c, strategy_name(old)) < 0) {
        snprintf(err, errlen, "%s: out of memory", c.path);
        return -1;
    }
    c = engine_conf_view(&next, index);
    if (!(s = strategy_load(&engine_host_ops, e, &c, err, errlen))) {
        engine_conf_free(&next);
        return -1;
    }
    if (engine_swap_in(e, index, old, s, err, errlen) < 0) {
        strategy_free(s);
        engine_conf_free(&next);
        return -1;
    }
    /* Its timers go with it: none fires into the new instance. */
    strategy_free(old);
    engine_conf_free(&e->confs[index]);
    e->confs[index] = next;
    e->stats.reloads++;
    log_write(LOG_INFO, "engine", "strategy reloaded strategy=%s script=%s", strategy_name(s),
              next.path);
    return 0;
}

/* ---- Timers and accessors ---- */

int64_t engine_next_timer(const engine *e)
{
    return timer_next_due(e->timers);
}

void engine_run_timers(engine *e, int64_t now)
{
    timer_run(e->timers, now);
}

size_t engine_timers_pending(const engine *e)
{
    return timer_pending(e->timers);
}

bookset *engine_books(engine *e)
{
    return e->books;
}

oms *engine_oms(engine *e)
{
    return e->oms;
}

risk *engine_risk(engine *e)
{
    return e->risk;
}

const instrument_registry *engine_registry(const engine *e)
{
    return e->reg;
}

engine_stats engine_get_stats(const engine *e)
{
    return e->stats;
}
