/*
 * report.h -- what a backtest tells its user: report.json (field names are
 * API: DESIGN.md "Backtest truth"), trades.csv, fills.csv, equity.csv, a
 * self-contained report.html, and a printed summary.
 *
 * The backtest driver feeds it fills and equity as the run goes, then the
 * totals, then asks it to write. Money is in money units (money.h) and
 * printed as decimals; times are engine ns, printed ISO-8601 UTC.
 *
 * Rules: percentages are in percent; max_drawdown_pct is positive; trades
 * counts closed round trips (flat to flat, a crossing of zero closes one
 * and opens the next); a position open at the end is marked to market in
 * final_equity and not counted; sharpe and sortino are annualised from
 * daily returns of equity (UTC days; sqrt(periods_per_year), default 365)
 * and null with fewer than two daily returns; profit_factor is null with
 * no losing trade, win_rate null with no trade; fills_sha256 is the SHA-256
 * of fills.csv's bytes (OpenSSL).
 */
#ifndef LUTRA_REPORT_H
#define LUTRA_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "instrument.h"
#include "oms.h"
#include "order.h"

typedef struct report report;

typedef struct report_meta {
    const char *strategy;        /* name */
    const char *params_json;     /* the final params as a JSON object */
    int bar_mode;                /* mode "bar" or "tick" */
    double periods_per_year;     /* 0: 365 */
    const char *equity_asset;    /* "USDT" */
    const char *models_json;     /* the venue's models and parameters (JSON object) */
    const char *models_text;     /* the same, one line, for the summary */
} report_meta;

report *report_new(const report_meta *meta, const instrument_registry *reg);
void report_free(report *r);

/* A fill (after the OMS applied it): a fills.csv row, and the round trip
 * bookkeeping of its instrument from the position after it. */
int report_on_fill(report *r, const order *o, const oms_change *c, const oms_position *after,
                   int64_t now);

/* Equity at engine time now (call it after fills and at least once per
 * simulated hour; the report keeps the curve and each UTC day's close). */
int report_on_equity(report *r, int64_t now, int64_t equity);

typedef struct report_totals {
    uint64_t events;             /* messages or rows read (not level changes) */
    int64_t start, end;          /* first and last event times */
    int64_t initial_equity, final_equity;
    uint64_t orders, rejected, fills;
    int64_t fees;                /* money units, all fills */
    double wall_seconds;
    const char *error;           /* a strategy's error and traceback, or NULL */
} report_totals;

void report_finish(report *r, const report_totals *t);

/* Write report.json, trades.csv, fills.csv, equity.csv and report.html into
 * dir (created if missing). @return 0, or -1 with err set. */
int report_write(report *r, const char *dir, char *err, size_t errlen);

/* The summary table a user reads first. */
void report_print_summary(const report *r, FILE *out);

/* The SHA-256 of fills.csv, hex (valid after report_write). */
const char *report_fills_sha256(const report *r);

#endif
