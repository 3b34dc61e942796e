/*
 * journal.h -- the engine's durable side: every change the engine makes to
 * an order, fill, position, balance or strategy state, written into the
 * state store's batch (core/state.h), and what must wait for that batch to
 * be committed: orders to send, and changes to tell strategies.
 *
 * The rule it serves (DESIGN.md, "State"): an order is committed before its
 * request leaves the process, and every venue event that changes an order,
 * position or balance is committed before any strategy hears of it. The
 * engine writes and queues as things happen; the driver calls
 * engine_flush once per turn of its loop, which commits the batch (one
 * sync), then sends and tells what was queued; a cancel queued behind an
 * order of the batch has its record written after that order has gone,
 * and committed (a second sync) before it goes itself. A kill at any
 * instant loses only what nobody outside the process has seen.
 *
 * Write errors are sticky: the first one is kept (journal_error) and every
 * later write fails at once, so the engine can stop trading on a store it
 * can no longer trust.
 */
#ifndef LUTRA_JOURNAL_H
#define LUTRA_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "instrument.h"
#include "oms.h"
#include "order.h"
#include "state.h"

typedef struct journal journal;

/* What waits for the commit. */
typedef enum journal_kind {
    JOURNAL_SUBMIT = 0, /* send the order (by id) */
    JOURNAL_CANCEL = 1, /* send its cancel */
    JOURNAL_ORDER = 2,  /* tell its strategy: on_order, with the order as it was then */
    JOURNAL_FILL = 3    /* tell its strategy: on_fill */
} journal_kind;

typedef struct journal_item {
    journal_kind kind;
    int unwritten;      /* JOURNAL_CANCEL: the order's record is not in the batch yet
                           (journal_queue_unwritten) */
    order snap;         /* the order after the change (sends: its id is what counts) */
    oms_change chg;     /* JOURNAL_FILL: the fill (chg.order is not kept: use &snap) */
} journal_item;

/* st and reg are shared, not owned. @return NULL when out of memory. */
journal *journal_new(state_store *st, const instrument_registry *reg);
void journal_free(journal *j);
state_store *journal_store(journal *j);

/* ---- Writes into the batch. Each @return 0, or -1 (journal_error) ---- */

/* An order record; strategy is its owner's name; next_seq, when not 0, is
 * the id sequence after it (a new order). The store keeps a sequence
 * reserved ahead of next_seq (JOURNAL_SEQ_BLOCK ids at a time), so most
 * new orders write no sequence at all; a restart continues after the
 * reservation, skipping at most that many ids and never reusing one. */
#define JOURNAL_SEQ_BLOCK 1024
int journal_order(journal *j, const order *o, const char *strategy, uint64_t next_seq);
/* A fill of o. @return 0 stored, 1 already stored (a repeat: apply nothing), -1. */
int journal_fill(journal *j, const order *o, const exec_report *rep);
/* 1 if this fill was stored before (check before applying it), 0 if not, -1. */
int journal_fill_seen(journal *j, const exec_report *rep);
int journal_position(journal *j, uint32_t instrument, const oms_position *p);
int journal_balance(journal *j, const char *venue, const char *asset, const oms_balance *b);
int journal_strategy_state(journal *j, const char *name, const void *data, size_t len);

/* ---- The queue ---- */

int journal_queue(journal *j, journal_kind kind, const order *o, const oms_change *chg);
/* Queue o's cancel without having written its record: whoever drains the
 * queue writes it and commits before sending the cancel (engine_flush
 * does once the items queued before it are out). */
int journal_queue_unwritten(journal *j, const order *o);
/* Items queued so far (the engine drains them in order); of them, orders
 * to send. */
size_t journal_pending(const journal *j);
size_t journal_pending_submits(const journal *j);
/* Move the queue out: *items (owned by the journal, valid until the next
 * journal_take) and its length; the queue is empty afterwards. */
size_t journal_take(journal *j, journal_item **items);

/* Commit the batch. @return 0, or -1 (journal_error). */
int journal_commit(journal *j);

/* Open the next batch ahead of its first write (state_prepare), around
 * next_order_id among others. A failure changes nothing and is not the
 * journal's error: the next write meets its cause and reports it. */
void journal_prepare(journal *j, const char *next_order_id);

/* The first error, or NULL. */
const char *journal_error(const journal *j);

/* ---- Restart ---- */

typedef struct journal_restored {
    size_t open_orders, positions, balances;
} journal_restored;

/*
 * Load one venue's records into the OMS: its positions and balances, its
 * open orders (closed ones stay in the store: dump shows them). Only
 * instruments the registry knows are restored; an order of an unknown one
 * is an error naming it. strategy_index maps an owner's name to the
 * engine's index (-1: no such strategy now; the order is kept, owned by
 * nobody). @return 0, or -1 with err set.
 */
int journal_restore(journal *j, oms *o, const char *venue,
                    int (*strategy_index)(void *ud, const char *name), void *ud,
                    journal_restored *out, char *err, size_t errlen);

#endif
