/*
 * loop.h -- the live event loop: one libevent event_base, the wall clock,
 * timers and signals.
 *
 * The live and paper drivers run the engine on this loop; transports (the
 * HTTP client, the WebSocket wake-ups) register their events on the same
 * base through loop_base(). Everything here runs on the thread that calls
 * loop_run; none of it is thread-safe.
 *
 * Handles: a timer or signal handle is the caller's until it is cancelled
 * (loop_timer_cancel, loop_signal_remove), except a one-shot timer, which
 * the loop frees when its callback returns. Cancelling from inside the
 * handle's own callback is allowed. loop_free frees whatever is left.
 */
#ifndef LUTRA_LOOP_H
#define LUTRA_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct loop loop;
typedef struct loop_timer loop_timer;
typedef struct loop_signal loop_signal;
typedef struct loop_deferred loop_deferred;

/* A timer fired; t stays valid during the call (see the handle rules). */
typedef void (*loop_timer_fn)(loop_timer *t, void *ud);
/* signo was delivered (handled on the loop thread, not in a signal handler). */
typedef void (*loop_signal_fn)(loop_signal *s, int signo, void *ud);

/* @return a new loop, or NULL with the reason in err. */
loop *loop_new(char *err, size_t errlen);
/* Free the loop and every timer and signal handle still registered on it.
 * Transports using loop_base() must be freed first. */
void loop_free(loop *lp);

/* The libevent base, for transports that add their own events to it. */
struct event_base *loop_base(loop *lp);

/*
 * Run until loop_break is called or nothing is left to wait for.
 * @return 0, or -1 with the reason in err when libevent failed.
 */
int loop_run(loop *lp, char *err, size_t errlen);
/* Make loop_run return after the callback that is running now. */
void loop_break(loop *lp);
/* Run once over whatever is ready now, without waiting. @return 0 or -1. */
int loop_run_nowait(loop *lp);

/* The wall clock (CLOCK_REALTIME) in ns since the epoch: the live clock. */
int64_t loop_now_ns(void);
/* The same, shaped as the engine's clock (engine_set_clock); ud unused. */
int64_t loop_clock(void *ud);

/*
 * Call fn after delay_ns, then, if every_ns > 0, every every_ns after that
 * (a repeating timer keeps its period from the moment it fired). Negative
 * delays count as 0.
 * @return the handle, or NULL with the reason in err.
 */
loop_timer *loop_timer_add(loop *lp, int64_t delay_ns, int64_t every_ns, loop_timer_fn fn,
                           void *ud, char *err, size_t errlen);
/* Stop the timer and free its handle; safe inside its own callback. */
void loop_timer_cancel(loop_timer *t);
/* How many times the timer has fired. */
uint64_t loop_timer_fired(const loop_timer *t);

/*
 * Handle signo (SIGINT, SIGTERM, SIGHUP, ...) on the loop: fn runs from the
 * loop, never inside the signal handler, so it may do anything. Handling a
 * signal the loop already handles is an error.
 * @return the handle, or NULL with the reason in err.
 */
loop_signal *loop_signal_add(loop *lp, int signo, loop_signal_fn fn, void *ud, char *err,
                             size_t errlen);
/* Stop handling the signal (its previous disposition returns); safe inside
 * its own callback. */
void loop_signal_remove(loop_signal *s);

/*
 * A deferred call: loop_deferred_schedule asks for fn(ud) to run once, after
 * the callbacks already due in this turn of the loop (and those they make
 * due), before the loop waits again. Scheduling it again before it ran
 * changes nothing: a burst of work makes one call. The engine's group
 * commit runs this way, once per turn.
 */
loop_deferred *loop_deferred_new(loop *lp, void (*fn)(void *ud), void *ud, char *err,
                                 size_t errlen);
void loop_deferred_schedule(loop_deferred *d);
/* Free it (safe inside its own call). NULL is accepted. */
void loop_deferred_free(loop_deferred *d);

#endif
