/*
 * plugin_live.c -- the live host services (core/plugin.h, lutra_plugin.h)
 * through the fixture connector t/fixtures/live_probe.c, against a real HTTP
 * server (t/httpd_test.h) and a real WebSocket server (t/ws_server.h) on
 * 127.0.0.1, on one libevent loop:
 *
 *   - the secret comes from a 0600 file, and only its HMAC reaches the
 *     servers; no log line holds it;
 *   - an HTTP request arrives and its answer (a header included) comes back;
 *   - the WebSocket opens, echoes, and closes from inside its own callback;
 *   - timers fire, and are cancelled with the slow request and the
 *     WebSocket when the instance is destroyed: nothing calls back after;
 *   - submit, cancel and the queries reach the caller's callbacks as the
 *     order-entry contract says, never from inside the call; query_order,
 *     which the probe predates (its slot is NULL), is refused with a reason;
 *   - without a live context the services fail cleanly.
 *
 * Every wait has a deadline.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "httpd_test.h"
#include "instrument.h"
#include "log.h"
#include "loop.h"
#include "plugin.h"
#include "secret.h"
#include "tap.h"
#include "ws_server.h"

#define DEADLINE_MS 10000
#define QUIET_MS 300
#define MAX_REPORTS 64

static const char secret_value[] = "pr0be-s3cret-VALUE-never-shown";

/* What one instance reported through its live context. */
typedef struct rec {
    lutra_exec execs[MAX_REPORTS];
    size_t nexec;
    lutra_balance balances[MAX_REPORTS];
    size_t nbalance;
    int64_t ticks;   /* the last TICKS balance */
    int64_t warms;   /* its locked: the probe's warm calls */
    size_t nticks;   /* TICKS reports */
    int states[MAX_REPORTS];
    char reasons[MAX_REPORTS][LUTRA_REASON_SIZE];
    size_t nstate;
    size_t calls;    /* every callback */
} rec;

static char test_dir[PATH_MAX - 64]; /* build/t */
static char tmp_dir[] = "/tmp/lutra-plugin-live-XXXXXX";
static char secret_path[PATH_MAX];
static char log_path[PATH_MAX];
static int saved_stderr = -1;
static loop *lp;
static http_client *http;
static httpd_test srv;
static tws wsrv;
static instrument_registry *reg;
static secret_store *secrets;
static int32_t btc;
static char hmac_hex[65];

/* ---- Callbacks ---- */

static int on_event(void *ud, const lutra_event *ev)
{
    (void)ud, (void)ev;
    return 0;
}

static int on_exec(void *ud, const lutra_exec *x)
{
    rec *r = ud;
    r->calls++;
    if (r->nexec < MAX_REPORTS)
        r->execs[r->nexec++] = *x;
    return 0;
}

static int on_balance(void *ud, const lutra_balance *b)
{
    rec *r = ud;
    r->calls++;
    if (strcmp(b->asset, "TICKS") == 0) {
        r->ticks = b->free;
        r->warms = b->locked;
        r->nticks++;
    } else if (r->nbalance < MAX_REPORTS) {
        r->balances[r->nbalance++] = *b;
    }
    return 0;
}

static void on_state(void *ud, int state, const char *reason)
{
    rec *r = ud;
    r->calls++;
    if (r->nstate < MAX_REPORTS) {
        r->states[r->nstate] = state;
        snprintf(r->reasons[r->nstate], sizeof r->reasons[0], "%s", reason);
        r->nstate++;
    }
}

/* The reason of the last state `state` reported, or NULL. */
static const char *state_reason(const rec *r, int state)
{
    for (size_t i = r->nstate; i-- > 0;)
        if (r->states[i] == state)
            return r->reasons[i];
    return NULL;
}

/* ---- Waiting ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Turn the loop until pred(ud) or ms pass. @return pred's last answer. */
static int run_until(int (*pred)(const void *ud), const void *ud, int64_t ms)
{
    int64_t end = now_ms() + ms;
    while (!pred(ud) && now_ms() < end) {
        loop_run_nowait(lp);
        usleep(500);
    }
    return pred(ud);
}

static int never_true(const void *ud)
{
    (void)ud;
    return 0;
}

static int started_fully(const void *ud)
{
    const rec *r = ud;
    return state_reason(r, LUTRA_FEED_CONNECTING) && state_reason(r, LUTRA_FEED_READY) &&
           r->nticks >= 3;
}

static size_t want_execs;
static int has_execs(const void *ud)
{
    return ((const rec *)ud)->nexec >= want_execs;
}

static size_t want_balances;
static int has_balances(const void *ud)
{
    return ((const rec *)ud)->nbalance >= want_balances;
}

static const plugin_instance *watched;
static size_t want_handles;
static int handles_down(const void *ud)
{
    (void)ud;
    return plugin_instance_handles(watched) <= want_handles;
}

/* ---- Set-up ---- */

static void find_test_dir(void)
{
    ssize_t n = readlink("/proc/self/exe", test_dir, sizeof test_dir - 1);
    if (n <= 0 || (size_t)n >= sizeof test_dir - 1)
        bail_out("cannot read /proc/self/exe");
    test_dir[n] = '\0';
    *strrchr(test_dir, '/') = '\0';
}

static void write_secret_file(void)
{
    snprintf(secret_path, sizeof secret_path, "%s/api.secret", tmp_dir);
    tap_write_secret(secret_path, secret_value);
}

static void expected_hmac(void)
{
    static const char msg[] = "lutra-live-probe";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret_value, (int)strlen(secret_value), (const unsigned char *)msg,
         sizeof msg - 1, mac, &len);
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(hmac_hex + 2 * i, 3, "%02x", mac[i]);
}

/* Logs go to a file from here on: the test reads them at the end. */
static void capture_stderr(void)
{
    snprintf(log_path, sizeof log_path, "%s/log", tmp_dir);
    FILE *f = fopen(log_path, "w");
    if (!f)
        bail_out("cannot write %s", log_path);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fileno(f), 2);
    fclose(f);
}

/* Restore stderr. @return the captured log (free it). */
static char *release_stderr(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *f = fopen(log_path, "r");
    char *buf = calloc(1, 1 << 20);
    if (f && buf)
        buf[fread(buf, 1, (1 << 20) - 1, f)] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static void setup(void)
{
    char err[512];
    lutra_instrument def;

    find_test_dir();
    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    write_secret_file();
    expected_hmac();
    capture_stderr();
    log_set_level(LOG_DEBUG);

    lp = loop_new(err, sizeof err);
    if (!lp)
        bail_out("loop: %s", err);
    http = http_new(loop_base(lp), NULL, err, sizeof err);
    if (!http)
        bail_out("http: %s", err);
    if (httpd_start(&srv, loop_base(lp)) != 0)
        bail_out("cannot start the HTTP server");
    if (tws_start(&wsrv) != 0)
        bail_out("cannot start the WebSocket server");

    reg = instrument_registry_new();
    if (!reg || instrument_define(&def, "probe", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001",
                                  NULL, NULL, err, sizeof err) != 0)
        bail_out("instrument: %s", err);
    btc = instrument_registry_add(reg, &def, err, sizeof err);
    if (btc < 0)
        bail_out("instrument: %s", err);

    secrets = secret_store_new();
    if (!secrets || secret_store_add(secrets, "api_secret", NULL, secret_path, err,
                                     sizeof err) != 0)
        bail_out("secret: %s", err);
}

static plugin_handle *load_probe(void)
{
    char fixtures[PATH_MAX], path[PATH_MAX], err[4096];

    snprintf(fixtures, sizeof fixtures, "%s/fixtures", test_dir);
    setenv("LUTRA_PLUGIN_PATH", fixtures, 1);
    if (plugin_find("live_probe", NULL, 0, path, sizeof path, err, sizeof err) != 0)
        bail_out("%s", err);
    plugin_handle *ph = plugin_load(path, err, sizeof err);
    if (!ph)
        bail_out("%s", err);
    return ph;
}

/* spin_us: plugin_live.ws_spin_us, which the host puts in the config of
 * every WebSocket the probe opens. */
static plugin_instance *create_probe(plugin_handle *ph, rec *r, const char *close_after_echo,
                                     int64_t spin_us)
{
    char rest[64], wsurl[64], err[512];
    snprintf(rest, sizeof rest, "http://127.0.0.1:%d", srv.port);
    snprintf(wsurl, sizeof wsurl, "ws://127.0.0.1:%d/echo", wsrv.port);
    const char *conf[] = {"rest_url", rest, "ws_url", wsurl, "slow_ms", "8000",
                          "close_after_echo", close_after_echo, NULL};
    plugin_live live = {
        .lp = lp,
        .http = http,
        .secrets = secrets,
        .on_exec = on_exec,
        .on_balance = on_balance,
        .on_state = on_state,
        .ud = r,
        .ws_spin_us = spin_us,
    };
    plugin_instance *pi =
        plugin_instance_create_live(ph, reg, conf, on_event, NULL, &live, err, sizeof err);
    if (!pi)
        bail_out("%s", err);
    return pi;
}

/* ---- Tests ---- */

static void test_start(plugin_instance *pi, rec *r)
{
    char err[256], want[160];

    is_int(plugin_instance_start(pi, err, sizeof err), 0, "the probe starts live");
    ok(run_until(started_fully, r, DEADLINE_MS), "HTTP answer, WebSocket echo and 3 ticks "
       "within %d ms", DEADLINE_MS);
    ok(atomic_load(&srv.requests) >= 1, "the HTTP request reached the server");
    snprintf(want, sizeof want, "http 200 %s", hmac_hex);
    is_str(state_reason(r, LUTRA_FEED_CONNECTING), want,
           "the answer came back, with the header the probe sent (its HMAC)");
    snprintf(want, sizeof want, "ws echo:hello:%s", hmac_hex);
    is_str(state_reason(r, LUTRA_FEED_READY), want, "the WebSocket echo came round");
    char *last = tws_last_received(&wsrv);
    snprintf(want, sizeof want, "echo:hello:%s", hmac_hex);
    is_str(last, want, "the server received the probe's echo of its own message");
    ok(last && !strstr(last, secret_value), "and not the secret");
    free(last);
    ok(r->nticks >= 3 && r->ticks == (int64_t)r->nticks, "the repeating timer fired %zu times",
       r->nticks);
}

static lutra_order order(const char *id, int type, int tif, int64_t price, int64_t qty)
{
    lutra_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "%s", id);
    o.instrument = (uint32_t)btc;
    o.side = LUTRA_SIDE_BUY;
    o.type = (uint8_t)type;
    o.tif = (uint8_t)tif;
    o.price = price;
    o.qty = qty;
    return o;
}

static const lutra_exec *exec_at(const rec *r, size_t i)
{
    static const lutra_exec none;
    return i < r->nexec ? &r->execs[i] : &none;
}

static void test_submit(plugin_instance *pi, rec *r)
{
    lutra_order limit = order("o-limit", LUTRA_TYPE_LIMIT, LUTRA_TIF_GTC, 6000000, 150);
    lutra_order market = order("o-market", LUTRA_TYPE_MARKET, LUTRA_TIF_GTC, 0, 200);
    lutra_order stray = order("o-stray", LUTRA_TYPE_LIMIT, LUTRA_TIF_GTC, 100, 1);
    stray.instrument = 999;

    is_int(plugin_instance_submit(pi, &limit), 0, "submit limit: taken");
    is_int(plugin_instance_submit(pi, &market), 0, "submit market: taken");
    is_int(plugin_instance_submit(pi, &stray), 0, "submit for an unknown instrument: taken");
    is_int((int)r->nexec, 0, "no report from inside submit");
    want_execs = 4;
    ok(run_until(has_execs, r, DEADLINE_MS), "reports arrive later");

    const lutra_exec *a = exec_at(r, 0), *b = exec_at(r, 1), *f = exec_at(r, 2),
                     *rj = exec_at(r, 3);
    ok(a->kind == LUTRA_EXEC_ACCEPTED && !strcmp(a->order_id, "o-limit") &&
           !strcmp(a->venue_order_id, "V-o-limit") && a->instrument == (uint32_t)btc &&
           a->ts > 0,
       "limit: ACCEPTED with the venue's id and a time");
    ok(b->kind == LUTRA_EXEC_ACCEPTED && !strcmp(b->order_id, "o-market"), "market: ACCEPTED");
    ok(f->kind == LUTRA_EXEC_FILL && !strcmp(f->order_id, "o-market") && f->qty == 200 &&
           f->price == 12345 && f->fee == 2500 && !strcmp(f->fee_asset, "USDT") &&
           f->liquidity == LUTRA_LIQ_TAKER && !strcmp(f->trade_id, "T-o-market"),
       "market: one FILL with price, qty, fee, fee asset, liquidity and trade id");
    ok(rj->kind == LUTRA_EXEC_REJECTED && !strcmp(rj->reason, "unknown instrument"),
       "unknown instrument: REJECTED with the reason (%s)", rj->reason);
    is_int((int)r->nexec, 4, "nothing more: the limit order rests");
}

static void test_queries(plugin_instance *pi, rec *r)
{
    size_t base = r->nexec;

    is_int(plugin_instance_query_orders(pi), 0, "query_orders: asked");
    want_execs = base + 2;
    ok(run_until(has_execs, r, DEADLINE_MS), "query_orders answered");
    const lutra_exec *st = exec_at(r, base), *end = exec_at(r, base + 1);
    ok(st->kind == LUTRA_EXEC_STATUS && !strcmp(st->order_id, "o-limit") &&
           st->qty == 150 && st->filled == 0 && st->price == 6000000 &&
           st->side == LUTRA_SIDE_BUY && st->instrument == (uint32_t)btc,
       "STATUS of the resting order: side, instrument, price, qty, filled");
    ok(end->kind == LUTRA_EXEC_STATUS && end->order_id[0] == '\0',
       "then the empty STATUS: done");

    lutra_order limit = order("o-limit", LUTRA_TYPE_LIMIT, LUTRA_TIF_GTC, 6000000, 150);
    base = r->nexec;
    is_int(plugin_instance_query_order(pi, &limit), -1,
           "query_order of a plugin built before the entry: -1 (logged)");
    run_until(never_true, NULL, QUIET_MS);
    is_int((int)(r->nexec - base), 0, "and nothing follows");

    is_int(plugin_instance_query_balances(pi), 0, "query_balances: asked");
    want_balances = 2;
    ok(run_until(has_balances, r, DEADLINE_MS), "balances answered");
    ok(!strcmp(r->balances[0].asset, "USDT") && r->balances[0].free == INT64_C(100000000000) &&
           r->balances[0].locked == 100000000,
       "USDT: free and locked in money units");
    ok(!strcmp(r->balances[1].asset, "BTC") && r->balances[1].free == 50000000, "BTC");
}

static void test_cancel(plugin_instance *pi, rec *r)
{
    lutra_order limit = order("o-limit", LUTRA_TYPE_LIMIT, LUTRA_TIF_GTC, 6000000, 150);
    lutra_order ghost = order("o-ghost", LUTRA_TYPE_LIMIT, LUTRA_TIF_GTC, 6000000, 150);
    size_t base = r->nexec;

    is_int(plugin_instance_cancel(pi, &limit), 0, "cancel the resting order: sent");
    is_int(plugin_instance_cancel(pi, &ghost), 0, "cancel an unknown order: sent");
    is_int((int)(r->nexec - base), 0, "no report from inside cancel");
    want_execs = base + 2;
    ok(run_until(has_execs, r, DEADLINE_MS), "cancels answered");
    ok(exec_at(r, base)->kind == LUTRA_EXEC_CANCELED &&
           !strcmp(exec_at(r, base)->order_id, "o-limit"),
       "CANCELED");
    ok(exec_at(r, base + 1)->kind == LUTRA_EXEC_CANCEL_REJECTED &&
           !strcmp(exec_at(r, base + 1)->reason, "unknown order"),
       "CANCEL_REJECTED with the reason");
}

/* A second instance closes its WebSocket from inside the socket's callback. */
static void test_close_in_callback(plugin_instance *pi, rec *r)
{
    char err[256];

    is_int(plugin_instance_start(pi, err, sizeof err), 0, "a second probe starts");
    ok(run_until(started_fully, r, DEADLINE_MS), "and gets its echo");
    /* Left: the tick timer, the hour-long timer and the slow request. */
    watched = pi;
    want_handles = 3;
    ok(run_until(handles_down, NULL, DEADLINE_MS),
       "the WebSocket closed from its own callback is freed after it (%zu handles left)",
       plugin_instance_handles(pi));
    ok(!state_reason(r, LUTRA_FEED_DISCONNECTED), "and reported nothing after its close");
}

static int warmed(const void *ud)
{
    return ((const rec *)ud)->warms > 0;
}

/* A venue that spins is warmed while quiet; one that sleeps never is. */
static void test_warm(plugin_handle *ph, const rec *sleeper)
{
    static rec r;
    char err[256];
    plugin_instance *pi = create_probe(ph, &r, "0", 1000000);

    is_int(plugin_instance_start(pi, err, sizeof err), 0, "a probe spinning for 1 s starts");
    int got = run_until(started_fully, &r, DEADLINE_MS) && run_until(warmed, &r, DEADLINE_MS);
    ok(got, "its warm entry is called while it spins after its echo (%lld calls by tick %lld)",
       (long long)r.warms, (long long)r.ticks);
    is_int(sleeper->warms, 0, "the probe with ws_spin_us 0 was never warmed (by tick %lld)",
           (long long)sleeper->ticks);
    plugin_instance_destroy(pi);
}

static void test_destroy(plugin_instance *a, rec *ra, plugin_instance *b, rec *rb)
{
    ok(plugin_instance_handles(a) >= 3, "before destroy: %zu timers, requests and websockets "
       "open", plugin_instance_handles(a));
    ok(!state_reason(ra, LUTRA_FEED_SYNCING), "the slow request is still in flight");
    plugin_instance_destroy(a);
    plugin_instance_destroy(b);
    size_t calls_a = ra->calls, calls_b = rb->calls;
    int requests = atomic_load(&srv.requests);
    run_until(never_true, NULL, QUIET_MS);
    is_int((int)(ra->calls - calls_a), 0, "no callback after destroy (first instance)");
    is_int((int)(rb->calls - calls_b), 0, "no callback after destroy (second instance)");
    is_int(atomic_load(&srv.requests), requests, "no request after destroy");
}

static void test_offline(plugin_handle *ph)
{
    char err[256];
    const char *conf[] = {"rest_url", "http://127.0.0.1:1", NULL};
    plugin_instance *pi =
        plugin_instance_create(ph, reg, conf, on_event, NULL, err, sizeof err);

    ok(pi != NULL, "an offline instance is created");
    if (!pi)
        return;
    is_int(plugin_instance_start(pi, err, sizeof err), -1, "its start fails cleanly");
    ok(strstr(err, "live_probe") != NULL, "naming the plugin: %s", err);
    lutra_order o = order("o-1", LUTRA_TYPE_LIMIT, LUTRA_TIF_GTC, 1, 1);
    is_int(plugin_instance_submit(pi, &o), -1, "submit before a start: refused");
    is_int((int)plugin_instance_handles(pi), 0, "nothing is left open");
    plugin_instance_destroy(pi);

    plugin_live none = {0};
    pi = plugin_instance_create_live(ph, reg, conf, on_event, NULL, &none, err, sizeof err);
    ok(pi == NULL && strstr(err, "needs a loop"), "a live context without a loop: %s", err);
}

/* The venue's ws_spin_us reaches ws_open: a value ws refuses (more than a
 * second) fails the probe's start, and the host's log line names it
 * (check_log). The first instance ran with 200 us, which ws accepts. */
static void test_spin_refused(plugin_handle *ph)
{
    static rec r;
    char err[512];
    plugin_instance *pi = create_probe(ph, &r, "0", 2000000);

    is_int(plugin_instance_start(pi, err, sizeof err), -1,
           "ws_spin_us 2000000: the probe's WebSocket is not opened");
    plugin_instance_destroy(pi);
}

static void check_log(char *log)
{
    ok(log && strstr(log, "timer_add: not available offline"),
       "the offline refusal is logged");
    ok(log && !strstr(log, secret_value), "no log line holds the secret");
    ok(log && strstr(log, "ws_open: ws ws://127.0.0.1:") &&
           strstr(log, "spin_us 2000000 is not in 0..1000000"),
       "ws_spin_us reached ws_config.spin_us: ws refused 2000000 by name");
    ok(log && strstr(log, "query_order: this plugin does not offer it") &&
           strstr(log, "built before lutra_plugin.query_order existed"),
       "the query_order refusal says why");
    if (!log || !(tap_failed || getenv("PLUGIN_LIVE_SHOW_LOG")))
        return;
    diag("captured log:");
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
        diag("%s", line);
}

static void teardown(void)
{
    tws_stop(&wsrv);
    httpd_stop(&srv);
    http_free(http);
    loop_free(lp);
    secret_store_free(secrets);
    instrument_registry_free(reg);
    unlink(secret_path);
    unlink(log_path);
    rmdir(tmp_dir);
}

int main(void)
{
    static rec ra, rb;

    setup();
    plugin_handle *ph = load_probe();
    plugin_instance *a = create_probe(ph, &ra, "0", 200);
    plugin_instance *b = create_probe(ph, &rb, "1", 0);

    test_start(a, &ra);
    test_submit(a, &ra);
    test_queries(a, &ra);
    test_cancel(a, &ra);
    test_close_in_callback(b, &rb);
    test_warm(ph, &rb);
    test_destroy(a, &ra, b, &rb);
    test_offline(ph);
    test_spin_refused(ph);
    plugin_unload(ph);

    char *log = release_stderr();
    check_log(log);
    free(log);
    teardown();
    return done();
}
