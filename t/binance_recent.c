/*
 * binance_recent.c -- the Binance connector's set of recent keys
 * (connectors/binance/binance_recent.c, compiled in: a plugin exports
 * nothing but its table): flags kept per key, keys of other lengths kept
 * apart, the oldest forgotten first, and a long random run checked
 * against a plain FIFO list that does the same by scanning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binance.h"
#include "tap.h"

static bn_recent set; /* zeroed: empty */

static uint8_t *flags_of(const char *key)
{
    return bn_recent_flags(&set, key, strlen(key));
}

static void test_flags(void)
{
    uint8_t *a = flags_of("lt-1"), *b;

    ok(a && *a == 0, "a new key has no flags");
    *a |= 1;
    b = flags_of("lt-1");
    ok(b == a && *b == 1, "the same key finds its flags again");
    ok(*flags_of("lt-10") == 0, "a longer key with the same start is another key");
    ok(*flags_of("lt-") == 0, "so is a shorter one");
    ok(*flags_of("lt-1") == 1, "the first key keeps its flags");
    ok(bn_recent_flags(&set, "", 0) == NULL, "an empty key is refused");
    char big[BN_RECENT_KEY_MAX + 2];
    memset(big, 'x', sizeof big);
    ok(bn_recent_flags(&set, big, BN_RECENT_KEY_MAX + 1) == NULL,
       "a key longer than %d bytes is refused", BN_RECENT_KEY_MAX);
    ok(bn_recent_flags(&set, big, BN_RECENT_KEY_MAX) != NULL, "one of %d bytes is kept",
       BN_RECENT_KEY_MAX);
}

/* After BN_RECENT_MAX newer keys, the oldest is forgotten, the rest kept. */
static void test_oldest_forgotten(void)
{
    char key[32];
    int kept = 1;

    memset(&set, 0, sizeof set);
    for (int i = 0; i < BN_RECENT_MAX; i++) {
        snprintf(key, sizeof key, "o-%d", i);
        *flags_of(key) = 2;
    }
    for (int i = 0; i < BN_RECENT_MAX; i++) {
        snprintf(key, sizeof key, "o-%d", i);
        kept &= *flags_of(key) == 2;
    }
    ok(kept, "all %d keys are kept", BN_RECENT_MAX);
    *flags_of("newcomer") = 3;
    ok(*flags_of("o-0") == 0, "one more forgets the oldest (it comes back new)");
    ok(*flags_of("o-2") == 2 && *flags_of("newcomer") == 3,
       "the others are kept, the newcomer too");
}

/* The same operations on a FIFO list scanned the old way. */
#define UNIVERSE 3000
static char model_key[BN_RECENT_MAX][16];
static uint8_t model_flags[BN_RECENT_MAX];
static size_t model_next;

static uint8_t *model_find(const char *key)
{
    for (size_t i = 0; i < BN_RECENT_MAX; i++)
        if (model_key[i][0] && strcmp(model_key[i], key) == 0)
            return &model_flags[i];
    size_t n = model_next++ % BN_RECENT_MAX;
    snprintf(model_key[n], sizeof model_key[n], "%s", key);
    model_flags[n] = 0;
    return &model_flags[n];
}

static void test_against_model(void)
{
    unsigned seed = 20261122;
    char key[16];
    int same = 1, hits = 0, misses = 0;

    memset(&set, 0, sizeof set);
    for (int op = 0; op < 200000 && same; op++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % UNIVERSE);
        uint8_t bit = (uint8_t)(1u << ((seed >> 4) % 3));
        snprintf(key, sizeof key, "k%d", k);
        uint8_t *got = flags_of(key), *want = model_find(key);
        same = got && *got == *want;
        if (*want)
            hits++;
        else
            misses++;
        *got |= bit;
        *want |= bit;
    }
    ok(same, "200,000 random marks agree with a scanned FIFO list");
    ok(hits > 10000 && misses > 10000, "both found and forgotten keys were met (%d, %d)", hits,
       misses);
}

int main(void)
{
    plan(13);
    test_flags();
    test_oldest_forgotten();
    test_against_model();
    return done();
}
