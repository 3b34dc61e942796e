/*
 * evfile.c -- the native event file: writer and memory-mapped reader.
 *
 * Layout (docs/data-format.md): a 64-byte header, a table of
 * instrument_capacity instrument entries of 128 bytes, then records back to
 * back, each head.size bytes. Everything is little-endian and stored as the
 * structs of lutra_event.h, so a record is read in place through a pointer
 * into the mapping: nothing is decoded or copied on the hot path.
 */
#include "evfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "instrument.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the event file stores host structs: lutra needs a little-endian host"
#endif

/* The fixed part of the header. Field offsets are part of the format. */
typedef struct evfile_header {
    char magic[8];                /* EVFILE_MAGIC */
    uint16_t version;             /* EVFILE_VERSION */
    uint16_t flags;               /* none defined in version 1: written 0 */
    uint32_t header_size;         /* bytes before the instrument table */
    uint32_t instrument_count;    /* entries in use */
    uint32_t instrument_capacity; /* entries reserved */
    int64_t created_ns;           /* wall clock at creation, informational */
    uint8_t reserved[32];         /* zeros */
} evfile_header;

_Static_assert(sizeof(evfile_header) == 64, "event file header is 64 bytes");

#define EVFILE_HEADER_SIZE ((uint32_t)sizeof(evfile_header))
#define EVFILE_WRITE_BUFFER (1u << 20)
/* The reader gives pages back to the kernel each time it has read this much. */
#define EVFILE_DROP_BYTES ((size_t)64 << 20)
#define EVFILE_PREFETCH_BYTES 4096

static void evfile_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void evfile_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static uint64_t evfile_records_offset(uint32_t header_size, uint32_t capacity)
{
    return (uint64_t)header_size + (uint64_t)capacity * sizeof(lutra_instrument);
}

/* ---- Writing ---- */

struct evfile_writer {
    int fd;
    int failed;           /* a write failed: the file's tail is unknown */
    char *path;
    instrument_registry *reg;
    evfile_header header;
    lutra_instrument instruments[EVFILE_MAX_INSTRUMENTS];
    unsigned char *buf;   /* records not yet written */
    size_t used;
    uint64_t count;
    int64_t last_ts_recv;
};

/*
 * Write all of n bytes at offset off, or at the file position when off < 0.
 * Short writes and EINTR are retried. @return 0, or -1 with errno set.
 */
static int evfile_write_full(int fd, const void *p, size_t n, off_t off)
{
    const unsigned char *at = p;
    while (n > 0) {
        ssize_t k = off < 0 ? write(fd, at, n) : pwrite(fd, at, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        at += k;
        n -= (size_t)k;
        if (off >= 0)
            off += k;
    }
    return 0;
}

static void evfile_writer_free(evfile_writer *w)
{
    instrument_registry_free(w->reg);
    free(w->buf);
    free(w->path);
    free(w);
}

/* Write the header and the instrument table's used entries in place. The
 * entries go first: a crash between the two leaves the old count, which
 * still describes every record written so far. */
static int evfile_write_table(evfile_writer *w, uint32_t from, char *err, size_t errlen)
{
    off_t at = (off_t)w->header.header_size + (off_t)from * (off_t)sizeof(lutra_instrument);
    size_t n = (w->header.instrument_count - from) * sizeof(lutra_instrument);
    if (evfile_write_full(w->fd, &w->instruments[from], n, at) < 0 ||
        evfile_write_full(w->fd, &w->header, sizeof w->header, 0) < 0) {
        evfile_error(err, errlen, "%s: cannot write the header: %s", w->path, strerror(errno));
        w->failed = 1;
        return -1;
    }
    return 0;
}

evfile_writer *evfile_create(const char *path, char *err, size_t errlen)
{
    evfile_writer *w = calloc(1, sizeof *w);
    struct timespec now;
    if (!w || !(w->path = strdup(path)) || !(w->buf = malloc(EVFILE_WRITE_BUFFER)) ||
        !(w->reg = instrument_registry_new())) {
        evfile_error(err, errlen, "%s: out of memory for the writer", path);
        if (w)
            evfile_writer_free(w);
        return NULL;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        evfile_error(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        evfile_writer_free(w);
        return NULL;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    memcpy(w->header.magic, EVFILE_MAGIC, sizeof w->header.magic);
    w->header.version = EVFILE_VERSION;
    w->header.header_size = EVFILE_HEADER_SIZE;
    w->header.instrument_capacity = EVFILE_MAX_INSTRUMENTS;
    w->header.created_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    w->last_ts_recv = INT64_MIN;
    /* Header and the whole (zeroed) table now, so records start at a fixed
     * offset and adding an instrument later never moves them. */
    if (evfile_write_full(w->fd, &w->header, sizeof w->header, -1) < 0 ||
        evfile_write_full(w->fd, w->instruments, sizeof w->instruments, -1) < 0) {
        evfile_error(err, errlen, "%s: cannot write the header: %s", path, strerror(errno));
        close(w->fd);
        unlink(path);
        evfile_writer_free(w);
        return NULL;
    }
    return w;
}

/*
 * The writer keeps its instruments in a registry too: one place decides what
 * a valid definition is and when two definitions of a (venue, symbol)
 * conflict, and indices in the file match the registry's ids (both count up
 * from 0 in the order added).
 */
int32_t evfile_add_instrument(evfile_writer *w, const lutra_instrument *def, char *err,
                              size_t errlen)
{
    uint32_t n = w->header.instrument_count;
    int named = memchr(def->venue, '\0', sizeof def->venue) &&
                memchr(def->symbol, '\0', sizeof def->symbol);
    int known = named && instrument_registry_find(w->reg, def->venue, def->symbol) >= 0;
    int32_t id;
    char why[256];
    /* What cannot be stored must not reach the registry: it would keep it. */
    if (!known && n == EVFILE_MAX_INSTRUMENTS) {
        evfile_error(err, errlen, "%s: cannot add %.16s:%.32s: a file holds at most %d instruments",
                     w->path, def->venue, def->symbol, EVFILE_MAX_INSTRUMENTS);
        return -1;
    }
    if (!known && w->failed) {
        evfile_error(err, errlen, "%s: an earlier write failed", w->path);
        return -1;
    }
    id = instrument_registry_add(w->reg, def, why, sizeof why);
    if (id < 0) {
        evfile_error(err, errlen, "%s: %s", w->path, why);
        return -1;
    }
    if ((uint32_t)id < n)
        return id;
    w->instruments[n] = *instrument_registry_get(w->reg, (uint32_t)id);
    w->header.instrument_count = n + 1;
    if (evfile_write_table(w, n, err, errlen) < 0)
        return -1;
    return id;
}

static int evfile_write_buffer(evfile_writer *w, char *err, size_t errlen)
{
    if (w->failed) {
        evfile_error(err, errlen, "%s: an earlier write failed", w->path);
        return -1;
    }
    if (evfile_write_full(w->fd, w->buf, w->used, -1) < 0) {
        evfile_error(err, errlen, "%s: cannot write records: %s", w->path, strerror(errno));
        w->failed = 1;
        return -1;
    }
    w->used = 0;
    return 0;
}

int evfile_append(evfile_writer *w, const lutra_event *ev, char *err, size_t errlen)
{
    uint16_t size = lutra_event_size(ev->h.type);
    lutra_event_head *head;
    if (size == 0) {
        evfile_error(err, errlen, "%s: record %" PRIu64 ": unknown record type %u", w->path,
                     w->count, ev->h.type);
        return -1;
    }
    if (ev->h.instrument >= w->header.instrument_count) {
        evfile_error(err, errlen,
                     "%s: record %" PRIu64 ": instrument %" PRIu32
                     " is not in the file (%" PRIu32 " added)",
                     w->path, w->count, ev->h.instrument, w->header.instrument_count);
        return -1;
    }
    if (ev->h.ts_recv < w->last_ts_recv) {
        evfile_error(err, errlen,
                     "%s: record %" PRIu64 ": ts_recv %" PRId64
                     " is before the previous record's %" PRId64
                     " (records must come in receive-time order)",
                     w->path, w->count, ev->h.ts_recv, w->last_ts_recv);
        return -1;
    }
    if (w->used + size > EVFILE_WRITE_BUFFER && evfile_write_buffer(w, err, errlen) < 0)
        return -1;
    head = (lutra_event_head *)(w->buf + w->used);
    memcpy(head, ev, size);
    head->size = size;
    w->used += size;
    w->count++;
    w->last_ts_recv = ev->h.ts_recv;
    return 0;
}

int evfile_flush(evfile_writer *w, int sync, char *err, size_t errlen)
{
    if (w->used > 0 && evfile_write_buffer(w, err, errlen) < 0)
        return -1;
    if (sync && fsync(w->fd) < 0) {
        evfile_error(err, errlen, "%s: fsync: %s", w->path, strerror(errno));
        return -1;
    }
    return 0;
}

int evfile_close(evfile_writer *w, char *err, size_t errlen)
{
    int rc = evfile_flush(w, 1, err, errlen);
    if (close(w->fd) < 0 && rc == 0) {
        evfile_error(err, errlen, "%s: close: %s", w->path, strerror(errno));
        rc = -1;
    }
    evfile_writer_free(w);
    return rc;
}

uint64_t evfile_writer_count(const evfile_writer *w)
{
    return w->count;
}

/* ---- Reading ---- */

struct evfile_reader {
    const unsigned char *pos;     /* next record */
    const unsigned char *end;     /* end of the records; pos at a bad record stops there */
    const unsigned char *drop_at; /* pages behind are dropped when pos passes this */
    int64_t last_ts_recv;
    uint32_t instrument_count;
    uint16_t sizes[256];          /* record size by type, 0 for unknown types */
    const unsigned char *map;
    size_t map_size;
    const unsigned char *records; /* first record */
    const unsigned char *file_end;
    const unsigned char *dropped; /* pages below this were given back */
    size_t page;
    size_t truncated;
    int corrupt;
    char *path;
    char error[320];
};

static void evfile_reader_free(evfile_reader *r)
{
    if (r->map)
        munmap((void *)r->map, r->map_size);
    free(r->path);
    free(r);
}

/* Check the fixed header against the file's size. @return 0, or -1 with err. */
static int evfile_check_header(const evfile_header *h, uint64_t file_size, const char *path,
                               char *err, size_t errlen)
{
    uint64_t records;
    if (h->version == 0) {
        evfile_error(err, errlen, "%s: bad header: format version 0", path);
        return -1;
    }
    if (h->version > EVFILE_VERSION) {
        evfile_error(err, errlen,
                     "%s: written by a newer lutra (format version %u, this lutra reads up to %d)",
                     path, h->version, EVFILE_VERSION);
        return -1;
    }
    if (h->header_size < EVFILE_HEADER_SIZE || h->header_size % 64 != 0) {
        evfile_error(err, errlen, "%s: bad header: header_size %" PRIu32
                     " is not a multiple of 64 of at least 64", path, h->header_size);
        return -1;
    }
    if (h->instrument_count > h->instrument_capacity) {
        evfile_error(err, errlen,
                     "%s: bad header: instrument_count %" PRIu32
                     " exceeds instrument_capacity %" PRIu32,
                     path, h->instrument_count, h->instrument_capacity);
        return -1;
    }
    records = evfile_records_offset(h->header_size, h->instrument_capacity);
    if (records > file_size) {
        evfile_error(err, errlen,
                     "%s: cut off in its header: the header and instrument table need %" PRIu64
                     " bytes, the file has %" PRIu64, path, records, file_size);
        return -1;
    }
    return 0;
}

/* Instruments are used as C strings and as the engine's definitions: check
 * them as the registry would (replay adds them to one). */
static int evfile_check_instruments(const lutra_instrument *inst, uint32_t n, const char *path,
                                    char *err, size_t errlen)
{
    instrument_registry *reg = instrument_registry_new();
    int rc = 0;
    if (!reg) {
        evfile_error(err, errlen, "%s: out of memory for the instruments", path);
        return -1;
    }
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        char why[256];
        if (instrument_registry_add(reg, &inst[i], why, sizeof why) < 0) {
            evfile_error(err, errlen, "%s: bad instrument entry %" PRIu32 ": %s", path, i, why);
            rc = -1;
        }
    }
    instrument_registry_free(reg);
    return rc;
}

/* Read and check the header of an open file and map it. @return 0 or -1. */
static int evfile_map(evfile_reader *r, int fd, char *err, size_t errlen)
{
    struct stat st;
    evfile_header h;
    uint64_t size;
    if (fstat(fd, &st) < 0) {
        evfile_error(err, errlen, "%s: fstat: %s", r->path, strerror(errno));
        return -1;
    }
    size = (uint64_t)st.st_size;
    memset(&h, 0, sizeof h);
    if (size > 0 && pread(fd, &h, size < sizeof h ? size : sizeof h, 0) < 0) {
        evfile_error(err, errlen, "%s: read: %s", r->path, strerror(errno));
        return -1;
    }
    /* A file shorter than the magic but agreeing with it was cut off. */
    if (size == 0 ||
        memcmp(h.magic, EVFILE_MAGIC, size < sizeof h.magic ? size : sizeof h.magic) != 0) {
        evfile_error(err, errlen, "%s: not a lutra event file (%s)", r->path,
                     size ? "it does not start with \"LUTRAEV\"" : "it is empty");
        return -1;
    }
    if (size < sizeof h) {
        evfile_error(err, errlen,
                     "%s: cut off in its header: %" PRIu64 " bytes, the header alone needs %zu",
                     r->path, size, sizeof h);
        return -1;
    }
    if (evfile_check_header(&h, size, r->path, err, errlen) < 0)
        return -1;
    r->map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (r->map == MAP_FAILED) {
        r->map = NULL;
        evfile_error(err, errlen, "%s: mmap: %s", r->path, strerror(errno));
        return -1;
    }
    r->map_size = (size_t)size;
    madvise((void *)r->map, r->map_size, MADV_SEQUENTIAL);
    r->instrument_count = h.instrument_count;
    r->records = r->map + evfile_records_offset(h.header_size, h.instrument_capacity);
    r->file_end = r->map + size;
    return evfile_check_instruments(evfile_instruments(r, NULL), h.instrument_count, r->path,
                                    err, errlen);
}

evfile_reader *evfile_open(const char *path, char *err, size_t errlen)
{
    evfile_reader *r = calloc(1, sizeof *r);
    int fd, rc;
    if (!r || !(r->path = strdup(path))) {
        evfile_error(err, errlen, "%s: out of memory for the reader", path);
        free(r);
        return NULL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        evfile_error(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        evfile_reader_free(r);
        return NULL;
    }
    rc = evfile_map(r, fd, err, errlen);
    close(fd); /* the mapping keeps the file */
    if (rc < 0) {
        evfile_reader_free(r);
        return NULL;
    }
    r->page = (size_t)sysconf(_SC_PAGESIZE);
    for (unsigned t = 0; t < 256; t++)
        r->sizes[t] = lutra_event_size(t);
    evfile_rewind(r);
    return r;
}

void evfile_close_reader(evfile_reader *r)
{
    if (r)
        evfile_reader_free(r);
}

const lutra_instrument *evfile_instruments(const evfile_reader *r, size_t *n)
{
    const evfile_header *h = (const evfile_header *)r->map;
    if (n)
        *n = r->instrument_count;
    return (const lutra_instrument *)(r->map + h->header_size);
}

void evfile_rewind(evfile_reader *r)
{
    uintptr_t first_page = ((uintptr_t)r->records + r->page - 1) & ~(uintptr_t)(r->page - 1);
    r->pos = r->records;
    r->end = r->file_end;
    r->dropped = (const unsigned char *)first_page;
    r->drop_at = r->dropped + EVFILE_DROP_BYTES;
    r->last_ts_recv = INT64_MIN;
    r->truncated = 0;
    r->corrupt = 0;
    r->error[0] = '\0';
}

/* Give back the pages wholly below `upto` (the header's pages are kept). */
static void evfile_drop_behind(evfile_reader *r, const unsigned char *upto)
{
    const unsigned char *to =
        (const unsigned char *)((uintptr_t)upto & ~(uintptr_t)(r->page - 1));
    if (to > r->dropped) {
        madvise((void *)r->dropped, (size_t)(to - r->dropped), MADV_DONTNEED);
        r->dropped = to;
    }
    r->drop_at = r->dropped + EVFILE_DROP_BYTES;
}

/* Why reading stops at pos: the clean end, a cut-off record, or a bad one. */
static const lutra_event *evfile_stop(evfile_reader *r)
{
    size_t left = (size_t)(r->end - r->pos);
    uint64_t at = (uint64_t)(r->pos - r->map);
    const lutra_event_head *h = (const lutra_event_head *)r->pos;
    uint16_t want;
    if (left == 0) {
        evfile_drop_behind(r, r->end);
        return NULL;
    }
    if (left < sizeof *h) {
        r->truncated = left;
        snprintf(r->error, sizeof r->error,
                 "%s: cut off: the last record at byte %" PRIu64 " has only %zu bytes",
                 r->path, at, left);
        return NULL;
    }
    want = r->sizes[h->type];
    if (want == 0)
        snprintf(r->error, sizeof r->error,
                 "%s: corrupt record at byte %" PRIu64 ": unknown record type %u", r->path, at,
                 h->type);
    else if (h->size != want)
        snprintf(r->error, sizeof r->error,
                 "%s: corrupt record at byte %" PRIu64 ": size %u, a type %u record has %u",
                 r->path, at, h->size, h->type, want);
    else if (h->instrument >= r->instrument_count)
        snprintf(r->error, sizeof r->error,
                 "%s: corrupt record at byte %" PRIu64 ": instrument %" PRIu32
                 " but the file describes %" PRIu32,
                 r->path, at, h->instrument, r->instrument_count);
    else if (h->ts_recv < r->last_ts_recv)
        snprintf(r->error, sizeof r->error,
                 "%s: corrupt record at byte %" PRIu64 ": ts_recv %" PRId64
                 " is before the previous record's %" PRId64,
                 r->path, at, h->ts_recv, r->last_ts_recv);
    else {
        r->truncated = left;
        snprintf(r->error, sizeof r->error,
                 "%s: cut off: the last record at byte %" PRIu64 " has %zu of its %u bytes",
                 r->path, at, left, want);
        return NULL;
    }
    r->corrupt = 1;
    r->end = r->pos; /* later calls end at once */
    return NULL;
}

const lutra_event *evfile_next(evfile_reader *r)
{
    const lutra_event *ev = (const lutra_event *)r->pos;
    size_t left = (size_t)(r->end - r->pos);
    uint16_t want;
    if (__builtin_expect(left < sizeof(lutra_event_head), 0))
        return evfile_stop(r);
    want = r->sizes[ev->h.type];
    if (__builtin_expect((want == 0) | (want != ev->h.size) | (left < want) |
                             (ev->h.instrument >= r->instrument_count) |
                             (ev->h.ts_recv < r->last_ts_recv),
                         0))
        return evfile_stop(r);
    r->pos += want;
    r->last_ts_recv = ev->h.ts_recv;
    /* The hardware prefetcher stops at page boundaries; asking for the line
     * a page ahead tripled the reader's speed (bench/replay). A prefetch
     * past the mapping's end is harmless: it never faults. */
    __builtin_prefetch((const void *)((uintptr_t)r->pos + EVFILE_PREFETCH_BYTES));
    if (__builtin_expect(r->pos >= r->drop_at, 0))
        evfile_drop_behind(r, (const unsigned char *)ev);
    return ev;
}

const lutra_event *evfile_peek(evfile_reader *r)
{
    const unsigned char *pos = r->pos;
    int64_t last = r->last_ts_recv;
    const lutra_event *ev = evfile_next(r);
    if (ev) {
        r->pos = pos;
        r->last_ts_recv = last;
    }
    return ev;
}

size_t evfile_truncated(const evfile_reader *r)
{
    return r->truncated;
}

int evfile_corrupt(const evfile_reader *r)
{
    return r->corrupt;
}

const char *evfile_reader_error(const evfile_reader *r)
{
    return r->error;
}

uint64_t evfile_size(const evfile_reader *r)
{
    return (uint64_t)(r->file_end - r->records);
}

uint64_t evfile_offset(const evfile_reader *r)
{
    return (uint64_t)(r->pos - r->records);
}

uint64_t evfile_record_offset(const evfile_reader *r, const lutra_event *ev)
{
    return (uint64_t)((const unsigned char *)ev - r->map);
}
