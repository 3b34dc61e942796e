/*
 * Fuzz target: stored ctx.state bytes, as a restart reads them from the
 * state store: through the walk that bounds them (core/msgpack_check.h)
 * and into a strategy through the loader (strategy_state_load, which walks
 * them again, then decodes with msgpack-c). What the walk accepts,
 * msgpack-c decodes whole; what it refuses, the loader refuses; and no
 * input makes msgpack-c ask for memory its bytes do not account for
 * (AddressSanitizer aborts on such a request, libFuzzer on -malloc_limit_mb).
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "msgpack_check.h"
#include "strategy.h"

static int64_t fuzz_now(void *host)
{
    (void)host;
    return INT64_C(1700000000000000000);
}

static int32_t fuzz_instrument_find(void *host, const char *symbol)
{
    (void)host, (void)symbol;
    return -1;
}

static const lutra_instrument *fuzz_instrument_get(void *host, uint32_t id)
{
    (void)host, (void)id;
    return NULL;
}

static const book *fuzz_book(void *host, uint32_t id)
{
    (void)host, (void)id;
    return NULL;
}

static const strategy_host_ops fuzz_ops = {
    .now = fuzz_now,
    .instrument_find = fuzz_instrument_find,
    .instrument_get = fuzz_instrument_get,
    .book = fuzz_book,
};

/* One strategy for the whole run: each load replaces its ctx.state. */
static strategy *fuzz_strategy(void)
{
    static strategy *s;
    strategy_config cfg = {0};
    char path[64], err[512];
    FILE *f;

    if (s)
        return s;
    snprintf(path, sizeof path, "/tmp/lutra-fuzz-state-load-%d.lua", (int)getpid());
    if (!(f = fopen(path, "w")))
        abort();
    fputs("return { on_start = function(ctx) end }\n", f);
    fclose(f);
    cfg.name = "fuzz";
    cfg.path = path;
    s = strategy_load(&fuzz_ops, NULL, &cfg, err, sizeof err);
    unlink(path);
    if (!s) {
        fprintf(stderr, "state_load: %s\n", err);
        abort();
    }
    return s;
}

/* msgpack-c decodes data[0..len) as one value, to its last byte. */
static int fuzz_decodes_whole(const uint8_t *data, size_t len)
{
    msgpack_unpacked u;
    size_t off = 0;
    int rc;

    msgpack_unpacked_init(&u);
    rc = msgpack_unpack_next(&u, (const char *)data, len, &off);
    msgpack_unpacked_destroy(&u);
    return rc == MSGPACK_UNPACK_SUCCESS && off == len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strategy *s = fuzz_strategy();
    msgpack_check_result r;
    char err[256], why[160];
    int loaded;

    msgpack_check_value(data, size, MSGPACK_CHECK_DEPTH_MAX, &r);
    msgpack_check_describe(&r, why, sizeof why);
    if (r.status == MSGPACK_CHECK_OK && !fuzz_decodes_whole(data, size))
        abort();
    if (r.status == MSGPACK_CHECK_TRAILING &&
        (r.end == 0 || r.end >= size || !fuzz_decodes_whole(data, r.end)))
        abort();
    loaded = strategy_state_load(s, data, size, err, sizeof err) == 0;
    if (loaded && r.status != MSGPACK_CHECK_OK)
        abort();
    return 0;
}
