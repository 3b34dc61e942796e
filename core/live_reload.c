/*
 * live_reload.c -- hot reload of strategies and of the configuration
 * (docs/hot-reload.md): by name (live_reload_strategy, the control socket),
 * when a strategy's file changes (the file watcher, core/watch.h), and on
 * SIGHUP (the configuration file read again, then every strategy).
 */
#include "live_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define LIVE_WATCH_QUIET_MS 100

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

void live_watch_scripts(live *lv)
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
void live_on_hup(live *lv)
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
