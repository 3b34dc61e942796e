/*
 * order.c -- order names and client order ids (core/order.h).
 *
 * The names are the strategy API's (DESIGN.md, "Strategy API"); each table
 * is indexed by its enum, so a name and its value cannot drift apart.
 */
#include "order.h"

#include <stddef.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const status_names[] = {
    [ORDER_PENDING_NEW] = "pending_new",
    [ORDER_NEW] = "new",
    [ORDER_PARTIALLY_FILLED] = "partially_filled",
    [ORDER_FILLED] = "filled",
    [ORDER_CANCELED] = "canceled",
    [ORDER_REJECTED] = "rejected",
    [ORDER_EXPIRED] = "expired",
    [ORDER_PENDING_CANCEL] = "pending_cancel",
};

static const char *const side_names[] = {
    [ORDER_BUY] = "buy",
    [ORDER_SELL] = "sell",
};

static const char *const type_names[] = {
    [ORDER_LIMIT] = "limit",
    [ORDER_MARKET] = "market",
    [ORDER_STOP] = "stop",
    [ORDER_STOP_LIMIT] = "stop_limit",
};

static const char *const tif_names[] = {
    [ORDER_GTC] = "gtc",
    [ORDER_IOC] = "ioc",
    [ORDER_FOK] = "fok",
    [ORDER_POST_ONLY] = "post_only",
};

/* A value outside its enum (memory gone wrong, a newer peer) still prints. */
static const char *name_of(const char *const *names, size_t n, unsigned v)
{
    return v < n ? names[v] : "unknown";
}

/* @return the index of s in names, or -1. */
static int index_of(const char *const *names, size_t n, const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

const char *order_status_name(order_status s)
{
    return name_of(status_names, COUNT(status_names), (unsigned)s);
}

const char *order_side_name(order_side s)
{
    return name_of(side_names, COUNT(side_names), (unsigned)s);
}

const char *order_type_name(order_type t)
{
    return name_of(type_names, COUNT(type_names), (unsigned)t);
}

const char *order_tif_name(order_tif t)
{
    return name_of(tif_names, COUNT(tif_names), (unsigned)t);
}

int order_side_parse(const char *s, order_side *out)
{
    int i = index_of(side_names, COUNT(side_names), s);
    if (i < 0)
        return -1;
    *out = (order_side)i;
    return 0;
}

int order_type_parse(const char *s, order_type *out)
{
    int i = index_of(type_names, COUNT(type_names), s);
    if (i < 0)
        return -1;
    *out = (order_type)i;
    return 0;
}

int order_tif_parse(const char *s, order_tif *out)
{
    int i = index_of(tif_names, COUNT(tif_names), s);
    if (i < 0)
        return -1;
    *out = (order_tif)i;
    return 0;
}

int order_status_is_open(order_status s)
{
    return s == ORDER_PENDING_NEW || s == ORDER_NEW || s == ORDER_PARTIALLY_FILLED ||
           s == ORDER_PENDING_CANCEL;
}

static int id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

int order_id_valid(const char *id)
{
    size_t n = 0;

    if (!id)
        return 0;
    for (; id[n]; n++)
        if (n >= ORDER_ID_MAX || !id_char((unsigned char)id[n]))
            return 0;
    return n > 0;
}
