/*
 * state.h -- the durable state store: one LMDB environment in the state
 * folder holding every order, fill, position, balance and strategy state,
 * and the metadata that says which schema wrote them (DESIGN.md, "State").
 *
 * Group commit. Writes go into one write transaction, the batch, begun by
 * the first write after a commit; state_commit makes the whole batch
 * durable at once (one sync per batch with sync = full). The engine
 * commits once per turn of the event loop, before any order written in
 * the batch leaves the process and before any strategy hears of a change
 * written in it: a kill at any instant loses only what nobody outside the
 * process has seen.
 *
 * Failure leaves no undefined state: a write or a commit that fails aborts
 * the batch (the store keeps the last committed batch, unchanged) and says
 * why in err. The map grows by itself when full, up to map_max; past it,
 * "state store full" is the error.
 *
 * One writer: the engine thread. Readers (lutra state dump, check, backup)
 * may run in other processes while it writes; LMDB gives them a consistent
 * snapshot.
 *
 * Records carry their own scales, venue and symbol, so a store reads
 * without the instrument registry (lutra state dump works offline).
 * Prices and quantities are int64 fixed point at price_scale / size_scale
 * decimals; amounts of an asset are money units (1e-8).
 */
#ifndef LUTRA_STATE_H
#define LUTRA_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "lutra_event.h"
#include "order.h"

/* The schema this build writes. A store written by a newer one is refused;
 * an older one is migrated on open (state_open). */
#define STATE_SCHEMA_VERSION 1

#define STATE_NAME_MAX 64  /* strategy names */

typedef enum state_sync {
    STATE_SYNC_FULL = 0, /* every commit is on disk when state_commit returns (live) */
    STATE_SYNC_NONE = 1  /* the OS writes it when it likes: a crash of the machine
                          * (not of the process) may lose recent batches (paper) */
} state_sync;

/* A folder in memory (tmpfs, ramfs) has no disk to wait for: a commit there
 * survives a kill of the process whatever the sync, and nothing survives a
 * crash of the machine, so no sync call is made (state_in_memory says so). */

typedef struct state_options {
    const char *dir;       /* the state folder; created (mode 0700) if absent */
    state_sync sync;
    size_t map_size;       /* initial map, bytes; 0: 64 MiB */
    size_t map_max;        /* the map never grows past it; 0: 64 GiB */
    int read_only;         /* 1: readers (dump, check); never writes, no migration */
    int writemap;          /* 1: the writer maps the file writable (LMDB's MDB_WRITEMAP):
                            * commits cost about half, but a stray write into the map by
                            * any code of the process corrupts the store instead of
                            * crashing the process */
} state_options;

typedef struct state_store state_store;

/* An order as stored: everything needed to restore it in the OMS and to
 * dump it. */
typedef struct state_order {
    char id[ORDER_ID_MAX + 1];
    char venue[LUTRA_VENUE_MAX];
    char symbol[LUTRA_SYMBOL_MAX];
    char strategy[STATE_NAME_MAX];  /* owning strategy's name ("" if none: adopted) */
    char tag[ORDER_TAG_MAX + 1];
    uint8_t side;                   /* order_side */
    uint8_t type;                   /* order_type */
    uint8_t tif;                    /* order_tif */
    uint8_t status;                 /* order_status */
    uint8_t price_scale, size_scale;
    int64_t price, stop_price, qty, filled;
    int64_t filled_value;           /* money units of the quote */
    int64_t fees;                   /* money units of fee_asset */
    char fee_asset[LUTRA_ASSET_MAX];
    int64_t locked;                 /* money units still locked (spot) */
    int64_t ts_created, ts_updated; /* ns */
    char venue_order_id[48];
    char reason[ORDER_REASON_MAX];
} state_order;

/* One fill. (order_id, trade_id) is its key: a fill put twice is stored
 * once (state_put_fill says which). */
typedef struct state_fill {
    char order_id[ORDER_ID_MAX + 1];
    char trade_id[48];              /* the venue's; "" becomes "<order_id>#<seq>" */
    char venue[LUTRA_VENUE_MAX];
    char symbol[LUTRA_SYMBOL_MAX];
    uint8_t side, liquidity;        /* order_side, order_liquidity */
    uint8_t price_scale, size_scale;
    int64_t price, qty;
    int64_t fee;                    /* money units of fee_asset */
    char fee_asset[LUTRA_ASSET_MAX];
    int64_t ts;                     /* the venue's time of the fill, ns */
} state_fill;

typedef struct state_position {
    char venue[LUTRA_VENUE_MAX];
    char symbol[LUTRA_SYMBOL_MAX];
    uint8_t price_scale, size_scale;
    int64_t qty;                    /* signed, size scale */
    int64_t seed_qty;               /* held before any fill (oms_seed_position) */
    int64_t cost;                   /* money units of the quote, signed */
    int64_t realized_pnl, fees;     /* money units */
} state_position;

typedef struct state_balance {
    char venue[LUTRA_VENUE_MAX];
    char asset[LUTRA_ASSET_MAX];
    int64_t free, locked;           /* money units */
} state_balance;

/*
 * Open (or create) the store in opt->dir. Errors name the folder and say
 * what to do: not writable ("state folder X is not writable: ..."), written
 * by a newer schema ("state store X has schema 3; this lutra reads up to
 * 1: upgrade lutra"), not a lutra store, in use by another writer (one
 * writer per store: an flock on X/writer.lock), out of memory. A refused
 * open writes nothing to the store.
 * @return the store, or NULL with err set.
 */
state_store *state_open(const state_options *opt, char *err, size_t errlen);

/* Abort any uncommitted batch and close. NULL is accepted. */
void state_close(state_store *st);

/* 1 if the folder is in memory (tmpfs, ramfs): commits make no sync call. */
int state_in_memory(const state_store *st);

/* In memory (tmpfs): allocate the file's pages past the end of the data,
 * where the next batches will grow, a few at a time, so that a commit
 * does not stop to have the kernel allocate and clear one (on tmpfs, every
 * few orders); and have the kernel map into the process the pages the
 * next batches will touch (madvise MADV_POPULATE_*), so that they take no
 * page fault. It changes no byte of the store. Cheap when there is
 * nothing to do; call it off the order path (the live driver does after
 * each message). Elsewhere, or once the system refuses, a no-op. */
void state_preallocate(state_store *st);

/* ---- Writes: into the batch ---- */

/* Insert or replace an order; the open-order index follows its status
 * (order_status_is_open). */
int state_put_order(state_store *st, const state_order *o, char *err, size_t errlen);

/* Add a fill. @return 0 (stored), 1 (already stored: nothing changed), or
 * -1 with err set. */
int state_put_fill(state_store *st, const state_fill *f, char *err, size_t errlen);

int state_put_position(state_store *st, const state_position *p, char *err, size_t errlen);
int state_put_balance(state_store *st, const state_balance *b, char *err, size_t errlen);

/* A strategy's ctx.state, as the strategy runtime encoded it (msgpack). */
int state_put_strategy(state_store *st, const char *name, const void *data, size_t len,
                       char *err, size_t errlen);

/* The next client order sequence number: ids are never reused, even after
 * a crash, because the number is stored in the batch that stores the
 * order. */
int state_put_order_seq(state_store *st, uint64_t next, char *err, size_t errlen);

/* Make the batch durable. Nothing to commit is a success.
 * @return 0, or -1 with err set (the batch is aborted: see above). */
int state_commit(state_store *st, char *err, size_t errlen);

/* Drop the batch. */
void state_abort(state_store *st);

/*
 * Open the next batch now, before anything is written to it, and have it
 * copy the pages its first writes will likely change: those around
 * next_order_id (NULL: none) in the orders and the open index, and those
 * of the keys the last committed batch wrote (orders, open index,
 * positions, balances; up to 32). Nothing in the store changes: each page
 * gets its own bytes back. The batch stays open until a write joins it and
 * a commit ends it (a commit with no write keeps it); until then readers,
 * here and in other processes, see the last commit as before.
 *
 * A writer calls it where it waits for its next event (the live driver
 * does after each message): the transaction's start and LMDB's
 * copy-on-write of those pages then leave the path of the order that
 * comes next (docs/state.md, "Preparing the next batch").
 *
 * @return 0, also when there is nothing to do (a batch or a snapshot is
 * open, or the store is read-only); -1 when LMDB refused (state_error
 * says why): no batch is left open, and the next write meets the same
 * cause and reports it.
 */
int state_prepare(state_store *st, const char *next_order_id);

/* ---- Reads: the batch's view while one is open, else the last commit ---- */

/* @return 1 found, 0 not found, -1 error. */
int state_get_order(state_store *st, const char *id, state_order *out, char *err,
                    size_t errlen);
/* 1 if the fill (order_id, trade_id) is stored (batch included), 0 if not,
 * -1 on error: a fill heard twice (pushed, then found by a query after a
 * reconnect) is applied once. */
int state_has_fill(state_store *st, const char *order_id, const char *trade_id);
/* 1 when never stored; 0 when the store cannot be read (state_error says
 * why): never a number already used. */
uint64_t state_get_order_seq(state_store *st);
uint32_t state_schema(const state_store *st);

/* The message of the last failure, for the functions that have no err
 * parameter (state_each_*, state_get_order_seq, state_snapshot_begin). */
const char *state_error(const state_store *st);

/* Read everything that follows from one commit until state_snapshot_end
 * (lutra state dump and check read several kinds of record while another
 * process writes). No write is accepted meanwhile. Reads inside a batch
 * see the batch whatever this says. @return 0, or -1 (state_error). */
int state_snapshot_begin(state_store *st);
void state_snapshot_end(state_store *st);

/* A strategy's saved state: *data points into the store, valid until the
 * next write or commit. @return 1 found, 0 none, -1 error. */
int state_get_strategy(state_store *st, const char *name, const void **data, size_t *len,
                       char *err, size_t errlen);

/* Visit records in key order; a visitor returning non-zero stops the walk
 * and its value is returned. open_only: only orders in the open index.
 * A visitor may read but not write. @return 0 after the last record, the
 * visitor's value, or -1 on a record that cannot be read (state_error). */
typedef int (*state_order_fn)(void *ud, const state_order *o);
typedef int (*state_fill_fn)(void *ud, const state_fill *f);
typedef int (*state_position_fn)(void *ud, const state_position *p);
typedef int (*state_balance_fn)(void *ud, const state_balance *b);
typedef int (*state_strategy_fn)(void *ud, const char *name, const void *data, size_t len);

int state_each_order(state_store *st, int open_only, state_order_fn fn, void *ud);
int state_each_fill(state_store *st, state_fill_fn fn, void *ud);
int state_each_position(state_store *st, state_position_fn fn, void *ud);
int state_each_balance(state_store *st, state_balance_fn fn, void *ud);
int state_each_strategy(state_store *st, state_strategy_fn fn, void *ud);

/* ---- Tools ---- */

/*
 * Verify the store: every open-index entry names an open order and every
 * open order is in the index; each order's filled and filled_value equal
 * the sum of its fills; each position's qty equals its seed_qty plus the
 * signed sum of its symbol's fills (buys add, sells subtract); every fill
 * names a stored order. A record that cannot be decoded is a problem too,
 * listed once with why, and the check goes on without it. Each problem is
 * passed to problem(ud, text) (NULL: only counted). One snapshot is read
 * throughout.
 * @return the number of problems (0: consistent), or -1 with err set (the
 * store could not be read).
 */
int state_check(state_store *st, void (*problem)(void *ud, const char *text), void *ud,
                char *err, size_t errlen);

/* A consistent, compacted copy of the store into dest_dir (created; must
 * be empty), safe while another process writes. @return 0 or -1. */
int state_backup(state_store *st, const char *dest_dir, char *err, size_t errlen);

#endif
