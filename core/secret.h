/*
 * secret.h -- secrets (API keys and secrets) read from where the
 * configuration says, kept in memory, handed to the plugins that need them.
 *
 * A configuration names a secret's source, never its value (config.h):
 *
 *   { env = "NAME" }    the environment variable NAME, set and non-empty
 *   { file = "path" }   the first line of a regular file owned by the user
 *                       running lutra and readable by nobody else (no group
 *                       or other permission bit: 0600, 0400), the line's end
 *                       (LF, CR LF) cut off; the line must not be empty
 *
 * Errors name the configuration key and the source ("api_secret: file
 * etc/b.key: mode 0644 lets others read it; chmod 600 it"), never the value.
 * Values live in a secret_store until secret_store_free, which wipes them
 * (explicit_bzero); the file is read without stdio, so no buffer of the C
 * library keeps a copy.
 */
#ifndef LUTRA_SECRET_H
#define LUTRA_SECRET_H

#include <stddef.h>

/* The longest secret accepted, bytes (a longer first line is an error). */
#define SECRET_MAX 4096

typedef struct secret_store secret_store;

/* @return an empty store, or NULL when out of memory. */
secret_store *secret_store_new(void);

/* Wipe every value and free the store. NULL is accepted. */
void secret_store_free(secret_store *st);

/*
 * Resolve the secret of configuration key `key` (such as "api_secret") from
 * exactly one of env (a variable's name) and file (a path) -- the other NULL
 * or "" -- and keep it under key, replacing any earlier value of key.
 * @return 0, or -1 with err naming key and the source, never the value.
 */
int secret_store_add(secret_store *st, const char *key, const char *env, const char *file,
                     char *err, size_t errlen);

/* The value kept under key, or NULL. Valid until the store is freed or key
 * is added again. */
const char *secret_store_get(const secret_store *st, const char *key);

#endif
