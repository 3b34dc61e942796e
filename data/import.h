/*
 * import.h -- turning the formats users have into native event files.
 *
 * `lutra import` is a loop over importers: each knows one input format
 * (Tardis CSV, Binance public CSV, Binance raw captures through the binance
 * connector's decode, generic OHLCV CSV), can tell from a file's first lines
 * whether it is its format, and turns rows into events through the shared
 * import context below. The context keeps every event in memory, merges all
 * inputs in receive-time order (stable: one message's records stay
 * together), infers instrument scales from the numbers it sees, and writes
 * the native file at the end.
 */
#ifndef LUTRA_IMPORT_H
#define LUTRA_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "instrument.h"
#include "lineread.h"
#include "lutra_event.h"

typedef struct import_options {
    const char *format;  /* NULL: detect */
    const char *symbol;  /* --symbol: BASE/QUOTE or plain; NULL: from the data */
    const char *venue;   /* --venue; NULL: the format's own */
    const char *tick;    /* --tick price increment; NULL: finest the data uses */
    const char *lot;     /* --lot size increment; NULL: finest the data uses */
    int skip_bad;        /* --skip-bad: count bad rows instead of failing */
    int quiet;           /* no progress on stderr */
} import_options;

typedef struct import_ctx import_ctx;

/* Numbers a row carries: prices and sizes scale differently. */
typedef enum import_num_kind { IMPORT_PRICE = 0, IMPORT_SIZE = 1 } import_num_kind;

/*
 * The instrument a row belongs to, defined on first use. Without --tick or
 * --lot its scales start at 0 and grow to the finest decimals seen (events
 * already buffered are rescaled exactly); with them they are fixed and a
 * finer value is an error. base/quote may be NULL (split from the symbol).
 * @return the registry id, or -1 with the error recorded.
 */
int32_t import_instrument(import_ctx *ic, const char *venue, const char *symbol,
                          const char *base, const char *quote);

/*
 * Parse a decimal into the instrument's current scale for kind.
 * @return 0, or -1 with the error recorded (syntax, precision, overflow).
 */
int import_number(import_ctx *ic, int32_t inst, import_num_kind kind, const char *s,
                  size_t len, int64_t *out);

/* Buffer one event (head.instrument a registry id, head.size ignored).
 * @return 0, or -1 out of memory. */
int import_emit(import_ctx *ic, const lutra_event *ev);

/*
 * Record a bad row at the current input's line and 1-based column:
 * @return -1 when the import must stop (no --skip-bad), 0 when the row is
 * skipped and counted. The message names file, line and column.
 */
int import_bad_row(import_ctx *ic, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The current input's path and reader (for the importer's loop). */
const char *import_input_path(const import_ctx *ic);
lineread *import_input(import_ctx *ic);
const import_options *import_opts(const import_ctx *ic);
instrument_registry *import_registry(import_ctx *ic);

/*
 * An importer. detect gets the first few lines of a file (up to 8, fewer for
 * short files) and returns a confidence 0..100. run reads the whole input
 * through import_input(ic) and returns 0, or -1 after recording an error.
 */
typedef struct importer {
    const char *name;        /* the --format name */
    const char *description; /* one line, for --help */
    int (*detect)(const char *const *lines, const size_t *lens, size_t n);
    int (*run)(import_ctx *ic);
} importer;

/* Every importer, NULL-terminated. */
extern const importer *const import_formats[];

typedef struct import_report {
    uint64_t rows;       /* input lines or messages read */
    uint64_t events;     /* records written */
    uint64_t bad_rows;   /* skipped with --skip-bad */
    uint64_t gaps;       /* sequence gaps the data reported */
} import_report;

/*
 * Import inputs into output. @return 0, or -1 with err set (naming file,
 * line and column for bad input). On failure no output file is left behind.
 */
int import_run(const import_options *opt, const char *const *inputs, size_t n,
               const char *output, import_report *rep, char *err, size_t errlen);

#endif
