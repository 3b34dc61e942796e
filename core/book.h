/*
 * book.h -- one L2 order book: price levels per side, aggregated quantity.
 *
 * The book applies what it is told: snapshots (clear, then levels) and deltas
 * (set a level; quantity 0 removes it). It does not repair anything: a
 * crossed book (best bid >= best ask) is reported by book_is_crossed and left
 * as the feed made it, because fixing it silently would hide a feed problem.
 *
 * Best bid and ask are O(1); level i (0 = best) costs O(1 + i/16), cheap near
 * the top where strategies read; any number of levels (Binance snapshots have
 * 5,000 a side).
 */
#ifndef LUTRA_BOOK_H
#define LUTRA_BOOK_H

#include <stddef.h>
#include <stdint.h>

#include "lutra_event.h"

typedef enum book_side { BOOK_BID = 0, BOOK_ASK = 1 } book_side;

typedef struct book_level {
    int64_t price;
    int64_t qty;
} book_level;

typedef struct book book;

/* @return a new empty book, or NULL when out of memory. */
book *book_new(void);
void book_free(book *b);

/* Remove every level of both sides. */
void book_clear(book *b);

/*
 * Set the level at price on a side to qty; qty 0 removes it (removing a
 * level that is not there is not an error). A negative qty is refused.
 * @return 0, or -1 (negative qty, out of memory) with the book unchanged.
 */
int book_apply_delta(book *b, book_side side, int64_t price, int64_t qty);

/*
 * Apply a LUTRA_EV_BOOK_CLEAR or LUTRA_EV_BOOK_DELTA record (the side from
 * LUTRA_F_BID). Other record types are ignored and return 0.
 * @return as book_apply_delta.
 */
int book_apply_event(book *b, const lutra_event *ev);

/* Number of levels on a side. */
size_t book_depth(const book *b, book_side side);

/* Level i of a side, 0 being the best. @return 0, or -1 if there is none. */
int book_level_at(const book *b, book_side side, size_t i, book_level *out);

/* Shorthands for level 0. */
int book_best_bid(const book *b, book_level *out);
int book_best_ask(const book *b, book_level *out);

/*
 * The best level of each side, indexed by book_side, qty 0 for an empty
 * side. The book keeps it current through every change, and the pointer is
 * the same for the book's whole life: a reader may keep it and read it at any
 * time without a call (the strategies' FFI book views do).
 */
const book_level *book_best_levels(const book *b);

/* Copy up to n levels of a side, best first. @return how many were copied. */
size_t book_top(const book *b, book_side side, book_level *out, size_t n);

/* @return 1 if both sides are non-empty and best bid >= best ask, else 0. */
int book_is_crossed(const book *b);

/* Quantity at an exact price, 0 if no such level. */
int64_t book_qty_at(const book *b, book_side side, int64_t price);

#endif
