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

/* Walk one side's levels; add the text lengths to *sum. @return levels or -1. */
static long walk_levels(json_value *data, const char *key, size_t *sum)
{
    json_value side, level, item;
    json_iter levels, pair;
    const char *s;
    size_t len;
    long n = 0;
    int rc;

    if (json_field(data, key, &side) != 0 || json_array_begin(&side, &levels) != 0)
        return -1;
    while ((rc = json_array_next(&levels, &level)) == 1) {
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

/* Parse and walk one message. @return its levels, or -1. */
static long walk(json_parser *jp, const message *m, size_t *sum)
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
    long bids = walk_levels(&data, "b", sum);
    long asks = walk_levels(&data, "a", sum);
    return bids < 0 || asks < 0 ? -1 : bids + asks;
}

int main(int argc, char **argv)
{
    static message msgs[MESSAGES_MAX];
    json_parser *jp = json_parser_new();
    size_t bytes = 0, sum = 0;
    long levels = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: json CAPTURE.gz\n");
        return 2;
    }
    long n = load(argv[1], msgs);
    if (n <= 0 || !jp) {
        fprintf(stderr, "json: no depthUpdate message in %s\n", argv[1]);
        return 1;
    }
    /* An untimed pass checks every message and warms the parser up. */
    for (long i = 0; i < n; i++) {
        long l = walk(jp, &msgs[i], &sum);
        if (l < 0) {
            fprintf(stderr, "json: message %ld: %s\n", i + 1, json_last_error());
            return 1;
        }
        levels += l;
        bytes += msgs[i].len;
    }

    int64_t total = 0, best = INT64_MAX;
    long passes = 0;
    while (total < MIN_BENCH_NS) {
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++)
            walk(jp, &msgs[i], &sum);
        int64_t dt = now_ns() - t0;
        total += dt;
        best = dt < best ? dt : best;
        passes++;
    }
    double mean_ns = (double)total / ((double)passes * (double)n);
    printf("messages        %ld depthUpdate, %.0f bytes and %.1f levels each\n", n,
           (double)bytes / (double)n, (double)levels / (double)n);
    printf("passes          %ld\n", passes);
    printf("ns/message      %.0f mean, %.0f best pass\n", mean_ns, (double)best / (double)n);
    printf("ns/level        %.1f\n", mean_ns * (double)n / (double)levels);
    printf("MB/s            %.0f\n", (double)bytes * (double)passes / ((double)total / 1e3));
    printf("checksum        %zu\n", sum);

    for (long i = 0; i < n; i++)
        free(msgs[i].json);
    json_parser_free(jp);
    return 0;
}
