/*
 * order_hold.h -- orders that wait for their venue: the submits and
 * cancels strategies make while a venue's connector is being replaced
 * (core/live_swap.c, docs/hot-reload.md), kept in arrival order until the new
 * connector can take them or the wait ends.
 *
 * A held submit that is released stays known as "sent" until the venue's
 * first report of it: the venue's reconciliation may ask about it in
 * between, and that report is then its answer; a question sent to the
 * venue would race the order (order_hold_owe, order_hold_acked).
 *
 * Entries are few (what arrives during a reload); lookups scan.
 */
#ifndef LUTRA_ORDER_HOLD_H
#define LUTRA_ORDER_HOLD_H

#include <stddef.h>

typedef enum order_hold_kind { ORDER_HOLD_SUBMIT = 1, ORDER_HOLD_CANCEL = 2 } order_hold_kind;

/* Where an order stands in the hold. */
typedef enum order_hold_state {
    ORDER_HOLD_NONE = 0, /* not here */
    ORDER_HOLD_HELD,     /* its submit waits */
    ORDER_HOLD_SENT      /* released, no report of it yet */
} order_hold_state;

typedef struct order_hold order_hold;

/* Handed each released (or dropped) entry, in arrival order. */
typedef void (*order_hold_fn)(void *ud, order_hold_kind kind, const char *order_id);

/* @return an empty hold, or NULL when out of memory. */
order_hold *order_hold_new(void);
/* NULL is accepted. */
void order_hold_free(order_hold *h);

/* Keep one submit or cancel. @return 0, or -1 when out of memory. */
int order_hold_add(order_hold *h, order_hold_kind kind, const char *order_id);

/* Entries still held (not yet released). */
size_t order_hold_count(const order_hold *h);

order_hold_state order_hold_state_of(const order_hold *h, const char *order_id);

/*
 * Release every held entry to fn, in arrival order. Submits become SENT
 * (already during fn); cancels are forgotten. fn must not change this hold.
 */
void order_hold_release(order_hold *h, order_hold_fn fn, void *ud);

/* Hand every held entry of kind to fn and forget it (the wait is over:
 * fn refuses them). The others stay. fn must not change this hold. */
void order_hold_drop(order_hold *h, order_hold_kind kind, order_hold_fn fn, void *ud);

/* A question about a SENT order is owed: its first report answers it. */
void order_hold_owe(order_hold *h, const char *order_id);

/* The venue reported on order_id: it is forgotten.
 * @return 1 when a question about it was owed (answer it now), else 0. */
int order_hold_acked(order_hold *h, const char *order_id);

/* Forget everything. */
void order_hold_clear(order_hold *h);

#endif
