/*
 * spsc.h -- a single-producer single-consumer ring of pointers over
 * Concurrency Kit's ck_ring.
 *
 * One thread pushes, one other thread pops, no lock: the ring is how the
 * WebSocket I/O thread and the engine thread hand each other frames. A ring
 * of `slots` (a power of two) holds at most slots - 1 pointers.
 */
#ifndef LUTRA_SPSC_H
#define LUTRA_SPSC_H

#include <ck_ring.h>
#include <stdlib.h>

typedef struct spsc {
    ck_ring_t ring;
    ck_ring_buffer_t *slots;
} spsc;

/* @return 0, or -1 when slots is not a power of two >= 2 or memory ran out. */
static inline int spsc_init(spsc *q, unsigned slots)
{
    if (slots < 2 || (slots & (slots - 1)) != 0)
        return -1;
    q->slots = calloc(slots, sizeof *q->slots);
    if (!q->slots)
        return -1;
    ck_ring_init(&q->ring, slots);
    return 0;
}

static inline void spsc_destroy(spsc *q)
{
    free(q->slots);
    q->slots = NULL;
}

/* Producer only. @return 1 if pushed, 0 if the ring is full. */
static inline int spsc_push(spsc *q, void *p)
{
    return ck_ring_enqueue_spsc(&q->ring, q->slots, p);
}

/* Consumer only. @return the oldest pointer, or NULL when the ring is empty. */
static inline void *spsc_pop(spsc *q)
{
    void *p;
    return ck_ring_dequeue_spsc(&q->ring, q->slots, &p) ? p : NULL;
}

#endif
