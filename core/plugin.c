/*
 * plugin.c -- finding, loading and instantiating plugins (plugin.h): the
 * search path, dlopen and the ABI checks of a plugin's table, and the life
 * of an instance (create, start, stop, the order-entry calls, destroy).
 * The services an instance is handed are plugin_host.c's.
 */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "order.h"
#include "plugin_impl.h"

_Static_assert((int)LUTRA_SIDE_BUY == (int)ORDER_BUY && (int)LUTRA_SIDE_SELL == (int)ORDER_SELL,
               "plugin sides are the engine's");
_Static_assert((int)LUTRA_TYPE_LIMIT == (int)ORDER_LIMIT &&
                   (int)LUTRA_TYPE_MARKET == (int)ORDER_MARKET &&
                   (int)LUTRA_TYPE_STOP == (int)ORDER_STOP &&
                   (int)LUTRA_TYPE_STOP_LIMIT == (int)ORDER_STOP_LIMIT,
               "plugin order types are the engine's");
_Static_assert((int)LUTRA_TIF_GTC == (int)ORDER_GTC && (int)LUTRA_TIF_IOC == (int)ORDER_IOC &&
                   (int)LUTRA_TIF_FOK == (int)ORDER_FOK &&
                   (int)LUTRA_TIF_POST_ONLY == (int)ORDER_POST_ONLY,
               "plugin times in force are the engine's");
_Static_assert((int)LUTRA_EXEC_ACCEPTED == (int)EXEC_ACCEPTED &&
                   (int)LUTRA_EXEC_FILL == (int)EXEC_FILL &&
                   (int)LUTRA_EXEC_CANCELED == (int)EXEC_CANCELED &&
                   (int)LUTRA_EXEC_REJECTED == (int)EXEC_REJECTED &&
                   (int)LUTRA_EXEC_EXPIRED == (int)EXEC_EXPIRED,
               "plugin execution kinds are the engine's");
_Static_assert((int)LUTRA_LIQ_MAKER == (int)ORDER_MAKER && (int)LUTRA_LIQ_TAKER == (int)ORDER_TAKER,
               "plugin liquidity is the engine's");
_Static_assert((int)LUTRA_ORDER_PENDING_NEW == (int)ORDER_PENDING_NEW &&
                   (int)LUTRA_ORDER_NEW == (int)ORDER_NEW &&
                   (int)LUTRA_ORDER_PARTIALLY_FILLED == (int)ORDER_PARTIALLY_FILLED &&
                   (int)LUTRA_ORDER_FILLED == (int)ORDER_FILLED &&
                   (int)LUTRA_ORDER_CANCELED == (int)ORDER_CANCELED &&
                   (int)LUTRA_ORDER_REJECTED == (int)ORDER_REJECTED &&
                   (int)LUTRA_ORDER_EXPIRED == (int)ORDER_EXPIRED &&
                   (int)LUTRA_ORDER_PENDING_CANCEL == (int)ORDER_PENDING_CANCEL,
               "plugin order statuses are the engine's");
_Static_assert(LUTRA_ORDER_ID_MAX == ORDER_ID_MAX && LUTRA_REASON_SIZE == ORDER_REASON_MAX &&
                   LUTRA_VENUE_ORDER_ID_SIZE == sizeof(((order *)0)->venue_order_id),
               "plugin order strings are the engine's sizes");

struct plugin_handle {
    void *dl;
    const lutra_plugin *table;
    char *path;       /* as asked for */
    char *image_path; /* what dlopen mapped: path, or its private copy */
    unsigned refs;    /* see plugin_refs */
};

struct plugin_instance {
    lutra_host host; /* first: the plugin's lutra_host * is the instance */
    plugin_handle *ph;
    void *self;
    int started;
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

/* dlopen image (the file or its copy), check its table, and make the
 * handle that names it `path`. */
static plugin_handle *load_image(const char *path, const char *image, char *err, size_t errlen)
{
    void *dl = dlopen(image, RTLD_NOW | RTLD_LOCAL);
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
    char *copy = strdup(path), *image_copy = strdup(image);
    if (!ph || !copy || !image_copy) {
        snprintf(err, errlen, "plugin %s: out of memory", path);
        free(ph);
        free(copy);
        free(image_copy);
        dlclose(dl);
        return NULL;
    }
    ph->dl = dl;
    ph->table = table;
    ph->path = copy;
    ph->image_path = image_copy;
    ph->refs = 1;
    return ph;
}

plugin_handle *plugin_load(const char *path, char *err, size_t errlen)
{
    return load_image(path, path, err, errlen);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copy the whole of fd `in` to fd `out`. @return 0, or -1 with errno. */
static int copy_fd(int in, int out)
{
    char buf[1 << 16];
    ssize_t n;

    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || write_all(out, buf, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

/* Copy src to copy (created, owner-only). @return 0, or -1 with err. */
static int copy_file(const char *src, const char *copy, char *err, size_t errlen)
{
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;

    if (in < 0) {
        snprintf(err, errlen, "plugin %s: %s", src, strerror(errno));
        return -1;
    }
    out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    if (out < 0 || copy_fd(in, out) != 0)
        snprintf(err, errlen, "plugin %s: cannot copy it to %s: %s", src, copy, strerror(errno));
    else
        rc = 0;
    if (out >= 0 && close(out) != 0 && rc == 0) {
        snprintf(err, errlen, "plugin %s: cannot copy it to %s: %s", src, copy, strerror(errno));
        rc = -1;
    }
    close(in);
    return rc;
}

plugin_handle *plugin_load_fresh(const char *path, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char copy[PATH_MAX];
    plugin_handle *ph = NULL;
    int dirlen = snprintf(copy, sizeof copy, "%s/lutra-plugin-XXXXXX", tmp);
    int n = snprintf(copy + dirlen, sizeof copy - (size_t)dirlen, "/%s", base);

    if (dirlen < 0 || n < 0 || (size_t)dirlen + (size_t)n >= sizeof copy) {
        snprintf(err, errlen, "plugin %s: temporary path in %s too long", path, tmp);
        return NULL;
    }
    /* copy is DIR/BASE: make DIR, then put the file in it. */
    copy[dirlen] = '\0';
    if (!mkdtemp(copy)) {
        snprintf(err, errlen, "plugin %s: cannot make a private copy in %s: %s", path, tmp,
                 strerror(errno));
        return NULL;
    }
    copy[dirlen] = '/';
    if (copy_file(path, copy, err, errlen) == 0)
        ph = load_image(path, copy, err, errlen);
    /* The mapping keeps the copy alive; its name is no longer needed. */
    unlink(copy);
    copy[dirlen] = '\0';
    rmdir(copy);
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

const char *plugin_image_path(const plugin_handle *ph)
{
    return ph->image_path;
}

unsigned plugin_refs(const plugin_handle *ph)
{
    return ph->refs;
}

void plugin_image_ref(plugin_handle *ph)
{
    if (ph)
        ph->refs++;
}

void plugin_image_unref(plugin_handle *ph)
{
    if (!ph || --ph->refs > 0)
        return;
    dlclose(ph->dl);
    free(ph->path);
    free(ph->image_path);
    free(ph);
}

void plugin_unload(plugin_handle *ph)
{
    plugin_image_unref(ph);
}

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

/* Why a create or start failed: the last error the plugin logged. */
static const char *instance_why(const plugin_instance *pi)
{
    return pi->host.last_error[0] ? pi->host.last_error : "it logged no reason";
}

static plugin_instance *instance_new(plugin_handle *ph, instrument_registry *reg,
                                     const char *const *conf, plugin_emit_fn emit, void *ud,
                                     const plugin_live *live, char *err, size_t errlen)
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
    plugin_host_init(&pi->host, ph, reg, emit, ud, live);
    plugin_image_ref(ph);
    pi->ph = ph;
    pi->self = ph->table->create(&plugin_host_api, &pi->host);
    if (!pi->self) {
        snprintf(err, errlen, "plugin %s: create failed: %s", ph->table->name,
                 instance_why(pi));
        plugin_instance_destroy(pi);
        return NULL;
    }
    return pi;
}

plugin_instance *plugin_instance_create(plugin_handle *ph, instrument_registry *reg,
                                        const char *const *conf, plugin_emit_fn emit,
                                        void *ud, char *err, size_t errlen)
{
    return instance_new(ph, reg, conf, emit, ud, NULL, err, errlen);
}

plugin_instance *plugin_instance_create_live(plugin_handle *ph, instrument_registry *reg,
                                             const char *const *conf, plugin_emit_fn emit,
                                             void *ud, const plugin_live *live, char *err,
                                             size_t errlen)
{
    if (!live || !live->lp) {
        snprintf(err, errlen, "plugin %s: a live instance needs a loop", ph->table->name);
        return NULL;
    }
    return instance_new(ph, reg, conf, emit, ud, live, err, errlen);
}

int plugin_instance_decode(plugin_instance *pi, int64_t recv_ns, const char *msg, size_t len)
{
    if (!pi->ph->table->decode) {
        log_write(LOG_ERROR, pi->host.name, "this plugin decodes no messages");
        return -1;
    }
    return pi->ph->table->decode(pi->self, recv_ns, msg, len);
}

int plugin_instance_start(plugin_instance *pi, char *err, size_t errlen)
{
    if (pi->started)
        return 0;
    pi->host.last_error[0] = '\0';
    if (pi->ph->table->start && pi->ph->table->start(pi->self) != 0) {
        snprintf(err, errlen, "plugin %s: start failed: %s", pi->host.name, instance_why(pi));
        return -1;
    }
    pi->started = 1;
    return 0;
}

int plugin_instance_stop(plugin_instance *pi)
{
    if (!pi->started)
        return 0;
    pi->started = 0;
    return pi->ph->table->stop ? pi->ph->table->stop(pi->self) : 0;
}

/* The plugin's order-entry function of that name, or NULL (logged) when
 * its table lacks it: NULL, or beyond the table's size (the sqlite rule). */
#define ORDER_ENTRY(pi, fn)                                                                   \
    ((pi)->ph->table->size >= offsetof(lutra_plugin, fn) + sizeof(pi)->ph->table->fn &&       \
             (pi)->ph->table->fn                                                              \
         ? (pi)->ph->table->fn                                                                \
         : (no_order_entry((pi), #fn), (__typeof__((pi)->ph->table->fn))NULL))

static void no_order_entry(const plugin_instance *pi, const char *fn)
{
    log_write(LOG_ERROR, pi->host.name,
              "%s: this plugin does not offer it (a plugin without order entry, or one built "
              "before lutra_plugin.%s existed)", fn, fn);
}

int plugin_instance_submit(plugin_instance *pi, const lutra_order *o)
{
    int (*fn)(void *, const lutra_order *) = ORDER_ENTRY(pi, submit);
    return fn ? fn(pi->self, o) : -1;
}

int plugin_instance_cancel(plugin_instance *pi, const lutra_order *o)
{
    int (*fn)(void *, const lutra_order *) = ORDER_ENTRY(pi, cancel);
    return fn ? fn(pi->self, o) : -1;
}

int plugin_instance_query_orders(plugin_instance *pi)
{
    int (*fn)(void *) = ORDER_ENTRY(pi, query_orders);
    return fn ? fn(pi->self) : -1;
}

int plugin_instance_query_balances(plugin_instance *pi)
{
    int (*fn)(void *) = ORDER_ENTRY(pi, query_balances);
    return fn ? fn(pi->self) : -1;
}

int plugin_instance_query_order(plugin_instance *pi, const lutra_order *o)
{
    int (*fn)(void *, const lutra_order *) = ORDER_ENTRY(pi, query_order);
    return fn ? fn(pi->self, o) : -1;
}

/* lutra_plugin.warm is optional: a plugin without it, or built before it
 * existed, is simply not warmed. */
static void (*warm_entry(const plugin_instance *pi))(void *)
{
    const lutra_plugin *t = pi->ph->table;
    return t->size >= offsetof(lutra_plugin, warm) + sizeof t->warm ? t->warm : NULL;
}

int plugin_host_can_warm(const lutra_host *h)
{
    return warm_entry((const plugin_instance *)(const void *)h) != NULL;
}

void plugin_host_warm(lutra_host *h)
{
    plugin_instance *pi = (plugin_instance *)(void *)h;
    void (*fn)(void *) = warm_entry(pi);

    if (fn && pi->started)
        fn(pi->self);
}

size_t plugin_instance_handles(const plugin_instance *pi)
{
    return pi->host.in_use;
}

plugin_handle *plugin_instance_plugin(const plugin_instance *pi)
{
    return pi->ph;
}

void plugin_instance_destroy(plugin_instance *pi)
{
    if (!pi)
        return;
    plugin_instance_stop(pi);
    if (pi->self && pi->ph->table->destroy)
        pi->ph->table->destroy(pi->self);
    if (pi->host.in_use)
        log_write(LOG_DEBUG, pi->host.name, "destroy: closing %zu timers, requests and "
                  "websockets left open", pi->host.in_use);
    plugin_host_close_handles(&pi->host);
    free(pi->host.conf);
    /* Last: the image may go with it, and pi->host.name with the image. */
    plugin_image_unref(pi->ph);
    free(pi);
}
