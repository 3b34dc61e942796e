/*
 * backtest.c -- the backtest driver (backtest.h): replay, venue, engine and
 * timers on one virtual clock, then the report.
 */
#include "backtest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixed.h"
#include "json.h"
#include "money.h"
#include "replay.h"
#include "rng.h"
#include "timestamp.h"

#define BACKTEST_DEFAULT_CASH 10000.0
#define BACKTEST_DEFAULT_MAKER_BPS 2.0
#define BACKTEST_DEFAULT_TAKER_BPS 5.0
/* Equity is sampled for the report at least this often (engine time). */
#define BACKTEST_EQUITY_EVERY (3600 * TS_NS_PER_SEC)
#define BACKTEST_FEED_QUEUE_MIN 1024

/* Market events waiting out the feed latency before the engine sees them. */
typedef struct feed_item {
    int64_t due;
    lutra_event ev;
} feed_item;

typedef struct feed_queue {
    feed_item *items;
    size_t head, n, cap;
    int64_t last_due;    /* FIFO: a random latency never reorders the feed */
} feed_queue;

typedef struct driver {
    const backtest_options *opt;
    instrument_registry *reg;
    replay *rp;
    engine *eng;
    sim_venue *sim;
    bookset *venue_books;     /* the venue's own books when a feed latency is set */
    report *rep;
    rng feed_rng;
    sim_latency feed_latency;
    int feed_delayed;
    feed_queue feed;
    int64_t now;
    int64_t first, last;      /* event times */
    int64_t next_equity;
    int started;              /* holdings valued, initial equity taken */
    int64_t initial;
    int margin;
    uint64_t events;
    struct timespec wall_start, progress_at;
} driver;

static int64_t driver_now(void *ud)
{
    return ((driver *)ud)->now;
}

static double driver_elapsed(const struct timespec *since)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - since->tv_sec) + (double)(t.tv_nsec - since->tv_nsec) / 1e9;
}

/* ---- Configuration ---- */

static void driver_sim_config(const backtest_options *opt, const config *cfg, int bar_mode,
                              sim_config *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->bar_mode = bar_mode;
    sc->order_latency = sim_latency_from_config(&cfg->latency_order);
    sc->response_latency = sim_latency_from_config(&cfg->latency_response);
    sc->feed_latency = sim_latency_from_config(&cfg->latency_feed);
    sc->queue = !strcmp(cfg->queue_model, "optimistic") ? SIM_QUEUE_OPTIMISTIC
                                                         : SIM_QUEUE_CONSERVATIVE;
    sc->maker_fee_bps = opt->fee_maker_bps >= 0   ? opt->fee_maker_bps
                        : cfg->fee_maker_bps >= 0 ? cfg->fee_maker_bps
                                                  : BACKTEST_DEFAULT_MAKER_BPS;
    sc->taker_fee_bps = opt->fee_taker_bps >= 0   ? opt->fee_taker_bps
                        : cfg->fee_taker_bps >= 0 ? cfg->fee_taker_bps
                                                  : BACKTEST_DEFAULT_TAKER_BPS;
    sc->seed = cfg->seed_set ? cfg->seed : 1;
}

/* The config file's entry for this strategy: same name, else same script. */
static const config_strategy *driver_config_strategy(const config *cfg, const char *name,
                                                     const char *path)
{
    for (size_t i = 0; i < cfg->nstrategies; i++)
        if (!strcmp(cfg->strategies[i].name, name))
            return &cfg->strategies[i];
    for (size_t i = 0; i < cfg->nstrategies; i++)
        if (!strcmp(cfg->strategies[i].script, path))
            return &cfg->strategies[i];
    return cfg->nstrategies == 1 ? &cfg->strategies[0] : NULL;
}

/* "scripts/sma_cross.lua" -> "sma_cross" */
static void driver_stem(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    size_t n;
    base = base ? base + 1 : path;
    n = strcspn(base, ".");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), base);
}

static int driver_add_strategy(driver *d, const config *cfg, char *err, size_t errlen)
{
    const backtest_options *opt = d->opt;
    strategy_param *params;
    const config_strategy *cs;
    strategy_config sc;
    char stem[64];
    size_t n = 0;
    int rc;

    driver_stem(opt->strategy_path, stem, sizeof stem);
    cs = driver_config_strategy(cfg, opt->strategy_name ? opt->strategy_name : stem,
                                opt->strategy_path);
    params = calloc((cs ? cs->nparams : 0) + opt->nparams + 1, sizeof *params);
    if (!params) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; cs && i < cs->nparams; i++)
        params[n++] = cs->params[i];
    for (size_t i = 0; i < opt->nparams; i++)
        params[n++] = opt->params[i];
    memset(&sc, 0, sizeof sc);
    sc.name = opt->strategy_name ? opt->strategy_name : stem;
    sc.path = opt->strategy_path;
    sc.lib_path = opt->lib_path;
    sc.params = params;
    sc.nparams = n;
    rc = engine_add_strategy(d->eng, &sc, err, errlen);
    free(params);
    return rc < 0 ? -1 : 0;
}

/*
 * A strategy whose `symbol` param names a symbol the data does not have would
 * run to the end without trading: say so before it starts.
 */
static int driver_check_symbol(driver *d, char *err, size_t errlen)
{
    const char *params = strategy_params_json(engine_strategy_at(d->eng, 0)), *sym;
    json_parser *jp = json_parser_new();
    json_value root, v;
    size_t len, n = instrument_registry_count(d->reg), used;
    int rc = 0;

    if (!jp)
        return 0;
    if (json_parse_copy(jp, params, strlen(params), &root) == 0 &&
        json_field(&root, "symbol", &v) == 0 && json_string(&v, &sym, &len) == 0) {
        int found = 0;
        for (uint32_t i = 0; i < n && !found; i++)
            found = strlen(instrument_registry_get(d->reg, i)->symbol) == len &&
                    !memcmp(instrument_registry_get(d->reg, i)->symbol, sym, len);
        if (!found) {
            used = (size_t)snprintf(err, errlen, "symbol %.*s is not in the data (it has:",
                                    (int)len, sym);
            for (uint32_t i = 0; i < n && used < errlen; i++)
                used += (size_t)snprintf(err + used, errlen - used, " %s",
                                         instrument_registry_get(d->reg, i)->symbol);
            if (used < errlen)
                snprintf(err + used, errlen - used, "); set it with -p symbol=...");
            rc = -1;
        }
    }
    json_parser_free(jp);
    return rc;
}

/* Starting money: cash in the equity asset, then each ASSET=AMOUNT. */
static int driver_balances(driver *d, const config *cfg, char *err, size_t errlen)
{
    const backtest_options *opt = d->opt;
    double cash = opt->cash >= 0 ? opt->cash : cfg->cash >= 0 ? cfg->cash : BACKTEST_DEFAULT_CASH;

    engine_set_balance(d->eng, engine_equity_asset(d->eng), money_from_double(cash));
    for (size_t i = 0; i < cfg->nbalances; i++)
        engine_set_balance(d->eng, cfg->balances[i].asset,
                           money_from_double(cfg->balances[i].amount));
    for (size_t i = 0; i < opt->nbalances; i++) {
        const char *kv = opt->balances[i], *eq = strchr(kv, '=');
        char asset[LUTRA_ASSET_MAX], *end;
        double amount;
        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof asset) {
            snprintf(err, errlen, "--balance '%s': want ASSET=AMOUNT", kv);
            return -1;
        }
        amount = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || amount < 0) {
            snprintf(err, errlen, "--balance '%s': the amount is not a number >= 0", kv);
            return -1;
        }
        snprintf(asset, sizeof asset, "%.*s", (int)(eq - kv), kv);
        engine_set_balance(d->eng, asset, money_from_double(amount));
    }
    return 0;
}

/* ---- Reports ---- */

/* The first instrument of the data whose base asset is `asset`. */
static int32_t driver_base_instrument(const driver *d, const char *asset)
{
    size_t n = instrument_registry_count(d->reg);
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(instrument_registry_get(d->reg, i)->base, asset))
            return (int32_t)i;
    return -1;
}

/*
 * Holdings at the start (spot: --balance of a base asset) can only be valued
 * once their instrument has a price. At the first moment every one has, each
 * becomes a long position at that price (selling it later reduces a long
 * rather than opening a short) and the initial equity is taken. Before that
 * moment equity would leave them out and the report would count their first
 * valuation as profit.
 */
static void driver_settle_start(driver *d)
{
    size_t n = instrument_registry_count(d->reg);
    oms *o = engine_oms(d->eng);

    if (d->started)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const lutra_instrument *in = instrument_registry_get(d->reg, i);
        oms_balance b = oms_get_balance(o, in->base);
        if (b.free + b.locked != 0 && driver_base_instrument(d, in->base) == (int32_t)i &&
            engine_mark_price(d->eng, i) == 0)
            return;
    }
    for (uint32_t i = 0; i < n && !d->margin; i++) {
        const lutra_instrument *in = instrument_registry_get(d->reg, i);
        oms_balance b = oms_get_balance(o, in->base);
        int64_t held = b.free + b.locked;
        if (held > 0 && driver_base_instrument(d, in->base) == (int32_t)i)
            oms_seed_position(o, i, money_muldiv(held, fixed_pow10(in->size_scale), MONEY_ONE),
                              engine_mark_price(d->eng, i));
    }
    d->started = 1;
    d->initial = engine_equity(d->eng);
    report_on_equity(d->rep, d->now, d->initial);
}

static void driver_on_fill(void *ud, const order *o, const oms_change *c, int64_t when)
{
    driver *d = ud;
    driver_settle_start(d);
    report_on_fill(d->rep, o, c, oms_get_position(engine_oms(d->eng), o->req.instrument), when);
    report_on_equity(d->rep, d->now, engine_equity(d->eng));
}

static void driver_sample_equity(driver *d)
{
    if (!d->started)
        driver_settle_start(d);
    if (!d->started || d->now < d->next_equity)
        return;
    report_on_equity(d->rep, d->now, engine_equity(d->eng));
    d->next_equity = d->now + BACKTEST_EQUITY_EVERY;
}

/* ---- The feed latency ---- */

static int driver_feed_push(driver *d, const lutra_event *ev)
{
    feed_queue *q = &d->feed;
    int64_t due = ev->h.ts_recv + sim_latency_draw(&d->feed_latency, &d->feed_rng);
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : BACKTEST_FEED_QUEUE_MIN;
        feed_item *items = malloc(cap * sizeof *items);
        if (!items)
            return -1;
        for (size_t i = 0; i < q->n; i++)
            items[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = items;
        q->cap = cap;
        q->head = 0;
    }
    if (due < q->last_due)
        due = q->last_due;
    q->last_due = due;
    q->items[(q->head + q->n) % q->cap].due = due;
    /* Its own size only: ev may be a record in place at the end of a file. */
    memcpy(&q->items[(q->head + q->n) % q->cap].ev, ev, ev->h.size);
    q->n++;
    return 0;
}

static int64_t driver_feed_next(const driver *d)
{
    return d->feed.n ? d->feed.items[d->feed.head].due : INT64_MAX;
}

/* ---- The loop ---- */

static int driver_is_message_end(const lutra_event *ev)
{
    int book = ev->h.type == LUTRA_EV_BOOK_DELTA || ev->h.type == LUTRA_EV_BOOK_CLEAR;
    return !book || (ev->h.flags & LUTRA_F_LAST);
}

static void driver_progress(driver *d)
{
    char when[TS_ISO_MAX];
    if (!d->opt->progress || driver_elapsed(&d->progress_at) < 1.0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &d->progress_at);
    ts_format_iso(d->now, when, sizeof when);
    fprintf(stderr, "\rbacktest: %5.1f%%  %" PRIu64 " events, at %s\033[K",
            100.0 * replay_progress(d->rp), d->events, when);
}

/* One market event: the venue's books and the venue first, then the engine
 * (now or after the feed latency). @return 0, or -1 to stop the run. */
static int driver_market(driver *d, const lutra_event *ev)
{
    int warmup = ev->h.ts_recv < d->opt->from;

    if (d->events == 0)
        d->first = ev->h.ts_recv;
    d->last = ev->h.ts_recv;
    d->events += driver_is_message_end(ev);
    if (d->feed_delayed) {
        if (bookset_apply(d->venue_books, ev) < 0)
            return -1;
        if (!warmup && sim_on_market(d->sim, ev) < 0)
            return -1;
        return warmup ? engine_apply_market(d->eng, ev) : driver_feed_push(d, ev);
    }
    if (engine_apply_market(d->eng, ev) < 0)
        return -1;
    /* A level inside a message: nobody may look at the book until its last
     * record, and the venue fills only on trades and bars. Most records of
     * a book feed end here. */
    if (warmup || !driver_is_message_end(ev))
        return 0;
    if (sim_on_market(d->sim, ev) < 0)
        return -1;
    return engine_dispatch(d->eng, ev);
}

static int driver_deliver_feed(driver *d)
{
    feed_item *it = &d->feed.items[d->feed.head];
    lutra_event ev = it->ev;
    d->feed.head = (d->feed.head + 1) % d->feed.cap;
    d->feed.n--;
    return engine_on_event(d->eng, &ev);
}

/* @return 0 at the end of the data, -1 when a strategy or a book stopped it. */
static int driver_loop(driver *d, const lutra_event *first)
{
    const lutra_event *ev = first;
    int64_t t_data, t_venue, t_feed, t_timer;

    for (;;) {
        t_data = ev ? ev->h.ts_recv : INT64_MAX;
        if (t_data > d->opt->to)
            t_data = INT64_MAX;
        t_venue = sim_next_time(d->sim);
        t_feed = driver_feed_next(d);
        t_timer = engine_next_timer(d->eng);
        if (t_data == INT64_MAX && t_venue == INT64_MAX && t_feed == INT64_MAX)
            return 0; /* timers alone never keep a backtest going */
        if (t_data <= t_venue && t_data <= t_feed && t_data <= t_timer) {
            d->now = t_data;
            if (driver_market(d, ev) < 0)
                return -1;
            ev = replay_next(d->rp);
        } else if (t_venue <= t_feed && t_venue <= t_timer) {
            d->now = t_venue;
            sim_advance(d->sim, t_venue);
        } else if (t_feed <= t_timer) {
            d->now = t_feed;
            if (driver_deliver_feed(d) < 0)
                return -1;
        } else {
            d->now = t_timer;
            engine_run_timers(d->eng, t_timer);
        }
        if (engine_failure(d->eng, NULL, NULL))
            return -1;
        driver_sample_equity(d);
        driver_progress(d);
    }
}

/* ---- Setting up and tearing down ---- */

static void driver_free(driver *d)
{
    if (d->eng)
        engine_free(d->eng);
    if (d->sim)
        sim_free(d->sim);
    if (d->feed_delayed)
        bookset_free(d->venue_books);
    if (d->rp)
        replay_close(d->rp);
    instrument_registry_free(d->reg);
    free(d->feed.items);
}

static int driver_setup(driver *d, const config *cfg, int bar_mode, char *err, size_t errlen)
{
    const backtest_options *opt = d->opt;
    engine_config ec;
    sim_config sc;
    report_meta meta;

    memset(&ec, 0, sizeof ec);
    ec.mode = "backtest";
    ec.oms.margin = cfg->margin;
    ec.oms.leverage = cfg->leverage;
    ec.risk = cfg->risk;
    ec.lib_path = opt->lib_path;
    ec.cancel_on_stop = 1;
    ec.handler_timeout_ms = (int)cfg->handler_timeout_ms;
    driver_sim_config(opt, cfg, bar_mode, &sc);
    ec.oms.taker_fee_bps = sc.taker_fee_bps;
    if (!(d->eng = engine_new(&ec, d->reg, err, errlen)))
        return -1;
    engine_set_clock(d->eng, driver_now, d);
    d->feed_latency = sc.feed_latency;
    d->feed_delayed = !bar_mode && (sc.feed_latency.a_ns > 0 || sc.feed_latency.b_ns > 0);
    rng_seed(&d->feed_rng, sc.seed, 7);
    d->venue_books = d->feed_delayed ? bookset_new() : engine_books(d->eng);
    if (!d->venue_books) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(d->sim = sim_new(&sc, d->reg, d->venue_books, engine_on_exec, d->eng, err, errlen)))
        return -1;
    engine_set_venue(d->eng, &sim_venue_ops, d->sim);
    if (driver_balances(d, cfg, err, errlen) < 0 || driver_add_strategy(d, cfg, err, errlen) < 0 ||
        driver_check_symbol(d, err, errlen) < 0)
        return -1;
    memset(&meta, 0, sizeof meta);
    meta.strategy = strategy_name(engine_strategy_at(d->eng, 0));
    meta.params_json = strategy_params_json(engine_strategy_at(d->eng, 0));
    meta.bar_mode = bar_mode;
    meta.periods_per_year = opt->periods_per_year > 0 ? opt->periods_per_year
                                                      : cfg->periods_per_year;
    meta.equity_asset = engine_equity_asset(d->eng);
    meta.models_json = sim_describe_json(d->sim);
    meta.models_text = sim_describe(d->sim);
    if (!(d->rep = report_new(&meta, d->reg))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    engine_set_fill_observer(d->eng, driver_on_fill, d);
    return 0;
}

static void driver_totals(driver *d, int64_t initial, report_totals *t)
{
    engine_stats st = engine_get_stats(d->eng);
    const char *name, *error = NULL;

    engine_failure(d->eng, &name, &error);
    memset(t, 0, sizeof *t);
    t->events = d->events;
    t->start = d->first;
    t->end = d->last;
    t->initial_equity = initial;
    t->final_equity = engine_equity(d->eng);
    t->orders = st.orders;
    t->rejected = st.rejected;
    t->fills = st.fills;
    for (size_t i = 0; i < oms_order_count(engine_oms(d->eng)); i++)
        t->fees += oms_order_at(engine_oms(d->eng), i)->fees;
    t->wall_seconds = driver_elapsed(&d->wall_start);
    t->error = error;
}

int backtest_run(const backtest_options *opt, backtest_result *res, report **rep_out,
                 char *err, size_t errlen)
{
    config defaults;
    const config *cfg = opt->cfg;
    const lutra_event *first;
    driver d;
    report_totals totals;
    int rc = -1, loop;

    memset(&d, 0, sizeof d);
    memset(res, 0, sizeof *res);
    d.opt = opt;
    clock_gettime(CLOCK_MONOTONIC, &d.wall_start);
    d.progress_at = d.wall_start;
    if (!cfg) {
        config_defaults(&defaults);
        cfg = &defaults;
    }
    if (!(d.reg = instrument_registry_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(d.rp = replay_open(opt->data, opt->ndata, d.reg, err, errlen)))
        goto out;
    replay_keep_books(d.rp, 0);
    if (!(first = replay_next(d.rp))) {
        snprintf(err, errlen, "%s: no events to backtest on", opt->data[0]);
        goto out;
    }
    if (driver_setup(&d, cfg, first->h.type == LUTRA_EV_BAR, err, errlen) < 0)
        goto out;
    d.now = first->h.ts_recv;
    d.margin = cfg->margin;
    d.next_equity = d.now + BACKTEST_EQUITY_EVERY;
    if (engine_start(d.eng) == 0)
        loop = driver_loop(&d, first);
    else
        loop = -1;
    sim_finish(d.sim, d.now);
    while (d.feed.n && driver_deliver_feed(&d) == 0)
        ;
    engine_stop(d.eng);
    if (d.opt->progress)
        fputc('\n', stderr);
    if (!d.started) { /* a held asset never got a price: value it at nothing */
        d.started = 1;
        d.initial = engine_equity(d.eng);
        report_on_equity(d.rep, d.now, d.initial);
    }
    driver_totals(&d, d.initial, &totals);
    report_on_equity(d.rep, d.now, totals.final_equity);
    report_finish(d.rep, &totals);
    res->strategy_failed = engine_failure(d.eng, NULL, NULL);
    res->events = d.events;
    res->records = engine_get_stats(d.eng).events;
    res->wall_seconds = totals.wall_seconds;
    if (loop < 0 && !res->strategy_failed) {
        snprintf(err, errlen, "the replay stopped: a book refused a record");
        goto out;
    }
    if (opt->out_dir && report_write(d.rep, opt->out_dir, err, errlen) < 0)
        goto out;
    snprintf(res->fills_sha256, sizeof res->fills_sha256, "%s",
             opt->out_dir ? report_fills_sha256(d.rep) : "");
    rc = 0;
out:
    if (rc == 0 && rep_out) {
        *rep_out = d.rep;
        d.rep = NULL;
    }
    if (d.rep)
        report_free(d.rep);
    driver_free(&d);
    return rc;
}
