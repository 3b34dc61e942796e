/*
 * strategy_state.c -- ctx.state: what round-trips through its msgpack
 * encoding, what is refused (and the key path the error names), when
 * strategy_state_take reports a change, and what strategy_state_load
 * accepts.
 *
 * One strategy file, written to a temporary folder, serves every case: its
 * on_status handler runs the command named by the event's `state` field
 * ("incr", "fn", ...), and it reports through ctx:log, which the host
 * records. The host is minimal: these handlers need no market.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "strategy.h"
#include "tap.h"

#define MAX_LINES 32

static const char strategy_src[] =
    "local ffi = require('ffi')\n"
    "local S = { params = { role = 'plain' } }\n"
    "\n"
    "local function chain(n)\n"
    "  local top = {}\n"
    "  local t = top\n"
    "  for _ = 2, n do t.d = {}; t = t.d end\n"
    "  return top\n"
    "end\n"
    "\n"
    "local function sample()\n"
    "  return {\n"
    "    int = 3, neg = -7, zero = 0, negzero = -0.0, tenth = 0.1, big = 1e300,\n"
    "    tiny = 5e-324, nan = 0/0, inf = 1/0, ninf = -1/0, half = 2^51 + 0.5,\n"
    "    p53 = 2^53, n53 = -2^53, p63 = 2^63, n63 = -2^63,\n"
    "    str = 'a\\0b\\0', empty = '', bytes = '\\255\\254\\0\\1',\n"
    "    yes = true, no = false,\n"
    "    list = { 10, 20.5, 'x', { 1, 2 }, { k = 'v' } },\n"
    "    map = { a = { b = { c = { d = 'deep' } } } },\n"
    "    mixed = { 1, 2, x = 3, [0.5] = 'half', [-1] = 'minus', [true] = 't',\n"
    "              [false] = 'f', ['a b'] = 1, [10] = 'ten' },\n"
    "    sparse = { [1] = 'one', [3] = 'three' },\n"
    "    emptyt = {},\n"
    "    [1] = 'top one', [2.5] = 'top float key', [1e300] = 'huge key',\n"
    "  }\n"
    "end\n"
    "\n"
    "local function same(a, b)\n"
    "  if type(a) == 'number' then\n"
    "    if a ~= a then return b ~= b end\n"
    "    if a == 0 and b == 0 then return 1/a == 1/b end\n"
    "  end\n"
    "  return a == b\n"
    "end\n"
    "\n"
    "-- The first difference between want and got, or nil.\n"
    "local function diff(want, got, path)\n"
    "  if type(want) ~= type(got) then\n"
    "    return path .. ': want a ' .. type(want) .. ', got a ' .. type(got)\n"
    "  end\n"
    "  if type(want) ~= 'table' then\n"
    "    if same(want, got) then return nil end\n"
    "    return path .. ': want ' .. tostring(want) .. ', got ' .. tostring(got)\n"
    "  end\n"
    "  for k, v in pairs(want) do\n"
    "    local d = diff(v, got[k], path .. '[' .. tostring(k) .. ']')\n"
    "    if d then return d end\n"
    "  end\n"
    "  for k in pairs(got) do\n"
    "    if want[k] == nil then return path .. '[' .. tostring(k) .. ']: not expected' end\n"
    "  end\n"
    "end\n"
    "\n"
    "local function copy(t)\n"
    "  local c = {}\n"
    "  for k, v in pairs(t) do c[k] = type(v) == 'table' and copy(v) or v end\n"
    "  return c\n"
    "end\n"
    "\n"
    "local function depth(t)\n"
    "  local n = 0\n"
    "  while t do n = n + 1; t = t.d end\n"
    "  return n\n"
    "end\n"
    "\n"
    "local alias\n"
    "\n"
    "function S.on_start(ctx)\n"
    "  local role = ctx.params.role\n"
    "  if role == 'make' then ctx.state = sample()\n"
    "  elseif role == 'check' then ctx:log('info', '%s', diff(sample(), ctx.state, 'state') or 'equal')\n"
    "  elseif role == 'alias' then ctx.state.count = 0; alias = ctx.state\n"
    "  end\n"
    "end\n"
    "\n"
    "local commands = {\n"
    "  noop = function(ctx) end,\n"
    "  read = function(ctx) local _ = ctx.state.count end,\n"
    "  incr = function(ctx) ctx.state.count = (ctx.state.count or 0) + 1 end,\n"
    "  show = function(ctx) ctx:log('info', '%s', tostring(ctx.state.count)) end,\n"
    "  depth = function(ctx) ctx:log('info', '%d', depth(ctx.state)) end,\n"
    "  clear = function(ctx) ctx.state = {} end,\n"
    "  assign_same = function(ctx) ctx.state = copy(ctx.state) end,\n"
    "  assign_new = function(ctx) ctx.state = { fresh = true } end,\n"
    "  assign_bad = function(ctx) ctx.state = 5 end,\n"
    "  alias_incr = function(ctx) alias.count = alias.count + 1 end,\n"
    "  fn = function(ctx) ctx.state.orders = { cb = function() end } end,\n"
    "  listfn = function(ctx) ctx.state.list = { 1, 2, print } end,\n"
    "  userdata = function(ctx) ctx.state.f = io.stdout end,\n"
    "  cdata = function(ctx) ctx.state.c = ffi.new('int[1]') end,\n"
    "  thread = function(ctx) ctx.state.co = coroutine.create(function() end) end,\n"
    "  cycle = function(ctx) local t = {}; t.self = t; ctx.state.a = t end,\n"
    "  cycle_top = function(ctx) ctx.state.me = ctx.state end,\n"
    "  tablekey = function(ctx) ctx.state.k = { [{}] = 1 } end,\n"
    "  oddkey = function(ctx) ctx.state['a b'] = { [true] = { f = print } } end,\n"
    "  deep_ok = function(ctx) ctx.state.d = chain(31) end,\n"
    "  deep_bad = function(ctx) ctx.state.d = chain(32) end,\n"
    "  ctx_fields = function(ctx)\n"
    "    ctx.extra = 1\n"
    "    local fine = ctx.extra == 1 and rawget(ctx, 'extra') == 1 and rawget(ctx, 'state') == nil\n"
    "      and ctx.mode == 'backtest' and type(ctx.params) == 'table' and ctx.missing == nil\n"
    "      and getmetatable(ctx) == 'ctx' and not pcall(setmetatable, ctx, {})\n"
    "    ctx:log('info', '%s', tostring(fine))\n"
    "  end,\n"
    "}\n"
    "\n"
    "function S.on_status(ctx, s) commands[s.state](ctx) end\n"
    "return S\n";

/* ---- The host ---- */

typedef struct fake_host {
    char lines[MAX_LINES][256];
    int nlines;
} fake_host;

static char dir[] = "/tmp/lutra-test-state-XXXXXX";
static char path[sizeof dir + 32];

static int64_t host_now(void *h)
{
    (void)h;
    return INT64_C(1700000000000000000);
}

static int32_t host_instrument_find(void *h, const char *symbol)
{
    (void)h, (void)symbol;
    return -1;
}

static const lutra_instrument *host_instrument_get(void *h, uint32_t id)
{
    (void)h, (void)id;
    return NULL;
}

static const book *host_book(void *h, uint32_t id)
{
    (void)h, (void)id;
    return NULL;
}

static void host_log(void *hv, strategy *s, int level, const char *msg)
{
    fake_host *h = hv;
    (void)s, (void)level;
    if (h->nlines < MAX_LINES)
        snprintf(h->lines[h->nlines++], sizeof h->lines[0], "%s", msg);
}

static const strategy_host_ops host_ops = {
    .now = host_now,
    .instrument_find = host_instrument_find,
    .instrument_get = host_instrument_get,
    .book = host_book,
    .log = host_log,
};

static fake_host host;

/* Load the strategy with params.role = role; its on_start is not run. */
static strategy *load(const char *role)
{
    strategy_param p;
    strategy_config cfg;
    char kv[64], err[512];
    strategy *s;

    snprintf(kv, sizeof kv, "role=%s", role);
    if (strategy_param_parse(kv, &p, err, sizeof err) < 0)
        bail_out("%s", err);
    memset(&cfg, 0, sizeof cfg);
    cfg.path = path;
    cfg.params = &p;
    cfg.nparams = 1;
    if (!(s = strategy_load(&host_ops, &host, &cfg, err, sizeof err)))
        bail_out("strategy_load: %s", err);
    return s;
}

/* Run a command of the strategy's on_status. @return its handler's result. */
static int run(strategy *s, const char *command)
{
    return strategy_on_status(s, "test", command, NULL);
}

/* The last line logged, "" if none. */
static const char *last_line(void)
{
    return host.nlines > 0 ? host.lines[host.nlines - 1] : "";
}

/* A saved state kept beyond the strategy's next call. */
typedef struct saved {
    char *data;
    size_t len;
} saved;

static saved keep(const void *data, size_t len)
{
    saved k = {malloc(len ? len : 1), len};
    if (!k.data)
        bail_out("out of memory");
    memcpy(k.data, data, len);
    return k;
}

/* ---- Reading an encoding from C ---- */

/* The value of string key `key` in the top map of an encoding, or NULL. */
static const msgpack_object *field(const msgpack_unpacked *u, const char *key)
{
    const msgpack_object_map *m = &u->data.via.map;
    if (u->data.type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &m->ptr[i].val;
    }
    return NULL;
}

static int unpack(msgpack_unpacked *u, const void *data, size_t len)
{
    size_t off = 0;
    msgpack_unpacked_init(u);
    return msgpack_unpack_next(u, data, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len;
}

/* state.count in an encoding, NAN when absent or not a number. */
static double count_of(const void *data, size_t len)
{
    msgpack_unpacked u;
    const msgpack_object *o;
    double v = NAN;
    if (unpack(&u, data, len) && (o = field(&u, "count")) != NULL) {
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            v = (double)o->via.u64;
        else if (o->type == MSGPACK_OBJECT_FLOAT64)
            v = o->via.f64;
    }
    msgpack_unpacked_destroy(&u);
    return v;
}

/* ---- Tests ---- */

static void test_round_trip(void)
{
    strategy *maker = load("make"), *checker;
    const void *data = NULL;
    size_t len = 0;
    char err[256];
    msgpack_unpacked u;
    const msgpack_object *o;
    saved bytes;

    ok(strategy_on_start(maker) == 0, "on_start builds the sample state");
    is_int(strategy_state_take(maker, &data, &len, err, sizeof err), 1,
           "take: the new state is handed out");
    bytes = keep(data, len);
    ok(unpack(&u, bytes.data, bytes.len) && u.data.type == MSGPACK_OBJECT_MAP,
       "the encoding is one msgpack map");
    o = field(&u, "int");
    ok(o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 == 3, "3 is a msgpack int");
    o = field(&u, "neg");
    ok(o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 == -7, "-7 is a msgpack int");
    o = field(&u, "p53");
    ok(o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 == (UINT64_C(1) << 53),
       "2^53 is a msgpack int");
    o = field(&u, "tenth");
    ok(o && o->type == MSGPACK_OBJECT_FLOAT64 && o->via.f64 == 0.1, "0.1 is a float64");
    o = field(&u, "negzero");
    ok(o && o->type == MSGPACK_OBJECT_FLOAT64 && o->via.f64 == 0 && signbit(o->via.f64),
       "-0 is a float64 with its sign");
    o = field(&u, "p63");
    ok(o && o->type == MSGPACK_OBJECT_FLOAT64, "2^63 (beyond int64) is a float64");
    o = field(&u, "str");
    ok(o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == 4 &&
       memcmp(o->via.str.ptr, "a\0b\0", 4) == 0, "a string with NULs is 4 bytes of str");
    o = field(&u, "list");
    ok(o && o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 5,
       "a sequence 1..n is an array");
    o = field(&u, "sparse");
    ok(o && o->type == MSGPACK_OBJECT_MAP && o->via.map.size == 2, "a sparse one is a map");
    msgpack_unpacked_destroy(&u);

    checker = load("check");
    err[0] = '\0';
    ok(strategy_state_load(checker, bytes.data, bytes.len, err, sizeof err) == 0,
       "load the encoding into a new strategy %s", err);
    host.nlines = 0;
    strategy_on_start(checker);
    is_str(last_line(), "equal",
           "on_start sees every value back: ints, floats (0.1, 1e300, 5e-324, -0, NaN, inf), "
           "2^53, strings with NULs, booleans, arrays, maps, mixed keys");
    is_int(strategy_state_take(checker, &data, &len, err, sizeof err), 0,
           "take after on_start only read the loaded state: nothing new to save");
    strategy_free(checker);
    strategy_free(maker);
    free(bytes.data);
}

static void test_take(void)
{
    strategy *s = load("plain");
    const void *data = NULL;
    size_t len = 0;
    char err[256];
    int changed = 0, quiet = 0, rc;
    const char *why;

    run(s, "noop");
    is_int(strategy_state_take(s, &data, &len, err, sizeof err), 0,
           "a handler that does not touch ctx.state: nothing to save");
    run(s, "read");
    is_int(strategy_state_take(s, &data, &len, err, sizeof err), 0,
           "one that reads the initial {} and changes nothing: nothing to save");
    run(s, "incr");
    ok(strategy_state_take(s, &data, &len, err, sizeof err) == 1 && count_of(data, len) == 1,
       "one that sets count = 1: the new state, count 1");
    run(s, "read");
    is_int(strategy_state_take(s, &data, &len, err, sizeof err), 0,
           "touched but unchanged: nothing to save");
    run(s, "assign_same");
    is_int(strategy_state_take(s, &data, &len, err, sizeof err), 0,
           "ctx.state = a copy of itself: nothing to save");
    run(s, "assign_new");
    ok(strategy_state_take(s, &data, &len, err, sizeof err) == 1 && isnan(count_of(data, len)),
       "ctx.state = { fresh = true }: the new table is saved");

    /* Enough calls for the JIT to compile the handler: the FFI store that
     * marks the state touched must survive compilation. */
    run(s, "clear");
    strategy_state_take(s, &data, &len, err, sizeof err);
    for (int i = 1; i <= 300; i++) {
        run(s, "incr");
        changed += strategy_state_take(s, &data, &len, err, sizeof err) == 1 &&
                   count_of(data, len) == i;
        run(s, "noop");
        quiet += strategy_state_take(s, &data, &len, err, sizeof err) == 0;
        run(s, "read");
        quiet += strategy_state_take(s, &data, &len, err, sizeof err) == 0;
    }
    is_int(changed, 300, "300 compiled increments: each one saved, with its count");
    is_int(quiet, 600, "300 compiled no-ops and 300 reads: nothing saved");

    host.nlines = 0;
    run(s, "ctx_fields");
    is_str(last_line(), "true",
           "ctx's other fields work as before; state is not a raw field; the metatable is "
           "locked");
    ok(strategy_failed(s) == 0, "the strategy is running");
    strategy_free(s);

    s = load("plain");
    rc = run(s, "assign_bad");
    why = strategy_error(s) ? strategy_error(s) : "(none)";
    ok(rc < 0 && strstr(why, "ctx.state: want a table, got number") &&
       strstr(why, "strategy.lua:"), "ctx.state = 5 fails the handler at the caller's line: %.80s",
       why);
    strategy_free(s);
}

static void test_alias(void)
{
    strategy *s = load("alias");
    const void *data = NULL;
    size_t len = 0;
    char err[256];
    const void *first;

    strategy_on_start(s);
    ok(strategy_state_take(s, &data, &len, err, sizeof err) == 1 && count_of(data, len) == 0,
       "on_start set count = 0 and kept ctx.state in a local");
    run(s, "alias_incr");
    is_int(strategy_state_take(s, &data, &len, err, sizeof err), 0,
           "the documented limit: a change through the local alone is not seen by take");
    ok(strategy_state_encode(s, &data, &len, err, sizeof err) == 1 && count_of(data, len) == 1,
       "encode (on stop) sees it: count 1");
    first = data;
    ok(strategy_state_encode(s, &data, &len, err, sizeof err) == 0 && data == first &&
       count_of(data, len) == 1, "encode again: unchanged (0), the same bytes handed back");
    strategy_free(s);
}

static void test_errors(void)
{
    static const struct {
        const char *command, *error;
    } cases[] = {
        {"fn", "state.orders.cb: a function cannot be saved"},
        {"listfn", "state.list[3]: a function cannot be saved"},
        {"userdata", "state.f: a userdata cannot be saved"},
        {"cdata", "state.c: a cdata (FFI value) cannot be saved"},
        {"thread", "state.co: a thread cannot be saved"},
        {"cycle", "state.a.self: a cycle cannot be saved (this table is state.a again)"},
        {"cycle_top", "state.me: a cycle cannot be saved (this table is state again)"},
        {"tablekey", "state.k: a key of type table cannot be saved"},
        {"oddkey", "state[\"a b\"][true].f: a function cannot be saved"},
    };
    strategy *s = load("plain");
    const void *data = NULL;
    size_t len = 0;
    char err[256];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run(s, "clear");
        strategy_state_take(s, &data, &len, err, sizeof err);
        run(s, cases[i].command);
        err[0] = '\0';
        is_int(strategy_state_take(s, &data, &len, err, sizeof err), -1, "%s: take refuses",
               cases[i].command);
        is_str(err, cases[i].error, "%s: the error names the key", cases[i].command);
    }
    err[0] = '\0';
    ok(strategy_state_encode(s, &data, &len, err, sizeof err) == -1 &&
       strcmp(err, "state[\"a b\"][true].f: a function cannot be saved") == 0,
       "encode (on stop) refuses it too");

    run(s, "clear");
    run(s, "deep_bad");
    err[0] = '\0';
    ok(strategy_state_take(s, &data, &len, err, sizeof err) == -1 &&
       strstr(err, ": tables nested deeper than 32 levels cannot be saved") &&
       strncmp(err, "state.d.d.d.", 12) == 0, "33 nested tables: refused: %.60s...", err);
    ok(strategy_failed(s) == 0, "a refused state does not fail the strategy by itself");
    strategy_free(s);
}

static void test_deep(void)
{
    strategy *s = load("plain"), *t;
    const void *data = NULL;
    size_t len = 0;
    char err[256];
    saved bytes = {NULL, 0};
    int rc;

    run(s, "deep_ok");
    rc = strategy_state_take(s, &data, &len, err, sizeof err);
    is_int(rc, 1, "32 nested tables (ctx.state the first) are saved");
    if (rc == 1)
        bytes = keep(data, len);
    t = load("plain");
    err[0] = '\0';
    ok(rc == 1 && strategy_state_load(t, bytes.data, bytes.len, err, sizeof err) == 0,
       "and load back %s", err);
    host.nlines = 0;
    run(t, "depth");
    is_str(last_line(), "32", "all 32 levels are there");
    strategy_free(t);
    strategy_free(s);
    free(bytes.data);
}

static void test_load(void)
{
    static const struct {
        const char *what, *bytes;
        size_t len;
        const char *error;
    } bad[] = {
        {"empty", "", 0, "not a saved state: no bytes"},
        {"text", "hello", 5, "not a saved state: the bytes hold an integer, not a table"},
        {"a byte msgpack never uses", "\xc1", 1, "not a saved state: not msgpack (1 bytes)"},
        {"cut short", "\x82\xa1" "a\x01\xa1", 5, "not a saved state: msgpack cut short (5 bytes)"},
        {"bytes after", "\x80\x00", 2, "not a saved state: 1 bytes follow the state's 1"},
        {"a nil value", "\x81\xa1" "a\xc0", 4,
         "not a saved state: it holds a nil, which no Lua table holds"},
        {"an array key", "\x81\x90\x01", 3,
         "not a saved state: a map key is an array (keys are strings, numbers or booleans)"},
        {"a NaN key", "\x81\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\x01", 11,
         "not a saved state: a map key is NaN"},
    };
    strategy *s = load("plain");
    const void *data = NULL;
    size_t len = 0;
    char err[256], deep[64];
    saved state;

    run(s, "incr");
    run(s, "incr");
    strategy_state_take(s, &data, &len, err, sizeof err);
    state = keep(data, len);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        is_int(strategy_state_load(s, bad[i].bytes, bad[i].len, err, sizeof err), -1,
               "%s: refused", bad[i].what);
        is_str(err, bad[i].error, "%s: says why", bad[i].what);
    }
    memset(deep, 0x91, 40); /* 40 nested arrays of one */
    deep[40] = 0x01;
    ok(strategy_state_load(s, deep, 41, err, sizeof err) == -1 &&
       strstr(err, "nested deeper than 32 tables"), "40 nested arrays: refused: %s", err);
    host.nlines = 0;
    run(s, "show");
    is_str(last_line(), "2", "after the refusals ctx.state is as it was (count 2)");

    /* Hot reload: a running strategy takes another state. */
    strategy_free(s);
    s = load("plain");
    run(s, "incr");
    strategy_state_take(s, &data, &len, err, sizeof err);
    ok(strategy_state_load(s, state.data, state.len, err, sizeof err) == 0,
       "a running strategy loads a saved state");
    host.nlines = 0;
    run(s, "show");
    is_str(last_line(), "2", "its handlers see the loaded one (count 2, not 1)");
    is_int(strategy_state_take(s, &data, &len, err, sizeof err), 0,
           "reading it is no change to save");
    run(s, "incr");
    ok(strategy_state_take(s, &data, &len, err, sizeof err) == 1 && count_of(data, len) == 3,
       "changing it is: count 3");
    strategy_free(s);
    free(state.data);
}

/* Stored bytes whose headers declare more than they hold: refused before
 * msgpack-c allocates for them (core/msgpack_check.h), and ctx.state is
 * left as it was. */
static void test_load_damaged(void)
{
    static const struct {
        const char *what, *bytes;
        size_t len;
        const char *error;
    } bad[] = {
        {"a map of 4294967295 entries in 12 bytes",
         "\xdf\xff\xff\xff\xff\xa1n\x01\xa1m\x02\x03", 12,
         "not a saved state: a map at byte 0 declares 4294967295 entries in the 7 bytes left"},
        {"an array of 4294967295 inside a map", "\x81\xa1" "a\xdd\xff\xff\xff\xff\x01", 9,
         "not a saved state: an array at byte 3 declares 4294967295 elements in the 1 bytes "
         "left"},
        {"a string of 4294967295 bytes", "\x81\xa1" "a\xdb\xff\xff\xff\xff" "abc", 11,
         "not a saved state: msgpack cut short (11 bytes)"},
        {"an ext of 4294967295 bytes", "\x91\xc9\xff\xff\xff\xff\x01", 7,
         "not a saved state: msgpack cut short (7 bytes)"},
        {"an empty table 33 levels down",
         "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
         "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90",
         33, "not a saved state: nested deeper than 32 tables"},
    };
    strategy *s = load("plain");
    const void *data = NULL;
    size_t len = 0;
    char err[256];

    run(s, "incr");
    strategy_state_take(s, &data, &len, err, sizeof err);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        is_int(strategy_state_load(s, bad[i].bytes, bad[i].len, err, sizeof err), -1,
               "%s: refused", bad[i].what);
        is_str(err, bad[i].error, "%s: says why", bad[i].what);
    }
    host.nlines = 0;
    run(s, "show");
    is_str(last_line(), "1", "after the refusals ctx.state is as it was (count 1)");
    is_int(strategy_state_take(s, &data, &len, err, sizeof err), 0,
           "and nothing changed that would be saved over the stored bytes");
    strategy_free(s);
}

static int write_strategy(void)
{
    FILE *f;
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/strategy.lua", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs(strategy_src, f);
    return fclose(f);
}

int main(void)
{
    int rc;
    if (write_strategy() < 0)
        bail_out("cannot write the strategy under %s", dir);
    plan(88);
    test_round_trip();
    test_take();
    test_alias();
    test_errors();
    test_deep();
    test_load();
    test_load_damaged();
    unlink(path);
    rmdir(dir);
    rc = done();
    return rc;
}
