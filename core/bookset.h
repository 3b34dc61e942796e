/*
 * bookset.h -- one L2 book per instrument, kept from book records, with the
 * facts about each that users ask for: is it synchronised, how often was it
 * crossed at the end of a message. The replay's readers (lutra inspect), the
 * engine and the simulated venue all keep their books through this.
 */
#ifndef LUTRA_BOOKSET_H
#define LUTRA_BOOKSET_H

#include <stddef.h>
#include <stdint.h>

#include "book.h"
#include "lutra_event.h"

typedef struct bookset bookset;

bookset *bookset_new(void);
void bookset_free(bookset *bs);

/*
 * Apply one event (head.instrument a registry id): book records change the
 * instrument's book (created on its first book record); STATUS records
 * change its synced state; other types are ignored.
 * @return 0, or -1 if the book refused the record (negative quantity, out of
 * memory) with the book unchanged.
 */
int bookset_apply(bookset *bs, const lutra_event *ev);

/* The instrument's book, NULL if it has had no book record. */
book *bookset_book(const bookset *bs, uint32_t instrument);

/*
 * 1 if synchronised: a snapshot was applied (a BOOK_CLEAR with
 * LUTRA_F_SNAPSHOT) or a STATUS READY came, and no STATUS SYNCING or
 * DISCONNECTED since. A book built from deltas alone is never synchronised.
 */
int bookset_synced(const bookset *bs, uint32_t instrument);

/* Messages after which the book was crossed (checked at LUTRA_F_LAST). */
uint64_t bookset_crossed(const bookset *bs, uint32_t instrument);

#endif
