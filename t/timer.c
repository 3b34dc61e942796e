/*
 * timer.c -- the timer heap: order by time, ties in insertion order,
 * repeating timers without drift, skipped periods, cancel and add from
 * inside callbacks, stale ids, and a randomized comparison with a naive
 * reference.
 */
#include <stdint.h>
#include <string.h>

#include "rng.h"
#include "tap.h"
#include "timer.h"

#define LOG_MAX 4096

/* What fired, in order: (arg, time of the run that fired it). */
typedef struct fire_log {
    int64_t arg[LOG_MAX];
    int64_t at_run[LOG_MAX];
    size_t n;
    int64_t now;
    timer_heap *th;
    uint64_t victim;      /* cancel_fn cancels this id */
    int cancel_result;
    uint64_t added;       /* add_fn stores the id it added */
} fire_log;

static void record_fn(void *ud, int64_t arg, uint64_t id)
{
    fire_log *log = ud;
    (void)id;
    if (log->n < LOG_MAX) {
        log->arg[log->n] = arg;
        log->at_run[log->n] = log->now;
        log->n++;
    }
}

static size_t run(fire_log *log, int64_t now)
{
    log->now = now;
    return timer_run(log->th, now);
}

static void test_order_and_ties(void)
{
    fire_log log = {0};
    log.th = timer_heap_new();
    timer_add(log.th, 30, 0, record_fn, &log, 3);
    timer_add(log.th, 10, 0, record_fn, &log, 1);
    timer_add(log.th, 20, 0, record_fn, &log, 21);
    timer_add(log.th, 20, 0, record_fn, &log, 22);
    timer_add(log.th, 20, 0, record_fn, &log, 23);

    is_int(timer_next_due(log.th), 10, "next due is the earliest");
    is_int(run(&log, 9), 0, "nothing fires before its time");
    is_int(run(&log, 20), 4, "a run fires everything due at or before now");
    ok(log.n == 4 && log.arg[0] == 1 && log.arg[1] == 21 && log.arg[2] == 22 && log.arg[3] == 23,
       "time order, and equal times in the order they were added");
    is_int(timer_pending(log.th), 1, "one left");
    is_int(timer_next_due(log.th), 30, "next due moved on");
    run(&log, 100);
    is_int(timer_next_due(log.th), INT64_MAX, "an empty heap has nothing due");
    timer_heap_free(log.th);
}

static void test_repeat(void)
{
    fire_log log = {0};
    uint64_t id;
    log.th = timer_heap_new();
    id = timer_add(log.th, 100, 10, record_fn, &log, 7);
    ok(id != 0, "repeating timer added");
    for (int64_t t = 100; t <= 150; t += 10)
        run(&log, t);
    is_int(log.n, 6, "fires once per period when run on time");
    is_int(timer_next_due(log.th), 160, "next period follows the schedule");

    /* Late runs: due time stays on the grid at + k * every, not now + every. */
    run(&log, 163);
    is_int(timer_next_due(log.th), 170, "a late run does not drift the schedule");

    /* A long gap fires once and skips the missed periods. */
    log.n = 0;
    is_int(run(&log, 1005), 1, "a run after many missed periods fires once");
    is_int(timer_next_due(log.th), 1010, "missed periods are skipped, next one after now");
    ok(timer_cancel(log.th, id) == 1 && timer_pending(log.th) == 0, "cancel a repeating timer");
    timer_heap_free(log.th);
}

static void cancel_fn(void *ud, int64_t arg, uint64_t id)
{
    fire_log *log = ud;
    record_fn(ud, arg, id);
    log->cancel_result = timer_cancel(log->th, log->victim);
}

static void cancel_self_fn(void *ud, int64_t arg, uint64_t id)
{
    fire_log *log = ud;
    record_fn(ud, arg, id);
    if (log->n >= 3)
        log->cancel_result = timer_cancel(log->th, id);
}

static void test_cancel_inside(void)
{
    fire_log log = {0};
    log.th = timer_heap_new();

    timer_add(log.th, 10, 0, cancel_fn, &log, 1);
    log.victim = timer_add(log.th, 10, 0, record_fn, &log, 2);
    timer_add(log.th, 10, 0, record_fn, &log, 3);
    run(&log, 10);
    ok(log.cancel_result == 1 && log.n == 2 && log.arg[1] == 3,
       "a callback cancels a timer due in the same run: it does not fire");

    /* A repeating timer cancelling itself stops. */
    log.n = 0;
    log.cancel_result = -1;
    timer_add(log.th, 20, 5, cancel_self_fn, &log, 9);
    for (int64_t t = 20; t <= 60; t += 5)
        run(&log, t);
    ok(log.n == 3 && log.cancel_result == 1, "a repeating timer cancels itself from its callback");
    is_int(timer_pending(log.th), 0, "and is gone");

    /* A one-shot timer cancelling itself: it already fired, nothing pending. */
    log.n = 0;
    log.cancel_result = -1;
    log.victim = 0;
    uint64_t id = timer_add(log.th, 70, 0, cancel_fn, &log, 4);
    log.victim = id;
    run(&log, 70);
    is_int(log.cancel_result, 0, "cancelling a one-shot timer from its own callback is a no-op");
    is_int(timer_cancel(log.th, id), 0, "cancelling a fired timer returns 0");
    timer_heap_free(log.th);
}

static void add_fn(void *ud, int64_t arg, uint64_t id)
{
    fire_log *log = ud;
    record_fn(ud, arg, id);
    if (arg == 1) {
        log->added = timer_add(log->th, log->now, 0, record_fn, log, 100);  /* due now */
        timer_add(log->th, log->now + 50, 0, record_fn, log, 101);         /* later */
    }
}

static void test_add_inside(void)
{
    fire_log log = {0};
    log.th = timer_heap_new();
    timer_add(log.th, 10, 0, add_fn, &log, 1);
    timer_add(log.th, 10, 0, record_fn, &log, 2);
    is_int(run(&log, 10), 3, "a timer added due now fires in the same run");
    ok(log.n == 3 && log.arg[0] == 1 && log.arg[1] == 2 && log.arg[2] == 100,
       "after the timers that were already due at that time");
    is_int(timer_next_due(log.th), 60, "a timer added for later waits");
    ok(log.added != 0, "ids from inside callbacks are valid");
    timer_heap_free(log.th);
}

static void test_stale_ids(void)
{
    timer_heap *th = timer_heap_new();
    fire_log log = {0};
    uint64_t a, b;
    log.th = th;
    a = timer_add(th, 10, 0, record_fn, &log, 1);
    ok(timer_cancel(th, a) == 1, "cancel a pending timer");
    ok(timer_cancel(th, a) == 0, "a second cancel is a no-op");
    b = timer_add(th, 20, 0, record_fn, &log, 2);
    ok(a != b, "a reused slot gets a different id");
    ok(timer_cancel(th, a) == 0 && timer_pending(th) == 1,
       "the old id does not cancel the slot's new timer");
    ok(timer_cancel(th, 0) == 0 && timer_cancel(th, UINT64_MAX) == 0, "nonsense ids are refused");
    timer_heap_free(th);
}

/* Random adds and cancels, checked against a naive scan of a plain list. */
typedef struct ref_timer {
    int64_t at;
    uint64_t seq;
    uint64_t id;
    int live;
} ref_timer;

static void test_random(void)
{
    enum { N = 2000 };
    static ref_timer ref[N];
    fire_log log = {0};
    rng r;
    int mismatches = 0;
    size_t nref = 0;
    uint64_t seq = 0;

    rng_seed(&r, 42, 1);
    log.th = timer_heap_new();
    for (int64_t now = 0; now < 4000; now += 7) {
        for (int k = 0; k < 3 && nref < N; k++) {
            int64_t at = now + rng_range(&r, 0, 299);
            ref[nref].at = at;
            ref[nref].seq = seq++;
            ref[nref].live = 1;
            ref[nref].id = timer_add(log.th, at, 0, record_fn, &log, (int64_t)nref);
            nref++;
        }
        if (nref && rng_chance(&r, 0.5)) {
            size_t victim = (size_t)rng_range(&r, 0, (int64_t)nref - 1);
            int want = ref[victim].live;
            if (timer_cancel(log.th, ref[victim].id) != want)
                mismatches++;
            ref[victim].live = 0;
        }
        log.n = 0;
        run(&log, now);
        /* Expected: live timers due <= now, by (at, seq). */
        for (size_t f = 0; f < log.n; f++) {
            size_t best = N;
            for (size_t i = 0; i < nref; i++) {
                if (!ref[i].live || ref[i].at > now)
                    continue;
                if (best == N || ref[i].at < ref[best].at ||
                    (ref[i].at == ref[best].at && ref[i].seq < ref[best].seq))
                    best = i;
            }
            if (best == N || (int64_t)best != log.arg[f])
                mismatches++;
            if (best != N)
                ref[best].live = 0;
        }
        for (size_t i = 0; i < nref; i++)
            if (ref[i].live && ref[i].at <= now)
                mismatches++;
    }
    is_int(mismatches, 0, "random adds, cancels and runs match a naive reference");
    timer_heap_free(log.th);
}

int main(void)
{
    plan(29);
    test_order_and_ties();
    test_repeat();
    test_cancel_inside();
    test_add_inside();
    test_stale_ids();
    test_random();
    return done();
}
