/*
 * risk.h -- pre-trade risk gates.
 *
 * Every order passes the gates before it leaves, in this order, each with
 * its own reason "risk: <gate>: <detail>" (ctx:buy/ctx:sell return it as
 * nil, reason):
 *
 *   valid          symbol known, qty > 0, price > 0 for limits, on the price
 *                  and size increments, at least min_qty and min_notional
 *   balance        oms_check_balance (spot: funds; margin: leverage)
 *   max_order      qty <= max_order_qty and notional <= max_order_notional
 *   price_band     a limit price within price_band_pct of the reference price
 *   position       |position after a full fill| <= max_position[symbol]
 *   exposure       gross exposure after a full fill <= max_gross_exposure
 *   open_orders    open orders < max_open_orders
 *   rate           orders_per_second token bucket (burst = max(1, rate))
 *   daily_loss     equity fell max_daily_loss below the day's start (UTC day)
 *   kill_switch    set by an operator or tripped by daily_loss
 *
 * A zero limit means "no limit". A tripped daily loss limit or kill switch
 * refuses every new order until risk_resume; the engine cancels open orders
 * when risk_check_order first reports the trip (risk_tripped).
 *
 * Time is the engine's clock (virtual in a backtest), never the wall clock.
 */
#ifndef LUTRA_RISK_H
#define LUTRA_RISK_H

#include <stddef.h>
#include <stdint.h>

#include "instrument.h"
#include "oms.h"
#include "order.h"

#define RISK_MAX_POSITION_LIMITS 64

typedef struct risk_limits {
    double max_order_qty;         /* base units */
    double max_order_notional;    /* quote units */
    double price_band_pct;        /* percent */
    struct {
        char symbol[LUTRA_SYMBOL_MAX];
        double qty;               /* base units */
    } max_position[RISK_MAX_POSITION_LIMITS];
    size_t nmax_position;
    double max_gross_exposure;    /* quote units */
    int max_open_orders;
    double orders_per_second;
    double max_daily_loss;        /* quote units, positive */
} risk_limits;

/* What the gates read from the engine. */
typedef struct risk_view {
    const instrument_registry *reg;
    const oms *oms;
    /* Reference price of an instrument (mid, else last trade; price scale),
     * 0 when unknown. */
    int64_t (*ref_price)(void *ud, uint32_t instrument);
    /* Equity in the quote asset of reference (money units). */
    int64_t (*equity)(void *ud);
    void *ud;
} risk_view;

typedef struct risk risk;

/* @return the gates, or NULL with err set (a max_position symbol the
 * registry does not know is NOT an error: it may appear later). */
risk *risk_new(const risk_limits *limits, char *err, size_t errlen);
void risk_free(risk *r);

/* Replace the limits (configuration reload). */
void risk_set_limits(risk *r, const risk_limits *limits);

/*
 * Run every gate on req at engine time now.
 * @return 0 (the order may go: the rate bucket has been charged), or -1
 * with reason "risk: <gate>: <detail>".
 */
int risk_check_order(risk *r, const risk_view *v, const order_request *req, int64_t now,
                     char *reason, size_t len);

/* Feed the equity after fills and on a timer, for the daily loss gate.
 * @return 1 if this call tripped the daily loss limit, else 0. */
int risk_on_equity(risk *r, int64_t equity, int64_t now);

/* Operator controls. */
void risk_kill(risk *r, const char *why);
void risk_resume(risk *r);
/* 1 while the kill switch (or a tripped daily loss) refuses orders; the
 * reason in *why. */
int risk_tripped(const risk *r, const char **why);

#endif
