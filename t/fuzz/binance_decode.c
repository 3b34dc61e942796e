/*
 * Fuzz target: the Binance connector's decode on any message. The connector
 * is loaded once (LUTRA_PLUGIN_PATH) and keeps its book synchronisation
 * state across inputs, as it does live; emitted events go to a sink.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "plugin.h"

static int fuzz_sink(void *ud, const lutra_event *ev)
{
    (void)ud;
    (void)ev;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static plugin_instance *pi;
    static instrument_registry *reg;
    static char *buf;
    static size_t cap;
    char path[4096], err[1024];

    if (!pi) {
        static const char *conf[] = {NULL};
        plugin_handle *ph;
        if (plugin_find("binance", NULL, 0, path, sizeof path, err, sizeof err) != 0 ||
            !(ph = plugin_load(path, err, sizeof err)) || !(reg = instrument_registry_new()) ||
            !(pi = plugin_instance_create(ph, reg, conf, fuzz_sink, NULL, err, sizeof err))) {
            fprintf(stderr, "fuzz: %s\n", err);
            abort();
        }
    }
    if (size + JSON_PADDING > cap) {
        cap = size + JSON_PADDING;
        if (!(buf = realloc(buf, cap)))
            abort();
    }
    memcpy(buf, data, size);
    memset(buf + size, 0, JSON_PADDING);
    plugin_instance_decode(pi, 1700000000000000000LL, buf, size);
    return 0;
}
