/*
 * live.c -- the live driver (core/live.h) in-process, with the fixture
 * connector t/fixtures/live_probe.c as the venue, against an HTTP server
 * (t/httpd_test.h, its own thread) and a WebSocket server (t/ws_server.h)
 * on 127.0.0.1, and the strategy t/strategies/run_probe.lua:
 *
 *   - a missing secret is an error naming its key before anything connects;
 *   - the strategy starts once the venue is ready and reconciled with the
 *     state store: the first status it hears is "ready";
 *   - once ready, the strategy's orders reach the connector and their
 *     ACCEPTED and FILL come back to on_order and on_fill;
 *   - SIGTERM runs on_stop, cancels the resting order through the venue and
 *     makes live_run return 0;
 *   - paper mode sends nothing to the connector: the simulated venue answers.
 *
 * Run from the repository root. Every wait has a deadline.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "httpd_test.h"
#include "instrument.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "tap.h"
#include "ws_server.h"

#define STOP_AFTER_MS 1500
#define DEADLINE_MS 8000

static char tmp_dir[] = "/tmp/lutra-live-XXXXXX";
static char secret_path[PATH_MAX], log_path[PATH_MAX], probe_path[PATH_MAX];
static httpd_test srv;
static struct event_base *http_base;
static atomic_int http_quit;
static pthread_t http_thread;
static tws wsrv;
static int saved_stderr = -1;

static void *http_run(void *arg)
{
    (void)arg;
    while (!atomic_load(&http_quit)) {
        event_base_loop(http_base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    return NULL;
}

static void setup(void)
{
    char exe[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    if (n <= 0 || !mkdtemp(tmp_dir))
        bail_out("setup: readlink or mkdtemp failed");
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(probe_path, sizeof probe_path, "%s/fixtures/live_probe.so", exe);
    snprintf(secret_path, sizeof secret_path, "%s/secret", tmp_dir);
    snprintf(log_path, sizeof log_path, "%s/log", tmp_dir);
    tap_write_secret(secret_path, "run-s3cret");
    if (!(http_base = event_base_new()) || httpd_start(&srv, http_base) != 0 ||
        pthread_create(&http_thread, NULL, http_run, NULL) != 0)
        bail_out("cannot start the HTTP server");
    if (tws_start(&wsrv) != 0)
        bail_out("cannot start the WebSocket server");
}

static void teardown(void)
{
    char path[PATH_MAX];

    atomic_store(&http_quit, 1);
    pthread_join(http_thread, NULL);
    httpd_stop(&srv);
    event_base_free(http_base);
    tws_stop(&wsrv);
    unlink(secret_path);
    unlink(log_path);
    snprintf(path, sizeof path, "%s/bad.lua", tmp_dir);
    unlink(path);
    tap_rmtree(tmp_dir);
}

/* The configuration for mode, with the venue's secret from `secret`. */
static void make_config(char *out, size_t cap, const char *mode, const char *secret)
{
    snprintf(out, cap,
             "return { mode = '%s', cancel_on_stop = true, cash = 1000,\n"
             "  state_dir = '%s/state-%s',\n"
             "  venues = { probe = { connector = '%s',\n"
             "    rest_url = 'http://127.0.0.1:%d/delay?ms=5000', ws_url = 'ws://127.0.0.1:%d/echo',\n"
             "    api_key = %s, api_secret = %s, symbols = { 'BTCUSDT' } } },\n"
             "  strategies = { { name = 'p', script = 't/strategies/run_probe.lua',\n"
             "                   venue = 'probe' } } }\n",
             mode, tmp_dir, mode, probe_path, srv.port, wsrv.port, secret, secret);
}

static int load(const char *mode, const char *secret, config *cfg)
{
    char text[8192], err[1024];

    make_config(text, sizeof text, mode, secret);
    if (config_load_string("live-test", text, cfg, err, sizeof err) < 0) {
        diag("config: %s", err);
        return -1;
    }
    return 0;
}

/* ---- stderr to a file, to read the logs back ---- */

static void capture(void)
{
    int fd;

    fflush(stderr);
    saved_stderr = dup(2);
    fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (saved_stderr < 0 || fd < 0 || dup2(fd, 2) < 0)
        bail_out("cannot capture stderr");
    close(fd);
}

static char *release(void)
{
    static char buf[1 << 18];
    FILE *f;
    size_t n = 0;

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    if ((f = fopen(log_path, "r"))) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* ---- Running the driver ---- */

static void send_term(loop_timer *t, void *ud)
{
    (void)t, (void)ud;
    kill(getpid(), SIGTERM);
}

static void deadline(loop_timer *t, void *ud)
{
    (void)t;
    diag("deadline passed: stopping at once");
    live_request_stop(ud);
    live_request_stop(ud);
}

/* Run until SIGTERM after STOP_AFTER_MS. @return live_run's answer; the
 * logs in *logs. */
static int run_once(const config *cfg, char **logs)
{
    live_options lo = {.lib_path = "scripts/lib", .stop_grace_ms = 2000};
    instrument_registry *reg = instrument_registry_new();
    lutra_instrument def;
    char err[1024];
    live *lv;
    int rc = -1;

    /* The instrument the connector would define (the probe defines none). */
    if (!reg || instrument_define(&def, "probe", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001",
                                  NULL, NULL, err, sizeof err) != 0 ||
        instrument_registry_add(reg, &def, err, sizeof err) < 0)
        bail_out("instrument: %s", err);
    lo.reg = reg;
    capture();
    if ((lv = live_new(cfg, &lo, err, sizeof err)) &&
        loop_timer_add(live_loop(lv), STOP_AFTER_MS * INT64_C(1000000), 0, send_term, lv, err,
                       sizeof err) &&
        loop_timer_add(live_loop(lv), DEADLINE_MS * INT64_C(1000000), 0, deadline, lv, err,
                       sizeof err))
        rc = live_run(lv, err, sizeof err);
    live_free(lv);
    *logs = release();
    if (rc < 0)
        diag("live: %s", err);
    instrument_registry_free(reg);
    return rc;
}

static int has(const char *logs, const char *what)
{
    return strstr(logs, what) != NULL;
}

/* ---- Tests ---- */

static void test_missing_secret(void)
{
    config *cfg = malloc(sizeof *cfg);
    live_options lo = {.lib_path = "scripts/lib", .no_signals = 1};
    char err[1024];
    int before = atomic_load(&wsrv.established);

    unsetenv("LUTRA_TEST_UNSET_SECRET");
    if (!cfg || load("live", "{ env = 'LUTRA_TEST_UNSET_SECRET' }", cfg) < 0)
        bail_out("config");
    live *lv = live_new(cfg, &lo, err, sizeof err);
    ok(lv == NULL, "a missing secret stops the driver before it starts");
    ok(strstr(err, "venues.probe.api_key") && strstr(err, "LUTRA_TEST_UNSET_SECRET"),
       "naming the key and its source: %s", err);
    is_int(atomic_load(&wsrv.established), before, "nothing connected");
    live_free(lv);
    free(cfg);
}

static void test_live(void)
{
    config *cfg = malloc(sizeof *cfg);
    char secret[PATH_MAX + 32], *logs;
    int rc;

    snprintf(secret, sizeof secret, "{ file = '%s' }", secret_path);
    if (!cfg || load("live", secret, cfg) < 0)
        bail_out("config");
    rc = run_once(cfg, &logs);
    is_int(rc, 0, "live: SIGTERM ends the run cleanly");
    ok(has(logs, "probe-strategy first status ready"),
       "the strategy started once the venue was ready: the first status it heard");
    ok(has(logs, "msg=\"venue reconciled\" venue=probe") &&
           strstr(logs, "msg=\"venue reconciled\" venue=probe") <
               strstr(logs, "probe-strategy first status ready"),
       "the venue was reconciled before the strategy heard anything");
    ok(has(logs, "probe-strategy status probe ready"), "on_status heard the venue ready");
    ok(has(logs, "order o-") || has(logs, "probe-strategy order "), "on_order heard reports");
    ok(has(logs, "probe-strategy fill ") && has(logs, "0.001@100.00 taker"),
       "the IOC order reached the connector and its fill came back to on_fill");
    ok(has(logs, " new\"") || has(logs, " new "), "ACCEPTED came back as status new");
    ok(has(logs, " filled"), "the IOC order is filled");
    ok(has(logs, "probe-strategy on_stop ran"), "on_stop ran");
    ok(has(logs, " canceled"), "the resting order was cancelled through the venue at stop");
    ok(has(logs, "msg=stopped open_orders=0"), "nothing left open");
    if (rc != 0 || !has(logs, "open_orders=0"))
        diag("%s", logs);
    free(cfg);
}

static void test_paper(void)
{
    config *cfg = malloc(sizeof *cfg);
    char *logs;
    int rc;

    char secret[PATH_MAX + 32];

    snprintf(secret, sizeof secret, "{ file = '%s' }", secret_path);
    if (!cfg || load("paper", secret, cfg) < 0)
        bail_out("config");
    rc = run_once(cfg, &logs);
    is_int(rc, 0, "paper: SIGTERM ends the run cleanly");
    ok(has(logs, "probe-strategy status probe ready"), "paper: the feed's state reaches on_status");
    ok(has(logs, "probe-strategy rest "), "paper: the strategy ordered");
    ok(has(logs, " new"), "paper: the simulated venue accepted the order");
    ok(!has(logs, "V-"), "paper: no order reached the connector (it names its ids V-...)");
    ok(has(logs, " canceled") && has(logs, "on_stop ran"),
       "paper: on_stop ran and the simulated venue cancelled the resting order");
    if (rc != 0)
        diag("%s", logs);
    free(cfg);
}

int main(void)
{
    plan(20);
    setup();
    log_set_level(LOG_INFO);
    test_missing_secret();
    test_live();
    test_paper();
    teardown();
    return done();
}
