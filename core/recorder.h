/*
 * recorder.h -- the capture writer of `lutra record`: one line per received
 * market-data message, "<recv_ns> <message>\n", the format data/import
 * reads back as "capture" through the connector's own decode.
 *
 * A name ending in ".gz" is written gzip-compressed, any other plainly.
 * recorder_flush pushes everything written so far to the file (a gzip
 * Z_SYNC_FLUSH): call it about once a second, so a recording whose process
 * is killed stays readable up to its last flush (lineread stops cleanly at
 * the cut and drops a partial line).
 *
 * Rotation: with rotate_bytes the recorder finishes the current file at the
 * first flush that finds it at or over that size on disk (so a file
 * overshoots by up to one flush interval of data), and the next message
 * opens the next file, so no empty file is left behind; with rotate_hourly
 * it moves to a new file at the first message of a new UTC hour. A rotating recorder names its files
 * by inserting before the first '.' of the given name's last component:
 * ".<YYYYMMDDHH>" (hourly), then ".<NNNN>" (by size, from 0000, per hour),
 * so "btc.gz" gives btc.0000.gz, btc.0001.gz ... or btc.2024080812.gz ...
 * Names sort in time order; `lutra import btc.*.gz` reads them together.
 * An existing file is never overwritten: a fixed name is refused, a
 * rotating recorder skips to the next free sequence number.
 *
 * Not thread-safe: one thread (the engine's) writes and flushes.
 */
#ifndef LUTRA_RECORDER_H
#define LUTRA_RECORDER_H

#include <stddef.h>
#include <stdint.h>

typedef struct recorder recorder;

typedef struct recorder_options {
    int64_t rotate_bytes; /* > 0: rotate by size (see above) */
    int rotate_hourly;    /* 1: a file per UTC hour */
} recorder_options;

/*
 * Open the first file; now_ns (ns since the epoch) names its hour when
 * rotating hourly. opt may be NULL (one file, no rotation).
 * @return the recorder, or NULL with err naming the file and the reason.
 */
recorder *recorder_open(const char *path, const recorder_options *opt, int64_t now_ns,
                        char *err, size_t errlen);

/*
 * Append one message. A raw CR or LF in msg (JSON whitespace, never inside
 * a string) is written as a space, so the message stays one line.
 * @return 0, or -1 with err set (the file is then unusable: close it).
 */
int recorder_write(recorder *r, int64_t recv_ns, const char *msg, size_t len, char *err,
                   size_t errlen);

/* Push what was written to the file, then rotate by size if due.
 * @return 0, or -1 with err set. */
int recorder_flush(recorder *r, char *err, size_t errlen);

/* The file being written now (after a rotation: the last one). */
const char *recorder_path(const recorder *r);

/* Messages written and files opened so far. */
uint64_t recorder_messages(const recorder *r);
uint32_t recorder_files(const recorder *r);

/* Finish the current file (a complete gzip stream). @return 0, or -1 with
 * err set; the recorder is freed either way. NULL is accepted. */
int recorder_close(recorder *r, char *err, size_t errlen);

#endif
