/*
 * plugin.c -- finding, loading and instantiating plugins (plugin.h), and the
 * table of host services every instance is handed (lutra_plugin.h).
 *
 * A plugin sees the host only through one static const lutra_host_api and
 * the opaque lutra_host of its instance; the instance's lutra_host holds the
 * registry, the emit callback, a copy of the configuration and the plugin's
 * name for log lines.
 */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixed.h"
#include "json.h"
#include "log.h"

_Static_assert((int)LUTRA_LOG_DEBUG == (int)LOG_DEBUG && (int)LUTRA_LOG_INFO == (int)LOG_INFO &&
                   (int)LUTRA_LOG_WARN == (int)LOG_WARN &&
                   (int)LUTRA_LOG_ERROR == (int)LOG_ERROR,
               "plugin log levels are the core's");

struct plugin_handle {
    void *dl;
    const lutra_plugin *table;
    char *path;
};

struct lutra_host {
    instrument_registry *reg;
    plugin_emit_fn emit;
    void *ud;
    const char *name; /* the plugin's, for log lines */
    char **conf;      /* key, value, key, value, ..., NULL: one allocation */
};

struct plugin_instance {
    lutra_host host; /* first: the plugin's lutra_host * is the instance */
    plugin_handle *ph;
    void *self;
};

/* ---- Finding ---- */

static bool is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Append s to the error list in err (keeping it NUL-terminated). */
static void err_append(char *err, size_t errlen, const char *s)
{
    size_t used = strnlen(err, errlen);
    if (used + 1 < errlen)
        snprintf(err + used, errlen - used, "%s", s);
}

/*
 * Try dir/name.so (dir of dirlen bytes). @return 1 and the path in out if
 * it is there; 0 after adding the candidate to the list in err; -1 if the
 * path does not fit out.
 */
static int try_dir(const char *dir, size_t dirlen, const char *name, char *out, size_t outlen,
                   char *err, size_t errlen)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%.*s/%s.so", (int)dirlen, dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    if (is_regular_file(path)) {
        if ((size_t)n >= outlen) {
            snprintf(err, errlen, "plugin %s: path %s longer than %zu bytes", name, path,
                     outlen - 1);
            return -1;
        }
        memcpy(out, path, (size_t)n + 1);
        return 1;
    }
    err_append(err, errlen, err[strlen(err) - 1] == ':' ? " " : ", ");
    err_append(err, errlen, path);
    return 0;
}

/* Each folder of a colon-separated list, empty entries skipped. */
static int try_path_list(const char *list, const char *name, char *out, size_t outlen,
                         char *err, size_t errlen)
{
    const char *p = list;
    while (p && *p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len > 0) {
            int rc = try_dir(p, len, name, out, outlen, err, errlen);
            if (rc != 0)
                return rc;
        }
        p = colon ? colon + 1 : NULL;
    }
    return 0;
}

/* The folder of the running executable. @return 0, or -1 if unknown. */
static int exe_dir(char *dir, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1)
        return -1;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

static int find_by_path(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "plugin %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "plugin %s: not a regular file", path);
        return -1;
    }
    if (strlen(path) >= outlen) {
        snprintf(err, errlen, "plugin %s: path longer than %zu bytes", path, outlen - 1);
        return -1;
    }
    strcpy(out, path);
    return 0;
}

int plugin_find(const char *name, const char *const *extra_dirs, size_t ndirs, char *out,
                size_t outlen, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    int rc = 0;

    if (!name || !*name) {
        snprintf(err, errlen, "plugin: empty name");
        return -1;
    }
    if (strchr(name, '/'))
        return find_by_path(name, out, outlen, err, errlen);

    snprintf(err, errlen, "plugin %s not found; looked in:", name);
    for (size_t i = 0; i < ndirs && rc == 0; i++)
        rc = try_dir(extra_dirs[i], strlen(extra_dirs[i]), name, out, outlen, err, errlen);
    if (rc == 0)
        rc = try_path_list(getenv("LUTRA_PLUGIN_PATH"), name, out, outlen, err, errlen);
    if (rc == 0 && exe_dir(dir, sizeof dir - 16) == 0) {
        size_t len = strlen(dir);
        memcpy(dir + len, "/plugins", sizeof "/plugins");
        rc = try_dir(dir, strlen(dir), name, out, outlen, err, errlen);
        if (rc == 0) {
            memcpy(dir + len, "/../lib/lutra", sizeof "/../lib/lutra");
            rc = try_dir(dir, strlen(dir), name, out, outlen, err, errlen);
        }
    }
    if (rc == 1) {
        err[0] = '\0';
        return 0;
    }
    return -1;
}

/* ---- Loading ---- */

static bool kind_known(uint32_t kind)
{
    return kind == LUTRA_PLUGIN_CONNECTOR || kind == LUTRA_PLUGIN_OTHER;
}

/* Check the table an entry point returned. @return 0, or -1 with err set. */
static int check_table(const char *path, const lutra_plugin *t, char *err, size_t errlen)
{
    /* The fields this host reads end with decode. */
    const size_t need = offsetof(lutra_plugin, decode) + sizeof t->decode;

    if (!t) {
        snprintf(err, errlen, "plugin %s: %s returned NULL", path, LUTRA_PLUGIN_ENTRY);
        return -1;
    }
    if (t->abi_version != LUTRA_PLUGIN_ABI_VERSION) {
        snprintf(err, errlen, "plugin %s: built for ABI version %u, this lutra speaks version %d",
                 path, t->abi_version, LUTRA_PLUGIN_ABI_VERSION);
        return -1;
    }
    if (t->size < need) {
        snprintf(err, errlen, "plugin %s: table of %u bytes, ABI version %d needs %zu", path,
                 t->size, LUTRA_PLUGIN_ABI_VERSION, need);
        return -1;
    }
    if (!t->name || !t->name[0]) {
        snprintf(err, errlen, "plugin %s: no name in its table", path);
        return -1;
    }
    if (!kind_known(t->kind)) {
        snprintf(err, errlen, "plugin %s (%s): unknown kind %u", path, t->name, t->kind);
        return -1;
    }
    if (!t->create) {
        snprintf(err, errlen, "plugin %s (%s): no create function", path, t->name);
        return -1;
    }
    if (t->kind == LUTRA_PLUGIN_CONNECTOR && !t->decode) {
        snprintf(err, errlen, "plugin %s (%s): a connector without decode", path, t->name);
        return -1;
    }
    return 0;
}

plugin_handle *plugin_load(const char *path, char *err, size_t errlen)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        snprintf(err, errlen, "plugin %s: %s", path, dlerror());
        return NULL;
    }
    /* dlsym returns a data pointer; POSIX guarantees it converts. */
    lutra_plugin_entry_fn entry;
    void *sym = dlsym(dl, LUTRA_PLUGIN_ENTRY);
    if (!sym) {
        snprintf(err, errlen, "plugin %s: no entry point %s (not a lutra plugin?)", path,
                 LUTRA_PLUGIN_ENTRY);
        dlclose(dl);
        return NULL;
    }
    memcpy(&entry, &sym, sizeof entry);
    const lutra_plugin *table = entry();
    if (check_table(path, table, err, errlen) != 0) {
        dlclose(dl);
        return NULL;
    }
    plugin_handle *ph = calloc(1, sizeof *ph);
    char *copy = strdup(path);
    if (!ph || !copy) {
        snprintf(err, errlen, "plugin %s: out of memory", path);
        free(ph);
        free(copy);
        dlclose(dl);
        return NULL;
    }
    ph->dl = dl;
    ph->table = table;
    ph->path = copy;
    return ph;
}

const lutra_plugin *plugin_table(const plugin_handle *ph)
{
    return ph->table;
}

const char *plugin_path(const plugin_handle *ph)
{
    return ph->path;
}

void plugin_unload(plugin_handle *ph)
{
    if (!ph)
        return;
    dlclose(ph->dl);
    free(ph->path);
    free(ph);
}

/* ---- Host services ---- */

static void host_log(lutra_host *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(lutra_host *h, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, h->name, fmt, ap);
    va_end(ap);
}

static int host_emit(lutra_host *h, const lutra_event *ev)
{
    uint16_t size = lutra_event_size(ev->h.type);

    if (size == 0 || ev->h.size != size) {
        log_write(LOG_ERROR, h->name, "event refused: type %u with size %u (expected %u)",
                  ev->h.type, ev->h.size, size);
        return -1;
    }
    if (!instrument_registry_get(h->reg, ev->h.instrument)) {
        log_write(LOG_ERROR, h->name, "event refused: unknown instrument id %u",
                  ev->h.instrument);
        return -1;
    }
    return h->emit(h->ud, ev);
}

static int32_t host_instrument_find(lutra_host *h, const char *venue, const char *symbol)
{
    return instrument_registry_find(h->reg, venue, symbol);
}

static int32_t host_instrument_define(lutra_host *h, const lutra_instrument *def)
{
    lutra_instrument copy = *def;
    char err[256];

    if (!copy.base[0] && !copy.quote[0] &&
        instrument_split_symbol(copy.symbol, copy.base, sizeof copy.base, copy.quote,
                                sizeof copy.quote) != 0)
        log_write(LOG_WARN, h->name, "cannot tell base and quote of symbol=%.*s",
                  (int)sizeof copy.symbol, copy.symbol);
    int32_t id = instrument_registry_add(h->reg, &copy, err, sizeof err);
    if (id < 0)
        log_write(LOG_ERROR, h->name, "%s", err);
    return id;
}

static const lutra_instrument *host_instrument_get(lutra_host *h, uint32_t id)
{
    return instrument_registry_get(h->reg, id);
}

static const char *host_config_get(lutra_host *h, const char *key)
{
    for (char **kv = h->conf; kv && kv[0]; kv += 2)
        if (strcmp(kv[0], key) == 0)
            return kv[1];
    return NULL;
}

static const lutra_host_api host_api = {
    .abi_version = LUTRA_PLUGIN_ABI_VERSION,
    .size = sizeof(lutra_host_api),
    .log = host_log,
    .emit = host_emit,
    .instrument_find = host_instrument_find,
    .instrument_define = host_instrument_define,
    .instrument_get = host_instrument_get,
    .config_get = host_config_get,
    .fixed_parse = fixed_parse,
    .fixed_decimals = fixed_decimals,
    .json_parser_new = json_parser_new,
    .json_parser_free = json_parser_free,
    .json_parse = json_parse,
    .json_field = json_field,
    .json_string = json_string,
    .json_number_text = json_number_text,
    .json_int64 = json_int64,
    .json_uint64 = json_uint64,
    .json_bool = json_bool,
    .json_array_begin = json_array_begin,
    .json_array_next = json_array_next,
    .json_last_error = json_last_error,
    .json_field_opt = json_field_opt,
    .json_string_rows = json_string_rows,
};

/* ---- Instances ---- */

/*
 * Copy a NULL-terminated key/value array into one allocation: the pointer
 * array first, then the strings. @return the copy (an empty array for NULL
 * conf), or NULL when out of memory or a key has no value (err set).
 */
static char **copy_conf(const char *const *conf, char *err, size_t errlen)
{
    size_t n = 0, bytes = 0;

    for (; conf && conf[n]; n++) {
        if (n % 2 == 0 && !conf[n + 1]) {
            snprintf(err, errlen, "plugin configuration: key \"%s\" has no value", conf[n]);
            return NULL;
        }
        bytes += strlen(conf[n]) + 1;
    }
    char **copy = malloc((n + 1) * sizeof *copy + bytes);
    if (!copy) {
        snprintf(err, errlen, "plugin configuration: out of memory");
        return NULL;
    }
    char *s = (char *)(copy + n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(conf[i]) + 1;
        memcpy(s, conf[i], len);
        copy[i] = s;
        s += len;
    }
    copy[n] = NULL;
    return copy;
}

plugin_instance *plugin_instance_create(plugin_handle *ph, instrument_registry *reg,
                                        const char *const *conf, plugin_emit_fn emit,
                                        void *ud, char *err, size_t errlen)
{
    plugin_instance *pi = calloc(1, sizeof *pi);
    if (!pi) {
        snprintf(err, errlen, "plugin %s: out of memory", ph->table->name);
        return NULL;
    }
    pi->host.conf = copy_conf(conf, err, errlen);
    if (!pi->host.conf) {
        free(pi);
        return NULL;
    }
    pi->host.reg = reg;
    pi->host.emit = emit;
    pi->host.ud = ud;
    pi->host.name = ph->table->name;
    pi->ph = ph;
    pi->self = ph->table->create(&host_api, &pi->host);
    if (!pi->self) {
        snprintf(err, errlen, "plugin %s: create failed (the reason is logged)",
                 ph->table->name);
        free(pi->host.conf);
        free(pi);
        return NULL;
    }
    return pi;
}

int plugin_instance_decode(plugin_instance *pi, int64_t recv_ns, const char *msg, size_t len)
{
    if (!pi->ph->table->decode) {
        log_write(LOG_ERROR, pi->host.name, "this plugin decodes no messages");
        return -1;
    }
    return pi->ph->table->decode(pi->self, recv_ns, msg, len);
}

void plugin_instance_destroy(plugin_instance *pi)
{
    if (!pi)
        return;
    if (pi->ph->table->destroy)
        pi->ph->table->destroy(pi->self);
    free(pi->host.conf);
    free(pi);
}
