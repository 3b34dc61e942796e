/*
 * t/loop.c -- the live event loop: timers (one-shot, repeating, cancelled
 * before firing and inside their own callback), the wall clock, and a
 * signal reaching its handler through the loop. Every run has a deadline
 * timer that breaks the loop and fails the test.
 */
#include <signal.h>
#include <time.h>

#include "loop.h"
#include "tap.h"

#define MS INT64_C(1000000)

static char err[256];
static int deadline_hit;

static void on_deadline(loop_timer *t, void *ud)
{
    (void)t;
    deadline_hit = 1;
    loop_break(ud);
}

/* Run lp until something calls loop_break; @return 1 if that came before
 * ms passed, 0 if the deadline did. */
static int run_for(loop *lp, int64_t ms)
{
    loop_timer *deadline = loop_timer_add(lp, ms * MS, 0, on_deadline, lp, err, sizeof err);

    deadline_hit = 0;
    if (!deadline || loop_run(lp, err, sizeof err) < 0) {
        diag("%s", err);
        return 0;
    }
    if (!deadline_hit)
        loop_timer_cancel(deadline);
    return !deadline_hit;
}

/* ---- one-shot timers fire once, in the order of their deadlines ---- */

static int order[4];
static int norder;

static void on_record(loop_timer *t, void *ud)
{
    (void)t;
    order[norder++] = (int)(intptr_t)ud;
}

static void on_break(loop_timer *t, void *ud)
{
    (void)t;
    loop_break(ud);
}

static void test_one_shot(loop *lp)
{
    loop_timer *late = loop_timer_add(lp, 30 * MS, 0, on_record, (void *)(intptr_t)2, err,
                                      sizeof err);
    loop_timer *early = loop_timer_add(lp, 10 * MS, 0, on_record, (void *)(intptr_t)1, err,
                                       sizeof err);
    loop_timer *never = loop_timer_add(lp, 20 * MS, 0, on_record, (void *)(intptr_t)3, err,
                                       sizeof err);

    ok(late && early && never, "one-shot timers created");
    loop_timer_cancel(never);
    loop_timer_add(lp, 60 * MS, 0, on_break, lp, err, sizeof err);
    ok(run_for(lp, 2000), "one-shot: the loop ran to the last timer before the deadline");
    is_int(norder, 2, "one-shot: two timers fired, the cancelled one did not");
    ok(order[0] == 1 && order[1] == 2, "one-shot: they fired in deadline order (%d, %d)",
       order[0], order[1]);
}

/* ---- a repeating timer cancels itself inside its callback ---- */

static int repeat_calls;

static void on_repeat(loop_timer *t, void *ud)
{
    repeat_calls++;
    if (loop_timer_fired(t) == 5) {
        loop_timer_cancel(t);
        loop_timer_add(ud, 40 * MS, 0, on_break, ud, err, sizeof err);
    }
}

static void test_repeat_cancel_inside(loop *lp)
{
    ok(loop_timer_add(lp, 5 * MS, 5 * MS, on_repeat, lp, err, sizeof err) != NULL,
       "repeating timer created");
    ok(run_for(lp, 2000), "repeat: done before the deadline");
    is_int(repeat_calls, 5, "repeat: fired 5 times, none after it cancelled itself");
}

/* ---- a first delay unlike the period; a one-shot cancelled inside ---- */

static int64_t first_at, second_at;

/* Intervals are measured on the monotonic clock, as libevent keeps them. */
static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_delayed_repeat(loop_timer *t, void *ud)
{
    if (loop_timer_fired(t) == 1) {
        first_at = mono_ns();
        return;
    }
    second_at = mono_ns();
    loop_timer_cancel(t);
    loop_break(ud);
}

static int one_shot_self_cancel;

static void on_self_cancel(loop_timer *t, void *ud)
{
    (void)ud;
    one_shot_self_cancel++;
    loop_timer_cancel(t); /* allowed: freed once, after this returns */
}

static void test_delay_then_period(loop *lp)
{
    int64_t start = mono_ns();

    loop_timer_add(lp, 5 * MS, 0, on_self_cancel, NULL, err, sizeof err);
    ok(loop_timer_add(lp, 30 * MS, 2 * MS, on_delayed_repeat, lp, err, sizeof err) != NULL,
       "timer with delay 30 ms, period 2 ms created");
    ok(run_for(lp, 2000), "delay then period: done before the deadline");
    ok(first_at - start >= 30 * MS, "the first firing waited for the delay (%lld ns)",
       (long long)(first_at - start));
    ok(second_at > first_at, "the second firing came after the first");
    is_int(one_shot_self_cancel, 1, "a one-shot timer cancelled inside its callback fired once");
}

/* ---- the wall clock ---- */

static void test_clock(void)
{
    struct timespec ts;
    int64_t a, b, sys;

    clock_gettime(CLOCK_REALTIME, &ts);
    sys = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    a = loop_now_ns();
    b = loop_clock(NULL);
    ok(a - sys >= 0 && a - sys < 1000 * MS, "loop_now_ns is CLOCK_REALTIME (off by %lld ns)",
       (long long)(a - sys));
    ok(a > INT64_C(1577836800) * 1000000000, "the wall clock is after 2020");
    ok(b >= a && b - a < 1000 * MS, "loop_clock, the engine's clock shape, reads the same");
}

/* ---- signals arrive through the loop ---- */

static int hup_seen, term_seen;

static void on_signal(loop_signal *s, int signo, void *ud)
{
    (void)s;
    if (signo == SIGHUP)
        hup_seen++;
    if (signo == SIGTERM) {
        term_seen++;
        loop_break(ud);
    }
}

static void raise_signals(loop_timer *t, void *ud)
{
    (void)t;
    (void)ud;
    raise(SIGHUP);
    raise(SIGTERM);
}

static void test_signals(loop *lp)
{
    loop_signal *hup = loop_signal_add(lp, SIGHUP, on_signal, lp, err, sizeof err);
    loop_signal *term = loop_signal_add(lp, SIGTERM, on_signal, lp, err, sizeof err);
    loop_signal *again;

    ok(hup && term, "SIGHUP and SIGTERM handlers added");
    again = loop_signal_add(lp, SIGHUP, on_signal, lp, err, sizeof err);
    ok(!again && strstr(err, "already handled"), "a second SIGHUP handler is refused: %s", err);
    ok(!loop_signal_add(lp, 0, on_signal, lp, err, sizeof err), "signal 0 is refused: %s", err);
    loop_timer_add(lp, 1 * MS, 0, raise_signals, NULL, err, sizeof err);
    ok(run_for(lp, 2000), "signals: SIGTERM broke the loop before the deadline");
    is_int(hup_seen, 1, "raise(SIGHUP) reached its handler through the loop");
    is_int(term_seen, 1, "raise(SIGTERM) reached its handler");
    loop_signal_remove(hup);
    hup = loop_signal_add(lp, SIGHUP, on_signal, lp, err, sizeof err);
    ok(hup != NULL, "after removal SIGHUP can be handled again");
    /* term and hup stay registered: loop_free releases them. */
}

/* ---- deferred calls: once per turn, after the callback that asked ---- */

static int deferred_runs, deferred_ran_inside = -1;
static loop_deferred *deferred;

static void on_deferred(void *ud)
{
    deferred_runs++;
    if (deferred_runs == 2)
        loop_break(ud);
}

/* Scheduled twice in one callback: not run inside it, run once after. */
static void on_schedule_twice(loop_timer *t, void *ud)
{
    (void)t;
    (void)ud;
    loop_deferred_schedule(deferred);
    loop_deferred_schedule(deferred);
    deferred_ran_inside = deferred_runs;
}

static void on_schedule_again(loop_timer *t, void *ud)
{
    (void)t;
    (void)ud;
    loop_deferred_schedule(deferred);
}

static void test_deferred(loop *lp)
{
    deferred = loop_deferred_new(lp, on_deferred, lp, err, sizeof err);
    ok(deferred != NULL, "loop_deferred_new");
    if (!deferred)
        return;
    loop_timer_add(lp, 5 * MS, 0, on_schedule_twice, NULL, err, sizeof err);
    loop_timer_add(lp, 40 * MS, 0, on_schedule_again, NULL, err, sizeof err);
    ok(run_for(lp, 2000), "the deferred call ran twice before the deadline");
    is_int(deferred_ran_inside, 0, "scheduling does not run it inside the callback");
    is_int(deferred_runs, 2, "scheduled twice in one turn and once later: two calls");
    loop_deferred_free(deferred);
}

int main(void)
{
    loop *lp = loop_new(err, sizeof err);

    plan(26);
    if (!lp)
        bail_out("loop_new: %s", err);
    test_one_shot(lp);
    test_repeat_cancel_inside(lp);
    test_delay_then_period(lp);
    test_clock();
    test_signals(lp);
    test_deferred(lp);
    /* A pending timer left behind is freed by loop_free (ASan checks). */
    loop_timer_add(lp, 60000 * MS, 1000 * MS, on_break, lp, err, sizeof err);
    loop_free(lp);
    return done();
}
