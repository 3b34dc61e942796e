/*
 * mock_feed.c -- the mock's market: a capture replayed or a generated one
 * (see mock_feed.h).
 */
#include "mock_feed.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixed.h"
#include "json.h"
#include "lineread.h"
#include "rng.h"

#define GEN_LEVELS 20
#define GEN_STEP_NS INT64_C(20000000)
#define ROWS 256
#define PAUSED_POLL_NS INT64_C(10000000)

struct mfeed {
    mexch *x;
    int sym;
    double speed;
    uint64_t applied;
    int64_t start_ns;    /* our clock when the feed began; -1 before */
    int64_t paused_at;   /* our clock when it was paused; -1 when running */
    /* capture */
    lineread *lr;
    json_parser *jp;
    char *line;          /* the line read ahead, JSON_PADDING spare bytes */
    size_t len, cap;
    int64_t line_ns, first_ns;
    int have_line, synced;
    /* generator */
    rng r;
    int64_t mid;
    uint64_t steps;
};

/* ---- Capture ---- */

static int read_line(mfeed *f, char *err, size_t errlen)
{
    const char *s;
    size_t n;
    int rc = lineread_next(f->lr, &s, &n, err, errlen);
    char *space, *end;

    f->have_line = 0;
    if (rc <= 0)
        return rc;
    if (n + JSON_PADDING > f->cap) {
        char *p = realloc(f->line, n + JSON_PADDING);
        if (!p) {
            snprintf(err, errlen, "line %llu: out of memory",
                     (unsigned long long)lineread_lineno(f->lr));
            return -1;
        }
        f->line = p;
        f->cap = n + JSON_PADDING;
    }
    memcpy(f->line, s, n);
    memset(f->line + n, 0, JSON_PADDING);
    f->len = n;
    space = memchr(f->line, ' ', n);
    f->line_ns = strtoll(f->line, &end, 10);
    if (!space || end != space) {
        snprintf(err, errlen, "line %llu: not \"<ns> <json>\"",
                 (unsigned long long)lineread_lineno(f->lr));
        return -1;
    }
    f->have_line = 1;
    return 1;
}

static int parse_dec(json_value *v, int64_t *out)
{
    const char *s;
    size_t n;
    return json_number_text(v, &s, &n) == 0 &&
                   fixed_parse(s, n, MEXCH_SCALE, out) == FIXED_OK ? 0 : -1;
}

/* Set every [price, qty] row of a side. */
static int apply_side(mfeed *f, json_value *obj, const char *key, int is_bid)
{
    json_value arr;
    json_iter it;
    json_text rows[ROWS * 2];
    size_t n;
    int rc;

    if (json_field(obj, key, &arr) != 0 || json_array_begin(&arr, &it) != 0)
        return -1;
    do {
        rc = json_string_rows(&it, rows, 2, ROWS, &n);
        if (rc < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            int64_t p, q;
            if (fixed_parse(rows[2 * i].s, rows[2 * i].len, MEXCH_SCALE, &p) != FIXED_OK ||
                fixed_parse(rows[2 * i + 1].s, rows[2 * i + 1].len, MEXCH_SCALE, &q) != FIXED_OK ||
                mexch_market_level(f->x, f->sym, is_bid, p, q) != 0)
                return -1;
        }
    } while (rc == 1);
    return 0;
}

static int apply_snapshot(mfeed *f, json_value *root, char *err, size_t errlen)
{
    json_value v;
    uint64_t id;

    if (f->synced)
        return 0;
    if (json_field(root, "lastUpdateId", &v) != 0 || json_uint64(&v, &id) != 0 ||
        mexch_market_reset(f->x, f->sym, id, err, errlen) != 0 ||
        apply_side(f, root, "bids", 1) != 0 || apply_side(f, root, "asks", 0) != 0)
        return -1;
    f->synced = 1;
    return 0;
}

static int same_symbol(mfeed *f, json_value *data)
{
    json_value v;
    const char *s;
    size_t n;
    mexch_symbol_info info;

    mexch_symbol_get(f->x, f->sym, &info);
    return json_field(data, "s", &v) == 0 && json_string(&v, &s, &n) == 0 &&
           n == strlen(info.symbol) && memcmp(s, info.symbol, n) == 0;
}

static int apply_trade(mfeed *f, json_value *data)
{
    json_value vp, vq, vm;
    int64_t p, q;
    int m;

    if (json_field(data, "p", &vp) != 0 || parse_dec(&vp, &p) != 0 ||
        json_field(data, "q", &vq) != 0 || parse_dec(&vq, &q) != 0 ||
        json_field(data, "m", &vm) != 0 || json_bool(&vm, &m) != 0)
        return -1;
    mexch_market_trade(f->x, f->sym, p, q, m);
    return 0;
}

static int apply_stream(mfeed *f, json_value *root)
{
    json_value sv, data;
    const char *stream;
    size_t n;

    if (json_field(root, "stream", &sv) != 0 || json_string(&sv, &stream, &n) != 0)
        return -1;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(n < 127 ? n : 127), stream);
    if (json_field(root, "data", &data) != 0)
        return -1;
    if (strstr(name, "@depth") && f->synced)
        return same_symbol(f, &data) ? (apply_side(f, &data, "b", 1) == 0 &&
                                        apply_side(f, &data, "a", 0) == 0 ? 0 : -1) : 0;
    if (strstr(name, "@trade") && f->synced)
        return same_symbol(f, &data) ? apply_trade(f, &data) : 0;
    return 0;
}

static int apply_line(mfeed *f, char *err, size_t errlen)
{
    char *json = memchr(f->line, ' ', f->len) + 1;
    size_t n = f->len - (size_t)(json - f->line);
    json_value root, probe;
    int rc;

    if (json_parse(f->jp, json, n, &root) != 0)
        goto bad;
    rc = json_field_opt(&root, "lastUpdateId", &probe);
    if (rc < 0)
        goto bad;
    /* json_field_opt moved the cursor: start the document again */
    if (json_parse(f->jp, json, n, &root) != 0)
        goto bad;
    rc = rc == 1 ? apply_snapshot(f, &root, err, errlen) : apply_stream(f, &root);
    if (rc != 0)
        goto bad;
    f->applied++;
    return 0;
bad:
    snprintf(err, errlen, "line %llu: %s", (unsigned long long)lineread_lineno(f->lr),
             json_last_error());
    return -1;
}

mfeed *mfeed_open_capture(mexch *x, int sym, const char *path, double speed, char *err,
                          size_t errlen)
{
    mfeed *f = calloc(1, sizeof *f);

    if (!f) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    f->x = x;
    f->sym = sym;
    f->speed = speed > 0 ? speed : 1;
    f->start_ns = -1;
    f->paused_at = -1;
    f->lr = lineread_open(path, err, errlen);
    f->jp = json_parser_new();
    if (!f->lr || !f->jp || read_line(f, err, errlen) < 0) {
        if (f->lr && !f->jp)
            snprintf(err, errlen, "%s: out of memory", path);
        mfeed_free(f);
        return NULL;
    }
    f->first_ns = f->line_ns;
    return f;
}

static int64_t capture_step(mfeed *f, int64_t now_ns, char *err, size_t errlen)
{
    while (f->have_line) {
        int64_t due = f->start_ns + (int64_t)((double)(f->line_ns - f->first_ns) / f->speed);
        if (due > now_ns)
            return due - now_ns;
        if (apply_line(f, err, errlen) != 0 || read_line(f, err, errlen) < 0)
            return -2;
    }
    return -1;
}

int mfeed_capture_symbol(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    mfeed f;
    int rc;

    memset(&f, 0, sizeof f);
    f.lr = lineread_open(path, err, errlen);
    f.jp = json_parser_new();
    rc = f.lr && f.jp ? 0 : -1;
    while (rc == 0 && (rc = read_line(&f, err, errlen)) == 1) {
        char *json = memchr(f.line, ' ', f.len) + 1;
        json_value root, data, sv;
        const char *s;
        size_t n;
        if (json_parse(f.jp, json, f.len - (size_t)(json - f.line), &root) == 0 &&
            json_field(&root, "data", &data) == 0 && json_field(&data, "s", &sv) == 0 &&
            json_string(&sv, &s, &n) == 0 && n < cap) {
            for (size_t i = 0; i < n; i++)
                out[i] = (char)toupper((unsigned char)s[i]);
            out[n] = 0;
            break;
        }
        rc = 0;
    }
    if (rc == 0)
        snprintf(err, errlen, "%s: no stream message names a symbol", path);
    lineread_close(f.lr);
    json_parser_free(f.jp);
    free(f.line);
    return rc == 1 ? 0 : -1;
}

/* ---- Generator ---- */

static int64_t gen_qty(mfeed *f, const mexch_symbol_info *info)
{
    return info->step * 1000 * rng_range(&f->r, 1, 50);
}

mfeed *mfeed_new_generator(mexch *x, int sym, int64_t mid, uint64_t seed, double speed,
                           char *err, size_t errlen)
{
    mfeed *f = calloc(1, sizeof *f);
    mexch_symbol_info info;

    if (!f) {
        snprintf(err, errlen, "generator: out of memory");
        return NULL;
    }
    mexch_symbol_get(x, sym, &info);
    f->x = x;
    f->sym = sym;
    f->speed = speed > 0 ? speed : 1;
    f->start_ns = -1;
    f->paused_at = -1;
    f->mid = mid - mid % info.tick;
    rng_seed(&f->r, seed, (uint64_t)sym);
    if (f->mid <= GEN_LEVELS * info.tick) {
        snprintf(err, errlen, "generator: mid price too low for %d levels", GEN_LEVELS);
        free(f);
        return NULL;
    }
    for (int i = 1; i <= GEN_LEVELS; i++) {
        if (mexch_market_level(x, sym, 1, f->mid - i * info.tick, gen_qty(f, &info)) != 0 ||
            mexch_market_level(x, sym, 0, f->mid + i * info.tick, gen_qty(f, &info)) != 0) {
            snprintf(err, errlen, "generator: out of memory");
            free(f);
            return NULL;
        }
    }
    return f;
}

/* One random change: a level's size, or now and then a trade at the touch. */
static void gen_event(mfeed *f)
{
    mexch_symbol_info info;
    int is_bid = (int)rng_range(&f->r, 0, 1);
    int64_t i = rng_range(&f->r, 1, GEN_LEVELS);

    mexch_symbol_get(f->x, f->sym, &info);
    if (rng_chance(&f->r, 0.1)) {
        int64_t p = is_bid ? f->mid - info.tick : f->mid + info.tick;
        mexch_market_trade(f->x, f->sym, p, info.step * 100, is_bid);
        return;
    }
    int64_t price = is_bid ? f->mid - i * info.tick : f->mid + i * info.tick;
    int64_t qty = i > 1 && rng_chance(&f->r, 0.2) ? 0 : gen_qty(f, &info);
    mexch_market_level(f->x, f->sym, is_bid, price, qty);
    f->applied++;
}

static int64_t gen_step(mfeed *f, int64_t now_ns)
{
    int64_t every = (int64_t)((double)GEN_STEP_NS / f->speed);
    if (every < 1)
        every = 1;
    while (f->start_ns + (int64_t)(f->steps + 1) * every <= now_ns) {
        gen_event(f);
        f->steps++;
    }
    return f->start_ns + (int64_t)(f->steps + 1) * every - now_ns;
}

/* ---- Both ---- */

int64_t mfeed_step(mfeed *f, int64_t now_ns, char *err, size_t errlen)
{
    if (f->paused_at >= 0)
        return PAUSED_POLL_NS;
    if (f->start_ns < 0)
        f->start_ns = now_ns;
    return f->lr ? capture_step(f, now_ns, err, errlen) : gen_step(f, now_ns);
}

void mfeed_pause(mfeed *f, int paused, int64_t now_ns)
{
    if (paused && f->paused_at < 0) {
        f->paused_at = now_ns;
    } else if (!paused && f->paused_at >= 0) {
        /* Both schedules count from start_ns: moving it skips the pause. */
        if (f->start_ns >= 0)
            f->start_ns += now_ns - f->paused_at;
        f->paused_at = -1;
    }
}

int mfeed_paused(const mfeed *f)
{
    return f->paused_at >= 0;
}

uint64_t mfeed_applied(const mfeed *f)
{
    return f->applied;
}

void mfeed_free(mfeed *f)
{
    if (!f)
        return;
    lineread_close(f->lr);
    json_parser_free(f->jp);
    free(f->line);
    free(f);
}
