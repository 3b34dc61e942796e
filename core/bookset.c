/*
 * bookset.c -- books by instrument id, their synced state and crossed count.
 */
#include "bookset.h"

#include "grow.h"
#include <stdlib.h>
#include <string.h>

typedef struct bookset_entry {
    book *book;       /* NULL until its first book record */
    int synced;
    uint64_t crossed;
} bookset_entry;

struct bookset {
    bookset_entry *e; /* by instrument id */
    size_t n;
};

bookset *bookset_new(void)
{
    return calloc(1, sizeof(bookset));
}

void bookset_free(bookset *bs)
{
    if (!bs)
        return;
    for (size_t i = 0; i < bs->n; i++)
        book_free(bs->e[i].book);
    free(bs->e);
    free(bs);
}

static bookset_entry *bookset_entry_for(bookset *bs, uint32_t id)
{
    bookset_entry *e;
    if (id < bs->n) /* every record: no call */
        return &bs->e[id];
    if (!(e = grow_to_index(bs->e, &bs->n, id, sizeof *e, 8)))
        return NULL;
    bs->e = e;
    return &e[id];
}

/* A CLEAR opens a snapshot (synced) unless it lacks the snapshot flag: then
 * the deltas that follow build the book alone, which is never synced. */
static int bookset_apply_book(bookset_entry *st, const lutra_event *ev)
{
    if (!st->book && !(st->book = book_new()))
        return -1;
    if (book_apply_event(st->book, ev) < 0)
        return -1;
    if (ev->h.type == LUTRA_EV_BOOK_CLEAR)
        st->synced = (ev->h.flags & LUTRA_F_SNAPSHOT) != 0;
    if ((ev->h.flags & LUTRA_F_LAST) && book_is_crossed(st->book))
        st->crossed++;
    return 0;
}

int bookset_apply(bookset *bs, const lutra_event *ev)
{
    bookset_entry *st;

    switch (ev->h.type) {
    case LUTRA_EV_BOOK_CLEAR:
    case LUTRA_EV_BOOK_DELTA:
        st = bookset_entry_for(bs, ev->h.instrument);
        return st ? bookset_apply_book(st, ev) : -1;
    case LUTRA_EV_STATUS:
        if (!(st = bookset_entry_for(bs, ev->h.instrument)))
            return -1;
        if (ev->status.state == LUTRA_FEED_READY)
            st->synced = 1;
        else if (ev->status.state == LUTRA_FEED_SYNCING ||
                 ev->status.state == LUTRA_FEED_DISCONNECTED)
            st->synced = 0;
        return 0;
    default:
        return 0;
    }
}

book *bookset_book(const bookset *bs, uint32_t instrument)
{
    return instrument < bs->n ? bs->e[instrument].book : NULL;
}

int bookset_synced(const bookset *bs, uint32_t instrument)
{
    return instrument < bs->n ? bs->e[instrument].synced : 0;
}

uint64_t bookset_crossed(const bookset *bs, uint32_t instrument)
{
    return instrument < bs->n ? bs->e[instrument].crossed : 0;
}
