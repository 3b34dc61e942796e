/*
 * fixed.c -- nanoseconds per decimal parse and format (core/fixed.h).
 *
 * fixed_parse runs for every price and size of every exchange message, so
 * it is timed on strings shaped like Binance's ("61837.63000000"). Each
 * result feeds a checksum that is printed, so no call can be optimised away.
 *
 *   build/bench/fixed [iterations]      (default 10,000,000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixed.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_parse(const char *label, const char *s, int scale, long iterations)
{
    size_t len = strlen(s);
    uint64_t sum = 0;
    int64_t v = 0;
    double t0 = now_ns();

    for (long i = 0; i < iterations; i++) {
        if (fixed_parse(s, len, scale, &v) != FIXED_OK) {
            fprintf(stderr, "fixed_parse '%s' at scale %d failed\n", s, scale);
            return -1;
        }
        sum += (uint64_t)v;
    }
    printf("fixed_parse %s (\"%s\" at %d): %.1f ns/op (checksum %llu)\n", label, s, scale,
           (now_ns() - t0) / (double)iterations, (unsigned long long)sum);
    return 0;
}

typedef int (*format_fn)(int64_t v, int scale, char *buf, size_t cap);

static int bench_format(const char *label, format_fn format, int64_t v, int scale,
                        long iterations)
{
    char buf[FIXED_STR_MAX];
    uint64_t sum = 0;
    double t0 = now_ns();

    for (long i = 0; i < iterations; i++) {
        /* A changing value, so each call formats anew. */
        int n = format(v + (i & 1023), scale, buf, sizeof(buf));
        if (n < 0) {
            fprintf(stderr, "%s failed\n", label);
            return -1;
        }
        sum += (uint64_t)n + (unsigned char)buf[n - 1];
    }
    printf("%s (%lld at %d): %.1f ns/op (checksum %llu)\n", label, (long long)v, scale,
           (now_ns() - t0) / (double)iterations, (unsigned long long)sum);
    return 0;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 10000000L;

    if (iterations <= 0) {
        fprintf(stderr, "usage: %s [iterations > 0]\n", argv[0]);
        return 2;
    }
    if (bench_parse("price", "61837.63000000", 8, iterations) != 0 ||
        bench_parse("qty", "0.00123000", 8, iterations) != 0 ||
        bench_parse("zero qty", "0.00000000", 8, iterations) != 0 ||
        bench_format("fixed_format", fixed_format, INT64_C(6183763000000), 8, iterations) != 0 ||
        bench_format("fixed_format_trim", fixed_format_trim, INT64_C(6183763000000), 8,
                     iterations) != 0)
        return 1;
    return 0;
}
