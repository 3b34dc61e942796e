/*
 * backtest.h -- the backtest driver: a tight loop over the replay, the
 * engine's timers and the simulated venue, on virtual time.
 *
 * Each turn takes the earliest of: the next market event, the venue's next
 * job (an order arriving, a report to deliver) and the engine's next timer;
 * at equal times market data comes first, then the venue, then timers. A
 * market event goes to the venue's books and the venue first, then (after
 * the feed latency, when one is set) to the engine. The clock the engine
 * reads is the time of the turn.
 */
#ifndef LUTRA_BACKTEST_H
#define LUTRA_BACKTEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "report.h"
#include "venue_sim.h"

typedef struct backtest_options {
    const char *strategy_path;
    const char *strategy_name;       /* NULL: the file's stem */
    const char *const *data;         /* native event files */
    size_t ndata;
    const strategy_param *params;    /* -p, after the config's */
    size_t nparams;
    const config *cfg;               /* NULL: defaults */
    double cash;                     /* < 0: from the config, else 10000 */
    const char *const *balances;     /* "ASSET=AMOUNT" */
    size_t nbalances;
    double fee_maker_bps, fee_taker_bps; /* < 0: from the config, else 2 / 5 */
    int64_t from, to;                /* INT64_MIN / INT64_MAX: all */
    double periods_per_year;         /* 0: config, else 365 */
    const char *out_dir;             /* NULL: no files written */
    const char *lib_path;            /* scripts/lib */
    int quiet;
    int progress;                    /* show progress on stderr */
} backtest_options;

typedef struct backtest_result {
    int strategy_failed;             /* a handler raised: the run's exit is non-zero */
    uint64_t events;                 /* messages or rows (report.json's events) */
    uint64_t records;                /* native records: book levels counted one by one */
    double wall_seconds;
    char fills_sha256[65];
} backtest_result;

/*
 * Run a whole backtest and write its report. @return 0 (the run completed;
 * check res->strategy_failed), or -1 with err set (bad input: a file, a
 * strategy that does not load, a symbol the data does not have).
 */
int backtest_run(const backtest_options *opt, backtest_result *res, report **rep_out,
                 char *err, size_t errlen);

#endif
