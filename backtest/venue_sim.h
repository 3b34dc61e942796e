/*
 * venue_sim.h -- the simulated venue of backtests (and paper trading).
 *
 * Tick mode (book and trade data):
 *   - an order reaches the venue order_latency after it was sent; the venue's
 *     reports reach the engine response_latency after they happen; each a
 *     constant or drawn from a distribution with a fixed seed (rng.h);
 *   - market orders walk the venue's book from the touch (partial fills
 *     when it runs out; the rest expires);
 *   - a limit order that crosses the book on arrival takes liquidity like a
 *     market order up to its price (taker), the rest rests (GTC), expires
 *     (IOC), or the whole is refused unless it fills entirely (FOK);
 *     post-only is rejected if it would cross;
 *   - a resting limit order keeps a queue position: conservative (default):
 *     the quantity at its price when it arrived is ahead of it; traded volume
 *     at its price first consumes what is ahead, then fills it (maker);
 *     levels that shrink without trades do not advance it. Optimistic: it
 *     is placed first in the queue (any trade at or through its price fills
 *     it). A trade through its price (strictly better for the taker) fills
 *     it whatever the queue;
 *   - our own fills never change the book (the data is what it is); the
 *     report says so;
 *   - fees in basis points: maker and taker.
 * Bar mode (bar data): a market order fills at the open of the first bar
 * that opens after it was sent; a limit buy fills when a later bar's low
 * trades through its price (at the limit, or at the open if the bar opens
 * below it), sells mirror it; stop orders trigger when a bar reaches the
 * stop (at the stop, or at the open if it gaps past) and then fill as market
 * (stop) or limit (stop_limit); no latency in bar mode; fills of a bar come
 * before the strategy's on_bar of that bar. Orders still open when the data
 * ends are cancelled (sim_finish).
 *
 * The venue has its own books (fed with the same events as the engine's,
 * before them), so a feed latency can make the strategy's view lag the
 * venue's.
 */
#ifndef LUTRA_VENUE_SIM_H
#define LUTRA_VENUE_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "bookset.h"
#include "config.h"
#include "instrument.h"
#include "order.h"
#include "rng.h"
#include "venue.h"

typedef enum sim_latency_kind {
    SIM_LATENCY_CONSTANT = 0,
    SIM_LATENCY_NORMAL = 1,      /* mean, sd; truncated at 0 */
    SIM_LATENCY_EXPONENTIAL = 2, /* mean */
    SIM_LATENCY_UNIFORM = 3      /* [min, max] */
} sim_latency_kind;

typedef struct sim_latency {
    sim_latency_kind kind;
    int64_t a_ns;   /* constant / mean / min */
    int64_t b_ns;   /* sd / max */
} sim_latency;

/* One latency drawn from its distribution (truncated at 0), ns. The driver
 * draws its feed latency with this too, so every latency means the same. */
int64_t sim_latency_draw(const sim_latency *l, rng *r);

/* A latency as the configuration file gives it (ms, a distribution's name). */
sim_latency sim_latency_from_config(const config_latency *l);

typedef enum sim_queue_model { SIM_QUEUE_CONSERVATIVE = 0, SIM_QUEUE_OPTIMISTIC = 1 } sim_queue_model;

typedef struct sim_config {
    int bar_mode;                 /* 1: bar data rules */
    sim_latency order_latency;
    sim_latency response_latency;
    sim_latency feed_latency;     /* applied by the driver, carried here for the report */
    sim_queue_model queue;
    double maker_fee_bps;
    double taker_fee_bps;
    uint64_t seed;
} sim_config;

typedef struct sim_venue sim_venue;

/* reg is shared; books are the venue's own (owned by the caller, fed by the
 * driver before sim_on_market). Reports go to sink(ud, rep). */
sim_venue *sim_new(const sim_config *cfg, const instrument_registry *reg, const bookset *books,
                   exec_sink sink, void *ud, char *err, size_t errlen);
void sim_free(sim_venue *v);

/* The venue_ops to give the engine (venue pointer: the sim_venue). */
extern const venue_ops sim_venue_ops;

/*
 * A market event, after the driver applied it to the venue's books: trades
 * fill resting orders by the queue model; book changes may make resting or
 * triggered orders marketable; bars fill by the bar rules (reports of a bar's
 * fills are delivered at once, before the driver hands the bar to the
 * engine). @return 0 or -1 (out of memory).
 */
int sim_on_market(sim_venue *v, const lutra_event *ev);

/* Time of the next thing the venue must do (an order arriving, a report to
 * deliver), INT64_MAX when none. */
int64_t sim_next_time(const sim_venue *v);

/* Do everything due at or before now, in time order. */
void sim_advance(sim_venue *v, int64_t now);

/* Data ended: cancel every open order (reason "data ended") and deliver all
 * pending reports. */
void sim_finish(sim_venue *v, int64_t now);

/* One line describing the models and their parameters, for the report
 * ("queue=conservative order_latency=constant(1ms) ..."), and as JSON. */
const char *sim_describe(const sim_venue *v);
const char *sim_describe_json(const sim_venue *v);

#endif
