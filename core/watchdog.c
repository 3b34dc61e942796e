/*
 * watchdog.c -- the watchdog thread (watchdog.h).
 */
#include "watchdog.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

watchdog_state watchdog_now;

static _Atomic int64_t watchdog_timeout_ms;
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;
static int watchdog_error;

static void watchdog_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* A call is stuck when the same call (same counter, still inside) is seen
 * over more than the timeout: samples a quarter of the timeout apart. */
static void *watchdog_main(void *unused)
{
    uint64_t seen = 0;
    int64_t stuck_ms = 0;
    (void)unused;
    for (;;) {
        int64_t timeout = atomic_load(&watchdog_timeout_ms);
        int64_t step = timeout > 0 ? (timeout / 4 > 0 ? timeout / 4 : 1) : 250;
        uint64_t calls;
        watchdog_sleep_ms(step);
        calls = atomic_load_explicit(&watchdog_now.calls, memory_order_acquire);
        if (timeout <= 0 || atomic_load_explicit(&watchdog_now.depth, memory_order_acquire) == 0 ||
            calls != seen) {
            seen = calls;
            stuck_ms = 0;
            continue;
        }
        stuck_ms += step;
        if (stuck_ms < timeout)
            continue;
        fprintf(stderr,
                "lutra: watchdog: handler %s of strategy %s has run for more than %lld ms "
                "(a loop the JIT compiled cannot be interrupted); exiting with status %d\n",
                atomic_load(&watchdog_now.handler), atomic_load(&watchdog_now.strategy),
                (long long)timeout, WATCHDOG_EXIT_STATUS);
        _exit(WATCHDOG_EXIT_STATUS);
    }
    return NULL;
}

static void watchdog_spawn(void)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    watchdog_error = pthread_create(&t, &attr, watchdog_main, NULL);
    pthread_attr_destroy(&attr);
}

int watchdog_start(int64_t timeout_ms, char *err, size_t errlen)
{
    atomic_store(&watchdog_timeout_ms, timeout_ms);
    if (timeout_ms <= 0)
        return 0;
    pthread_once(&watchdog_once, watchdog_spawn);
    if (watchdog_error) {
        snprintf(err, errlen, "cannot start the watchdog thread: %s", strerror(watchdog_error));
        return -1;
    }
    return 0;
}
