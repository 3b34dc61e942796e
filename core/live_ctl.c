/*
 * live_ctl.c -- the control socket's glue (core/ctl.h, lutra ctl): the
 * driver's status, and the hot reloads asked for by name.
 */
#include "live_impl.h"

#include <stdio.h>

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
int live_ctl_start(live *lv, char *err, size_t errlen)
{
    char path[CTL_LINE_MAX];

    if (lv->opt.market_only)
        return 0;
    if (ctl_socket_path(lv->cfg, path, sizeof path, err, errlen) < 0)
        return -1;
    lv->ctl = ctl_server_new(lv->lp, path, &live_ctl_ops, lv, 0, err, errlen);
    return lv->ctl ? 0 : -1;
}
