/*
 * reconcile.h -- a restart's reconciliation of one venue: the orders the
 * state store says are open, against what the venue says (DESIGN.md,
 * "State"; docs/state.md).
 *
 * Begun once the venue is ready and the store's records of it are restored
 * in the engine (engine_restore_venue). It asks the venue for its balances
 * and its open orders, then, for every order we hold open that the venue
 * did not list (or listed with more filled than we know), for that one
 * order by its client id: its fills come back as ordinary FILL reports
 * (applied once: the store knows their trade ids) and its last STATUS says
 * how it ended. So:
 *   - an order we wrote but the venue never received ends rejected, never
 *     resent;
 *   - an order filled or cancelled while we were down gets its fills and
 *     its final state;
 *   - an order we asked to cancel that the venue still holds open gets its
 *     cancel sent again (the request was lost with the process);
 *   - an order on the venue that we never sent is reported and left alone,
 *     unless adopt (the venue's adopt_orders): then it becomes lutra's,
 *     owned by no strategy;
 *   - balances, asked for last (they include the fills just recovered):
 *     the venue's replace ours (engine_venue_balance logs the difference).
 * The engine holds what strategies would hear until engine_start, which
 * the driver calls once every venue is reconciled.
 *
 * A reconciliation that does not complete in time (the venue unreachable,
 * an answer lost) starts again with a longer wait (doubling, at most a
 * minute), saying so in the log; strategies stay stopped meanwhile.
 */
#ifndef LUTRA_RECONCILE_H
#define LUTRA_RECONCILE_H

#include <stdint.h>

#include "engine.h"
#include "loop.h"
#include "lutra_order.h"

typedef struct reconcile reconcile;

/* How reconcile asks the venue (the connector's query calls). Each returns
 * 0 when the question went out, -1 when it could not be asked. */
typedef struct reconcile_venue_ops {
    int (*query_balances)(void *ud);
    int (*query_orders)(void *ud);  /* a STATUS per open order, then one with no id */
    int (*query_order)(void *ud, const order *o); /* its FILLs, then its STATUS */
} reconcile_venue_ops;

/* done(ud) is called once, when the venue is reconciled.
 * @return NULL when out of memory. */
reconcile *reconcile_new(engine *e, loop *lp, const char *venue, const reconcile_venue_ops *ops,
                         void *ud, void (*done)(void *ud));
void reconcile_free(reconcile *r);

/* Ask (again). */
void reconcile_start(reconcile *r);

/* A STATUS report from the venue. @return 1 if it was an answer to the
 * reconciliation (handled), 0 if not (the caller handles it). */
int reconcile_on_status(reconcile *r, const lutra_exec *x);

/*
 * The venue came back after a disconnect: what happened meanwhile (fills,
 * cancels, orders whose answer was lost) is learned the same way, while
 * the strategies run and hear it through their handlers. Orders created
 * from now on are not asked about (they may not have reached the venue
 * yet). One under way (what it heard may be from before the drop) is not
 * done when it would be: it starts over, its list asked for again.
 */
void reconcile_again(reconcile *r);

/* How long the first attempt may take before it is made again (default
 * 10 s; each retry waits twice as long, at most a minute). */
void reconcile_set_wait(reconcile *r, int64_t first_ns);

/* Adopt the venue's open orders that lutra did not send (default 0). */
void reconcile_set_adopt(reconcile *r, int adopt);

/*
 * Apply the venue's word on one order we hold (a single-order query's
 * STATUS, whoever asked): cancelled, expired, rejected (unknown to the
 * venue: never resent), acknowledged, or its cancel sent again. Also used
 * outside a reconciliation, when a connector settles an order whose
 * answer was lost. @return 1 settled (or nothing to do), 0 still unknown.
 */
int reconcile_settle(engine *e, const char *venue, order *o, const lutra_exec *x);

/* A balance report from the venue arrived (the driver applied it). */
void reconcile_on_balance(reconcile *r);

int reconcile_done(const reconcile *r);

#endif
