/*
 * live_impl.h -- internals shared by the live driver's files; not a public
 * header (the rest of lutra includes live.h only).
 *
 *   live.c          the driver: building, running, stopping, the wake-up
 *                   timer, the group commit, orders to connectors, what
 *                   connectors report
 *   live_paper.c    paper mode: the paper clock and the simulated venue
 *   live_restore.c  a restart: restore, reconcile, start the strategies
 *   live_reload.c   hot reload of strategies and the configuration
 *                   (SIGHUP, the file watcher)
 *   live_swap.c     hot reload of connectors: the swap, held orders
 *   live_ctl.c      the control socket's glue
 *
 * Everything runs on the loop's thread.
 */
#ifndef LUTRA_LIVE_IMPL_H
#define LUTRA_LIVE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <sys/stat.h>

#include "../backtest/venue_sim.h"
#include "ctl.h"
#include "http.h"
#include "journal.h"
#include "live.h"
#include "order_hold.h"
#include "plugin.h"
#include "reconcile.h"
#include "secret.h"
#include "state.h"
#include "watch.h"

#define NS_PER_MS INT64_C(1000000)

/* Paper mode's wake-up timer fires this long after what fell due, so that a
 * market message received before then still comes first (live_paper.c,
 * "Paper time"). */
#define LIVE_PAPER_GUARD_NS (50 * NS_PER_MS)

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
    /* A connector reload (live_swap.c). */
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
     * (see "Paper time", live_paper.c). */
    int64_t now, acted_at;
    uint64_t late;
    char failure[1280];           /* why the run ended on its own */
};

/* ---- live.c: the driver ---- */

/* Whatever gives the engine or the simulated venue something to do later
 * (a report, an order, a reload, a swap) sets the wake-up timer again. */
void live_arm(live *lv);

/* The group commit at the end of this loop turn: a restart's start of the
 * strategies and a strategy reload leave work for it. */
void live_flush_soon(void *ud);

/* The venue of an instrument: a swap's report on an order known by id. */
live_venue *live_route(live *lv, uint32_t instrument);

/* An order as connectors take it: a restart's reconciliation asks the
 * venue about one. */
void live_to_lutra_order(const order *o, lutra_order *out);

/* Orders to a venue's connector, and a refusal delivered from the loop:
 * a swap sends the orders it held, or refuses them. */
void live_reject_later(live *lv, const order *o, int64_t now, const char *why);
int live_send_submit(live_venue *v, const order *o, int64_t now);
int live_send_cancel(live_venue *v, const order *o);

/* A connector state's name, for a swap's log lines and the control socket. */
const char *live_state_name(int state);

/* A venue's connector file and a new instance of it, made the same way at
 * build and at a swap. */
int live_connector_file(const live_venue *v, char *path, size_t cap, struct stat *st,
                        char *why, size_t whylen);
plugin_instance *live_connector_instance(live_venue *v, plugin_handle *ph, char *why,
                                         size_t whylen);

/* ---- live_paper.c: paper mode ---- */

/* Build the simulated venue, its account and the paper clock. */
int live_paper(live *lv, char *err, size_t errlen);

/* The wake-up timer does what the venue and the timers have due. */
void live_paper_run_until(live *lv, int64_t until);

/* A market record enters the paper clock before the books see it. */
const lutra_event *live_paper_on_market(live *lv, const lutra_event *ev, lutra_event *later);

/* ---- live_restore.c: a restart ---- */

/* A venue's first SYNCING or READY (live_on_state) brings its records back. */
void live_venue_restore(live_venue *v);

/* A swap's reconciliation ends as a restart's does: strategies may start. */
void live_venue_reconciled(void *ud);

/* How a reconciliation asks a venue's connector: a swap reconciles again. */
extern const reconcile_venue_ops live_reconcile_ops;

/* ---- live_reload.c: strategies and the configuration ---- */

/* SIGHUP (live_on_signal). */
void live_on_hup(live *lv);

/* Watch the strategies' files, once they are built (live_build). */
void live_watch_scripts(live *lv);

/* ---- live_swap.c: connectors ---- */

/* Orders to a venue whose connector is being reloaded wait (live_submit,
 * live_cancel). */
int live_hold(live_venue *v, order_hold_kind kind, const order *o, int64_t now);

/* What connectors report, seen by a swap under way: a state (@return 1
 * when the engine is not to hear it), the end of the list of open orders,
 * an order's first report (by its venue, or by id for a local rejection). */
int live_swap_on_state(live_venue *v, int state);
void live_swap_listed(live_venue *v);
void live_swap_acked(live_venue *v, const char *order_id);
void live_swap_acked_id(live *lv, const char *order_id);

/* A reconciliation asks about o (live_rec_order). @return 1 when a held
 * order's first report will answer it, else 0. */
int live_swap_owe(live_venue *v, const order *o);

/* SIGHUP reloads the connectors whose file changed (live_on_hup). */
void live_reload_changed_plugins(live *lv);

/* The running connector's version, for the control socket's status. */
const char *live_connector_version(const live_venue *v);

/* ---- live_ctl.c: the control socket ---- */

/* Open the control socket (live_build). */
int live_ctl_start(live *lv, char *err, size_t errlen);

#endif
