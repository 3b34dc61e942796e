/*
 * config.c -- the configuration file (core/config.h): the examples in etc/
 * load, every key lands in its field, each kind of mistake gives its exact
 * message, secrets are never echoed, and the sandbox holds (no os, io or
 * require; bounded instructions and memory, even behind pcall).
 *
 * Run from the repository root: the files are in t/configs/ and etc/.
 */
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static config cfg; /* large (strategies' params): not on the stack */
static char err[1024];

/* A file the test needs, or bail out: the test runs from the repository root. */
static const char *src(const char *rel)
{
    if (access(rel, R_OK) != 0)
        bail_out("%s not found: run the test from the repository root", rel);
    return rel;
}

static int load_text(const char *text)
{
    err[0] = '\0';
    return config_load_string("case", text, &cfg, err, sizeof err);
}

static int load_file(const char *rel)
{
    err[0] = '\0';
    return config_load(src(rel), &cfg, err, sizeof err);
}

static void test_defaults(void)
{
    is_int(load_text("return {}"), 0, "an empty table loads: %s", err);
    is_str(cfg.mode, "", "mode: not set");
    is_str(cfg.state_dir, "var/state", "state_dir: var/state");
    is_int(cfg.cancel_on_stop, 1, "cancel_on_stop: true");
    is_int(cfg.state_writemap, 0, "state_writemap: false");
    is_str(cfg.log_level, "info", "log.level: info");
    is_str(cfg.log_format, "logfmt", "log.format: logfmt");
    ok(cfg.nplugin_path == 0 && cfg.nvenues == 0 && cfg.nstrategies == 0 && cfg.nbalances == 0,
       "no plugin_path, venues, strategies or balances");
    ok(cfg.risk.max_order_qty == 0 && cfg.risk.max_order_notional == 0 &&
           cfg.risk.price_band_pct == 0 && cfg.risk.nmax_position == 0 &&
           cfg.risk.max_gross_exposure == 0 && cfg.risk.max_open_orders == 0 &&
           cfg.risk.orders_per_second == 0 && cfg.risk.max_daily_loss == 0,
       "risk: every limit 0 (none)");
    ok(cfg.cash < 0 && cfg.fee_maker_bps < 0 && cfg.fee_taker_bps < 0, "cash, fees: not set");
    ok(!strcmp(cfg.latency_order.dist, "constant") && cfg.latency_order.mean_ms == 0 &&
           !strcmp(cfg.latency_response.dist, "constant") &&
           cfg.latency_response.mean_ms == 0 && !strcmp(cfg.latency_feed.dist, "constant") &&
           cfg.latency_feed.mean_ms == 0,
       "latency: constant 0 ms each");
    ok(cfg.queue_model[0] == '\0' && !cfg.seed_set && !cfg.margin && cfg.leverage == 1 &&
           cfg.periods_per_year == 0,
       "queue_model, seed, periods_per_year not set; margin off; leverage 1");
}

static void test_every_key(void)
{
    const config_venue *b = &cfg.venues[0], *m = &cfg.venues[1];
    const config_strategy *mm = &cfg.strategies[0];

    is_int(load_file("t/configs/every_key.lua"), 0, "every_key.lua loads: %s", err);
    ok(!strcmp(cfg.mode, "paper") && !strcmp(cfg.state_dir, "/tmp/lutra-state") &&
           cfg.cancel_on_stop == 0,
       "mode, state_dir, cancel_on_stop");
    ok(!strcmp(cfg.state_sync, "none") && cfg.state_writemap == 1, "state_sync, state_writemap");
    ok(!strcmp(cfg.log_level, "debug") && !strcmp(cfg.log_format, "json"), "log");
    ok(cfg.nplugin_path == 2 && !strcmp(cfg.plugin_path[0], "/opt/lutra/plugins") &&
           !strcmp(cfg.plugin_path[1], "build/plugins"),
       "plugin_path in order");
    is_int(cfg.nvenues, 2, "two venues");
    ok(!strcmp(b->name, "binance") && !strcmp(b->connector, "binance") &&
           !strcmp(b->rest_url, "http://127.0.0.1:8080") &&
           !strcmp(b->ws_url, "ws://127.0.0.1:8081"),
       "venues.binance: name, connector, urls");
    ok(!strcmp(b->api_key.env, "TEST_BINANCE_KEY") && b->api_key.file[0] == '\0' &&
           !strcmp(b->api_secret.file, "t/configs/no-such.secret") && b->api_secret.env[0] == '\0',
       "venues.binance: the secrets' sources");
    ok(b->nsymbols == 2 && !strcmp(b->symbols[0], "BTCUSDT") && !strcmp(b->symbols[1], "ETHUSDT"),
       "venues.binance.symbols");
    ok(!strcmp(m->name, "mock") && !strcmp(m->connector, "mock"),
       "venues.mock: connector defaults to the venue's name");
    ok(cfg.risk.max_order_qty == 2 && cfg.risk.max_order_notional == 1000 &&
           cfg.risk.price_band_pct == 5 && cfg.risk.max_gross_exposure == 5000 &&
           cfg.risk.max_open_orders == 20 && cfg.risk.orders_per_second == 10 &&
           cfg.risk.max_daily_loss == 200,
       "risk limits");
    ok(cfg.risk.nmax_position == 2 && !strcmp(cfg.risk.max_position[0].symbol, "BTCUSDT") &&
           cfg.risk.max_position[0].qty == 0.5 &&
           !strcmp(cfg.risk.max_position[1].symbol, "ETHUSDT") &&
           cfg.risk.max_position[1].qty == 4,
       "risk.max_position, sorted by symbol");
    ok(cfg.nstrategies == 2 && !strcmp(mm->name, "mm") &&
           !strcmp(mm->script, "scripts/market_maker.lua") && !strcmp(mm->venue, "binance") &&
           mm->nparams == 3 && !strcmp(cfg.strategies[1].venue, "mock") &&
           cfg.strategies[1].nparams == 0,
       "strategies");
    ok(cfg.cash == 25000 && cfg.nbalances == 2 && !strcmp(cfg.balances[0].asset, "BTC") &&
           cfg.balances[0].amount == 1.5 && !strcmp(cfg.balances[1].asset, "ETH") &&
           cfg.balances[1].amount == 10,
       "cash and balances");
    ok(cfg.fee_maker_bps == 1 && cfg.fee_taker_bps == 4.5, "fees");
    ok(!strcmp(cfg.latency_order.dist, "constant") && cfg.latency_order.mean_ms == 2,
       "latency.order: a number is a constant");
    ok(!strcmp(cfg.latency_response.dist, "normal") && cfg.latency_response.mean_ms == 3 &&
           cfg.latency_response.sd_ms == 0.5,
       "latency.response: normal(mean, sd)");
    ok(!strcmp(cfg.latency_feed.dist, "uniform") && cfg.latency_feed.mean_ms == 1 &&
           cfg.latency_feed.sd_ms == 4,
       "latency.feed: uniform min and max in mean_ms and sd_ms");
    ok(!strcmp(cfg.queue_model, "optimistic") && cfg.seed_set && cfg.seed == 42 && cfg.margin &&
           cfg.leverage == 3 && cfg.periods_per_year == 252,
       "queue_model, seed, margin, leverage, periods_per_year");
}

static void test_params(void)
{
    const strategy_param *p = cfg.strategies[0].params;

    is_int(load_text("return { strategies = { { name = 's', params = { qty = 0.5, on = true, "
                     "symbol = 'BTCUSDT', off = false, empty = '' } } } }"),
           0, "typed params load: %s", err);
    is_int(cfg.strategies[0].nparams, 5, "five params");
    /* sorted by key: empty, off, on, qty, symbol */
    ok(!strcmp(p[0].key, "empty") && p[0].type == PARAM_STRING && p[0].str[0] == '\0',
       "an empty string param");
    ok(!strcmp(p[1].key, "off") && p[1].type == PARAM_BOOL && p[1].boolean == 0, "false");
    ok(!strcmp(p[2].key, "on") && p[2].type == PARAM_BOOL && p[2].boolean == 1, "true");
    ok(!strcmp(p[3].key, "qty") && p[3].type == PARAM_NUMBER && p[3].num == 0.5, "a number");
    ok(!strcmp(p[4].key, "symbol") && p[4].type == PARAM_STRING && !strcmp(p[4].str, "BTCUSDT"),
       "a string");
}

/* A text that must be refused with exactly this message. */
typedef struct refusal {
    const char *text;
    const char *want;
} refusal;

static const refusal refusals[] = {
    /* unknown keys, with and without a suggestion, at every level */
    {"return { risk = { max_ordr_notional = 5 } }",
     "config case: unknown key 'risk.max_ordr_notional' (did you mean max_order_notional?)"},
    {"return { mdoe = 'live' }", "config case: unknown key 'mdoe' (did you mean mode?)"},
    {"return { colour = 'blue' }", "config case: unknown key 'colour'"},
    {"return { log = { levle = 'info' } }",
     "config case: unknown key 'log.levle' (did you mean level?)"},
    {"return { venues = { x = { symbol = { 'A' } } } }",
     "config case: unknown key 'venues.x.symbol' (did you mean symbols?)"},
    {"return { strategies = { { name = 'a', parms = {} } } }",
     "config case: unknown key 'strategies[1].parms' (did you mean params?)"},
    {"return { latency = { order = { dist = 'normal', mean = 1, stdev = 1 } } }",
     "config case: unknown key 'latency.order.stdev'"},
    {"return { fees = { maker = 1, takr = 2 } }",
     "config case: unknown key 'fees.takr' (did you mean taker?)"},
    {"return { risk = { 5 } }", "config case: risk: want key = value entries, got the list item 1"},
    /* types and ranges */
    {"return { risk = { max_open_orders = -1 } }",
     "config case: risk.max_open_orders: want a whole number >= 0, got -1"},
    {"return { risk = { max_open_orders = 2.5 } }",
     "config case: risk.max_open_orders: want a whole number >= 0, got 2.5"},
    {"return { risk = { max_open_orders = 3e9 } }",
     "config case: risk.max_open_orders: want a whole number <= 2147483647, got 3000000000"},
    {"return { risk = { max_open_orders = '20' } }",
     "config case: risk.max_open_orders: want a whole number >= 0, got a string"},
    {"return { venues = { b = { ws_spin_us = -1 } } }",
     "config case: venues.b.ws_spin_us: want a whole number >= 0, got -1"},
    {"return { venues = { b = { ws_spin_us = 2.5 } } }",
     "config case: venues.b.ws_spin_us: want a whole number >= 0, got 2.5"},
    {"return { venues = { b = { ws_spin_us = 2000000 } } }",
     "config case: venues.b.ws_spin_us: want a whole number <= 1000000, got 2000000"},
    {"return { risk = { max_order_notional = -5 } }",
     "config case: risk.max_order_notional: want a number >= 0, got -5"},
    {"return { risk = { max_order_qty = 0/0 } }",
     "config case: risk.max_order_qty: want a number >= 0, got nan"},
    {"return { risk = { max_order_qty = math.huge } }",
     "config case: risk.max_order_qty: want a number >= 0, got inf"},
    {"return { risk = { max_position = { BTCUSDT = -1 } } }",
     "config case: risk.max_position.BTCUSDT: want a number >= 0, got -1"},
    {"return { risk = { max_position = { 0.5 } } }",
     "config case: risk.max_position: want NAME = value entries, got the key 1"},
    {"return { risk = 10 }", "config case: risk: want a table { ... }, got a number"},
    {"return { mode = 'lve' }",
     "config case: mode: want 'live' or 'paper', got 'lve' (did you mean live?)"},
    {"return { mode = 'backtest' }", "config case: mode: want 'live' or 'paper', got 'backtest'"},
    {"return { log = { level = 'verbose' } }",
     "config case: log.level: want 'debug', 'info', 'warn' or 'error', got 'verbose'"},
    {"return { log = { format = 1 } }",
     "config case: log.format: want 'logfmt' or 'json', got a number"},
    {"return { cancel_on_stop = 'yes' }",
     "config case: cancel_on_stop: want true or false, got a string"},
    {"return { state_writemap = 1 }",
     "config case: state_writemap: want true or false, got a number"},
    {"return { state_dir = '' }", "config case: state_dir: want a non-empty string"},
    {"return { state_dir = 5 }", "config case: state_dir: want a string, got a number"},
    {"return { plugin_path = 'plugins' }",
     "config case: plugin_path: want a list { ... }, got a string"},
    {"return { plugin_path = { dir = 'plugins' } }",
     "config case: plugin_path: want a list { a, b, ... }, got the key 'dir'"},
    {"return { plugin_path = { 'a', 7 } }",
     "config case: plugin_path[2]: want a string, got a number"},
    {"return { plugin_path = { 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i' } }",
     "config case: plugin_path: too many entries (9, at most 8)"},
    {"return { cash = -100 }", "config case: cash: want a number >= 0, got -100"},
    {"return { balances = { BTC = '1' } }",
     "config case: balances.BTC: want a number >= 0, got a string"},
    {"return { balances = { ['a very long asset name'] = 1 } }",
     "config case: balances: the key 'a?very?long?asset?name': want letters, digits or "
     "punctuation"},
    {"return { balances = { ABCDEFGHIJKLMNOPQRSTUVWXYZ = 1 } }",
     "config case: balances: the key 'ABCDEFGHIJKLMNOPQRSTUVWXYZ': want 1 to 15 bytes"},
    {"return { fees = { taker = -1 } }", "config case: fees.taker: want a number >= 0, got -1"},
    {"return { seed = -3 }", "config case: seed: want a whole number >= 0, got -3"},
    {"return { seed = 1.5 }", "config case: seed: want a whole number >= 0, got 1.5"},
    {"return { seed = 2^60 }",
     "config case: seed: want a whole number <= 9007199254740992, got 1.15292150460685e+18"},
    {"return { margin = 1 }", "config case: margin: want true or false, got a number"},
    {"return { leverage = 0.5, margin = true }",
     "config case: leverage: want a number >= 1, got 0.5"},
    {"return { leverage = 3 }", "config case: leverage: a leverage above 1 needs margin = true"},
    {"return { periods_per_year = 0 }",
     "config case: periods_per_year: want a number > 0, got 0"},
    {"return { queue_model = 'fifo' }",
     "config case: queue_model: want 'conservative' or 'optimistic', got 'fifo'"},
    /* latency */
    {"return { latency = { order = -1 } }",
     "config case: latency.order: want a number >= 0, got -1"},
    {"return { latency = { order = 'fast' } }",
     "config case: latency.order: want milliseconds or { dist = ..., ... }, got a string"},
    {"return { latency = { order = { mean = 1 } } }",
     "config case: latency.order: want dist = 'constant', 'normal', 'exponential' or 'uniform'"},
    {"return { latency = { order = { dist = 'gauss', mean = 1 } } }",
     "config case: latency.order.dist: want 'constant', 'normal', 'exponential' or 'uniform', "
     "got 'gauss'"},
    {"return { latency = { order = { dist = 'normal', mean = 1 } } }",
     "config case: latency.order.sd: missing (dist 'normal' takes mean and sd)"},
    {"return { latency = { order = { dist = 'exponential', mean = 1, sd = 1 } } }",
     "config case: latency.order.sd: not used (dist 'exponential' takes mean)"},
    {"return { latency = { order = { dist = 'uniform', mean = 1, max = 2 } } }",
     "config case: latency.order.mean: not used (dist 'uniform' takes min and max)"},
    {"return { latency = { order = { dist = 'uniform', min = 3, max = 2 } } }",
     "config case: latency.order: want min <= max"},
    {"return { latency = { feed = { dist = 'constant', mean = -2 } } }",
     "config case: latency.feed.mean: want a number >= 0, got -2"},
    /* strategies */
    {"return { strategies = { name = 'a' } }",
     "config case: strategies: want a list { a, b, ... }, got the key 'name'"},
    {"return { strategies = { { script = 'a.lua' } } }",
     "config case: strategies[1].name: missing (each strategy needs a name of its own)"},
    {"return { strategies = { { name = 'a' }, { name = 'b' }, { name = 'a' } } }",
     "config case: strategies[3].name: 'a' is already the name of strategies[1]"},
    {"return { strategies = { { name = 'my strategy' } } }",
     "config case: strategies[1].name: 'my?strategy': want letters, digits, '_', '-' or '.'"},
    {"return { strategies = { { name = 'a', params = { qty = {} } } } }",
     "config case: strategies[1].params.qty: want a number, a boolean or a string, got a table"},
    {"return { strategies = { { name = 'a', params = { qty = 1/0 } } } }",
     "config case: strategies[1].params.qty: want a finite number"},
    {"return { strategies = { { name = 'a', venue = 'binanse' } }, venues = { binance = {} } }",
     "config case: strategies[1].venue: no venue 'binanse' in venues (did you mean binance?)"},
    /* modes */
    {"return { mode = 'paper' }", "config case: venues: missing (mode 'paper' needs a venue)"},
    {"return { mode = 'paper', venues = { binance = {} } }",
     "config case: venues.binance.symbols: missing (mode 'paper' needs the symbols to follow)"},
    {"return { mode = 'live', venues = { binance = { symbols = { 'BTCUSDT' } } } }",
     "config case: venues.binance.api_key: missing (mode 'live' trades: give { env = 'NAME' } or "
     "{ file = 'path' })"},
    {"return { mode = 'paper', venues = { b = { symbols = { 'X' } } }, "
     "strategies = { { name = 'a', venue = 'b' } } }",
     "config case: strategies[1].script: missing (mode 'paper' runs the script named here)"},
    {"return { mode = 'paper', venues = { a = { symbols = { 'X' } }, b = { symbols = { 'X' } } }, "
     "strategies = { { name = 's', script = 's.lua' } } }",
     "config case: strategies[1].venue: missing (mode 'paper' trades on a venue: name one of "
     "venues)"},
    /* secrets: a source, never a value */
    {"return { venues = { binance = { api_key = 'hunter2-secret' } } }",
     "config case: venues.binance.api_key: give { env = 'NAME' } or { file = 'path' }, never the "
     "secret itself"},
    {"return { venues = { binance = { api_secret = 12345 } } }",
     "config case: venues.binance.api_secret: want { env = 'NAME' } or { file = 'path' }, got a "
     "number"},
    {"return { venues = { binance = { api_key = { env = 'A', file = 'b' } } } }",
     "config case: venues.binance.api_key: want { env = 'NAME' } or { file = 'path' }, not both"},
    {"return { venues = { binance = { api_key = {} } } }",
     "config case: venues.binance.api_key: want { env = 'NAME' } or { file = 'path' }, got "
     "neither"},
    {"return { venues = { binance = { api_key = { env = 'hunter2/secret+value=' } } } }",
     "config case: venues.binance.api_key.env: want the name of an environment variable "
     "(letters, digits, '_'), not its value"},
    {"return { venues = { binance = { api_key = { value = 'hunter2-secret' } } } }",
     "config case: unknown key 'venues.binance.api_key.value'"},
    /* what the file returns */
    {"local x = 1", "config case: the file must return a table (return { ... }), it returns "
                    "nothing"},
    {"return 'live'", "config case: the file must return a table (return { ... }), it returns "
                      "a string"},
};

static void test_refusals(void)
{
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        int rc = load_text(refusals[i].text);
        ok(rc == -1 && !strcmp(err, refusals[i].want), "refused: %s", refusals[i].text);
        if (rc != -1 || strcmp(err, refusals[i].want))
            diag("got %d '%s'\n#     want '%s'", rc, err, refusals[i].want);
    }
}

static void test_secrets_not_echoed(void)
{
    static const char *const texts[] = {
        "return { venues = { binance = { api_key = 'hunter2' } } }",
        "return { venues = { binance = { api_key = { env = 'hunter2' .. '!' } } } }",
        "return { venues = { binance = { api_secret = { file = 'hunter2' .. string.rep('x', 600) "
        "} } } }",
        "return { venues = { binance = { api_secret = { env = 'hunter2' .. string.rep('x', 200) "
        "} } } }",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        ok(load_text(texts[i]) == -1 && err[0] && !strstr(err, "hunter2"),
           "the secret-like value is not in the message: %s", err);
}

/* The file must fail with exactly want (the name is the path). */
static void expect_file_error(const char *rel, const char *want, const char *what)
{
    int rc = load_file(rel);
    ok(rc == -1 && !strcmp(err, want), "%s", what);
    if (rc != -1 || strcmp(err, want))
        diag("got %d '%s'\n#     want '%s'", rc, err, want);
}

static void test_sandbox(void)
{
    expect_file_error("t/configs/sandbox_os.lua",
                      "config t/configs/sandbox_os.lua:3: 'os' is not defined (a config file "
                      "sees only string, table, math and the basic functions)",
                      "os is not there");
    expect_file_error("t/configs/sandbox_io.lua",
                      "config t/configs/sandbox_io.lua:2: 'io' is not defined (a config file "
                      "sees only string, table, math and the basic functions)",
                      "io is not there");
    expect_file_error("t/configs/sandbox_require.lua",
                      "config t/configs/sandbox_require.lua:2: 'require' is not defined (a "
                      "config file sees only string, table, math and the basic functions)",
                      "require is not there");
    static const char *const absent[] = {"load",    "loadstring", "dofile",         "loadfile",
                                         "getfenv", "setfenv",    "collectgarbage", "debug",
                                         "package", "jit",        "ffi",            "print",
                                         "newproxy", "coroutine", "setmetatable",   "module"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        char text[128], want[256];
        snprintf(text, sizeof text, "local x = %s\nreturn {}", absent[i]);
        snprintf(want, sizeof want, "config case:1: '%s' is not defined", absent[i]);
        ok(load_text(text) == -1 && !strncmp(err, want, strlen(want)), "%s is not there: %s",
           absent[i], err);
    }
    is_int(load_text("local n = 0 for k, v in pairs({a = 1}) do n = n + v end\n"
                     "for i, v in ipairs({1, 2}) do n = n + v end\n"
                     "assert(type(n) == 'number') assert(tostring(1) == '1') "
                     "assert(next({}) == nil) assert(unpack({7}) == 7) "
                     "local t = {} rawset(t, 'a', 1) assert(rawget(t, 'a') == 1 and "
                     "rawequal(t, t))\n"
                     "return { seed = n + #string.rep('x', 3) + math.floor(2.5) + "
                     "select('#', 1, 2) + #table.concat({'a', 'b'}) }"),
           0, "the basic functions, string, table and math are there: %s", err);
    is_int((int)cfg.seed, 4 + 3 + 2 + 2 + 2, "and compute");
    is_int(load_file("t/configs/helpers.lua"), 0, "a file with locals and functions: %s", err);
    ok(cfg.risk.nmax_position == 3 && cfg.risk.max_position[2].qty == 0.25 &&
           cfg.risk.max_order_notional == 1234 && !strcmp(cfg.balances[0].asset, "BTC") &&
           !strcmp(cfg.strategies[0].name, "mm-1") &&
           !strcmp(cfg.strategies[0].params[0].str, "BTCUSDT,ETHUSDT,SOLUSDT"),
       "and its values computed");
    ok(load_text("\033LJ\002\000") == -1 &&
           !strcmp(err, "config case: compiled Lua (bytecode): want the source text"),
       "a bytecode chunk is refused: %s", err);
}

/* venues.NAME.ws_spin_us: 0 unless set, and the value given when it is. */
static void test_ws_spin(void)
{
    is_int(load_text("return { venues = { a = {}, b = { ws_spin_us = 2000 } } }"), 0,
           "ws_spin_us loads: %s", err);
    ok(cfg.nvenues == 2 && cfg.venues[0].ws_spin_us == 0 && cfg.venues[1].ws_spin_us == 2000,
       "ws_spin_us: 0 unless set, 2000 as set");
    is_int(load_text("return { venues = { b = { ws_spin_us = 1000000 } } }"), 0,
           "ws_spin_us at its limit, one second, loads: %s", err);
}

static void test_limits(void)
{
    expect_file_error("t/configs/runaway.lua",
                      "config t/configs/runaway.lua: took too long (more than 10000000 "
                      "instructions)",
                      "a runaway loop is stopped");
    expect_file_error("t/configs/runaway_pcall.lua",
                      "config t/configs/runaway_pcall.lua: took too long (more than 10000000 "
                      "instructions)",
                      "a runaway loop is stopped, even behind pcall");
    expect_file_error("t/configs/memory_hog.lua",
                      "config t/configs/memory_hog.lua: used too much memory (more than 64 MiB)",
                      "a huge allocation is stopped");
    expect_file_error("t/configs/memory_hog_pcall.lua",
                      "config t/configs/memory_hog_pcall.lua: used too much memory (more than "
                      "64 MiB)",
                      "many allocations are stopped, even behind pcall");
    is_int(load_text("return {}"), 0, "and the next file loads: %s", err);
}

static void test_lua_errors(void)
{
    ok(load_file("t/configs/syntax_error.lua") == -1 &&
           !strncmp(err, "config t/configs/syntax_error.lua:3: ", 37),
       "a syntax error keeps Lua's file:line: %s", err);
    expect_file_error("t/configs/runtime_error.lua",
                      "config t/configs/runtime_error.lua:2: attempt to index field 'missing' "
                      "(a nil value)",
                      "a runtime error keeps Lua's file:line");
    ok(load_text("error({})") == -1 &&
           !strcmp(err, "config case: error (the error value is a table)"),
       "an error value that is not a string: %s", err);
    ok(config_load("t/configs/no-such-file.lua", &cfg, err, sizeof err) == -1 &&
           !strcmp(err, "config t/configs/no-such-file.lua: cannot open: No such file or "
                        "directory"),
       "a missing file: %s", err);
    ok(config_load("t/configs", &cfg, err, sizeof err) == -1 &&
           !strcmp(err, "config t/configs: cannot read: Is a directory"),
       "a folder: %s", err);
}

static void test_examples(void)
{
    static const char *const examples[] = {"etc/backtest.lua", "etc/paper.lua", "etc/live.lua"};
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        is_int(load_file(examples[i]), 0, "%s loads: %s", examples[i], err);
    is_str(cfg.mode, "live", "etc/live.lua is live");
    ok(cfg.nvenues >= 1 && cfg.venues[0].api_key.env[0] && cfg.venues[0].api_secret.env[0],
       "its secrets come from the environment");
}

int main(void)
{
    test_defaults();
    test_every_key();
    test_params();
    test_refusals();
    test_secrets_not_echoed();
    test_sandbox();
    test_ws_spin();
    test_limits();
    test_lua_errors();
    test_examples();
    return done();
}
