/*
 * timer.c -- a binary min-heap of timers ordered by (due time, insertion
 * sequence).
 *
 * Timers live in slots that are reused through a free list; the heap holds
 * slot numbers and every slot knows its place in the heap, so a cancel
 * removes the timer at once (no lazy deletion, nothing left to grow). An id
 * is the slot number plus one in the low 32 bits and the slot's generation
 * in the high 32 bits: an id that fired or was cancelled no longer matches
 * its slot, which may meanwhile hold another timer.
 *
 * Firing allocates nothing: a repeating timer keeps its slot, a one-shot
 * timer's slot goes back to the free list.
 */
#include "timer.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

typedef struct timer_slot {
    int64_t at;        /* next due time */
    int64_t every;     /* period, 0 for a one-shot timer */
    uint64_t seq;      /* insertion order, breaks ties between equal times */
    timer_fn fn;
    void *ud;
    int64_t arg;
    uint32_t gen;      /* bumped when the slot is freed */
    uint32_t heap_pos; /* index in heap while active */
    uint32_t next_free;/* free list link (slot + 1, 0 ends the list) */
    int active;
} timer_slot;

struct timer_heap {
    timer_slot *slot;
    size_t nslot, capslot;
    uint32_t free_head;   /* first free slot + 1, 0 when none */
    uint32_t *heap;       /* slot numbers */
    size_t nheap, capheap;
    uint64_t next_seq;
};

timer_heap *timer_heap_new(void)
{
    return calloc(1, sizeof(timer_heap));
}

void timer_heap_free(timer_heap *th)
{
    if (!th)
        return;
    free(th->slot);
    free(th->heap);
    free(th);
}

/* ---- Heap order ---- */

static int timer_before(const timer_heap *th, uint32_t a, uint32_t b)
{
    const timer_slot *x = &th->slot[a], *y = &th->slot[b];
    return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

static void timer_heap_place(timer_heap *th, size_t pos, uint32_t slot)
{
    th->heap[pos] = slot;
    th->slot[slot].heap_pos = (uint32_t)pos;
}

static void timer_sift_up(timer_heap *th, size_t pos)
{
    uint32_t slot = th->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!timer_before(th, slot, th->heap[parent]))
            break;
        timer_heap_place(th, pos, th->heap[parent]);
        pos = parent;
    }
    timer_heap_place(th, pos, slot);
}

static void timer_sift_down(timer_heap *th, size_t pos)
{
    uint32_t slot = th->heap[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= th->nheap)
            break;
        if (child + 1 < th->nheap && timer_before(th, th->heap[child + 1], th->heap[child]))
            child++;
        if (!timer_before(th, th->heap[child], slot))
            break;
        timer_heap_place(th, pos, th->heap[child]);
        pos = child;
    }
    timer_heap_place(th, pos, slot);
}

static void timer_heap_push(timer_heap *th, uint32_t slot)
{
    th->slot[slot].seq = th->next_seq++;
    timer_heap_place(th, th->nheap++, slot);
    timer_sift_up(th, th->nheap - 1);
}

static void timer_heap_remove(timer_heap *th, size_t pos)
{
    uint32_t last = th->heap[--th->nheap];
    if (pos == th->nheap)
        return;
    timer_heap_place(th, pos, last);
    /* The moved timer may belong above or below its new place. */
    timer_sift_up(th, pos);
    timer_sift_down(th, th->slot[last].heap_pos);
}

/* ---- Slots ---- */

static int timer_reserve(timer_heap *th)
{
    uint32_t *heap = grow_capacity(th->heap, &th->capheap, th->nheap + 1, sizeof *heap, 16);
    timer_slot *slot;

    if (!heap)
        return -1;
    th->heap = heap;
    if (th->free_head != 0)
        return 0;
    /* Slot numbers are uint32_t, 0 meaning none. */
    if (th->nslot + 1 > UINT32_MAX - 1)
        return -1;
    if (!(slot = grow_capacity(th->slot, &th->capslot, th->nslot + 1, sizeof *slot, 16)))
        return -1;
    th->slot = slot;
    return 0;
}

static uint32_t timer_slot_take(timer_heap *th)
{
    uint32_t i;
    if (th->free_head) {
        i = th->free_head - 1;
        th->free_head = th->slot[i].next_free;
        return i;
    }
    i = (uint32_t)th->nslot++;
    memset(&th->slot[i], 0, sizeof th->slot[i]);
    th->slot[i].gen = 1;
    return i;
}

static void timer_slot_release(timer_heap *th, uint32_t i)
{
    timer_slot *t = &th->slot[i];
    t->active = 0;
    t->gen = t->gen == UINT32_MAX ? 1 : t->gen + 1;
    t->next_free = th->free_head;
    th->free_head = i + 1;
}

static uint64_t timer_id(const timer_heap *th, uint32_t i)
{
    return (uint64_t)th->slot[i].gen << 32 | (uint64_t)(i + 1);
}

/* The slot an id names, or -1 when it is not a pending timer. */
static int64_t timer_lookup(const timer_heap *th, uint64_t id)
{
    uint32_t low = (uint32_t)id;
    uint32_t gen = (uint32_t)(id >> 32);
    if (low == 0 || low > th->nslot)
        return -1;
    if (!th->slot[low - 1].active || th->slot[low - 1].gen != gen)
        return -1;
    return (int64_t)(low - 1);
}

/* ---- API ---- */

uint64_t timer_add(timer_heap *th, int64_t at, int64_t every, timer_fn fn, void *ud,
                   int64_t arg)
{
    uint32_t i;
    timer_slot *t;

    if (!fn || timer_reserve(th) < 0)
        return 0;
    i = timer_slot_take(th);
    t = &th->slot[i];
    t->at = at;
    t->every = every > 0 ? every : 0;
    t->fn = fn;
    t->ud = ud;
    t->arg = arg;
    t->active = 1;
    timer_heap_push(th, i);
    return timer_id(th, i);
}

int timer_cancel(timer_heap *th, uint64_t id)
{
    int64_t i = timer_lookup(th, id);
    if (i < 0)
        return 0;
    timer_heap_remove(th, th->slot[i].heap_pos);
    timer_slot_release(th, (uint32_t)i);
    return 1;
}

int64_t timer_next_due(const timer_heap *th)
{
    return th->nheap ? th->slot[th->heap[0]].at : INT64_MAX;
}

size_t timer_pending(const timer_heap *th)
{
    return th->nheap;
}

/* The first time at + k * every (k >= 1) that is after now: missed periods
 * are skipped rather than fired in a burst. INT64_MAX if beyond time. */
static int64_t timer_next_period(int64_t at, int64_t every, int64_t now)
{
    int64_t k = 1;
    if (now >= at)
        k = (now - at) / every + 1;
    if (k > (INT64_MAX - at) / every)
        return INT64_MAX;
    return at + k * every;
}

size_t timer_run(timer_heap *th, int64_t now)
{
    size_t fired = 0;

    while (th->nheap && th->slot[th->heap[0]].at <= now) {
        uint32_t i = th->heap[0];
        timer_slot *t = &th->slot[i];
        timer_fn fn = t->fn;
        void *ud = t->ud;
        int64_t arg = t->arg;
        uint64_t id = timer_id(th, i);

        timer_heap_remove(th, 0);
        if (t->every > 0) {
            /* Back in the heap before the call, so the callback can cancel it. */
            t->at = timer_next_period(t->at, t->every, now);
            timer_heap_push(th, i);
        } else {
            timer_slot_release(th, i);
        }
        fired++;
        fn(ud, arg, id);
    }
    return fired;
}
