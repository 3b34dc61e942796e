/*
 * reconcile.c -- a restart's reconciliation of one venue (reconcile.h).
 *
 * Three phases: LISTING waits for the venue's list of open orders (ended
 * by a STATUS with no id); ASKING waits for the answer to each single-order
 * query sent for what the list did not settle (the ids asked about are
 * kept, so an answer is told from a list entry by its id); BALANCES asks
 * for the balances last, because the venue's balances already include the
 * fills just recovered: applied after them, they win, and nothing is
 * counted twice. A connector reports every balance of one answer in one
 * go, so the first balance heard schedules the end of the phase right
 * after the callback that brought it.
 */
#include "reconcile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"
#include "money.h"

#define RECONCILE_FIRST_WAIT_NS INT64_C(10000000000)  /* 10 s */
#define RECONCILE_MAX_WAIT_NS INT64_C(60000000000)    /* 1 min */
#define RECONCILE_OPEN_MAX 4096

typedef enum reconcile_phase {
    PHASE_IDLE,
    PHASE_LISTING,
    PHASE_ASKING,
    PHASE_BALANCES,
    PHASE_DONE
} reconcile_phase;

typedef struct reconcile_id {
    char id[ORDER_ID_MAX + 1];
} reconcile_id;

struct reconcile {
    engine *e;
    loop *lp;
    char venue[LUTRA_VENUE_MAX];
    const reconcile_venue_ops *ops;
    void *ud;
    void (*done)(void *ud);
    reconcile_phase phase;
    reconcile_id *listed, *asked;  /* ids the venue listed; ids asked about */
    size_t nlisted, listed_cap, nasked, asked_cap;
    loop_timer *deadline;
    loop_timer *settle;        /* ends BALANCES after the callback that brought them */
    int64_t wait_ns;
    unsigned attempts;
    int adopt;                 /* orders placed by hand become lutra's */
    int again;                 /* a disconnect during this pass: one more after it, */
    int64_t again_at;          /*   its cutoff the venue's return */
    int64_t cutoff;            /* orders created after it are not asked about */
};

static void reconcile_arm(reconcile *r);

reconcile *reconcile_new(engine *e, loop *lp, const char *venue, const reconcile_venue_ops *ops,
                         void *ud, void (*done)(void *ud))
{
    reconcile *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->e = e;
    r->lp = lp;
    snprintf(r->venue, sizeof r->venue, "%s", venue);
    r->ops = ops;
    r->ud = ud;
    r->done = done;
    r->wait_ns = RECONCILE_FIRST_WAIT_NS;
    r->cutoff = INT64_MAX;
    return r;
}

void reconcile_free(reconcile *r)
{
    if (!r)
        return;
    if (r->deadline)
        loop_timer_cancel(r->deadline);
    if (r->settle)
        loop_timer_cancel(r->settle);
    free(r->listed);
    free(r->asked);
    free(r);
}

void reconcile_again(reconcile *r)
{
    if (r->phase != PHASE_DONE) {
        r->again = 1; /* reconcile_finish starts over */
        r->again_at = engine_now(r->e);
        return;
    }
    r->phase = PHASE_IDLE;
    r->wait_ns = RECONCILE_FIRST_WAIT_NS;
    r->cutoff = engine_now(r->e);
    reconcile_start(r);
}

void reconcile_set_wait(reconcile *r, int64_t first_ns)
{
    if (first_ns > 0)
        r->wait_ns = first_ns;
}

void reconcile_set_adopt(reconcile *r, int adopt)
{
    r->adopt = adopt;
}

int reconcile_done(const reconcile *r)
{
    return r->phase == PHASE_DONE;
}

/* ---- Id sets (a restart has few open orders: a scan is enough) ---- */

static int reconcile_has(const reconcile_id *set, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(set[i].id, id))
            return 1;
    return 0;
}

static int reconcile_add(reconcile_id **set, size_t *n, size_t *cap, const char *id)
{
    reconcile_id *grown = grow_capacity(*set, cap, *n + 1, sizeof **set, 16);
    if (!grown)
        return -1;
    *set = grown;
    snprintf(grown[(*n)++].id, sizeof grown[0].id, "%s", id);
    return 0;
}

static void reconcile_remove_asked(reconcile *r, const char *id)
{
    for (size_t i = 0; i < r->nasked; i++)
        if (!strcmp(r->asked[i].id, id)) {
            r->asked[i] = r->asked[--r->nasked];
            return;
        }
}

/* ---- Applying what the venue says ---- */

static void reconcile_apply(engine *e, exec_kind kind, const order *o, const lutra_exec *x)
{
    exec_report rep;

    memset(&rep, 0, sizeof rep);
    rep.kind = kind;
    rep.ts = x->ts ? x->ts : engine_now(e);
    snprintf(rep.order_id, sizeof rep.order_id, "%s", o->id);
    snprintf(rep.venue_order_id, sizeof rep.venue_order_id, "%s", x->venue_order_id);
    snprintf(rep.reason, sizeof rep.reason, "%s", x->reason);
    engine_on_exec(e, &rep);
}

static const char *reconcile_status_name(uint8_t status)
{
    return order_status_name((order_status)status);
}

/* The venue holds the order open: acknowledged if we had no word of it
 * yet; if we asked to cancel it, that cancel never arrived (committed,
 * then the process died before it left): it is sent again. */
static void reconcile_still_open(engine *e, const char *venue, order *o, const lutra_exec *x)
{
    if (o->status == ORDER_PENDING_NEW)
        reconcile_apply(e, EXEC_ACCEPTED, o, x);
    else if (o->status == ORDER_PENDING_CANCEL) {
        log_write(LOG_INFO, "reconcile", "cancel sent again venue=%s order=%s", venue, o->id);
        engine_cancel_again(e, o->id);
    }
}

int reconcile_settle(engine *e, const char *venue, order *o, const lutra_exec *x)
{
    if (!order_status_is_open(o->status))
        return 1;
    log_write(LOG_INFO, "reconcile", "order settled venue=%s order=%s venue_status=%s was=%s",
              venue, o->id, reconcile_status_name(x->status), order_status_name(o->status));
    switch (x->status) {
    case LUTRA_ORDER_CANCELED: reconcile_apply(e, EXEC_CANCELED, o, x); break;
    case LUTRA_ORDER_EXPIRED: reconcile_apply(e, EXEC_EXPIRED, o, x); break;
    case LUTRA_ORDER_REJECTED:
        /* Unknown to the venue: it never got there. Rejected, not resent. */
        if (o->status == ORDER_PENDING_NEW || o->filled == 0)
            reconcile_apply(e, EXEC_REJECTED, o, x);
        else
            reconcile_apply(e, EXEC_CANCELED, o, x);
        break;
    case LUTRA_ORDER_NEW:
    case LUTRA_ORDER_PARTIALLY_FILLED:
    case LUTRA_ORDER_PENDING_CANCEL:
        reconcile_still_open(e, venue, o, x);
        break;
    case LUTRA_ORDER_FILLED:
        if (o->filled < o->req.qty)
            log_write(LOG_WARN, "reconcile",
                      "venue says filled but its fills do not add up venue=%s order=%s "
                      "filled=%" PRId64 " qty=%" PRId64,
                      venue, o->id, o->filled, o->req.qty);
        break;
    default: /* PENDING_NEW: the venue could not be asked */
        log_write(LOG_WARN, "reconcile", "order outcome still unknown venue=%s order=%s reason=\"%s\"",
                  venue, o->id, x->reason);
        return 0;
    }
    return 1;
}

/* The last word of a single-order query: how the order ended (its fills,
 * if any, came just before). Still unknown: the deadline asks again. */
static void reconcile_answer(reconcile *r, order *o, const lutra_exec *x)
{
    if (reconcile_settle(r->e, r->venue, o, x))
        reconcile_remove_asked(r, o->id);
}

static void reconcile_ask(reconcile *r, order *o)
{
    if (reconcile_has(r->asked, r->nasked, o->id))
        return;
    if (reconcile_add(&r->asked, &r->nasked, &r->asked_cap, o->id) < 0 ||
        r->ops->query_order(r->ud, o) < 0) {
        log_write(LOG_WARN, "reconcile", "cannot ask about order venue=%s order=%s", r->venue,
                  o->id);
        return; /* it stays in asked: the deadline retries */
    }
}

/*
 * An open order at the venue lutra did not send, taken as lutra's: owned by
 * no strategy, its fills so far valued at its limit price (the venue's list
 * gives no fill prices), its lock the rest of what it spends (the venue's
 * balances, asked for last, hold the same lock).
 */
static void reconcile_adopt(reconcile *r, const lutra_exec *x)
{
    const lutra_instrument *in = instrument_registry_get(engine_registry(r->e), x->instrument);
    order o;

    if (!in || strcmp(in->venue, r->venue) != 0 || !order_id_valid(x->order_id) || x->qty <= 0) {
        log_write(LOG_WARN, "reconcile",
                  "open order at the venue cannot be adopted venue=%s order=%s reason=\"%s\"",
                  r->venue, x->order_id,
                  !in ? "unknown instrument" : "its client id is not one lutra can use");
        return;
    }
    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "%s", x->order_id);
    o.req.instrument = x->instrument;
    o.req.strategy = UINT32_MAX;
    o.req.side = x->side == LUTRA_SIDE_SELL ? ORDER_SELL : ORDER_BUY;
    o.req.type = ORDER_LIMIT;
    o.req.tif = ORDER_GTC;
    o.req.price = x->price;
    o.req.qty = x->qty;
    o.filled = x->filled;
    o.status = x->filled > 0 ? ORDER_PARTIALLY_FILLED : ORDER_NEW;
    o.filled_value = money_notional(x->price, in->price_scale, x->filled, in->size_scale);
    o.locked = o.req.side == ORDER_SELL
                   ? money_from_fixed(x->qty - x->filled, in->size_scale)
                   : money_notional(x->price, in->price_scale, x->qty - x->filled, in->size_scale);
    o.ts_created = o.ts_updated = x->ts ? x->ts : engine_now(r->e);
    snprintf(o.venue_order_id, sizeof o.venue_order_id, "%s", x->venue_order_id);
    if (engine_adopt_order(r->e, &o) < 0) {
        log_write(LOG_WARN, "reconcile", "cannot adopt order venue=%s order=%s", r->venue, o.id);
        return;
    }
    log_write(LOG_WARN, "reconcile", "open order at the venue adopted venue=%s order=%s qty=%" PRId64
              " filled=%" PRId64, r->venue, o.id, o.req.qty, o.filled);
    reconcile_add(&r->listed, &r->nlisted, &r->listed_cap, o.id);
}

/* An entry of the venue's open-order list. */
static void reconcile_listed(reconcile *r, const lutra_exec *x)
{
    order *o = oms_find(engine_oms(r->e), x->order_id);

    if (!o && r->adopt) {
        reconcile_adopt(r, x);
        return;
    }
    if (!o) {
        log_write(LOG_WARN, "reconcile",
                  "open order at the venue not sent by lutra: left alone venue=%s order=%s "
                  "venue_order=%s",
                  r->venue, x->order_id, x->venue_order_id);
        return;
    }
    if (reconcile_add(&r->listed, &r->nlisted, &r->listed_cap, o->id) < 0)
        return;
    if (x->filled > o->filled) /* filled while we were away: its fills, then its state */
        reconcile_ask(r, o);
    else
        reconcile_still_open(r->e, r->venue, o, x);
}

static int reconcile_of_venue(const reconcile *r, const order *o)
{
    const lutra_instrument *in =
        instrument_registry_get(engine_registry(r->e), o->req.instrument);
    return in && !strcmp(in->venue, r->venue);
}

/* The list is complete: every open order of ours it did not name is
 * asked about by its id. */
static void reconcile_listed_all(reconcile *r)
{
    order *open[RECONCILE_OPEN_MAX];
    size_t n = oms_open_orders(engine_oms(r->e), -1, open, RECONCILE_OPEN_MAX);

    if (n > RECONCILE_OPEN_MAX)
        n = RECONCILE_OPEN_MAX;
    r->phase = PHASE_ASKING;
    for (size_t i = 0; i < n; i++)
        if (reconcile_of_venue(r, open[i]) && open[i]->ts_created <= r->cutoff &&
            !reconcile_has(r->listed, r->nlisted, open[i]->id))
            reconcile_ask(r, open[i]);
}

static void reconcile_ask_balances(reconcile *r)
{
    r->phase = PHASE_BALANCES;
    if (r->ops->query_balances(r->ud) < 0)
        log_write(LOG_WARN, "reconcile", "cannot ask for balances venue=%s: retrying", r->venue);
}

static void reconcile_finish(reconcile *r)
{
    r->settle = NULL;
    if (r->again) {
        /* Its list may predate the drop: a fill meanwhile would be missed. */
        r->again = 0;
        r->cutoff = r->again_at;
        log_write(LOG_INFO, "reconcile", "venue disconnected during the reconciliation: "
                  "asking again venue=%s", r->venue);
        reconcile_start(r);
        return;
    }
    if (r->deadline)
        loop_timer_cancel(r->deadline);
    r->deadline = NULL;
    r->phase = PHASE_DONE;
    log_write(LOG_INFO, "reconcile", "venue reconciled venue=%s open_orders=%zu attempts=%u",
              r->venue, oms_open_count(engine_oms(r->e), -1), r->attempts);
    r->done(r->ud);
}

/*
 * Can x be an entry of the open-order list? While a pass lists, a late
 * answer to a single-order query of the pass before it (ended by the
 * deadline) can still come: how the order ended, or that the question
 * failed (with its reason). Taken as listed, an order that ended would
 * stay open here and never be asked about.
 */
static int reconcile_is_list_entry(const lutra_exec *x)
{
    return x->status == LUTRA_ORDER_NEW || x->status == LUTRA_ORDER_PARTIALLY_FILLED ||
           (x->status == LUTRA_ORDER_PENDING_NEW && !x->reason[0]); /* a plugin before status */
}

int reconcile_on_status(reconcile *r, const lutra_exec *x)
{
    order *o;

    if (r->phase != PHASE_LISTING && r->phase != PHASE_ASKING)
        return 0;
    if (x->order_id[0] && reconcile_has(r->asked, r->nasked, x->order_id)) {
        if ((o = oms_find(engine_oms(r->e), x->order_id)))
            reconcile_answer(r, o, x);
        else
            reconcile_remove_asked(r, x->order_id);
    } else if (r->phase == PHASE_LISTING && x->order_id[0]) {
        if (!reconcile_is_list_entry(x))
            return 0; /* a late answer: the caller settles an order it says ended */
        reconcile_listed(r, x);
    } else if (r->phase == PHASE_LISTING) {
        reconcile_listed_all(r);
    } else {
        return 0;
    }
    if (r->phase == PHASE_ASKING && r->nasked == 0)
        reconcile_ask_balances(r);
    return 1;
}

static void reconcile_settled(loop_timer *t, void *ud)
{
    (void)t;
    reconcile_finish(ud);
}

void reconcile_on_balance(reconcile *r)
{
    char err[256];

    if (r->phase != PHASE_BALANCES || r->settle)
        return;
    if (!(r->settle = loop_timer_add(r->lp, 0, 0, reconcile_settled, r, err, sizeof err)))
        reconcile_finish(r);
}

/* ---- Asking, and asking again ---- */

static void reconcile_timeout(loop_timer *t, void *ud)
{
    reconcile *r = ud;
    (void)t;

    r->deadline = NULL;
    r->wait_ns = r->wait_ns * 2 > RECONCILE_MAX_WAIT_NS ? RECONCILE_MAX_WAIT_NS : r->wait_ns * 2;
    log_write(LOG_WARN, "reconcile",
              "venue not reconciled in time venue=%s waiting_for=\"%s\" pending_queries=%zu "
              "next_wait_ms=%" PRId64 ": asking again, strategies stay stopped",
              r->venue,
              r->phase == PHASE_LISTING   ? "open orders"
              : r->phase == PHASE_ASKING ? "single-order answers"
                                         : "balances",
              r->nasked, r->wait_ns / INT64_C(1000000));
    if (r->phase == PHASE_BALANCES) {
        reconcile_arm(r);
        reconcile_ask_balances(r);
        return;
    }
    reconcile_start(r);
}

static void reconcile_arm(reconcile *r)
{
    char err[256];

    if (r->deadline)
        loop_timer_cancel(r->deadline);
    r->deadline = loop_timer_add(r->lp, r->wait_ns, 0, reconcile_timeout, r, err, sizeof err);
    if (!r->deadline)
        log_write(LOG_ERROR, "reconcile", "cannot arm the retry timer error=\"%s\"", err);
}

void reconcile_start(reconcile *r)
{
    if (r->phase == PHASE_DONE)
        return;
    r->attempts++;
    r->phase = PHASE_LISTING;
    r->nlisted = 0;
    r->nasked = 0;
    log_write(LOG_INFO, "reconcile", "asking the venue venue=%s attempt=%u", r->venue,
              r->attempts);
    reconcile_arm(r);
    if (r->ops->query_orders(r->ud) < 0)
        log_write(LOG_WARN, "reconcile", "cannot ask the venue yet venue=%s: retrying",
                  r->venue);
}
