/*
 * live_swap.c -- hot reload of connectors (docs/hot-reload.md).
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
#include "live_impl.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

#define LIVE_RELOAD_WAIT_MS 5000

static live_venue *live_venue_named(live *lv, const char *name)
{
    for (size_t i = 0; i < lv->nvenues; i++)
        if (!strcmp(lv->venues[i].cv->name, name))
            return &lv->venues[i];
    return NULL;
}

const char *live_connector_version(const live_venue *v)
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

int live_hold(live_venue *v, order_hold_kind kind, const order *o, int64_t now)
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
    v->lost = 0; /* this pass, begun while ready, covers any drop before */
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
int live_swap_on_state(live_venue *v, int state)
{
    int muted = v->muted;

    if (state == LUTRA_FEED_READY && v->reloading == RELOAD_CONNECTING)
        live_swap_ready(v);
    return muted;
}

/* The venue's list of open orders is complete. */
void live_swap_listed(live_venue *v)
{
    if (v->reloading && (v->holding || v->muted || order_hold_count(v->held)))
        live_swap_wait_end(v, 0);
}

/* The reconciliation asks about o. @return 1 when o's first report will
 * answer it (a held order, sent now: live_swap_acked), else 0: ask the
 * venue. */
int live_swap_owe(live_venue *v, const order *o)
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
void live_swap_acked(live_venue *v, const char *order_id)
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
void live_swap_acked_id(live *lv, const char *order_id)
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
void live_reload_changed_plugins(live *lv)
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
