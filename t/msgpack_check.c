/*
 * msgpack_check.c -- the walk that bounds a stored msgpack value before
 * msgpack-c decodes it (core/msgpack_check.h).
 *
 *   - every msgpack type, in every width, passes, and msgpack-c decodes
 *     each whole: the walk knows every header;
 *   - each lie about sizes is refused: containers (16 and 32 bit, maps
 *     owing two bytes an entry) declaring more than the bytes left, byte
 *     strings (str, bin, ext) running past the end, every cut of a value,
 *     bytes after it, 0xc1, and nesting past the limit, which is exactly
 *     msgpack-c's own;
 *   - end to end: a ctx.state record written with raw LMDB, declaring a map
 *     of 4294967295 entries in 12 bytes, stops its strategy before on_start
 *     with the reason, leaves the record as it was, and allocates nothing
 *     for it (under AddressSanitizer the process would abort otherwise).
 */
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "journal.h"
#include "log.h"
#include "msgpack_check.h"
#include "state.h"
#include "lmdb_raw.h"
#include "tap.h"

static msgpack_check_result res;

static msgpack_check_status check(const void *data, size_t len)
{
    return msgpack_check_value(data, len, MSGPACK_CHECK_DEPTH_MAX, &res);
}

/* What the last check said. */
static const char *said(void)
{
    static char buf[256];
    return msgpack_check_describe(&res, buf, sizeof buf);
}

/* msgpack-c decodes data[0..len) as one value, to the last byte. */
static int decodes_whole(const void *data, size_t len)
{
    msgpack_unpacked u;
    size_t off = 0;
    int rc;

    msgpack_unpacked_init(&u);
    rc = msgpack_unpack_next(&u, data, len, &off);
    msgpack_unpacked_destroy(&u);
    return rc == MSGPACK_UNPACK_SUCCESS && off == len;
}

/* ---- Valid values ---- */

static int pack_filler(msgpack_packer *pk, size_t n, int as_map)
{
    int rc = as_map ? msgpack_pack_map(pk, n) : msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (as_map)
            rc = msgpack_pack_uint32(pk, (uint32_t)i);
        rc |= msgpack_pack_nil(pk);
    }
    return rc;
}

static int pack_bytes(msgpack_packer *pk, char kind, size_t n)
{
    static char body[70000];
    int rc;

    memset(body, 'x', sizeof body);
    if (kind == 's')
        rc = msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, body, n);
    else if (kind == 'b')
        rc = msgpack_pack_bin(pk, n) | msgpack_pack_bin_body(pk, body, n);
    else
        rc = msgpack_pack_ext(pk, n, 7) | msgpack_pack_ext_body(pk, body, n);
    return rc;
}

/* Sample i, packed by msgpack-c in its smallest encoding. @return 0, 1
 * past the last sample. */
static int pack_sample(msgpack_packer *pk, int i, const char **name)
{
    static const struct {
        const char *name;
        char kind;   /* i: int64, u: uint64, f: float, d: double, s/b/e: bytes, a/m: containers */
        int64_t v;
    } samples[] = {
        {"positive fixint", 'i', 7},         {"negative fixint", 'i', -3},
        {"uint8", 'u', 200},                 {"uint16", 'u', 60000},
        {"uint32", 'u', 4000000000},         {"uint64", 'u', INT64_MAX},
        {"int8", 'i', -100},                 {"int16", 'i', -30000},
        {"int32", 'i', -2000000000},         {"int64", 'i', INT64_MIN},
        {"float32", 'f', 0},                 {"float64", 'd', 0},
        {"fixstr", 's', 5},                  {"str8", 's', 200},
        {"str16", 's', 300},                 {"str32", 's', 70000},
        {"empty str", 's', 0},               {"bin8", 'b', 3},
        {"bin16", 'b', 300},                 {"bin32", 'b', 70000},
        {"fixext1", 'e', 1},                 {"fixext2", 'e', 2},
        {"fixext4", 'e', 4},                 {"fixext8", 'e', 8},
        {"fixext16", 'e', 16},               {"ext8", 'e', 3},
        {"ext16", 'e', 300},                 {"ext32", 'e', 70000},
        {"fixarray", 'a', 3},                {"array16", 'a', 20},
        {"array32", 'a', 70000},             {"empty array", 'a', 0},
        {"fixmap", 'm', 3},                  {"map16", 'm', 20},
        {"map32", 'm', 70000},               {"empty map", 'm', 0},
        {"nil", 'n', 0},                     {"true", 't', 1},
        {"false", 't', 0},
    };

    if (i >= (int)(sizeof samples / sizeof samples[0]))
        return 1;
    *name = samples[i].name;
    switch (samples[i].kind) {
    case 'i': return msgpack_pack_int64(pk, samples[i].v) ? -1 : 0;
    case 'u': return msgpack_pack_uint64(pk, (uint64_t)samples[i].v) ? -1 : 0;
    case 'f': return msgpack_pack_float(pk, 1.5f) ? -1 : 0;
    case 'd': return msgpack_pack_double(pk, -0.1) ? -1 : 0;
    case 'a': return pack_filler(pk, (size_t)samples[i].v, 0) ? -1 : 0;
    case 'm': return pack_filler(pk, (size_t)samples[i].v, 1) ? -1 : 0;
    case 'n': return msgpack_pack_nil(pk) ? -1 : 0;
    case 't': return (samples[i].v ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) ? -1 : 0;
    default: return pack_bytes(pk, samples[i].kind, (size_t)samples[i].v) ? -1 : 0;
    }
}

static void test_valid(void)
{
    /* Wider encodings than msgpack-c's packer picks: valid all the same. */
    static const struct {
        const char *name, *bytes;
        size_t len;
    } wide[] = {
        {"array16 of one", "\xdc\x00\x01\xc0", 4},
        {"array32 of one", "\xdd\x00\x00\x00\x01\xc0", 6},
        {"map16 of one", "\xde\x00\x01\xa1k\x01", 6},
        {"empty map32", "\xdf\x00\x00\x00\x00", 5},
        {"str32 of two", "\xdb\x00\x00\x00\x02hi", 7},
        {"empty bin32", "\xc6\x00\x00\x00\x00", 5},
        {"ext32 of one", "\xc9\x00\x00\x00\x01\x05x", 7},
        {"empty ext8", "\xc7\x00\x05", 3},
    };
    msgpack_sbuffer sb, all;
    msgpack_packer pk, allpk;
    const char *name = "";
    int i, rc, every = 1, n = 0, prefixes = 1;

    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&all);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_packer_init(&allpk, &all, msgpack_sbuffer_write);
    msgpack_pack_array(&allpk, 39);
    for (i = 0; (rc = pack_sample(&pk, i, &name)) != 1; i++) {
        if (rc < 0)
            bail_out("cannot pack %s", name);
        if (check(sb.data, sb.size) != MSGPACK_CHECK_OK || res.end != sb.size ||
            !decodes_whole(sb.data, sb.size)) {
            diag("%s (%zu bytes): %s", name, sb.size, said());
            every = 0;
        }
        msgpack_sbuffer_write(&all, sb.data, sb.size);
        msgpack_sbuffer_clear(&sb);
        n++;
    }
    is_int(n, 39, "39 samples (the array below holds them all)");
    ok(every, "every type in every width msgpack-c packs passes, and msgpack-c decodes it whole");
    every = 1;
    for (size_t w = 0; w < sizeof wide / sizeof wide[0]; w++)
        if (check(wide[w].bytes, wide[w].len) != MSGPACK_CHECK_OK ||
            !decodes_whole(wide[w].bytes, wide[w].len)) {
            diag("%s: %s", wide[w].name, said());
            every = 0;
        }
    ok(every, "wider encodings than needed (array16/32, map16/32, str32, bin32, ext8/32) pass");
    ok(check(all.data, all.size) == MSGPACK_CHECK_OK && decodes_whole(all.data, all.size),
       "an array of them all (%zu bytes) passes", all.size);

    /* Every cut of it, down to nothing: refused, never read past. Cutting
     * through 70,000-byte strings is slow to do byte by byte: the cuts are
     * every byte of the first 4 KiB and then every 97th. */
    for (size_t cut = 0; cut < all.size; cut += cut < 4096 ? 1 : 97) {
        msgpack_check_status st = check(all.data, cut);
        if (st != MSGPACK_CHECK_TRUNCATED && st != MSGPACK_CHECK_OVERSIZED) {
            diag("cut at %zu: %s", cut, said());
            prefixes = 0;
            break;
        }
    }
    ok(prefixes, "every cut of it is refused (cut short, or a container that cannot fit)");
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&all);
}

/* ---- Lies ---- */

static void refused(const char *what, const char *bytes, size_t len, msgpack_check_status want,
                    const char *message)
{
    msgpack_check_status got = check(bytes, len);
    ok(got == want && !strcmp(said(), message), "%s: refused, \"%s\"", what, said());
    if (got != want)
        diag("status %d, want %d", (int)got, (int)want);
    if (strcmp(said(), message))
        diag("want \"%s\"", message);
}

static void test_lies(void)
{
    refused("array32 of 4294967295 in 8 bytes", "\xdd\xff\xff\xff\xff\x01\x02\x03", 8,
            MSGPACK_CHECK_OVERSIZED,
            "an array at byte 0 declares 4294967295 elements in the 3 bytes left");
    refused("map32 of 4294967295 in 12 bytes", "\xdf\xff\xff\xff\xff\xa1n\x01\xa1m\x02\x03\x04",
            12, MSGPACK_CHECK_OVERSIZED,
            "a map at byte 0 declares 4294967295 entries in the 7 bytes left");
    refused("array16 of 5 in 2 bytes", "\xdc\x00\x05\x01\x02", 5, MSGPACK_CHECK_OVERSIZED,
            "an array at byte 0 declares 5 elements in the 2 bytes left");
    refused("map16 of 300 in 4 bytes", "\xde\x01\x2c\x01\x02\x03\x04", 7,
            MSGPACK_CHECK_OVERSIZED, "a map at byte 0 declares 300 entries in the 4 bytes left");
    refused("a map owes two bytes an entry", "\x82\x01\x02\x03", 4, MSGPACK_CHECK_OVERSIZED,
            "a map at byte 0 declares 2 entries in the 3 bytes left");
    refused("a lie inside a value", "\x92\x01\xdd\x00\x01\x00\x00\x01", 8,
            MSGPACK_CHECK_OVERSIZED,
            "an array at byte 2 declares 65536 elements in the 1 bytes left");
    is_int(res.declared, 65536, "the result holds what was declared...");
    ok(res.at == 2 && res.left == 1 && !strcmp(res.what, "an array") &&
           !strcmp(res.unit, "elements"),
       "... where, in how many bytes, and what");

    refused("str32 of 4294967295", "\xdb\xff\xff\xff\xff" "abc", 8, MSGPACK_CHECK_TRUNCATED,
            "msgpack cut short (8 bytes)");
    ok(!strcmp(res.what, "a string") && res.at == 0, "the result says it was a string at 0");
    refused("bin32 of 4294967295", "\xc6\xff\xff\xff\xff\x00", 6, MSGPACK_CHECK_TRUNCATED,
            "msgpack cut short (6 bytes)");
    refused("ext32 of 4294967295", "\xc9\xff\xff\xff\xff\x01\x00", 7, MSGPACK_CHECK_TRUNCATED,
            "msgpack cut short (7 bytes)");
    refused("fixext16 with 3 bytes", "\xd8\x01\x00\x00\x00", 5, MSGPACK_CHECK_TRUNCATED,
            "msgpack cut short (5 bytes)");
    refused("an array32 header cut", "\xdd\x00\x00", 3, MSGPACK_CHECK_TRUNCATED,
            "msgpack cut short (3 bytes)");
    refused("a float64 cut", "\x91\xcb\x00\x00", 4, MSGPACK_CHECK_TRUNCATED,
            "msgpack cut short (4 bytes)");
    refused("elements that fit the bound but are missing", "\x92\x92\x01\x02", 4,
            MSGPACK_CHECK_TRUNCATED, "msgpack cut short (4 bytes)");
    refused("no bytes", "", 0, MSGPACK_CHECK_TRUNCATED, "msgpack cut short (0 bytes)");

    refused("bytes after the value", "\x80\x00\x01", 3, MSGPACK_CHECK_TRAILING,
            "2 bytes follow the value's 1");
    is_int(res.end, 1, "the value's end is given (a caller may judge the value first)");
    refused("0xc1 inside an array", "\x92\x01\xc1", 3, MSGPACK_CHECK_INVALID,
            "not msgpack (3 bytes)");
    is_int(res.at, 2, "where 0xc1 sits");
}

/* ---- Nesting ---- */

/* levels nested arrays of one, the innermost empty (an empty container is a
 * level too). */
static size_t nested(char *buf, int levels)
{
    memset(buf, 0x91, (size_t)levels - 1);
    buf[levels - 1] = (char)0x90;
    return (size_t)levels;
}

static void test_depth(void)
{
    char buf[64];
    size_t n;
    msgpack_unpacked u;
    size_t off = 0;
    int rc;

    n = nested(buf, 32);
    ok(check(buf, n) == MSGPACK_CHECK_OK && decodes_whole(buf, n),
       "32 nested arrays pass, and msgpack-c reads them");
    n = nested(buf, 33);
    refused("33 nested arrays", buf, n, MSGPACK_CHECK_TOO_DEEP,
            "containers nested deeper than 32 levels (an array at byte 32)");
    /* The limit is msgpack-c's own: it refuses the 33rd level too. */
    msgpack_unpacked_init(&u);
    rc = msgpack_unpack_next(&u, buf, n, &off);
    msgpack_unpacked_destroy(&u);
    is_int(rc, MSGPACK_UNPACK_NOMEM_ERROR,
           "msgpack-c itself reads no deeper than MSGPACK_CHECK_DEPTH_MAX");
    ok(msgpack_check_value("\x91\x91\x90", 3, 2, &res) == MSGPACK_CHECK_TOO_DEEP &&
           msgpack_check_value("\x91\x90", 2, 2, &res) == MSGPACK_CHECK_OK,
       "a caller's smaller limit (2) is applied");
    ok(msgpack_check_value("\x81\x01\x81\x01\x90", 5, 2, &res) == MSGPACK_CHECK_TOO_DEEP &&
           res.at == 4,
       "maps count as levels, the array inside two maps is the third");
    msgpack_check_value("\x90", 1, 0, &res);
    ok(res.max_depth == MSGPACK_CHECK_DEPTH_MAX, "a limit below 1 means msgpack-c's");
    msgpack_check_value("\x90", 1, 1000, &res);
    ok(res.max_depth == MSGPACK_CHECK_DEPTH_MAX, "and so does one past it");
}

/* ---- End to end: a damaged ctx.state in the store ---- */

static char root[] = "/tmp/lutra-msgpack-check-XXXXXX";
static char script[PATH_MAX];

static int64_t test_clock(void *ud)
{
    (void)ud;
    return 1723161600 * INT64_C(1000000000);
}

/* Start an engine on the store in dir with strategy mm (the script). Its
 * failure, if any, into error. @return engine_start's result. */
static int start_on(const char *dir, char *error, size_t cap)
{
    engine_config ec = {.mode = "backtest", .lib_path = "scripts/lib"};
    strategy_config sc = {.name = "mm", .path = script};
    state_options so = {.dir = dir, .sync = STATE_SYNC_NONE};
    instrument_registry *reg = instrument_registry_new();
    const char *name = NULL, *msg = NULL;
    char err[1024];
    state_store *st;
    journal *j;
    engine *e;
    int rc;

    if (!reg || !(e = engine_new(&ec, reg, err, sizeof err)))
        bail_out("engine: %s", err);
    if (!(st = state_open(&so, err, sizeof err)) || !(j = journal_new(st, reg)))
        bail_out("store %s: %s", dir, err);
    engine_set_clock(e, test_clock, NULL);
    engine_set_journal(e, j, NULL, NULL);
    if (engine_add_strategy(e, &sc, err, sizeof err) < 0)
        bail_out("strategy: %s", err);
    rc = engine_start(e);
    error[0] = '\0';
    if (engine_failure(e, &name, &msg))
        snprintf(error, cap, "%s: %s", name, msg);
    engine_free(e);
    journal_free(j);
    state_close(st);
    instrument_registry_free(reg);
    return rc;
}

/* The stored ctx.state of mm, copied into buf. @return its length, or -1. */
static long stored_state(const char *dir, char *buf, size_t cap)
{
    state_options so = {.dir = dir, .read_only = 1};
    char err[512];
    state_store *st = state_open(&so, err, sizeof err);
    const void *data;
    size_t len;
    long n = -1;

    if (st && state_get_strategy(st, "mm", &data, &len, err, sizeof err) == 1 && len <= cap) {
        memcpy(buf, data, len);
        n = (long)len;
    }
    state_close(st);
    return n;
}

static void test_store(void)
{
    static const char damaged[] = "\xdf\xff\xff\xff\xff\xa1n\x01\xa1m\x02\x03";
    static const char good[] = "\x81\xa1n\x01";
    char dir[PATH_MAX], error[2048], back[64];
    state_options so;
    state_store *st;
    FILE *f;
    int rc;

    snprintf(script, sizeof script, "%s/mm.lua", root);
    snprintf(dir, sizeof dir, "%s/store", root);
    if (!(f = fopen(script, "w")))
        bail_out("cannot write %s", script);
    /* on_start says which state it was given, by failing with it. */
    fputs("local S = {}\n"
          "function S.on_start(ctx) error('on_start ran: n=' .. tostring(ctx.state.n)) end\n"
          "return S\n",
          f);
    fclose(f);
    memset(&so, 0, sizeof so);
    so.dir = dir;
    so.sync = STATE_SYNC_NONE;
    if (!(st = state_open(&so, error, sizeof error)))
        bail_out("store: %s", error);
    state_close(st);

    ok(lmdb_raw_write(dir, "strategies", "mm", good, sizeof good - 1) == 0 &&
           start_on(dir, error, sizeof error) < 0 && strstr(error, "on_start ran: n=1"),
       "a sound ctx.state written with raw LMDB is loaded before on_start");

    ok(lmdb_raw_write(dir, "strategies", "mm", damaged, sizeof damaged - 1) == 0,
       "a ctx.state declaring a map of 4294967295 entries in 12 bytes, written with raw LMDB");
    rc = start_on(dir, error, sizeof error);
    is_int(rc, -1, "the engine does not start (and did not abort on a huge allocation)");
    is_str(error,
           "mm: saved state: not a saved state: a map at byte 0 declares 4294967295 entries in "
           "the 7 bytes left",
           "strategy mm stops with the reason, before on_start ran");
    ok(stored_state(dir, back, sizeof back) == (long)sizeof damaged - 1 &&
           memcmp(back, damaged, sizeof damaged - 1) == 0,
       "the damaged record is left as it was, for the operator");
}

int main(void)
{
    if (!mkdtemp(root))
        bail_out("mkdtemp: %s", strerror(errno));
    log_set_level(LOG_ERROR);
    plan(38);
    test_valid();
    test_lies();
    test_depth();
    test_store();
    tap_rmtree(root);
    return done();
}
