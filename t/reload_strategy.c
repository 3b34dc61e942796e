/*
 * reload_strategy.c -- hot reload of a strategy while it trades (issue 6,
 * docs/hot-reload.md): the live driver with the Binance connector against
 * the mock exchange, in-process, running t/strategies/reload_probe.lua
 * from a temporary folder where the test rewrites (and breaks) it:
 *
 *   - 100 reloads in a row while market data flows and orders are open:
 *     by name (live_reload_strategy) and, every tenth, by rewriting the file
 *     (the watcher). The new code runs (its version shows), the file's
 *     params apply and the config's still win, ctx.state's counters survive
 *     and count, and every book and trade message the engine handed out
 *     reached exactly one instance; no timer of an old instance fires after
 *     its successor took over, and one timer only is left pending;
 *   - failed reloads (a syntax error, an error in the top-level chunk, no
 *     handler; by name and through the watcher) say file and line, and the
 *     old instance keeps running;
 *   - SIGHUP: a changed risk limit and param apply at once; a changed
 *     state_dir is named and not applied, the rest is; an invalid file
 *     changes nothing;
 *   - after the stop, the mock's orders are the store's: the same ids with
 *     the same statuses, none twice, none open.
 *
 * The test drives the session from a timer on the driver's loop, one step
 * at a time; every wait has a deadline. The driver's log (stderr) goes to
 * a file for the checks on what it says.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "mock_binance.h"
#include "mock_client.h"
#include "order.h"
#include "state.h"
#include "tap.h"

#define SYM "BTCUSDT"
#define NS_PER_MS INT64_C(1000000)
#define STEP_MS 20
#define STEP_DEADLINE_MS 8000
#define RUN_DEADLINE_MS 90000
#define RELOADS 100
#define QUIET_MS 150      /* the watcher's; BURST_WRITES a tick apart fit in it */
#define BURST_WRITES 3

static char tmp_dir[] = "/tmp/lutra-reload-XXXXXX";
static char key_path[PATH_MAX], secret_path[PATH_MAX], probe_log[PATH_MAX];
static char script_path[PATH_MAX], config_path[PATH_MAX], stderr_path[PATH_MAX];
static char state_dir[PATH_MAX], moved_state_dir[PATH_MAX];
static char *probe_source; /* t/strategies/reload_probe.lua after its first line */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Files ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = 0;

    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)))
        n = (long)fread(buf, 1, (size_t)n, f);
    if (f)
        fclose(f);
    if (!buf && (buf = malloc(1)))
        n = 0;
    if (!buf)
        bail_out("out of memory");
    buf[n] = '\0';
    return buf;
}

/* Write text to path the way editors save: a new file renamed over it. */
static void replace_file(const char *path, const char *text)
{
    char tmp[PATH_MAX + 8];
    FILE *f;

    snprintf(tmp, sizeof tmp, "%s.new", path);
    if (!(f = fopen(tmp, "w")) || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        bail_out("cannot write %s", path);
}

enum script_kind { SCRIPT_GOOD, SCRIPT_SYNTAX, SCRIPT_RUNTIME, SCRIPT_NO_HANDLER, SCRIPT_WATCHED };

static void write_script(enum script_kind kind, int version, int below)
{
    size_t cap = strlen(probe_source) + 256;
    char *text = malloc(cap);

    if (!text)
        bail_out("out of memory");
    switch (kind) {
    case SCRIPT_GOOD:
        snprintf(text, cap, "local VERSION, BELOW = %d, %d\n%s", version, below, probe_source);
        break;
    case SCRIPT_SYNTAX:
        snprintf(text, cap, "local VERSION, BELOW = = 1\n%s", probe_source);
        break;
    case SCRIPT_RUNTIME:
        snprintf(text, cap, "error('broken on purpose')\n%s", probe_source);
        break;
    case SCRIPT_WATCHED: /* only the watcher reloads it: its message says so */
        snprintf(text, cap, "error('broken for the watcher')\n%s", probe_source);
        break;
    case SCRIPT_NO_HANDLER:
        snprintf(text, cap, "return { params = { log = '', tag = '' } }\n");
        break;
    }
    replace_file(script_path, text);
    free(text);
}

/* trade_every: the probe orders every that many reloads (the connector
 * keeps to Binance's 100 orders in 10 s, which 100 reloads in a few
 * seconds would pass). */
static void write_config(const mock_binance *mx, const char *dir, const char *notional,
                         const char *tag, int trade_every, int invalid)
{
    char text[6 * PATH_MAX + 1024];

    snprintf(text, sizeof text,
             "return { mode = 'live', cancel_on_stop = true, state_dir = '%s',\n"
             "  log = { level = 'info' },\n"
             "  risk = { max_open_orders = %d, max_order_notional = %s },\n"
             "  venues = { binance = { connector = 'binance',\n"
             "    rest_url = 'http://127.0.0.1:%d', ws_url = 'ws://127.0.0.1:%d',\n"
             "    api_key = { file = '%s' }, api_secret = { file = '%s' },\n"
             "    symbols = { '" SYM "' } } },\n"
             "  strategies = { { name = 'probe', script = '%s', venue = 'binance',\n"
             "                   params = { log = '%s', tag = '%s', trade_every = %d } } } }\n",
             dir, invalid ? -1 : 20, notional, mock_binance_rest_port(mx),
             mock_binance_ws_port(mx), key_path, secret_path, script_path, probe_log, tag,
             trade_every);
    replace_file(config_path, text);
}

/* A line "mark NAME" in the probe's log, to find what came after. */
static void mark(const char *name)
{
    FILE *f = fopen(probe_log, "a");
    if (!f)
        bail_out("cannot open %s", probe_log);
    fprintf(f, "mark %s\n", name);
    fclose(f);
}

/* What the log holds after "mark NAME" (NULL: no such mark). */
static const char *after_mark(const char *logs, const char *name)
{
    char line[64];
    const char *p;

    snprintf(line, sizeof line, "mark %s\n", name);
    p = strstr(logs, line);
    return p ? p + strlen(line) : NULL;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- The session ---- */

typedef struct session session;
/* A step: 1 done, 0 not yet (called again next tick). */
typedef int (*step_fn)(session *s);

struct session {
    live *lv;
    mock_binance *mx;
    size_t step;
    int64_t step_deadline;
    int entered;          /* the current step ran its first call */
    int ticks;
    const char *stalled;  /* the step whose deadline passed */
    int gen;              /* the instance's generation as the log says */
    size_t log_seen;      /* for "still running": log length when a failure was seen */
    size_t refusals_seen; /* stderr's "reload refused" count before a step */

    /* Results. */
    int k;                /* reloads done of the RELOADS */
    int api_ok, api_calls, file_ok, file_calls;
    size_t timers_after;  /* pending after the RELOADS */
    uint64_t reloads_after; /* the engine's count then */
    char err_syntax[4096], err_runtime[4096], err_none[4096];
    int rc_syntax, rc_runtime, rc_none;
    int still_syntax, still_runtime, still_none, still_watched;
    int restored, hup_risk, hup_state, hup_invalid;
    engine_stats at_stop;
};

static engine_stats stats(session *s)
{
    return engine_get_stats(live_engine(s->lv));
}

static int step_wait_start(session *s)
{
    char *logs = slurp(probe_log);
    int started = strstr(logs, "start 0\n") != NULL;
    free(logs);
    return started && stats(s).book_messages >= 3;
}

/* The generation the latest "reload G" or "start G" line gives. */
static int latest_gen(const char *logs)
{
    int gen = 0, g;
    for (const char *p = logs; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (sscanf(p, "reload %d ", &g) == 1 || sscanf(p, "start %d", &g) == 1)
            gen = g;
    return gen;
}

/* One of the RELOADS a tick: by name, and every tenth by rewriting the
 * file, three times a tick apart (well within the quiet period: one
 * reload), then waiting for the new version to show. */
static int step_reloads(session *s)
{
    static int waiting_version, writes;
    char err[4096], want[96], *logs;
    int found;

    if (waiting_version && writes < BURST_WRITES) {
        writes++;
        write_script(SCRIPT_GOOD, s->k, 2000 + s->k);
        return 0;
    }
    if (waiting_version) {
        logs = slurp(probe_log);
        snprintf(want, sizeof want, "version=%d tag=a below=%d ", waiting_version,
                 2000 + waiting_version);
        found = strstr(logs, want) != NULL;
        free(logs);
        if (!found)
            return 0;
        s->file_ok++;
        waiting_version = 0;
        s->step_deadline = mono_ms() + STEP_DEADLINE_MS; /* a deadline for each file */
    } else if ((s->k + 1) % 10 == 0) {
        s->k++;
        s->file_calls++;
        waiting_version = s->k;
        writes = 1;
        write_script(SCRIPT_GOOD, s->k, 2000 + s->k);
        return 0;
    } else {
        s->k++;
        s->api_calls++;
        if (live_reload_strategy(s->lv, "probe", err, sizeof err) == 0)
            s->api_ok++;
        else
            diag("reload %d: %s", s->k, err);
    }
    if (s->k < RELOADS)
        return 0;
    s->timers_after = engine_timers_pending(live_engine(s->lv));
    s->reloads_after = stats(s).reloads;
    return 1;
}

/* After a failed reload: the old instance's timer logs again. */
static int still_running(session *s)
{
    char *logs = slurp(probe_log), line[32];
    int yes;

    snprintf(line, sizeof line, "timer %d\n", s->gen);
    yes = strlen(logs) > s->log_seen && strstr(logs + s->log_seen, line) != NULL;
    free(logs);
    return yes;
}

static void note_log_end(session *s)
{
    char *logs = slurp(probe_log);
    s->gen = latest_gen(logs);
    s->log_seen = strlen(logs);
    free(logs);
}

/* A broken file reloaded by name: refused at once; then the old instance
 * must still log. */
static int step_broken(session *s, enum script_kind kind, int *rc, char *err, size_t errlen,
                       int *still)
{
    if (!s->entered) {
        write_script(kind, 0, 0);
        note_log_end(s);
        *rc = live_reload_strategy(s->lv, "probe", err, errlen);
        return 0;
    }
    return (*still = still_running(s));
}

static int step_syntax(session *s)
{
    return step_broken(s, SCRIPT_SYNTAX, &s->rc_syntax, s->err_syntax, sizeof s->err_syntax,
                       &s->still_syntax);
}

static int step_runtime(session *s)
{
    return step_broken(s, SCRIPT_RUNTIME, &s->rc_runtime, s->err_runtime,
                       sizeof s->err_runtime, &s->still_runtime);
}

static int step_no_handler(session *s)
{
    return step_broken(s, SCRIPT_NO_HANDLER, &s->rc_none, s->err_none, sizeof s->err_none,
                       &s->still_none);
}

static size_t stderr_count(const char *needle)
{
    char *text = slurp(stderr_path);
    size_t n = count_of(text, needle);
    free(text);
    return n;
}

/* A broken file the watcher finds: its failure is logged, then the old
 * instance still logs. */
static int step_watched_broken(session *s)
{
    if (!s->entered) {
        write_script(SCRIPT_WATCHED, 0, 0);
        s->log_seen = (size_t)-1;
        return 0;
    }
    if (s->log_seen == (size_t)-1) {
        if (stderr_count("broken for the watcher") == 0)
            return 0;
        note_log_end(s);
    }
    return (s->still_watched = still_running(s));
}

static int wait_for_line(const char *mark_name, const char *needle)
{
    char *logs = slurp(probe_log);
    const char *after = after_mark(logs, mark_name);
    int found = after && strstr(after, needle);
    free(logs);
    return found;
}

static int step_restore(session *s)
{
    if (!s->entered) {
        write_script(SCRIPT_GOOD, 200, 2200);
        return 0;
    }
    return (s->restored = wait_for_line("syntax", "version=200 tag=a below=2200 "));
}

/* Write the config, mark the log and send SIGHUP; then wait for a reload
 * with the tag. */
static int hup_then(session *s, const char *name, const char *dir, const char *notional,
                    const char *tag)
{
    char want[32];

    if (!s->entered) {
        write_config(s->mx, dir, notional, tag, 1, 0);
        mark(name);
        raise(SIGHUP);
        return 0;
    }
    snprintf(want, sizeof want, "tag=%s ", tag);
    return wait_for_line(name, want) && wait_for_line(name, "buy ");
}

static int step_hup_risk(session *s)
{
    if (!hup_then(s, "hup-risk", state_dir, "1", "b"))
        return 0;
    s->hup_risk = wait_for_line("hup-risk", "buy nil risk: max_order");
    return 1;
}

static int step_hup_state(session *s)
{
    char *logs;

    if (!hup_then(s, "hup-state", moved_state_dir, "100000", "c"))
        return 0;
    logs = slurp(probe_log);
    s->hup_state = after_mark(logs, "hup-state") && !strstr(after_mark(logs, "hup-state"),
                                                             "buy nil");
    free(logs);
    return 1;
}

static int step_hup_invalid(session *s)
{
    char *logs;

    if (!s->entered) {
        s->refusals_seen = stderr_count("reload refused");
        write_config(s->mx, state_dir, "1", "d", 1, 1);
        mark("hup-invalid");
        raise(SIGHUP);
        return 0;
    }
    if (stderr_count("reload refused") <= s->refusals_seen)
        return 0;
    logs = slurp(probe_log);
    s->hup_invalid = after_mark(logs, "hup-invalid") &&
                     !strstr(after_mark(logs, "hup-invalid"), "reload ");
    free(logs);
    return 1;
}

static int step_stop(session *s)
{
    s->at_stop = stats(s);
    live_request_stop(s->lv);
    return 1;
}

static int step_mark_syntax(session *s)
{
    (void)s;
    mark("syntax");
    return 1;
}

static const step_fn steps[] = {step_wait_start, step_reloads,        step_mark_syntax,
                                step_syntax,     step_runtime,        step_no_handler,
                                step_watched_broken, step_restore,    step_hup_risk,
                                step_hup_state,  step_hup_invalid,    step_stop};
static const char *step_names[] = {"start", "reloads", "mark", "syntax error", "runtime error",
                                   "no handler", "watched broken file", "restore",
                                   "SIGHUP risk", "SIGHUP state_dir", "SIGHUP invalid",
                                   "stop"};
#define NSTEPS (sizeof steps / sizeof steps[0])

/* Every tick: the market moves (a level and a trade), and the current step
 * runs. */
static void tick(loop_timer *t, void *ud)
{
    session *s = ud;
    char err[256];
    int done;

    (void)t;
    if (mock_binance_set_level(s->mx, SYM, 1, "59990", ++s->ticks % 2 ? "0.5" : "0.6", err,
                               sizeof err) != 0 ||
        mock_binance_trade(s->mx, SYM, "60000", "0.01", s->ticks % 2, err, sizeof err) != 0)
        diag("market: %s", err);
    mock_binance_flush(s->mx);
    if (s->step >= NSTEPS)
        return;
    if (!s->step_deadline)
        s->step_deadline = mono_ms() + STEP_DEADLINE_MS;
    done = steps[s->step](s);
    s->entered = 1;
    if (!done && mono_ms() < s->step_deadline)
        return;
    if (!done) {
        s->stalled = step_names[s->step];
        diag("step '%s' did not complete in time: stopping", s->stalled);
        s->step = NSTEPS - 1;
        steps[s->step](s);
    }
    s->step++;
    s->entered = 0;
    s->step_deadline = 0;
}

static void deadline(loop_timer *t, void *ud)
{
    session *s = ud;
    (void)t;
    diag("deadline passed: stopping at once");
    s->stalled = s->stalled ? s->stalled : "the whole run";
    live_request_stop(s->lv);
    live_request_stop(s->lv);
}

/* ---- The mock and the store, afterwards ---- */

#define MAX_ORDERS 1000

typedef struct order_seen {
    char id[ORDER_ID_MAX + 1];
    char status[24];
} order_seen;

typedef struct order_list {
    order_seen o[MAX_ORDERS];
    size_t n;
    int ok;
} order_list;

/* "CANCELED" -> "canceled", as order_status_name says it. */
static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Every order the mock has of SYM (allOrders), by client id. */
static void mock_orders(const mock_binance *mx, order_list *out)
{
    json_parser *p = json_parser_new();
    json_value root, item, v;
    json_iter it;
    mock_client_answer a;
    const char *str;
    size_t len;

    memset(out, 0, sizeof *out);
    if (mock_client_get(mx, "/api/v3/allOrders", "symbol=" SYM "&limit=1000", &a) != 200 || !p ||
        json_parse(p, a.body, strlen(a.body), &root) != 0 ||
        json_array_begin(&root, &it) != 0) {
        diag("allOrders: HTTP %d %s", a.status, a.body);
    } else {
        out->ok = 1;
        while (out->n < MAX_ORDERS && json_array_next(&it, &item) == 1) {
            order_seen *o = &out->o[out->n++];
            if (json_field(&item, "clientOrderId", &v) == 0 && json_string(&v, &str, &len) == 0)
                snprintf(o->id, sizeof o->id, "%.*s", (int)len, str);
            if (json_field(&item, "status", &v) == 0 && json_string(&v, &str, &len) == 0)
                snprintf(o->status, sizeof o->status, "%.*s", (int)len, str);
            lower(o->status);
        }
    }
    mock_client_free(&a);
    json_parser_free(p);
}

static int store_order(void *ud, const state_order *so)
{
    order_list *l = ud;
    if (l->n == MAX_ORDERS)
        return 1;
    snprintf(l->o[l->n].id, sizeof l->o[0].id, "%s", so->id);
    snprintf(l->o[l->n].status, sizeof l->o[0].status, "%s",
             order_status_name((order_status)so->status));
    l->n++;
    return 0;
}

static void store_orders(int open_only, order_list *out)
{
    state_options so = {.dir = state_dir, .read_only = 1};
    char err[512];
    state_store *st = state_open(&so, err, sizeof err);

    memset(out, 0, sizeof *out);
    if (!st) {
        diag("store: %s", err);
        return;
    }
    out->ok = state_each_order(st, open_only, store_order, out) == 0;
    state_close(st);
}

static const order_seen *find_order(const order_list *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->o[i].id, id))
            return &l->o[i];
    return NULL;
}

/* ---- Checks ---- */

/* No "timer G" line after the instance of generation G was replaced. */
static int old_timers_silent(const char *logs)
{
    int current = 0, g;
    for (const char *p = logs; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (sscanf(p, "reload %d ", &g) == 1)
            current = g;
        else if (sscanf(p, "timer %d", &g) == 1 && g < current) {
            diag("a timer of instance %d fired after instance %d took over", g, current);
            return 0;
        }
    }
    return 1;
}

/* The order ids the probe logged as sent ("buy ID"), all distinct. */
static size_t logged_orders(const char *logs, order_list *ids)
{
    char id[ORDER_ID_MAX + 1];
    memset(ids, 0, sizeof *ids);
    for (const char *p = logs; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (sscanf(p, "buy %32s", id) == 1 && strcmp(id, "nil") && ids->n < MAX_ORDERS)
            memcpy(ids->o[ids->n++].id, id, sizeof id);
    return ids->n;
}

static void check_orders(const mock_binance *mx, const char *logs)
{
    static order_list store, mock, open, sent;
    size_t same = 0, unique = 1;

    store_orders(0, &store);
    store_orders(1, &open);
    mock_orders(mx, &mock);
    logged_orders(logs, &sent);
    for (size_t i = 0; i < store.n; i++) {
        const order_seen *m = find_order(&mock, store.o[i].id);
        if (m && !strcmp(m->status, store.o[i].status))
            same++;
        else
            diag("order %s: store %s, mock %s", store.o[i].id, store.o[i].status,
                 m ? m->status : "(unknown)");
    }
    for (size_t i = 0; i < mock.n; i++)
        for (size_t j = i + 1; j < mock.n; j++)
            unique &= strcmp(mock.o[i].id, mock.o[j].id) != 0;
    ok(store.ok && mock.ok && sent.n >= RELOADS / 8 && store.n == sent.n,
       "every order the strategy sent is in the store (%zu sent, %zu stored)", sent.n, store.n);
    ok(store.n && same == store.n && mock.n == store.n,
       "the mock's orders are the store's: %zu of %zu the same status, %zu at the mock", same,
       store.n, mock.n);
    ok(mock.ok && unique, "no client order id twice at the mock");
    ok(open.ok && open.n == 0, "no order left open in the store after the stop (%zu)", open.n);
}

/* The first line of an error (a Lua error carries its traceback). */
static int line_len(const char *s)
{
    return (int)strcspn(s, "\n");
}

static void check_session(const session *s, const char *logs)
{
    int gen, reloads = -1;
    long books = -1, trades = -1;
    const char *stop = strstr(logs, "stop ");

    ok(!s->stalled, "every step completed%s%s", s->stalled ? ": not " : "",
       s->stalled ? s->stalled : "");
    is_int(s->api_ok, s->api_calls, "%d reloads by name took over", s->api_calls);
    is_int(s->file_ok, s->file_calls,
           "%d reloads by rewriting the file ran the new version, its params, the config's "
           "winning", s->file_calls);
    is_int(s->api_calls + s->file_calls, RELOADS, "%d reloads in a row", RELOADS);
    is_int((int)s->reloads_after, RELOADS, "the engine made %d: %d writes of a file in a burst "
           "made one reload", RELOADS, BURST_WRITES);
    is_int((int)s->timers_after, 1, "one timer pending after them: the current instance's");
    ok(old_timers_silent(logs), "no timer of an old instance fired after its successor took "
                                "over");

    ok(s->rc_syntax < 0 && strstr(s->err_syntax, "reload_probe.lua:1:"),
       "a syntax error fails the reload, naming file and line: %.*s", line_len(s->err_syntax),
       s->err_syntax);
    ok(s->still_syntax, "... and the old instance keeps running");
    ok(s->rc_runtime < 0 && strstr(s->err_runtime, "reload_probe.lua:1: broken on purpose"),
       "an error in the top-level chunk fails it, naming file and line: %.*s",
       line_len(s->err_runtime), s->err_runtime);
    ok(s->still_runtime, "... and the old instance keeps running");
    ok(s->rc_none < 0 && strstr(s->err_none, "defines no handler"),
       "a file without handlers fails it: %.*s", line_len(s->err_none), s->err_none);
    ok(s->still_none, "... and the old instance keeps running");
    ok(s->still_watched, "a broken file found by the watcher leaves the old instance running");
    ok(s->restored, "the repaired file is reloaded by the watcher");

    ok(s->hup_risk, "SIGHUP: a lowered max_order_notional refuses the next order at once");
    ok(s->hup_state, "SIGHUP: with state_dir changed too, the rest applies (limit back, new "
                     "param)");
    ok(s->hup_invalid, "SIGHUP with an invalid file: nothing reloaded");

    if (stop)
        sscanf(stop, "stop %d books=%ld trades=%ld reloads=%d", &gen, &books, &trades, &reloads);
    is_int(reloads, (int)count_of(logs, "\nreload "),
           "ctx.state counted every reload through the reloads");
    is_int(reloads, (int)s->at_stop.reloads, "as many as the engine made");
    ok(books > 0 && books == (long)s->at_stop.book_messages,
       "every book message reached exactly one instance (%ld on_book, %llu messages)", books,
       (unsigned long long)s->at_stop.book_messages);
    ok(trades > 0 && trades == (long)s->at_stop.trade_messages,
       "every trade reached exactly one instance (%ld on_trade, %llu trades)", trades,
       (unsigned long long)s->at_stop.trade_messages);
}

static void check_log(void)
{
    char *text = slurp(stderr_path);

    ok(strstr(text, "strategy reload failed") &&
           strstr(text, "reload_probe.lua:1: broken for the watcher"),
       "the watcher's failed reload is logged with file and line");
    ok(strstr(text, "configuration change not applied: it needs a restart\" key=state_dir"),
       "SIGHUP names the state_dir change as not applied");
    ok(strstr(text, "reload refused") && strstr(text, "max_open_orders"),
       "SIGHUP with an invalid file is refused, naming the key");
    free(text);
    ok(access(moved_state_dir, F_OK) != 0, "the state folder did not move");
}

/* ---- Main ---- */

static mock_binance *mock_start(void)
{
    mock_binance_options mo;
    mock_binance *mx;
    char err[1024];

    memset(&mo, 0, sizeof mo);
    if (!(mx = mock_binance_start(&mo, err, sizeof err)))
        bail_out("mock: %s", err);
    if (mock_binance_set_balance(mx, "USDT", "100000", err, sizeof err) != 0 ||
        mock_binance_set_balance(mx, "BTC", "10", err, sizeof err) != 0 ||
        mock_binance_set_level(mx, SYM, 1, "59999", "1", err, sizeof err) != 0 ||
        mock_binance_set_level(mx, SYM, 0, "60001", "1", err, sizeof err) != 0)
        bail_out("mock: %s", err);
    mock_binance_flush(mx);
    return mx;
}

/* Run the session with stderr in stderr_path. @return live_run's answer. */
static int run_session(session *s)
{
    live_options lo = {.lib_path = "scripts/lib", .stop_grace_ms = 3000,
                       .config_path = config_path, .watch_quiet_ms = QUIET_MS};
    config *cfg = malloc(sizeof *cfg);
    char err[2048];
    int saved = dup(2), fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc = -1;

    if (!cfg || saved < 0 || fd < 0)
        bail_out("set-up failed");
    if (config_load(config_path, cfg, err, sizeof err) < 0)
        bail_out("config: %s", err);
    fflush(stderr);
    dup2(fd, 2);
    if ((s->lv = live_new(cfg, &lo, err, sizeof err)) &&
        loop_timer_add(live_loop(s->lv), STEP_MS * NS_PER_MS, STEP_MS * NS_PER_MS, tick, s, err,
                       sizeof err) &&
        loop_timer_add(live_loop(s->lv), RUN_DEADLINE_MS * NS_PER_MS, 0, deadline, s, err,
                       sizeof err))
        rc = live_run(s->lv, err, sizeof err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    if (rc < 0)
        diag("run: %s", err);
    live_free(s->lv);
    free(cfg);
    return rc;
}

int main(void)
{
    static session s;
    mock_binance *mx;
    char *logs, *probe;
    int rc;

    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    snprintf(key_path, sizeof key_path, "%s/api.key", tmp_dir);
    snprintf(secret_path, sizeof secret_path, "%s/api.secret", tmp_dir);
    tap_write_secret(key_path, MOCK_BINANCE_API_KEY);
    tap_write_secret(secret_path, MOCK_BINANCE_API_SECRET);
    snprintf(probe_log, sizeof probe_log, "%s/probe.log", tmp_dir);
    snprintf(script_path, sizeof script_path, "%s/reload_probe.lua", tmp_dir);
    snprintf(config_path, sizeof config_path, "%s/live.lua", tmp_dir);
    snprintf(stderr_path, sizeof stderr_path, "%s/stderr.log", tmp_dir);
    snprintf(state_dir, sizeof state_dir, "%s/state", tmp_dir);
    snprintf(moved_state_dir, sizeof moved_state_dir, "%s/state-moved", tmp_dir);
    probe = slurp("t/strategies/reload_probe.lua");
    if (!strchr(probe, '\n'))
        bail_out("t/strategies/reload_probe.lua: run the test from the repository's root");
    probe_source = strchr(probe, '\n') + 1;
    write_script(SCRIPT_GOOD, 1, 2000);
    log_set_level(LOG_INFO);

    plan(31);
    mx = mock_start();
    write_config(mx, state_dir, "100000", "a", 4, 0);
    s.mx = mx;
    rc = run_session(&s);
    is_int(rc, 0, "live_run returned 0 after the stop");
    logs = slurp(probe_log);
    check_session(&s, logs);
    check_log();
    check_orders(mx, logs);
    if (s.stalled || getenv("RELOAD_DEBUG")) {
        char *text = slurp(stderr_path);
        diag("probe log:\n%.4000s", logs);
        diag("driver log, its end:\n%s", strlen(text) > 8000 ? text + strlen(text) - 8000 : text);
        free(text);
    }
    free(logs);
    free(probe);
    mock_binance_stop(mx);
    tap_rmtree(tmp_dir);
    return done();
}
