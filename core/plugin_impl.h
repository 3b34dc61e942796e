/*
 * plugin_impl.h -- what the plugin loader (plugin.c: finding, loading,
 * instances) and the host services (plugin_host.c: the lutra_host_api every
 * instance is handed) share. Not public: a plugin sees only the opaque
 * lutra_host of its instance, and the rest of lutra sees plugin.h.
 */
#ifndef LUTRA_PLUGIN_IMPL_H
#define LUTRA_PLUGIN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "plugin.h"

struct host_handle; /* a timer, request or WebSocket of one instance (plugin_host.c) */

#define PLUGIN_LAST_ERROR_MAX 256

/*
 * One instance's side of the host: what its services need. It lives inside
 * the plugin_instance and never moves (live points into it, and the
 * handles' callbacks hold it).
 */
struct lutra_host {
    instrument_registry *reg;
    plugin_emit_fn emit;
    void *ud;
    const char *name;        /* the plugin's, for log lines */
    plugin_handle *image;    /* referenced once per open handle (plugin_image_ref) */
    char **conf;             /* key, value, key, value, ..., NULL: one allocation */
    const plugin_live *live; /* &live_copy, or NULL offline */
    plugin_live live_copy;
    struct host_handle **handles; /* by slot */
    size_t nhandles, cap;
    uint32_t free_slot;      /* head of the free list */
    size_t in_use;
    unsigned offline_warned; /* one bit per live service warned about offline */
    /* The last line the plugin logged at error level: why its create or
     * start failed, for the caller's err ("" when none). */
    char last_error[PLUGIN_LAST_ERROR_MAX];
    int64_t warmed_ns;       /* CLOCK_MONOTONIC of the last lutra_plugin.warm */
};

/* The table of services every instance is handed. */
extern const lutra_host_api plugin_host_api;

/* Make h an instance of image: no handles yet, live copied when given
 * (NULL: offline). h->conf is the caller's to set and free. */
void plugin_host_init(lutra_host *h, plugin_handle *image, instrument_registry *reg,
                      plugin_emit_fn emit, void *ud, const plugin_live *live);

/* 1 if h's plugin has lutra_plugin.warm (0: none, or built before it). */
int plugin_host_can_warm(const lutra_host *h);
/* Call it for h's started instance (plugin.c knows the instance around h). */
void plugin_host_warm(lutra_host *h);

/* Take and drop a reference to an image (plugin.h, plugin_refs); the last
 * drop dlcloses it. */
void plugin_image_ref(plugin_handle *ph);
void plugin_image_unref(plugin_handle *ph);

/* Cancel and close whatever the instance left open (timers, requests,
 * WebSockets), so none of their callbacks runs after, drop the image
 * references they held, and free the slots. */
void plugin_host_close_handles(lutra_host *h);

#endif
