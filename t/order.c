/*
 * order.c -- order names and client order ids (core/order.h).
 */
#include <string.h>

#include "order.h"
#include "tap.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The strategy API's names (DESIGN.md), in enum order. */
static const char *const statuses[] = {"pending_new", "new", "partially_filled", "filled",
                                       "canceled", "rejected", "expired", "pending_cancel"};
static const char *const sides[] = {"buy", "sell"};
static const char *const types[] = {"limit", "market", "stop", "stop_limit"};
static const char *const tifs[] = {"gtc", "ioc", "fok", "post_only"};

static void test_names(void)
{
    for (size_t i = 0; i < COUNT(statuses); i++)
        is_str(order_status_name((order_status)i), statuses[i], "status %zu is %s", i,
               statuses[i]);
    is_str(order_status_name((order_status)99), "unknown", "a status out of range prints");
}

static void test_round_trips(void)
{
    for (size_t i = 0; i < COUNT(sides); i++) {
        order_side v = (order_side)-1;
        is_str(order_side_name((order_side)i), sides[i], "side %zu is %s", i, sides[i]);
        ok(order_side_parse(sides[i], &v) == 0 && v == (order_side)i, "%s parses back", sides[i]);
    }
    for (size_t i = 0; i < COUNT(types); i++) {
        order_type v = (order_type)-1;
        is_str(order_type_name((order_type)i), types[i], "type %zu is %s", i, types[i]);
        ok(order_type_parse(types[i], &v) == 0 && v == (order_type)i, "%s parses back", types[i]);
    }
    for (size_t i = 0; i < COUNT(tifs); i++) {
        order_tif v = (order_tif)-1;
        is_str(order_tif_name((order_tif)i), tifs[i], "tif %zu is %s", i, tifs[i]);
        ok(order_tif_parse(tifs[i], &v) == 0 && v == (order_tif)i, "%s parses back", tifs[i]);
    }
}

static void test_parse_refusals(void)
{
    order_side side = ORDER_SELL;
    order_type type = ORDER_STOP;
    order_tif tif = ORDER_FOK;

    ok(order_side_parse("BUY", &side) < 0 && side == ORDER_SELL,
       "'BUY' is refused (names are lower case) and out untouched");
    ok(order_side_parse(NULL, &side) < 0, "NULL side is refused");
    ok(order_type_parse("stop-limit", &type) < 0 && type == ORDER_STOP, "'stop-limit' refused");
    ok(order_type_parse("", &type) < 0, "empty type refused");
    ok(order_tif_parse("gtd", &tif) < 0 && tif == ORDER_FOK, "'gtd' refused");
}

static void test_open(void)
{
    static const int open[] = {1, 1, 1, 0, 0, 0, 0, 1};
    for (size_t i = 0; i < COUNT(open); i++)
        is_int(order_status_is_open((order_status)i), open[i], "%s is %s", statuses[i],
               open[i] ? "open" : "closed");
}

static void test_ids(void)
{
    char id[64];

    ok(order_id_valid("lt1"), "lt1 is valid");
    ok(order_id_valid("A-z_0-9"), "letters, digits, '-' and '_' are valid");
    memset(id, 'x', 32);
    id[32] = '\0';
    ok(order_id_valid(id), "32 characters are valid");
    id[32] = 'x';
    id[33] = '\0';
    ok(!order_id_valid(id), "33 characters are not");
    ok(!order_id_valid(""), "empty is not valid");
    ok(!order_id_valid(NULL), "NULL is not valid");
    ok(!order_id_valid("lt 1"), "a space is not valid");
    ok(!order_id_valid("lt.1"), "a dot is not valid");
    ok(!order_id_valid("lt\xc3\xa9" "1"), "a non-ASCII byte is not valid");
}

int main(void)
{
    plan(9 + 20 + 5 + 8 + 9);
    test_names();
    test_round_trips();
    test_parse_refusals();
    test_open();
    test_ids();
    return done();
}
