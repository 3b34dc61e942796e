/*
 * driver.c -- runs a fuzz target over its seed inputs as a TAP test, so the
 * targets and their seeds are exercised by `make test` without libFuzzer.
 * Seeds live in t/fuzz/seeds/<name>/ (relative to the repository root, where
 * the tests run). A seed passes when the target returns without crashing;
 * sanitizer builds (`make asan`) make that a real check.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int driver_run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    int rc = -1;

    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        rc = 0;
    }
    free(buf);
    fclose(f);
    return rc;
}

static int driver_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    char dir[256], path[1024], *names[1024];
    size_t n = 0;
    struct dirent *de;
    DIR *d;

    snprintf(dir, sizeof dir, "t/fuzz/seeds/%s", FUZZ_NAME);
    if (!(d = opendir(dir)))
        bail_out("no seed folder %s (run from the repository root)", dir);
    while ((de = readdir(d)) && n < 1024)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, driver_cmp);
    ok(n > 0, "%s: %zu seed inputs", FUZZ_NAME, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        ok(driver_run_file(path) == 0, "%s: seed %s", FUZZ_NAME, names[i]);
        free(names[i]);
    }
    return done();
}
