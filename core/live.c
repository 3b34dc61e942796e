/*
 * live.c -- the live driver (live.h): connectors and the engine on one loop.
 *
 * Everything runs on the loop's thread. After anything that may have given
 * the engine or the simulated venue something to do later (an event, a
 * report, a timer, an order), live_arm sets the one wake-up timer at the
 * earliest of engine_next_timer and sim_next_time; it is re-added only when
 * that time changes, so a quiet market costs no timer churn.
 *
 * The driver is here; paper mode, a restart, hot reloads and the control
 * socket have a file each (live_impl.h lists them).
 */
#include "live_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "log.h"

#define LIVE_DEFAULT_GRACE_MS 2000
#define LIVE_SYMBOLS_MAX (CONFIG_MAX_SYMBOLS * 32)
#define LIVE_CONF_MAX 16

static void live_finish(live *lv);

/* ---- The wake-up timer ---- */

static void live_check_stopped(live *lv)
{
    if (lv->stopping && !lv->done && oms_open_count(engine_oms(lv->eng), -1) == 0)
        live_finish(lv);
}

static void live_wake(loop_timer *t, void *ud)
{
    live *lv = ud;
    int64_t now = loop_now_ns();
    (void)t;

    lv->wake = NULL; /* one-shot: the loop frees it after this call */
    if (lv->sim)
        live_paper_run_until(lv, now - LIVE_PAPER_GUARD_NS);
    else
        engine_run_timers(lv->eng, now);
    live_arm(lv);
    live_check_stopped(lv);
}

void live_arm(live *lv)
{
    int64_t next = engine_next_timer(lv->eng);
    char err[256];

    if (lv->sim && sim_next_time(lv->sim) < next)
        next = sim_next_time(lv->sim);
    if (lv->wake && lv->wake_at == next)
        return;
    if (lv->wake)
        loop_timer_cancel(lv->wake);
    lv->wake = NULL;
    if (next == INT64_MAX || lv->done)
        return;
    lv->wake_at = next;
    if (lv->sim)
        next += LIVE_PAPER_GUARD_NS;
    lv->wake = loop_timer_add(lv->lp, next - loop_now_ns(), 0, live_wake, lv, err, sizeof err);
    if (!lv->wake)
        log_write(LOG_ERROR, "run", "cannot arm the engine's timer error=\"%s\"", err);
}

/* ---- The group commit ---- */

/* Once per loop turn: commit what the engine wrote, then send the orders
 * and tell the strategies what waited for it. */
static void live_flush(void *ud)
{
    live *lv = ud;

    engine_flush(lv->eng);
    engine_prepare(lv->eng);
    live_arm(lv);
    live_check_stopped(lv);
}

void live_flush_soon(void *ud)
{
    live *lv = ud;
    if (lv->flush)
        loop_deferred_schedule(lv->flush);
}

/* ---- Orders to a connector (mode live) ---- */

live_venue *live_route(live *lv, uint32_t instrument)
{
    const lutra_instrument *in = instrument_registry_get(lv->reg, instrument);

    for (size_t i = 0; in && i < lv->nvenues; i++)
        if (!strcmp(lv->venues[i].cv->name, in->venue))
            return &lv->venues[i];
    return lv->nvenues == 1 ? &lv->venues[0] : NULL;
}

void live_to_lutra_order(const order *o, lutra_order *out)
{
    memset(out, 0, sizeof *out);
    copy_str(out->id, sizeof out->id, o->id);
    out->side = (uint8_t)o->req.side;
    out->type = (uint8_t)o->req.type;
    out->tif = (uint8_t)o->req.tif;
    out->instrument = o->req.instrument;
    out->price = o->req.price;
    out->stop_price = o->req.stop_price;
    out->qty = o->req.qty;
    copy_str(out->venue_order_id, sizeof out->venue_order_id, o->venue_order_id);
}

/* A rejection for an order that could not be sent, delivered from the loop:
 * never inside the strategy's ctx:buy that sent it. */
typedef struct live_reject {
    live *lv;
    exec_report rep;
} live_reject;

static void live_reject_fire(loop_timer *t, void *ud)
{
    live_reject *r = ud;
    (void)t;
    engine_on_exec(r->lv->eng, &r->rep);
    live_swap_acked_id(r->lv, r->rep.order_id);
    live_arm(r->lv);
    live_check_stopped(r->lv);
    free(r);
}

void live_reject_later(live *lv, const order *o, int64_t now, const char *why)
{
    live_reject *r = calloc(1, sizeof *r);
    char err[256];

    log_write(LOG_WARN, "run", "order not sent order=%s reason=\"%s\"", o->id, why);
    if (!r)
        return;
    r->lv = lv;
    r->rep.kind = EXEC_REJECTED;
    r->rep.ts = now;
    snprintf(r->rep.order_id, sizeof r->rep.order_id, "%s", o->id);
    snprintf(r->rep.reason, sizeof r->rep.reason, "%s", why);
    if (!loop_timer_add(lv->lp, 0, 0, live_reject_fire, r, err, sizeof err)) {
        log_write(LOG_ERROR, "run", "cannot queue a rejection error=\"%s\"", err);
        free(r);
    }
}

/* Send o through the venue's connector; a refusal comes back as a
 * rejection, from the loop. */
int live_send_submit(live_venue *v, const order *o, int64_t now)
{
    lutra_order lo;

    live_to_lutra_order(o, &lo);
    if (!v->pi || plugin_instance_submit(v->pi, &lo) != 0) {
        live_reject_later(v->lv, o, now,
                          v->pi ? "the connector refused the order"
                                : "the venue has no connector (its reload failed)");
        return -1;
    }
    return 0;
}

int live_send_cancel(live_venue *v, const order *o)
{
    lutra_order lo;

    live_to_lutra_order(o, &lo);
    if (!v->pi || plugin_instance_cancel(v->pi, &lo) != 0) {
        log_write(LOG_WARN, "run", "cancel not sent order=%s", o->id);
        return -1;
    }
    return 0;
}

/* While the venue's connector is being reloaded, orders wait (live_hold). */
static int live_submit(void *venue, const order *o, int64_t now)
{
    live *lv = venue;
    live_venue *v = live_route(lv, o->req.instrument);

    if (!v) {
        live_reject_later(lv, o, now, "no venue for this instrument");
        return -1;
    }
    return v->holding ? live_hold(v, ORDER_HOLD_SUBMIT, o, now) : live_send_submit(v, o, now);
}

static int live_cancel(void *venue, const order *o, int64_t now)
{
    live *lv = venue;
    live_venue *v = live_route(lv, o->req.instrument);

    if (!v) {
        log_write(LOG_WARN, "run", "cancel not sent order=%s", o->id);
        return -1;
    }
    return v->holding ? live_hold(v, ORDER_HOLD_CANCEL, o, now) : live_send_cancel(v, o);
}

static const venue_ops live_venue_ops = {live_submit, live_cancel};

/* ---- What connectors report ---- */

static int live_message_end(const lutra_event *ev)
{
    int book = ev->h.type == LUTRA_EV_BOOK_DELTA || ev->h.type == LUTRA_EV_BOOK_CLEAR;
    return !book || (ev->h.flags & LUTRA_F_LAST);
}

/*
 * Every market message a connector receives, before its decode (the
 * recorder's hook, always installed). Receive times are stamped where the
 * bytes arrive: WebSocket frames on their I/O thread, REST answers (depth
 * snapshots) on this one, so a frame stamped just before a snapshot can be
 * decoded just after it. It is given the snapshot's time instead (here and,
 * in paper mode, on its events): the receive times a recording holds never
 * go back, so a replay decodes the messages in the order they were decoded
 * here (an importer would otherwise sort that frame before the snapshot).
 */
static void live_record(void *ud, int64_t recv_ns, const char *msg, size_t len)
{
    live *lv = ud;

    if (recv_ns < lv->recv_floor)
        recv_ns = lv->recv_floor;
    lv->recv_floor = recv_ns;
    if (lv->opt.record)
        lv->opt.record(lv->opt.record_ud, recv_ns, msg, len);
}

/* After a message's orders are out: what the next orders would otherwise
 * stop for (a page fault, an allocation, a rehash, a step of a strategy's
 * garbage collector, the start of the store's next batch) is done here,
 * before the next message. */
#define LIVE_ROOM_ORDERS 64

static void live_make_room(live *lv)
{
    state_preallocate(lv->store);
    oms_reserve_ahead(engine_oms(lv->eng), LIVE_ROOM_ORDERS); /* may fail: submit retries */
    engine_collect(lv->eng);
    engine_prepare(lv->eng);
}

/* The books first; in paper mode the simulated venue sees a whole message
 * before the strategies do, as in a backtest. */
static int live_on_event(void *ud, const lutra_event *ev)
{
    live_venue *v = ud;
    live *lv = v->lv;
    lutra_event later;
    int rc;

    if (lv->sim)
        ev = live_paper_on_market(lv, ev, &later);
    if (engine_apply_market(lv->eng, ev) < 0)
        return -1;
    if (!live_message_end(ev))
        return 0;
    if (lv->sim && sim_on_market(lv->sim, ev) < 0)
        return -1;
    /* Strategies hear of what came before a message (reports, the venue's
     * fills caused by it) before they hear of the message itself. */
    engine_flush(lv->eng);
    rc = engine_dispatch(lv->eng, ev);
    /* ... and what they answer goes out at this message's time. */
    engine_flush(lv->eng);
    live_make_room(lv);
    live_arm(lv);
    live_check_stopped(lv);
    return rc;
}

static void live_log_status(const live_venue *v, const lutra_exec *x)
{
    if (!x->order_id[0]) {
        log_write(LOG_INFO, "run", "open orders listed venue=%s", v->cv->name);
        return;
    }
    log_write(LOG_INFO, "run",
              "open order venue=%s order=%s venue_order=%s qty=%" PRId64
              " filled=%" PRId64 " price=%" PRId64,
              v->cv->name, x->order_id, x->venue_order_id, x->qty, x->filled, x->price);
}

/*
 * A STATUS outside a reconciliation: a connector settling an order whose
 * answer was lost (it asked the venue by its id), or its own list after a
 * reconnect. An order it says ended, or that we never heard acknowledged,
 * is settled; anything else is only logged (a cancel in flight is not sent
 * twice on a list's word).
 */
static void live_status_outside(live_venue *v, const lutra_exec *x)
{
    order *o = x->order_id[0] ? oms_find(engine_oms(v->lv->eng), x->order_id) : NULL;
    int ended = x->status == LUTRA_ORDER_CANCELED || x->status == LUTRA_ORDER_REJECTED ||
                x->status == LUTRA_ORDER_EXPIRED;
    int acknowledged = x->status == LUTRA_ORDER_NEW || x->status == LUTRA_ORDER_PARTIALLY_FILLED;

    live_log_status(v, x);
    if (o && order_status_is_open(o->status) &&
        (ended || (acknowledged && o->status == ORDER_PENDING_NEW)))
        reconcile_settle(v->lv->eng, v->cv->name, o, x);
}

static int live_on_exec(void *ud, const lutra_exec *x)
{
    live_venue *v = ud;
    live *lv = v->lv;
    exec_report rep;

    if (x->kind == LUTRA_EXEC_STATUS) {
        if (!v->rec || !reconcile_on_status(v->rec, x))
            live_status_outside(v, x);
        if (!x->order_id[0])
            live_swap_listed(v);
        live_arm(lv);
        return 0;
    }
    if (x->kind == LUTRA_EXEC_CANCEL_REJECTED) /* the engine puts the order back */
        log_write(LOG_WARN, "run", "cancel refused venue=%s order=%s reason=\"%s\"",
                  v->cv->name, x->order_id, x->reason);
    /* The kinds below share the engine's values (lutra_order.h). */
    memset(&rep, 0, sizeof rep);
    rep.kind = (exec_kind)x->kind;
    copy_str(rep.order_id, sizeof rep.order_id, x->order_id);
    rep.ts = x->ts;
    rep.price = x->price;
    rep.qty = x->qty;
    rep.fee = x->fee;
    copy_str(rep.fee_asset, sizeof rep.fee_asset, x->fee_asset);
    rep.liquidity = x->liquidity == LUTRA_LIQ_MAKER ? ORDER_MAKER : ORDER_TAKER;
    copy_str(rep.venue_order_id, sizeof rep.venue_order_id, x->venue_order_id);
    copy_str(rep.reason, sizeof rep.reason, x->reason);
    copy_str(rep.trade_id, sizeof rep.trade_id, x->trade_id);
    engine_on_exec(lv->eng, &rep);
    live_swap_acked(v, x->order_id);
    live_arm(lv);
    live_check_stopped(lv);
    return 0;
}

/* Live: the venue's balance replaces ours. Paper: the account is simulated. */
static int live_on_balance(void *ud, const lutra_balance *b)
{
    live_venue *v = ud;

    if (v->lv->sim)
        return 0;
    if (engine_venue_balance(v->lv->eng, v->cv->name, b->asset, b->free, b->locked) < 0)
        return -1;
    if (v->rec)
        reconcile_on_balance(v->rec);
    return 0;
}

const char *live_state_name(int state)
{
    switch (state) {
    case LUTRA_FEED_CONNECTING: return "connecting";
    case LUTRA_FEED_SYNCING: return "syncing";
    case LUTRA_FEED_READY: return "ready";
    default: return "disconnected";
    }
}

static void live_on_state(void *ud, int state, const char *reason)
{
    live_venue *v = ud;
    live *lv = v->lv;

    v->state = state;
    snprintf(v->state_reason, sizeof v->state_reason, "%s", reason ? reason : "");
    log_write(state == LUTRA_FEED_DISCONNECTED ? LOG_WARN : LOG_INFO, "run",
              "venue state venue=%s state=%s reason=\"%s\"", v->cv->name, live_state_name(state),
              reason ? reason : "");
    /* Reports may have been lost, even while a reload mutes the state. */
    if (state == LUTRA_FEED_DISCONNECTED)
        v->lost = 1;
    int muted = live_swap_on_state(v, state);
    if (!muted)
        engine_set_venue_state(lv->eng, v->cv->name, state, reason);
    /* Syncing: its instruments are known (the books are not yet), so its
     * records can come back and the reconciliation begin; strategies then
     * start before the first book, as in a backtest. Back after a
     * disconnect: what the venue did meanwhile (fills missed by the user
     * stream, orders whose answer was lost) is reconciled. */
    if (!muted && (state == LUTRA_FEED_SYNCING || state == LUTRA_FEED_READY) && !v->restored &&
        lv->journal) {
        live_venue_restore(v);
    } else if (state == LUTRA_FEED_READY && v->lost && v->rec) {
        v->lost = 0;
        v->reconciled = 0;
        reconcile_again(v->rec);
    }
    live_arm(lv);
}

/* ---- Stopping ---- */

static void live_stop_connectors(live *lv)
{
    for (size_t i = 0; i < lv->nvenues; i++)
        if (lv->venues[i].pi)
            plugin_instance_stop(lv->venues[i].pi);
}

static void live_finish(live *lv)
{
    size_t open = oms_open_count(engine_oms(lv->eng), -1);

    lv->done = 1;
    if (lv->grace)
        loop_timer_cancel(lv->grace);
    lv->grace = NULL;
    if (lv->wake)
        loop_timer_cancel(lv->wake);
    lv->wake = NULL;
    log_write(open ? LOG_WARN : LOG_INFO, "run", "stopped open_orders=%zu", open);
    if (lv->sim)
        log_write(lv->late ? LOG_WARN : LOG_INFO, "run", "paper clock late_messages=%" PRIu64,
                  lv->late);
    /* The connectors stop once the loop has returned (live_run): this may
     * run inside a connector's own callback (the report of the last
     * cancel), and stopping it there frees what the callback still uses. */
    loop_break(lv->lp);
}

static void live_grace_over(loop_timer *t, void *ud)
{
    live *lv = ud;
    (void)t;
    lv->grace = NULL;
    log_write(LOG_WARN, "run", "the venue did not confirm every cancel in time");
    live_finish(lv);
}

void live_request_stop(live *lv)
{
    int64_t grace = lv->opt.stop_grace_ms > 0 ? lv->opt.stop_grace_ms : LIVE_DEFAULT_GRACE_MS;
    char err[256];

    if (lv->stopping) {
        log_write(LOG_WARN, "run", "second stop request: exiting at once");
        lv->aborted = 1;
        loop_break(lv->lp);
        return;
    }
    lv->stopping = 1;
    log_write(LOG_INFO, "run", "stopping cancel_on_stop=%d", lv->cfg->cancel_on_stop);
    engine_stop(lv->eng);
    live_arm(lv);
    /* Nothing to wait for when no strategy ran (a stop during a restart's
     * reconciliation leaves the restored orders as they are). */
    if (!lv->cfg->cancel_on_stop || !engine_started(lv->eng) ||
        oms_open_count(engine_oms(lv->eng), -1) == 0) {
        live_finish(lv);
        return;
    }
    lv->grace = loop_timer_add(lv->lp, grace * NS_PER_MS, 0, live_grace_over, lv, err,
                               sizeof err);
    if (!lv->grace)
        live_finish(lv);
}

static void live_on_signal(loop_signal *s, int signo, void *ud)
{
    live *lv = ud;
    (void)s;

    if (signo == SIGHUP) {
        live_on_hup(lv);
        return;
    }
    log_write(LOG_INFO, "run", "signal signal=%s", signo == SIGINT ? "INT" : "TERM");
    live_request_stop(lv);
}

/* ---- Building ---- */

static int live_secrets(live_venue *v, char *err, size_t errlen)
{
    const config_venue *cv = v->cv;
    const struct {
        const char *key;
        const config_secret *src;
    } keys[] = {{"api_key", &cv->api_key}, {"api_secret", &cv->api_secret}};
    char why[512];

    if (!(v->secrets = secret_store_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!keys[i].src->env[0] && !keys[i].src->file[0])
            continue;
        if (secret_store_add(v->secrets, keys[i].key, keys[i].src->env, keys[i].src->file, why,
                             sizeof why) < 0) {
            snprintf(err, errlen, "venues.%s.%s: %s", cv->name, keys[i].key, why);
            return -1;
        }
    }
    return 0;
}

static void live_join_symbols(const config_venue *cv, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < cv->nsymbols && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "," : "", cv->symbols[i]);
}

/* The venue's connector file (plugin.h's search) and what it is now. */
int live_connector_file(const live_venue *v, char *path, size_t cap, struct stat *st,
                        char *why, size_t whylen)
{
    const config *cfg = v->lv->cfg;
    const char *dirs[CONFIG_MAX_PLUGIN_PATHS];

    for (size_t i = 0; i < cfg->nplugin_path; i++)
        dirs[i] = cfg->plugin_path[i];
    if (plugin_find(v->cv->connector, dirs, cfg->nplugin_path, path, cap, why, whylen) < 0)
        return -1;
    if (stat(path, st) != 0) {
        snprintf(why, whylen, "plugin %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* An instance of ph with the venue's configuration and the live services. */
plugin_instance *live_connector_instance(live_venue *v, plugin_handle *ph, char *why,
                                         size_t whylen)
{
    const config_venue *cv = v->cv;
    const char *conf[LIVE_CONF_MAX];
    char symbols[LIVE_SYMBOLS_MAX], max_age[32];
    size_t n = 0;
    plugin_live pl;

    live_join_symbols(cv, symbols, sizeof symbols);
    conf[n++] = "venue", conf[n++] = cv->name;
    conf[n++] = "rest_url", conf[n++] = cv->rest_url;
    conf[n++] = "ws_url", conf[n++] = cv->ws_url;
    conf[n++] = "symbols", conf[n++] = symbols;
    if (cv->ws_max_age_s > 0) {
        snprintf(max_age, sizeof max_age, "%.3f", cv->ws_max_age_s);
        conf[n++] = "ws_max_age_s", conf[n++] = max_age;
    }
    conf[n] = NULL;
    memset(&pl, 0, sizeof pl);
    pl.lp = v->lv->lp;
    pl.http = v->lv->http;
    pl.secrets = v->secrets;
    pl.clock = loop_clock;
    pl.on_exec = live_on_exec;
    pl.on_balance = live_on_balance;
    pl.on_state = live_on_state;
    pl.ud = v;
    pl.record = live_record;
    pl.record_ud = v->lv;
    pl.ws_spin_us = cv->ws_spin_us;
    return plugin_instance_create_live(ph, v->lv->reg, conf, live_on_event, v, &pl, why, whylen);
}

/* The venue's connector, loaded from a private copy of its file: the
 * running image is safe from the file being overwritten, and a reload of
 * the same path gets a new image (plugin_load_fresh). */
static int live_connector(live_venue *v, char *err, size_t errlen)
{
    char path[1024], why[1024];
    struct stat st;

    if (live_connector_file(v, path, sizeof path, &st, why, sizeof why) < 0 ||
        !(v->ph = plugin_load_fresh(path, why, sizeof why))) {
        snprintf(err, errlen, "venues.%s.connector: %s", v->cv->name, why);
        return -1;
    }
    v->file = st;
    v->state = LUTRA_FEED_CONNECTING;
    if (!(v->held = order_hold_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    log_write(LOG_INFO, "run", "connector venue=%s name=%s version=%s path=%s", v->cv->name,
              plugin_table(v->ph)->name, plugin_table(v->ph)->version, path);
    if (!(v->pi = live_connector_instance(v, v->ph, why, sizeof why))) {
        snprintf(err, errlen, "venues.%s: %s", v->cv->name, why);
        return -1;
    }
    return 0;
}

/* The state store and the engine's journal over it; the default sync is
 * full for live money, none for paper. */
static int live_store(live *lv, char *err, size_t errlen)
{
    const config *cfg = lv->cfg;
    int paper = !strcmp(cfg->mode, "paper");
    state_options so;
    char why[512];

    memset(&so, 0, sizeof so);
    so.dir = cfg->state_dir;
    so.sync = !strcmp(cfg->state_sync, "none") || (!cfg->state_sync[0] && paper)
                  ? STATE_SYNC_NONE
                  : STATE_SYNC_FULL;
    so.writemap = cfg->state_writemap;
    if (!(lv->store = state_open(&so, why, sizeof why))) {
        snprintf(err, errlen, "state_dir: %s", why);
        return -1;
    }
    if (!(lv->journal = journal_new(lv->store, lv->reg)) ||
        !(lv->flush = loop_deferred_new(lv->lp, live_flush, lv, err, errlen))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* in_memory=yes: tmpfs, where no sync call is made (state.h). */
    log_write(LOG_INFO, "run",
              "state store dir=%s sync=%s in_memory=%s writemap=%s next_order=%" PRIu64,
              cfg->state_dir, so.sync == STATE_SYNC_FULL ? "full" : "none",
              state_in_memory(lv->store) ? "yes" : "no", so.writemap ? "yes" : "no",
              state_get_order_seq(lv->store));
    return 0;
}

static int live_engine_new(live *lv, char *err, size_t errlen)
{
    const config *cfg = lv->cfg;
    engine_config ec;

    memset(&ec, 0, sizeof ec);
    ec.mode = cfg->mode;
    ec.oms.margin = cfg->margin;
    ec.oms.leverage = cfg->leverage;
    ec.oms.taker_fee_bps = cfg->fee_taker_bps >= 0 ? cfg->fee_taker_bps : 0;
    ec.risk = cfg->risk;
    ec.lib_path = lv->opt.lib_path;
    ec.cancel_on_stop = cfg->cancel_on_stop;
    ec.handler_timeout_ms = (int)cfg->handler_timeout_ms;
    /* Client order ids go on from the store's: never one used twice. */
    if (!lv->opt.market_only && live_store(lv, err, errlen) < 0)
        return -1;
    ec.oms.id_start = lv->store ? state_get_order_seq(lv->store) : 0;
    if (!(lv->eng = engine_new(&ec, lv->reg, err, errlen)))
        return -1;
    engine_set_clock(lv->eng, loop_clock, NULL);
    if (lv->journal)
        engine_set_journal(lv->eng, lv->journal, live_flush_soon, lv);
    return 0;
}

static int live_strategies(live *lv, char *err, size_t errlen)
{
    const config *cfg = lv->cfg;
    char why[4096];

    for (size_t i = 0; i < cfg->nstrategies; i++) {
        const config_strategy *cs = &cfg->strategies[i];
        strategy_config sc;

        memset(&sc, 0, sizeof sc);
        sc.name = cs->name[0] ? cs->name : NULL;
        sc.path = cs->script;
        sc.lib_path = lv->opt.lib_path;
        sc.params = cs->params;
        sc.nparams = cs->nparams;
        sc.handler_timeout_ms = (int)cfg->handler_timeout_ms;
        if (engine_add_strategy(lv->eng, &sc, why, sizeof why) < 0) {
            snprintf(err, errlen, "strategies[%zu] (%s): %s", i + 1, cs->script, why);
            return -1;
        }
    }
    return 0;
}

static int live_signals(live *lv, char *err, size_t errlen)
{
    const int signos[] = {SIGINT, SIGTERM, SIGHUP};

    for (size_t i = 0; i < 3; i++)
        if (!(lv->signals[i] =
                  loop_signal_add(lv->lp, signos[i], live_on_signal, lv, err, errlen)))
            return -1;
    return 0;
}

static int live_build(live *lv, char *err, size_t errlen)
{
    const config *cfg = lv->cfg;

    if (strcmp(cfg->mode, "live") != 0 && strcmp(cfg->mode, "paper") != 0) {
        snprintf(err, errlen, "mode: want \"live\" or \"paper\", got \"%s\"", cfg->mode);
        return -1;
    }
    if (cfg->nvenues == 0) {
        snprintf(err, errlen, "venues: want at least one venue");
        return -1;
    }
    /* Every secret before anything connects. */
    for (size_t i = 0; i < cfg->nvenues; i++) {
        lv->venues[i].lv = lv;
        lv->venues[i].cv = &cfg->venues[i];
        lv->nvenues++;
        if (!lv->opt.market_only && live_secrets(&lv->venues[i], err, errlen) < 0)
            return -1;
    }
    if (!(lv->lp = loop_new(err, errlen)) ||
        !(lv->http = http_new(loop_base(lv->lp), NULL, err, errlen)))
        return -1;
    lv->reg = lv->opt.reg;
    if (!lv->reg) {
        lv->own_reg = 1;
        if (!(lv->reg = instrument_registry_new())) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (live_engine_new(lv, err, errlen) < 0)
        return -1;
    if (!strcmp(cfg->mode, "paper") && !lv->opt.market_only) {
        if (live_paper(lv, err, errlen) < 0)
            return -1;
    } else {
        engine_set_venue(lv->eng, &live_venue_ops, lv);
    }
    for (size_t i = 0; i < lv->nvenues; i++)
        if (live_connector(&lv->venues[i], err, errlen) < 0)
            return -1;
    if (!lv->opt.market_only && live_strategies(lv, err, errlen) < 0)
        return -1;
    if (live_ctl_start(lv, err, errlen) < 0)
        return -1;
    live_watch_scripts(lv);
    return lv->opt.no_signals ? 0 : live_signals(lv, err, errlen);
}

live *live_new(const config *cfg, const live_options *opt, char *err, size_t errlen)
{
    live *lv = calloc(1, sizeof *lv);

    if (!lv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* A copy of its own, so that a reload can change the live keys. */
    if (!(lv->running = malloc(sizeof *lv->running))) {
        snprintf(err, errlen, "out of memory");
        free(lv);
        return NULL;
    }
    *lv->running = *cfg;
    lv->cfg = lv->running;
    if (opt)
        lv->opt = *opt;
    if (live_build(lv, err, errlen) < 0) {
        live_free(lv);
        return NULL;
    }
    return lv;
}

/* ---- Running ---- */

int live_run(live *lv, char *err, size_t errlen)
{
    /* Strategies start once every venue is ready and reconciled with the
     * store (live_start_strategies); until then they hear nothing. */
    for (size_t i = 0; i < lv->nvenues; i++)
        engine_set_venue_state(lv->eng, lv->venues[i].cv->name, LUTRA_FEED_CONNECTING, "starting");
    for (size_t i = 0; i < lv->nvenues; i++)
        if (plugin_instance_start(lv->venues[i].pi, err, errlen) < 0)
            return -1;
    log_write(LOG_INFO, "run", "started mode=%s venues=%zu strategies=%zu",
              lv->cfg->mode, lv->nvenues, engine_strategy_count(lv->eng));
    live_arm(lv);
    if (loop_run(lv->lp, err, errlen) < 0)
        return -1;
    /* What the last turn wrote (on_stop's state, the last cancels). */
    engine_flush(lv->eng);
    if (lv->done)
        live_stop_connectors(lv);
    if (lv->aborted) {
        snprintf(err, errlen, "%s",
                 lv->failure[0] ? lv->failure : "stopped at once by a second signal");
        return -1;
    }
    return 0;
}

loop *live_loop(live *lv)
{
    return lv->lp;
}

engine *live_engine(live *lv)
{
    return lv->eng;
}

void live_free(live *lv)
{
    if (!lv)
        return;
    ctl_server_free(lv->ctl);
    for (size_t i = 0; i < lv->nvenues; i++) {
        reconcile_free(lv->venues[i].rec);
        if (lv->venues[i].swap_deadline)
            loop_timer_cancel(lv->venues[i].swap_deadline);
        order_hold_free(lv->venues[i].held);
        if (lv->venues[i].pi)
            plugin_instance_destroy(lv->venues[i].pi);
        if (lv->venues[i].ph)
            plugin_unload(lv->venues[i].ph);
        secret_store_free(lv->venues[i].secrets);
    }
    for (size_t i = 0; i < 3; i++)
        if (lv->signals[i])
            loop_signal_remove(lv->signals[i]);
    watch_free(lv->watch);
    if (lv->wake)
        loop_timer_cancel(lv->wake);
    if (lv->grace)
        loop_timer_cancel(lv->grace);
    if (lv->sim)
        sim_free(lv->sim);
    if (lv->eng)
        engine_free(lv->eng);
    loop_deferred_free(lv->flush);
    journal_free(lv->journal);
    state_close(lv->store);
    if (lv->http)
        http_free(lv->http);
    if (lv->lp)
        loop_free(lv->lp);
    if (lv->own_reg)
        instrument_registry_free(lv->reg);
    free(lv->running);
    free(lv);
}
