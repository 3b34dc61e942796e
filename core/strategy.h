/*
 * strategy.h -- the LuaJIT strategy runtime: one lua_State per strategy
 * instance, its handlers, its params, and the ctx API (DESIGN.md,
 * "Strategy API"; docs/strategy-api.md).
 *
 * The runtime knows nothing of modes, venues or files: everything a strategy
 * can ask for goes through the host (the engine), a table of functions given
 * at load. The engine calls the strategy_on_* functions; each returns 0, or
 * -1 when the handler raised a Lua error, after which the strategy is
 * stopped (strategy_failed) and strategy_error holds the message and
 * traceback. A stopped strategy's handlers are not called again.
 *
 * Hot path: handlers are cached as registry references; the book object a
 * handler gets is created once per instrument and reads engine memory
 * through LuaJIT FFI calls (book:best_bid(), book:bid(i)); no table is
 * allocated per event except what the handler itself makes.
 *
 * Times reaching Lua are milliseconds since the epoch, fractional (engine
 * times are ns). Prices and quantities are numbers; the runtime converts
 * them to the instrument's fixed point by rounding v x 10^scale to the
 * nearest unit when it is within a few ulps of one (exact for any decimal of
 * at most 15 significant digits and no more places than the scale); a value
 * with more places than the scale is refused ("risk: valid: price 0.123 is
 * not a multiple of the tick 0.01"), one off the increments by the "valid"
 * risk gate. Never a silent rounding.
 *
 * Runaway handlers: a count hook stops an interpreted handler that runs
 * longer than handler_timeout_ms (the strategy fails with "handler on_bar
 * of strategy X ran longer than N ms"); LuaJIT runs no hook inside compiled
 * code, so a loop the JIT compiled is not caught here.
 */
#ifndef LUTRA_STRATEGY_H
#define LUTRA_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "book.h"
#include "instrument.h"
#include "oms.h"
#include "order.h"

typedef struct strategy strategy;

/* A parameter value: from the config file (typed) or -p key=value (text,
 * parsed by strategy_param_parse). */
typedef enum strategy_param_type {
    PARAM_NUMBER = 0,
    PARAM_BOOL = 1,
    PARAM_STRING = 2
} strategy_param_type;

typedef struct strategy_param {
    char key[64];
    strategy_param_type type;
    double num;
    int boolean;
    char str[256];
} strategy_param;

/*
 * Parse "key=value": numbers ("10", "-0.5", "1e-3") become numbers, "true"
 * and "false" booleans, anything else a string ("BTCUSDT"; quotes around it
 * are removed). @return 0, or -1 with err set (no '=', empty key, too long).
 */
int strategy_param_parse(const char *kv, strategy_param *out, char *err, size_t errlen);

/* The engine as the runtime sees it. Every function gets the host pointer
 * given to strategy_load (and most the calling strategy). All are required
 * but mode, book_synced, log and metric. */
typedef struct strategy_host_ops {
    int64_t (*now)(void *host);                 /* engine time, ns */
    const char *(*mode)(void *host);            /* "backtest" | "paper" | "live" */

    /* Instruments by symbol (the strategy's venue), -1 if unknown. */
    int32_t (*instrument_find)(void *host, const char *symbol);
    const lutra_instrument *(*instrument_get)(void *host, uint32_t id);
    /* The strategy's view of an instrument's book (NULL if none yet). Once
     * non-NULL it must stay the same book for the strategy's life: the Lua
     * book object keeps the pointer. */
    const book *(*book)(void *host, uint32_t instrument);
    int (*book_synced)(void *host, uint32_t instrument);

    /* Orders. submit: 0 and the new order's id in id_out, or -1 with the
     * reason ("risk: <gate>: <detail>"). */
    int (*submit)(void *host, strategy *s, const order_request *req, char *id_out,
                  char *reason, size_t len);
    int (*cancel)(void *host, strategy *s, const char *id, char *reason, size_t len);
    /* Cancel every open order of the strategy (of one instrument, or -1). */
    size_t (*cancel_all)(void *host, strategy *s, int32_t instrument);
    /* The strategy's open orders (pending ones included), oldest first. */
    size_t (*open_orders)(void *host, strategy *s, int32_t instrument, const order **out,
                          size_t max);
    const oms_position *(*position)(void *host, uint32_t instrument);
    oms_balance (*balance)(void *host, const char *asset);

    /* Timers on the engine's clock: fire strategy_on_timer(s, ref) at `at`,
     * then every `every` ns if > 0. @return an id (never 0), 0 on failure.
     * strategy_free cancels the strategy's pending timers through
     * timer_cancel, so the timers must outlive the strategy. */
    uint64_t (*timer_add)(void *host, strategy *s, int64_t at, int64_t every, int ref);
    void (*timer_cancel)(void *host, uint64_t id);

    /* ctx:subscribe{symbol=, book=, trades=, bars=} (bars: seconds, 0 none). */
    int (*subscribe)(void *host, strategy *s, uint32_t instrument, int book, int trades,
                     int64_t bar_ns, char *reason, size_t len);

    void (*log)(void *host, strategy *s, int level, const char *msg);
    void (*metric)(void *host, strategy *s, const char *name, double value);

    /* Optional: ctx:buy/ctx:sell refused an order before it reached submit
     * (a number the instrument's fixed point cannot hold): counted like any
     * refusal. */
    void (*refused)(void *host, strategy *s, const char *reason);
} strategy_host_ops;

typedef struct strategy_config {
    const char *name;            /* instance name ("mm"); default: the file's stem */
    const char *path;            /* the Lua file */
    const char *lib_path;        /* folder holding lutra/ind.lua etc. (package.path) */
    const strategy_param *params;/* overrides, config first then -p (later wins) */
    size_t nparams;
    uint32_t index;              /* the engine's index of this strategy */
    int handler_timeout_ms;      /* a handler running longer fails the strategy; 0: 1000 */
} strategy_config;

/*
 * Create the lua_State, open the standard libraries, load and run the file
 * (which returns the handler table), merge params (defaults from the
 * table's `params`, then cfg->params; an unknown key is an error naming
 * it), and cache the handlers. Nothing is called yet.
 * @return the strategy, or NULL with err set: the Lua error with file and
 * line for a file that does not compile or fails to run, "defines no
 * handler" for a table without any on_* function.
 */
strategy *strategy_load(const strategy_host_ops *ops, void *host, const strategy_config *cfg,
                        char *err, size_t errlen);
void strategy_free(strategy *s);

const char *strategy_name(const strategy *s);
uint32_t strategy_index(const strategy *s);
/* 1 after a handler raised an error; strategy_error: message and traceback. */
int strategy_failed(const strategy *s);
const char *strategy_error(const strategy *s);
/* Stop the strategy for a reason found outside its handlers (its state
 * cannot be saved): as if a handler had raised msg. @return -1. */
int strategy_stop_with(strategy *s, const char *msg);
/* The handler running now or last ("on_book"), for the watchdog's message. */
const char *strategy_current_handler(const strategy *s);

/* Memory the strategy's Lua state holds, bytes. */
size_t strategy_memory(const strategy *s);
/* One step of the Lua garbage collector, outside any handler, unless the
 * last step finished a cycle and nothing was allocated since (a state
 * that allocates nothing costs nothing). The live driver calls it after each message
 * (engine_collect): the collector's work for what the handlers allocated
 * is done there, and the next handler's allocations find the next
 * automatic step about a kilobyte away instead of paying for it in the
 * middle of on_book. A no-op inside a handler or after a failure. */
void strategy_collect_step(strategy *s);

/* The final params as a JSON object, for the report (static buffer valid
 * until the next call). */
const char *strategy_params_json(strategy *s);

/* Handlers. Each is skipped when the strategy does not define it. */
int strategy_on_start(strategy *s);
int strategy_on_book(strategy *s, uint32_t instrument, int64_t ts);
int strategy_on_trade(strategy *s, const lutra_trade *t);
int strategy_on_bar(strategy *s, const lutra_bar *b, int64_t interval_ns);
int strategy_on_order(strategy *s, const order *o);
int strategy_on_fill(strategy *s, const order *o, const oms_change *c);
int strategy_on_status(strategy *s, const char *venue, const char *state, const char *reason);
int strategy_on_timer(strategy *s, int ref);
/* After a hot reload, on the new instance, with ctx.state in place
 * (engine_reload_strategy). */
int strategy_on_reload(strategy *s);
int strategy_on_stop(strategy *s);

/* 1 while one of the strategy's handlers runs (a reload must wait for the
 * loop: the running instance cannot be freed under its own call). */
int strategy_in_handler(const strategy *s);

/* 1 if the strategy defines on_book (the engine skips the dispatch work
 * for strategies that do not). */
int strategy_wants_book(const strategy *s);
int strategy_wants_trades(const strategy *s);
int strategy_wants_bars(const strategy *s);

/*
 * ctx.state, the table kept across restarts and reloads (DESIGN.md,
 * "Strategy API"). Encoded as msgpack by the runtime; stored by the engine
 * (core/state.h). A value a Lua table can hold round-trips exactly:
 * numbers (doubles, integers among them), strings (any bytes), booleans
 * and nested tables (keys of those kinds). A function, userdata, thread or
 * cdata anywhere in it cannot be saved, nor a table as a key, a cycle, or
 * tables nested deeper than 32 levels (ctx.state the first): the error
 * names the key path ("state.orders.cb: a function cannot be saved").
 * Implemented in lua_state.c.
 */

/* Replace ctx.state with a decoded saved state (before on_start, or on a
 * running strategy: a reload). It then counts as the last one returned.
 * @return 0, or -1 with err set (bytes that are not a saved state:
 * "not a saved state: msgpack cut short (5 bytes)"); ctx.state is then
 * unchanged. */
int strategy_state_load(strategy *s, const void *data, size_t len, char *err, size_t errlen);

/*
 * The state to save after a handler, if it may have changed: cheap when
 * the handler did not touch ctx.state (no encoding at all), else the
 * encoding, returned only when it differs from the last one returned.
 * @return 1 with *data and *len (valid until the next call on s), 0 when
 * there is nothing new to save, -1 with err naming the key that cannot be
 * saved.
 */
int strategy_state_take(strategy *s, const void **data, size_t *len, char *err, size_t errlen);

/* The current encoding whatever was touched (on stop): 1 when it differs
 * from the last one returned, 0 when not; *data and *len are set in both
 * cases. -1 as for take. */
int strategy_state_encode(strategy *s, const void **data, size_t *len, char *err,
                          size_t errlen);

#endif
