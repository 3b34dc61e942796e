/*
 * secret.c -- resolving secrets from the environment or an owner-only file
 * (secret.h).
 *
 * Every buffer that held a value is wiped before it is let go: the values in
 * the store, and the stack buffer a file is read into. Messages are built
 * from the key and the source alone, so no path through here can put a
 * value into an error.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"

typedef struct secret_entry {
    char *key;
    char *value; /* wiped before free */
    size_t len;
} secret_entry;

struct secret_store {
    secret_entry *entries;
    size_t n, cap;
};

secret_store *secret_store_new(void)
{
    return calloc(1, sizeof(secret_store));
}

static void entry_clear(secret_entry *e)
{
    if (e->value) {
        explicit_bzero(e->value, e->len);
        free(e->value);
    }
    free(e->key);
    e->key = e->value = NULL;
    e->len = 0;
}

void secret_store_free(secret_store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        entry_clear(&st->entries[i]);
    free(st->entries);
    free(st);
}

/* ---- Sources ---- */

/* Copy len bytes of value into a fresh NUL-terminated buffer (wiped by
 * entry_clear). @return it, or NULL when out of memory. */
static char *value_dup(const char *value, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, value, len);
        copy[len] = '\0';
    }
    return copy;
}

static int from_env(const char *key, const char *name, secret_entry *e, char *err,
                    size_t errlen)
{
    const char *value = getenv(name);

    if (!value) {
        snprintf(err, errlen, "%s: environment variable %s is not set", key, name);
        return -1;
    }
    e->len = strlen(value);
    if (e->len == 0) {
        snprintf(err, errlen, "%s: environment variable %s is empty", key, name);
        return -1;
    }
    if (e->len > SECRET_MAX) {
        snprintf(err, errlen, "%s: environment variable %s is longer than %d bytes", key, name,
                 SECRET_MAX);
        return -1;
    }
    e->value = value_dup(value, e->len);
    if (!e->value) {
        snprintf(err, errlen, "%s: out of memory", key);
        return -1;
    }
    return 0;
}

/* The file behind fd must be a regular file of ours that nobody else may
 * read or write. @return 0, or -1 with err set. */
static int check_file(const char *key, const char *path, int fd, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: file %s: %s", key, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: file %s: not a regular file", key, path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s: file %s: owned by uid %u, not by the user running lutra "
                 "(uid %u)", key, path, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "%s: file %s: mode %04o lets group or others at it; chmod 600 it",
                 key, path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

/* Read up to cap bytes, or to the first newline, from fd.
 * @return the bytes read, or -1 on a read error (errno set). */
static ssize_t read_first_line(int fd, char *buf, size_t cap)
{
    size_t used = 0;

    while (used < cap) {
        ssize_t n = read(fd, buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0 || memchr(buf + used, '\n', (size_t)n)) {
            used += (size_t)n;
            break;
        }
        used += (size_t)n;
    }
    return (ssize_t)used;
}

/* The first line of buf[0..n), its LF or CR LF cut off: its length. */
static size_t line_length(const char *buf, size_t n)
{
    const char *nl = memchr(buf, '\n', n);
    size_t len = nl ? (size_t)(nl - buf) : n;

    if (len > 0 && buf[len - 1] == '\r')
        len--;
    return len;
}

static int take_line(const char *key, const char *path, const char *buf, size_t n,
                     secret_entry *e, char *err, size_t errlen)
{
    e->len = line_length(buf, n);
    if (e->len > SECRET_MAX) {
        snprintf(err, errlen, "%s: file %s: first line longer than %d bytes", key, path,
                 SECRET_MAX);
        return -1;
    }
    if (e->len == 0) {
        snprintf(err, errlen, "%s: file %s: the first line is empty", key, path);
        return -1;
    }
    e->value = value_dup(buf, e->len);
    if (!e->value) {
        snprintf(err, errlen, "%s: out of memory", key);
        return -1;
    }
    return 0;
}

static int from_file(const char *key, const char *path, secret_entry *e, char *err,
                     size_t errlen)
{
    /* Room for the longest line, its CR LF, and one byte more: a line
     * that fills it is too long. */
    char buf[SECRET_MAX + 3];
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        snprintf(err, errlen, "%s: file %s: %s", key, path, strerror(errno));
        return -1;
    }
    if (check_file(key, path, fd, err, errlen) == 0) {
        ssize_t n = read_first_line(fd, buf, sizeof buf);
        if (n < 0)
            snprintf(err, errlen, "%s: file %s: %s", key, path, strerror(errno));
        else
            rc = take_line(key, path, buf, (size_t)n, e, err, errlen);
    }
    explicit_bzero(buf, sizeof buf);
    close(fd);
    return rc;
}

/* ---- The store ---- */

static secret_entry *find(const secret_store *st, const char *key)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->entries[i].key, key) == 0)
            return &st->entries[i];
    return NULL;
}

/* Keep e (resolved) under its key, replacing an earlier value. */
static int keep(secret_store *st, secret_entry *e)
{
    secret_entry *old = find(st, e->key);

    if (old) {
        entry_clear(old);
        *old = *e;
        return 0;
    }
    secret_entry *grown = grow_capacity(st->entries, &st->cap, st->n + 1, sizeof *grown, 4);
    if (!grown)
        return -1;
    st->entries = grown;
    st->entries[st->n++] = *e;
    return 0;
}

int secret_store_add(secret_store *st, const char *key, const char *env, const char *file,
                     char *err, size_t errlen)
{
    int has_env = env && *env, has_file = file && *file;
    secret_entry e = {0};

    if (!key || !*key) {
        snprintf(err, errlen, "secret: empty configuration key");
        return -1;
    }
    if (has_env == has_file) {
        snprintf(err, errlen, "%s: want { env = 'NAME' } or { file = 'path' }, %s", key,
                 has_env ? "not both" : "got neither");
        return -1;
    }
    int rc = has_env ? from_env(key, env, &e, err, errlen) : from_file(key, file, &e, err, errlen);
    if (rc == 0) {
        e.key = strdup(key);
        if (!e.key || keep(st, &e) != 0) {
            snprintf(err, errlen, "%s: out of memory", key);
            rc = -1;
        }
    }
    if (rc != 0)
        entry_clear(&e);
    return rc;
}

const char *secret_store_get(const secret_store *st, const char *key)
{
    const secret_entry *e = st && key ? find(st, key) : NULL;
    return e ? e->value : NULL;
}
