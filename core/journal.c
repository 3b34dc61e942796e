/*
 * journal.c -- the engine's records in the state store, and the queue of
 * what waits for their commit (journal.h).
 *
 * The queue is two arrays used in turn: journal_take hands the filled one
 * to the engine and starts on the other, so items queued while the engine
 * drains (a strategy answering a fill with an order) wait for the next
 * commit instead of going out uncommitted.
 */
#include "journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "grow.h"
#include "log.h"

typedef struct journal_queue_buf {
    journal_item *items;
    size_t n, cap;
    size_t submits;          /* of the n, JOURNAL_SUBMIT */
} journal_queue_buf;

struct journal {
    state_store *st;
    const instrument_registry *reg;
    journal_queue_buf q[2];
    int cur;                 /* the queue items go into */
    uint64_t seq_reserved;   /* the stored sequence, once this run wrote it; 0: not yet */
    char error[1200];
};

journal *journal_new(state_store *st, const instrument_registry *reg)
{
    journal *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->st = st;
    j->reg = reg;
    return j;
}

void journal_free(journal *j)
{
    if (!j)
        return;
    free(j->q[0].items);
    free(j->q[1].items);
    free(j);
}

state_store *journal_store(journal *j)
{
    return j->st;
}

const char *journal_error(const journal *j)
{
    return j->error[0] ? j->error : NULL;
}

/* Keep the first error; a store that failed once is not written again (so
 * a reservation lost with a failed batch is taken again only by the next
 * run's journal, from what the store kept). */
static int journal_fail(journal *j, const char *what, const char *why)
{
    if (!j->error[0]) {
        snprintf(j->error, sizeof j->error, "state store: %s: %s", what, why);
        log_write(LOG_ERROR, "journal", "%s", j->error);
    }
    return -1;
}

static int journal_done(journal *j, int rc, const char *what, const char *why)
{
    return rc < 0 ? journal_fail(j, what, why) : rc;
}

static const lutra_instrument *journal_instrument(journal *j, uint32_t id)
{
    return instrument_registry_get(j->reg, id);
}

/* ---- Records ---- */

static void journal_order_record(const order *o, const lutra_instrument *in,
                                 const char *strategy, state_order *r)
{
    memset(r, 0, sizeof *r);
    copy_str(r->id, sizeof r->id, o->id);
    copy_str(r->venue, sizeof r->venue, in->venue);
    copy_str(r->symbol, sizeof r->symbol, in->symbol);
    copy_str(r->strategy, sizeof r->strategy, strategy ? strategy : "");
    copy_str(r->tag, sizeof r->tag, o->req.tag);
    r->side = (uint8_t)o->req.side;
    r->type = (uint8_t)o->req.type;
    r->tif = (uint8_t)o->req.tif;
    r->status = (uint8_t)o->status;
    r->price_scale = in->price_scale;
    r->size_scale = in->size_scale;
    r->price = o->req.price;
    r->stop_price = o->req.stop_price;
    r->qty = o->req.qty;
    r->filled = o->filled;
    r->filled_value = o->filled_value;
    r->fees = o->fees;
    copy_str(r->fee_asset, sizeof r->fee_asset, o->fee_asset);
    r->locked = o->locked;
    r->ts_created = o->ts_created;
    r->ts_updated = o->ts_updated;
    copy_str(r->venue_order_id, sizeof r->venue_order_id, o->venue_order_id);
    copy_str(r->reason, sizeof r->reason, o->reason);
}

int journal_order(journal *j, const order *o, const char *strategy, uint64_t next_seq)
{
    const lutra_instrument *in = journal_instrument(j, o->req.instrument);
    char why[512];
    state_order r;

    if (j->error[0])
        return -1;
    if (!in)
        return journal_fail(j, o->id, "its instrument is not registered");
    journal_order_record(o, in, strategy, &r);
    if (state_put_order(j->st, &r, why, sizeof why) < 0)
        return journal_fail(j, o->id, why);
    if (next_seq > j->seq_reserved) {
        if (state_put_order_seq(j->st, next_seq + JOURNAL_SEQ_BLOCK, why, sizeof why) < 0)
            return journal_fail(j, o->id, why);
        j->seq_reserved = next_seq + JOURNAL_SEQ_BLOCK;
    }
    return 0;
}

int journal_fill_seen(journal *j, const exec_report *rep)
{
    int rc;

    if (j->error[0])
        return -1;
    if (!rep->trade_id[0])
        return 0;
    rc = state_has_fill(j->st, rep->order_id, rep->trade_id);
    return journal_done(j, rc, rep->order_id, "cannot read its fills");
}

int journal_fill(journal *j, const order *o, const exec_report *rep)
{
    const lutra_instrument *in = journal_instrument(j, o->req.instrument);
    char why[512];
    state_fill f;

    if (j->error[0])
        return -1;
    if (!in)
        return journal_fail(j, o->id, "its instrument is not registered");
    memset(&f, 0, sizeof f);
    copy_str(f.order_id, sizeof f.order_id, o->id);
    if (rep->trade_id[0])
        copy_str(f.trade_id, sizeof f.trade_id, rep->trade_id);
    else /* a simulated venue's: the order's filled size after it is unique */
        snprintf(f.trade_id, sizeof f.trade_id, "%s#%lld", o->id, (long long)o->filled);
    copy_str(f.venue, sizeof f.venue, in->venue);
    copy_str(f.symbol, sizeof f.symbol, in->symbol);
    f.side = (uint8_t)o->req.side;
    f.liquidity = (uint8_t)rep->liquidity;
    f.price_scale = in->price_scale;
    f.size_scale = in->size_scale;
    f.price = rep->price;
    f.qty = rep->qty;
    f.fee = rep->fee;
    copy_str(f.fee_asset, sizeof f.fee_asset, rep->fee_asset);
    f.ts = rep->ts;
    return journal_done(j, state_put_fill(j->st, &f, why, sizeof why), o->id, why);
}

int journal_position(journal *j, uint32_t instrument, const oms_position *p)
{
    const lutra_instrument *in = journal_instrument(j, instrument);
    char why[512];
    state_position r;

    if (j->error[0])
        return -1;
    if (!in)
        return journal_fail(j, "position", "its instrument is not registered");
    memset(&r, 0, sizeof r);
    copy_str(r.venue, sizeof r.venue, in->venue);
    copy_str(r.symbol, sizeof r.symbol, in->symbol);
    r.price_scale = in->price_scale;
    r.size_scale = in->size_scale;
    r.qty = p->qty;
    r.seed_qty = p->seed_qty;
    r.cost = p->cost;
    r.realized_pnl = p->realized_pnl;
    r.fees = p->fees;
    return journal_done(j, state_put_position(j->st, &r, why, sizeof why), in->symbol, why);
}

int journal_balance(journal *j, const char *venue, const char *asset, const oms_balance *b)
{
    char why[512];
    state_balance r;

    if (j->error[0])
        return -1;
    memset(&r, 0, sizeof r);
    copy_str(r.venue, sizeof r.venue, venue);
    copy_str(r.asset, sizeof r.asset, asset);
    r.free = b->free;
    r.locked = b->locked;
    return journal_done(j, state_put_balance(j->st, &r, why, sizeof why), asset, why);
}

int journal_strategy_state(journal *j, const char *name, const void *data, size_t len)
{
    char why[512];

    if (j->error[0])
        return -1;
    return journal_done(j, state_put_strategy(j->st, name, data, len, why, sizeof why), name,
                        why);
}

int journal_commit(journal *j)
{
    char why[512];

    if (j->error[0]) {
        state_abort(j->st);
        return -1;
    }
    return journal_done(j, state_commit(j->st, why, sizeof why), "commit", why);
}

void journal_prepare(journal *j, const char *next_order_id)
{
    if (!j->error[0])
        state_prepare(j->st, next_order_id);
}

/* ---- The queue ---- */

int journal_queue(journal *j, journal_kind kind, const order *o, const oms_change *chg)
{
    journal_queue_buf *q = &j->q[j->cur];
    journal_item *grown, *it;

    if (!(grown = grow_capacity(q->items, &q->cap, q->n + 1, sizeof *q->items, 64)))
        return journal_fail(j, o->id, "out of memory queueing it");
    q->items = grown;
    it = &q->items[q->n++];
    it->kind = kind;
    it->unwritten = 0;
    it->snap = *o;
    q->submits += kind == JOURNAL_SUBMIT;
    if (chg) {
        it->chg = *chg;
        it->chg.order = NULL;
    } else {
        memset(&it->chg, 0, sizeof it->chg);
    }
    return 0;
}

int journal_queue_unwritten(journal *j, const order *o)
{
    journal_queue_buf *q = &j->q[j->cur];

    if (journal_queue(j, JOURNAL_CANCEL, o, NULL) < 0)
        return -1;
    q->items[q->n - 1].unwritten = 1;
    return 0;
}

size_t journal_pending(const journal *j)
{
    return j->q[j->cur].n;
}

size_t journal_pending_submits(const journal *j)
{
    return j->q[j->cur].submits;
}

size_t journal_take(journal *j, journal_item **items)
{
    journal_queue_buf *q = &j->q[j->cur];
    size_t n = q->n;

    *items = q->items;
    j->cur ^= 1;
    j->q[j->cur].n = 0;
    j->q[j->cur].submits = 0;
    return n;
}

/* ---- Restart ---- */

typedef struct journal_restore_ctx {
    journal *j;
    oms *o;
    const char *venue;
    int (*strategy_index)(void *ud, const char *name);
    void *ud;
    journal_restored *out;
    char *err;
    size_t errlen;
} journal_restore_ctx;

static int32_t journal_find(const journal_restore_ctx *c, const char *symbol)
{
    return instrument_registry_find(c->j->reg, c->venue, symbol);
}

static void journal_order_from(const state_order *r, uint32_t instrument, int owner, order *o)
{
    memset(o, 0, sizeof *o);
    copy_str(o->id, sizeof o->id, r->id);
    o->req.instrument = instrument;
    o->req.strategy = owner < 0 ? UINT32_MAX : (uint32_t)owner;
    o->req.side = (order_side)r->side;
    o->req.type = (order_type)r->type;
    o->req.tif = (order_tif)r->tif;
    o->req.price = r->price;
    o->req.stop_price = r->stop_price;
    o->req.qty = r->qty;
    copy_str(o->req.tag, sizeof o->req.tag, r->tag);
    o->status = (order_status)r->status;
    o->filled = r->filled;
    o->filled_value = r->filled_value;
    o->fees = r->fees;
    copy_str(o->fee_asset, sizeof o->fee_asset, r->fee_asset);
    o->locked = r->locked;
    o->ts_created = r->ts_created;
    o->ts_updated = r->ts_updated;
    copy_str(o->venue_order_id, sizeof o->venue_order_id, r->venue_order_id);
    copy_str(o->reason, sizeof o->reason, r->reason);
}

static int journal_restore_order(void *ud, const state_order *r)
{
    journal_restore_ctx *c = ud;
    int32_t id;
    order o;

    if (strcmp(r->venue, c->venue) != 0)
        return 0;
    if ((id = journal_find(c, r->symbol)) < 0) {
        snprintf(c->err, c->errlen, "order %s: %s is not an instrument of venue %s now", r->id,
                 r->symbol, c->venue);
        return -1;
    }
    journal_order_from(r, (uint32_t)id, c->strategy_index(c->ud, r->strategy), &o);
    if (oms_restore_order(c->o, &o) < 0) {
        snprintf(c->err, c->errlen, "order %s: cannot restore it (duplicate id or no memory)",
                 r->id);
        return -1;
    }
    c->out->open_orders++;
    return 0;
}

static int journal_restore_position(void *ud, const state_position *r)
{
    journal_restore_ctx *c = ud;
    oms_position p;
    int32_t id;

    if (strcmp(r->venue, c->venue) != 0)
        return 0;
    if ((id = journal_find(c, r->symbol)) < 0) {
        snprintf(c->err, c->errlen, "position in %s: not an instrument of venue %s now",
                 r->symbol, c->venue);
        return -1;
    }
    memset(&p, 0, sizeof p);
    p.qty = r->qty;
    p.seed_qty = r->seed_qty;
    p.cost = r->cost;
    p.realized_pnl = r->realized_pnl;
    p.fees = r->fees;
    if (oms_restore_position(c->o, (uint32_t)id, &p) < 0) {
        snprintf(c->err, c->errlen, "position in %s: out of memory", r->symbol);
        return -1;
    }
    c->out->positions++;
    return 0;
}

static int journal_restore_balance(void *ud, const state_balance *r)
{
    journal_restore_ctx *c = ud;

    if (strcmp(r->venue, c->venue) != 0)
        return 0;
    if (oms_restore_balance(c->o, r->asset, r->free, r->locked) < 0) {
        snprintf(c->err, c->errlen, "balance of %s: cannot restore it", r->asset);
        return -1;
    }
    c->out->balances++;
    return 0;
}

int journal_restore(journal *j, oms *o, const char *venue,
                    int (*strategy_index)(void *ud, const char *name), void *ud,
                    journal_restored *out, char *err, size_t errlen)
{
    journal_restore_ctx c = {j, o, venue, strategy_index, ud, out, err, errlen};

    memset(out, 0, sizeof *out);
    err[0] = '\0';
    if (state_each_position(j->st, journal_restore_position, &c) != 0 ||
        state_each_balance(j->st, journal_restore_balance, &c) != 0 ||
        state_each_order(j->st, 1, journal_restore_order, &c) != 0) {
        if (!err[0])
            snprintf(err, errlen, "cannot read the state store");
        return -1;
    }
    return 0;
}
