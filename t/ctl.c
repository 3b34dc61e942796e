/*
 * ctl.c -- the control socket (core/ctl.h) with a stand-in driver: the
 * server runs on its own loop in a second thread, the test is the client
 * (ctl_request, and raw sockets where the test must misbehave):
 *
 *   - the socket's path (default, control_socket, too long), its mode 0600;
 *   - each command: status as JSON, reload NAME, reload-plugin NAME,
 *     reload-config (done in part), a refused reload with a reason that
 *     needs escaping; two requests on one connection;
 *   - bad requests: an unknown command, a missing or extra NAME, an empty
 *     line, a line too long (refused, then closed);
 *   - a client that sends nothing is dropped after the idle time; one that
 *     leaves before its answer does not end the server;
 *   - a second server on a path in use is refused; a stale socket file is
 *     replaced; a path that is not a socket is left alone.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "tap.h"

#define IDLE_MS 200
#define TIMEOUT_MS 5000

static char tmp_dir[] = "/tmp/lutra-ctl-XXXXXX";
static char sock_path[100];

/* ---- A stand-in driver ---- */

static char last_strategy[128], last_plugin[128];
static int config_reloads;

static void fake_status(void *ud, ctl_status *st)
{
    (void)ud;
    st->mode = "live";
    st->nvenues = 1;
    st->venues[0] = (ctl_venue_status){.name = "binance", .state = "ready",
                                       .connector = "binance", .version = "0.1.0-test",
                                       .path = "/x/binance.so", .reloading = 0};
    st->nstrategies = 2;
    st->strategies[0] = (ctl_strategy_status){.name = "mm", .state = "running"};
    st->strategies[1] = (ctl_strategy_status){.name = "bad", .state = "failed",
                                              .error = "t.lua:3: boom\n\tstack \"x\" \xff \xc3\xa9"};
    st->open_orders = 3;
}

static int fake_reload_strategy(void *ud, const char *name, char *msg, size_t msglen)
{
    (void)ud;
    snprintf(last_strategy, sizeof last_strategy, "%s", name);
    if (!strcmp(name, "broken")) {
        snprintf(msg, msglen, "broken.lua:2: '=' expected near \"x\"\n(old version kept)");
        return -1;
    }
    snprintf(msg, msglen, "strategy %s reloaded", name);
    return 0;
}

static int fake_reload_plugin(void *ud, const char *name, char *msg, size_t msglen)
{
    (void)ud;
    snprintf(last_plugin, sizeof last_plugin, "%s", name);
    snprintf(msg, msglen, "venue %s: connector replaced", name);
    return 0;
}

static int fake_reload_config(void *ud, char *msg, size_t msglen)
{
    (void)ud;
    config_reloads++;
    snprintf(msg, msglen, "state_dir needs a restart");
    return 1;
}

static const ctl_ops fake_ops = {fake_status, fake_reload_strategy, fake_reload_plugin,
                                 fake_reload_config};

/* ---- The server's thread ---- */

typedef struct server_thread {
    loop *lp;
    ctl_server *srv;
    atomic_int stop;
    pthread_t tid;
} server_thread;

static void check_stop(loop_timer *t, void *ud)
{
    server_thread *st = ud;
    (void)t;
    if (atomic_load(&st->stop))
        loop_break(st->lp);
}

static void *serve(void *arg)
{
    server_thread *st = arg;
    char err[256];
    if (loop_run(st->lp, err, sizeof err) != 0)
        diag("loop: %s", err);
    return NULL;
}

static void server_start(server_thread *st)
{
    char err[512];

    memset(st, 0, sizeof *st);
    if (!(st->lp = loop_new(err, sizeof err)) ||
        !(st->srv = ctl_server_new(st->lp, sock_path, &fake_ops, NULL, IDLE_MS, err,
                                   sizeof err)) ||
        !loop_timer_add(st->lp, 10000000, 10000000, check_stop, st, err, sizeof err))
        bail_out("server: %s", err);
    if (pthread_create(&st->tid, NULL, serve, st) != 0)
        bail_out("pthread_create failed");
}

static void server_stop(server_thread *st)
{
    atomic_store(&st->stop, 1);
    pthread_join(st->tid, NULL);
    ctl_server_free(st->srv);
    loop_free(st->lp);
}

/* ---- The client's side ---- */

static char answer[65536];

/* Send request; @return the answer (static), "" when none came. */
static const char *ask(const char *request)
{
    char err[512];
    if (ctl_request(sock_path, request, TIMEOUT_MS, answer, sizeof answer, err, sizeof err) != 0) {
        diag("ctl_request(%s): %s", request, err);
        answer[0] = '\0';
    }
    return answer;
}

/* The answer's "ok" (1, 0), or -1 when it is not a JSON object with one. */
static int answer_ok(const char *text)
{
    json_parser *p = json_parser_new();
    json_value root, v;
    int ok_value = -1, b;

    if (p && json_parse_copy(p, text, strlen(text), &root) == 0 &&
        json_field(&root, "ok", &v) == 0 && json_bool(&v, &b) == 0)
        ok_value = b;
    json_parser_free(p);
    return ok_value;
}

/* A string field of the answer, unescaped, or "" when absent. */
static const char *answer_string(const char *text, const char *key)
{
    static char out[4096];
    json_parser *p = json_parser_new();
    json_value root, v;
    const char *s;
    size_t len;

    out[0] = '\0';
    if (p && json_parse_copy(p, text, strlen(text), &root) == 0 &&
        json_field(&root, key, &v) == 0 && json_string(&v, &s, &len) == 0)
        snprintf(out, sizeof out, "%.*s", (int)len, s);
    json_parser_free(p);
    return out;
}

static int raw_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        bail_out("connect %s failed", sock_path);
    struct timeval tv = {.tv_sec = TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Everything the server sends until it closes (or the receive timeout);
 * *closed: it closed (a reset too: it may close with our bytes unread). */
static size_t raw_read_all(int fd, char *buf, size_t cap, int *closed)
{
    size_t used = 0;
    ssize_t n;

    *closed = 0;
    while (used < cap - 1 && (n = recv(fd, buf + used, cap - 1 - used, 0)) > 0)
        used += (size_t)n;
    *closed = used < cap - 1 && (n == 0 || (n < 0 && errno == ECONNRESET));
    buf[used] = '\0';
    return used;
}

/* ---- Tests ---- */

static void test_path(void)
{
    config *c = calloc(1, sizeof *c);
    char out[PATH_MAX], err[512];

    if (!c)
        bail_out("out of memory");
    config_defaults(c);
    snprintf(c->state_dir, sizeof c->state_dir, "/srv/lutra/state");
    ok(ctl_socket_path(c, out, sizeof out, err, sizeof err) == 0 &&
           !strcmp(out, "/srv/lutra/state/ctl.sock"),
       "default: <state_dir>/ctl.sock (%s)", out);
    snprintf(c->control_socket, sizeof c->control_socket, "/run/lutra.sock");
    ok(ctl_socket_path(c, out, sizeof out, err, sizeof err) == 0 &&
           !strcmp(out, "/run/lutra.sock"),
       "control_socket wins");
    c->control_socket[0] = '\0';
    memset(c->state_dir, 'd', 200);
    c->state_dir[200] = '\0';
    ok(ctl_socket_path(c, out, sizeof out, err, sizeof err) == -1 &&
           strstr(err, "control_socket") && strstr(err, "longer"),
       "a path too long for a socket address is refused: %.60s...", err);
    free(c);
}

static void test_mode(void)
{
    struct stat st;
    int there = stat(sock_path, &st) == 0;
    ok(there && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600,
       "the socket is there, mode 0600 (%o)", there ? (unsigned)(st.st_mode & 0777) : 0);
}

static void test_commands(void)
{
    const char *a = ask("status");

    is_int(answer_ok(a), 1, "status: ok");
    is_str(answer_string(a, "mode"), "live", "status: the mode");
    ok(strstr(a, "\"venues\":[{\"name\":\"binance\",\"state\":\"ready\",\"connector\":"
                 "\"binance\",\"version\":\"0.1.0-test\"") &&
           strstr(a, "\"open_orders\":3"),
       "status: the venues, their connector version, the open orders");
    ok(strstr(a, "{\"name\":\"mm\",\"state\":\"running\"}") &&
           strstr(a, "\"state\":\"failed\",\"error\":\"t.lua:3: boom\\n\\tstack \\\"x\\\" "
                     "\\u00ff \xc3\xa9\""),
       "status: strategies, a failed one with its error escaped (a stray byte as \\u00ff, "
       "UTF-8 kept)");

    a = ask("reload mm");
    ok(answer_ok(a) == 1 && !strcmp(last_strategy, "mm"), "reload mm: ok, the driver got mm");
    is_str(answer_string(a, "message"), "strategy mm reloaded", "reload: its message");
    a = ask("reload broken");
    is_int(answer_ok(a), 0, "a refused reload: ok false");
    is_str(answer_string(a, "error"), "broken.lua:2: '=' expected near \"x\"\n(old version kept)",
           "with its reason, intact through the escaping");
    a = ask("reload-plugin binance");
    ok(answer_ok(a) == 1 && !strcmp(last_plugin, "binance"),
       "reload-plugin binance: ok, the driver got binance");
    a = ask("reload-config");
    ok(answer_ok(a) == 1 && strstr(a, "\"partial\":true") && config_reloads == 1,
       "reload-config applied in part: ok, partial (%s)", a);
    a = ask("  status \r");
    is_int(answer_ok(a), 1, "blanks and a CR around a request are fine");
}

static void test_bad_requests(void)
{
    const char *a = ask("restart");

    ok(answer_ok(a) == 0 && strstr(answer_string(a, "error"), "unknown command \"restart\""),
       "an unknown command is refused, named: %s", answer_string(a, "error"));
    a = ask("reload");
    ok(answer_ok(a) == 0 && strstr(answer_string(a, "error"), "reload takes one NAME"),
       "reload without NAME: %s", answer_string(a, "error"));
    a = ask("status now");
    ok(answer_ok(a) == 0 && strstr(answer_string(a, "error"), "status takes no argument"),
       "status with an argument: %s", answer_string(a, "error"));
    a = ask("reload a b");
    is_int(answer_ok(a), 0, "reload with two names is refused");
    a = ask("");
    ok(answer_ok(a) == 0 && strstr(answer_string(a, "error"), "empty request"),
       "an empty line is refused");
}

static void test_two_requests(void)
{
    char buf[8192];
    int fd = raw_connect(), closed;
    const char req[] = "reload one\nreload two\n";

    if (send(fd, req, sizeof req - 1, 0) != (ssize_t)(sizeof req - 1))
        bail_out("send failed");
    shutdown(fd, SHUT_WR);
    raw_read_all(fd, buf, sizeof buf, &closed);
    ok(strstr(buf, "strategy one reloaded") && strstr(buf, "strategy two reloaded") &&
           strstr(buf, "one") < strstr(buf, "two") && closed,
       "two requests on one connection: two answers, in order, even after the client shut "
       "its side");
    close(fd);
}

static void test_too_long(void)
{
    char big[4 * CTL_LINE_MAX], buf[4096];
    int fd = raw_connect(), closed;

    memset(big, 'x', sizeof big);
    if (send(fd, big, sizeof big, MSG_NOSIGNAL) < 0)
        diag("send: the server closed early");
    raw_read_all(fd, buf, sizeof buf, &closed);
    ok(answer_ok(buf) == 0 && strstr(buf, "longer than 1024 bytes"),
       "a line too long is refused: %s", buf);
    ok(closed, "and the connection closed");
    close(fd);
}

static void test_silent(void)
{
    char buf[4096];
    int fd = raw_connect(), closed;

    raw_read_all(fd, buf, sizeof buf, &closed);
    ok(closed && strstr(buf, "nothing received for 200 ms"),
       "a client that sends nothing is told and dropped: %s", buf);
    close(fd);
}

static void test_leaves_early(void)
{
    for (int i = 0; i < 5; i++) {
        int fd = raw_connect();
        if (send(fd, "status\n", 7, 0) != 7)
            diag("send failed");
        close(fd);
    }
    usleep(50000);
    is_int(answer_ok(ask("status")), 1, "clients that leave before their answer do no harm");
}

static void test_in_use(void)
{
    char err[512];
    loop *lp = loop_new(err, sizeof err);

    ok(lp && !ctl_server_new(lp, sock_path, &fake_ops, NULL, 0, err, sizeof err) &&
           strstr(err, "in use"),
       "a second server on a socket in use is refused: %s", err);
    is_int(answer_ok(ask("status")), 1, "and the first still answers");
    loop_free(lp);
}

static void test_stale_and_not_socket(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char err[512], path[100];
    loop *lp = loop_new(err, sizeof err);
    ctl_server *srv;
    struct stat st;
    FILE *f;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    /* A socket file whose process is gone: bound, never listened, closed. */
    snprintf(path, sizeof path, "%s/stale.sock", tmp_dir);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (!lp || fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        bail_out("stale socket: cannot make one");
    close(fd);
    srv = ctl_server_new(lp, path, &fake_ops, NULL, 0, err, sizeof err);
    ok(srv != NULL, "a stale socket file is replaced%s%s", srv ? "" : ": ", srv ? "" : err);
    ctl_server_free(srv);
    ok(stat(path, &st) != 0, "and removed when the server is freed");

    snprintf(path, sizeof path, "%s/plain-file", tmp_dir);
    if (!(f = fopen(path, "w")))
        bail_out("cannot write %s", path);
    fputs("keep me\n", f);
    fclose(f);
    ok(!ctl_server_new(lp, path, &fake_ops, NULL, 0, err, sizeof err) &&
           strstr(err, "not a socket") && stat(path, &st) == 0 && S_ISREG(st.st_mode),
       "a path that is not a socket is refused and left alone: %s", err);
    unlink(path);

    snprintf(path, sizeof path, "%s/none.sock", tmp_dir);
    ok(ctl_request(path, "status", TIMEOUT_MS, answer, sizeof answer, err, sizeof err) == -1 &&
           strstr(err, path),
       "a request to a socket nobody serves fails, naming it: %s", err);
    loop_free(lp);
}

int main(void)
{
    server_thread st;

    if (!mkdtemp(tmp_dir))
        bail_out("mkdtemp failed");
    snprintf(sock_path, sizeof sock_path, "%s/ctl.sock", tmp_dir);
    log_set_level(getenv("CTL_DEBUG") ? LOG_DEBUG : LOG_ERROR);
    plan(32);
    test_path();
    server_start(&st);
    test_mode();
    test_commands();
    test_bad_requests();
    test_two_requests();
    test_too_long();
    test_silent();
    test_leaves_early();
    test_in_use();
    server_stop(&st);
    ok(access(sock_path, F_OK) != 0, "the socket file is gone with the server");
    test_stale_and_not_socket();
    tap_rmtree(tmp_dir);
    return done();
}
