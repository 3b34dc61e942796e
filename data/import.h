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

#include "csv.h"
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

/* Buffer one event (head.instrument a registry id, head.size ignored; only
 * the type's own size is read). @return 0, or -1 (out of memory, unknown
 * type or instrument) with the error recorded. */
int import_emit(import_ctx *ic, const lutra_event *ev);

/*
 * Record a bad row at the current input's line and 1-based column:
 * @return -1 when the import must stop (no --skip-bad), 0 when the row is
 * skipped and counted (with the events it had emitted dropped). The message
 * names file, line and column.
 */
int import_bad_row(import_ctx *ic, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The current input's path and reader (for the importer's loop). */
const char *import_input_path(const import_ctx *ic);
lineread *import_input(import_ctx *ic);
const import_options *import_opts(const import_ctx *ic);
instrument_registry *import_registry(import_ctx *ic);

/* ---- Helpers every importer shares ---- */

/*
 * The next line of the current input, counted as a row read (the lines
 * detection looked at come first). The line is the reader's buffer: it may
 * be changed in place (csv_split) and is valid until the next call. Progress
 * is shown from here.
 * @return 1; 0 at the end; -1 with the error recorded.
 */
int import_next_line(import_ctx *ic, char **line, size_t *len);

/* Number of the line import_next_line returned last, from 1. */
uint64_t import_lineno(const import_ctx *ic);

/* Record an error about the current input as a whole ("FILE: message").
 * @return -1. */
int import_fail(import_ctx *ic, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The error recorded last (by import_number, import_instrument, ...). */
const char *import_last_error(const import_ctx *ic);

/* import_bad_row at a given line of the current input (a check made after
 * the row was read); the row's events are the importer's to drop. */
int import_bad_row_at(import_ctx *ic, uint64_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Parse the decimals f[0..n) of one kind into out[0..n), all at the scale
 * the finest of them needs (a value parsed before the scale rose is parsed
 * again). A value that does not parse makes the row bad, named at its column.
 * @return 0; 1 when the row is bad and skipped (--skip-bad); -1 to stop.
 */
int import_fields(import_ctx *ic, int32_t inst, import_num_kind kind,
                  const csv_field *const *f, size_t n, int64_t *out);

/* Parse an integer field; a bad one makes the row bad. @return as import_fields. */
int import_field_int(import_ctx *ic, const csv_field *f, const char *what, int64_t *out);

/* Copy a name (venue, symbol) into buf, NUL-terminated; an empty one, or
 * one longer than cap - 1, makes the row bad. @return as import_fields. */
int import_field_name(import_ctx *ic, const csv_field *f, const char *what, char *buf,
                      size_t cap);

/* Mark the event buffered last as the end of its message (LUTRA_F_LAST),
 * if the current input emitted it. */
void import_end_message(import_ctx *ic);

/* The buffered events, for an importer that completes its own after reading
 * (OHLCV bars get their close time once the interval is known). A pointer
 * is valid until the next import_emit. */
size_t import_event_count(const import_ctx *ic);
lutra_event *import_event_at(import_ctx *ic, size_t i);
/* Leave a buffered event out of the output. */
void import_drop_event(import_ctx *ic, size_t i);

/* csv_split a copy of line into buf (detect's lines are read-only).
 * @return as csv_split, or -1 when the line does not fit in cap bytes. */
int import_split_copy(const char *line, size_t len, char *buf, size_t cap, csv_field *fields,
                      int max);

/* A strict decimal integer s[0..len). @return 0, or -1 (syntax, range). */
int import_int64(const char *s, size_t len, int64_t *out);

/*
 * A count since the epoch in seconds, ms, µs or ns, told by its magnitude
 * (< 1e11 seconds, < 1e14 ms, < 1e17 µs, else ns), to ns; *unit_ns (may be
 * NULL) gets the unit found. @return 0, or -1 (negative, beyond int64 ns).
 */
int import_epoch_ns(int64_t v, int64_t *ns, int64_t *unit_ns);

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
    /* Optional: free what the importer kept in *import_state(ic) across
     * inputs, once, at the end of the import. */
    void (*finish)(void *state);
} importer;

/*
 * The current importer's slot for state kept across inputs of one import
 * (NULL at first): a capture continued in a second file needs the first
 * file's book synchronisation. Freed by the importer's finish.
 */
void **import_state(import_ctx *ic);

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
