/*
 * sample_gen.c -- the sample data generator (data/sample/gen_sample.c): the
 * same seed gives the same bytes, another seed other bytes, and what it
 * writes holds together when read back independently: receive times, depth
 * diff continuity and the snapshot's place in it, tick and lot of every
 * price and size, quotes that do not cross, and daily bars a day apart with
 * consistent OHLC.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "fixed.h"
#include "json.h"
#include "tap.h"
#include "timestamp.h"

extern char **environ;

#define CAPTURE "btcusdt-sample.capture.gz"
#define DAILY "sample-daily.csv"
#define HOURS "0.25" /* a quarter of an hour keeps the test quick */
#define DEFAULT_DAYS 1461
#define LINE_CAP (4u << 20)
#define TICK_SCALE 2 /* 0.01 */
#define LOT_SCALE 5  /* 0.00001 */
#define SNAPSHOT_LEVELS 1000
#define MAX_EARLY_DIFFS 4096

static char gen_path[4096];

/* ---- Running the generator ---- */

/* Run gen_sample with args; its stderr goes to /dev/null when quiet.
 * @return its exit status, or -1 if it could not run or was killed. */
static int run_gen(const char *const *args, int quiet)
{
    char *argv[16];
    int n = 0, status;
    pid_t pid;
    posix_spawn_file_actions_t fa;

    argv[n++] = gen_path;
    for (; *args && n < 15; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    if (quiet)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid, gen_path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int gen_into(const char *dir, const char *seed)
{
    const char *args[] = {"--out", dir, "--seed", seed, "--hours", HOURS, NULL};
    return run_gen(args, 0);
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/lutra-sample-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

/* The generator writes flat folders; remove what is in one, then it. */
static void remove_dir(char *dir)
{
    DIR *d;
    struct dirent *e;
    char path[4400];
    if (!dir)
        return;
    if ((d = opendir(dir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static const char *in_dir(const char *dir, const char *name)
{
    static char path[4][4400];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

/* @return 1 when both files exist and hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    char ba[65536], bb[65536];
    while (same) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        same = na == nb && memcmp(ba, bb, na) == 0;
        if (na == 0)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* ---- Reading the capture back ---- */

struct diff_ids {
    int64_t first, last; /* U, u */
};

struct capture_check {
    json_parser *jp;
    long lines, bad_time, bad_json;
    int64_t last_recv;
    int snapshots, snapshot_ok;
    int64_t snapshot_id; /* lastUpdateId */
    long diffs, diff_gaps, diffs_dropped;
    int64_t prev_u;
    int straddle; /* -1 not seen yet, 0 wrong, 1 U <= L+1 <= u */
    struct diff_ids early[MAX_EARLY_DIFFS]; /* diffs received before the snapshot */
    int nearly;
    long trades, bad_trades, tickers, bad_tickers, bad_levels;
    int64_t prev_trade_id;
    char first_problem[512];
};

static void problem(struct capture_check *c, long *counter, const char *what)
{
    (*counter)++;
    if (!c->first_problem[0])
        snprintf(c->first_problem, sizeof c->first_problem, "line %ld: %s", c->lines, what);
}

static int string_field(json_value *obj, const char *key, const char **s, size_t *len)
{
    json_value v;
    return json_field(obj, key, &v) == 0 ? json_string(&v, s, len) : -1;
}

static int int_field(json_value *obj, const char *key, int64_t *out)
{
    json_value v;
    return json_field(obj, key, &v) == 0 ? json_int64(&v, out) : -1;
}

/* A decimal string field on the scale's grid (fixed_parse refuses a finer digit). */
static int grid_field(json_value *obj, const char *key, int scale, int64_t *out)
{
    const char *s;
    size_t len;
    if (string_field(obj, key, &s, &len) < 0)
        return -1;
    return fixed_parse(s, len, scale, out) == FIXED_OK ? 0 : -1;
}

/*
 * A [["price","qty"],..] list: prices on the tick, sizes on the lot, best
 * first (strictly descending bids, ascending asks). Zero sizes (removals)
 * only where allowed. @return the count of levels, -1 if any is wrong;
 * *best is the first price.
 */
static long read_levels(json_value *list, int bids, int zero_ok, int64_t *best)
{
    json_iter it, pair_it;
    json_value pair, v;
    int64_t prev = 0, px, qty;
    long n = 0;
    int rc;
    const char *s;
    size_t len;

    if (json_array_begin(list, &it) < 0)
        return -1;
    while ((rc = json_array_next(&it, &pair)) == 1) {
        if (json_array_begin(&pair, &pair_it) < 0 || json_array_next(&pair_it, &v) != 1 ||
            json_string(&v, &s, &len) < 0 || fixed_parse(s, len, TICK_SCALE, &px) != FIXED_OK ||
            json_array_next(&pair_it, &v) != 1 || json_string(&v, &s, &len) < 0 ||
            fixed_parse(s, len, LOT_SCALE, &qty) != FIXED_OK || json_array_next(&pair_it, &v) != 0)
            return -1;
        if (px <= 0 || qty < 0 || (qty == 0 && !zero_ok))
            return -1;
        if (n > 0 && (bids ? px >= prev : px <= prev))
            return -1;
        if (n++ == 0)
            *best = px;
        prev = px;
    }
    return rc == 0 ? n : -1;
}

static void check_snapshot(struct capture_check *c, json_value *root)
{
    json_value bids, asks;
    int64_t best_bid = 0, best_ask = 0;
    long nb = 0, na = 0;
    c->snapshots++;
    if (int_field(root, "lastUpdateId", &c->snapshot_id) < 0 ||
        json_field(root, "bids", &bids) < 0 || (nb = read_levels(&bids, 1, 0, &best_bid)) < 0 ||
        json_field(root, "asks", &asks) < 0 || (na = read_levels(&asks, 0, 0, &best_ask)) < 0) {
        problem(c, &c->bad_levels, "snapshot levels unreadable, off the grid or unsorted");
        return;
    }
    c->snapshot_ok = nb == SNAPSHOT_LEVELS && na == SNAPSHOT_LEVELS && best_bid < best_ask;
    /* A recorder drops the buffered diffs the snapshot already holds; the
     * first one it keeps must straddle lastUpdateId. */
    for (int i = 0; i < c->nearly; i++) {
        if (c->early[i].last <= c->snapshot_id) {
            c->diffs_dropped++;
            continue;
        }
        c->straddle = c->early[i].first <= c->snapshot_id + 1;
        break;
    }
}

static void note_diff_ids(struct capture_check *c, int64_t first, int64_t last)
{
    if (c->diffs > 0 && first != c->prev_u + 1)
        problem(c, &c->diff_gaps, "depth diff U is not the previous u + 1");
    if (last < first)
        problem(c, &c->diff_gaps, "depth diff u < U");
    c->prev_u = last;
    c->diffs++;
    if (c->snapshots == 0 && c->nearly < MAX_EARLY_DIFFS)
        c->early[c->nearly++] = (struct diff_ids){first, last};
    else if (c->snapshots > 0 && c->straddle < 0 && last > c->snapshot_id)
        c->straddle = first <= c->snapshot_id + 1 && c->snapshot_id + 1 <= last;
}

static void check_diff(struct capture_check *c, json_value *data)
{
    json_value b, a;
    int64_t first, last, best;
    if (int_field(data, "U", &first) < 0 || int_field(data, "u", &last) < 0) {
        problem(c, &c->bad_json, "depth diff without U/u");
        return;
    }
    note_diff_ids(c, first, last);
    if (json_field(data, "b", &b) < 0 || read_levels(&b, 1, 1, &best) < 0 ||
        json_field(data, "a", &a) < 0 || read_levels(&a, 0, 1, &best) < 0)
        problem(c, &c->bad_levels, "depth diff levels unreadable, off the grid or unsorted");
}

static void check_trade(struct capture_check *c, json_value *data)
{
    int64_t id, px, qty;
    c->trades++;
    if (int_field(data, "t", &id) < 0 || grid_field(data, "p", TICK_SCALE, &px) < 0 ||
        grid_field(data, "q", LOT_SCALE, &qty) < 0 || px <= 0 || qty <= 0 ||
        (c->prev_trade_id && id <= c->prev_trade_id)) {
        problem(c, &c->bad_trades, "trade id not increasing, or price/size off the tick/lot");
        return;
    }
    c->prev_trade_id = id;
}

static void check_ticker(struct capture_check *c, json_value *data)
{
    int64_t bid, bid_qty, ask, ask_qty;
    c->tickers++;
    if (grid_field(data, "b", TICK_SCALE, &bid) < 0 ||
        grid_field(data, "B", LOT_SCALE, &bid_qty) < 0 ||
        grid_field(data, "a", TICK_SCALE, &ask) < 0 ||
        grid_field(data, "A", LOT_SCALE, &ask_qty) < 0 ||
        bid >= ask || bid_qty <= 0 || ask_qty <= 0)
        problem(c, &c->bad_tickers, "bookTicker crossed, empty or off the tick/lot");
}

static void check_message(struct capture_check *c, json_value *root)
{
    json_value data;
    const char *stream;
    size_t len;
    if (string_field(root, "stream", &stream, &len) < 0 || json_field(root, "data", &data) < 0) {
        problem(c, &c->bad_json, "neither a snapshot nor a stream message");
        return;
    }
    if (len == 19 && memcmp(stream, "btcusdt@depth@100ms", len) == 0)
        check_diff(c, &data);
    else if (len == 13 && memcmp(stream, "btcusdt@trade", len) == 0)
        check_trade(c, &data);
    else if (len == 18 && memcmp(stream, "btcusdt@bookTicker", len) == 0)
        check_ticker(c, &data);
    else
        problem(c, &c->bad_json, "unknown stream");
}

/* "<19-digit receive ns> <json>": @return the offset of the JSON, or -1. */
static int check_time(struct capture_check *c, const char *line)
{
    int64_t ns;
    if (strspn(line, "0123456789") != 19 || line[19] != ' ' ||
        fixed_parse(line, 19, 0, &ns) != FIXED_OK || ns < c->last_recv) {
        problem(c, &c->bad_time, "receive time not 19 digits or going back");
        return -1;
    }
    c->last_recv = ns;
    return 20;
}

static void check_line(struct capture_check *c, char *line, size_t len)
{
    json_value root;
    int off;
    c->lines++;
    if ((off = check_time(c, line)) < 0)
        return;
    if (json_parse(c->jp, line + off, len - (size_t)off, &root) < 0) {
        problem(c, &c->bad_json, json_last_error());
        return;
    }
    if (strncmp(line + off, "{\"lastUpdateId\":", 16) == 0)
        check_snapshot(c, &root);
    else
        check_message(c, &root);
}

/* @return 0 when the whole file was read, -1 (with the reason in c) if not. */
static int read_capture(const char *path, struct capture_check *c)
{
    gzFile gz = gzopen(path, "rb");
    char *buf = malloc(LINE_CAP + JSON_PADDING);
    int rc = 0;
    c->straddle = -1;
    c->jp = json_parser_new();
    if (!gz || !buf || !c->jp) {
        snprintf(c->first_problem, sizeof c->first_problem, "%s: cannot open", path);
        rc = -1;
    }
    while (rc == 0 && gzgets(gz, buf, LINE_CAP)) {
        size_t len = strlen(buf);
        if (len == 0 || buf[len - 1] != '\n') {
            snprintf(c->first_problem, sizeof c->first_problem, "line %ld: cut or too long",
                     c->lines + 1);
            rc = -1;
            break;
        }
        buf[--len] = '\0';
        check_line(c, buf, len);
    }
    if (gz)
        gzclose(gz);
    json_parser_free(c->jp);
    free(buf);
    return rc;
}

static void test_capture(const char *dir)
{
    static struct capture_check c;
    int read_ok = read_capture(in_dir(dir, CAPTURE), &c) == 0;
    ok(read_ok && c.lines > 1000, "capture read whole: %ld lines", c.lines);
    if (c.first_problem[0])
        diag("first problem: %s", c.first_problem);
    is_int(c.bad_time, 0, "every line starts with a 19-digit receive time, never going back");
    is_int(c.bad_json, 0, "every line is a snapshot or a known stream's message");
    is_int(c.snapshots, 1, "one REST snapshot");
    ok(c.snapshot_ok, "snapshot: %d levels a side, best bid below best ask", SNAPSHOT_LEVELS);
    ok(c.diffs > 100 && c.diff_gaps == 0, "%ld depth diffs, each U = previous u + 1", c.diffs);
    ok(c.diffs_dropped > 0 && c.straddle == 1,
       "%ld early diffs within the snapshot, then the first kept has U <= lastUpdateId+1 <= u",
       c.diffs_dropped);
    is_int(c.bad_levels, 0, "depth levels on the 0.01 tick and 0.00001 lot, best first");
    ok(c.trades > 100 && c.bad_trades == 0, "%ld trades on the tick and lot, ids increasing",
       c.trades);
    ok(c.tickers > 100 && c.bad_tickers == 0, "%ld bookTickers on the tick and lot, bid < ask",
       c.tickers);
}

/* ---- The daily bars ---- */

struct daily_check {
    long rows, bad_dates, bad_bars;
    int header_ok;
    int64_t first_day;
};

static int parse_bar(char *line, int64_t *day_ns, int64_t v[5])
{
    char *fields[6], *save = NULL;
    int n = 0;
    for (char *f = strtok_r(line, ",\n", &save); f && n < 6; f = strtok_r(NULL, ",\n", &save))
        fields[n++] = f;
    if (n != 6 || ts_parse_iso(fields[0], strlen(fields[0]), day_ns) < 0)
        return -1;
    for (int i = 0; i < 5; i++)
        if (fixed_parse(fields[i + 1], strlen(fields[i + 1]), i < 4 ? 2 : 0, &v[i]) != FIXED_OK)
            return -1;
    return 0;
}

static void check_bar(struct daily_check *d, char *line, int64_t *prev_day)
{
    int64_t day, v[5]; /* open, high, low, close, volume */
    if (parse_bar(line, &day, v) < 0) {
        d->bad_bars++;
        return;
    }
    if (d->rows == 0)
        d->first_day = day;
    else if (day != *prev_day + TS_NS_PER_DAY)
        d->bad_dates++;
    *prev_day = day;
    d->rows++;
    int64_t lo = v[0] < v[3] ? v[0] : v[3], hi = v[0] > v[3] ? v[0] : v[3];
    if (v[2] <= 0 || v[2] > lo || hi > v[1] || v[4] <= 0)
        d->bad_bars++;
}

static void test_daily(const char *dir)
{
    struct daily_check d = {0};
    char line[256];
    int64_t prev_day = 0, want_first = ts_days_from_civil(2020, 1, 1) * TS_NS_PER_DAY;
    FILE *f = fopen(in_dir(dir, DAILY), "r");
    if (f && fgets(line, sizeof line, f))
        d.header_ok = strcmp(line, "Date,Open,High,Low,Close,Volume\n") == 0;
    while (f && fgets(line, sizeof line, f))
        check_bar(&d, line, &prev_day);
    if (f)
        fclose(f);
    ok(d.header_ok, "daily CSV header Date,Open,High,Low,Close,Volume");
    is_int(d.rows, DEFAULT_DAYS, "four years of daily rows");
    ok(d.rows > 0 && d.first_day == want_first && d.bad_dates == 0,
       "dates from 2020-01-01, one day apart");
    is_int(d.bad_bars, 0, "bars parse, low <= open, close <= high, volume > 0");
}

/* ---- The command line ---- */

static void test_command_line(void)
{
    const char *bad_hours[] = {"--hours", "two", NULL};
    const char *unknown[] = {"--frobnicate", "1", NULL};
    const char *help[] = {"--help", NULL};
    is_int(run_gen(bad_hours, 1), 2, "--hours two is refused (exit 2)");
    is_int(run_gen(unknown, 1), 2, "an unknown option is refused (exit 2)");
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    fflush(stdout);
    dup2(null, 1); /* --help prints its usage on stdout, which is our TAP stream */
    int rc = run_gen(help, 0);
    dup2(saved, 1);
    close(saved);
    close(null);
    is_int(rc, 0, "--help exits 0");
}

int main(void)
{
    const char *build = getenv("LUTRA_BUILD");
    if (!build || !*build)
        skip_all("LUTRA_BUILD is not set (the build folder holding gen_sample)");
    snprintf(gen_path, sizeof gen_path, "%s/gen_sample", build);
    if (access(gen_path, X_OK) != 0)
        bail_out("%s: %s", gen_path, strerror(errno));

    plan(23);
    char *a = make_dir(), *b = make_dir(), *other = make_dir();
    if (!a || !b || !other)
        bail_out("mkdtemp: %s", strerror(errno));

    is_int(gen_into(a, "7"), 0, "gen_sample --seed 7 into one folder");
    is_int(gen_into(b, "7"), 0, "and again into another");
    is_int(gen_into(other, "8"), 0, "gen_sample --seed 8");
    ok(same_bytes(in_dir(a, CAPTURE), in_dir(b, CAPTURE)), "same seed, same capture bytes");
    ok(same_bytes(in_dir(a, DAILY), in_dir(b, DAILY)), "same seed, same daily CSV bytes");
    ok(!same_bytes(in_dir(a, CAPTURE), in_dir(other, CAPTURE)) &&
           !same_bytes(in_dir(a, DAILY), in_dir(other, DAILY)),
       "another seed, other bytes");

    test_capture(a);
    test_daily(a);
    test_command_line();

    remove_dir(a);
    remove_dir(b);
    remove_dir(other);
    return done();
}
