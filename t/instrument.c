/*
 * instrument.c -- instrument definitions and the registry (core/instrument.h).
 */
#include <stdint.h>
#include <string.h>

#include "instrument.h"
#include "tap.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char err[256];

/* ok() that err holds every one of the given fragments. */
static void err_has(const char *what, const char *a, const char *b)
{
    int has = strstr(err, a) != NULL && (!b || strstr(err, b) != NULL);
    ok(has, "%s: the message names '%s'%s%s", what, a, b ? " and " : "", b ? b : "");
    if (!has)
        diag("message: %s", err);
}

static lutra_instrument define(const char *venue, const char *symbol, const char *tick,
                               const char *lot, const char *min_qty, const char *min_notional)
{
    lutra_instrument def;
    if (instrument_define(&def, venue, symbol, NULL, NULL, tick, lot, min_qty, min_notional, err,
                          sizeof(err)) != 0)
        bail_out("instrument_define %s:%s: %s", venue, symbol, err);
    return def;
}

/* ---- instrument_define ---- */

struct increment_case {
    const char *s;
    int scale;
    int64_t increment;
};

static const struct increment_case increment_cases[] = {
    {"0.01", 2, 1}, {"0.5", 1, 5}, {"1", 0, 1}, {"0.10", 1, 1},
    {"1e-05", 5, 1}, {"0.00000100", 6, 1}, {"25", 0, 25}, {"0.025", 3, 25},
};

static void test_define(void)
{
    lutra_instrument d;
    int rc;

    rc = instrument_define(&d, "binance", "BTCUSDT", NULL, NULL, "0.01", "0.00001", "0.00001",
                           "5", err, sizeof(err));
    ok(rc == 0, "define binance:BTCUSDT");
    ok(d.price_scale == 2 && d.price_increment == 1, "tick 0.01: price scale 2, increment 1");
    ok(d.size_scale == 5 && d.size_increment == 1, "lot 0.00001: size scale 5, increment 1");
    is_int(d.min_qty, 1, "min_qty 0.00001 at size scale 5");
    is_int(d.min_notional, 500, "min_notional 5 at price scale 2");
    is_str(d.venue, "binance", "venue");
    is_str(d.symbol, "BTCUSDT", "symbol");
    is_str(d.base, "", "base left empty for add() to fill");

    for (size_t i = 0; i < COUNT(increment_cases); i++) {
        const struct increment_case *c = &increment_cases[i];
        rc = instrument_define(&d, "x", "S", "B", "Q", c->s, c->s, NULL, NULL, err, sizeof(err));
        ok(rc == 0 && d.price_scale == c->scale && d.price_increment == c->increment &&
               d.size_scale == c->scale && d.size_increment == c->increment,
           "increment '%s' is %" PRId64 " at scale %d", c->s, c->increment, c->scale);
    }

    rc = instrument_define(&d, "x", "S", "B", "Q", "0.01", "1", NULL, NULL, err, sizeof(err));
    ok(rc == 0 && d.min_qty == 0 && d.min_notional == 0, "NULL minimums are none");
    is_str(d.base, "B", "base given");
    is_str(d.quote, "Q", "quote given");
}

struct define_error_case {
    const char *what;
    const char *venue, *symbol, *base, *tick, *lot, *min_qty, *min_notional;
    const char *names1, *names2;
};

static const struct define_error_case define_errors[] = {
    {"bad tick", "bn", "BTCUSDT", NULL, "abc", "1", NULL, NULL, "tick", "abc"},
    {"zero tick", "bn", "BTCUSDT", NULL, "0", "1", NULL, NULL, "tick", "not positive"},
    {"negative lot", "bn", "BTCUSDT", NULL, "0.01", "-1", NULL, NULL, "lot", "-1"},
    {"missing tick", "bn", "BTCUSDT", NULL, NULL, "1", NULL, NULL, "tick", "missing"},
    {"tick finer than 18 places", "bn", "BTCUSDT", NULL, "1e-19", "1", NULL, NULL, "tick",
     "1e-19"},
    {"min_qty finer than the lot", "bn", "BTCUSDT", NULL, "0.01", "0.001", "0.0001", NULL,
     "min_qty", "0.0001"},
    {"min_notional finer than the tick", "bn", "BTCUSDT", NULL, "0.01", "1", NULL, "0.001",
     "min_notional", "0.001"},
    {"negative min_qty", "bn", "BTCUSDT", NULL, "0.01", "1", "-1", NULL, "min_qty", "negative"},
    {"symbol too long", "bn", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", NULL, "0.01", "1", NULL, NULL,
     "symbol", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"},
    {"venue too long", "a-venue-name-too-long", "BTCUSDT", NULL, "0.01", "1", NULL, NULL,
     "venue", "a-venue-name-too-long"},
    {"base too long", "bn", "BTCUSDT", "ABCDEFGHIJKLMNOPQ", "0.01", "1", NULL, NULL, "base",
     "ABCDEFGHIJKLMNOPQ"},
    {"empty venue", "", "BTCUSDT", NULL, "0.01", "1", NULL, NULL, "venue", "empty"},
    {"empty symbol", "bn", "", NULL, "0.01", "1", NULL, NULL, "symbol", "empty"},
};

static void test_define_errors(void)
{
    for (size_t i = 0; i < COUNT(define_errors); i++) {
        const struct define_error_case *c = &define_errors[i];
        lutra_instrument d;
        err[0] = '\0';
        int rc = instrument_define(&d, c->venue, c->symbol, c->base, NULL, c->tick, c->lot,
                                   c->min_qty, c->min_notional, err, sizeof(err));
        is_int(rc, -1, "define refuses: %s", c->what);
        err_has(c->what, c->names1, c->names2);
    }
}

/* ---- registry ---- */

static void test_registry(void)
{
    instrument_registry *reg = instrument_registry_new();
    lutra_instrument btc = define("binance", "BTCUSDT", "0.01", "0.00001", "0.00001", "5");
    lutra_instrument eth = define("binance", "ETHBTC", "0.00001", "0.0001", NULL, NULL);
    lutra_instrument other_venue = define("kucoin", "BTCUSDT", "0.1", "0.00000001", NULL, NULL);
    lutra_instrument named = btc;
    const lutra_instrument *got;

    if (!reg)
        bail_out("instrument_registry_new failed");
    is_int(instrument_registry_count(reg), 0, "a new registry is empty");
    is_int(instrument_registry_find(reg, "binance", "BTCUSDT"), -1, "find in an empty registry");
    is_int(instrument_registry_add(reg, &btc, err, sizeof(err)), 0, "first add gets id 0");
    is_int(instrument_registry_add(reg, &eth, err, sizeof(err)), 1, "second add gets id 1");
    is_int(instrument_registry_add(reg, &other_venue, err, sizeof(err)), 2,
           "the same symbol on another venue is another instrument");
    is_int(instrument_registry_add(reg, &btc, err, sizeof(err)), 0,
           "adding an identical definition again returns its id");
    /* Base and quote are not part of the identity, only scales and increments. */
    strcpy(named.base, "XBT");
    strcpy(named.quote, "USDT");
    is_int(instrument_registry_add(reg, &named, err, sizeof(err)), 0,
           "same scales and increments with other names is the same instrument");
    is_int(instrument_registry_count(reg), 3, "three instruments");

    is_int(instrument_registry_find(reg, "binance", "BTCUSDT"), 0, "find binance:BTCUSDT");
    is_int(instrument_registry_find(reg, "binance", "ETHBTC"), 1, "find binance:ETHBTC");
    is_int(instrument_registry_find(reg, "kucoin", "BTCUSDT"), 2, "find kucoin:BTCUSDT");
    is_int(instrument_registry_find(reg, "kucoin", "ETHBTC"), -1, "kucoin:ETHBTC is unknown");
    is_int(instrument_registry_find(reg, "binanceBTC", "USDT"), -1,
           "venue and symbol do not run together");
    is_int(instrument_registry_find(reg, "binance", "btcusdt"), -1, "symbols are case-sensitive");

    got = instrument_registry_get(reg, 0);
    ok(got && strcmp(got->symbol, "BTCUSDT") == 0 && got->price_increment == 1 &&
           got->min_notional == 500,
       "get(0) is binance:BTCUSDT as defined");
    ok(got && strcmp(got->base, "BTC") == 0 && strcmp(got->quote, "USDT") == 0,
       "add() split BTCUSDT into BTC/USDT");
    got = instrument_registry_get(reg, 1);
    ok(got && strcmp(got->base, "ETH") == 0 && strcmp(got->quote, "BTC") == 0,
       "add() split ETHBTC into ETH/BTC");
    ok(instrument_registry_get(reg, 3) == NULL, "get(3) is out of range");
    ok(instrument_registry_get(reg, UINT32_MAX) == NULL, "get(UINT32_MAX) is out of range");
    instrument_registry_free(reg);
}

struct conflict_case {
    const char *what;
    const char *tick, *lot, *min_qty, *min_notional;
    const char *field;
};

/* Each differs from binance:BTCUSDT 0.01 / 0.00001 / 0.00001 / 5 in one field. */
static const struct conflict_case conflicts[] = {
    {"a finer tick", "0.001", "0.00001", "0.00001", "5", "price_scale"},
    {"another tick at the same scale", "0.05", "0.00001", "0.00001", "5", "price_increment"},
    {"a coarser lot", "0.01", "0.0001", "0.0001", "5", "size_scale"},
    {"another lot at the same scale", "0.01", "0.00002", "0.00002", "5", "size_increment"},
    {"another min_qty", "0.01", "0.00001", "0.00010", "5", "min_qty"},
    {"another min_notional", "0.01", "0.00001", "0.00001", "10", "min_notional"},
};

static void test_conflicts(void)
{
    instrument_registry *reg = instrument_registry_new();
    lutra_instrument btc = define("binance", "BTCUSDT", "0.01", "0.00001", "0.00001", "5");

    if (!reg || instrument_registry_add(reg, &btc, err, sizeof(err)) != 0)
        bail_out("registry setup: %s", err);
    for (size_t i = 0; i < COUNT(conflicts); i++) {
        const struct conflict_case *c = &conflicts[i];
        lutra_instrument d =
            define("binance", "BTCUSDT", c->tick, c->lot, c->min_qty, c->min_notional);
        err[0] = '\0';
        is_int(instrument_registry_add(reg, &d, err, sizeof(err)), -1,
               "a second definition with %s is refused", c->what);
        err_has(c->what, "binance:BTCUSDT", c->field);
    }
    is_int(instrument_registry_count(reg), 1, "refused definitions were not added");
    instrument_registry_free(reg);
}

static void test_add_validation(void)
{
    instrument_registry *reg = instrument_registry_new();
    lutra_instrument d = define("binance", "BTCUSDT", "0.01", "0.00001", NULL, NULL);
    const lutra_instrument *got;

    if (!reg)
        bail_out("instrument_registry_new failed");
    d.price_increment = 0;
    is_int(instrument_registry_add(reg, &d, err, sizeof(err)), -1, "add refuses increment 0");
    err_has("increment 0", "binance:BTCUSDT", "increment");
    d = define("binance", "BTCUSDT", "0.01", "0.00001", NULL, NULL);
    d.price_scale = 19;
    is_int(instrument_registry_add(reg, &d, err, sizeof(err)), -1, "add refuses scale 19");
    d = define("binance", "BTCUSDT", "0.01", "0.00001", NULL, NULL);
    memset(d.symbol, 'A', sizeof(d.symbol));
    is_int(instrument_registry_add(reg, &d, err, sizeof(err)), -1,
           "add refuses a symbol without its NUL");
    err_has("symbol without its NUL", "symbol", "NUL");

    /* Garbage after the NUL must not reach the stored (and filed) bytes. */
    d = define("binance", "ETHUSDT", "0.01", "0.00001", NULL, NULL);
    memset(d.symbol + 8, 0x7f, sizeof(d.symbol) - 8);
    memset(d.reserved, 0x7f, sizeof(d.reserved));
    is_int(instrument_registry_add(reg, &d, err, sizeof(err)), 0, "add ETHUSDT");
    got = instrument_registry_get(reg, 0);
    int padded = got != NULL;
    for (size_t i = 7; padded && i < sizeof(got->symbol); i++)
        padded = got->symbol[i] == '\0';
    for (size_t i = 0; padded && i < sizeof(got->reserved); i++)
        padded = got->reserved[i] == 0;
    ok(padded, "the stored definition is NUL-padded with zero reserved bytes");
    instrument_registry_free(reg);
}

/* Enough instruments to grow the array and the hash table several times. */
static void test_many(void)
{
    enum { N = 3000 };
    instrument_registry *reg = instrument_registry_new();
    lutra_instrument d = define("v", "S", "0.01", "1", NULL, NULL);
    int added = 1, found = 1;

    if (!reg)
        bail_out("instrument_registry_new failed");
    for (int i = 0; i < N; i++) {
        snprintf(d.symbol, sizeof(d.symbol), "SYM%dUSDT", i);
        snprintf(d.venue, sizeof(d.venue), "venue%d", i % 7);
        d.base[0] = d.quote[0] = '\0';
        added &= instrument_registry_add(reg, &d, err, sizeof(err)) == i;
    }
    for (int i = 0; i < N; i++) {
        char symbol[32], venue[16];
        snprintf(symbol, sizeof(symbol), "SYM%dUSDT", i);
        snprintf(venue, sizeof(venue), "venue%d", i % 7);
        found &= instrument_registry_find(reg, venue, symbol) == i;
        snprintf(venue, sizeof(venue), "venue%d", (i + 1) % 7);
        found &= instrument_registry_find(reg, venue, symbol) == -1;
    }
    ok(added, "%d instruments get ids 0..%d in order", N, N - 1);
    ok(found, "each of %d instruments is found under its venue only", N);
    is_int(instrument_registry_count(reg), N, "count is %d", N);
    instrument_registry_free(reg);
}

/* ---- instrument_split_symbol ---- */

struct split_case {
    const char *symbol;
    int rc;
    const char *base, *quote;
};

static const struct split_case split_cases[] = {
    {"BTCUSDT", 0, "BTC", "USDT"},
    {"ETHBTC", 0, "ETH", "BTC"},
    {"BTC-PERPETUAL", 0, "BTC", "PERPETUAL"},
    {"XBTUSD", 0, "XBT", "USD"},
    {"BTCTUSD", 0, "BTC", "TUSD"},
    {"BTC/USD", 0, "BTC", "USD"},
    {"ETH_USDC", 0, "ETH", "USDC"},
    {"BTC:USDT", 0, "BTC", "USDT"},
    {"BTC-USDT-SWAP", 0, "BTC", "USDT"},
    {"BTCFDUSD", 0, "BTC", "FDUSD"},
    {"USDTIRT", 0, "USDT", "IRT"},
    {"OPUSDT", 0, "OP", "USDT"},
    {"SHIBDOGE", 0, "SHIB", "DOGE"},
    {"btcusdt", 0, "btc", "usdt"},
    {"FOO", -1, "FOO", ""},
    {"USDT", -1, "USDT", ""},
    {"-USDT", -1, "-USDT", ""},
    {"BTC-", -1, "BTC-", ""},
    {"", -1, "", ""},
    {"ABCDEFGHIJKLMNOPQRUSDT", -1, "", ""},
};

static void test_split(void)
{
    for (size_t i = 0; i < COUNT(split_cases); i++) {
        const struct split_case *c = &split_cases[i];
        char base[LUTRA_ASSET_MAX] = "?", quote[LUTRA_ASSET_MAX] = "?";
        int rc = instrument_split_symbol(c->symbol, base, sizeof(base), quote, sizeof(quote));
        ok(rc == c->rc && strcmp(base, c->base) == 0 && strcmp(quote, c->quote) == 0,
           "split '%s' -> %d '%s' '%s'", c->symbol, c->rc, c->base, c->quote);
        if (rc != c->rc || strcmp(base, c->base) != 0 || strcmp(quote, c->quote) != 0)
            diag("got %d '%s' '%s'", rc, base, quote);
    }
    char small[4], quote[8];
    is_int(instrument_split_symbol("ETHUSDT", small, sizeof(small), quote, sizeof(quote)), 0,
           "split fits a 3-letter base in 4 bytes");
    is_int(instrument_split_symbol("DOGEUSDT", small, sizeof(small), quote, sizeof(quote)), -1,
           "split refuses a base longer than its buffer");
}

int main(void)
{
    plan((int)(8 + COUNT(increment_cases) + 3 + 2 * COUNT(define_errors) + 19 +
               2 * COUNT(conflicts) + 1 + 7 + 3 + COUNT(split_cases) + 2));
    test_define();
    test_define_errors();
    test_registry();
    test_conflicts();
    test_add_validation();
    test_many();
    test_split();
    return done();
}
