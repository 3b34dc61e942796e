/*
 * engine.h -- the engine: books, strategies, risk gates and the order
 * manager, one thread, no mode of its own.
 *
 * A driver (the backtest loop, the live libevent loop) gives it a clock and
 * a venue, feeds it market events and the venue's execution reports, and
 * fires its timers when due. The engine never reads the wall clock and never
 * knows whether it is in a backtest: that lives in the driver and the venue.
 *
 * Market events: book records update the engine's books; strategies hear of
 * a book once per exchange message (at the record flagged LUTRA_F_LAST),
 * never half-updated. Trades, bars and feed status go to the handlers that
 * want them.
 *
 * Orders: ctx:buy/ctx:sell -> risk gates -> OMS (pending_new) -> venue.
 * Execution reports -> OMS -> on_order / on_fill of the owning strategy.
 * A strategy whose handler fails is stopped and its open orders cancelled.
 */
#ifndef LUTRA_ENGINE_H
#define LUTRA_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "bookset.h"
#include "journal.h"
#include "instrument.h"
#include "oms.h"
#include "order.h"
#include "risk.h"
#include "strategy.h"
#include "venue.h"

typedef struct engine engine;

typedef struct engine_config {
    const char *mode;          /* "backtest" | "paper" | "live": what ctx.mode says */
    oms_config oms;
    risk_limits risk;
    const char *lib_path;      /* Lua library folder (scripts/lib) */
    int cancel_on_stop;        /* cancel strategies' open orders at engine_stop */
    int handler_timeout_ms;    /* runaway handler limit (0: 1000); the watchdog
                                  thread ends the process at 1.5 times it */
} engine_config;

/* Called for every fill, before the strategy hears of it (reports); `when`
 * is the fill's time at the venue. */
typedef void (*engine_fill_fn)(void *ud, const order *o, const oms_change *c, int64_t when);

/* @return the engine, or NULL with err set. reg is shared, not owned. */
engine *engine_new(const engine_config *cfg, instrument_registry *reg, char *err,
                   size_t errlen);
void engine_free(engine *e);

void engine_set_clock(engine *e, int64_t (*now)(void *ud), void *ud);
void engine_set_venue(engine *e, const venue_ops *ops, void *venue);
void engine_set_fill_observer(engine *e, engine_fill_fn fn, void *ud);

/*
 * A venue's connection state (enum lutra_feed_state) for order entry and
 * its feed as a whole, from the live driver, with the venue's reason: kept,
 * and told to every running strategy's on_status. While a venue the engine
 * has heard of is not READY, orders for its instruments are refused with
 * "venue not ready: <state> (<reason>)" (the reason left out when empty);
 * a venue never reported (a backtest's) is always ready. The state kept,
 * told again with an empty reason, keeps its reason.
 * @return 0, or -1 if a strategy failed or too many venues.
 */
int engine_set_venue_state(engine *e, const char *venue, int state, const char *reason);
/* The state last reported for venue, or 0 if none. */
int engine_venue_state(const engine *e, const char *venue);

/* Starting balances (money units). */
int engine_set_balance(engine *e, const char *asset, int64_t amount);

/* Load a strategy (strategy_load with the engine as host).
 * @return its index, or -1 with err set. */
int engine_add_strategy(engine *e, const strategy_config *cfg, char *err, size_t errlen);
size_t engine_strategy_count(const engine *e);
strategy *engine_strategy_at(const engine *e, size_t i);

/* on_start of every strategy. @return 0, or -1 if one failed (see
 * engine_failure). */
int engine_start(engine *e);

/* One market event (head.instrument a registry id): engine_apply_market
 * then engine_dispatch. @return 0, or -1 if a book refused it or a strategy
 * failed. */
int engine_on_event(engine *e, const lutra_event *ev);

/* The two halves, for a driver that must act between them (the backtest's
 * venue sees the book change before strategies do). apply: books and
 * reference prices; dispatch: the handlers. */
int engine_apply_market(engine *e, const lutra_event *ev);
int engine_dispatch(engine *e, const lutra_event *ev);

/* One execution report (a venue's sink: ud is the engine). */
void engine_on_exec(void *ud, const exec_report *rep);

/* Timers: the earliest due time (INT64_MAX: none), and firing them. */
int64_t engine_next_timer(const engine *e);
void engine_run_timers(engine *e, int64_t now);
/* Timers pending (strategies' and bar aggregations'). */
size_t engine_timers_pending(const engine *e);

/* on_stop of every running strategy, then cancel open orders if the config
 * says so. @return 0, or -1 if a strategy failed. */
int engine_stop(engine *e);

/* The first strategy failure: its name and error (with traceback).
 * @return 1 if a strategy failed, else 0. */
int engine_failure(const engine *e, const char **name, const char **error);

bookset *engine_books(engine *e);
oms *engine_oms(engine *e);
risk *engine_risk(engine *e);
const instrument_registry *engine_registry(const engine *e);
int64_t engine_now(const engine *e);

/* Mark price of an instrument: book mid, else last trade, else last bar
 * close; 0 if none (price scale). */
int64_t engine_mark_price(const engine *e, uint32_t instrument);

/* The quote asset equity is counted in (the first instrument's quote unless
 * set), and the equity in it (money units). */
void engine_set_equity_asset(engine *e, const char *asset);
const char *engine_equity_asset(const engine *e);
int64_t engine_equity(const engine *e);

/* Counters for the report. */
typedef struct engine_stats {
    uint64_t events;          /* market records applied */
    uint64_t orders;          /* submitted past the gates */
    uint64_t rejected;        /* refused by gates, or rejected by the venue */
    uint64_t fills;
    /* Market messages handed to the strategies (after engine_start): book
     * messages (at their record flagged LUTRA_F_LAST) and trades, counted
     * once whatever the strategies are: a strategy that hears everything
     * has as many on_book and on_trade calls, reloads or not. */
    uint64_t book_messages;
    uint64_t trade_messages;
    uint64_t reloads;         /* strategy reloads that took over */
} engine_stats;
engine_stats engine_get_stats(const engine *e);

/*
 * Durable mode (live and paper; core/journal.h). With a journal, every
 * order the engine creates or changes is written into the state store's
 * batch; orders are sent, and strategies told of changes, only by
 * engine_flush, after the batch is committed. The driver calls
 * engine_flush once per turn of its loop; on_pending(ud) says there is
 * something to flush. Strategies' ctx.state is saved after any handler
 * that changed it and on stop, and loaded before on_start.
 * j is shared, not owned.
 */
void engine_set_journal(engine *e, journal *j, void (*on_pending)(void *ud), void *ud);

/*
 * Commit, then send the orders and deliver the notifications that waited
 * for it, in the order queued (repeated while handlers queue more). A
 * cancel asked after an order of the same batch is written once that
 * order has gone, and committed before it goes (docs/state.md, "What is
 * written, and when"). Before engine_start the
 * notifications are kept for after on_start. A failed commit stops
 * trading: the kill switch trips, the orders of the failed batch are
 * rejected unsent ("state store: ..."), and every later order is refused.
 * @return 0, or -1 when the store failed.
 */
int engine_flush(engine *e);

/* Between messages (the live driver calls it after each, once its orders
 * are out): a step of the garbage collector of each strategy that
 * allocated since its last one (strategy_collect_step), which would
 * otherwise fall inside a later handler, between a tick and its order. */
void engine_collect(engine *e);

/* With a store, between events (the live driver calls it after each
 * message and each flush): the store opens the batch the next order will
 * be written in, with the pages it will change already copied
 * (journal_prepare), so that its write-ahead costs less on the order's
 * path. Without a store, or inside a flush, nothing. */
void engine_prepare(engine *e);

/* A restart: load one venue's open orders, positions and balances from
 * the store (its instruments must be registered). Before engine_start. */
int engine_restore_venue(engine *e, const char *venue, journal_restored *out, char *err,
                         size_t errlen);

/* Send the cancel of an order already pending_cancel again: a restart
 * found it still open at the venue (the cancel was committed, then the
 * process died before it left). A cancel is safe to repeat; an order is
 * never resent. @return 0, or -1 (no such order pending_cancel). */
int engine_cancel_again(engine *e, const char *id);

/* An open order found at the venue that lutra did not send, taken as
 * lutra's (config adopt_orders): owned by no strategy, in the OMS and the
 * store from now on. @return 0, or -1 (duplicate id, unknown instrument). */
int engine_adopt_order(engine *e, const order *o);

/* A venue's balance report: ours is replaced (the venue wins), the
 * difference logged, and the balance written to the store. */
int engine_venue_balance(engine *e, const char *venue, const char *asset, int64_t free,
                         int64_t locked);

/* 1 once engine_start ran: until then no strategy hears of anything. */
int engine_started(const engine *e);

/*
 * Hot reload (docs/hot-reload.md). Reload strategy `index` from its file:
 * the new code is loaded into a fresh lua_State beside the running one
 * (strategy_load: params from the file's table, then cfg's overrides, so
 * the config and -p still win), and takes over only when that succeeds.
 * Once the engine has started: the running instance's ctx.state is saved
 * and committed, and the new one loads it back from the store, as at a
 * start (without a journal, it is handed over directly); the new one
 * becomes the strategy at `index`; its on_reload runs; then the old one is
 * freed with its timers. Orders, positions, subscriptions and bar
 * aggregations belong to the index and stay; notifications queued for it
 * reach whichever instance is current when they are delivered, so no
 * event is lost or told twice. A strategy stopped by an error can be
 * reloaded (it runs again).
 *
 * cfg: the new path and params (name and index are the strategy's), or
 * NULL to reload with the ones it runs with; kept when the reload takes
 * over. Call it between events, never from a handler.
 * @return 0, or -1 with err set (a Lua error with file and line, on_reload's
 * error, the state store's): the running instance is then unchanged.
 */
int engine_reload_strategy(engine *e, size_t index, const strategy_config *cfg, char *err,
                           size_t errlen);

/* The index of the strategy named name, or -1. */
int engine_strategy_find(const engine *e, const char *name);

/* The file strategy `index` was loaded from (NULL for no such index). */
const char *engine_strategy_path(const engine *e, size_t index);

/* What a configuration reload may change while trading: the limits of the
 * risk gates (risk_set_limits), and whether engine_stop cancels. */
void engine_set_cancel_on_stop(engine *e, int cancel);

#endif
