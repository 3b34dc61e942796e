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
#include "instrument.h"
#include "lutra_event.h"

typedef struct replay replay;

/* Open every file. @return the replay, or NULL with err naming the file. */
replay *replay_open(const char *const *paths, size_t n, instrument_registry *reg,
                    char *err, size_t errlen);
void replay_close(replay *rp);

/*
 * The next event (a copy owned by the replay, valid until the next call),
 * after applying it to its book if it is a book record. NULL at the end.
 */
const lutra_event *replay_next(replay *rp);

/* The book of a registry id (NULL if it has none yet: no book record seen). */
book *replay_book(replay *rp, uint32_t instrument);

/*
 * 1 if the instrument's book is synchronised: a snapshot was applied (a
 * BOOK_CLEAR with LUTRA_F_SNAPSHOT) or a STATUS READY came, and no STATUS
 * SYNCING or DISCONNECTED since. A book built from deltas alone, with no
 * snapshot, is never called synchronised.
 */
int replay_synced(const replay *rp, uint32_t instrument);

/* Crossed moments seen (book crossed at the end of a message). */
uint64_t replay_crossed(const replay *rp, uint32_t instrument);

/* Files that ended in a cut-off record; names for messages. */
size_t replay_file_count(const replay *rp);
const char *replay_file_path(const replay *rp, size_t i);
size_t replay_file_truncated(const replay *rp, size_t i);
int replay_file_corrupt(const replay *rp, size_t i, const char **why);

#endif
