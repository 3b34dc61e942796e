/*
 * live_restore.c -- a restart (docs/state.md): a venue's records come back
 * from the state store at its first SYNCING or READY, live it is reconciled
 * with the venue (core/reconcile.h), and the strategies start once every
 * venue is.
 */
#include "live_impl.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

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

void live_venue_reconciled(void *ud)
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

const reconcile_venue_ops live_reconcile_ops = {live_rec_balances, live_rec_orders,
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
void live_venue_restore(live_venue *v)
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
    /* A venue not ready yet may still lose reports (a user data stream not
     * open: its fills after the list would be missed): once ready, it is
     * reconciled again. A drop before now is covered by this pass. */
    v->lost = v->state != LUTRA_FEED_READY;
    reconcile_start(v->rec);
}
