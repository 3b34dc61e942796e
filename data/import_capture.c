/*
 * import_capture.c -- raw Binance captures ("<receive_ns> <json>" a line, as
 * `lutra record` and hftbacktest's collector write them), decoded by the
 * binance connector itself: the same decode that runs live turns the
 * recorded messages into events, book synchronisation and gap detection
 * included. The connector defines the instruments, with their scales.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "plugin.h"

#define CAPTURE_CONNECTOR "binance"
/* Digits of a nanosecond receive time (2001 to 2286 have 19). */
#define CAPTURE_MIN_DIGITS 16
#define CAPTURE_MAX_DIGITS 20

/* ^[0-9]{16,20} \{ */
static int capture_detect(const char *const *lines, const size_t *lens, size_t n)
{
    size_t d = 0;

    if (n == 0)
        return 0;
    while (d < lens[0] && lines[0][d] >= '0' && lines[0][d] <= '9')
        d++;
    if (d < CAPTURE_MIN_DIGITS || d > CAPTURE_MAX_DIGITS || d + 2 > lens[0])
        return 0;
    return lines[0][d] == ' ' && lines[0][d + 1] == '{' ? 100 : 0;
}

static int capture_emit(void *ud, const lutra_event *ev)
{
    return import_emit(ud, ev);
}

/* The connector's configuration from the options that were given. */
static void capture_config(const import_options *opt, const char **conf)
{
    const char *keys[] = {"venue", "symbol", "tick", "lot"};
    const char *values[] = {opt->venue, opt->symbol, opt->tick, opt->lot};
    size_t n = 0;

    for (size_t i = 0; i < 4; i++)
        if (values[i]) {
            conf[n++] = keys[i];
            conf[n++] = values[i];
        }
    conf[n] = NULL;
}

/* One line: the receive time, a space, the message. @return 0 or -1. */
static int capture_line(import_ctx *ic, plugin_instance *pi, const char *line, size_t len)
{
    size_t d = 0, at;
    int64_t recv_ns;

    while (d < len && line[d] >= '0' && line[d] <= '9')
        d++;
    if (d == 0 || d >= len || line[d] != ' ' || import_int64(line, d, &recv_ns) < 0)
        return import_bad_row(ic, 1, "no receive time in ns before the message");
    for (at = d; at < len && line[at] == ' '; at++)
        ;
    if (at == len)
        return import_bad_row(ic, at + 1, "no message after the receive time");
    if (plugin_instance_decode(pi, recv_ns, line + at, len - at) < 0)
        return import_bad_row(ic, at + 1, "the %s connector could not decode this message "
                                          "(its reason is logged above)", CAPTURE_CONNECTOR);
    return 0;
}

/* The connector instance, kept across inputs: a capture continued in a
 * second file needs the first one's book synchronisation. */
typedef struct capture_state {
    plugin_handle *ph;
    plugin_instance *pi;
} capture_state;

static void capture_finish(void *state)
{
    capture_state *cs = state;
    plugin_instance_destroy(cs->pi);
    plugin_unload(cs->ph);
    free(cs);
}

static capture_state *capture_connector(import_ctx *ic)
{
    void **slot = import_state(ic);
    const char *conf[9];
    char path[4096], err[1024];
    capture_state *cs;

    if (*slot)
        return *slot;
    if (!(cs = calloc(1, sizeof *cs))) {
        import_fail(ic, "out of memory");
        return NULL;
    }
    if (plugin_find(CAPTURE_CONNECTOR, NULL, 0, path, sizeof path, err, sizeof err) < 0 ||
        !(cs->ph = plugin_load(path, err, sizeof err))) {
        free(cs);
        import_fail(ic, "%s", err);
        return NULL;
    }
    capture_config(import_opts(ic), conf);
    cs->pi = plugin_instance_create(cs->ph, import_registry(ic), conf, capture_emit, ic, err,
                                    sizeof err);
    if (!cs->pi) {
        plugin_unload(cs->ph);
        free(cs);
        import_fail(ic, "%s", err);
        return NULL;
    }
    return *slot = cs;
}

static int capture_run(import_ctx *ic)
{
    capture_state *cs = capture_connector(ic);
    char *line;
    size_t len;
    int rc;

    if (!cs)
        return -1;
    while ((rc = import_next_line(ic, &line, &len)) == 1) {
        rc = len ? capture_line(ic, cs->pi, line, len) : 0;
        if (rc < 0)
            break;
    }
    return rc;
}

const importer import_binance_capture = {
    "binance-capture", "raw Binance capture (\"<receive_ns> <json>\" lines), via the connector",
    capture_detect, capture_run, capture_finish};
