/*
 * bench/json_delta.c -- one received Binance depth diff to normalized book
 * deltas: the real connector's decode (connectors/binance, loaded through
 * the plugin loader as `lutra import` loads it), on real messages.
 *
 *   json_delta [CAPTURE.gz ...] [--passes N]
 *
 * Default input: hftbacktest/spot/btcusdt_20240808.gz and _20240809.gz under
 * $LUTRA_SHARED_DATA (../shared/data); when they are absent it says so and
 * exits 0. The plugin is found as everywhere else ($LUTRA_PLUGIN_PATH, or
 * the plugins folder beside the binary: bench/run sets the former).
 *
 * Every line of the captures is loaded into memory first (each message in
 * its own padded buffer), then fed in order, file after file as `lutra
 * import` reads them, to a fresh connector instance per pass, so the book
 * synchronisation runs as it does live: the snapshot line synchronises the
 * book, diffs before it are buffered (the second default file has no
 * snapshot: it continues the first). Each depthUpdate that comes out as
 * deltas, and each bookTicker that comes out as a quote (printed apart,
 * its one quote counted as a level), is timed alone with
 * clock_gettime(CLOCK_MONOTONIC) around the decode call (a decode is long
 * enough for that: the clock pair's own cost is printed). What is timed:
 * JSON parse of the message, the sequence check, every price and quantity
 * parsed to fixed point, one lutra_book_delta emitted per level (to a
 * callback that only counts them). The book itself is not applied (see
 * bench/book.c). One untimed pass warms up; the figures are over the timed
 * passes: ns per message (mean, median, p99), ns per level, and the same
 * for the messages of 16 to 24 levels ("a 20-level diff").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "grow.h"
#include "instrument.h"
#include "json.h"
#include "log.h"
#include "lutra_event.h"
#include "plugin.h"

#define LINE_MAX_BYTES (1 << 20)
#define MAX_FILES 8
#define DEFAULT_PASSES 5
#define NEAR_20_MIN 16
#define NEAR_20_MAX 24

typedef struct message {
    int64_t recv_ns;
    char *json;      /* JSON_PADDING readable zero bytes after len */
    size_t len;
    int depth;       /* a depthUpdate: timed */
    int quote;       /* a bookTicker: timed apart */
} message;

typedef struct capture {
    const char *path;
    message *msgs;
    size_t n, cap;
} capture;

/* One timed decode. */
typedef struct sample {
    float ns;
    unsigned levels;
} sample;

typedef struct samples {
    sample *s;
    size_t n, cap;
} samples;

/* A pass's timings: the depth diffs (levels: their deltas) and the
 * bookTickers (levels: 1, the quote). */
typedef struct timings {
    samples depth, quote;
} timings;

/* What the emit callback counts during one decode: its book deltas and
 * quotes. */
typedef struct counter {
    unsigned deltas, quotes;
} counter;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- Input ---- */

static int capture_push(capture *c, int64_t recv_ns, const char *json, size_t len)
{
    message *grown = grow_capacity(c->msgs, &c->cap, c->n + 1, sizeof *grown, 65536), *m;

    if (!grown)
        return -1;
    c->msgs = grown;
    m = &c->msgs[c->n];
    if (!(m->json = calloc(1, len + JSON_PADDING)))
        return -1;
    memcpy(m->json, json, len);
    m->len = len;
    m->recv_ns = recv_ns;
    m->depth = strstr(m->json, "\"depthUpdate\"") != NULL;
    m->quote = strstr(m->json, "@bookTicker\"") != NULL;
    c->n++;
    return 0;
}

/* Every "<receive_ns> <json>" line of c->path. @return 0, or -1 (said why). */
static int capture_load(capture *c)
{
    gzFile gz = gzopen(c->path, "rb");
    char *line = malloc(LINE_MAX_BYTES);
    long lineno = 0;
    int rc = 0;

    if (!gz || !line) {
        fprintf(stderr, "json_delta: cannot read %s\n", c->path);
        free(line);
        if (gz)
            gzclose(gz);
        return -1;
    }
    while (rc == 0 && gzgets(gz, line, LINE_MAX_BYTES)) {
        char *end, *json;
        long long recv_ns = strtoll(line, &end, 10);
        lineno++;
        if (end == line || *end != ' ') {
            fprintf(stderr, "json_delta: %s:%ld: no receive time before the message\n",
                    c->path, lineno);
            rc = -1;
            break;
        }
        json = end + 1;
        rc = capture_push(c, (int64_t)recv_ns, json, strcspn(json, "\r\n"));
        if (rc)
            fprintf(stderr, "json_delta: %s: out of memory at line %ld\n", c->path, lineno);
    }
    gzclose(gz);
    free(line);
    return rc;
}

static void capture_free(capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->msgs[i].json);
    free(c->msgs);
}

/* ---- Decoding ---- */

static int count_event(void *ud, const lutra_event *ev)
{
    counter *k = ud;
    k->deltas += ev->h.type == LUTRA_EV_BOOK_DELTA;
    k->quotes += ev->h.type == LUTRA_EV_QUOTE;
    return 0;
}

static int samples_push(samples *s, float ns, unsigned levels)
{
    sample *grown = grow_capacity(s->s, &s->cap, s->n + 1, sizeof *grown, 65536);

    if (!grown)
        return -1;
    s->s = grown;
    s->s[s->n++] = (sample){ns, levels};
    return 0;
}

/* Feed every message of c to pi; time the depth diffs that came out as
 * deltas, and the bookTickers that came out as a quote, into out (NULL:
 * untimed). @return 0, or -1 (said why). */
static int decode_capture(plugin_instance *pi, counter *k, const capture *c, timings *out)
{
    int rc = 0;

    for (size_t i = 0; i < c->n && rc == 0; i++) {
        const message *m = &c->msgs[i];
        k->deltas = k->quotes = 0;
        int64_t t0 = now_ns();
        int dec = plugin_instance_decode(pi, m->recv_ns, m->json, m->len);
        int64_t dt = now_ns() - t0;
        if (dec < 0) {
            fprintf(stderr, "json_delta: %s: message %zu refused (logged above)\n", c->path,
                    i + 1);
            rc = -1;
        } else if (out && ((m->depth && k->deltas > 0 &&
                            samples_push(&out->depth, (float)dt, k->deltas)) ||
                           (m->quote && k->quotes == 1 &&
                            samples_push(&out->quote, (float)dt, 1)))) {
            fprintf(stderr, "json_delta: out of memory for samples\n");
            rc = -1;
        }
    }
    return rc;
}

/*
 * One pass: the captures in order through one fresh instance, as `lutra
 * import` reads them (a capture continued in the next file keeps the first
 * one's book synchronisation). @return 0, or -1 (said why).
 */
static int decode_pass(plugin_handle *ph, const capture *caps, int ncaps, timings *out)
{
    instrument_registry *reg = instrument_registry_new();
    const char *conf[] = {NULL};
    counter k = {0};
    char err[1024];
    plugin_instance *pi = reg ? plugin_instance_create(ph, reg, conf, count_event, &k, err,
                                                        sizeof err)
                              : NULL;
    int rc = 0;

    if (!pi) {
        fprintf(stderr, "json_delta: %s\n", reg ? err : "out of memory");
        instrument_registry_free(reg);
        return -1;
    }
    for (int i = 0; i < ncaps && rc == 0; i++)
        rc = decode_capture(pi, &k, &caps[i], out);
    plugin_instance_destroy(pi);
    instrument_registry_free(reg);
    return rc;
}

/* ---- Figures ---- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n). */
static float quantile(const float *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* Print mean, median and p99 per message and per level of the samples
 * whose level count is within [lo, hi]. */
static int report(const samples *s, unsigned lo, unsigned hi, const char *name)
{
    float *msg = malloc(s->n * sizeof *msg), *lvl = malloc(s->n * sizeof *lvl);
    double total_ns = 0, total_levels = 0;
    size_t n = 0;

    if (!msg || !lvl) {
        free(msg);
        free(lvl);
        fprintf(stderr, "json_delta: out of memory for figures\n");
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->s[i].levels < lo || s->s[i].levels > hi)
            continue;
        msg[n] = s->s[i].ns;
        lvl[n] = s->s[i].ns / (float)s->s[i].levels;
        total_ns += s->s[i].ns;
        total_levels += s->s[i].levels;
        n++;
    }
    if (n) {
        qsort(msg, n, sizeof *msg, cmp_float);
        qsort(lvl, n, sizeof *lvl, cmp_float);
        printf("%-16s %7zu msgs, %5.1f levels/msg | ns/msg mean %6.0f median %6.0f p99 %6.0f "
               "| ns/level mean %5.1f median %5.1f p99 %5.1f\n",
               name, n, total_levels / (double)n, total_ns / (double)n,
               quantile(msg, n, 0.5), quantile(msg, n, 0.99), total_ns / total_levels,
               quantile(lvl, n, 0.5), quantile(lvl, n, 0.99));
    } else {
        printf("%-16s no message\n", name);
    }
    free(msg);
    free(lvl);
    return 0;
}

/* The median cost of an empty clock_gettime pair, to read the figures by. */
static double clock_pair_ns(void)
{
    enum { N = 10001 };
    static float d[N];
    for (int i = 0; i < N; i++) {
        int64_t t0 = now_ns();
        d[i] = (float)(now_ns() - t0);
    }
    qsort(d, N, sizeof d[0], cmp_float);
    return d[N / 2];
}

/* ---- Main ---- */

static int default_inputs(const char **paths, char bufs[][4096])
{
    const char *dir = getenv("LUTRA_SHARED_DATA");
    static const char *const names[] = {"hftbacktest/spot/btcusdt_20240808.gz",
                                        "hftbacktest/spot/btcusdt_20240809.gz"};
    int n = 0;

    if (!dir || !*dir)
        dir = "../shared/data";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(bufs[i], 4096, "%s/%s", dir, names[i]);
        FILE *f = fopen(bufs[i], "rb");
        if (!f)
            continue;
        fclose(f);
        paths[n++] = bufs[i];
    }
    if (n == 0)
        printf("json_delta: shared data not found (%s/%s): skipped\n", dir, names[0]);
    return n;
}

static int parse_args(int argc, char **argv, const char **paths, int *npaths, int *passes)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
            *passes = atoi(argv[++i]);
            if (*passes < 1) {
                fprintf(stderr, "json_delta: --passes %s: want a count >= 1\n", argv[i]);
                return -1;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: json_delta [CAPTURE.gz ...] [--passes N]\n");
            return -1;
        } else if (*npaths == MAX_FILES) {
            fprintf(stderr, "json_delta: at most %d captures\n", MAX_FILES);
            return -1;
        } else {
            paths[(*npaths)++] = argv[i];
        }
    }
    return 0;
}

static int run(plugin_handle *ph, capture *caps, int ncaps, int passes)
{
    timings t = {{NULL, 0, 0}, {NULL, 0, 0}};
    size_t depth = 0, quotes = 0;
    int rc = 0;

    for (int i = 0; i < ncaps; i++)
        for (size_t j = 0; j < caps[i].n; j++) {
            depth += (size_t)caps[i].msgs[j].depth;
            quotes += (size_t)caps[i].msgs[j].quote;
        }
    rc = decode_pass(ph, caps, ncaps, NULL); /* warm-up */
    for (int p = 0; p < passes && rc == 0; p++)
        rc = decode_pass(ph, caps, ncaps, &t);
    if (rc == 0) {
        printf("input            %zu depth diffs, %zu bookTickers in %d capture(s), %d timed "
               "passes; clock pair %.0f ns (included in every figure)\n",
               depth, quotes, ncaps, passes, clock_pair_ns());
        rc = report(&t.depth, 1, ~0u, "all diffs");
        rc |= report(&t.depth, NEAR_20_MIN, NEAR_20_MAX, "16-24 levels");
        rc |= report(&t.quote, 1, 1, "bookTicker");
    }
    free(t.depth.s);
    free(t.quote.s);
    return rc;
}

int main(int argc, char **argv)
{
    const char *paths[MAX_FILES];
    static char bufs[2][4096];
    capture caps[MAX_FILES];
    int npaths = 0, passes = DEFAULT_PASSES, rc = 0;
    char path[4096], err[1024];
    plugin_handle *ph;

    if (parse_args(argc, argv, paths, &npaths, &passes) < 0)
        return 2;
    if (npaths == 0 && (npaths = default_inputs(paths, bufs)) == 0)
        return 0;
    log_set_level(LOG_WARN);
    if (plugin_find("binance", NULL, 0, path, sizeof path, err, sizeof err) < 0 ||
        !(ph = plugin_load(path, err, sizeof err))) {
        fprintf(stderr, "json_delta: %s\n", err);
        return 1;
    }
    memset(caps, 0, sizeof caps);
    for (int i = 0; i < npaths && rc == 0; i++) {
        caps[i].path = paths[i];
        rc = capture_load(&caps[i]);
    }
    if (rc == 0)
        rc = run(ph, caps, npaths, passes);
    for (int i = 0; i < npaths; i++)
        capture_free(&caps[i]);
    plugin_unload(ph);
    return rc == 0 ? 0 : 1;
}
