/*
 * venue.h -- where the engine's orders go: the simulated venue in a backtest
 * or paper trading, a connector live. Reports come back through the sink
 * the venue was given.
 */
#ifndef LUTRA_VENUE_H
#define LUTRA_VENUE_H

#include <stdint.h>

#include "order.h"

/* A venue's reports go here (the engine's engine_on_exec). */
typedef void (*exec_sink)(void *ud, const exec_report *rep);

typedef struct venue_ops {
    /* Send a new order (status pending_new) at engine time now.
     * @return 0, or -1 when it could not even be sent (then a REJECTED
     * report follows through the sink). */
    int (*submit)(void *venue, const order *o, int64_t now);
    /* Ask to cancel an open order. @return 0 or -1 (as submit). */
    int (*cancel)(void *venue, const order *o, int64_t now);
} venue_ops;

#endif
