/*
 * binance_recent.c -- the last keys seen (binance.h): a ring of entries,
 * oldest first, and a chained hash table over it. Chains hold entry
 * numbers plus one, so that zeroed memory is an empty set and a bn_live
 * from calloc needs no set-up.
 */
#include <string.h>

#include "binance.h"

#define BUCKETS (2 * BN_RECENT_MAX) /* a power of two */

/* FNV-1a: keys are short, and an order id's last digits are what differ. */
static size_t recent_hash(const uint8_t *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 16777619u;
    return h & (BUCKETS - 1);
}

/* Take entry n (in use) out of its chain. */
static void recent_unlink(bn_recent *r, size_t n)
{
    const bn_recent_entry *e = &r->entry[n];
    uint16_t *link = &r->bucket[recent_hash(e->key, e->len)];

    while (*link != n + 1)
        link = &r->chain[*link - 1];
    *link = r->chain[n];
}

uint8_t *bn_recent_flags(bn_recent *r, const void *key, size_t len)
{
    size_t h, n;
    bn_recent_entry *e;

    if (len == 0 || len > BN_RECENT_KEY_MAX)
        return NULL;
    h = recent_hash(key, len);
    for (uint16_t i = r->bucket[h]; i; i = r->chain[i - 1]) {
        e = &r->entry[i - 1];
        if (e->len == len && memcmp(e->key, key, len) == 0)
            return &e->flags;
    }
    n = r->next;
    r->next = (n + 1) % BN_RECENT_MAX;
    e = &r->entry[n];
    if (e->len)
        recent_unlink(r, n);
    memcpy(e->key, key, len);
    e->len = (uint8_t)len;
    e->flags = 0;
    r->chain[n] = r->bucket[h];
    r->bucket[h] = (uint16_t)(n + 1);
    return &e->flags;
}
