/*
 * bench/json.c -- how fast the JSON facade (core/json.h) reads real Binance
 * depth messages.
 *
 *   json CAPTURE.gz     a raw capture ("<receive_ns> <json>" lines), e.g.
 *                       hftbacktest/spot/btcusdt_20240808.gz
 *
 * The first 2,000 depthUpdate lines are loaded into memory, each in its own
 * padded buffer, so the figures are the parser's alone. Each message is
 * parsed in place and walked as the connector does: the envelope's data,
 * E, s, U, u, then every level's price and quantity strings of b and a.
 * The levels are read twice over, in two timed runs: by rows (one
 * json_string_rows call per side, as the connector reads them) and by
 * elements (json_array_begin/json_array_next/json_number_text per level,
 * element by element).
 * Whole passes are repeated for at least a second; the figures are ns per
 * message (mean over the passes, and the best pass) and MB/s of JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "json.h"

#define MESSAGES_MAX 2000
#define LINE_MAX_BYTES (1 << 20)
#define MIN_BENCH_NS 1000000000LL
#define ROWS_PER_CALL 256

typedef struct message {
    char *json; /* JSON_PADDING readable bytes after len */
    size_t len;
} message;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Load up to MESSAGES_MAX depthUpdate messages. @return how many, -1. */
static long load(const char *path, message *msgs)
{
    gzFile gz = gzopen(path, "rb");
    char *line = malloc(LINE_MAX_BYTES);
    long n = 0;

    if (!gz || !line) {
        fprintf(stderr, "json: cannot read %s\n", path);
        free(line);
        if (gz)
            gzclose(gz);
        return -1;
    }
    while (n < MESSAGES_MAX && gzgets(gz, line, LINE_MAX_BYTES)) {
        char *json = strchr(line, ' ');
        if (!json || !strstr(json, "\"depthUpdate\""))
            continue;
        json++;
        size_t len = strcspn(json, "\r\n");
        msgs[n].json = calloc(1, len + JSON_PADDING);
        if (!msgs[n].json)
            break;
        memcpy(msgs[n].json, json, len);
        msgs[n].len = len;
        n++;
    }
    gzclose(gz);
    free(line);
    return n;
}

/* How a side's levels are read. */
typedef long (*levels_fn)(json_iter *levels, size_t *sum);

/* One json_string_rows call per ROWS_PER_CALL levels. @return levels or -1. */
static long levels_by_rows(json_iter *levels, size_t *sum)
{
    json_text txt[ROWS_PER_CALL * 2];
    size_t rows;
    long n = 0;
    int rc;

    do {
        rc = json_string_rows(levels, txt, 2, ROWS_PER_CALL, &rows);
        for (size_t i = 0; i < rows * 2; i++)
            *sum += txt[i].len + (size_t)txt[i].s[0];
        n += (long)rows;
    } while (rc == 1);
    return rc == 0 ? n : -1;
}

/* Element by element. @return levels or -1. */
static long levels_by_elements(json_iter *levels, size_t *sum)
{
    json_value level, item;
    json_iter pair;
    const char *s;
    size_t len;
    long n = 0;
    int rc;

    while ((rc = json_array_next(levels, &level)) == 1) {
        if (json_array_begin(&level, &pair) != 0)
            return -1;
        for (int i = 0; i < 2; i++) {
            if (json_array_next(&pair, &item) != 1 || json_number_text(&item, &s, &len) != 0)
                return -1;
            *sum += len + (size_t)s[0];
        }
        n++;
    }
    return rc == 0 ? n : -1;
}

/* Walk one side's levels; add the text lengths to *sum. @return levels or -1. */
static long walk_levels(json_value *data, const char *key, levels_fn read, size_t *sum)
{
    json_value side;
    json_iter levels;

    if (json_field(data, key, &side) != 0 || json_array_begin(&side, &levels) != 0)
        return -1;
    return read(&levels, sum);
}

/* Parse and walk one message. @return its levels, or -1. */
static long walk(json_parser *jp, const message *m, levels_fn read, size_t *sum)
{
    static const char *const ids[] = {"U", "u"};
    json_value root, data, v;
    uint64_t id;
    const char *s;
    size_t len;

    if (json_parse(jp, m->json, m->len, &root) != 0 || json_field(&root, "data", &data) != 0)
        return -1;
    if (json_field(&data, "E", &v) != 0 || json_uint64(&v, &id) != 0)
        return -1;
    *sum += (size_t)id;
    if (json_field(&data, "s", &v) != 0 || json_string(&v, &s, &len) != 0)
        return -1;
    *sum += len;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (json_field(&data, ids[i], &v) != 0 || json_uint64(&v, &id) != 0)
            return -1;
        *sum += (size_t)id;
    }
    long bids = walk_levels(&data, "b", read, sum);
    long asks = walk_levels(&data, "a", read, sum);
    return bids < 0 || asks < 0 ? -1 : bids + asks;
}

/* Walk every message once, untimed: checks them and warms the parser up.
 * @return the levels seen, or -1. */
static long check_pass(json_parser *jp, const message *msgs, long n, levels_fn read,
                       size_t *sum)
{
    long levels = 0;

    for (long i = 0; i < n; i++) {
        long l = walk(jp, &msgs[i], read, sum);
        if (l < 0) {
            fprintf(stderr, "json: message %ld: %s\n", i + 1, json_last_error());
            return -1;
        }
        levels += l;
    }
    return levels;
}

/* Where timed passes leave their sums, so that no compiler drops the reads. */
static volatile size_t timed_sum;

/* Timed passes for at least MIN_BENCH_NS; print the figures. */
static void timed_passes(json_parser *jp, const message *msgs, long n, size_t bytes,
                         long levels, levels_fn read, const char *name)
{
    int64_t total = 0, best = INT64_MAX;
    long passes = 0;
    size_t sum = 0;

    while (total < MIN_BENCH_NS) {
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++)
            walk(jp, &msgs[i], read, &sum);
        int64_t dt = now_ns() - t0;
        total += dt;
        best = dt < best ? dt : best;
        passes++;
    }
    timed_sum += sum;
    double mean_ns = (double)total / ((double)passes * (double)n);
    printf("%-15s ns/message %.0f mean, %.0f best pass; ns/level %.1f; MB/s %.0f; "
           "%ld passes\n",
           name, mean_ns, (double)best / (double)n, mean_ns * (double)n / (double)levels,
           (double)bytes * (double)passes / ((double)total / 1e3), passes);
}

int main(int argc, char **argv)
{
    static message msgs[MESSAGES_MAX];
    json_parser *jp = json_parser_new();
    size_t bytes = 0, sum_rows = 0, sum_elements = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: json CAPTURE.gz\n");
        return 2;
    }
    long n = load(argv[1], msgs);
    if (n <= 0 || !jp) {
        fprintf(stderr, "json: no depthUpdate message in %s\n", argv[1]);
        return 1;
    }
    for (long i = 0; i < n; i++)
        bytes += msgs[i].len;
    long levels = check_pass(jp, msgs, n, levels_by_rows, &sum_rows);
    long levels_elements = check_pass(jp, msgs, n, levels_by_elements, &sum_elements);
    if (levels < 0 || levels_elements < 0)
        return 1;
    if (levels != levels_elements || sum_rows != sum_elements) {
        fprintf(stderr, "json: rows and elements read different levels\n");
        return 1;
    }
    printf("messages        %ld depthUpdate, %.0f bytes and %.1f levels each\n", n,
           (double)bytes / (double)n, (double)levels / (double)n);
    timed_passes(jp, msgs, n, bytes, levels, levels_by_rows, "by rows");
    timed_passes(jp, msgs, n, bytes, levels, levels_by_elements, "by elements");
    printf("checksum        %zu\n", sum_rows);

    for (long i = 0; i < n; i++)
        free(msgs[i].json);
    json_parser_free(jp);
    return 0;
}
