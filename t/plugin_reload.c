/*
 * plugin_reload.c -- what a connector reload asks of the plugin loader
 * (core/plugin.h):
 *
 *   - plugin_load of the same file twice hands back glibc's cached image;
 *     plugin_load_fresh loads a private copy each time: a new image, which
 *     still names the original file, and leaves no copy behind;
 *   - the second build of the Binance connector (build/t/fixtures/
 *     binance_reload.so) is told apart by its version string;
 *   - a wrong ABI is refused by plugin_load_fresh, naming both versions;
 *   - a connector that fails to start says why (the error it logged);
 *   - references: the loader's, each instance's, and each timer's and
 *     HTTP request's (t/fixtures/ref_probe.c); the image stays mapped while
 *     any is held (plugin_unload first), and goes when the instance is
 *     destroyed, its timer and request cancelled, no callback run after.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <link.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "instrument.h"
#include "loop.h"
#include "lutra_plugin.h"
#include "plugin.h"
#include "tap.h"

#define DIR_MAX 1024
static char test_dir[DIR_MAX];  /* build/t */
static char plugin_dir[DIR_MAX]; /* build/plugins */
static char tmp_dir[] = "/tmp/lutra-plugin-reload-XXXXXX";

static void find_dirs(void)
{
    ssize_t n = readlink("/proc/self/exe", test_dir, sizeof test_dir - 16);
    if (n <= 0 || (size_t)n >= sizeof test_dir - 16)
        bail_out("cannot read /proc/self/exe");
    test_dir[n] = '\0';
    *strrchr(test_dir, '/') = '\0';
    snprintf(plugin_dir, sizeof plugin_dir, "%s", test_dir);
    *strrchr(plugin_dir, '/') = '\0';
    strcat(plugin_dir, "/plugins");
}

static void fixture(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/fixtures/%s.so", test_dir, name);
}

/* ---- Is an image mapped? (dl_iterate_phdr lists what is) ---- */

typedef struct mapped_query {
    const char *path;
    int found;
} mapped_query;

static int mapped_one(struct dl_phdr_info *info, size_t size, void *ud)
{
    mapped_query *q = ud;
    (void)size;
    if (info->dlpi_name && strcmp(info->dlpi_name, q->path) == 0)
        q->found = 1;
    return 0;
}

static int image_mapped(const char *path)
{
    mapped_query q = {path, 0};
    dl_iterate_phdr(mapped_one, &q);
    return q.found;
}

/* Entries in tmp_dir (TMPDIR): copies left behind. */
static int tmp_entries(void)
{
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* ---- Tests ---- */

static void test_fresh(void)
{
    char path[PATH_MAX], err[1024];
    plugin_handle *a, *b, *c, *d;

    snprintf(path, sizeof path, "%s/binance.so", plugin_dir);
    a = plugin_load(path, err, sizeof err);
    b = plugin_load(path, err, sizeof err);
    if (!a || !b)
        bail_out("plugin_load: %s", err);
    ok(plugin_table(a) == plugin_table(b), "plugin_load of one path twice: glibc's cached image");
    c = plugin_load_fresh(path, err, sizeof err);
    d = plugin_load_fresh(path, err, sizeof err);
    if (!c || !d)
        bail_out("plugin_load_fresh: %s", err);
    ok(plugin_table(c) != plugin_table(a) && plugin_table(d) != plugin_table(c),
       "plugin_load_fresh: a new image every time");
    is_str(plugin_path(c), path, "it still names the file asked for");
    ok(strcmp(plugin_image_path(c), path) != 0 &&
           strncmp(plugin_image_path(c), tmp_dir, strlen(tmp_dir)) == 0,
       "the image is a private copy in TMPDIR (%s)", plugin_image_path(c));
    ok(image_mapped(plugin_image_path(c)), "the copy is mapped");
    is_int(tmp_entries(), 0, "and no copy is left on disk");
    plugin_unload(a);
    plugin_unload(b);
    plugin_unload(c);
    plugin_unload(d);
}

static void test_versions(void)
{
    char path[PATH_MAX], err[1024];
    plugin_handle *now, *next;

    snprintf(path, sizeof path, "%s/binance.so", plugin_dir);
    now = plugin_load_fresh(path, err, sizeof err);
    fixture(path, sizeof path, "binance_reload");
    next = plugin_load_fresh(path, err, sizeof err);
    if (!now || !next)
        bail_out("plugin_load_fresh: %s", err);
    is_str(plugin_table(next)->name, plugin_table(now)->name, "binance_reload is binance...");
    ok(strcmp(plugin_table(next)->version, plugin_table(now)->version) != 0 &&
           strstr(plugin_table(next)->version, "-reload"),
       "... with another version: %s, then %s", plugin_table(now)->version,
       plugin_table(next)->version);
    plugin_unload(now);
    plugin_unload(next);
}

static void test_bad_abi(void)
{
    char path[PATH_MAX], err[1024] = "";

    fixture(path, sizeof path, "bad_abi");
    ok(plugin_load_fresh(path, err, sizeof err) == NULL, "a wrong ABI is refused");
    ok(strstr(err, path) && strstr(err, "ABI version 999") && strstr(err, "version 1"),
       "naming the file and both versions: %s", err);
    is_int(tmp_entries(), 0, "no copy is left on disk");
    ok(plugin_load_fresh("/nonexistent/x.so", err, sizeof err) == NULL &&
           strstr(err, "/nonexistent/x.so"),
       "a missing file is refused, named: %s", err);
}

/* ---- Live instances ---- */

static int64_t ticks, http_answers;

static int on_balance(void *ud, const lutra_balance *b)
{
    (void)ud;
    if (!strcmp(b->asset, "TICKS"))
        ticks = b->free;
    else if (!strcmp(b->asset, "HTTP"))
        http_answers++;
    return 0;
}

static int on_event(void *ud, const lutra_event *ev)
{
    (void)ud;
    (void)ev;
    return 0;
}

static plugin_instance *live_instance(plugin_handle *ph, loop *lp, http_client *http,
                                      instrument_registry *reg, const char *const *conf)
{
    plugin_live live = {.lp = lp, .http = http, .on_balance = on_balance};
    char err[512];
    plugin_instance *pi = plugin_instance_create_live(ph, reg, conf, on_event, NULL, &live, err,
                                                      sizeof err);
    if (!pi)
        bail_out("create: %s", err);
    return pi;
}

static void run_loop_ms(loop *lp, int ms)
{
    for (int i = 0; i < ms; i++) {
        loop_run_nowait(lp);
        usleep(1000);
    }
}

static void test_start_fails(loop *lp, http_client *http, instrument_registry *reg)
{
    char path[PATH_MAX], err[1024] = "";
    plugin_handle *ph;
    plugin_instance *pi;

    fixture(path, sizeof path, "start_fails");
    if (!(ph = plugin_load_fresh(path, err, sizeof err)))
        bail_out("%s", err);
    pi = live_instance(ph, lp, http, reg, NULL);
    is_int(plugin_instance_start(pi, err, sizeof err), -1, "start_fails does not start");
    ok(strstr(err, "start failed") && strstr(err, "never starts (a test fixture)"),
       "and the error says why, from its log: %s", err);
    plugin_instance_destroy(pi);
    plugin_unload(ph);
}

/* A TCP port that takes connections (the kernel's backlog) and never
 * answers: an HTTP request to it stays pending. @return the socket. */
static int silent_server(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        bail_out("silent server: cannot listen");
    *port = ntohs(sa.sin_port);
    return fd;
}

static void test_refs(loop *lp, http_client *http, instrument_registry *reg)
{
    char path[PATH_MAX], image[PATH_MAX], url[64], err[1024];
    int port, fd = silent_server(&port);
    const char *conf[] = {"url", url, NULL};
    plugin_handle *ph;
    plugin_instance *pi;
    int64_t ticks_at_destroy;

    snprintf(url, sizeof url, "http://127.0.0.1:%d/never", port);
    fixture(path, sizeof path, "ref_probe");
    if (!(ph = plugin_load_fresh(path, err, sizeof err)))
        bail_out("%s", err);
    snprintf(image, sizeof image, "%s", plugin_image_path(ph));
    is_int(plugin_refs(ph), 1, "a loaded plugin: one reference, its loader's");
    pi = live_instance(ph, lp, http, reg, conf);
    is_int(plugin_refs(ph), 2, "an instance takes one");
    if (plugin_instance_start(pi, err, sizeof err) != 0)
        bail_out("%s", err);
    is_int(plugin_instance_handles(pi), 2, "started: a timer and an HTTP request pending");
    is_int(plugin_refs(ph), 4, "each takes one");
    run_loop_ms(lp, 30);
    ok(ticks > 0 && http_answers == 0, "the timer ticks (%lld), the request waits",
       (long long)ticks);

    plugin_unload(ph);
    is_int(plugin_refs(ph), 3, "unload with an instance, a timer and a request left: not closed");
    ok(image_mapped(image), "the image is still mapped");
    plugin_instance_destroy(pi);
    ok(!image_mapped(image), "destroying the instance cancelled both and closed the image");
    ticks_at_destroy = ticks;
    run_loop_ms(lp, 30);
    ok(ticks == ticks_at_destroy && http_answers == 0,
       "no callback of it ran after (ticks %lld, answers %lld)", (long long)ticks,
       (long long)http_answers);
    close(fd);
}

int main(void)
{
    loop *lp;
    http_client *http;
    instrument_registry *reg;
    char err[256];

    find_dirs();
    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    setenv("TMPDIR", tmp_dir, 1);
    if (!(lp = loop_new(err, sizeof err)) || !(reg = instrument_registry_new()) ||
        !(http = http_new(loop_base(lp), NULL, err, sizeof err)))
        bail_out("loop: %s", err);
    plan(23);
    test_fresh();
    test_versions();
    test_bad_abi();
    test_start_fails(lp, http, reg);
    test_refs(lp, http, reg);
    http_free(http);
    instrument_registry_free(reg);
    loop_free(lp);
    tap_rmtree(tmp_dir);
    return done();
}
