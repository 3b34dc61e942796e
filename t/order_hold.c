/*
 * order_hold.c -- orders that wait for their venue during a connector
 * reload (core/order_hold.h): released in arrival order, submits kept as
 * "sent" until reported and cancels forgotten, a question owed until the
 * order's first report, dropped entries handed over for refusal.
 */
#include <stdio.h>
#include <string.h>

#include "order_hold.h"
#include "tap.h"

static char seen[512];

static void note(void *ud, order_hold_kind kind, const char *id)
{
    size_t n = strlen(seen);
    (void)ud;
    snprintf(seen + n, sizeof seen - n, "%s%s:%s", n ? " " : "",
             kind == ORDER_HOLD_SUBMIT ? "new" : "cancel", id);
}

static void test_release(void)
{
    order_hold *h = order_hold_new();

    if (!h)
        bail_out("out of memory");
    order_hold_add(h, ORDER_HOLD_SUBMIT, "a");
    order_hold_add(h, ORDER_HOLD_SUBMIT, "b");
    order_hold_add(h, ORDER_HOLD_CANCEL, "a");
    is_int((int)order_hold_count(h), 3, "three entries held");
    is_int(order_hold_state_of(h, "a"), ORDER_HOLD_HELD, "a's submit is held");
    seen[0] = '\0';
    order_hold_release(h, note, NULL);
    is_str(seen, "new:a new:b cancel:a", "released in arrival order, cancels too");
    is_int((int)order_hold_count(h), 0, "nothing held after");
    is_int(order_hold_state_of(h, "b"), ORDER_HOLD_SENT, "b is sent, not reported yet");

    order_hold_owe(h, "b");
    is_int(order_hold_acked(h, "a"), 0, "a's first report: nothing was owed for it");
    is_int(order_hold_state_of(h, "a"), ORDER_HOLD_NONE, "and a is forgotten");
    is_int(order_hold_acked(h, "b"), 1, "b's first report: a question was owed");
    is_int(order_hold_acked(h, "b"), 0, "b's second report: nothing more");

    seen[0] = '\0';
    order_hold_release(h, note, NULL);
    is_str(seen, "", "a second release sends nothing again");
    order_hold_free(h);
}

static void test_drop(void)
{
    order_hold *h = order_hold_new();

    if (!h)
        bail_out("out of memory");
    order_hold_add(h, ORDER_HOLD_SUBMIT, "x");
    order_hold_release(h, note, NULL);
    order_hold_add(h, ORDER_HOLD_SUBMIT, "y");
    order_hold_add(h, ORDER_HOLD_CANCEL, "x");
    seen[0] = '\0';
    order_hold_drop(h, ORDER_HOLD_SUBMIT, note, NULL);
    is_str(seen, "new:y", "drop of the submits hands over those still held");
    is_int(order_hold_state_of(h, "y"), ORDER_HOLD_NONE, "and forgets them");
    is_int(order_hold_state_of(h, "x"), ORDER_HOLD_SENT, "a released order stays sent");
    is_int((int)order_hold_count(h), 1, "the cancel still waits");
    seen[0] = '\0';
    order_hold_release(h, note, NULL);
    is_str(seen, "cancel:x", "and goes out at the next release");
    order_hold_clear(h);
    is_int(order_hold_state_of(h, "x"), ORDER_HOLD_NONE, "clear forgets everything");
    order_hold_free(h);
    order_hold_free(NULL);
}

static void test_many(void)
{
    order_hold *h = order_hold_new();
    char id[16];
    int ok_all = 1;

    if (!h)
        bail_out("out of memory");
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "o%d", i);
        ok_all &= order_hold_add(h, ORDER_HOLD_SUBMIT, id) == 0;
    }
    ok(ok_all && order_hold_count(h) == 1000, "a thousand held");
    seen[0] = '\0';
    order_hold_release(h, note, NULL);
    ok(!strncmp(seen, "new:o0 new:o1 new:o2", 20), "released from the first");
    order_hold_free(h);
}

int main(void)
{
    plan(18);
    test_release();
    test_drop();
    test_many();
    return done();
}
