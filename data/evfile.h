/*
 * evfile.h -- the native event file (docs/data-format.md).
 *
 * A versioned header that carries the instruments, then lutra_event records
 * appended in receive-time order. Writing appends through a buffer; the
 * header is rewritten in place when an instrument is added and on close, so
 * a recording cut off by a crash still describes every record in it.
 * Reading is memory-mapped and drops pages behind itself, so resident memory
 * stays flat whatever the file's size. A file cut off mid-record reads up to
 * its last whole record and says it was truncated.
 */
#ifndef LUTRA_EVFILE_H
#define LUTRA_EVFILE_H

#include <stddef.h>
#include <stdint.h>

#include "lutra_event.h"

#define EVFILE_MAGIC "LUTRAEV\n"
#define EVFILE_VERSION 1
/* Instruments one file can describe. */
#define EVFILE_MAX_INSTRUMENTS 256

/* ---- Writing ---- */

typedef struct evfile_writer evfile_writer;

/* Create (truncate) path. @return the writer, or NULL with err set. */
evfile_writer *evfile_create(const char *path, char *err, size_t errlen);

/*
 * Describe an instrument; records refer to it by the returned index.
 * Adding an identical (venue, symbol) returns its existing index.
 * @return the index (>= 0), or -1 with err set (table full, conflict, I/O).
 */
int32_t evfile_add_instrument(evfile_writer *w, const lutra_instrument *def, char *err,
                              size_t errlen);

/*
 * Append one record (head.size is set from the type; head.instrument must
 * be an index from evfile_add_instrument). Records must come in
 * non-decreasing ts_recv. @return 0, or -1 with err set (I/O, order, type).
 */
int evfile_append(evfile_writer *w, const lutra_event *ev, char *err, size_t errlen);

/* Push buffered records to the kernel (and to disk if sync). @return 0 or -1. */
int evfile_flush(evfile_writer *w, int sync, char *err, size_t errlen);

/* Flush, fsync, close, free. @return 0, or -1 with err set (w is freed anyway). */
int evfile_close(evfile_writer *w, char *err, size_t errlen);

uint64_t evfile_writer_count(const evfile_writer *w);

/* ---- Reading ---- */

typedef struct evfile_reader evfile_reader;

/* Map path and check its header. @return the reader, or NULL with err set
 * (not an event file, newer version, bad header). */
evfile_reader *evfile_open(const char *path, char *err, size_t errlen);
void evfile_close_reader(evfile_reader *r);

const lutra_instrument *evfile_instruments(const evfile_reader *r, size_t *n);

/*
 * The next record, or NULL at the end of the file, at a cut-off record
 * (evfile_truncated then says so) or at a record that is not valid
 * (evfile_corrupt). The pointer is into the mapping: valid until the reader
 * is closed, but read it before advancing far (pages behind are dropped).
 */
const lutra_event *evfile_next(evfile_reader *r);

/* The record evfile_next would return, without moving past it (NULL as
 * evfile_next would, with the same truncated or corrupt state). */
const lutra_event *evfile_peek(evfile_reader *r);

/* Start again from the first record. */
void evfile_rewind(evfile_reader *r);

/* Bytes of a cut-off last record, 0 if the file ended cleanly. */
size_t evfile_truncated(const evfile_reader *r);
/* 1 if reading stopped at an invalid record; the reason in evfile_reader_error. */
int evfile_corrupt(const evfile_reader *r);
const char *evfile_reader_error(const evfile_reader *r);

/* Bytes of records and offset reached, for progress. */
uint64_t evfile_size(const evfile_reader *r);
uint64_t evfile_offset(const evfile_reader *r);

/* Byte offset in the file of a record evfile_next returned, for messages. */
uint64_t evfile_record_offset(const evfile_reader *r, const lutra_event *ev);

#endif
