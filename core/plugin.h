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

#include "instrument.h"
#include "lutra_plugin.h"

typedef struct plugin_handle plugin_handle;

/* Called for every event a plugin instance emits. @return 0, or -1 to refuse. */
typedef int (*plugin_emit_fn)(void *ud, const lutra_event *ev);

/*
 * Find the plugin file for name (see above); extra_dirs may be NULL.
 * @return 0 and the path in out, or -1 with err listing where it looked.
 */
int plugin_find(const char *name, const char *const *extra_dirs, size_t ndirs, char *out,
                size_t outlen, char *err, size_t errlen);

/*
 * dlopen the file, call its entry point, check its ABI version, size and kind.
 * @return the loaded plugin, or NULL with err naming the file (and both ABI
 * versions when they differ).
 */
plugin_handle *plugin_load(const char *path, char *err, size_t errlen);

const lutra_plugin *plugin_table(const plugin_handle *ph);
const char *plugin_path(const plugin_handle *ph);

/*
 * Make an instance: its events go to emit(ud, ev), its instruments into reg,
 * and config_get answers from the NULL-terminated key/value array conf
 * (copied). @return the instance, or NULL with err set.
 */
typedef struct plugin_instance plugin_instance;
plugin_instance *plugin_instance_create(plugin_handle *ph, instrument_registry *reg,
                                        const char *const *conf, plugin_emit_fn emit,
                                        void *ud, char *err, size_t errlen);

/* Feed one message to the instance's decode. msg needs JSON_PADDING bytes. */
int plugin_instance_decode(plugin_instance *pi, int64_t recv_ns, const char *msg,
                           size_t len);

void plugin_instance_destroy(plugin_instance *pi);

/* dlclose. Every instance must be destroyed first. */
void plugin_unload(plugin_handle *ph);

#endif
