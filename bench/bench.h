/*
 * bench.h -- what every benchmark needs and none should write again:
 * sorting latency samples for their percentiles.
 */
#ifndef LUTRA_BENCH_H
#define LUTRA_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sort n samples, smallest first (v[n / 2] is then the median). */
static inline void bench_sort_i64(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_i64);
}

#endif
