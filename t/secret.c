/*
 * secret.c -- secrets from the environment or an owner-only file
 * (core/secret.h): what is accepted, what is refused and how the refusal
 * reads, and that no message ever holds the value.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "tap.h"

#define VALUE "s3cret-Value-0123456789abcdef"

static char tmp_dir[] = "/tmp/lutra-secret-XXXXXX";
static secret_store *st;
static char err[1024];

/* Every error message of the run, to look for the value in at the end. */
static char all_errors[16384];

static void note_error(void)
{
    size_t used = strlen(all_errors);
    snprintf(all_errors + used, sizeof all_errors - used, "%s\n", err);
}

/* @return the path of a new file under tmp_dir holding `content`, at mode. */
static const char *make_file(const char *name, const char *content, size_t len, mode_t mode)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fwrite(content, 1, len, f) != len)
        bail_out("cannot write %s", path);
    fclose(f);
    if (chmod(path, mode) != 0)
        bail_out("cannot chmod %s", path);
    return path;
}

/* Add key from file; on failure the error is kept for the final check. */
static int add_file(const char *key, const char *path)
{
    err[0] = '\0';
    int rc = secret_store_add(st, key, NULL, path, err, sizeof err);
    if (rc != 0)
        note_error();
    return rc;
}

static int add_env(const char *key, const char *name)
{
    err[0] = '\0';
    int rc = secret_store_add(st, key, name, NULL, err, sizeof err);
    if (rc != 0)
        note_error();
    return rc;
}

static void test_env(void)
{
    setenv("LUTRA_TEST_SECRET", VALUE, 1);
    is_int(add_env("api_key", "LUTRA_TEST_SECRET"), 0, "env: a set variable is taken");
    is_str(secret_store_get(st, "api_key"), VALUE, "env: the value is kept under its key");

    unsetenv("LUTRA_TEST_UNSET");
    is_int(add_env("api_secret", "LUTRA_TEST_UNSET"), -1, "env: an unset variable is refused");
    is_str(err, "api_secret: environment variable LUTRA_TEST_UNSET is not set",
           "env: naming the key and the variable");
    ok(secret_store_get(st, "api_secret") == NULL, "env: nothing kept for a refused key");

    setenv("LUTRA_TEST_EMPTY", "", 1);
    is_int(add_env("api_secret", "LUTRA_TEST_EMPTY"), -1, "env: an empty variable is refused");
    is_str(err, "api_secret: environment variable LUTRA_TEST_EMPTY is empty",
           "env: saying it is empty");
}

static void test_file_ok(void)
{
    const char *path = make_file("ok.key", VALUE "\nsecond line\n", strlen(VALUE) + 13, 0600);
    is_int(add_file("api_secret", path), 0, "file 0600: taken");
    is_str(secret_store_get(st, "api_secret"), VALUE,
           "file: the first line, its newline cut off");

    path = make_file("crlf.key", "other-VALUE\r\n", 13, 0400);
    is_int(add_file("api_secret", path), 0, "file 0400 with CR LF: taken");
    is_str(secret_store_get(st, "api_secret"), "other-VALUE",
           "file: CR LF cut off; adding a key again replaces its value");

    path = make_file("bare.key", VALUE, strlen(VALUE), 0600);
    is_int(add_file("bare", path), 0, "file without a final newline: taken");
    is_str(secret_store_get(st, "bare"), VALUE, "file: the whole line");
    is_str(secret_store_get(st, "api_key"), VALUE, "earlier keys are still there");
}

static void test_file_refused(void)
{
    char want[PATH_MAX + 128];
    const char *path = make_file("open.key", VALUE "\n", strlen(VALUE) + 1, 0644);

    is_int(add_file("api_secret", path), -1, "file 0644: refused");
    snprintf(want, sizeof want,
             "api_secret: file %s: mode 0644 lets group or others at it; chmod 600 it", path);
    is_str(err, want, "naming the key, the file and its mode");
    is_str(secret_store_get(st, "api_secret"), "other-VALUE",
           "a refused value leaves the key's earlier value alone");

    path = make_file("group.key", VALUE "\n", strlen(VALUE) + 1, 0640);
    is_int(add_file("api_key", path), -1, "file 0640 (group may read): refused");
    ok(strstr(err, "mode 0640") != NULL, "with its mode: %s", err);

    snprintf(want, sizeof want, "%s/missing.key", tmp_dir);
    is_int(add_file("api_key", want), -1, "a missing file: refused");
    ok(strstr(err, "api_key: file ") == err && strstr(err, "missing.key: No such file"),
       "naming the key and the file: %s", err);

    is_int(add_file("api_key", tmp_dir), -1, "a folder: refused");
    ok(strstr(err, "not a regular file") != NULL, "as not a regular file: %s", err);

    path = make_file("empty.key", "\nlater line\n", 12, 0600);
    is_int(add_file("api_key", path), -1, "an empty first line: refused");
    ok(strstr(err, "the first line is empty") != NULL, "saying so: %s", err);

    static char long_line[SECRET_MAX + 64];
    memset(long_line, 'k', sizeof long_line);
    memcpy(long_line, VALUE, strlen(VALUE));
    path = make_file("long.key", long_line, sizeof long_line, 0600);
    is_int(add_file("api_key", path), -1, "a first line over SECRET_MAX: refused");
    ok(strstr(err, "longer than 4096 bytes") != NULL, "saying so: %s", err);
}

static void test_owner(void)
{
    if (geteuid() != 0) {
        skip(2, "only root can give a file to another user");
        return;
    }
    const char *path = make_file("theirs.key", VALUE "\n", strlen(VALUE) + 1, 0600);
    if (chown(path, 65534, 65534) != 0)
        bail_out("cannot chown %s", path);
    is_int(add_file("api_key", path), -1, "a file owned by another user: refused");
    ok(strstr(err, "owned by uid 65534") != NULL, "naming its owner: %s", err);
}

static void test_sources(void)
{
    err[0] = '\0';
    is_int(secret_store_add(st, "api_key", "X", "/tmp/x", err, sizeof err), -1,
           "both env and file: refused");
    is_str(err, "api_key: want { env = 'NAME' } or { file = 'path' }, not both", "saying so");
    is_int(secret_store_add(st, "api_key", NULL, "", err, sizeof err), -1,
           "neither: refused");
    is_str(err, "api_key: want { env = 'NAME' } or { file = 'path' }, got neither",
           "saying so");
    ok(secret_store_get(st, "nope") == NULL, "an unknown key: NULL");
    ok(secret_store_get(NULL, "api_key") == NULL, "no store: NULL");
}

static void cleanup(void)
{
    static const char *files[] = {"ok.key", "crlf.key", "bare.key", "open.key", "group.key",
                                  "empty.key", "long.key", "theirs.key"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp_dir, files[i]);
        unlink(path);
    }
    rmdir(tmp_dir);
}

int main(void)
{
    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    st = secret_store_new();
    if (!st)
        bail_out("out of memory");

    test_env();
    test_file_ok();
    test_file_refused();
    test_owner();
    test_sources();
    ok(all_errors[0] != '\0' && !strstr(all_errors, VALUE) &&
           !strstr(all_errors, "other-VALUE"),
       "no error message holds a secret");

    secret_store_free(st);
    cleanup();
    return done();
}
