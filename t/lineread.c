/*
 * lineread.c -- lines of plain and gzip files: CRLF, a last line without
 * "\n", empty lines, a line longer than the read block, zeroed padding for
 * the JSON parser, progress figures, standard input and read errors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import_test.h"
#include "json.h"
#include "lineread.h"

/* Read every line of path into one string, lines joined by '|'. */
static int read_all(const char *path, char *out, size_t cap, int *padding_ok)
{
    char err[256];
    lineread *lr = lineread_open(path, err, sizeof err);
    const char *line;
    size_t len, at = 0;
    int rc;

    if (!lr)
        return -1;
    *padding_ok = 1;
    out[0] = '\0';
    while ((rc = lineread_next(lr, &line, &len, err, sizeof err)) == 1) {
        for (size_t i = 0; i <= JSON_PADDING; i++)
            if (line[len + i] != 0)
                *padding_ok = 0;
        at += (size_t)snprintf(out + at, cap - at, "%s%.*s", at ? "|" : "", (int)len, line);
    }
    lineread_close(lr);
    return rc;
}

static void long_line(void)
{
    size_t n = 700 * 1024;
    char *text = malloc(n + 16), err[256];
    const char *line, *path;
    lineread *lr;
    size_t len;

    memset(text, 'x', n);
    strcpy(text + n, "\nshort\n");
    path = it_write("long.txt.gz", text);
    lr = lineread_open(path, err, sizeof err);
    ok(lr && lineread_next(lr, &line, &len, err, sizeof err) == 1 && len == n,
       "a 700 KiB line spanning several read blocks comes whole");
    ok(lr && line[0] == 'x' && line[n - 1] == 'x' && line[n] == '\0', "its bytes and its NUL");
    ok(lr && lineread_next(lr, &line, &len, err, sizeof err) == 1 && len == 5 &&
           memcmp(line, "short", 5) == 0,
       "the line after it");
    is_int(lr ? (long long)lineread_lineno(lr) : 0, 2, "line number 2");
    ok(lr && lineread_next(lr, &line, &len, err, sizeof err) == 0, "then the end");
    lineread_close(lr);
    free(text);
}

static void progress(void)
{
    const char *path = it_write("progress.txt", "one\ntwo\n");
    char err[256];
    lineread *lr = lineread_open(path, err, sizeof err);
    const char *line;
    size_t len;

    is_int(lineread_file_size(lr), 8, "file size for progress");
    while (lineread_next(lr, &line, &len, err, sizeof err) == 1)
        ;
    is_int(lineread_offset(lr), 8, "offset at the end is the size");
    lineread_close(lr);
}

static void standard_input(void)
{
    const char *path = it_write("stdin.txt.gz", "from stdin\n");
    int saved = dup(0), fd = open(path, O_RDONLY);
    char out[64];
    int pad;

    dup2(fd, 0);
    close(fd);
    is_int(read_all("-", out, sizeof out, &pad), 0, "\"-\" reads standard input");
    is_str(out, "from stdin", "gzip on standard input too");
    dup2(saved, 0);
    close(saved);
}

int main(void)
{
    const char *text = "first\r\nsecond\n\nlast without newline";
    const char *want = "first|second||last without newline";
    char out[256], err[256];
    const char *path, *line;
    size_t len;
    int pad;
    lineread *lr;

    plan(19);
    it_setup();

    is_int(read_all(it_write("plain.txt", text), out, sizeof out, &pad), 0, "plain file read");
    is_str(out, want, "CRLF stripped, empty line kept, last line without \\n returned");
    ok(pad, "NUL and zeroed padding after every line");
    is_int(read_all(it_write("plain.txt.gz", text), out, sizeof out, &pad), 0, "gzip file read");
    is_str(out, want, "the same lines from gzip");
    ok(pad, "padding after gzip lines too");
    is_int(read_all(it_write("empty.txt", ""), out, sizeof out, &pad), 0, "an empty file");
    is_str(out, "", "has no line");

    long_line();
    progress();
    standard_input();

    lr = lineread_open(it_path("missing.txt"), err, sizeof err);
    ok(!lr && strstr(err, "missing.txt") && strstr(err, "No such file"),
       "a missing file is refused by name and reason: %s", err);

    /* A gzip stream cut short (a killed recording) ends cleanly at its last
     * whole line, flagged; the partial line after it is dropped. */
    {
        static char big[200000];
        FILE *f;
        long size;
        for (size_t i = 0; i < sizeof big - 1; i++)
            big[i] = (char)('a' + (i * 7919 % 26));
        big[sizeof big - 1] = '\0';
        path = it_write("cut.gz", big);
        f = fopen(path, "r+");
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
        if (truncate(path, size / 2) != 0)
            bail_out("truncate");
        lr = lineread_open(path, err, sizeof err);
        {
            /* One line with no "\n": all of it is the partial line. */
            int rc = -1, lines = 0;
            while (lr && (rc = lineread_next(lr, &line, &len, err, sizeof err)) == 1)
                lines++;
            ok(lr && rc == 0 && lines == 0 && lineread_truncated(lr),
               "a truncated gzip file ends cleanly, flagged, without its partial line");
        }
        lineread_close(lr);
    }
    return done();
}
