/*
 * evfile.c -- the native event file: round trip, truncation, refusals,
 * corruption, and flat resident memory on a large file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evfile.h"
#include "tap.h"

static char dir[64];

static const char *tmp_path(const char *name)
{
    static char path[4][160];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

static int has(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

static lutra_instrument instrument(const char *venue, const char *symbol, const char *base,
                                   const char *quote, uint8_t price_scale, uint8_t size_scale,
                                   uint8_t kind)
{
    lutra_instrument d;
    memset(&d, 0, sizeof d);
    snprintf(d.venue, sizeof d.venue, "%s", venue);
    snprintf(d.symbol, sizeof d.symbol, "%s", symbol);
    snprintf(d.base, sizeof d.base, "%s", base);
    snprintf(d.quote, sizeof d.quote, "%s", quote);
    d.price_scale = price_scale;
    d.size_scale = size_scale;
    d.price_increment = 1 + price_scale;
    d.size_increment = 10 + size_scale;
    d.min_qty = 1000 + size_scale;
    d.min_notional = 500000 + price_scale;
    d.kind = kind;
    return d;
}

static lutra_event record(uint8_t type, uint8_t flags, uint32_t inst, int64_t ts)
{
    lutra_event ev;
    memset(&ev, 0, sizeof ev);
    ev.h.type = type;
    ev.h.flags = flags;
    ev.h.instrument = inst;
    ev.h.ts_recv = ts;
    ev.h.ts_exch = ts - 1234;
    ev.h.size = lutra_event_size(type);
    return ev;
}

/* ---- The sample: every record type, three instruments, the third added
 * after records were written. ---- */

enum { SAMPLE_RECORDS = 8 };
static lutra_instrument sample_inst[3];
static lutra_event sample[SAMPLE_RECORDS];

static void make_sample(void)
{
    int64_t t = INT64_C(1723161253937085768);
    sample_inst[0] = instrument("binance", "BTCUSDT", "BTC", "USDT", 2, 8, LUTRA_KIND_SPOT);
    sample_inst[1] = instrument("binance", "ETHUSDT-PERP", "ETH", "USDT", 3, 5,
                                LUTRA_KIND_PERPETUAL);
    sample_inst[2] = instrument("kucoin", "SOL-USDT", "SOL", "USDT", 4, 2, LUTRA_KIND_OTHER);

    sample[0] = record(LUTRA_EV_BOOK_CLEAR, LUTRA_F_SNAPSHOT, 0, t);
    sample[1] = record(LUTRA_EV_BOOK_DELTA, LUTRA_F_SNAPSHOT | LUTRA_F_BID | LUTRA_F_LAST, 0, t);
    sample[1].delta.price = 6183763;
    sample[1].delta.qty = 150000000;
    sample[2] = record(LUTRA_EV_TRADE, LUTRA_F_BUY | LUTRA_F_LAST, 1, t + 10);
    sample[2].trade.price = 2612345;
    sample[2].trade.qty = 77;
    sample[3] = record(LUTRA_EV_QUOTE, LUTRA_F_LAST | LUTRA_F_ONE_TS, 0, t + 10);
    sample[3].quote.bid_price = 6183700;
    sample[3].quote.bid_qty = 1;
    sample[3].quote.ask_price = 6183800;
    sample[3].quote.ask_qty = -2; /* stored as given: the file does not judge */
    sample[4] = record(LUTRA_EV_BAR, LUTRA_F_LAST, 1, t + 60);
    sample[4].bar.open = 1;
    sample[4].bar.high = 5;
    sample[4].bar.low = -3;
    sample[4].bar.close = 4;
    sample[4].bar.volume = INT64_MAX;
    sample[5] = record(LUTRA_EV_STATUS, LUTRA_F_LAST, 0, t + 61);
    sample[5].status.state = LUTRA_FEED_SYNCING;
    sample[5].status.reason = LUTRA_REASON_GAP;
    sample[6] = record(LUTRA_EV_TRADE, LUTRA_F_NO_SIDE | LUTRA_F_LAST, 2, t + 62);
    sample[6].trade.price = 1;
    sample[6].trade.qty = 2;
    sample[7] = record(LUTRA_EV_BOOK_DELTA, LUTRA_F_LAST, 2, t + 62);
    sample[7].delta.price = 3;
    sample[7].delta.qty = 0;
}

/* Write the sample; the third instrument is added after six records. When
 * keep_open is set the writer is returned unclosed (records flushed). */
static evfile_writer *write_sample(const char *path, int keep_open)
{
    char err[256];
    evfile_writer *w = evfile_create(path, err, sizeof err);
    if (!w)
        bail_out("create %s: %s", path, err);
    for (int i = 0; i < 2; i++)
        if (evfile_add_instrument(w, &sample_inst[i], err, sizeof err) != i)
            bail_out("add instrument %d: %s", i, err);
    for (int i = 0; i < SAMPLE_RECORDS; i++) {
        if (i == 6 && evfile_add_instrument(w, &sample_inst[2], err, sizeof err) != 2)
            bail_out("add instrument 2: %s", err);
        if (evfile_append(w, &sample[i], err, sizeof err) < 0)
            bail_out("append %d: %s", i, err);
    }
    if (keep_open) {
        if (evfile_flush(w, 0, err, sizeof err) < 0)
            bail_out("flush: %s", err);
        return w;
    }
    if (evfile_close(w, err, sizeof err) < 0)
        bail_out("close: %s", err);
    return NULL;
}

static int same_record(const lutra_event *got, const lutra_event *want)
{
    return got && got->h.size == want->h.size && memcmp(got, want, want->h.size) == 0;
}

static uint64_t records_bytes(int n)
{
    uint64_t b = 0;
    for (int i = 0; i < n; i++)
        b += sample[i].h.size;
    return b;
}

static void test_round_trip(void)
{
    const char *path = tmp_path("sample.lev");
    char err[256];
    evfile_reader *r;
    const lutra_instrument *inst;
    const lutra_event *peek1, *peek2;
    size_t n = 0;
    int same = 1;

    write_sample(path, 0);
    r = evfile_open(path, err, sizeof err);
    ok(r != NULL, "open the sample%s%s", r ? "" : ": ", r ? "" : err);
    if (!r) {
        skip(7, "no reader");
        return;
    }
    inst = evfile_instruments(r, &n);
    is_int(n, 3, "three instruments, the one added after records included");
    ok(n == 3 && memcmp(inst, sample_inst, sizeof sample_inst) == 0,
       "every instrument field round-trips");
    for (int i = 0; i < SAMPLE_RECORDS; i++) {
        const lutra_event *ev = evfile_next(r);
        if (!same_record(ev, &sample[i])) {
            diag("record %d differs", i);
            same = 0;
        }
    }
    ok(same, "every record type round-trips field for field");
    ok(evfile_next(r) == NULL && !evfile_truncated(r) && !evfile_corrupt(r) &&
           evfile_reader_error(r)[0] == '\0',
       "then a clean end");
    is_int(evfile_size(r), records_bytes(SAMPLE_RECORDS), "evfile_size is the records' bytes");
    evfile_rewind(r);
    n = 0;
    while (evfile_next(r))
        n++;
    is_int(n, SAMPLE_RECORDS, "rewind reads them all again");
    evfile_rewind(r);
    evfile_next(r);
    peek1 = evfile_peek(r);
    peek2 = evfile_peek(r);
    ok(peek1 && peek1 == peek2 && peek1 == evfile_next(r) && same_record(peek1, &sample[1]),
       "evfile_peek shows the next record without moving past it");
    evfile_close_reader(r);
}

/* A recording that is still open (or killed) already describes its records. */
static void test_header_written_at_once(void)
{
    const char *path = tmp_path("open.lev");
    char err[256];
    evfile_writer *w = write_sample(path, 1);
    evfile_reader *r = evfile_open(path, err, sizeof err);
    size_t n = 0, records = 0;
    if (r) {
        evfile_instruments(r, &n);
        while (evfile_next(r))
            records++;
    }
    ok(r && n == 3 && records == SAMPLE_RECORDS && !evfile_corrupt(r),
       "a file still being written has its late instrument and all flushed records (%zu, %zu)",
       n, records);
    evfile_close_reader(r);
    is_int(evfile_writer_count(w), SAMPLE_RECORDS, "evfile_writer_count");
    ok(evfile_close(w, err, sizeof err) == 0, "close after reading");
}

static void test_instrument_rules(void)
{
    const char *path = tmp_path("inst.lev");
    char err[256] = "";
    evfile_writer *w = evfile_create(path, err, sizeof err);
    lutra_instrument other = sample_inst[0];
    int32_t a, b, c;
    if (!w)
        bail_out("create: %s", err);
    a = evfile_add_instrument(w, &sample_inst[0], err, sizeof err);
    b = evfile_add_instrument(w, &sample_inst[0], err, sizeof err);
    ok(a == 0 && b == 0, "adding the same instrument twice gives its index");
    other.price_scale = 5;
    c = evfile_add_instrument(w, &other, err, sizeof err);
    ok(c == -1 && has(err, "BTCUSDT") && has(err, "price_scale"),
       "a different definition of the same symbol is refused: %s", err);
    for (int i = 1; i < EVFILE_MAX_INSTRUMENTS; i++) {
        snprintf(other.symbol, sizeof other.symbol, "S%d", i);
        if (evfile_add_instrument(w, &other, err, sizeof err) != i)
            bail_out("add instrument %d: %s", i, err);
    }
    snprintf(other.symbol, sizeof other.symbol, "ONEMORE");
    c = evfile_add_instrument(w, &other, err, sizeof err);
    a = evfile_add_instrument(w, &sample_inst[0], err, sizeof err);
    ok(c == -1 && has(err, "at most 256") && a == 0,
       "a full table refuses a new instrument and still finds the old ones: %s", err);
    evfile_close(w, err, sizeof err);
}

static void test_writer_refusals(void)
{
    const char *path = tmp_path("order.lev");
    char err[256] = "";
    evfile_writer *w = evfile_create(path, err, sizeof err);
    lutra_event ev = record(LUTRA_EV_TRADE, 0, 0, 2000);
    if (!w)
        bail_out("create: %s", err);
    ok(evfile_append(w, &ev, err, sizeof err) == -1 && has(err, "instrument 0"),
       "a record for an instrument not added is refused: %s", err);
    evfile_add_instrument(w, &sample_inst[0], err, sizeof err);
    evfile_append(w, &ev, err, sizeof err);
    ev.h.ts_recv = 1999;
    ok(evfile_append(w, &ev, err, sizeof err) == -1 && has(err, "1999") && has(err, "2000"),
       "ts_recv going backwards is refused naming both times: %s", err);
    ev.h.ts_recv = 2000;
    ev.h.type = 42;
    ok(evfile_append(w, &ev, err, sizeof err) == -1 && has(err, "type 42"),
       "an unknown record type is refused: %s", err);
    is_int(evfile_writer_count(w), 1, "only the good record was written");
    evfile_close(w, err, sizeof err);
}

/* ---- Files made by hand from the sample's bytes ---- */

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0)
        bail_out("read %s: %s", path, strerror(errno));
    rewind(f);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        bail_out("read %s", path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0)
        bail_out("write %s: %s", path, strerror(errno));
}

/* Records read from path, and the reader's end state. */
typedef struct outcome {
    int opened;
    size_t records;
    size_t truncated;
    int corrupt;
    size_t at; /* where the damage was made */
    char why[320];
} outcome;

static outcome read_file(const char *path)
{
    outcome o;
    evfile_reader *r;
    memset(&o, 0, sizeof o);
    r = evfile_open(path, o.why, sizeof o.why);
    o.opened = r != NULL;
    if (!r)
        return o;
    while (evfile_next(r))
        o.records++;
    o.truncated = evfile_truncated(r);
    o.corrupt = evfile_corrupt(r);
    snprintf(o.why, sizeof o.why, "%s", evfile_reader_error(r));
    evfile_close_reader(r);
    return o;
}

static void test_truncation(const unsigned char *file, size_t len)
{
    const char *path = tmp_path("cut.lev");
    size_t last = sample[SAMPLE_RECORDS - 1].h.size;
    int good = 1;
    for (size_t k = 0; k < last; k++) {
        outcome o;
        spit(path, file, len - last + k);
        o = read_file(path);
        if (!o.opened || o.records != SAMPLE_RECORDS - 1 || o.truncated != k || o.corrupt ||
            (k > 0 && !has(o.why, "cut off"))) {
            diag("cut with %zu bytes of the last record: opened %d, %zu records, truncated "
                 "%zu, corrupt %d (%s)", k, o.opened, o.records, o.truncated, o.corrupt, o.why);
            good = 0;
        }
    }
    ok(good, "cut at each of the last record's %zu bytes: the whole records before it, and "
       "the cut-off bytes counted", last);
}

static void test_header_refusals(const unsigned char *file, size_t len)
{
    const char *path = tmp_path("bad.lev");
    size_t cuts[] = {4, 40, 63, 64, 1000, len - records_bytes(SAMPLE_RECORDS) - 1};
    unsigned char *copy = malloc(len);
    int good = 1;
    outcome o;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        spit(path, file, cuts[i]);
        o = read_file(path);
        if (o.opened || !has(o.why, "cut off in its header") || !has(o.why, path)) {
            diag("cut at %zu: %s", cuts[i], o.why);
            good = 0;
        }
    }
    ok(good, "a file cut in its header or instrument table is refused, naming it");

    memcpy(copy, file, len);
    memcpy(copy, "LUTRAEX\n", 8);
    spit(path, copy, len);
    o = read_file(path);
    ok(!o.opened && has(o.why, "not a lutra event file"), "wrong magic: %s", o.why);

    spit(path, "", 0);
    o = read_file(path);
    ok(!o.opened && has(o.why, "not a lutra event file"), "a zero-byte file: %s", o.why);

    memcpy(copy, file, len);
    copy[8] = 2; /* version, u16 at byte 8 */
    spit(path, copy, len);
    o = read_file(path);
    ok(!o.opened && has(o.why, "written by a newer lutra (format version 2, this lutra reads "
                               "up to 1)"),
       "a newer version is refused: %s", o.why);

    memcpy(copy, file, len);
    copy[16] = 255; /* instrument_count above the capacity */
    copy[17] = 1;
    spit(path, copy, len);
    o = read_file(path);
    ok(!o.opened && has(o.why, "instrument_count 511"), "count beyond capacity: %s", o.why);
    free(copy);
}

/* Damage record `index` of the sample through `patch` and read it. */
static outcome read_damaged(const unsigned char *file, size_t len, int index,
                            void (*patch)(lutra_event_head *))
{
    const char *path = tmp_path("corrupt.lev");
    unsigned char *copy = malloc(len);
    size_t at = len - records_bytes(SAMPLE_RECORDS) + records_bytes(index);
    lutra_event_head h;
    outcome o;
    memcpy(copy, file, len);
    memcpy(&h, copy + at, sizeof h);
    patch(&h);
    memcpy(copy + at, &h, sizeof h);
    spit(path, copy, len);
    free(copy);
    o = read_file(path);
    o.at = at;
    return o;
}

static void bad_type(lutra_event_head *h) { h->type = 99; }
static void bad_size(lutra_event_head *h) { h->size = 48; }
static void bad_instrument(lutra_event_head *h) { h->instrument = 7; }
static void bad_order(lutra_event_head *h) { h->ts_recv -= 1000; }

static void test_corruption(const unsigned char *file, size_t len)
{
    static const struct {
        const char *name;
        void (*patch)(lutra_event_head *);
        const char *says;
    } cases[] = {
        {"an unknown type", bad_type, "unknown record type 99"},
        {"a size that does not match the type", bad_size, "size 48"},
        {"an instrument out of range", bad_instrument, "instrument 7"},
        {"ts_recv going backwards", bad_order, "before the previous record"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        outcome o = read_damaged(file, len, 3, cases[i].patch);
        char at[64];
        snprintf(at, sizeof at, "byte %zu", o.at);
        ok(o.opened && o.records == 3 && o.corrupt && has(o.why, cases[i].says) &&
               has(o.why, at),
           "%s stops after the records before it, naming the offset: %s", cases[i].name,
           o.why);
    }
}

static void test_empty(void)
{
    const char *path = tmp_path("empty.lev");
    char err[256];
    evfile_writer *w = evfile_create(path, err, sizeof err);
    evfile_reader *r;
    size_t n = 99;
    if (!w)
        bail_out("create: %s", err);
    evfile_close(w, err, sizeof err);
    r = evfile_open(path, err, sizeof err);
    ok(r && evfile_next(r) == NULL && !evfile_truncated(r) && !evfile_corrupt(r) &&
           evfile_instruments(r, &n) && n == 0 && evfile_size(r) == 0,
       "an empty file reads as zero records and zero instruments");
    evfile_close_reader(r);
}

/* Many records through the writer's buffer (several 1 MiB flushes). */
static void test_many(void)
{
    const char *path = tmp_path("many.lev");
    char err[256];
    evfile_writer *w = evfile_create(path, err, sizeof err);
    evfile_reader *r;
    const lutra_event *ev;
    uint32_t n = 100000, seen = 0;
    int in_order = 1;
    if (!w || evfile_add_instrument(w, &sample_inst[0], err, sizeof err) != 0)
        bail_out("create: %s", err);
    for (uint32_t i = 0; i < n; i++) {
        lutra_event e = record(i % 7 == 0 ? LUTRA_EV_TRADE : LUTRA_EV_BOOK_DELTA, 0, 0, i / 3);
        e.delta.price = i;
        if (evfile_append(w, &e, err, sizeof err) < 0)
            bail_out("append: %s", err);
    }
    if (evfile_close(w, err, sizeof err) < 0)
        bail_out("close: %s", err);
    r = evfile_open(path, err, sizeof err);
    while (r && (ev = evfile_next(r))) {
        if (ev->delta.price != seen || ev->h.ts_recv != seen / 3)
            in_order = 0;
        seen++;
    }
    ok(r && seen == n && in_order && !evfile_corrupt(r) && !evfile_truncated(r),
       "100000 records through the write buffer come back in order (%u)", seen);
    evfile_close_reader(r);
    unlink(path);
}

/* ---- Resident memory stays flat on a large file ---- */

static long vm_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

enum { BLOCK_RECORDS = (1 << 20) / sizeof(lutra_book_delta), BLOCKS = 260 };

/* A file of >= 256 MiB of deltas, written a 1 MiB block at a time. */
static void write_large(const char *path)
{
    char err[256];
    evfile_writer *w = evfile_create(path, err, sizeof err);
    lutra_book_delta *block = malloc(BLOCK_RECORDS * sizeof *block);
    int fd;
    if (!w || !block || evfile_add_instrument(w, &sample_inst[0], err, sizeof err) != 0 ||
        evfile_close(w, err, sizeof err) < 0)
        bail_out("large file: %s", err);
    for (size_t i = 0; i < BLOCK_RECORDS; i++) {
        lutra_event e = record(LUTRA_EV_BOOK_DELTA, LUTRA_F_LAST, 0, 0);
        e.delta.price = (int64_t)i;
        e.delta.qty = 1;
        block[i] = e.delta;
    }
    fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0)
        bail_out("open %s: %s", path, strerror(errno));
    for (int b = 0; b < BLOCKS; b++) {
        for (size_t i = 0; i < BLOCK_RECORDS; i++)
            block[i].h.ts_recv = (int64_t)b * BLOCK_RECORDS + (int64_t)i;
        if (write(fd, block, BLOCK_RECORDS * sizeof *block) !=
            (ssize_t)(BLOCK_RECORDS * sizeof *block))
            bail_out("write %s: %s", path, strerror(errno));
    }
    close(fd);
    free(block);
}

static void test_flat_memory(void)
{
    const char *path = tmp_path("large.lev");
    char err[256];
    evfile_reader *r;
    long before, after;
    uint64_t n = 0, sum = 0;
    const lutra_event *ev;

    write_large(path);
    before = vm_rss_kib();
    r = evfile_open(path, err, sizeof err);
    if (!r)
        bail_out("open large: %s", err);
    ok(evfile_size(r) >= (UINT64_C(256) << 20), "the large file holds %" PRIu64 " MiB of records",
       evfile_size(r) >> 20);
    while ((ev = evfile_next(r))) {
        sum += (uint64_t)ev->delta.qty;
        n++;
    }
    after = vm_rss_kib();
    ok(n == (uint64_t)BLOCKS * BLOCK_RECORDS && sum == n && !evfile_corrupt(r) &&
           !evfile_truncated(r),
       "every record of the large file read (%" PRIu64 ")", n);
    ok(before > 0 && after - before < 64 * 1024,
       "resident memory grew by %ld KiB reading it (limit 65536)", after - before);
    evfile_close_reader(r);
    unlink(path);
}

int main(void)
{
    static const char *const leftovers[] = {"sample.lev", "open.lev",    "inst.lev",
                                            "order.lev",  "cut.lev",     "bad.lev",
                                            "corrupt.lev", "empty.lev"};
    unsigned char *file;
    size_t len;

    snprintf(dir, sizeof dir, "/tmp/lutra-evfile-XXXXXX");
    if (!mkdtemp(dir))
        bail_out("mkdtemp: %s", strerror(errno));
    plan(33);
    make_sample();

    test_round_trip();
    test_header_written_at_once();
    test_instrument_rules();
    test_writer_refusals();

    write_sample(tmp_path("sample.lev"), 0);
    file = slurp(tmp_path("sample.lev"), &len);
    test_truncation(file, len);
    test_header_refusals(file, len);
    test_corruption(file, len);
    free(file);

    test_empty();
    test_many();
    test_flat_memory();

    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++)
        unlink(tmp_path(leftovers[i]));
    rmdir(dir);
    return done();
}
