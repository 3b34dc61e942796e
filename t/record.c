/*
 * record.c -- recording live market data and importing it back, against
 * the mock exchange (t/mock_binance/) on 127.0.0.1:
 *
 *   - the binance connector, loaded live with a record callback, hands
 *     every market message (stream frames and the depth snapshot) to two
 *     recorders at once: one .gz file, and one rotating by size;
 *   - the .gz imports with no gap, and the book rebuilt from its events
 *     has the mock's top of book at the end of the recording;
 *   - the rotated files are several and import together into the same
 *     events;
 *   - a child `lutra record` killed with SIGKILL leaves a .gz that imports,
 *     up to its last flush.
 *
 * Every wait has a deadline.
 */
#include <glob.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "book.h"
#include "fixed.h"
#include "http.h"
#include "import_test.h"
#include "instrument.h"
#include "log.h"
#include "loop.h"
#include "mock_binance.h"
#include "plugin.h"
#include "recorder.h"

#define DEADLINE_MS 10000
#define SYM "BTCUSDT"
#define FLUSH_NS INT64_C(200000000)

static loop *lp;
static http_client *http;
static mock_binance *mx;
static instrument_registry *reg;
static plugin_handle *ph;
static plugin_instance *pi;
static recorder *whole, *rotating;
static int ready, write_failed;
static char rest[64], wsu[64];

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void settle(int64_t ms)
{
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        loop_run_nowait(lp);
        usleep(500);
    }
}

static void level(int bid, const char *price, const char *qty)
{
    char err[256];
    if (mock_binance_set_level(mx, SYM, bid, price, qty, err, sizeof err) != 0)
        bail_out("level: %s", err);
}

/* ---- The live side ---- */

static int on_event(void *ud, const lutra_event *ev)
{
    (void)ud;
    (void)ev;
    return 0;
}

static void on_state(void *ud, int state, const char *reason)
{
    (void)ud;
    (void)reason;
    ready = state == LUTRA_FEED_READY;
}

static void on_record(void *ud, int64_t recv_ns, const char *msg, size_t len)
{
    char err[512];
    (void)ud;
    if (recorder_write(whole, recv_ns, msg, len, err, sizeof err) < 0 ||
        recorder_write(rotating, recv_ns, msg, len, err, sizeof err) < 0) {
        diag("%s", err);
        write_failed = 1;
    }
}

static void on_flush(loop_timer *t, void *ud)
{
    char err[512];
    (void)t;
    (void)ud;
    if (recorder_flush(whole, err, sizeof err) < 0 ||
        recorder_flush(rotating, err, sizeof err) < 0) {
        diag("%s", err);
        write_failed = 1;
    }
}

static void start_mock(void)
{
    mock_binance_options mo;
    char err[512];

    memset(&mo, 0, sizeof mo);
    mo.generate = 0;
    if (!(mx = mock_binance_start(&mo, err, sizeof err)))
        bail_out("mock: %s", err);
    level(1, "59999", "1");
    level(1, "59998", "2");
    level(0, "60001", "1");
    level(0, "60002", "2");
    mock_binance_flush(mx);
    snprintf(rest, sizeof rest, "http://127.0.0.1:%d", mock_binance_rest_port(mx));
    snprintf(wsu, sizeof wsu, "ws://127.0.0.1:%d", mock_binance_ws_port(mx));
}

static void start_connector(void)
{
    const char *conf[] = {"rest_url", rest, "ws_url", wsu, "symbols", SYM, NULL};
    char path[1024], err[1024];
    plugin_live live;

    if (!(lp = loop_new(err, sizeof err)) ||
        !(http = http_new(loop_base(lp), NULL, err, sizeof err)))
        bail_out("loop: %s", err);
    if (!(reg = instrument_registry_new()))
        bail_out("out of memory");
    if (plugin_find("binance", NULL, 0, path, sizeof path, err, sizeof err) != 0 ||
        !(ph = plugin_load(path, err, sizeof err)))
        bail_out("%s", err);
    memset(&live, 0, sizeof live);
    live.lp = lp;
    live.http = http;
    live.on_state = on_state;
    live.record = on_record;
    if (!(pi = plugin_instance_create_live(ph, reg, conf, on_event, NULL, &live, err,
                                           sizeof err)) ||
        plugin_instance_start(pi, err, sizeof err) != 0)
        bail_out("%s", err);
}

/* Record while the market moves; the last change leaves bid 59998 x 2 and
 * ask 60001 x 3 on top. */
static void record_market(void)
{
    recorder_options ro = {.rotate_bytes = 1, .rotate_hourly = 0};
    char err[512];
    loop_timer *flush;
    int64_t end = mono_ms() + DEADLINE_MS;

    if (!(whole = recorder_open(it_path("cap.gz"), NULL, loop_now_ns(), err, sizeof err)) ||
        !(rotating = recorder_open(it_path("rot.gz"), &ro, loop_now_ns(), err, sizeof err)))
        bail_out("recorder: %s", err);
    if (!(flush = loop_timer_add(lp, FLUSH_NS, FLUSH_NS, on_flush, NULL, err, sizeof err)))
        bail_out("timer: %s", err);
    while (!ready && mono_ms() < end) {
        loop_run_nowait(lp);
        usleep(500);
    }
    ok(ready, "the connector synchronised its book (READY)");
    level(1, "59999", "0");
    settle(300);
    level(1, "59995", "4");
    settle(300);
    level(0, "60001", "3");
    settle(300);
    level(0, "60003", "5");
    settle(300);
    settle(500); /* the last diff arrives and is flushed */
    plugin_instance_destroy(pi);
    pi = NULL;
    loop_timer_cancel(flush);
    ok(!write_failed, "every message was written");
    ok(recorder_messages(whole) >= 5, "%llu messages recorded",
       (unsigned long long)recorder_messages(whole));
    is_int(recorder_messages(rotating), recorder_messages(whole), "both recorders saw them all");
    ok(recorder_files(rotating) >= 2, "rotation by size made %u files",
       recorder_files(rotating));
    if (recorder_close(whole, err, sizeof err) < 0 || recorder_close(rotating, err, sizeof err) < 0)
        bail_out("close: %s", err);
}

/* ---- Importing it back ---- */

static int64_t price(const char *s)
{
    int64_t v = 0;
    if (it_last.ninst < 1 || fixed_parse(s, strlen(s), it_last.inst[0].price_scale, &v) != 0)
        return INT64_MIN;
    return v;
}

static int64_t qty(const char *s)
{
    int64_t v = 0;
    if (it_last.ninst < 1 || fixed_parse(s, strlen(s), it_last.inst[0].size_scale, &v) != 0)
        return INT64_MIN;
    return v;
}

/* The book rebuilt from the imported events has the mock's final top. */
static void check_top(const char *what)
{
    book *b = book_new();
    book_level bid = {0, 0}, ask = {0, 0};

    if (!b)
        bail_out("out of memory");
    for (size_t i = 0; i < it_last.n; i++)
        book_apply_event(b, &it_last.ev[i]);
    book_best_bid(b, &bid);
    book_best_ask(b, &ask);
    ok(bid.price == price("59998") && bid.qty == qty("2"), "%s: best bid 59998 x 2", what);
    ok(ask.price == price("60001") && ask.qty == qty("3"), "%s: best ask 60001 x 3", what);
    ok(book_qty_at(b, BOOK_BID, price("59995")) == qty("4") &&
           book_qty_at(b, BOOK_BID, price("59999")) == 0 &&
           book_qty_at(b, BOOK_ASK, price("60003")) == qty("5"),
       "%s: the levels below the top too", what);
    book_free(b);
}

static void import_recordings(void)
{
    import_options opt;
    const char *one = it_path("cap.gz");
    glob_t g;
    size_t whole_events;

    memset(&opt, 0, sizeof opt);
    opt.quiet = 1;
    opt.symbol = SYM; /* whose bare REST snapshot it is */
    is_int(it_import(&opt, &one, 1), 0, "the recording imports");
    if (it_last.rc != 0)
        diag("%s", it_last.err);
    is_int(it_last.rep.gaps, 0, "with no gap");
    check_top("cap.gz");
    whole_events = it_last.n;

    if (glob(it_path("rot.*.gz"), 0, NULL, &g) != 0)
        bail_out("no rotated files");
    ok(g.gl_pathc >= 2, "%zu rotated files on disk", g.gl_pathc);
    is_int(it_import(&opt, (const char *const *)g.gl_pathv, g.gl_pathc), 0,
           "the rotated files import together");
    if (it_last.rc != 0)
        diag("%s", it_last.err);
    is_int(it_last.rep.gaps, 0, "with no gap");
    is_int(it_last.n, whole_events, "into the same events as the single file");
    check_top("rotated");
    globfree(&g);
}

/* ---- lutra record, killed ---- */

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void killed_recording(void)
{
    const char *bin = getenv("LUTRA_BIN");
    const char *cfg = it_path("record.lua"), *out = it_path("killed.gz");
    char text[1024];
    int64_t end;
    pid_t pid;
    int status;

    if (!bin || !*bin) {
        skip(2, "LUTRA_BIN is not set");
        return;
    }
    snprintf(text, sizeof text,
             "return { mode = 'paper',\n"
             "  venues = { binance = { connector = 'binance', rest_url = '%s',\n"
             "    ws_url = '%s', symbols = { '%s' } } } }\n",
             rest, wsu, SYM);
    it_write("record.lua", text);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        bail_out("fork");
    if (pid == 0) {
        if (!getenv("BN_DEBUG"))
            freopen("/dev/null", "w", stderr);
        execl(bin, bin, "record", "--config", cfg, "-o", out, (char *)NULL);
        _exit(127);
    }
    /* Wait for a flush that holds the snapshot, then one more second of diffs. */
    end = mono_ms() + DEADLINE_MS;
    while (file_size(out) < 200 && mono_ms() < end && waitpid(pid, &status, WNOHANG) == 0) {
        level(1, "59990", mono_ms() % 2 ? "1" : "2");
        usleep(100000);
    }
    for (int i = 0; i < 10; i++) {
        level(1, "59991", i % 2 ? "1" : "2");
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && file_size(out) >= 200,
       "lutra record was killed after writing %lld bytes", (long long)file_size(out));
    {
        import_options opt;
        memset(&opt, 0, sizeof opt);
        opt.quiet = 1;
        opt.symbol = SYM;
        is_int(it_import(&opt, &out, 1), 0, "the killed recording imports up to its last flush");
        if (it_last.rc != 0)
            diag("%s", it_last.err);
        ok(it_last.rep.rows >= 2 && it_count(LUTRA_EV_BOOK_DELTA, 0) > 0,
           "%llu messages, book events among them", (unsigned long long)it_last.rep.rows);
    }
}

int main(void)
{
    plan(20);
    it_setup();
    log_set_level(getenv("BN_DEBUG") ? LOG_DEBUG : LOG_WARN);
    start_mock();
    start_connector();
    record_market();
    import_recordings();
    killed_recording();
    plugin_unload(ph);
    http_free(http);
    loop_free(lp);
    instrument_registry_free(reg);
    mock_binance_stop(mx);
    return done();
}
