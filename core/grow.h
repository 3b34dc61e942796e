/*
 * grow.h -- growing arrays: the two ways lutra grows them.
 *
 * Both return the (possibly moved) array, or NULL when memory ran out; then
 * the array and its count are unchanged, so a caller keeps what it had.
 */
#ifndef LUTRA_GROW_H
#define LUTRA_GROW_H

#include <stddef.h>

/*
 * An array indexed by an id (instrument, strategy) covering index `id`:
 * *n grows to id + slack, the new elements zeroed.
 */
void *grow_to_index(void *arr, size_t *n, size_t id, size_t size, size_t slack);

/*
 * A buffer whose capacity *cap reaches `need` elements, doubling from
 * `first`, so appending one at a time costs O(1) amortised.
 */
void *grow_capacity(void *arr, size_t *cap, size_t need, size_t size, size_t first);

#endif
