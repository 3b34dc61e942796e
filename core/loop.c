/*
 * loop.c -- the live event loop over one libevent event_base (loop.h).
 *
 * Timers and signals share one handle header, kept on a list so loop_free
 * can release what callers left behind. A handle cancelled inside its own
 * callback is only marked: the dispatch that called it frees it on return,
 * so no callback ever runs on freed memory.
 */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

typedef struct loop_handle loop_handle;

struct loop_handle {
    loop *lp;
    struct event *ev;
    loop_handle *prev, *next; /* the loop's list of live handles */
    int signo; /* the signal handled; 0 for a timer */
    int in_callback;
    int cancelled;
};

struct loop {
    struct event_base *base;
    loop_handle *handles;
};

struct loop_timer {
    loop_handle h; /* first: a loop_timer is a loop_handle */
    loop_timer_fn fn;
    void *ud;
    int64_t every_ns;
    int persistent; /* switched to libevent's drift-free EV_PERSIST */
    uint64_t fired;
};

struct loop_signal {
    loop_handle h;
    loop_signal_fn fn;
    void *ud;
};

/* ---- The loop ---- */

loop *loop_new(char *err, size_t errlen)
{
    loop *lp = calloc(1, sizeof *lp);
    struct event_config *cfg = event_config_new();

    if (!lp || !cfg) {
        snprintf(err, errlen, "loop: out of memory");
        goto fail;
    }
    /* One thread owns the base (no locks); timers to the microsecond rather
     * than epoll_wait's millisecond. */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    lp->base = event_base_new_with_config(cfg);
    if (!lp->base) {
        snprintf(err, errlen, "loop: libevent could not create an event base");
        goto fail;
    }
    event_config_free(cfg);
    return lp;
fail:
    if (cfg)
        event_config_free(cfg);
    free(lp);
    return NULL;
}

static void handle_unlink(loop_handle *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        h->lp->handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
}

static void handle_link(loop *lp, loop_handle *h)
{
    h->lp = lp;
    h->prev = NULL;
    h->next = lp->handles;
    if (lp->handles)
        lp->handles->prev = h;
    lp->handles = h;
}

static void handle_destroy(loop_handle *h)
{
    handle_unlink(h);
    if (h->ev)
        event_free(h->ev); /* event_free deletes a pending event first */
    free(h);
}

void loop_free(loop *lp)
{
    if (!lp)
        return;
    while (lp->handles)
        handle_destroy(lp->handles);
    if (lp->base)
        event_base_free(lp->base);
    free(lp);
}

struct event_base *loop_base(loop *lp)
{
    return lp->base;
}

int loop_run(loop *lp, char *err, size_t errlen)
{
    if (event_base_dispatch(lp->base) < 0) {
        snprintf(err, errlen, "loop: libevent dispatch failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void loop_break(loop *lp)
{
    event_base_loopbreak(lp->base);
}

int loop_run_nowait(loop *lp)
{
    return event_base_loop(lp->base, EVLOOP_NONBLOCK) < 0 ? -1 : 0;
}

int64_t loop_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

int64_t loop_clock(void *ud)
{
    (void)ud;
    return loop_now_ns();
}

/* ---- Handles: cancel now, or after the callback that is running ---- */

static void handle_cancel(loop_handle *h)
{
    if (h->cancelled)
        return;
    h->cancelled = 1;
    event_del(h->ev);
    if (!h->in_callback)
        handle_destroy(h);
}

/* Around a user callback; a handle cancelled during it, or finished (a
 * one-shot timer), is freed on the way out. */
static void handle_enter(loop_handle *h)
{
    h->in_callback = 1;
}

static void handle_leave(loop_handle *h, int finished)
{
    h->in_callback = 0;
    if (h->cancelled || finished)
        handle_destroy(h);
}

/* ---- Timers ---- */

static struct timeval ns_to_timeval(int64_t ns)
{
    struct timeval tv;
    if (ns < 0)
        ns = 0;
    tv.tv_sec = (time_t)(ns / INT64_C(1000000000));
    tv.tv_usec = (suseconds_t)((ns % INT64_C(1000000000)) / 1000);
    return tv;
}

static void timer_on_event(evutil_socket_t fd, short what, void *arg);

/* (Re)arm t's event: persistent with period every_ns, or once after delay. */
static int timer_arm(loop_timer *t, int persistent, int64_t delay_ns)
{
    struct timeval tv = ns_to_timeval(delay_ns);
    short flags = persistent ? EV_PERSIST : 0;

    if (event_assign(t->h.ev, t->h.lp->base, -1, flags, timer_on_event, t) < 0)
        return -1;
    t->persistent = persistent;
    return event_add(t->h.ev, &tv);
}

static void timer_on_event(evutil_socket_t fd, short what, void *arg)
{
    loop_timer *t = arg;
    int repeating = t->every_ns > 0;
    (void)fd;
    (void)what;

    /* The first period of a timer whose delay differs from its period ran
     * as a one-shot; from here on libevent keeps the period without drift. */
    if (repeating && !t->persistent && timer_arm(t, 1, t->every_ns) < 0)
        repeating = 0; /* cannot re-arm: fire this once and end */
    t->fired++;
    handle_enter(&t->h);
    t->fn(t, t->ud);
    handle_leave(&t->h, !repeating);
}

loop_timer *loop_timer_add(loop *lp, int64_t delay_ns, int64_t every_ns, loop_timer_fn fn,
                           void *ud, char *err, size_t errlen)
{
    loop_timer *t;

    if (!fn) {
        snprintf(err, errlen, "loop: timer without a callback");
        return NULL;
    }
    t = calloc(1, sizeof *t);
    if (!t || !(t->h.ev = event_new(lp->base, -1, 0, timer_on_event, t))) {
        snprintf(err, errlen, "loop: out of memory for a timer");
        free(t);
        return NULL;
    }
    handle_link(lp, &t->h);
    t->fn = fn;
    t->ud = ud;
    t->every_ns = every_ns > 0 ? every_ns : 0;
    if (timer_arm(t, t->every_ns > 0 && delay_ns == t->every_ns, delay_ns) < 0) {
        snprintf(err, errlen, "loop: libevent refused a timer of %lld ns",
                 (long long)delay_ns);
        handle_destroy(&t->h);
        return NULL;
    }
    return t;
}

void loop_timer_cancel(loop_timer *t)
{
    if (t)
        handle_cancel(&t->h);
}

uint64_t loop_timer_fired(const loop_timer *t)
{
    return t->fired;
}

/* ---- Signals ---- */

static void signal_on_event(evutil_socket_t fd, short what, void *arg)
{
    loop_signal *s = arg;
    (void)what;

    handle_enter(&s->h);
    s->fn(s, (int)fd, s->ud);
    handle_leave(&s->h, 0);
}

static int signal_taken(const loop *lp, int signo)
{
    for (const loop_handle *h = lp->handles; h; h = h->next) {
        if (h->signo == signo && !h->cancelled)
            return 1;
    }
    return 0;
}

loop_signal *loop_signal_add(loop *lp, int signo, loop_signal_fn fn, void *ud, char *err,
                             size_t errlen)
{
    loop_signal *s;

    if (!fn || signo <= 0 || signo >= NSIG) {
        snprintf(err, errlen, "loop: signal %d: %s", signo,
                 fn ? "not a signal number" : "no callback");
        return NULL;
    }
    if (signal_taken(lp, signo)) {
        snprintf(err, errlen, "loop: signal %d (%s) is already handled", signo,
                 strsignal(signo));
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->h.ev = evsignal_new(lp->base, signo, signal_on_event, s))) {
        snprintf(err, errlen, "loop: out of memory for signal %d", signo);
        free(s);
        return NULL;
    }
    handle_link(lp, &s->h);
    s->fn = fn;
    s->ud = ud;
    s->h.signo = signo;
    if (event_add(s->h.ev, NULL) < 0) {
        snprintf(err, errlen, "loop: libevent could not handle signal %d (%s)", signo,
                 strsignal(signo));
        handle_destroy(&s->h);
        return NULL;
    }
    return s;
}

void loop_signal_remove(loop_signal *s)
{
    if (s)
        handle_cancel(&s->h);
}

/* ---- Deferred calls ---- */

struct loop_deferred {
    loop_handle h; /* first: a loop_deferred is a loop_handle */
    void (*fn)(void *ud);
    void *ud;
    int scheduled;
};

/* libevent runs an event made active from a callback in the same turn,
 * after the ones already active: exactly "after this turn's work". */
static void deferred_on_event(evutil_socket_t fd, short what, void *arg)
{
    loop_deferred *d = arg;
    (void)fd;
    (void)what;
    d->scheduled = 0;
    handle_enter(&d->h);
    d->fn(d->ud);
    handle_leave(&d->h, 0);
}

loop_deferred *loop_deferred_new(loop *lp, void (*fn)(void *ud), void *ud, char *err,
                                 size_t errlen)
{
    loop_deferred *d = calloc(1, sizeof *d);

    if (!d || !(d->h.ev = event_new(lp->base, -1, 0, deferred_on_event, d))) {
        snprintf(err, errlen, "loop: out of memory for a deferred call");
        free(d);
        return NULL;
    }
    d->fn = fn;
    d->ud = ud;
    handle_link(lp, &d->h);
    return d;
}

void loop_deferred_schedule(loop_deferred *d)
{
    if (d->h.cancelled || d->scheduled)
        return;
    d->scheduled = 1;
    event_active(d->h.ev, 0, 0);
}

void loop_deferred_free(loop_deferred *d)
{
    if (d)
        handle_cancel(&d->h);
}
