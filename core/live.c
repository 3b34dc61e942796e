/*
 * live.c -- the live driver (live.h): connectors and the engine on one loop.
 *
 * Everything runs on the loop's thread. After anything that may have given
 * the engine or the simulated venue something to do later (an event, a
 * report, a timer, an order), live_arm sets the one wake-up timer at the
 * earliest of engine_next_timer and sim_next_time; it is re-added only when
 * that time changes, so a quiet market costs no timer churn.
 */
#include "live.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "../backtest/venue_sim.h"
#include "ctl.h"
#include "http.h"
#include "journal.h"
#include "log.h"
#include "money.h"
#include "order_hold.h"
#include "plugin.h"
#include "reconcile.h"
#include "secret.h"
#include "state.h"
#include "watch.h"

#define LIVE_DEFAULT_GRACE_MS 2000
#define LIVE_SYMBOLS_MAX (CONFIG_MAX_SYMBOLS * 32)
#define LIVE_CONF_MAX 16
#define NS_PER_MS INT64_C(1000000)
#define LIVE_WATCH_QUIET_MS 100

/* Where a venue's connector reload stands. */
enum live_reload_phase {
    RELOAD_NONE = 0,
    RELOAD_CONNECTING,  /* the new connector is not ready yet */
    RELOAD_RECONCILING  /* it is; the venue is being reconciled */
};

typedef struct live_venue {
    live *lv;
    const config_venue *cv;
    secret_store *secrets;
    plugin_handle *ph;
    plugin_instance *pi;
    int restored;                 /* its records are back in the engine (first READY) */
    int reconciled;               /* ... and agree with the venue's */
    reconcile *rec;               /* live mode: the restart's reconciliation */
    int lost;                     /* disconnected since the last reconciliation */
    int state;                    /* what its connector said last (enum lutra_feed_state) */
    char state_reason[256];
    struct stat file;             /* its .so as last loaded or tried: SIGHUP reloads it
                                   * when it changes */
    /* A connector reload (see "Hot reload: connectors"). */
    int reloading;                /* enum live_reload_phase */
    int muted;                    /* the engine does not hear its states yet */
    int holding;                  /* orders wait in held */
    int rec_wanted;               /* reconcile once it is ready */
    order_hold *held;
    loop_timer *swap_deadline;
} live_venue;

struct live {
    const config *cfg;            /* = running: what the driver runs with */
    config *running;              /* its own copy, which a reload changes */
    watch *watch;                 /* strategy files; NULL: not watched */
    live_options opt;
    loop *lp;
    http_client *http;
    instrument_registry *reg;
    int own_reg;
    engine *eng;
    sim_venue *sim;               /* paper mode */
    live_venue venues[CONFIG_MAX_VENUES];
    size_t nvenues;
    loop_timer *wake;
    int64_t wake_at;
    loop_timer *grace;
    loop_signal *signals[3];
    state_store *store;           /* NULL: market data only */
    journal *journal;
    loop_deferred *flush;         /* the engine's group commit, once per loop turn */
    ctl_server *ctl;              /* the control socket (lutra ctl) */
    int stopping, done, aborted;
    /* The latest receive time a connector reported (live_record). */
    int64_t recv_floor;
    /* Paper: the engine's and the venue's clock, when the venue or a timer
     * last acted, and the messages that came too late to replay as they ran
     * (see "Paper time"). */
    int64_t now, acted_at;
    uint64_t late;
    char failure[1280];           /* why the run ended on its own */
};

static void live_finish(live *lv);

/* Connector reload (see "Hot reload: connectors"). */
static int live_hold(live_venue *v, order_hold_kind kind, const order *o, int64_t now);
static int live_swap_on_state(live_venue *v, int state);
static void live_swap_listed(live_venue *v);
static int live_swap_owe(live_venue *v, const order *o);
static void live_swap_acked(live_venue *v, const char *order_id);
static void live_swap_acked_id(live *lv, const char *order_id);
static void live_reload_changed_plugins(live *lv);
static int live_connector_file(const live_venue *v, char *path, size_t cap, struct stat *st,
                               char *why, size_t whylen);
static plugin_instance *live_connector_instance(live_venue *v, plugin_handle *ph, char *why,
                                                size_t whylen);

/* ---- Paper time ---- */

/*
 * Paper mode runs the engine and the simulated venue on the clock a
 * backtest of the session's recording (lutra run --record) runs them on, so
 * that the replay decides what the session decided. During a market message
 * the clock is the message's receive time, the one recorded. The venue's
 * work (arrivals, reports) and the strategies' timers happen at their own
 * due times, in the backtest's order: before the first message received
 * after them; at equal times the market data first, then the venue, then
 * the timers. What falls due while no message comes is done by the wake-up
 * timer once the wall clock is LIVE_PAPER_GUARD_NS past it, so that a frame
 * received before that time (stamped on the WebSocket thread) but not yet
 * handed to this one still comes first.
 */
#define LIVE_PAPER_GUARD_NS (50 * NS_PER_MS)

static int64_t paper_clock(void *ud)
{
    return ((live *)ud)->now;
}

/* Everything the venue and the timers have due at or before `until`. */
static void paper_run_until(live *lv, int64_t until)
{
    for (;;) {
        int64_t venue = sim_next_time(lv->sim), timer = engine_next_timer(lv->eng);

        if (venue > until && timer > until)
            return;
        lv->now = lv->acted_at = venue <= timer ? venue : timer;
        if (venue <= timer)
            sim_advance(lv->sim, venue);
        else
            engine_run_timers(lv->eng, timer);
        /* What that step wrote is committed, sent and told before the next
         * step, as a backtest (which has no batch) would do it. */
        engine_flush(lv->eng);
    }
}

/*
 * A market record, before the books see it: its time is never before the
 * latest receive time (see live_record); what fell due before it is done.
 * A record older than something the venue or a timer already did cannot
 * replay the way it ran here (its thread was held up past the guard): it is
 * counted, the first one said, and the clock does not go back for it.
 * @return the record to handle: ev, or its copy in *later with that time.
 */
static const lutra_event *paper_on_market(live *lv, const lutra_event *ev, lutra_event *later)
{
    if (ev->h.ts_recv < lv->recv_floor) {
        memcpy(later, ev, ev->h.size < sizeof *later ? ev->h.size : sizeof *later);
        later->h.ts_recv = lv->recv_floor;
        ev = later;
    }
    paper_run_until(lv, ev->h.ts_recv - 1);
    if (ev->h.ts_recv <= lv->acted_at && lv->late++ == 0)
        log_write(LOG_WARN, "run",
                  "a market message came after the paper clock had passed it: a replay of "
                  "this session can differ from it recv_ns=%" PRId64 " clock_ns=%" PRId64,
                  ev->h.ts_recv, lv->now);
    if (ev->h.ts_recv > lv->now)
        lv->now = ev->h.ts_recv;
    return ev;
}

/* ---- The wake-up timer ---- */

static void live_arm(live *lv);

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
        paper_run_until(lv, now - LIVE_PAPER_GUARD_NS);
    else
        engine_run_timers(lv->eng, now);
    live_arm(lv);
    live_check_stopped(lv);
}

static void live_arm(live *lv)
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
    live_arm(lv);
    live_check_stopped(lv);
}

static void live_flush_soon(void *ud)
{
    live *lv = ud;
    if (lv->flush)
        loop_deferred_schedule(lv->flush);
}

/* ---- Orders to a connector (mode live) ---- */

static live_venue *live_route(live *lv, uint32_t instrument)
{
    const lutra_instrument *in = instrument_registry_get(lv->reg, instrument);

    for (size_t i = 0; in && i < lv->nvenues; i++)
        if (!strcmp(lv->venues[i].cv->name, in->venue))
            return &lv->venues[i];
    return lv->nvenues == 1 ? &lv->venues[0] : NULL;
}

static void live_to_lutra_order(const order *o, lutra_order *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", o->id);
    out->side = (uint8_t)o->req.side;
    out->type = (uint8_t)o->req.type;
    out->tif = (uint8_t)o->req.tif;
    out->instrument = o->req.instrument;
    out->price = o->req.price;
    out->stop_price = o->req.stop_price;
    out->qty = o->req.qty;
    snprintf(out->venue_order_id, sizeof out->venue_order_id, "%s", o->venue_order_id);
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

static void live_reject_later(live *lv, const order *o, int64_t now, const char *why)
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
static int live_send_submit(live_venue *v, const order *o, int64_t now)
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

static int live_send_cancel(live_venue *v, const order *o)
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

/* ---- Orders to the simulated venue (mode paper) ---- */

static int paper_submit(void *venue, const order *o, int64_t now)
{
    live *lv = venue;
    int rc = sim_venue_ops.submit(lv->sim, o, now);
    live_arm(lv);
    return rc;
}

static int paper_cancel(void *venue, const order *o, int64_t now)
{
    live *lv = venue;
    int rc = sim_venue_ops.cancel(lv->sim, o, now);
    live_arm(lv);
    return rc;
}

static const venue_ops paper_venue_ops = {paper_submit, paper_cancel};

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

/* The books first; in paper mode the simulated venue sees a whole message
 * before the strategies do, as in a backtest. */
static int live_on_event(void *ud, const lutra_event *ev)
{
    live_venue *v = ud;
    live *lv = v->lv;
    lutra_event later;
    int rc;

    if (lv->sim)
        ev = paper_on_market(lv, ev, &later);
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
    if (x->kind == LUTRA_EXEC_CANCEL_REJECTED) {
        log_write(LOG_WARN, "run", "cancel refused venue=%s order=%s reason=\"%s\"",
                  v->cv->name, x->order_id, x->reason);
        return 0;
    }
    /* The kinds below share the engine's values (lutra_order.h). */
    memset(&rep, 0, sizeof rep);
    rep.kind = (exec_kind)x->kind;
    snprintf(rep.order_id, sizeof rep.order_id, "%s", x->order_id);
    rep.ts = x->ts;
    rep.price = x->price;
    rep.qty = x->qty;
    rep.fee = x->fee;
    snprintf(rep.fee_asset, sizeof rep.fee_asset, "%s", x->fee_asset);
    rep.liquidity = x->liquidity == LUTRA_LIQ_MAKER ? ORDER_MAKER : ORDER_TAKER;
    snprintf(rep.venue_order_id, sizeof rep.venue_order_id, "%s", x->venue_order_id);
    snprintf(rep.reason, sizeof rep.reason, "%s", x->reason);
    snprintf(rep.trade_id, sizeof rep.trade_id, "%s", x->trade_id);
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

static const char *live_state_name(int state)
{
    switch (state) {
    case LUTRA_FEED_CONNECTING: return "connecting";
    case LUTRA_FEED_SYNCING: return "syncing";
    case LUTRA_FEED_READY: return "ready";
    default: return "disconnected";
    }
}

static void live_venue_restore(live_venue *v);

static void live_on_state(void *ud, int state, const char *reason)
{
    live_venue *v = ud;
    live *lv = v->lv;

    v->state = state;
    snprintf(v->state_reason, sizeof v->state_reason, "%s", reason ? reason : "");
    log_write(state == LUTRA_FEED_DISCONNECTED ? LOG_WARN : LOG_INFO, "run",
              "venue state venue=%s state=%s reason=\"%s\"", v->cv->name, live_state_name(state),
              reason ? reason : "");
    if (live_swap_on_state(v, state)) {
        live_arm(lv);
        return;
    }
    engine_set_venue_state(lv->eng, v->cv->name, state, reason);
    /* Syncing: its instruments are known (the books are not yet), so its
     * records can come back and the reconciliation begin; strategies then
     * start before the first book, as in a backtest. */
    if ((state == LUTRA_FEED_SYNCING || state == LUTRA_FEED_READY) && !v->restored &&
        lv->journal)
        live_venue_restore(v);
    /* Back after a disconnect: what the venue did meanwhile (fills missed
     * by the user stream, orders whose answer was lost) is reconciled. */
    if (state == LUTRA_FEED_DISCONNECTED)
        v->lost = 1;
    else if (state == LUTRA_FEED_READY && v->lost && v->rec) {
        v->lost = 0;
        v->reconciled = 0;
        reconcile_again(v->rec);
    }
    live_arm(lv);
}

/* ---- A restart: restore, reconcile, then start the strategies ---- */

/* Strategies start once every venue agrees with the store; they hear the
 * venues' states then, and what the reconciliation changed. */
static void live_start_strategies(live *lv)
{
    const char *name, *why;

    for (size_t i = 0; i < lv->nvenues; i++)
        if (!lv->venues[i].reconciled)
            return;
    if (lv->opt.market_only || engine_started(lv->eng) || lv->stopping)
        return;
    log_write(LOG_INFO, "run", "starting strategies strategies=%zu",
              engine_strategy_count(lv->eng));
    if (engine_start(lv->eng) < 0 && engine_failure(lv->eng, &name, &why))
        log_write(LOG_ERROR, "run", "strategy=%s failed in on_start error=\"%s\"", name, why);
    for (size_t i = 0; i < lv->nvenues; i++)
        engine_set_venue_state(lv->eng, lv->venues[i].cv->name,
                               engine_venue_state(lv->eng, lv->venues[i].cv->name), "");
    live_flush_soon(lv);
}

static void live_venue_reconciled(void *ud)
{
    live_venue *v = ud;
    v->reconciled = 1;
    live_start_strategies(v->lv);
}

static int live_rec_balances(void *ud)
{
    live_venue *v = ud;
    return v->pi ? plugin_instance_query_balances(v->pi) : -1;
}

static int live_rec_orders(void *ud)
{
    live_venue *v = ud;
    return v->pi ? plugin_instance_query_orders(v->pi) : -1;
}

/* An order held during a connector reload is asked about once the venue
 * has answered it (live_swap_owe). */
static int live_rec_order(void *ud, const order *o)
{
    live_venue *v = ud;
    lutra_order lo;

    if (live_swap_owe(v, o))
        return 0;
    if (!v->pi)
        return -1;
    live_to_lutra_order(o, &lo);
    return plugin_instance_query_order(v->pi, &lo);
}

static const reconcile_venue_ops live_reconcile_ops = {live_rec_balances, live_rec_orders,
                                                        live_rec_order};

/* Paper: the simulated venue's book queue is gone with the process, so the
 * orders it held cannot be found again; they end cancelled, said why. */
static void live_paper_orders_gone(live *lv, const char *venue)
{
    order *open[1024];
    size_t n = oms_open_orders(engine_oms(lv->eng), -1, open, 1024);

    for (size_t i = 0; i < n && i < 1024; i++) {
        const lutra_instrument *in = instrument_registry_get(lv->reg, open[i]->req.instrument);
        exec_report rep;
        if (!in || strcmp(in->venue, venue) != 0)
            continue;
        memset(&rep, 0, sizeof rep);
        rep.kind = EXEC_CANCELED;
        rep.ts = loop_now_ns();
        snprintf(rep.order_id, sizeof rep.order_id, "%s", open[i]->id);
        snprintf(rep.reason, sizeof rep.reason,
                 "paper: the simulated venue does not survive a restart");
        engine_on_exec(lv->eng, &rep);
    }
}

/* A restore that fails (an order of a symbol no longer configured) ends
 * the run: trading on a partial picture is what the store exists to
 * prevent. */
static void live_fail(live *lv, const char *why)
{
    snprintf(lv->failure, sizeof lv->failure, "%s", why);
    log_write(LOG_ERROR, "run", "%s", why);
    lv->aborted = 1;
    loop_break(lv->lp);
}

/* The venue's first SYNCING or READY: its instruments are known, so its
 * records can come back from the store; then it is reconciled. */
static void live_venue_restore(live_venue *v)
{
    live *lv = v->lv;
    journal_restored got;
    char err[512], why[1200];

    v->restored = 1;
    if (engine_restore_venue(lv->eng, v->cv->name, &got, err, sizeof err) < 0) {
        snprintf(why, sizeof why, "venue %s: cannot restore its state from %s: %s",
                 v->cv->name, lv->cfg->state_dir, err);
        live_fail(lv, why);
        return;
    }
    log_write(LOG_INFO, "run", "restored venue=%s open_orders=%zu positions=%zu balances=%zu",
              v->cv->name, got.open_orders, got.positions, got.balances);
    if (lv->sim) {
        live_paper_orders_gone(lv, v->cv->name);
        live_venue_reconciled(v);
        return;
    }
    if (!(v->rec = reconcile_new(lv->eng, lv->lp, v->cv->name, &live_reconcile_ops, v,
                                 live_venue_reconciled))) {
        live_fail(lv, "out of memory");
        return;
    }
    reconcile_set_adopt(v->rec, v->cv->adopt_orders);
    reconcile_start(v->rec);
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

static void live_on_hup(live *lv);

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

/* ---- Hot reload: strategies and the configuration ---- */

/* Reload strategy index (engine_reload_strategy), between events. */
static int live_reload_index(live *lv, size_t index, const strategy_config *sc, char *err,
                             size_t errlen)
{
    if (lv->stopping) {
        snprintf(err, errlen, "the host is stopping");
        return -1;
    }
    if (engine_reload_strategy(lv->eng, index, sc, err, errlen) < 0)
        return -1;
    /* The old instance's timers are gone and the new one's set; what its
     * on_reload sent waits for the group commit. */
    live_arm(lv);
    live_flush_soon(lv);
    return 0;
}

/* Reload strategy index and say how it went. */
static int live_reload_said(live *lv, size_t index, const strategy_config *sc, char *err,
                            size_t errlen)
{
    const char *name = strategy_name(engine_strategy_at(lv->eng, index));
    char why[4096];

    if (live_reload_index(lv, index, sc, why, sizeof why) == 0)
        return 0;
    log_write(LOG_ERROR, "run", "strategy reload failed: the running version stays "
              "strategy=%s error=\"%s\"", name, why);
    snprintf(err, errlen, "%s", why);
    return -1;
}

int live_reload_strategy(live *lv, const char *name, char *err, size_t errlen)
{
    int index = engine_strategy_find(lv->eng, name);

    if (index < 0) {
        snprintf(err, errlen, "no strategy named '%s'", name);
        return -1;
    }
    return live_reload_said(lv, (size_t)index, NULL, err, errlen);
}

/* A watched file changed (and has been quiet since): every strategy
 * running it is reloaded. */
static void live_on_file_change(void *ud, const char *path)
{
    live *lv = ud;
    char err[4096];

    for (size_t i = 0; i < engine_strategy_count(lv->eng); i++) {
        const char *script = engine_strategy_path(lv->eng, i);
        if (!script || strcmp(script, path) != 0)
            continue;
        log_write(LOG_INFO, "run", "strategy file changed strategy=%s script=%s",
                  strategy_name(engine_strategy_at(lv->eng, i)), path);
        live_reload_said(lv, i, NULL, err, sizeof err);
    }
}

/* Watch a strategy's file. Not watching is not fatal: the strategy runs,
 * and reloads by SIGHUP or by name. */
static void live_watch_script(live *lv, const char *path)
{
    char err[1024];

    if (lv->watch && watch_add(lv->watch, path, err, sizeof err) < 0)
        log_write(LOG_WARN, "run", "strategy file not watched: reload it by name or SIGHUP "
                  "error=\"%s\"", err);
}

static void live_watch_scripts(live *lv)
{
    int64_t quiet = lv->opt.watch_quiet_ms > 0 ? lv->opt.watch_quiet_ms : LIVE_WATCH_QUIET_MS;
    char err[1024];

    if (lv->opt.no_watch || lv->opt.market_only)
        return;
    if (!(lv->watch = watch_new(lv->lp, quiet * NS_PER_MS, live_on_file_change, lv, err,
                                sizeof err))) {
        log_write(LOG_WARN, "run", "strategy files not watched: reload them by name or SIGHUP "
                  "error=\"%s\"", err);
        return;
    }
    for (size_t i = 0; i < engine_strategy_count(lv->eng); i++)
        live_watch_script(lv, engine_strategy_path(lv->eng, i));
}

/* What a configuration reload could not apply, "; "-separated. */
typedef struct live_changes {
    char text[2048];
    size_t len;
    size_t count;
} live_changes;

static void live_changes_add(live_changes *ch, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void live_changes_add(live_changes *ch, const char *fmt, ...)
{
    va_list ap;

    if (ch->count++ && ch->len < sizeof ch->text)
        ch->len += (size_t)snprintf(ch->text + ch->len, sizeof ch->text - ch->len, "; ");
    if (ch->len >= sizeof ch->text)
        return;
    va_start(ap, fmt);
    ch->len += (size_t)vsnprintf(ch->text + ch->len, sizeof ch->text - ch->len, fmt, ap);
    va_end(ap);
}

static void live_on_config_change(void *ud, const char *key, int applies)
{
    if (applies) {
        log_write(LOG_INFO, "run", "configuration changed key=%s", key);
        return;
    }
    log_write(LOG_WARN, "run", "configuration change not applied: it needs a restart key=%s",
              key);
    live_changes_add(ud, "%s: needs a restart", key);
}

/* A strategy of the running configuration against its entry in the file
 * read again (NULL: removed, said already): reloaded when its script or
 * params changed, or when all; the new script and params are kept only
 * when the reload took over. */
static void live_reconfigure_strategy(live *lv, config_strategy *cur,
                                      const config_strategy *next, int all, live_changes *ch)
{
    int index = engine_strategy_find(lv->eng, cur->name);
    strategy_config sc;
    char why[4096];

    if (index < 0 || !next || (!all && config_strategy_same_code(cur, next)))
        return;
    memset(&sc, 0, sizeof sc);
    sc.path = next->script;
    sc.params = next->params;
    sc.nparams = next->nparams;
    if (live_reload_said(lv, (size_t)index, &sc, why, sizeof why) < 0) {
        live_changes_add(ch, "strategies.%s: %s", cur->name, why);
        return;
    }
    if (next == cur)
        return;
    if (strcmp(cur->script, next->script))
        live_watch_script(lv, next->script);
    memcpy(cur->script, next->script, sizeof cur->script);
    memcpy(cur->params, next->params, sizeof cur->params);
    cur->nparams = next->nparams;
}

/* Take what applies of next at once (risk limits, cancel_on_stop, the log
 * level, strategies' scripts and params); name the rest in err.
 * @return 0 when all of it applied, else 1. */
static int live_apply_config(live *lv, const config *next, int all, char *err, size_t errlen)
{
    config *run = lv->running;
    live_changes ch;

    memset(&ch, 0, sizeof ch);
    config_compare(run, next, live_on_config_change, &ch);
    config_apply_live(run, next);
    risk_set_limits(engine_risk(lv->eng), &run->risk);
    engine_set_cancel_on_stop(lv->eng, run->cancel_on_stop);
    if (log_level_parse(run->log_level) >= 0)
        log_set_level(log_level_parse(run->log_level));
    for (size_t i = 0; i < run->nstrategies; i++)
        live_reconfigure_strategy(lv, &run->strategies[i],
                                  config_find_strategy(next, run->strategies[i].name), all, &ch);
    snprintf(err, errlen, "%s", ch.text);
    return ch.count ? 1 : 0;
}

/* Read the file again and apply it; every strategy is reloaded when all.
 * Without a file, all reloads the strategies as they are. */
static int live_reconfigure(live *lv, int all, char *err, size_t errlen)
{
    char why[2048];
    config *next;
    int rc;

    if (!lv->opt.config_path && all)
        return live_apply_config(lv, lv->running, 1, err, errlen);
    if (!lv->opt.config_path) {
        snprintf(err, errlen, "no configuration file to read again");
        return -1;
    }
    if (!(next = malloc(sizeof *next))) {
        snprintf(err, errlen, "out of memory: nothing changed");
        return -1;
    }
    rc = config_load(lv->opt.config_path, next, why, sizeof why);
    if (rc < 0)
        snprintf(err, errlen, "%s: nothing changed", why);
    else
        rc = live_apply_config(lv, next, all, err, errlen);
    free(next);
    return rc;
}

int live_reload_config(live *lv, char *err, size_t errlen)
{
    return live_reconfigure(lv, 0, err, errlen);
}

/* SIGHUP: the configuration, then every strategy. */
static void live_on_hup(live *lv)
{
    char err[2048];
    int rc;

    log_write(LOG_INFO, "run", "SIGHUP: reading the configuration again and reloading every "
              "strategy config=%s", lv->opt.config_path ? lv->opt.config_path : "");
    rc = live_reconfigure(lv, 1, err, sizeof err);
    if (rc < 0)
        log_write(LOG_ERROR, "run", "reload refused error=\"%s\"", err);
    else if (rc > 0)
        log_write(LOG_WARN, "run", "reload done in part not_applied=\"%s\"", err);
    else
        log_write(LOG_INFO, "run", "reload done");
    live_reload_changed_plugins(lv);
}

/* ---- Hot reload: connectors ----
 *
 * live_reload_plugin loads the venue's .so again from a private copy (a
 * new image: plugin_load_fresh), whose table must pass the ABI checks and
 * be a connector; anything wrong so far changes nothing. Then the swap:
 * the old instance is destroyed (its timers, requests and WebSockets
 * cancelled), a new one is made with the same configuration and started;
 * if it will not start, the old image, still loaded, gets a new instance
 * instead. The old image is dlclosed once nothing of it is left (plugin.h).
 *
 * The new instance reconnects from nothing; strategies do not see that as
 * a disconnection:
 *   - muted: when the venue was ready, the new connector's connecting and
 *     syncing are not told to the engine, which keeps taking orders;
 *   - holding: those orders (submits and cancels) wait in v->held
 *     (order_hold.h), LIVE_RELOAD_WAIT_MS at most; then the submits are
 *     rejected, the venue's real state told, and the cancels wait on for
 *     the connector;
 *   - once the new connector is ready, the venue is reconciled as after a
 *     restart (core/reconcile.h), which finds what happened while nobody
 *     listened: fills, cancels, the answer to a request the old instance
 *     had in flight. The held orders go out once the venue's list of open
 *     orders is in. The reconciliation asks about each of them (the list
 *     could not name them); the venue's first report of the order itself
 *     (accepted, or refused) answers it: a question sent to the venue
 *     could overtake the order.
 * Market data resumes with the new connector's book snapshot.
 */

#define LIVE_RELOAD_WAIT_MS 5000

static live_venue *live_venue_named(live *lv, const char *name)
{
    for (size_t i = 0; i < lv->nvenues; i++)
        if (!strcmp(lv->venues[i].cv->name, name))
            return &lv->venues[i];
    return NULL;
}

static const char *live_connector_version(const live_venue *v)
{
    return v->ph ? plugin_table(v->ph)->version : "";
}

/* Tell the engine the connector's state, held back while muted. */
static void live_unmute(live_venue *v)
{
    if (!v->muted)
        return;
    v->muted = 0;
    engine_set_venue_state(v->lv->eng, v->cv->name, v->state, v->state_reason);
}

/* A released order goes out through the new connector (order_hold_fn). */
static void live_hold_send(void *ud, order_hold_kind kind, const char *order_id)
{
    live_venue *v = ud;
    order *o = oms_find(engine_oms(v->lv->eng), order_id);

    if (!o || !order_status_is_open(o->status))
        return;
    if (kind == ORDER_HOLD_SUBMIT)
        live_send_submit(v, o, engine_now(v->lv->eng));
    else
        live_send_cancel(v, o);
}

/* The wait is over: a held order is refused (order_hold_fn). */
static void live_hold_refuse(void *ud, order_hold_kind kind, const char *order_id)
{
    live_venue *v = ud;
    order *o = oms_find(engine_oms(v->lv->eng), order_id);
    char why[ORDER_REASON_MAX];

    if (!o || !order_status_is_open(o->status))
        return;
    if (kind == ORDER_HOLD_CANCEL) {
        log_write(LOG_WARN, "run", "cancel not sent: the connector reload did not finish in "
                  "time venue=%s order=%s", v->cv->name, order_id);
        return;
    }
    snprintf(why, sizeof why, "venue %s: its connector reload did not finish within %d ms",
             v->cv->name, LIVE_RELOAD_WAIT_MS);
    live_reject_later(v->lv, o, engine_now(v->lv->eng), why);
}

static int live_hold(live_venue *v, order_hold_kind kind, const order *o, int64_t now)
{
    if (order_hold_add(v->held, kind, o->id) == 0) {
        log_write(LOG_INFO, "run", "%s waits for the reloaded connector venue=%s order=%s",
                  kind == ORDER_HOLD_SUBMIT ? "order" : "cancel", v->cv->name, o->id);
        return 0;
    }
    if (kind == ORDER_HOLD_SUBMIT)
        live_reject_later(v->lv, o, now, "out of memory holding it during a connector reload");
    else
        log_write(LOG_WARN, "run", "cancel not sent order=%s", o->id);
    return -1;
}

/* Send what is held now (the venue's list of open orders is in). */
static void live_hold_release(live_venue *v)
{
    v->holding = 0;
    if (order_hold_count(v->held))
        log_write(LOG_INFO, "run", "held orders go out venue=%s count=%zu", v->cv->name,
                  order_hold_count(v->held));
    order_hold_release(v->held, live_hold_send, v);
}

/* The end of the wait: the engine hears the connector's state again, and
 * held orders go out. Expired (the connector is not ready): submits are
 * refused, new orders no longer wait, and cancels keep waiting for the
 * connector (a cancel not sent would leave its order pending_cancel for
 * good: the OMS takes one cancel per order). */
static void live_swap_wait_end(live_venue *v, int expired)
{
    if (v->swap_deadline)
        loop_timer_cancel(v->swap_deadline);
    v->swap_deadline = NULL;
    if (expired) {
        v->holding = 0;
        order_hold_drop(v->held, ORDER_HOLD_SUBMIT, live_hold_refuse, v);
    } else {
        live_hold_release(v);
    }
    live_unmute(v);
    live_arm(v->lv);
}

static void live_swap_expired(loop_timer *t, void *ud)
{
    live_venue *v = ud;
    (void)t;

    v->swap_deadline = NULL; /* a one-shot: the loop frees it */
    log_write(LOG_WARN, "run", "connector reload: the venue was not back within %d ms: held "
              "orders refused venue=%s state=%s", LIVE_RELOAD_WAIT_MS, v->cv->name,
              live_state_name(v->state));
    live_swap_wait_end(v, 1);
}

/* The swap's wait is bounded: LIVE_RELOAD_WAIT_MS from its start.
 * @return 0, or -1 (logged) when no timer can be had: then nothing waits. */
static int live_swap_arm(live_venue *v)
{
    char err[256];

    if (v->swap_deadline)
        return 0;
    v->swap_deadline = loop_timer_add(v->lv->lp, LIVE_RELOAD_WAIT_MS * NS_PER_MS, 0,
                                      live_swap_expired, v, err, sizeof err);
    if (v->swap_deadline)
        return 0;
    log_write(LOG_ERROR, "run", "connector reload: nothing can wait for it error=\"%s\"", err);
    return -1;
}

/* Orders wait from now on. Live order entry only: paper orders go to the
 * simulated venue. */
static void live_swap_hold(live_venue *v)
{
    if (!v->lv->sim && !v->lv->opt.market_only && !v->holding && live_swap_arm(v) == 0)
        v->holding = 1;
}

/* Reconciled (or nothing to reconcile): the reload is complete. */
static void live_swap_done(live_venue *v)
{
    live_swap_wait_end(v, 0);
    v->reloading = RELOAD_NONE;
    order_hold_clear(v->held);
    log_write(LOG_INFO, "run", "connector reload complete venue=%s version=%s", v->cv->name,
              live_connector_version(v));
}

/* Done, for the reload's reconciliation and for any later one of the same
 * reconcile (reconcile_again after a disconnect). */
static void live_swap_reconciled(void *ud)
{
    live_venue *v = ud;

    if (v->reloading == RELOAD_RECONCILING)
        live_swap_done(v);
    live_venue_reconciled(v);
}

/* The new connector is ready: reconcile the venue, orders waiting until
 * its open orders are listed. */
static void live_swap_ready(live_venue *v)
{
    live *lv = v->lv;

    if (!v->rec_wanted) {
        live_swap_done(v);
        return;
    }
    v->rec_wanted = 0;
    v->reloading = RELOAD_RECONCILING;
    live_swap_hold(v);
    reconcile_free(v->rec);
    v->rec = reconcile_new(lv->eng, lv->lp, v->cv->name, &live_reconcile_ops, v,
                           live_swap_reconciled);
    if (!v->rec) {
        log_write(LOG_ERROR, "run", "connector reload: out of memory: venue not reconciled "
                  "venue=%s", v->cv->name);
        live_swap_done(v);
        return;
    }
    reconcile_set_adopt(v->rec, v->cv->adopt_orders);
    reconcile_start(v->rec);
}

/* A state from the connector of a venue. @return 1 when the engine is not
 * to hear it (muted, or told already). */
static int live_swap_on_state(live_venue *v, int state)
{
    int muted = v->muted;

    if (state == LUTRA_FEED_READY && v->reloading == RELOAD_CONNECTING)
        live_swap_ready(v);
    return muted;
}

/* The venue's list of open orders is complete. */
static void live_swap_listed(live_venue *v)
{
    if (v->reloading && (v->holding || v->muted || order_hold_count(v->held)))
        live_swap_wait_end(v, 0);
}

/* The reconciliation asks about o. @return 1 when o's first report will
 * answer it (a held order, sent now: live_swap_acked), else 0: ask the
 * venue. */
static int live_swap_owe(live_venue *v, const order *o)
{
    if (!v->reloading)
        return 0;
    if (order_hold_state_of(v->held, o->id) == ORDER_HOLD_HELD)
        live_hold_release(v);
    if (order_hold_state_of(v->held, o->id) != ORDER_HOLD_SENT)
        return 0;
    order_hold_owe(v->held, o->id);
    return 1;
}

/*
 * The venue reported on order_id, a held order the reconciliation asked
 * about: that first report is the venue's answer (it has the order, or
 * refused it), and the reconciliation hears it as one, from the order as
 * it now stands. Asking the venue again instead would race what the
 * strategy does with the order meanwhile (a cancel).
 */
static void live_swap_acked(live_venue *v, const char *order_id)
{
    order *o;
    lutra_exec x;

    if (!v->reloading || !order_hold_acked(v->held, order_id) || !v->rec ||
        !(o = oms_find(engine_oms(v->lv->eng), order_id)))
        return;
    memset(&x, 0, sizeof x);
    x.kind = LUTRA_EXEC_STATUS;
    x.status = (uint8_t)o->status;
    x.side = (uint8_t)o->req.side;
    x.instrument = o->req.instrument;
    x.ts = engine_now(v->lv->eng);
    x.price = o->req.price;
    x.qty = o->req.qty;
    x.filled = o->filled;
    snprintf(x.order_id, sizeof x.order_id, "%s", o->id);
    snprintf(x.venue_order_id, sizeof x.venue_order_id, "%s", o->venue_order_id);
    snprintf(x.reason, sizeof x.reason, "%s", o->reason);
    reconcile_on_status(v->rec, &x);
}

/* live_swap_acked for an order known by id only (a local rejection). */
static void live_swap_acked_id(live *lv, const char *order_id)
{
    order *o = oms_find(engine_oms(lv->eng), order_id);
    live_venue *v = o ? live_route(lv, o->req.instrument) : NULL;

    if (v)
        live_swap_acked(v, order_id);
}

/* Start waiting and reconciling for a swap that begins now. */
static void live_swap_begin(live_venue *v)
{
    live *lv = v->lv;

    v->reloading = RELOAD_CONNECTING;
    /* A restored venue is reconciled again; one never restored will be
     * when it first syncs (live_on_state). */
    v->rec_wanted = v->restored && !lv->sim && !lv->opt.market_only;
    reconcile_free(v->rec);
    v->rec = NULL;
    v->muted = engine_venue_state(lv->eng, v->cv->name) == LUTRA_FEED_READY &&
               live_swap_arm(v) == 0;
    if (v->muted)
        live_swap_hold(v);
}

/* Make and start an instance of ph for the venue. @return 0, or -1 with why. */
static int live_connector_start(live_venue *v, plugin_handle *ph, char *why, size_t whylen)
{
    if (!(v->pi = live_connector_instance(v, ph, why, whylen)))
        return -1;
    if (plugin_instance_start(v->pi, why, whylen) == 0)
        return 0;
    plugin_instance_destroy(v->pi);
    v->pi = NULL;
    return -1;
}

/* The venue has no connector left: orders are refused, the engine told. */
static void live_swap_abandon(live_venue *v)
{
    v->state = LUTRA_FEED_DISCONNECTED;
    snprintf(v->state_reason, sizeof v->state_reason, "no connector: the reload failed");
    v->muted = 1;
    live_swap_wait_end(v, 1);
    order_hold_drop(v->held, ORDER_HOLD_CANCEL, live_hold_refuse, v);
    v->reloading = RELOAD_NONE;
}

/* Swap the venue's connector for an instance of next (loaded and checked).
 * @return 0, or -1 (the previous connector runs again, or none). */
static int live_swap(live_venue *v, plugin_handle *next, char *err, size_t errlen)
{
    plugin_handle *old = v->ph;
    char old_version[64], why[1024], again[1024];

    snprintf(old_version, sizeof old_version, "%s", live_connector_version(v));
    live_swap_begin(v);
    plugin_instance_destroy(v->pi);
    v->pi = NULL;
    if (live_connector_start(v, next, why, sizeof why) == 0) {
        v->ph = next;
        plugin_unload(old);
        log_write(LOG_INFO, "run", "connector reloaded venue=%s from=%s version=%s path=%s",
                  v->cv->name, old_version, live_connector_version(v), plugin_path(next));
        snprintf(err, errlen, "venue %s: connector %s replaced by %s (%s); reconciling with the "
                 "venue", v->cv->name, old_version, live_connector_version(v),
                 plugin_path(next));
        return 0;
    }
    plugin_unload(next);
    log_write(LOG_ERROR, "run", "connector reload failed: the previous one starts again "
              "venue=%s error=\"%s\"", v->cv->name, why);
    if (live_connector_start(v, old, again, sizeof again) < 0) {
        log_write(LOG_ERROR, "run", "the previous connector did not start again either: the "
                  "venue has no connector venue=%s error=\"%s\"", v->cv->name, again);
        live_swap_abandon(v);
        snprintf(err, errlen, "venue %s: the new connector did not start (%s), and the "
                 "previous one (%s) did not start again either (%s): the venue has no "
                 "connector", v->cv->name, why, old_version, again);
        return -1;
    }
    snprintf(err, errlen, "venue %s: the new connector did not start: %s; the previous one "
             "(%s) runs again", v->cv->name, why, old_version);
    return -1;
}

int live_reload_plugin(live *lv, const char *name, char *err, size_t errlen)
{
    live_venue *v = live_venue_named(lv, name);
    plugin_handle *next = NULL;
    char path[1024], why[2048];
    struct stat st;

    if (!v) {
        snprintf(err, errlen, "no venue named '%s'", name);
        return -1;
    }
    if (lv->stopping || lv->done) {
        snprintf(err, errlen, "venue %s: the host is stopping", name);
        return -1;
    }
    /* A reload still under way (its connector not ready, the venue not
     * reconciled) is taken over: one that never gets there can be replaced
     * again. */
    if (live_connector_file(v, path, sizeof path, &st, why, sizeof why) == 0) {
        v->file = st; /* SIGHUP tries a file once: a broken one is not retried */
        next = plugin_load_fresh(path, why, sizeof why);
    }
    if (next && plugin_table(next)->kind != LUTRA_PLUGIN_CONNECTOR) {
        snprintf(why, sizeof why, "plugin %s (%s) is not a connector", path,
                 plugin_table(next)->name);
        plugin_unload(next);
        next = NULL;
    }
    if (!next) {
        log_write(LOG_ERROR, "run", "connector reload refused: the running one stays venue=%s "
                  "error=\"%s\"", name, why);
        snprintf(err, errlen, "venue %s: %s; the running connector (%s) stays", name, why,
                 live_connector_version(v));
        return -1;
    }
    return live_swap(v, next, err, errlen);
}

/* SIGHUP: the connectors whose file changed since it was last loaded. */
static void live_reload_changed_plugins(live *lv)
{
    char path[1024], err[2048];
    struct stat st;

    for (size_t i = 0; i < lv->nvenues; i++) {
        live_venue *v = &lv->venues[i];
        if (live_connector_file(v, path, sizeof path, &st, err, sizeof err) < 0 ||
            (st.st_dev == v->file.st_dev && st.st_ino == v->file.st_ino &&
             st.st_size == v->file.st_size && st.st_mtim.tv_sec == v->file.st_mtim.tv_sec &&
             st.st_mtim.tv_nsec == v->file.st_mtim.tv_nsec))
            continue;
        log_write(LOG_INFO, "run", "connector file changed venue=%s path=%s", v->cv->name, path);
        if (live_reload_plugin(lv, v->cv->name, err, sizeof err) < 0)
            log_write(LOG_ERROR, "run", "%s", err);
    }
}

/* ---- The control socket (core/ctl.h) ---- */

static const char *live_strategy_state(const live *lv, const strategy *s)
{
    if (strategy_failed(s))
        return "failed";
    if (lv->stopping || lv->done)
        return "stopped";
    return engine_started(lv->eng) ? "running" : "waiting";
}

static void live_ctl_status(void *ud, ctl_status *st)
{
    live *lv = ud;

    st->mode = lv->cfg->mode;
    for (size_t i = 0; i < lv->nvenues && i < CONFIG_MAX_VENUES; i++) {
        const live_venue *v = &lv->venues[i];
        ctl_venue_status *out = &st->venues[st->nvenues++];
        out->name = v->cv->name;
        out->state = live_state_name(v->state);
        out->connector = v->pi ? plugin_table(v->ph)->name : "";
        out->version = live_connector_version(v);
        out->path = v->ph ? plugin_path(v->ph) : "";
        out->reloading = v->reloading;
        out->reconciled = v->reconciled;
    }
    for (size_t i = 0; i < engine_strategy_count(lv->eng) && i < CONFIG_MAX_STRATEGIES; i++) {
        strategy *s = engine_strategy_at(lv->eng, i);
        ctl_strategy_status *out = &st->strategies[st->nstrategies++];
        out->name = strategy_name(s);
        out->state = live_strategy_state(lv, s);
        out->error = strategy_failed(s) ? strategy_error(s) : NULL;
    }
    st->open_orders = oms_open_count(engine_oms(lv->eng), -1);
}

static int live_ctl_reload_strategy(void *ud, const char *name, char *msg, size_t msglen)
{
    int rc = live_reload_strategy(ud, name, msg, msglen);

    if (rc == 0 && !msg[0])
        snprintf(msg, msglen, "strategy %s reloaded", name);
    return rc;
}

static int live_ctl_reload_plugin(void *ud, const char *name, char *msg, size_t msglen)
{
    return live_reload_plugin(ud, name, msg, msglen);
}

static int live_ctl_reload_config(void *ud, char *msg, size_t msglen)
{
    return live_reload_config(ud, msg, msglen);
}

static const ctl_ops live_ctl_ops = {live_ctl_status, live_ctl_reload_strategy,
                                     live_ctl_reload_plugin, live_ctl_reload_config};

/* The control socket, but for market data only (lutra record, which may
 * share a configuration with the lutra run that owns the socket). */
static int live_ctl_start(live *lv, char *err, size_t errlen)
{
    char path[CTL_LINE_MAX];

    if (lv->opt.market_only)
        return 0;
    if (ctl_socket_path(lv->cfg, path, sizeof path, err, errlen) < 0)
        return -1;
    lv->ctl = ctl_server_new(lv->lp, path, &live_ctl_ops, lv, 0, err, errlen);
    return lv->ctl ? 0 : -1;
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
static int live_connector_file(const live_venue *v, char *path, size_t cap, struct stat *st,
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
static plugin_instance *live_connector_instance(live_venue *v, plugin_handle *ph, char *why,
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

/* Paper: the simulated venue and its account (cash in the first symbol's
 * quote asset, then the configured balances). */
static int live_paper(live *lv, char *err, size_t errlen)
{
    const config *cfg = lv->cfg;
    sim_config sc;
    char base[LUTRA_ASSET_MAX], quote[LUTRA_ASSET_MAX];

    memset(&sc, 0, sizeof sc);
    sc.order_latency = sim_latency_from_config(&cfg->latency_order);
    sc.response_latency = sim_latency_from_config(&cfg->latency_response);
    sc.queue = !strcmp(cfg->queue_model, "optimistic") ? SIM_QUEUE_OPTIMISTIC
                                                        : SIM_QUEUE_CONSERVATIVE;
    sc.maker_fee_bps = cfg->fee_maker_bps >= 0 ? cfg->fee_maker_bps : 0;
    sc.taker_fee_bps = cfg->fee_taker_bps >= 0 ? cfg->fee_taker_bps : 0;
    sc.seed = cfg->seed_set ? cfg->seed : 1;
    if (!(lv->sim = sim_new(&sc, lv->reg, engine_books(lv->eng), engine_on_exec, lv->eng, err,
                            errlen)))
        return -1;
    engine_set_venue(lv->eng, &paper_venue_ops, lv);
    lv->now = loop_now_ns();
    lv->acted_at = INT64_MIN;
    engine_set_clock(lv->eng, paper_clock, lv);
    if (cfg->cash >= 0 && cfg->nvenues && cfg->venues[0].nsymbols &&
        instrument_split_symbol(cfg->venues[0].symbols[0], base, sizeof base, quote,
                                sizeof quote) == 0)
        engine_set_balance(lv->eng, quote, money_from_double(cfg->cash));
    for (size_t i = 0; i < cfg->nbalances; i++)
        engine_set_balance(lv->eng, cfg->balances[i].asset,
                           money_from_double(cfg->balances[i].amount));
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
    if (!(lv->store = state_open(&so, why, sizeof why))) {
        snprintf(err, errlen, "state_dir: %s", why);
        return -1;
    }
    if (!(lv->journal = journal_new(lv->store, lv->reg)) ||
        !(lv->flush = loop_deferred_new(lv->lp, live_flush, lv, err, errlen))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    log_write(LOG_INFO, "run", "state store dir=%s sync=%s next_order=%" PRIu64, cfg->state_dir,
              so.sync == STATE_SYNC_FULL ? "full" : "none", state_get_order_seq(lv->store));
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
