/*
 * tap.h -- Test Anything Protocol output for the C tests (run under prove).
 *
 *   plan(3); ok(x == 1, "x is one"); is_int(a, b, "same"); return done();
 *
 * tap_shared_data() finds the shared real market data (LUTRA_SHARED_DATA):
 * when it is absent a test skips with the reason, except under CI=true,
 * where absent data is a failure.
 */
#ifndef LUTRA_TAP_H
#define LUTRA_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>

static int tap_planned = -1;
static int tap_run = 0;
static int tap_failed = 0;

static inline void plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

static inline int ok_at(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int ok_at(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_run++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    if (!cond)
        printf("#   Failed test at %s line %d.\n", file, line);
    fflush(stdout);
    return cond;
}

#define ok(cond, ...) ok_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                          \
    do {                                                                                \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);               \
        if (!ok_at(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__))                 \
            printf("#          got: %lld\n#     expected: %lld\n", tap_g_, tap_w_);    \
    } while (0)

#define is_str(got, want, ...)                                                          \
    do {                                                                                \
        const char *tap_g_ = (got), *tap_w_ = (want);                                   \
        int tap_c_ = tap_g_ && tap_w_ ? strcmp(tap_g_, tap_w_) == 0 : tap_g_ == tap_w_; \
        if (!ok_at(tap_c_, __FILE__, __LINE__, __VA_ARGS__))                           \
            printf("#          got: '%s'\n#     expected: '%s'\n", tap_g_ ? tap_g_ : "(null)", \
                   tap_w_ ? tap_w_ : "(null)");                                         \
    } while (0)

/* Skip the whole file: prints the plan "1..0 # SKIP reason" and exits 0. */
static inline void skip_all(const char *reason)
{
    printf("1..0 # SKIP %s\n", reason);
    fflush(stdout);
    exit(0);
}

/* Skip n planned tests with a reason. */
static inline void skip(int n, const char *reason)
{
    for (int i = 0; i < n; i++) {
        tap_run++;
        printf("ok %d # SKIP %s\n", tap_run, reason);
    }
    fflush(stdout);
}

static inline void bail_out(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void bail_out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("Bail out! ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
    exit(255);
}

/* @return the exit status for main: 0 if every planned test ran and passed. */
static inline int done(void)
{
    if (tap_planned < 0)
        printf("1..%d\n", tap_run);
    else if (tap_run != tap_planned)
        printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
    fflush(stdout);
    return tap_failed || (tap_planned >= 0 && tap_run != tap_planned) ? 1 : 0;
}

/*
 * The path of a file under the shared data folder (LUTRA_SHARED_DATA, else
 * ../shared/data), e.g. "hftbacktest/spot/btcusdt_20240808.gz", or NULL when
 * it is missing; under CI=true a missing file bails out (fails) instead.
 * The returned string is static: copy it before the next call.
 */
static inline const char *tap_shared_data_opt(const char *rel)
{
    static char path[4096];
    const char *root = getenv("LUTRA_SHARED_DATA");
    const char *ci = getenv("CI");
    struct stat st;

    if (!root || !*root)
        root = "../shared/data";
    if (snprintf(path, sizeof path, "%s/%s", root, rel) < (int)sizeof path &&
        stat(path, &st) == 0)
        return path;
    if (ci && strcmp(ci, "true") == 0)
        bail_out("shared data %s not found (set LUTRA_SHARED_DATA), and CI=true requires it",
                 path);
    return NULL;
}

/* The reason to print when tap_shared_data_opt(rel) gave NULL. */
static inline const char *tap_shared_data_missing(const char *rel)
{
    static char why[8400];
    const char *root = getenv("LUTRA_SHARED_DATA");
    snprintf(why, sizeof why, "shared data %s/%s not found (set LUTRA_SHARED_DATA)",
             root && *root ? root : "../shared/data", rel);
    return why;
}

/* As tap_shared_data_opt, but a missing file skips the whole test file. */
static inline const char *tap_shared_data(const char *rel)
{
    const char *path = tap_shared_data_opt(rel);
    if (!path)
        skip_all(tap_shared_data_missing(rel));
    return path;
}

/*
 * Write value and a newline to path, readable by its owner only (0600, as
 * secret files must be), or bail out.
 */
static inline void tap_write_secret(const char *path, const char *value)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", value) < 0 || fclose(f) != 0 || chmod(path, 0600) != 0)
        bail_out("cannot write %s", path);
}

static inline int tap_rmtree_one(const char *path, const struct stat *st, int flag,
                                 struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Remove a folder and everything under it (a test's temporary folder, a
 * state store); a missing one is fine. @return 0 or -1. */
static inline int tap_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    return nftw(path, tap_rmtree_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The build folder's lutra binary (LUTRA_BIN, else build/lutra). */
static inline const char *tap_lutra_bin(void)
{
    const char *b = getenv("LUTRA_BIN");
    return b && *b ? b : "build/lutra";
}

#endif
