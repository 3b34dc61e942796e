/*
 * lineread.c -- lines of a plain or gzip text file (see lineread.h).
 *
 * zlib reads both: gzread passes a file that is not gzip through unchanged.
 * Input comes in big blocks (a 256 KiB zlib buffer and a 256 KiB block of
 * ours), so reading a line is a memchr and a memcpy, never a system call.
 * Each line is copied into its own buffer because the bytes after it must
 * be the line's NUL and JSON_PADDING zeroed bytes, not the next line.
 */
#include "lineread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "json.h"

#define LINEREAD_BLOCK (256u * 1024u)

struct lineread {
    gzFile gz;
    char *path;        /* for messages */
    char *block;       /* raw bytes read, not yet returned */
    size_t pos, end;   /* unread bytes are block[pos..end) */
    int eof;           /* gzread has returned 0 */
    int truncated;     /* the gzip stream ended mid-way (see lineread.h) */
    char *line;        /* the line handed out, NUL and padding after it */
    size_t line_len, line_cap;
    uint64_t lineno;
    uint64_t file_size;
};

static int lineread_open_gz(lineread *lr, const char *path, char *err, size_t errlen)
{
    int is_stdin = strcmp(path, "-") == 0;
    struct stat st;

    errno = 0;
    if (is_stdin) {
        /* gzclose closes the descriptor: give zlib a copy, keep stdin. */
        int fd = dup(0);
        if (fd >= 0 && !(lr->gz = gzdopen(fd, "rb")))
            close(fd);
    } else {
        lr->gz = gzopen(path, "rb");
    }
    if (!lr->gz) {
        snprintf(err, errlen, "cannot open %s: %s", is_stdin ? "standard input" : path,
                 errno ? strerror(errno) : "out of memory");
        return -1;
    }
    if (gzbuffer(lr->gz, LINEREAD_BLOCK) != 0) {
        snprintf(err, errlen, "cannot open %s: zlib refused its buffer size", path);
        return -1;
    }
    /* A pipe has no size: progress then shows rows only. */
    if ((is_stdin ? fstat(0, &st) : stat(path, &st)) == 0 && S_ISREG(st.st_mode))
        lr->file_size = (uint64_t)st.st_size;
    return 0;
}

lineread *lineread_open(const char *path, char *err, size_t errlen)
{
    lineread *lr = calloc(1, sizeof *lr);

    if (!lr) {
        snprintf(err, errlen, "cannot open %s: out of memory", path);
        return NULL;
    }
    lr->path = strdup(path);
    lr->block = malloc(LINEREAD_BLOCK);
    lr->line_cap = 4096;
    lr->line = calloc(1, lr->line_cap + 1 + JSON_PADDING);
    if (!lr->path || !lr->block || !lr->line) {
        snprintf(err, errlen, "cannot open %s: out of memory", path);
        lineread_close(lr);
        return NULL;
    }
    if (lineread_open_gz(lr, path, err, errlen) < 0) {
        lineread_close(lr);
        return NULL;
    }
    return lr;
}

void lineread_close(lineread *lr)
{
    if (!lr)
        return;
    if (lr->gz)
        gzclose(lr->gz);
    free(lr->path);
    free(lr->block);
    free(lr->line);
    free(lr);
}

/* Append n bytes to the line being assembled, growing its buffer. */
static int lineread_append(lineread *lr, const char *s, size_t n, char *err, size_t errlen)
{
    if (lr->line_len + n > lr->line_cap) {
        size_t cap = lr->line_cap;
        char *p;
        while (cap < lr->line_len + n)
            cap *= 2;
        p = realloc(lr->line, cap + 1 + JSON_PADDING);
        if (!p) {
            snprintf(err, errlen, "%s:%llu: line too long for memory", lr->path,
                     (unsigned long long)lr->lineno + 1);
            return -1;
        }
        lr->line = p;
        lr->line_cap = cap;
    }
    memcpy(lr->line + lr->line_len, s, n);
    lr->line_len += n;
    return 0;
}

/* zlib's message without the path it puts first. */
static const char *lineread_zerror(lineread *lr, int *zerr)
{
    const char *msg = gzerror(lr->gz, zerr);
    size_t n = strlen(lr->path);

    if (strncmp(msg, lr->path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        msg += n + 2;
    return msg;
}

/* Refill the block. @return bytes read, 0 at the end, -1 on error. */
static int lineread_fill(lineread *lr, char *err, size_t errlen)
{
    int n, zerr;
    const char *msg;

    if (lr->eof)
        return 0;
    n = gzread(lr->gz, lr->block, LINEREAD_BLOCK);
    if (n < 0) {
        msg = lineread_zerror(lr, &zerr);
        snprintf(err, errlen, "cannot read %s: %s", lr->path,
                 zerr == Z_ERRNO ? strerror(errno) : msg);
        return -1;
    }
    if (n == 0) {
        /* A gzip stream cut short (a recording whose process was killed)
         * ends at its last complete block: a clean end, flagged. */
        msg = lineread_zerror(lr, &zerr);
        lr->truncated = zerr == Z_BUF_ERROR;
        if (zerr != Z_OK && zerr != Z_STREAM_END && !lr->truncated) {
            snprintf(err, errlen, "cannot read %s: %s", lr->path, msg);
            return -1;
        }
        lr->eof = 1;
    }
    lr->pos = 0;
    lr->end = (size_t)n;
    return n;
}

/* NUL, then zeroed padding, after the assembled line; strip a '\r'. */
static void lineread_terminate(lineread *lr, const char **line, size_t *len)
{
    if (lr->line_len > 0 && lr->line[lr->line_len - 1] == '\r')
        lr->line_len--;
    memset(lr->line + lr->line_len, 0, 1 + JSON_PADDING);
    lr->lineno++;
    *line = lr->line;
    *len = lr->line_len;
}

int lineread_next(lineread *lr, const char **line, size_t *len, char *err, size_t errlen)
{
    int got_bytes = 0;

    lr->line_len = 0;
    for (;;) {
        const char *start = lr->block + lr->pos;
        const char *nl = memchr(start, '\n', lr->end - lr->pos);
        size_t n = nl ? (size_t)(nl - start) : lr->end - lr->pos;
        int rc;

        if (n > 0 && lineread_append(lr, start, n, err, errlen) < 0)
            return -1;
        got_bytes |= n > 0;
        if (nl) {
            lr->pos += n + 1;
            lineread_terminate(lr, line, len);
            return 1;
        }
        lr->pos = lr->end;
        rc = lineread_fill(lr, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
    }
    /* A cut-short stream's partial last line is not data. */
    if (!got_bytes || lr->truncated)
        return 0;
    /* A last line without "\n". */
    lineread_terminate(lr, line, len);
    return 1;
}

uint64_t lineread_lineno(const lineread *lr)
{
    return lr->lineno;
}

int lineread_truncated(const lineread *lr)
{
    return lr->truncated;
}

uint64_t lineread_offset(const lineread *lr)
{
    z_off_t off = gzoffset(lr->gz);
    return off < 0 ? 0 : (uint64_t)off;
}

uint64_t lineread_file_size(const lineread *lr)
{
    return lr->file_size;
}
