/*
 * order_hold.c -- orders that wait for their venue (order_hold.h): one
 * array in arrival order; released entries stay, marked, until reported.
 */
#include "order_hold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "order.h"

typedef struct hold_entry {
    order_hold_kind kind;
    order_hold_state state; /* HELD or SENT */
    int owed;               /* a question about it waits for its report */
    char id[ORDER_ID_MAX + 1];
} hold_entry;

struct order_hold {
    hold_entry *entries;
    size_t n, cap;
    size_t held;
};

order_hold *order_hold_new(void)
{
    return calloc(1, sizeof(order_hold));
}

void order_hold_free(order_hold *h)
{
    if (!h)
        return;
    free(h->entries);
    free(h);
}

int order_hold_add(order_hold *h, order_hold_kind kind, const char *order_id)
{
    hold_entry *grown = grow_capacity(h->entries, &h->cap, h->n + 1, sizeof *grown, 16);

    if (!grown)
        return -1;
    h->entries = grown;
    memset(&grown[h->n], 0, sizeof grown[h->n]);
    grown[h->n].kind = kind;
    grown[h->n].state = ORDER_HOLD_HELD;
    snprintf(grown[h->n].id, sizeof grown[h->n].id, "%s", order_id);
    h->n++;
    h->held++;
    return 0;
}

size_t order_hold_count(const order_hold *h)
{
    return h->held;
}

/* The submit entry of order_id, or NULL. */
static hold_entry *hold_find(const order_hold *h, const char *order_id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->entries[i].kind == ORDER_HOLD_SUBMIT && !strcmp(h->entries[i].id, order_id))
            return &h->entries[i];
    return NULL;
}

order_hold_state order_hold_state_of(const order_hold *h, const char *order_id)
{
    const hold_entry *e = hold_find(h, order_id);
    return e ? e->state : ORDER_HOLD_NONE;
}

/* Keep only the entries that pass keep(), in order. */
static void hold_compact(order_hold *h, int (*keep)(const hold_entry *e))
{
    size_t k = 0;

    for (size_t i = 0; i < h->n; i++)
        if (keep(&h->entries[i]))
            h->entries[k++] = h->entries[i];
    h->n = k;
}

/* What stays after a release: submits waiting for their first report. */
static int hold_awaits_report(const hold_entry *e)
{
    return e->kind == ORDER_HOLD_SUBMIT && e->state == ORDER_HOLD_SENT;
}

void order_hold_release(order_hold *h, order_hold_fn fn, void *ud)
{
    for (size_t i = 0; i < h->n; i++) {
        hold_entry *e = &h->entries[i];
        if (e->state != ORDER_HOLD_HELD)
            continue;
        e->state = ORDER_HOLD_SENT;
        fn(ud, e->kind, e->id);
    }
    h->held = 0;
    hold_compact(h, hold_awaits_report);
}

static int hold_is_kept(const hold_entry *e)
{
    return e->state != ORDER_HOLD_NONE;
}

void order_hold_drop(order_hold *h, order_hold_kind kind, order_hold_fn fn, void *ud)
{
    for (size_t i = 0; i < h->n; i++) {
        hold_entry *e = &h->entries[i];
        if (e->state != ORDER_HOLD_HELD || e->kind != kind)
            continue;
        e->state = ORDER_HOLD_NONE;
        h->held--;
        fn(ud, e->kind, e->id);
    }
    hold_compact(h, hold_is_kept);
}

void order_hold_owe(order_hold *h, const char *order_id)
{
    hold_entry *e = hold_find(h, order_id);
    if (e && e->state == ORDER_HOLD_SENT)
        e->owed = 1;
}

int order_hold_acked(order_hold *h, const char *order_id)
{
    hold_entry *e = hold_find(h, order_id);
    int owed;

    if (!e || e->state != ORDER_HOLD_SENT)
        return 0;
    owed = e->owed;
    *e = h->entries[--h->n];
    return owed;
}

void order_hold_clear(order_hold *h)
{
    h->n = 0;
    h->held = 0;
}
