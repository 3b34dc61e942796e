/*
 * replay.c -- event files merged by receive time, books kept up to date
 * (through a bookset) unless the caller keeps its own.
 *
 * Each file keeps its next record (its head) ready; the next event is the
 * head with the lowest ts_recv, the earliest file winning ties, so records of
 * one file never reorder and one message's records stay together. A few
 * files make a linear scan cheaper than a heap. One file skips all of it.
 *
 * An event is handed out in place, a pointer into the file's mapping, when
 * the file's instrument indices are the registry's ids (one file, or files
 * listing the same instruments in the same order): only a file whose ids
 * must be rewritten has its records copied.
 */
#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bookset.h"
#include "evfile.h"

typedef struct replay_file {
    evfile_reader *reader;
    const lutra_event *head;   /* next record, NULL when the file is done */
    int64_t head_ts;           /* its ts_recv, INT64_MAX when done */
    uint32_t *ids;             /* file instrument index -> registry id */
    size_t instrument_count;
    int renumbered;            /* some id differs from its index: copy records */
    char *path;
    char why[320];             /* a record this replay could not apply */
} replay_file;

struct replay {
    replay_file *files;
    size_t nfiles;
    int stopped;               /* a file was corrupt: nothing more comes */
    bookset *books;            /* NULL when the caller keeps its own */
    lutra_event cur;
};

static void replay_file_free(replay_file *f)
{
    evfile_close_reader(f->reader);
    free(f->ids);
    free(f->path);
}

void replay_close(replay *rp)
{
    if (!rp)
        return;
    for (size_t i = 0; i < rp->nfiles; i++)
        replay_file_free(&rp->files[i]);
    bookset_free(rp->books);
    free(rp->files);
    free(rp);
}

/* The earlier file describing (venue, symbol), for a conflict message. */
static const char *replay_defined_in(const replay *rp, size_t upto, const lutra_instrument *def)
{
    for (size_t i = 0; i < upto; i++) {
        size_t n;
        const lutra_instrument *inst = evfile_instruments(rp->files[i].reader, &n);
        for (size_t j = 0; j < n; j++)
            if (strcmp(inst[j].venue, def->venue) == 0 && strcmp(inst[j].symbol, def->symbol) == 0)
                return rp->files[i].path;
    }
    return NULL;
}

/* Put file i's instruments into the registry and keep its id map. */
static int replay_register(replay *rp, size_t i, instrument_registry *reg, char *err,
                           size_t errlen)
{
    replay_file *f = &rp->files[i];
    const lutra_instrument *inst = evfile_instruments(f->reader, &f->instrument_count);
    f->ids = calloc(f->instrument_count ? f->instrument_count : 1, sizeof *f->ids);
    if (!f->ids) {
        snprintf(err, errlen, "%s: out of memory for the instrument map", f->path);
        return -1;
    }
    for (size_t j = 0; j < f->instrument_count; j++) {
        char why[256];
        int32_t id = instrument_registry_add(reg, &inst[j], why, sizeof why);
        if (id >= 0) {
            f->ids[j] = (uint32_t)id;
            f->renumbered |= (size_t)id != j;
            continue;
        }
        const char *other = replay_defined_in(rp, i, &inst[j]);
        if (other)
            snprintf(err, errlen, "%s conflicts with %s: %s", f->path, other, why);
        else
            snprintf(err, errlen, "%s: %s", f->path, why);
        return -1;
    }
    return 0;
}

/* Read file f's next record into its head; a corrupt record stops the replay. */
static void replay_advance(replay *rp, replay_file *f)
{
    f->head = evfile_next(f->reader);
    f->head_ts = f->head ? f->head->h.ts_recv : INT64_MAX;
    if (!f->head && evfile_corrupt(f->reader))
        rp->stopped = 1;
}

replay *replay_open(const char *const *paths, size_t n, instrument_registry *reg, char *err,
                    size_t errlen)
{
    replay *rp = calloc(1, sizeof *rp);
    if (!rp || !(rp->files = calloc(n ? n : 1, sizeof *rp->files))) {
        snprintf(err, errlen, "replay: out of memory");
        free(rp);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        replay_file *f = &rp->files[i];
        rp->nfiles = i + 1;
        if (!(f->path = strdup(paths[i]))) {
            snprintf(err, errlen, "%s: out of memory", paths[i]);
            goto fail;
        }
        if (!(f->reader = evfile_open(paths[i], err, errlen)) ||
            replay_register(rp, i, reg, err, errlen) < 0)
            goto fail;
    }
    if (!(rp->books = bookset_new())) {
        snprintf(err, errlen, "replay: out of memory for the books");
        goto fail;
    }
    if (rp->nfiles > 1)
        for (size_t i = 0; i < rp->nfiles; i++)
            replay_advance(rp, &rp->files[i]);
    return rp;
fail:
    replay_close(rp);
    return NULL;
}

/* The file whose head comes next, or NULL when all are done. */
static replay_file *replay_pick(replay *rp)
{
    replay_file *best = &rp->files[0];
    for (size_t i = 1; i < rp->nfiles; i++)
        if (rp->files[i].head_ts < best->head_ts)
            best = &rp->files[i];
    return best->head ? best : NULL;
}

/* A record the replay cannot apply stops it, like a corrupt record. */
static const lutra_event *replay_refuse(replay *rp, replay_file *f, const lutra_event *rec,
                                        const char *what)
{
    snprintf(f->why, sizeof f->why, "%s: record at byte %" PRIu64 ": %s", f->path,
             evfile_record_offset(f->reader, rec), what);
    rp->stopped = 1;
    return NULL;
}

/* Copy ev as the current event under its registry id. */
static const lutra_event *replay_renumber(replay *rp, const replay_file *f,
                                          const lutra_event *ev)
{
    /* Deltas are most of any feed: a fixed-size copy the compiler inlines. */
    if (ev->h.size == sizeof(lutra_book_delta))
        rp->cur.delta = ev->delta;
    else
        memcpy(&rp->cur, ev, ev->h.size);
    rp->cur.h.instrument = f->ids[ev->h.instrument];
    return &rp->cur;
}

/* The event under its registry id, applied to its book. */
static const lutra_event *replay_apply(replay *rp, replay_file *f, const lutra_event *ev)
{
    const lutra_event *out = f->renumbered ? replay_renumber(rp, f, ev) : ev;

    if (rp->books && bookset_apply(rp->books, out) < 0) {
        char what[96];
        if (out->h.type == LUTRA_EV_BOOK_DELTA)
            snprintf(what, sizeof what, "the book refused price %" PRId64 " qty %" PRId64,
                     out->delta.price, out->delta.qty);
        else
            snprintf(what, sizeof what, "the book refused it (out of memory)");
        return replay_refuse(rp, f, ev, what);
    }
    return out;
}

/* Several files: take the earliest head. */
static const lutra_event *replay_next_merged(replay *rp)
{
    replay_file *f = replay_pick(rp);
    const lutra_event *ev;
    if (!f)
        return NULL;
    ev = replay_apply(rp, f, f->head);
    replay_advance(rp, f);
    return ev;
}

const lutra_event *replay_next(replay *rp)
{
    const lutra_event *ev;
    if (rp->stopped)
        return NULL;
    if (rp->nfiles != 1)
        return replay_next_merged(rp);
    ev = evfile_next(rp->files->reader);
    return ev ? replay_apply(rp, rp->files, ev) : NULL;
}

int64_t replay_peek_time(replay *rp)
{
    const lutra_event *ev;
    const replay_file *f;
    if (rp->stopped)
        return INT64_MAX;
    if (rp->nfiles == 1) {
        ev = evfile_peek(rp->files->reader);
        return ev ? ev->h.ts_recv : INT64_MAX;
    }
    f = replay_pick(rp);
    return f ? f->head_ts : INT64_MAX;
}

book *replay_book(replay *rp, uint32_t instrument)
{
    return rp->books ? bookset_book(rp->books, instrument) : NULL;
}

int replay_synced(const replay *rp, uint32_t instrument)
{
    return rp->books ? bookset_synced(rp->books, instrument) : 0;
}

uint64_t replay_crossed(const replay *rp, uint32_t instrument)
{
    return rp->books ? bookset_crossed(rp->books, instrument) : 0;
}

bookset *replay_bookset(replay *rp)
{
    return rp->books;
}

void replay_keep_books(replay *rp, int keep)
{
    if (!keep) {
        bookset_free(rp->books);
        rp->books = NULL;
    }
}

double replay_progress(const replay *rp)
{
    uint64_t done = 0, total = 0;
    for (size_t i = 0; i < rp->nfiles; i++) {
        done += evfile_offset(rp->files[i].reader);
        total += evfile_size(rp->files[i].reader);
    }
    return total ? (double)done / (double)total : 1.0;
}

size_t replay_file_count(const replay *rp)
{
    return rp->nfiles;
}

const char *replay_file_path(const replay *rp, size_t i)
{
    return i < rp->nfiles ? rp->files[i].path : NULL;
}

size_t replay_file_truncated(const replay *rp, size_t i)
{
    return i < rp->nfiles ? evfile_truncated(rp->files[i].reader) : 0;
}

int replay_file_corrupt(const replay *rp, size_t i, const char **why)
{
    const replay_file *f;
    if (i >= rp->nfiles)
        return 0;
    f = &rp->files[i];
    if (f->why[0]) {
        if (why)
            *why = f->why;
        return 1;
    }
    if (evfile_corrupt(f->reader)) {
        if (why)
            *why = evfile_reader_error(f->reader);
        return 1;
    }
    return 0;
}
