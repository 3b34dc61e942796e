/*
 * journal.c -- the engine's records in the state store (core/journal.h):
 * an order written through the journal reads back field for field, and
 * the order id sequence is reserved ahead in blocks, so that most new
 * orders write no sequence while a restart still never reuses an id, even
 * after a batch holding a reservation was lost.
 *
 * Real LMDB files in a mkdtemp() folder, removed at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instrument.h"
#include "journal.h"
#include "order.h"
#include "state.h"
#include "tap.h"

static char root[64];
static char err[1024];
static instrument_registry *reg;
static uint32_t btc;

static state_store *open_store(const char *name)
{
    char dir[128];
    state_options so;
    state_store *st;

    snprintf(dir, sizeof dir, "%s/%s", root, name);
    memset(&so, 0, sizeof so);
    so.dir = dir;
    so.sync = STATE_SYNC_NONE;
    if (!(st = state_open(&so, err, sizeof err)))
        bail_out("state_open %s: %s", dir, err);
    return st;
}

static order make_order(uint64_t n)
{
    order o;

    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "T%llu", (unsigned long long)n);
    o.req.instrument = btc;
    o.req.side = ORDER_BUY;
    o.req.type = ORDER_LIMIT;
    o.req.tif = ORDER_GTC;
    o.req.price = 5880000;
    o.req.qty = 100;
    o.status = ORDER_PENDING_NEW;
    return o;
}

/* New order n, as the engine writes it: the sequence after it is n + 1. */
static int write_new(journal *j, uint64_t n)
{
    order o = make_order(n);
    return journal_order(j, &o, "mm", n + 1);
}

static void test_record_round_trip(void)
{
    state_store *st = open_store("record");
    journal *j = journal_new(st, reg);
    order o = make_order(7);
    state_order r;

    snprintf(o.req.tag, sizeof o.req.tag, "tag-%s", "x");
    snprintf(o.fee_asset, sizeof o.fee_asset, "BNB");
    snprintf(o.venue_order_id, sizeof o.venue_order_id, "123456789012");
    memset(o.reason, 'r', sizeof o.reason - 1); /* the longest reason there is */
    o.reason[sizeof o.reason - 1] = '\0';
    o.filled = 40;
    o.filled_value = 2352000000;
    o.fees = 12;
    o.locked = 99;
    o.ts_created = 1700000000000000000;
    o.ts_updated = 1700000000000000001;
    ok(journal_order(j, &o, "mm", 0) == 0 && journal_commit(j) == 0, "an order is written");
    ok(state_get_order(st, "T7", &r, err, sizeof err) == 1, "and read back");
    ok(!strcmp(r.id, "T7") && !strcmp(r.venue, "test") && !strcmp(r.symbol, "BTCUSDT") &&
           !strcmp(r.strategy, "mm") && !strcmp(r.tag, "tag-x") && !strcmp(r.fee_asset, "BNB") &&
           !strcmp(r.venue_order_id, "123456789012") && !strcmp(r.reason, o.reason),
       "its strings are the order's, the longest reason whole");
    ok(r.price == o.req.price && r.qty == o.req.qty && r.filled == 40 &&
           r.filled_value == o.filled_value && r.fees == 12 && r.locked == 99 &&
           r.ts_created == o.ts_created && r.ts_updated == o.ts_updated &&
           r.status == ORDER_PENDING_NEW && r.side == ORDER_BUY,
       "its numbers are the order's");
    is_int(state_get_order_seq(st), 1, "an order that is not new leaves the sequence alone");
    journal_free(j);
    state_close(st);
}

static void test_sequence_reserved_in_blocks(void)
{
    state_store *st = open_store("seq");
    journal *j = journal_new(st, reg);
    uint64_t n;

    ok(write_new(j, 1) == 0 && journal_commit(j) == 0, "the first new order is written");
    is_int(state_get_order_seq(st), 2 + JOURNAL_SEQ_BLOCK,
           "it reserves a block of ids ahead of the next one");
    for (n = 2; n <= JOURNAL_SEQ_BLOCK + 1; n++)
        if (write_new(j, n) != 0 || journal_commit(j) != 0)
            break;
    is_int(n, JOURNAL_SEQ_BLOCK + 2, "the block's orders are written");
    is_int(state_get_order_seq(st), 2 + JOURNAL_SEQ_BLOCK,
           "without a new reservation while the block lasts");
    ok(write_new(j, n) == 0 && journal_commit(j) == 0, "the order past the block");
    is_int(state_get_order_seq(st), n + 1 + JOURNAL_SEQ_BLOCK, "takes the next block");
    journal_free(j);
    state_close(st);

    /* A restart continues after the reservation: no id is reused. */
    st = open_store("seq");
    ok(state_get_order_seq(st) > n, "after a reopen the sequence is past every id written (%llu)",
       (unsigned long long)state_get_order_seq(st));
    state_close(st);
}

static void test_lost_reservation_is_taken_again(void)
{
    state_store *st = open_store("lost");
    journal *j = journal_new(st, reg);
    order bad = make_order(3);
    int rc;

    ok(write_new(j, 1) == 0 && journal_commit(j) == 0, "a reservation is committed");
    /* A batch that fails after writing a new reservation loses it... */
    snprintf(bad.id, sizeof bad.id, "bad id!");
    ok(write_new(j, 2 + JOURNAL_SEQ_BLOCK) == 0, "a new order past the block reserves again");
    rc = journal_order(j, &bad, "mm", 0);
    ok(rc < 0 && journal_error(j), "a record the store refuses fails the batch: %s",
       journal_error(j) ? journal_error(j) : "no error");
    ok(journal_commit(j) < 0, "the batch is not committed");
    is_int(state_get_order_seq(st), 2 + JOURNAL_SEQ_BLOCK,
           "and the store keeps the earlier reservation");
    journal_free(j);
    state_close(st);

    /* ... so a journal over the store after the failure writes it again. */
    st = open_store("lost");
    j = journal_new(st, reg);
    ok(write_new(j, 2 + JOURNAL_SEQ_BLOCK) == 0 && journal_commit(j) == 0,
       "the same order written by a fresh journal");
    is_int(state_get_order_seq(st), 3 + 2 * JOURNAL_SEQ_BLOCK, "reserves the next block");
    journal_free(j);
    state_close(st);
}

int main(void)
{
    lutra_instrument def;
    int32_t id;

    snprintf(root, sizeof root, "/tmp/lutra-journal-XXXXXX");
    if (!mkdtemp(root))
        bail_out("mkdtemp: %s", root);
    if (!(reg = instrument_registry_new()) ||
        instrument_define(&def, "test", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001", NULL, NULL,
                          err, sizeof err) < 0 ||
        (id = instrument_registry_add(reg, &def, err, sizeof err)) < 0)
        bail_out("instrument: %s", err);
    btc = (uint32_t)id;
    test_record_round_trip();
    test_sequence_reserved_in_blocks();
    test_lost_reservation_is_taken_again();
    instrument_registry_free(reg);
    tap_rmtree(root);
    return done();
}
