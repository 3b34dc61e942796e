/*
 * import_test.h -- what the importer tests share: a temporary folder, small
 * input files (plain or gzip), one call to import_run, and the output read
 * back into memory.
 */
#ifndef LUTRA_IMPORT_TEST_H
#define LUTRA_IMPORT_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "evfile.h"
#include "import.h"
#include "tap.h"

static char it_dir[64];

/* Remove the temporary folder and what the test left in it. */
static inline void it_cleanup(void)
{
    DIR *d = opendir(it_dir);
    struct dirent *e;
    char path[512];

    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", it_dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(it_dir);
}

static inline void it_setup(void)
{
    snprintf(it_dir, sizeof it_dir, "/tmp/lutra-import-XXXXXX");
    if (!mkdtemp(it_dir))
        bail_out("mkdtemp failed");
    atexit(it_cleanup);
}

/* A path in the folder (the last 64 stay valid). */
static inline const char *it_path(const char *name)
{
    static char paths[64][256];
    static int next;
    char *p = paths[next++ % 64];
    snprintf(p, sizeof paths[0], "%s/%s", it_dir, name);
    return p;
}

/*
 * A shared data file, copied (the last four stay valid), or NULL when it is
 * absent: the caller then skips its tests, so the others still run.
 * tap_shared_data's rule holds: under CI=true an absent file is a failure.
 */
static inline const char *it_shared(const char *rel)
{
    static char paths[4][4096];
    static int next;
    const char *root = getenv("LUTRA_SHARED_DATA"), *ci = getenv("CI");
    char *p = paths[next++ % 4];
    struct stat st;

    snprintf(p, sizeof paths[0], "%s/%s", root && *root ? root : "../shared/data", rel);
    if (stat(p, &st) == 0)
        return p;
    if (ci && strcmp(ci, "true") == 0)
        bail_out("shared data %s not found, and CI=true requires it", p);
    diag("shared data %s not found (set LUTRA_SHARED_DATA)", p);
    return NULL;
}

static inline int it_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Write text to the folder, gzip-compressed when the name ends in .gz. */
static inline const char *it_write(const char *name, const char *text)
{
    const char *path = it_path(name);
    size_t n = strlen(name), len = strlen(text);

    if (n > 3 && strcmp(name + n - 3, ".gz") == 0) {
        gzFile gz = gzopen(path, "wb");
        if (!gz || gzwrite(gz, text, (unsigned)len) != (int)len || gzclose(gz) != Z_OK)
            bail_out("cannot write %s", path);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
            bail_out("cannot write %s", path);
    }
    return path;
}

/* The last import: its result, report, error and output read back. */
typedef struct it_result {
    int rc;
    import_report rep;
    char err[1024];
    lutra_event *ev;
    size_t n;
    lutra_instrument inst[16];
    size_t ninst;
} it_result;

static it_result it_last;

static inline void it_read_back(const char *out)
{
    char err[256];
    evfile_reader *r = evfile_open(out, err, sizeof err);
    const lutra_instrument *defs;
    const lutra_event *ev;
    size_t cap = 1024;

    if (!r)
        bail_out("cannot read back %s: %s", out, err);
    defs = evfile_instruments(r, &it_last.ninst);
    if (it_last.ninst > 16)
        it_last.ninst = 16;
    memcpy(it_last.inst, defs, it_last.ninst * sizeof *defs);
    it_last.ev = malloc(cap * sizeof *it_last.ev);
    while (it_last.ev && (ev = evfile_next(r))) {
        if (it_last.n == cap)
            it_last.ev = realloc(it_last.ev, (cap *= 2) * sizeof *it_last.ev);
        if (!it_last.ev)
            break;
        memset(&it_last.ev[it_last.n], 0, sizeof *it_last.ev);
        memcpy(&it_last.ev[it_last.n++], ev, ev->h.size);
    }
    if (!it_last.ev)
        bail_out("out of memory");
    evfile_close_reader(r);
}

/*
 * Import inputs with options into out.lev in the folder; on success read
 * the output back into it_last. @return import_run's result.
 */
static inline int it_import(const import_options *opt, const char *const *inputs, size_t n)
{
    const char *out = it_path("out.lev");

    free(it_last.ev);
    memset(&it_last, 0, sizeof it_last);
    unlink(out);
    it_last.rc = import_run(opt, inputs, n, out, &it_last.rep, it_last.err, sizeof it_last.err);
    if (it_last.rc == 0)
        it_read_back(out);
    else if (it_exists(out))
        it_last.rc = -2; /* a failure must leave no output */
    return it_last.rc;
}

/* Import one input with the format (NULL: detect) and defaults otherwise. */
static inline int it_import1(const char *path, const char *format)
{
    import_options opt;
    memset(&opt, 0, sizeof opt);
    opt.format = format;
    opt.quiet = 1;
    return it_import(&opt, &path, 1);
}

/* Count the events of a type (0: all) with all of the given flags. */
static inline size_t it_count(int type, int flags)
{
    size_t n = 0;
    for (size_t i = 0; i < it_last.n; i++)
        if ((!type || it_last.ev[i].h.type == type) && (it_last.ev[i].h.flags & flags) == flags)
            n++;
    return n;
}

/* 1 if the events are in non-decreasing receive time. */
static inline int it_in_order(void)
{
    for (size_t i = 1; i < it_last.n; i++)
        if (it_last.ev[i].h.ts_recv < it_last.ev[i - 1].h.ts_recv)
            return 0;
    return 1;
}

#endif
