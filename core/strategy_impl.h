/*
 * strategy_impl.h -- internals shared by the strategy runtime's files; not a
 * public header (the engine includes strategy.h only).
 *
 *   strategy.c    lifecycle, params, handler calls, errors, the watchdog hook
 *   lua_ctx.c     the ctx table and its methods (orders, positions, ...)
 *   lua_book.c    the FFI views: books, trades, bars
 *   lua_timer.c   ctx:every, ctx:after and timer objects
 *   lua_state.c   ctx.state: change detection, msgpack encoding, loading
 *
 * Each file owns the fields of struct strategy under its name. Everything a
 * strategy keeps in Lua is held through registry references made once at
 * load: the hot path pushes references, it never looks a name up.
 */
#ifndef LUTRA_STRATEGY_IMPL_H
#define LUTRA_STRATEGY_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "strategy.h"

/* The handlers a strategy may define, in the order of strategy_handler_names. */
enum strategy_handler {
    HANDLER_START,
    HANDLER_BOOK,
    HANDLER_TRADE,
    HANDLER_BAR,
    HANDLER_ORDER,
    HANDLER_FILL,
    HANDLER_STATUS,
    HANDLER_RELOAD,
    HANDLER_STOP,
    HANDLER_COUNT
};

extern const char *const strategy_handler_names[HANDLER_COUNT];

/* Per instrument: made on first use (lua_book.c). */
typedef struct lua_book_slot {
    struct lutra_book_view *view; /* malloc'd once: Lua holds a pointer to it */
    int book_ref;                 /* the book object (cdata), LUA_NOREF until made */
    int known;                    /* view filled and symbol registered */
} lua_book_slot;

struct strategy {
    /* strategy.c */
    lua_State *L;
    size_t gc_seen;    /* strategy_memory after the last strategy_collect_step */
    int gc_cycle_done; /* that step finished a collection cycle */
    const strategy_host_ops *ops;
    void *host;
    char name[64];
    char *path;
    uint32_t index;
    int handler_ref[HANDLER_COUNT]; /* LUA_NOREF when not defined */
    int traceback_ref;              /* the message handler of every call */
    int event_ref;                  /* fills a table event, then calls its handler */
    int ctx_ref;
    int module_ref;                 /* the table the file returned */
    int sort_ref;                   /* table.sort as it was at load */
    int failed;
    char *error;
    const char *handler;            /* running or last: "on_book", "timer", ... */
    int64_t timeout_ns;
    uint64_t call_seq;              /* bumped by every call */
    uint64_t hook_seq;              /* the call the watchdog hook last saw */
    int64_t hook_t0;                /* CLOCK_MONOTONIC when it first saw it */
    int in_call;                    /* depth of handler calls under way */
    int timed_out;

    /* lua_book.c */
    lua_book_slot *slots;           /* by instrument id */
    size_t nslots;
    struct lutra_trade_view *trade_view;
    struct lutra_bar_view *bar_view;
    int trade_ref, bar_ref;
    int book_new_ref;               /* Lua: lud -> book object */
    int symbols_ref;                /* Lua table: instrument id -> symbol */

    /* lua_ctx.c */
    int order_ref, fill_ref, status_ref; /* the reused event tables */
    int format_ref;                 /* string.format as it was at load */
    const order **scratch;          /* ctx:open_orders' buffer */
    size_t scratch_cap;

    /* lua_timer.c */
    int timers_ref;                 /* Lua table: ref -> timer object */
    int timer_fns_ref;              /* Lua table: ref -> its function */
    int timer_meta_ref;

    /* lua_state.c */
    int state_touched;              /* stored 1 by Lua (FFI) when ctx.state is named */
    int state_box_ref;              /* Lua table whose [1] is ctx.state */
    struct lua_state_codec *state_codec; /* the encodings */
};

/*
 * Call the function below nargs arguments on top of the stack (pushed after
 * strategy_push_traceback: [traceback, fn, args...]) as handler `name`. A Lua
 * error fails the strategy with the message and traceback.
 * @return 0, or -1 if it failed. The stack is as before the push.
 */
int strategy_call(strategy *s, const char *name, int nargs);

/* Push the message handler (first of a call's pushes; nothing at the top
 * level, where it waits in a fixed slot) and ctx. */
void strategy_push_traceback(strategy *s);
void strategy_push_ctx(strategy *s);

/* Shortest decimal text of a number that reads back the same ("0.1", not
 * "0.10000000000000001"). buf of at least 32 bytes. */
const char *strategy_format_number(double v, char *buf, size_t len);

/* Push a sorted array of the string keys of the table at idx. */
void strategy_sorted_keys(strategy *s, int idx);

/* ---- lua_ctx.c ---- */

/* Create the ctx table with its methods and keep it (ctx_ref); the reused
 * event tables too. Runs inside a protected call (may raise). */
void lua_ctx_open(strategy *s);
/* Fill the table at idx with an order's fields (every field set or
 * cleared, so a reused table holds nothing from a previous order). */
void lua_ctx_order_fields(strategy *s, int idx, const order *o);
/* Push the reused event tables, filled. They intern strings: call them
 * inside a protected call. */
void lua_ctx_push_order(strategy *s, const order *o);
void lua_ctx_push_fill(strategy *s, const order *o, const oms_change *c);
void lua_ctx_push_status(strategy *s, const char *venue, const char *state,
                         const char *reason);

/* ---- lua_book.c ---- */

/* Declare the FFI types and views. Runs inside a protected call. */
void lua_book_open(strategy *s);
void lua_book_close(strategy *s);
/* The slot of an instrument, made (scales read, symbol registered) on first
 * use. @return NULL for an instrument the host does not know or out of
 * memory. Raises nothing: safe outside a protected call. */
lua_book_slot *lua_book_slot_get(strategy *s, uint32_t instrument);
/* Push the book object of an instrument with book.ts = ts (ns), or with ts
 * unchanged when ts < 0. @return 0, or -1 (nothing pushed). */
int lua_book_push(strategy *s, uint32_t instrument, int64_t ts);
/* Push the reused trade and bar views, filled. @return 0 or -1. */
int lua_book_push_trade(strategy *s, const lutra_trade *t);
int lua_book_push_bar(strategy *s, const lutra_bar *b, int64_t interval_ns);

/* ---- lua_timer.c ---- */

/* Add ctx:every and ctx:after to the ctx table at idx. Protected call. */
void lua_timer_open(strategy *s, int ctx_idx);
/* Fire the timer a host callback names. @return as strategy_call; 0 for a
 * timer that is gone. */
int lua_timer_fire(strategy *s, int ref);
/* Cancel every pending timer at the host (failure, free). */
void lua_timer_cancel_all(strategy *s);

/* ---- lua_state.c ---- */

/* Serve ctx.state from the metatable of the ctx table at idx (starting as
 * {}) and make the encoding buffers. Protected call. */
void lua_state_open(strategy *s, int ctx_idx);
/* Free the buffers (lua_State closed or not). */
void lua_state_close(strategy *s);

#endif
