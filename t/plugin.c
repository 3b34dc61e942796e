/*
 * plugin.c -- the plugin loader (core/plugin.h): finding a plugin by name and
 * by path, the not-found message, loading the binance connector, and refusing
 * the fixture plugins of t/fixtures (wrong ABI version, no entry symbol, an
 * entry returning NULL) and a file that is no shared object. The ABI's
 * sizes are checked at compile time (lutra_plugin.h, lutra_order.h).
 *
 * The build folder is found from this program's own path (build/t/plugin.t).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instrument.h"
#include "lutra_plugin.h"
#include "plugin.h"
#include "tap.h"

/* Folders are kept short enough that every path made from them fits. */
#define DIR_MAX 1024
static char build_dir[DIR_MAX];  /* build/ */
static char test_dir[DIR_MAX];   /* build/t */
static char plugin_dir[DIR_MAX]; /* build/plugins */
static char tmp_dir[DIR_MAX];

static void find_dirs(void)
{
    ssize_t n = readlink("/proc/self/exe", test_dir, sizeof test_dir - 16);
    if (n <= 0 || (size_t)n >= sizeof test_dir - 16)
        bail_out("cannot read /proc/self/exe");
    test_dir[n] = '\0';
    *strrchr(test_dir, '/') = '\0';
    snprintf(build_dir, sizeof build_dir, "%s", test_dir);
    *strrchr(build_dir, '/') = '\0';
    memcpy(plugin_dir, build_dir, strlen(build_dir));
    strcpy(plugin_dir + strlen(build_dir), "/plugins");
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        bail_out("cannot create %s", path);
    fputs("not a shared object\n", f);
    fclose(f);
}

static void test_find(void)
{
    char out[PATH_MAX], err[2048], want[PATH_MAX], env[PATH_MAX + 32];

    snprintf(env, sizeof env, "/nonexistent-lutra:%s", plugin_dir);
    setenv("LUTRA_PLUGIN_PATH", env, 1);
    snprintf(want, sizeof want, "%s/binance.so", plugin_dir);
    is_int(plugin_find("binance", NULL, 0, out, sizeof out, err, sizeof err), 0,
           "binance found through LUTRA_PLUGIN_PATH");
    is_str(out, want, "in the second folder of the list");

    /* A folder of the caller's search path comes first. */
    char fake[PATH_MAX];
    const char *extra[] = {tmp_dir};
    snprintf(fake, sizeof fake, "%s/binance.so", tmp_dir);
    touch(fake);
    is_int(plugin_find("binance", extra, 1, out, sizeof out, err, sizeof err), 0,
           "found with an extra folder");
    is_str(out, fake, "the extra folder wins over LUTRA_PLUGIN_PATH");

    is_int(plugin_find(want, NULL, 0, out, sizeof out, err, sizeof err), 0,
           "a name with a slash is a path");
    is_str(out, want, "the path itself");
    is_int(plugin_find("./no/such/plugin.so", NULL, 0, out, sizeof out, err, sizeof err), -1,
           "a missing path is an error");
    ok(strstr(err, "./no/such/plugin.so") != NULL, "naming the path: %s", err);
}

static void test_not_found(void)
{
    char out[PATH_MAX], err[4096], place[PATH_MAX + 32];
    const char *extra[] = {tmp_dir};

    setenv("LUTRA_PLUGIN_PATH", "/lutra-a::/lutra-b", 1);
    is_int(plugin_find("nosuch", extra, 1, out, sizeof out, err, sizeof err), -1,
           "unknown plugin not found");
    diag("%s", err);
    snprintf(place, sizeof place, "%s/nosuch.so", tmp_dir);
    ok(strstr(err, place) != NULL, "the message lists the extra folder");
    ok(strstr(err, "/lutra-a/nosuch.so") && strstr(err, "/lutra-b/nosuch.so"),
       "and every LUTRA_PLUGIN_PATH folder");
    snprintf(place, sizeof place, "%s/plugins/nosuch.so", test_dir);
    ok(strstr(err, place) != NULL, "and the plugins folder beside the program");
    snprintf(place, sizeof place, "%s/../lib/lutra/nosuch.so", test_dir);
    ok(strstr(err, place) != NULL, "and the installed lib/lutra folder");
    ok(err[strlen(err) - 1] != ',' && strstr(err, ": ,") == NULL, "a clean list");
}

static void test_load_binance(void)
{
    char path[PATH_MAX], err[1024];

    snprintf(path, sizeof path, "%s/binance.so", plugin_dir);
    plugin_handle *ph = plugin_load(path, err, sizeof err);
    ok(ph != NULL, "binance loads: %s", ph ? "" : err);
    if (!ph) {
        skip(9, "binance did not load");
        return;
    }
    const lutra_plugin *t = plugin_table(ph);
    is_str(t->name, "binance", "its name");
    ok(t->version && t->version[0], "a version: %s", t->version ? t->version : "(null)");
    is_int(t->kind, LUTRA_PLUGIN_CONNECTOR, "a connector");
    is_int(t->abi_version, LUTRA_PLUGIN_ABI_VERSION, "built for our ABI");
    ok(t->submit && t->query_orders && t->query_order, "order entry, query_order included");
    is_str(plugin_path(ph), path, "plugin_path gives the file");

    /* An instance refuses bad configuration, and decodes with good. */
    instrument_registry *reg = instrument_registry_new();
    const char *bad[] = {"tick", "0.0x1", NULL};
    plugin_instance *pi = plugin_instance_create(ph, reg, bad, NULL, NULL, err, sizeof err);
    ok(pi == NULL && strstr(err, "binance"), "bad tick refused: %s", err);
    const char *good[] = {"venue", "binance", "tick", "0.01", NULL};
    pi = plugin_instance_create(ph, reg, good, NULL, NULL, err, sizeof err);
    ok(pi != NULL, "instance with good configuration");
    char msg[64 + JSON_PADDING] = "{\"e\":\"kline\",\"E\":1}";
    is_int(plugin_instance_decode(pi, 1, msg, strlen(msg)), 1, "an unknown event returns 1");
    plugin_instance_destroy(pi);
    instrument_registry_free(reg);
    plugin_unload(ph);
}

/* Load a fixture; it must fail with every needle in the message. */
static void refused(const char *fixture, const char *why, const char *needle1,
                    const char *needle2)
{
    char path[PATH_MAX], err[1024];

    snprintf(path, sizeof path, "%s/fixtures/%s.so", test_dir, fixture);
    plugin_handle *ph = plugin_load(path, err, sizeof err);
    ok(ph == NULL, "%s refused", why);
    diag("%s", ph ? "(loaded)" : err);
    ok(!ph && strstr(err, path) && strstr(err, needle1) && (!needle2 || strstr(err, needle2)),
       "%s: the message names the file and says why", fixture);
    if (ph)
        plugin_unload(ph);
}

static void test_refusals(void)
{
    char fake[PATH_MAX], err[1024];

    refused("bad_abi", "wrong ABI version", "built for ABI version 999",
            "this lutra speaks version 1");
    refused("no_entry", "no entry symbol", LUTRA_PLUGIN_ENTRY, NULL);
    refused("null_entry", "an entry returning NULL", "returned NULL", NULL);

    snprintf(fake, sizeof fake, "%s/binance.so", tmp_dir);
    ok(plugin_load(fake, err, sizeof err) == NULL && strstr(err, fake),
       "a file that is no shared object is refused: %s", err);
}

int main(void)
{
    plan(31);
    find_dirs();
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/lutra-plugin-XXXXXX");
    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    test_find();
    test_not_found();
    test_load_binance();
    test_refusals();

    char fake[PATH_MAX + 16];
    snprintf(fake, sizeof fake, "%s/binance.so", tmp_dir);
    unlink(fake);
    rmdir(tmp_dir);
    return done();
}
