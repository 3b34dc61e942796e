/*
 * plugin.h -- loading plugins and giving them the host services.
 *
 * Where plugins are found: a name containing '/' is a path; a bare name N is
 * looked up as N.so in each folder of the search path given by the caller
 * (the config's plugin_path), then in $LUTRA_PLUGIN_PATH (colon-separated),
 * then in the plugins folder beside the lutra binary.
 */
#ifndef LUTRA_PLUGIN_LOADER_H
#define LUTRA_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "instrument.h"
#include "loop.h"
#include "lutra_plugin.h"
#include "secret.h"

typedef struct plugin_handle plugin_handle;

/* Called for every event a plugin instance emits. @return 0, or -1 to refuse. */
typedef int (*plugin_emit_fn)(void *ud, const lutra_event *ev);

/* Called for every order report, balance and connection state an instance
 * emits (checked first: malformed ones are refused and logged). The report
 * is valid during the call only. @return 0, or -1 to refuse. */
typedef int (*plugin_exec_fn)(void *ud, const lutra_exec *x);
typedef int (*plugin_balance_fn)(void *ud, const lutra_balance *b);
typedef void (*plugin_state_fn)(void *ud, int state, const char *reason);

/*
 * What a live instance runs on. Everything is the caller's and must outlive
 * the instance. Without it (plugin_instance_create, for `lutra import`) the
 * live services log "not available offline" and fail.
 */
typedef struct plugin_live {
    loop *lp;                     /* the engine's loop: timers, WebSocket wake-ups */
    http_client *http;            /* on lp's base, shared by the loop's instances;
                                   * NULL: http_request fails */
    const secret_store *secrets;  /* this instance's (its venue's); NULL: none */
    int64_t (*clock)(void *ud);   /* the engine's clock; NULL: the wall clock */
    void *clock_ud;
    plugin_exec_fn on_exec;       /* each may be NULL: the reports are dropped */
    plugin_balance_fn on_balance;
    plugin_state_fn on_state;
    void *ud;                     /* for the three above */
    /* Every market-data message the instance receives (lutra_host_api.record),
     * valid during the call only; NULL: recording is off. */
    void (*record)(void *record_ud, int64_t recv_ns, const char *msg, size_t len);
    void *record_ud;
    /* ws_config.spin_us of every WebSocket the instance opens (the venue's
     * ws_spin_us); 0: the process default (ws_set_spin_default). */
    int64_t ws_spin_us;
} plugin_live;

/*
 * Find the plugin file for name (see above); extra_dirs may be NULL.
 * @return 0 and the path in out, or -1 with err listing where it looked.
 */
int plugin_find(const char *name, const char *const *extra_dirs, size_t ndirs, char *out,
                size_t outlen, char *err, size_t errlen);

/*
 * dlopen the file, call its entry point, check its ABI version, size and kind.
 * @return the loaded plugin, or NULL with err naming the file (and both ABI
 * versions when they differ). The caller holds one reference (plugin_unload).
 */
plugin_handle *plugin_load(const char *path, char *err, size_t errlen);

/*
 * The same from a private copy of the file (in $TMPDIR, else /tmp; removed
 * once mapped): glibc hands back the image it already has for a path or a
 * file it has seen, so a reload of a changed .so must load a new file, and
 * the running image is then safe from the file being overwritten in place.
 * plugin_path still names the original.
 */
plugin_handle *plugin_load_fresh(const char *path, char *err, size_t errlen);

const lutra_plugin *plugin_table(const plugin_handle *ph);
/* The file the plugin was asked for, and the one dlopen mapped (the private
 * copy of plugin_load_fresh, deleted; else the same). */
const char *plugin_path(const plugin_handle *ph);
const char *plugin_image_path(const plugin_handle *ph);

/*
 * References to the image: the loader's caller (until plugin_unload), each
 * instance, and each timer, HTTP request and WebSocket an instance holds.
 * The image is dlclosed when the last goes, never while code of it can
 * still be called back.
 */
unsigned plugin_refs(const plugin_handle *ph);

/*
 * Make an instance: its events go to emit(ud, ev), its instruments into reg,
 * and config_get answers from the NULL-terminated key/value array conf
 * (copied). @return the instance, or NULL with err set.
 */
typedef struct plugin_instance plugin_instance;
plugin_instance *plugin_instance_create(plugin_handle *ph, instrument_registry *reg,
                                        const char *const *conf, plugin_emit_fn emit,
                                        void *ud, char *err, size_t errlen);

/*
 * The same, with the live services of `live` (copied). Timers, HTTP requests
 * and WebSocket connections the instance opens are its own: destroying it
 * cancels and closes what is left, so none of their callbacks runs after.
 */
plugin_instance *plugin_instance_create_live(plugin_handle *ph, instrument_registry *reg,
                                             const char *const *conf, plugin_emit_fn emit,
                                             void *ud, const plugin_live *live, char *err,
                                             size_t errlen);

/* Feed one message to the instance's decode. msg needs JSON_PADDING bytes. */
int plugin_instance_decode(plugin_instance *pi, int64_t recv_ns, const char *msg,
                           size_t len);

/* Call the plugin's start (nothing to do when it has none).
 * @return 0, or -1 with err naming the plugin and the last error it logged. */
int plugin_instance_start(plugin_instance *pi, char *err, size_t errlen);
/* Call the plugin's stop if it was started. @return its answer, or 0. */
int plugin_instance_stop(plugin_instance *pi);

/* Order entry (lutra_plugin.submit ...): the plugin's answer, or -1
 * (logged) when it has no order entry. Reports arrive later through the
 * live context's callbacks. */
int plugin_instance_submit(plugin_instance *pi, const lutra_order *o);
int plugin_instance_cancel(plugin_instance *pi, const lutra_order *o);
int plugin_instance_query_orders(plugin_instance *pi);
int plugin_instance_query_balances(plugin_instance *pi);
/* The fate of one order (lutra_plugin.query_order): FILLs, then the STATUS
 * that ends the answer. -1 (logged) also for a plugin built before the
 * entry existed. */
int plugin_instance_query_order(plugin_instance *pi, const lutra_order *o);

/* Timers, HTTP requests and WebSocket connections the instance holds now. */
size_t plugin_instance_handles(const plugin_instance *pi);

/* The plugin an instance runs. */
plugin_handle *plugin_instance_plugin(const plugin_instance *pi);

/* Stop it if started, call the plugin's destroy, then cancel and close
 * whatever it left, and drop its reference to the image. Not from inside
 * one of the instance's callbacks. */
void plugin_instance_destroy(plugin_instance *pi);

/* Drop the caller's reference: the image is dlclosed now, or when its last
 * instance is destroyed. NULL is accepted. */
void plugin_unload(plugin_handle *ph);

#endif
