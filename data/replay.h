/*
 * replay.h -- the backtest's feed: several event files merged by receive time,
 * with book records applied to one L2 book per instrument.
 *
 * Instruments of every file go into one registry (the same venue and symbol
 * in two files must agree); events come out with head.instrument rewritten
 * to the registry id. Ties in receive time keep file order, then record
 * order, so a message's records stay together.
 */
#ifndef LUTRA_REPLAY_H
#define LUTRA_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "book.h"
#include "bookset.h"
#include "instrument.h"
#include "lutra_event.h"

typedef struct replay replay;

/* Open every file. @return the replay, or NULL with err naming the file. */
replay *replay_open(const char *const *paths, size_t n, instrument_registry *reg,
                    char *err, size_t errlen);
void replay_close(replay *rp);

/*
 * The next event (read-only: in the file's mapping, or a copy when instrument
 * ids are remapped; valid until the next call),
 * after applying it to its book if it is a book record. NULL at the end.
 * A file that ends in a cut-off record simply ends there. A corrupt record
 * (or one the book refuses, such as a negative quantity) stops the whole
 * replay right after that file's last good record, since nothing after it
 * can be put in order: replay_file_corrupt then says where and why.
 */
const lutra_event *replay_next(replay *rp);

/* Receive time of the event replay_next would return next, INT64_MAX at the
 * end: lets a caller act on the state just before a given time. */
int64_t replay_peek_time(replay *rp);

/* The books the replay keeps (NULL after replay_keep_books(rp, 0)). */
bookset *replay_bookset(replay *rp);

/* keep 0: stop applying book records (a caller that applies them to its own
 * books, such as the backtest engine, saves the work). Call before reading. */
void replay_keep_books(replay *rp, int keep);

/* The book of a registry id (NULL if it has none yet: no book record seen). */
book *replay_book(replay *rp, uint32_t instrument);

/*
 * 1 if the instrument's book is synchronised: a snapshot was applied (a
 * BOOK_CLEAR with LUTRA_F_SNAPSHOT) or a STATUS READY came, and no STATUS
 * SYNCING or DISCONNECTED since. A book built from deltas alone, with no
 * snapshot, is never called synchronised (so a BOOK_CLEAR without
 * LUTRA_F_SNAPSHOT makes it unsynchronised).
 */
int replay_synced(const replay *rp, uint32_t instrument);

/* Crossed moments seen: records with LUTRA_F_LAST after which the
 * instrument's book was crossed (book_is_crossed). */
uint64_t replay_crossed(const replay *rp, uint32_t instrument);

/* Fraction of the files' records read so far, 0..1 (by bytes), for progress. */
double replay_progress(const replay *rp);

/* The files, in the order given, for messages: path, bytes of a cut-off
 * last record (0 if it ended cleanly), and whether it stopped the replay at
 * a corrupt record (1, with *why set to the reason naming the byte offset). */
size_t replay_file_count(const replay *rp);
const char *replay_file_path(const replay *rp, size_t i);
size_t replay_file_truncated(const replay *rp, size_t i);
int replay_file_corrupt(const replay *rp, size_t i, const char **why);

#endif
