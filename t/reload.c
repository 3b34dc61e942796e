/*
 * reload.c -- engine_reload_strategy and config_compare, without a venue
 * (docs/hot-reload.md; the same against the mock exchange, with the file
 * watcher and SIGHUP, is t/reload_strategy.c).
 *
 * A strategy file written to a temporary folder in versions; each instance
 * writes what it sees to a log the test reads back ("book v2 n=5"). Run
 * twice: without a state store (ctx.state handed over directly) and with one
 * (saved, committed, read back):
 *
 *   - the new code takes over; ctx.state and its counter carry on; the
 *     file's new params apply, an override still wins;
 *   - only the new instance's timer is pending and fires;
 *   - a file that does not compile, an on_reload that raises, an on_reload
 *     that leaves a ctx.state that cannot be saved: refused, the old
 *     instance goes on (its timer, its books);
 *   - a strategy stopped by an error runs again after a reload;
 *   - a bar being built when the strategy is reloaded reaches the new
 *     instance, once;
 *   - a reload before engine_start swaps the code; on_start runs the new.
 *
 * Then config_compare: which keys differ, and which a running host takes.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "journal.h"
#include "log.h"
#include "state.h"
#include "tap.h"

#define MS INT64_C(1000000)

static char tmp_dir[] = "/tmp/lutra-reload-engine-XXXXXX";
static char script[PATH_MAX], log_path[200]; /* log_path fits a param value */
static int64_t clock_now = 1723161600 * INT64_C(1000000000);

static int64_t test_clock(void *ud)
{
    (void)ud;
    return clock_now;
}

/* ---- The strategy, in versions ---- */

enum variant { PLAIN, RELOAD_RAISES, RELOAD_BAD_STATE, BOOK_RAISES, SYNTAX };

static void write_version(int v, enum variant kind)
{
    static const char *const on_reload_extra[] = {
        [PLAIN] = "", [RELOAD_RAISES] = "error('on_reload refuses')",
        [RELOAD_BAD_STATE] = "ctx.state.fn = function() end", [BOOK_RAISES] = "",
        [SYNTAX] = ""};
    FILE *f = fopen(script, "w");

    if (!f)
        bail_out("cannot write %s", script);
    fprintf(f,
            "local V = %d\n"
            "local S = { params = { log = '', p = %d } }\n"
            "local out\n"
            "local function say(...)\n"
            "  out = out or assert(io.open(S.params.log, 'a'))\n"
            "  out:write(string.format(...), '\\n')\n"
            "  out:flush()\n"
            "end\n"
            "local function tick() say('timer v%%d', V) end\n"
            "function S.on_start(ctx)\n"
            "  ctx.state.n = ctx.state.n or 0\n"
            "  say('start v%%d', V)\n"
            "  ctx:every(10, tick)\n"
            "  ctx:subscribe{ symbol = 'BTCUSDT', book = true, trades = true, bars = 1 }\n"
            "end\n"
            "function S.on_bar(ctx, bar) say('bar v%%d close=%%s', V, bar.close) end\n"
            "function S.on_book(ctx, book)\n"
            "  %s\n"
            "  ctx.state.n = ctx.state.n + 1\n"
            "  say('book v%%d n=%%d', V, ctx.state.n)\n"
            "end\n"
            "function S.on_reload(ctx)\n"
            "  say('reload v%%d n=%%d p=%%s', V, ctx.state.n, tostring(ctx.params.p))\n"
            "  ctx:every(10, tick)\n"
            "  %s\n"
            "end\n"
            "%s"
            "return S\n",
            v, v * 10, kind == BOOK_RAISES ? "error('on_book broke')" : "",
            on_reload_extra[kind], kind == SYNTAX ? "local = 1\n" : "");
    fclose(f);
}

/* The log from offset *seen on (moved past it). */
static char *log_since(size_t *seen)
{
    static char buf[1 << 16];
    FILE *f = fopen(log_path, "r");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    if (*seen > n)
        *seen = n;
    char *from = buf + *seen;
    *seen = n;
    return from;
}

/* Log lines for a test's name: newlines shown as " | ". */
static const char *flat(const char *text)
{
    static char buf[512];
    size_t n = 0;

    for (; *text && n + 4 < sizeof buf; text++) {
        if (*text != '\n') {
            buf[n++] = *text;
        } else if (text[1]) {
            memcpy(buf + n, " | ", 3);
            n += 3;
        }
    }
    buf[n] = '\0';
    return buf;
}

static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- The engine ---- */

typedef struct fixture {
    instrument_registry *reg;
    engine *e;
    state_store *st;
    journal *j;
    size_t seen;
} fixture;

static void book_message(fixture *fx, uint8_t type, uint8_t flags)
{
    lutra_event ev;

    memset(&ev, 0, sizeof ev);
    ev.h.type = type;
    ev.h.flags = flags;
    ev.h.size = sizeof ev.delta;
    ev.h.ts_recv = ev.h.ts_exch = clock_now;
    ev.delta.price = 6000000;
    ev.delta.qty = 100;
    engine_on_event(fx->e, &ev);
    engine_flush(fx->e);
}

static void book_tick(fixture *fx)
{
    clock_now += MS;
    book_message(fx, LUTRA_EV_BOOK_DELTA, LUTRA_F_BID | LUTRA_F_LAST);
}

static void fixture_open(fixture *fx, int with_store, const char *store_name)
{
    engine_config ec = {.mode = "backtest", .lib_path = "scripts/lib"};
    strategy_param log_param = {.key = "log", .type = PARAM_STRING};
    strategy_config sc = {.name = "s", .path = script, .params = &log_param, .nparams = 1};
    lutra_instrument def;
    char err[1024], dir[PATH_MAX + 32];
    state_options so;

    memset(fx, 0, sizeof *fx);
    snprintf(log_param.str, sizeof log_param.str, "%s", log_path);
    if (!(fx->reg = instrument_registry_new()) ||
        instrument_define(&def, "test", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001", NULL, NULL,
                          err, sizeof err) < 0 ||
        instrument_registry_add(fx->reg, &def, err, sizeof err) < 0 ||
        !(fx->e = engine_new(&ec, fx->reg, err, sizeof err)))
        bail_out("engine: %s", err);
    engine_set_clock(fx->e, test_clock, NULL);
    if (with_store) {
        snprintf(dir, sizeof dir, "%s/%s", tmp_dir, store_name);
        memset(&so, 0, sizeof so);
        so.dir = dir;
        so.sync = STATE_SYNC_NONE;
        if (!(fx->st = state_open(&so, err, sizeof err)) || !(fx->j = journal_new(fx->st, fx->reg)))
            bail_out("store: %s", err);
        engine_set_journal(fx->e, fx->j, NULL, NULL);
    }
    if (engine_add_strategy(fx->e, &sc, err, sizeof err) != 0)
        bail_out("strategy: %s", err);
}

static void fixture_close(fixture *fx)
{
    engine_free(fx->e);
    journal_free(fx->j);
    state_close(fx->st);
    instrument_registry_free(fx->reg);
}

/* Reload with the current config (NULL) or with override p. */
static int reload(fixture *fx, const char *p, char *err, size_t errlen)
{
    strategy_param params[2] = {{.key = "log", .type = PARAM_STRING},
                                {.key = "p", .type = PARAM_STRING}};
    strategy_config sc = {.path = script, .params = params, .nparams = 2};

    snprintf(params[0].str, sizeof params[0].str, "%s", log_path);
    if (p)
        snprintf(params[1].str, sizeof params[1].str, "%s", p);
    return engine_reload_strategy(fx->e, 0, p ? &sc : NULL, err, errlen);
}

/* Fire what is due 10 ms on: @return the log lines it wrote. */
static const char *tick(fixture *fx)
{
    clock_now += 10 * MS;
    engine_run_timers(fx->e, clock_now);
    return log_since(&fx->seen);
}

/* The old instance runs on: its book counts, its timer fires, and only it. */
static void still_runs(fixture *fx, const char *mode, const char *why, const char *book_line,
                       const char *timer_line)
{
    const char *got;

    book_tick(fx);
    got = log_since(&fx->seen);
    ok(strstr(got, book_line) != NULL, "%s: after %s, the old instance hears books (%s)", mode,
       why, flat(book_line));
    got = tick(fx);
    ok(!strcmp(got, timer_line) && engine_timers_pending(fx->e) == 1,
       "%s: ... and only its timer fires", mode);
}

static void run_mode(int with_store)
{
    const char *mode = with_store ? "with a state store" : "without a state store";
    char err[4096];
    const char *got;
    fixture fx;
    int rc;

    unlink(log_path);
    write_version(1, PLAIN);
    fixture_open(&fx, with_store, "store");
    engine_start(fx.e);
    book_message(&fx, LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT);
    book_tick(&fx);
    got = log_since(&fx.seen);
    ok(strstr(got, "start v1\n") && strstr(got, "book v1 n=1\n"), "%s: v1 runs", mode);

    write_version(2, PLAIN);
    rc = reload(&fx, NULL, err, sizeof err);
    book_tick(&fx);
    got = log_since(&fx.seen);
    ok(rc == 0 && !strcmp(got, "reload v2 n=1 p=20\nbook v2 n=2\n"),
       "%s: v2 takes over with ctx.state and the file's new param: %s", mode,
       flat(rc ? err : got));
    is_int((int)engine_timers_pending(fx.e), 1, "%s: one timer pending", mode);
    is_str(tick(&fx), "timer v2\n", "%s: the new instance's timer fires, not the old one's", mode);

    write_version(3, PLAIN);
    rc = reload(&fx, "7", err, sizeof err);
    got = log_since(&fx.seen);
    ok(rc == 0 && !strcmp(got, "reload v3 n=2 p=7\n"), "%s: an override wins over the file: %s",
       mode, flat(rc ? err : got));

    write_version(4, SYNTAX);
    rc = reload(&fx, NULL, err, sizeof err);
    ok(rc < 0 && strstr(err, "reload.lua:"), "%s: a file that does not compile is refused: %s",
       mode, flat(err));
    still_runs(&fx, mode, "the syntax error", "book v3 n=3\n", "timer v3\n");

    write_version(5, RELOAD_RAISES);
    rc = reload(&fx, NULL, err, sizeof err);
    ok(rc < 0 && strstr(err, "on_reload refuses"), "%s: an on_reload that raises is refused",
       mode);
    log_since(&fx.seen);
    still_runs(&fx, mode, "the failed on_reload", "book v3 n=4\n", "timer v3\n");

    if (with_store) {
        write_version(6, RELOAD_BAD_STATE);
        rc = reload(&fx, NULL, err, sizeof err);
        ok(rc < 0 && strstr(err, "cannot be saved"), "%s: an on_reload leaving a ctx.state that "
           "cannot be saved is refused: %s", mode, flat(err));
        log_since(&fx.seen);
        still_runs(&fx, mode, "the unsaveable state", "book v3 n=5\n", "timer v3\n");
    } else {
        book_tick(&fx);
        log_since(&fx.seen);
    }

    write_version(7, BOOK_RAISES);
    rc = reload(&fx, NULL, err, sizeof err);
    book_tick(&fx);
    ok(rc == 0 && strategy_failed(engine_strategy_at(fx.e, 0)),
       "%s: v7 took over, and its on_book failed it", mode);
    write_version(8, PLAIN);
    rc = reload(&fx, NULL, err, sizeof err);
    book_tick(&fx);
    got = log_since(&fx.seen);
    ok(rc == 0 && strstr(got, "reload v8 n=5") && strstr(got, "book v8 n=6\n"),
       "%s: a reload runs the stopped strategy again, its ctx.state kept: %s", mode,
       flat(rc ? err : got));
    is_int((int)engine_get_stats(fx.e).reloads, 4, "%s: the engine counted the 4 reloads that "
           "took over", mode);
    fixture_close(&fx);
}

/* A bar being built from trades when the strategy is reloaded is finished
 * and delivered once, to the new instance. */
static void bar_across_reload(void)
{
    char err[4096];
    const char *got;
    lutra_event ev;
    fixture fx;
    int rc;

    unlink(log_path);
    write_version(1, PLAIN);
    fixture_open(&fx, 0, NULL);
    engine_start(fx.e);
    log_since(&fx.seen);
    memset(&ev, 0, sizeof ev);
    ev.h.type = LUTRA_EV_TRADE;
    ev.h.size = sizeof ev.trade;
    ev.h.ts_recv = ev.h.ts_exch = clock_now;
    ev.trade.price = 6000100;
    ev.trade.qty = 100;
    engine_on_event(fx.e, &ev);
    write_version(2, PLAIN);
    rc = reload(&fx, NULL, err, sizeof err);
    clock_now += 1000 * MS;
    engine_run_timers(fx.e, clock_now);
    got = log_since(&fx.seen);
    ok(rc == 0 && strstr(got, "bar v2 close=60001\n") && occurrences(got, "bar v") == 1,
       "a bar built across the reload reaches the new instance, once: %s", flat(rc ? err : got));
    fixture_close(&fx);
}

static void before_start(void)
{
    char err[4096];
    const char *got;
    fixture fx;
    int rc;

    unlink(log_path);
    write_version(1, PLAIN);
    fixture_open(&fx, 1, "store-before");
    write_version(2, PLAIN);
    rc = reload(&fx, NULL, err, sizeof err);
    engine_start(fx.e);
    got = log_since(&fx.seen);
    ok(rc == 0 && !strcmp(got, "start v2\n"),
       "before engine_start: the new code is swapped in and on_start runs it: %s",
       flat(rc ? err : got));
    fixture_close(&fx);
}

/* ---- config_compare ---- */

typedef struct changes {
    char text[1024];
} changes;

static void on_change(void *ud, const char *key, int live)
{
    changes *c = ud;
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, "%s%s%s", n ? " " : "", key, live ? "" : "!");
}

static void load(config *c, const char *text)
{
    char err[1024];
    if (config_load_string("reload-test", text, c, err, sizeof err) < 0)
        bail_out("config: %s", err);
}

static void compare(void)
{
    static config a, b;
    changes ch = {{0}};
    const char *base =
        "return { mode = 'paper', state_dir = 'var/a',\n"
        "  risk = { max_open_orders = 5, max_position = { BTCUSDT = 1 } },\n"
        "  venues = { x = { connector = 'binance', symbols = { 'BTCUSDT' } } },\n"
        "  strategies = { { name = 's', script = 's.lua', params = { p = 1 } } } }\n";

    load(&a, base);
    load(&b, base);
    ok(config_compare(&a, &b, on_change, &ch) == 0 && !ch.text[0],
       "config_compare: the same file has no difference");
    load(&b, "return { mode = 'paper', state_dir = 'var/b', log = { level = 'debug' },\n"
             "  risk = { max_open_orders = 6, max_position = { BTCUSDT = 2 } },\n"
             "  venues = { x = { connector = 'binance', symbols = { 'BTCUSDT', 'ETHUSDT' } } },\n"
             "  strategies = { { name = 's', script = 's.lua', params = { p = 2 } },\n"
             "                 { name = 't', script = 't.lua' } } }\n");
    ok(config_compare(&a, &b, on_change, &ch) == 7, "config_compare: 7 keys differ");
    is_str(ch.text,
           "state_dir! log.level risk.max_open_orders risk.max_position venues.x.symbols! "
           "strategies.s.params strategies.t (added)!",
           "config_compare: each named, those that need a restart marked");
    ok(!config_strategy_same_code(&a.strategies[0], &b.strategies[0]) &&
           config_strategy_same_code(&a.strategies[0], &a.strategies[0]),
       "config_strategy_same_code: params count");
    config_apply_live(&a, &b);
    ok(a.risk.max_open_orders == 6 && !strcmp(a.log_level, "debug") &&
           !strcmp(a.state_dir, "var/a") && a.venues[0].nsymbols == 1,
       "config_apply_live takes the live keys only");
}

int main(void)
{
    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    snprintf(script, sizeof script, "%s/reload.lua", tmp_dir);
    snprintf(log_path, sizeof log_path, "%s/log", tmp_dir);
    log_set_level(LOG_ERROR);
    plan(14 + 17 + 1 + 1 + 5);
    run_mode(0);
    run_mode(1);
    bar_across_reload();
    before_start();
    compare();
    tap_rmtree(tmp_dir);
    return done();
}
