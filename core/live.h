/*
 * live.h -- the live driver: the engine on the loop, fed by connectors.
 *
 * One thread, one loop (core/loop.h). Each venue of the configuration gets
 * its connector loaded live (plugin.h): its market events go to the engine
 * (and, in paper mode, to the simulated venue's books), its order reports to
 * engine_on_exec, its balances to the OMS (the venue's numbers win) and its
 * connection state to the engine's venue readiness and every strategy's
 * on_status. The engine's orders go to the venue's connector (mode "live")
 * or to the simulated venue of backtest/venue_sim.h (mode "paper"; no order
 * reaches the connector), run on the paper clock: a market message's
 * receive time, so that a backtest of the recording decides the same
 * (docs/operations.md, "The paper clock").
 *
 * State (docs/state.md): the state store in state_dir is opened before
 * anything connects, and the engine writes through it (core/journal.h);
 * the driver commits once per loop turn and around each market message.
 * When a venue's instruments are known (its first SYNCING or READY), its
 * records come back from the store and, live, it is reconciled
 * (core/reconcile.h); the strategies start once every venue is.
 *
 * Stopping: SIGINT or SIGTERM (or live_request_stop) runs every strategy's
 * on_stop, cancels open orders when cancel_on_stop is set and waits up to
 * stop_grace_ms for the venue to confirm, commits, then stops the
 * connectors and makes live_run return 0. A second signal makes it return
 * at once (-1). SIGHUP reads the configuration file again
 * (live_reload_config: an invalid file changes nothing), then reloads every
 * strategy (docs/hot-reload.md).
 */
#ifndef LUTRA_LIVE_H
#define LUTRA_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "instrument.h"
#include "loop.h"

typedef struct live live;

typedef struct live_options {
    const char *lib_path;        /* the Lua library folder (scripts/lib) */
    instrument_registry *reg;    /* shared, not owned; NULL: the driver's own */
    int64_t stop_grace_ms;       /* wait for cancels at stop; 0: 2000 */
    int no_signals;              /* 1: do not handle SIGINT/SIGTERM/SIGHUP */
    /* Market data only (lutra record): no strategies, no secrets (so no
     * order entry), no simulated venue. */
    int market_only;
    /* Every market-data message the connectors receive, before they decode
     * it (lutra_host_api.record), with receive times that never go back;
     * NULL: off. */
    void (*record)(void *record_ud, int64_t recv_ns, const char *msg, size_t len);
    void *record_ud;
    /* The configuration's file, read again by live_reload_config and
     * SIGHUP; NULL: the configuration cannot be reloaded (SIGHUP then
     * reloads the strategies only). */
    const char *config_path;
    /* Strategy files are watched and reloaded when they change (inotify),
     * once no write has come for watch_quiet_ms (0: 100). no_watch: 1 off. */
    int no_watch;
    int64_t watch_quiet_ms;
} live_options;

/*
 * Build everything from a validated configuration: resolve every secret
 * first (a missing one is an error naming its key, before anything
 * connects), then the loop, the engine, the venue (connector or simulated),
 * the connectors and the strategies. Nothing connects yet.
 * @return the driver, or NULL with err naming what failed.
 */
live *live_new(const config *cfg, const live_options *opt, char *err, size_t errlen);

/*
 * Start the connectors and the strategies, then run the loop until stopped.
 * @return 0 after a clean stop, or -1 with err set (a connector would not
 * start, a second signal, the loop failed).
 */
int live_run(live *lv, char *err, size_t errlen);

/* Begin the clean stop described above (what SIGTERM does). */
void live_request_stop(live *lv);

loop *live_loop(live *lv);
engine *live_engine(live *lv);

/* Destroy the connectors, the engine and the loop. NULL is accepted. */
void live_free(live *lv);

/*
 * Hot reload (docs/hot-reload.md; issue 6). Each works while the driver
 * runs, from the loop's thread (the control socket, SIGHUP, the file
 * watcher), and changes nothing when it fails: the running version stays
 * and err says why (file and line for Lua).
 */

/* Reload strategy NAME from its file: built beside the running one, then
 * swapped in with ctx.state handed over through the state store. */
int live_reload_strategy(live *lv, const char *name, char *err, size_t errlen);

/* Replace the connector of venue NAME with a fresh load of its .so. */
int live_reload_plugin(live *lv, const char *name, char *err, size_t errlen);

/* Re-read the configuration file: risk limits and strategy params apply at
 * once; what cannot change live is named in err (and not applied), the
 * rest applied. An invalid file changes nothing. @return 0 when all of it
 * applied, 1 when some of it could not, -1 when nothing did. */
int live_reload_config(live *lv, char *err, size_t errlen);

#endif
