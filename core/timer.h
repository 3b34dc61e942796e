/*
 * timer.h -- a min-heap of timers on the engine's clock (virtual time in a
 * backtest, the wall clock live). The engine fires what is due; a driver
 * asks timer_next_due to know how far it may run before it must call back.
 */
#ifndef LUTRA_TIMER_H
#define LUTRA_TIMER_H

#include <stddef.h>
#include <stdint.h>

typedef struct timer_heap timer_heap;

/* What a timer does when it fires: fn(ud, arg, id). */
typedef void (*timer_fn)(void *ud, int64_t arg, uint64_t id);

timer_heap *timer_heap_new(void);
void timer_heap_free(timer_heap *th);

/*
 * Schedule fn at time `at`, then every `every` ns after it if every > 0.
 * @return the timer's id (never 0), or 0 when out of memory.
 */
uint64_t timer_add(timer_heap *th, int64_t at, int64_t every, timer_fn fn, void *ud,
                   int64_t arg);

/* Cancel a timer (a no-op for an id that already fired or was cancelled).
 * @return 1 if it was pending, else 0. */
int timer_cancel(timer_heap *th, uint64_t id);

/* Time of the earliest pending timer, INT64_MAX when none. */
int64_t timer_next_due(const timer_heap *th);

/*
 * Fire every timer due at or before now, in time order (ties in the order
 * they were added); a repeating timer is rescheduled at its due time +
 * every (not now + every, so it does not drift), skipping missed periods.
 * A callback may add or cancel timers. @return how many fired.
 */
size_t timer_run(timer_heap *th, int64_t now);

size_t timer_pending(const timer_heap *th);

#endif
