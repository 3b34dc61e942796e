/*
 * recorder.c -- the capture writer (recorder.h).
 *
 * Every file goes through zlib: mode "wb" compresses, "wbT" writes plainly,
 * so both kinds share one path. zlib buffers the writes: a message costs no
 * system call until its buffer fills or recorder_flush runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "recorder.h"

#define NS_PER_HOUR (3600LL * 1000000000LL)
/* How many taken sequence numbers a rotating recorder skips before giving up. */
#define RECORDER_MAX_SEQ 10000

struct recorder {
    gzFile gz;
    char *path;     /* as given */
    size_t stem;    /* path[0..stem) comes before the inserted name parts */
    int compress;   /* the name ends in ".gz" */
    recorder_options opt;
    int64_t hour;   /* UTC hour (ns / NS_PER_HOUR) of the current file */
    uint32_t seq;   /* the current file's sequence number in its hour */
    uint32_t files;
    uint64_t messages;
    uint64_t in_file; /* messages in the current file */
    char cur[4096]; /* the current file's name */
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Where the name parts go: before the first '.' of the last component. */
static size_t recorder_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot;

    base = base ? base + 1 : path;
    dot = strchr(base + (*base == '.'), '.');
    return dot ? (size_t)(dot - path) : strlen(path);
}

/* The file name for the current hour and sequence number. @return 0 or -1. */
static int recorder_name(recorder *r, char *err, size_t errlen)
{
    char parts[64] = "";
    size_t at = 0;
    int n;

    if (r->opt.rotate_hourly) {
        time_t t = (time_t)(r->hour * 3600);
        struct tm tm;
        gmtime_r(&t, &tm);
        at += strftime(parts, sizeof parts, ".%Y%m%d%H", &tm);
    }
    if (r->opt.rotate_bytes > 0)
        snprintf(parts + at, sizeof parts - at, ".%04" PRIu32, r->seq);
    n = snprintf(r->cur, sizeof r->cur, "%.*s%s%s", (int)r->stem, r->path, parts,
                 r->path + r->stem);
    if (n < 0 || (size_t)n >= sizeof r->cur) {
        snprintf(err, errlen, "cannot record to %s: the name is too long", r->path);
        return -1;
    }
    return 0;
}

/* Create the current file, never over an existing one: a rotating recorder
 * moves on to the next free sequence number. @return 0 or -1. */
static int recorder_create(recorder *r, char *err, size_t errlen)
{
    const char *mode = r->compress ? "wbx" : "wbxT";
    int rotating = r->opt.rotate_bytes > 0;

    for (uint32_t tries = 0; tries < RECORDER_MAX_SEQ; tries++, r->seq++) {
        if (recorder_name(r, err, errlen) < 0)
            return -1;
        errno = 0;
        r->gz = gzopen(r->cur, mode);
        if (r->gz) {
            r->files++;
            r->in_file = 0;
            return 0;
        }
        if (errno != EEXIST || !rotating)
            break;
    }
    snprintf(err, errlen, "cannot create %s: %s", r->cur,
             errno == EEXIST ? "it exists (a recording is never overwritten)"
             : errno         ? strerror(errno)
                             : "out of memory");
    return -1;
}

recorder *recorder_open(const char *path, const recorder_options *opt, int64_t now_ns,
                        char *err, size_t errlen)
{
    recorder *r = calloc(1, sizeof *r);

    if (!r || !(r->path = strdup(path))) {
        snprintf(err, errlen, "cannot record to %s: out of memory", path);
        free(r);
        return NULL;
    }
    if (opt)
        r->opt = *opt;
    r->compress = ends_with(path, ".gz");
    r->stem = recorder_stem(path);
    r->hour = now_ns / NS_PER_HOUR;
    if (recorder_create(r, err, errlen) < 0) {
        free(r->path);
        free(r);
        return NULL;
    }
    return r;
}

/* Finish the current file. @return 0 or -1. */
static int recorder_finish(recorder *r, char *err, size_t errlen)
{
    int rc = gzclose(r->gz);

    r->gz = NULL;
    if (rc != Z_OK) {
        snprintf(err, errlen, "cannot finish %s: %s", r->cur,
                 rc == Z_ERRNO ? strerror(errno) : "zlib error");
        return -1;
    }
    return 0;
}

/* Close the current file; the next message opens the next one, so a
 * rotation never leaves an empty file behind. @return 0 or -1. */
static int recorder_rotate(recorder *r, int64_t hour, char *err, size_t errlen)
{
    if (r->gz && recorder_finish(r, err, errlen) < 0)
        return -1;
    if (hour != r->hour)
        r->seq = 0;
    else
        r->seq++;
    r->hour = hour;
    return 0;
}

static int recorder_failed(recorder *r, char *err, size_t errlen)
{
    int zerr;
    const char *msg = gzerror(r->gz, &zerr);

    snprintf(err, errlen, "cannot write %s: %s", r->cur,
             zerr == Z_ERRNO ? strerror(errno) : msg);
    return -1;
}

/* msg with each CR and LF written as a space. @return 0 or -1. */
static int recorder_put_one_line(recorder *r, const char *msg, size_t len, char *err,
                                 size_t errlen)
{
    while (len > 0) {
        size_t n = 0;
        while (n < len && msg[n] != '\n' && msg[n] != '\r')
            n++;
        if (n > 0 && gzwrite(r->gz, msg, (unsigned)n) != (int)n)
            return recorder_failed(r, err, errlen);
        if (n == len)
            break;
        if (gzputc(r->gz, ' ') < 0)
            return recorder_failed(r, err, errlen);
        msg += n + 1;
        len -= n + 1;
    }
    return 0;
}

int recorder_write(recorder *r, int64_t recv_ns, const char *msg, size_t len, char *err,
                   size_t errlen)
{
    char head[32];
    int n;

    if (r->opt.rotate_hourly && recv_ns / NS_PER_HOUR != r->hour &&
        recorder_rotate(r, recv_ns / NS_PER_HOUR, err, errlen) < 0)
        return -1;
    if (!r->gz && recorder_create(r, err, errlen) < 0)
        return -1;
    n = snprintf(head, sizeof head, "%" PRId64 " ", recv_ns);
    if (gzwrite(r->gz, head, (unsigned)n) != n)
        return recorder_failed(r, err, errlen);
    if (recorder_put_one_line(r, msg, len, err, errlen) < 0)
        return -1;
    if (gzputc(r->gz, '\n') < 0)
        return recorder_failed(r, err, errlen);
    r->messages++;
    r->in_file++;
    return 0;
}

int recorder_flush(recorder *r, char *err, size_t errlen)
{
    z_off_t size;

    if (!r->gz)
        return 0; /* rotated, nothing written since */
    if (gzflush(r->gz, Z_SYNC_FLUSH) != Z_OK)
        return recorder_failed(r, err, errlen);
    if (r->opt.rotate_bytes <= 0 || r->in_file == 0)
        return 0;
    /* Once per flush, not per message: gzoffset costs a system call. */
    size = gzoffset(r->gz);
    if (size >= 0 && size >= r->opt.rotate_bytes)
        return recorder_rotate(r, r->hour, err, errlen);
    return 0;
}

const char *recorder_path(const recorder *r)
{
    return r->cur;
}

uint64_t recorder_messages(const recorder *r)
{
    return r->messages;
}

uint32_t recorder_files(const recorder *r)
{
    return r->files;
}

int recorder_close(recorder *r, char *err, size_t errlen)
{
    int rc = 0;

    if (!r)
        return 0;
    if (r->gz)
        rc = recorder_finish(r, err, errlen);
    free(r->path);
    free(r);
    return rc;
}
