/*
 * instrument.c -- the instrument registry.
 *
 * Definitions live in a growable array (an id is an index, so get() is one
 * bounds check). Connectors call find() for every message they decode, so
 * (venue, symbol) is looked up through a small open-addressing table of ids
 * keyed by a 64-bit FNV-1a hash of "venue\0symbol": one hash of two short
 * strings and, almost always, one string comparison.
 */
#include "instrument.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixed.h"

#define SLOT_EMPTY (-1)
#define MIN_SLOTS 16

struct instrument_registry {
    lutra_instrument *items;
    uint64_t *hashes; /* hashes[id]: key hash of items[id], kept for rehashing */
    size_t count;
    size_t cap;
    int32_t *slots;   /* ids, or SLOT_EMPTY; a power of two, at most half full */
    size_t nslots;
};

/* ---- Hashing ---- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t key_hash(const char *venue, const char *symbol)
{
    uint64_t h = fnv1a(UINT64_C(0xcbf29ce484222325), venue);
    h *= UINT64_C(0x100000001b3); /* the '\0' between venue and symbol */
    return fnv1a(h, symbol);
}

/* The slot holding (venue, symbol), or the empty slot where it would go. */
static size_t slot_of(const instrument_registry *reg, uint64_t hash, const char *venue,
                      const char *symbol)
{
    size_t mask = reg->nslots - 1, i = (size_t)hash & mask;

    for (;; i = (i + 1) & mask) {
        int32_t id = reg->slots[i];
        if (id == SLOT_EMPTY)
            return i;
        if (reg->hashes[id] == hash && strcmp(reg->items[id].venue, venue) == 0 &&
            strcmp(reg->items[id].symbol, symbol) == 0)
            return i;
    }
}

static int rehash(instrument_registry *reg, size_t nslots)
{
    int32_t *slots = malloc(nslots * sizeof(*slots));

    if (!slots)
        return -1;
    for (size_t i = 0; i < nslots; i++)
        slots[i] = SLOT_EMPTY;
    free(reg->slots);
    reg->slots = slots;
    reg->nslots = nslots;
    for (size_t id = 0; id < reg->count; id++) {
        size_t i = slot_of(reg, reg->hashes[id], reg->items[id].venue, reg->items[id].symbol);
        reg->slots[i] = (int32_t)id;
    }
    return 0;
}

/* ---- Registry ---- */

instrument_registry *instrument_registry_new(void)
{
    instrument_registry *reg = calloc(1, sizeof(*reg));

    if (!reg)
        return NULL;
    if (rehash(reg, MIN_SLOTS) != 0) {
        free(reg);
        return NULL;
    }
    return reg;
}

void instrument_registry_free(instrument_registry *reg)
{
    if (!reg)
        return;
    free(reg->items);
    free(reg->hashes);
    free(reg->slots);
    free(reg);
}

static int reserve_one(instrument_registry *reg)
{
    size_t cap;
    lutra_instrument *items;
    uint64_t *hashes;

    if ((reg->count + 1) * 2 > reg->nslots && rehash(reg, reg->nslots * 2) != 0)
        return -1;
    if (reg->count < reg->cap)
        return 0;
    cap = reg->cap ? reg->cap * 2 : 16;
    items = realloc(reg->items, cap * sizeof(*items));
    if (!items)
        return -1;
    reg->items = items;
    hashes = realloc(reg->hashes, cap * sizeof(*hashes));
    if (!hashes)
        return -1;
    reg->hashes = hashes;
    reg->cap = cap;
    return 0;
}

/* Copy src into a NUL-padded field of size cap. @return 0, or -1 if too long. */
static int copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= cap)
        return -1;
    memset(dst, 0, cap);
    if (n)
        memcpy(dst, src, n);
    return 0;
}

/* The first string field of def that is not NUL-terminated inside its
 * array, or NULL when all are. */
static const char *unterminated_field(const lutra_instrument *def)
{
    if (!memchr(def->venue, '\0', sizeof(def->venue)))
        return "venue";
    if (!memchr(def->symbol, '\0', sizeof(def->symbol)))
        return "symbol";
    if (!memchr(def->base, '\0', sizeof(def->base)))
        return "base";
    if (!memchr(def->quote, '\0', sizeof(def->quote)))
        return "quote";
    return NULL;
}

/* Name the first field on which two definitions of one instrument differ,
 * with both values as decimals ("min_notional 5, not 10").
 * @return 0 if they agree, -1 with err set otherwise. */
static int compare_definitions(const lutra_instrument *old, const lutra_instrument *new_def,
                               char *err, size_t errlen)
{
    const struct {
        const char *name;
        int64_t was, is;
        int scale; /* decimals to show the values at */
    } fields[] = {
        {"price_scale", old->price_scale, new_def->price_scale, 0},
        {"size_scale", old->size_scale, new_def->size_scale, 0},
        {"price_increment", old->price_increment, new_def->price_increment, old->price_scale},
        {"size_increment", old->size_increment, new_def->size_increment, old->size_scale},
        {"min_qty", old->min_qty, new_def->min_qty, old->size_scale},
        {"min_notional", old->min_notional, new_def->min_notional, old->price_scale},
    };
    char was[FIXED_STR_MAX], is[FIXED_STR_MAX];

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i].was == fields[i].is)
            continue;
        fixed_format_trim(fields[i].was, fields[i].scale, was, sizeof(was));
        fixed_format_trim(fields[i].is, fields[i].scale, is, sizeof(is));
        snprintf(err, errlen, "instrument %s:%s is already defined with %s %s, not %s",
                 old->venue, old->symbol, fields[i].name, was, is);
        return -1;
    }
    return 0;
}

/* Check a definition before it is stored. @return 0, or -1 with err set. */
static int validate(const lutra_instrument *def, char *err, size_t errlen)
{
    const char *field = unterminated_field(def);

    if (field) {
        snprintf(err, errlen, "instrument definition: %s is not NUL-terminated", field);
        return -1;
    }
    if (!def->venue[0] || !def->symbol[0]) {
        snprintf(err, errlen, "instrument '%s:%s': venue and symbol must not be empty",
                 def->venue, def->symbol);
        return -1;
    }
    if (def->price_scale > FIXED_MAX_SCALE || def->size_scale > FIXED_MAX_SCALE) {
        snprintf(err, errlen, "instrument %s:%s: scales %u/%u outside 0..%d", def->venue,
                 def->symbol, def->price_scale, def->size_scale, FIXED_MAX_SCALE);
        return -1;
    }
    if (def->price_increment <= 0 || def->size_increment <= 0) {
        snprintf(err, errlen, "instrument %s:%s: increments must be positive (price %lld, size %lld)",
                 def->venue, def->symbol, (long long)def->price_increment,
                 (long long)def->size_increment);
        return -1;
    }
    if (def->min_qty < 0 || def->min_notional < 0) {
        snprintf(err, errlen, "instrument %s:%s: negative minimum (qty %lld, notional %lld)",
                 def->venue, def->symbol, (long long)def->min_qty, (long long)def->min_notional);
        return -1;
    }
    return 0;
}

/* The stored form: strings NUL-padded, reserved bytes zero (the event file
 * keeps it byte for byte), base and quote split from the symbol if absent. */
static void normalise(lutra_instrument *dst, const lutra_instrument *def)
{
    *dst = *def;
    copy_field(dst->venue, sizeof(dst->venue), def->venue);
    copy_field(dst->symbol, sizeof(dst->symbol), def->symbol);
    copy_field(dst->base, sizeof(dst->base), def->base);
    copy_field(dst->quote, sizeof(dst->quote), def->quote);
    memset(dst->reserved, 0, sizeof(dst->reserved));
    if (!dst->base[0] && !dst->quote[0])
        instrument_split_symbol(dst->symbol, dst->base, sizeof(dst->base), dst->quote,
                                sizeof(dst->quote));
}

int32_t instrument_registry_add(instrument_registry *reg, const lutra_instrument *def,
                                char *err, size_t errlen)
{
    lutra_instrument item;
    uint64_t hash;
    size_t slot;

    if (validate(def, err, errlen) != 0)
        return -1;
    normalise(&item, def);
    hash = key_hash(item.venue, item.symbol);
    slot = slot_of(reg, hash, item.venue, item.symbol);
    if (reg->slots[slot] != SLOT_EMPTY) {
        int32_t id = reg->slots[slot];
        return compare_definitions(&reg->items[id], &item, err, errlen) == 0 ? id : -1;
    }
    if (reg->count >= INT32_MAX || reserve_one(reg) != 0) {
        snprintf(err, errlen, "instrument %s:%s: out of memory", item.venue, item.symbol);
        return -1;
    }
    /* reserve_one may have rehashed: find the empty slot again. */
    slot = slot_of(reg, hash, item.venue, item.symbol);
    reg->items[reg->count] = item;
    reg->hashes[reg->count] = hash;
    reg->slots[slot] = (int32_t)reg->count;
    return (int32_t)reg->count++;
}

int32_t instrument_registry_find(const instrument_registry *reg, const char *venue,
                                 const char *symbol)
{
    size_t slot = slot_of(reg, key_hash(venue, symbol), venue, symbol);

    return reg->slots[slot];
}

const lutra_instrument *instrument_registry_get(const instrument_registry *reg, uint32_t id)
{
    return id < reg->count ? &reg->items[id] : NULL;
}

size_t instrument_registry_count(const instrument_registry *reg)
{
    return reg->count;
}

/* ---- Definitions from strings ---- */

/* Parse an increment ("0.01", "0.5", "1", "1e-05"): its own decimals give
 * the scale, its digits the increment. */
static int parse_increment(const char *what, const char *s, uint8_t *scale, int64_t *inc,
                           const lutra_instrument *def, char *err, size_t errlen)
{
    int rc;
    size_t len = s ? strlen(s) : 0;

    if (!s) {
        snprintf(err, errlen, "instrument %s:%s: %s is missing", def->venue, def->symbol, what);
        return -1;
    }
    rc = fixed_decimals(s, len);
    if (rc >= 0) {
        *scale = (uint8_t)rc;
        rc = fixed_parse(s, len, rc, inc);
    }
    if (rc != FIXED_OK) {
        snprintf(err, errlen, "instrument %s:%s: %s '%s': %s", def->venue, def->symbol, what, s,
                 fixed_strerror(rc));
        return -1;
    }
    if (*inc <= 0) {
        snprintf(err, errlen, "instrument %s:%s: %s '%s' is not positive", def->venue,
                 def->symbol, what, s);
        return -1;
    }
    return 0;
}

/* Parse a minimum at a given scale; NULL means none (0). */
static int parse_minimum(const char *what, const char *s, int scale, int64_t *out,
                         const lutra_instrument *def, char *err, size_t errlen)
{
    int rc;

    *out = 0;
    if (!s)
        return 0;
    rc = fixed_parse(s, strlen(s), scale, out);
    if (rc != FIXED_OK) {
        snprintf(err, errlen, "instrument %s:%s: %s '%s' at scale %d: %s", def->venue,
                 def->symbol, what, s, scale, fixed_strerror(rc));
        return -1;
    }
    if (*out < 0) {
        snprintf(err, errlen, "instrument %s:%s: %s '%s' is negative", def->venue, def->symbol,
                 what, s);
        return -1;
    }
    return 0;
}

static int copy_name(char *dst, size_t cap, const char *what, const char *src, char *err,
                     size_t errlen)
{
    if (copy_field(dst, cap, src) != 0) {
        snprintf(err, errlen, "instrument %s '%s' is longer than %zu characters", what, src,
                 cap - 1);
        return -1;
    }
    return 0;
}

int instrument_define(lutra_instrument *def, const char *venue, const char *symbol,
                      const char *base, const char *quote, const char *tick,
                      const char *lot, const char *min_qty, const char *min_notional,
                      char *err, size_t errlen)
{
    lutra_instrument d;

    memset(&d, 0, sizeof(d));
    d.kind = LUTRA_KIND_SPOT;
    if (copy_name(d.venue, sizeof(d.venue), "venue", venue, err, errlen) != 0 ||
        copy_name(d.symbol, sizeof(d.symbol), "symbol", symbol, err, errlen) != 0 ||
        copy_name(d.base, sizeof(d.base), "base", base, err, errlen) != 0 ||
        copy_name(d.quote, sizeof(d.quote), "quote", quote, err, errlen) != 0)
        return -1;
    if (!d.venue[0] || !d.symbol[0]) {
        snprintf(err, errlen, "instrument '%s:%s': venue and symbol must not be empty", d.venue,
                 d.symbol);
        return -1;
    }
    if (parse_increment("tick", tick, &d.price_scale, &d.price_increment, &d, err, errlen) != 0 ||
        parse_increment("lot", lot, &d.size_scale, &d.size_increment, &d, err, errlen) != 0 ||
        parse_minimum("min_qty", min_qty, d.size_scale, &d.min_qty, &d, err, errlen) != 0 ||
        parse_minimum("min_notional", min_notional, d.price_scale, &d.min_notional, &d, err,
                      errlen) != 0)
        return -1;
    *def = d;
    return 0;
}

/* ---- Symbol splitting ---- */

/* Quote assets recognised at the end of a concatenated symbol. The longest
 * match wins ("BTCUSDT" is BTC/USDT, not BTCUSD/T), except that a base of
 * three or more letters is preferred: asset codes shorter than that are rare,
 * so "XBTUSD" is XBT/USD rather than XB/TUSD, while "BTCTUSD" is BTC/TUSD. */
static const char *const known_quotes[] = {
    "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USD", "EUR", "GBP", "TRY", "BRL",
    "JPY",  "AUD",  "RUB",  "UAH",   "IRT",  "BTC", "ETH", "BNB", "XRP", "TRX", "DOGE",
};
#define PREFERRED_BASE_MIN 3

/* Length of the longest known quote that ends symbol[0..len) and leaves a
 * base of at least min_base characters; 0 if none. */
static size_t known_quote_suffix(const char *symbol, size_t len, size_t min_base)
{
    size_t best = 0;

    for (size_t i = 0; i < sizeof(known_quotes) / sizeof(known_quotes[0]); i++) {
        size_t n = strlen(known_quotes[i]);
        if (n > best && n + min_base <= len &&
            strcasecmp(symbol + len - n, known_quotes[i]) == 0)
            best = n;
    }
    return best;
}

/* Copy s[0..n) into dst[cap]. @return 0, or -1 if it does not fit. */
static int copy_span(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int split_parts(const char *symbol, size_t base_len, const char *quote, size_t quote_len,
                       char *base, size_t baselen, char *quote_out, size_t quotelen)
{
    if (base_len == 0 || quote_len == 0)
        return -1;
    if (copy_span(base, baselen, symbol, base_len) != 0 ||
        copy_span(quote_out, quotelen, quote, quote_len) != 0)
        return -1;
    return 0;
}

/* "BTC-USDT-SWAP": base BTC, quote the part up to the next separator. */
static int split_at_separator(const char *symbol, char *base, size_t baselen, char *quote,
                              size_t quotelen)
{
    static const char separators[] = "/-_:";
    size_t base_len = strcspn(symbol, separators);
    const char *q;

    if (symbol[base_len] == '\0')
        return 1; /* no separator */
    q = symbol + base_len + 1;
    return split_parts(symbol, base_len, q, strcspn(q, separators), base, baselen, quote,
                       quotelen);
}

static int split_at_known_quote(const char *symbol, char *base, size_t baselen, char *quote,
                                size_t quotelen)
{
    size_t len = strlen(symbol);
    size_t n = known_quote_suffix(symbol, len, PREFERRED_BASE_MIN);

    if (n == 0)
        n = known_quote_suffix(symbol, len, 1);
    if (n == 0)
        return -1;
    return split_parts(symbol, len - n, symbol + len - n, n, base, baselen, quote, quotelen);
}

int instrument_split_symbol(const char *symbol, char *base, size_t baselen, char *quote,
                            size_t quotelen)
{
    int rc = split_at_separator(symbol, base, baselen, quote, quotelen);

    if (rc == 1)
        rc = split_at_known_quote(symbol, base, baselen, quote, quotelen);
    if (rc == 0)
        return 0;
    /* No split: the whole symbol is the base, when it fits. */
    if (baselen > 0 && copy_span(base, baselen, symbol, strlen(symbol)) != 0)
        base[0] = '\0';
    if (quotelen > 0)
        quote[0] = '\0';
    return -1;
}
