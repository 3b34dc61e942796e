/*
 * lutra_plugin.h -- the plugin ABI: the one header a connector or plugin
 * includes (with the public headers it pulls in: lutra_event.h, json.h).
 *
 * A plugin is a shared object exporting one function, LUTRA_PLUGIN_ENTRY,
 * that returns a const table describing it. The host hands each instance a
 * table of services (lutra_host_api). Both tables start with the ABI version
 * and their own size and only ever grow at the end: a reader uses a field
 * only when the other side's `size` covers it (the sqlite rule). A plugin
 * whose abi_version differs from the host's is refused, naming the file and
 * both versions.
 *
 * Threads: every call into a plugin, and every service call it makes, happens
 * on the engine thread unless a service says otherwise.
 */
#ifndef LUTRA_PLUGIN_H
#define LUTRA_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "lutra_event.h"

#define LUTRA_PLUGIN_ABI_VERSION 1
#define LUTRA_PLUGIN_ENTRY "lutra_plugin_entry"

/* Kinds of plugin. */
enum lutra_plugin_kind {
    LUTRA_PLUGIN_CONNECTOR = 1, /* an exchange: decode, later order entry */
    LUTRA_PLUGIN_OTHER = 2
};

/* Log levels for lutra_host_api.log. */
enum lutra_log_level {
    LUTRA_LOG_DEBUG = 0,
    LUTRA_LOG_INFO = 1,
    LUTRA_LOG_WARN = 2,
    LUTRA_LOG_ERROR = 3
};

/* Opaque handle the host passes back into its own services. */
typedef struct lutra_host lutra_host;

/*
 * Services the host offers a plugin instance. Append-only.
 */
typedef struct lutra_host_api {
    uint32_t abi_version; /* LUTRA_PLUGIN_ABI_VERSION of the host */
    uint32_t size;        /* sizeof(lutra_host_api) in the host */

    /* Log one line under the plugin's name. Never pass a secret. */
    void (*log)(lutra_host *h, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Hand one normalized event to the engine (copied before return).
     * head.instrument is an id from instrument_find/instrument_define.
     * @return 0, or -1 if the engine refused it (the reason is logged). */
    int (*emit)(lutra_host *h, const lutra_event *ev);

    /* Instruments. find: the id of (venue, symbol) or -1. define: add a
     * definition (or get the id of an identical one) or -1 on conflict;
     * empty base and quote are filled by splitting the symbol. */
    int32_t (*instrument_find)(lutra_host *h, const char *venue, const char *symbol);
    int32_t (*instrument_define)(lutra_host *h, const lutra_instrument *def);
    const lutra_instrument *(*instrument_get)(lutra_host *h, uint32_t id);

    /* Configuration of this instance: the value of key as a string, or NULL.
     * Valid for the instance's life. */
    const char *(*config_get)(lutra_host *h, const char *key);

    /* Exact decimals (fixed.h): parse, and the smallest scale that holds s. */
    int (*fixed_parse)(const char *s, size_t len, int scale, int64_t *out);
    int (*fixed_decimals)(const char *s, size_t len);

    /* The JSON facade (json.h). */
    json_parser *(*json_parser_new)(void);
    void (*json_parser_free)(json_parser *p);
    int (*json_parse)(json_parser *p, const char *buf, size_t len, json_value *root);
    int (*json_field)(json_value *obj, const char *key, json_value *out);
    int (*json_string)(json_value *v, const char **s, size_t *len);
    int (*json_number_text)(json_value *v, const char **s, size_t *len);
    int (*json_int64)(json_value *v, int64_t *out);
    int (*json_uint64)(json_value *v, uint64_t *out);
    int (*json_bool)(json_value *v, int *out);
    int (*json_array_begin)(json_value *arr, json_iter *it);
    int (*json_array_next)(json_iter *it, json_value *out);
    const char *(*json_last_error)(void);
    int (*json_field_opt)(json_value *obj, const char *key, json_value *out);

    /* Services below took a reserved slot, so `size` covers them in every
     * host of this ABI version: a host older than one leaves it NULL. Check
     * the pointer before the first call. */

    /* A whole array of [price, qty, ...] rows in one call (json.h). */
    int (*json_string_rows)(json_iter *it, json_text *out, size_t cols, size_t max_rows,
                            size_t *nrows);

    /* Room to grow without breaking plugins built against this version. */
    void *reserved[30];
} lutra_host_api;

/*
 * What a plugin exports. Append-only, like lutra_host_api.
 */
typedef struct lutra_plugin {
    uint32_t abi_version; /* LUTRA_PLUGIN_ABI_VERSION the plugin was built with */
    uint32_t size;        /* sizeof(lutra_plugin) in the plugin */
    uint32_t kind;        /* enum lutra_plugin_kind */
    uint32_t reserved0;
    const char *name;     /* "binance" */
    const char *version;  /* the plugin's own version, shown to users */

    /* Make an instance. Configuration comes through api->config_get.
     * @return the instance, or NULL with the reason logged. */
    void *(*create)(const lutra_host_api *api, lutra_host *h);
    /* Connect and begin (live only). @return 0 or -1. */
    int (*start)(void *self);
    /* Stop what start began; no service is called after it returns. */
    int (*stop)(void *self);
    void (*destroy)(void *self);

    /*
     * Connector: decode one received market-data message into events through
     * api->emit, keeping any book synchronisation state in the instance.
     * msg has JSON_PADDING readable bytes after len. The same code decodes
     * live frames and recorded captures.
     * @return 0; 1 if the message was understood but not market data this
     * connector turns into events; -1 if malformed (the reason is logged).
     */
    int (*decode)(void *self, int64_t recv_ns, const char *msg, size_t len);

    /* Room to grow: order entry (submit, cancel, query_orders,
     * query_balances) arrives in later ABI versions here. */
    void *reserved[16];
} lutra_plugin;

/* The signature of the exported entry point. */
typedef const lutra_plugin *(*lutra_plugin_entry_fn)(void);

#endif
