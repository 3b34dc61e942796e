/*
 * watchdog.h -- a thread that notices a Lua handler that never returns.
 *
 * LuaJIT runs no hook inside a compiled trace, so a handler stuck in a loop
 * the JIT compiled cannot be interrupted from inside (DESIGN.md, "Strategy
 * API"). The watchdog thread samples a call counter that the engine thread
 * bumps on every handler entry; if a handler is still inside the same call
 * after the timeout, the thread prints which strategy and handler and ends
 * the process with WATCHDOG_EXIT_STATUS, for a supervisor to restart it
 * (state is durable). Interpreted loops are caught earlier, and only their
 * strategy stopped, by the runtime's count hook.
 *
 * The hot path is two relaxed atomic stores per handler call, no clock.
 */
#ifndef LUTRA_WATCHDOG_H
#define LUTRA_WATCHDOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Exit status of a process the watchdog ended (sysexits' EX_SOFTWARE). */
#define WATCHDOG_EXIT_STATUS 70

typedef struct watchdog_state {
    _Atomic uint64_t calls;         /* bumped on every entry */
    _Atomic int depth;              /* handlers running (nested calls count) */
    _Atomic(const char *) strategy; /* of the outermost call */
    _Atomic(const char *) handler;
} watchdog_state;

extern watchdog_state watchdog_now;

/* Called by the strategy runtime around each handler call. The names must
 * outlive the call (a strategy's name, a static handler name). */
static inline void watchdog_enter(const char *strategy, const char *handler)
{
    int d = atomic_load_explicit(&watchdog_now.depth, memory_order_relaxed);
    if (d == 0) {
        atomic_store_explicit(&watchdog_now.strategy, strategy, memory_order_relaxed);
        atomic_store_explicit(&watchdog_now.handler, handler, memory_order_relaxed);
        atomic_store_explicit(&watchdog_now.calls,
                              atomic_load_explicit(&watchdog_now.calls, memory_order_relaxed) + 1,
                              memory_order_release);
    }
    atomic_store_explicit(&watchdog_now.depth, d + 1, memory_order_release);
}

static inline void watchdog_leave(void)
{
    atomic_store_explicit(&watchdog_now.depth,
                          atomic_load_explicit(&watchdog_now.depth, memory_order_relaxed) - 1,
                          memory_order_release);
}

/*
 * Start the thread (once per process; later calls only change the timeout).
 * timeout_ms <= 0 turns the watchdog off. @return 0, or -1 with err set.
 */
int watchdog_start(int64_t timeout_ms, char *err, size_t errlen);

#endif
