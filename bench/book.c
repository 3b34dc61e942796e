/*
 * bench/book.c -- how fast the L2 book applies deltas (core/book.h).
 *
 *   book FILE.lev [FILE.lev...]   the BOOK_CLEAR/BOOK_DELTA records of native event files
 *   book --synthetic              generated deltas (fixed seed), when no real file is at hand
 *
 * All records are loaded into memory first, so the figures are the book's
 * alone: no file reading, no decoding. One untimed pass checks that every
 * record applies and finds the deepest book; then whole passes (each from
 * empty books) are repeated for at least a second. Timing each delta alone
 * would mostly measure the clock, so consecutive groups of GROUP deltas are
 * timed with clock_gettime(CLOCK_MONOTONIC) and each group's time divided by
 * its size gives the per-delta samples of the median and p99.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book.h"
#include "evfile.h"
#include "lutra_event.h"
#include "rng.h"

#define GROUP 16
#define MIN_BENCH_NS 1000000000LL
#define MAX_BOOKS 4096

/* The records to apply; h.instrument is rewritten to the index of their book. */
typedef struct bench_input {
    lutra_book_delta *rec;
    size_t n, cap;
    size_t nbooks;
    size_t clears;
} bench_input;

typedef struct bench_result {
    size_t passes;
    double total_ns;       /* sum of the timed groups */
    double best_pass_ns;   /* the fastest pass: the least disturbed by other processes */
    float *sample;         /* ns per delta, one per group */
    size_t nsample, cap;
    size_t max_depth[2];
} bench_result;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- Input ---- */

static int input_push(bench_input *in, const lutra_event *ev, size_t book_index)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 65536;
        lutra_book_delta *rec = realloc(in->rec, cap * sizeof *rec);
        if (!rec)
            return -1;
        in->rec = rec;
        in->cap = cap;
    }
    in->rec[in->n] = ev->delta;
    in->rec[in->n].h.instrument = (uint32_t)book_index;
    in->n++;
    if (ev->h.type == LUTRA_EV_BOOK_CLEAR)
        in->clears++;
    return 0;
}

/* Each instrument of each file gets a book of its own. */
static int input_load_file(bench_input *in, const char *path, char *err, size_t errlen)
{
    size_t ninstr, first_book = in->nbooks;
    const lutra_event *ev;
    evfile_reader *r = evfile_open(path, err, errlen);

    if (!r)
        return -1;
    evfile_instruments(r, &ninstr);
    if (ninstr == 0)
        ninstr = 1;
    if (first_book + ninstr > MAX_BOOKS) {
        snprintf(err, errlen, "%s: more than %d books in all", path, MAX_BOOKS);
        evfile_close_reader(r);
        return -1;
    }
    in->nbooks += ninstr;
    while ((ev = evfile_next(r)) != NULL) {
        if (ev->h.type != LUTRA_EV_BOOK_CLEAR && ev->h.type != LUTRA_EV_BOOK_DELTA)
            continue;
        if (ev->h.instrument >= ninstr) {
            snprintf(err, errlen, "%s: record at offset %llu names instrument %u of %zu", path,
                     (unsigned long long)evfile_offset(r), ev->h.instrument, ninstr);
            evfile_close_reader(r);
            return -1;
        }
        if (input_push(in, ev, first_book + ev->h.instrument) < 0) {
            snprintf(err, errlen, "%s: out of memory after %zu records", path, in->n);
            evfile_close_reader(r);
            return -1;
        }
    }
    if (evfile_corrupt(r))
        fprintf(stderr, "book: %s: stopped at an invalid record: %s\n", path,
                evfile_reader_error(r));
    else if (evfile_truncated(r))
        fprintf(stderr, "book: %s: cut off (%zu bytes of a last record ignored)\n", path,
                evfile_truncated(r));
    evfile_close_reader(r);
    return 0;
}

static int synth_push(bench_input *in, int type, int bid, int64_t tick_price, int64_t qty)
{
    lutra_event ev;

    memset(&ev, 0, sizeof ev);
    ev.h.type = (uint8_t)type;
    ev.h.flags = bid ? LUTRA_F_BID : 0;
    ev.delta.price = tick_price * 1000000; /* ticks of 0.01 at price scale 8 */
    ev.delta.qty = qty;
    return input_push(in, &ev, 0);
}

/*
 * A snapshot of 5,000 levels a side, then deltas around a mid that walks a
 * tick at a time: 95% within 512 ticks of the touch (half of those within
 * 64), 5% far (512 to 4,608 ticks away), 40% of them removals. The side that
 * the mid walks into loses its touch level, so the book stays uncrossed.
 */
static int input_synthesize(bench_input *in, size_t ndeltas)
{
    rng rng;
    int64_t mid = 6000000;
    size_t i;

    rng_seed(&rng, 20240808, 0);
    in->nbooks = 1;
    if (synth_push(in, LUTRA_EV_BOOK_CLEAR, 0, 0, 0) < 0)
        return -1;
    for (i = 0; i < 5000; i++) {
        if (synth_push(in, LUTRA_EV_BOOK_DELTA, 1, mid - 1 - (int64_t)i, 1 + (int64_t)i) < 0 ||
            synth_push(in, LUTRA_EV_BOOK_DELTA, 0, mid + (int64_t)i, 1 + (int64_t)i) < 0)
            return -1;
    }
    for (i = 0; i < ndeltas; i++) {
        uint64_t r = rng_next(&rng);
        int bid = (int)(r & 1);
        unsigned pick = (unsigned)(r >> 1) % 100;
        int64_t off, qty = (r >> 8) % 10 < 4 ? 0 : 1 + (int64_t)((r >> 16) % 100000);
        int rc;

        if (pick < 2) { /* the mid moves: the side it walks into loses its touch */
            int up = (r >> 40) & 1;
            rc = up ? synth_push(in, LUTRA_EV_BOOK_DELTA, 0, mid, 0)
                    : synth_push(in, LUTRA_EV_BOOK_DELTA, 1, mid - 1, 0);
            mid += up ? 1 : -1;
        } else {
            if (pick < 50)
                off = (int64_t)((r >> 32) % 64);
            else if (pick < 95)
                off = (int64_t)((r >> 32) % 512);
            else
                off = 512 + (int64_t)((r >> 32) % 4096);
            rc = synth_push(in, LUTRA_EV_BOOK_DELTA, bid, bid ? mid - 1 - off : mid + off, qty);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- Passes ---- */

static void clear_books(book **books, size_t nbooks)
{
    for (size_t i = 0; i < nbooks; i++)
        book_clear(books[i]);
}

/* Untimed: every record must apply; note the deepest book. */
static int pass_checked(book **books, const bench_input *in, bench_result *res)
{
    clear_books(books, in->nbooks);
    for (size_t i = 0; i < in->n; i++) {
        const lutra_book_delta *d = &in->rec[i];
        book *b = books[d->h.instrument];
        if (book_apply_event(b, (const lutra_event *)d) < 0) {
            fprintf(stderr, "book: record %zu (price %lld, qty %lld) refused\n", i,
                    (long long)d->price, (long long)d->qty);
            return -1;
        }
        for (int s = 0; s < 2; s++) {
            size_t depth = book_depth(b, (book_side)s);
            if (depth > res->max_depth[s])
                res->max_depth[s] = depth;
        }
    }
    return 0;
}

static int pass_timed(book **books, const bench_input *in, bench_result *res)
{
    size_t groups = (in->n + GROUP - 1) / GROUP;

    if (res->nsample + groups > res->cap) {
        size_t cap = (res->cap ? res->cap * 2 : groups * 16) + groups;
        float *sample = realloc(res->sample, cap * sizeof *sample);
        if (!sample)
            return -1;
        res->sample = sample;
        res->cap = cap;
    }
    double pass_ns = 0;

    clear_books(books, in->nbooks);
    for (size_t g = 0; g < in->n; g += GROUP) {
        size_t end = g + GROUP < in->n ? g + GROUP : in->n;
        int64_t t0 = now_ns(), t1;
        for (size_t i = g; i < end; i++) {
            const lutra_book_delta *d = &in->rec[i];
            book_apply_event(books[d->h.instrument], (const lutra_event *)d);
        }
        t1 = now_ns();
        pass_ns += (double)(t1 - t0);
        res->sample[res->nsample++] = (float)(t1 - t0) / (float)(end - g);
    }
    res->total_ns += pass_ns;
    if (res->passes == 0 || pass_ns < res->best_pass_ns)
        res->best_pass_ns = pass_ns;
    res->passes++;
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double percentile(const float *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i];
}

/* ---- Main ---- */

static void report(const bench_input *in, bench_result *res)
{
    size_t records = in->n * res->passes;
    double mean = res->total_ns / (double)records;

    qsort(res->sample, res->nsample, sizeof *res->sample, cmp_float);
    printf("timing: groups of %d deltas, clock_gettime(CLOCK_MONOTONIC), divided by %d\n",
           GROUP, GROUP);
    printf("books: %zu\n", in->nbooks);
    printf("deltas: %zu records\n", in->n - in->clears);
    printf("clears: %zu records\n", in->clears);
    printf("passes: %zu\n", res->passes);
    printf("mean: %.1f ns/delta\n", mean);
    printf("mean_best_pass: %.1f ns/delta\n", res->best_pass_ns / (double)in->n);
    printf("median: %.1f ns/delta\n", percentile(res->sample, res->nsample, 0.50));
    printf("p99: %.1f ns/delta\n", percentile(res->sample, res->nsample, 0.99));
    printf("rate: %.1f M deltas/s\n", 1e3 / mean);
    printf("max_depth_bid: %zu levels\n", res->max_depth[BOOK_BID]);
    printf("max_depth_ask: %zu levels\n", res->max_depth[BOOK_ASK]);
}

static int load(bench_input *in, int argc, char **argv)
{
    char err[512];

    if (argc == 2 && strcmp(argv[1], "--synthetic") == 0) {
        if (input_synthesize(in, 2000000) < 0) {
            fprintf(stderr, "book: out of memory generating deltas\n");
            return -1;
        }
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (input_load_file(in, argv[i], err, sizeof err) < 0) {
            fprintf(stderr, "book: %s\n", err);
            return -1;
        }
    }
    if (in->n == 0) {
        fprintf(stderr, "book: no BOOK_CLEAR or BOOK_DELTA record in the input\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_input in = {0};
    bench_result res = {0};
    book **books = NULL;
    int rc = 1;
    int64_t start;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: book FILE.lev [FILE.lev...]\n       book --synthetic\n");
        return 2;
    }
    if (load(&in, argc, argv) < 0)
        goto out;
    books = calloc(in.nbooks, sizeof *books);
    if (!books)
        goto out;
    for (size_t i = 0; i < in.nbooks; i++) {
        if (!(books[i] = book_new())) {
            fprintf(stderr, "book: out of memory creating %zu books\n", in.nbooks);
            goto out;
        }
    }
    if (pass_checked(books, &in, &res) < 0)
        goto out;
    start = now_ns();
    while (res.passes < 3 || now_ns() - start < MIN_BENCH_NS) {
        if (pass_timed(books, &in, &res) < 0) {
            fprintf(stderr, "book: out of memory for %zu samples\n", res.nsample);
            goto out;
        }
    }
    report(&in, &res);
    rc = 0;
out:
    for (size_t i = 0; books && i < in.nbooks; i++)
        book_free(books[i]);
    free(books);
    free(in.rec);
    free(res.sample);
    return rc;
}
