/*
 * ctl.c -- the control socket (ctl.h): a Unix stream socket on the loop,
 * one request a line, one JSON answer a line; and the blocking client
 * `lutra ctl` sends its request with.
 *
 * The server reads through libevent bufferevents: a read timeout drops a
 * silent client, a high watermark and a length check bound what a client
 * can make it hold, and an answer that ends a connection (a refusal of a
 * too-long line, a timeout) is flushed before the connection is freed.
 */
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "json_write.h"
#include "log.h"

#define CTL_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
#define CTL_MSG_MAX 4096
#define CTL_ARGS_MAX 3

typedef struct ctl_client {
    ctl_server *srv;
    struct bufferevent *bev;
    int closing; /* the last answer is on its way: free once it is written */
    struct ctl_client *prev, *next;
} ctl_client;

struct ctl_server {
    const ctl_ops *ops;
    void *ud;
    struct event_base *base;
    struct evconnlistener *listener;
    char path[CTL_PATH_MAX];
    struct timeval idle;
    int64_t idle_ms;
    ctl_client *clients;
    size_t nclients;
};

/* ---- The socket's path ---- */

int ctl_socket_path(const config *cfg, char *out, size_t cap, char *err, size_t errlen)
{
    int n = cfg->control_socket[0]
                ? snprintf(out, cap, "%s", cfg->control_socket)
                : snprintf(out, cap, "%s/%s", cfg->state_dir, CTL_SOCKET_NAME);

    if (n < 0 || (size_t)n >= cap || (size_t)n >= CTL_PATH_MAX) {
        snprintf(err, errlen,
                 "control_socket: the path %s%s%s is longer than the %zu bytes of a Unix "
                 "socket address; set control_socket to a shorter one",
                 cfg->control_socket[0] ? cfg->control_socket : cfg->state_dir,
                 cfg->control_socket[0] ? "" : "/", cfg->control_socket[0] ? "" : CTL_SOCKET_NAME,
                 CTL_PATH_MAX - 1);
        return -1;
    }
    return 0;
}

static int ctl_address(const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (!path[0] || strlen(path) >= sizeof sa->sun_path) {
        snprintf(err, errlen, "control socket %s: %s", path,
                 path[0] ? "path too long for a Unix socket" : "empty path");
        return -1;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* ---- Listening ---- */

/*
 * Make path free for our socket: nothing there, or a socket nobody answers
 * on any more (its process died: removed). A socket a live process answers
 * on, or a file that is not a socket, is left alone and is an error.
 */
static int ctl_claim_path(const char *path, const struct sockaddr_un *sa, char *err,
                          size_t errlen)
{
    struct stat st;
    int fd, connected, why;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "control socket %s: the path exists and is not a socket", path);
        return -1;
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, errlen, "control socket %s: socket: %s", path, strerror(errno));
        return -1;
    }
    connected = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
    why = errno;
    close(fd);
    if (connected) {
        snprintf(err, errlen, "control socket %s: in use by a running lutra (stop it, or set "
                 "control_socket to another path)", path);
        return -1;
    }
    if (why != ECONNREFUSED && why != ENOENT) {
        snprintf(err, errlen, "control socket %s: cannot tell whether it is in use: %s", path,
                 strerror(why));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "control socket %s: cannot remove the stale socket: %s", path,
                 strerror(errno));
        return -1;
    }
    log_write(LOG_INFO, "ctl", "replaced a stale control socket path=%s", path);
    return 0;
}

/* @return a listening socket at path, mode 0600, or -1 with err. */
static int ctl_listen(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    mode_t old_mask;
    int fd, rc;

    if (ctl_address(path, &sa, err, errlen) < 0 || ctl_claim_path(path, &sa, err, errlen) < 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "control socket %s: socket: %s", path, strerror(errno));
        return -1;
    }
    /* Created owner-only: no moment where another user could connect. */
    old_mask = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old_mask);
    if (rc != 0 || listen(fd, CTL_CLIENTS_MAX) != 0) {
        snprintf(err, errlen, "control socket %s: %s: %s", path, rc != 0 ? "bind" : "listen",
                 strerror(errno));
        if (rc == 0)
            unlink(path);
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- Answers ---- */

static void ctl_put(void *out, const char *p, size_t n)
{
    evbuffer_add(out, p, n);
}

/* s as a JSON string (json_write.h): a Lua error can hold any bytes, and
 * every answer must still parse. */
static void ctl_json_string(struct evbuffer *out, const char *s)
{
    s = s ? s : "";
    json_write_string(ctl_put, out, s, strlen(s));
}

/* A reload's answer: rc < 0 refused (msg the error), 0 done, > 0 done in
 * part (msg names what was not). */
static void ctl_answer(struct evbuffer *out, int rc, const char *msg)
{
    if (rc < 0) {
        evbuffer_add_printf(out, "{\"ok\":false,\"error\":");
        ctl_json_string(out, msg[0] ? msg : "refused (no reason given)");
        evbuffer_add(out, "}\n", 2);
        return;
    }
    evbuffer_add_printf(out, "{\"ok\":true%s", rc > 0 ? ",\"partial\":true" : "");
    if (msg[0]) {
        evbuffer_add_printf(out, ",\"message\":");
        ctl_json_string(out, msg);
    }
    evbuffer_add(out, "}\n", 2);
}

static void ctl_venue_json(struct evbuffer *out, const ctl_venue_status *v)
{
    evbuffer_add_printf(out, "{\"name\":");
    ctl_json_string(out, v->name);
    evbuffer_add_printf(out, ",\"state\":");
    ctl_json_string(out, v->state);
    evbuffer_add_printf(out, ",\"connector\":");
    ctl_json_string(out, v->connector);
    evbuffer_add_printf(out, ",\"version\":");
    ctl_json_string(out, v->version);
    evbuffer_add_printf(out, ",\"path\":");
    ctl_json_string(out, v->path);
    evbuffer_add_printf(out, ",\"reloading\":%s,\"reconciled\":%s}",
                        v->reloading ? "true" : "false", v->reconciled ? "true" : "false");
}

static void ctl_strategy_json(struct evbuffer *out, const ctl_strategy_status *s)
{
    evbuffer_add_printf(out, "{\"name\":");
    ctl_json_string(out, s->name);
    evbuffer_add_printf(out, ",\"state\":");
    ctl_json_string(out, s->state);
    if (s->error) {
        evbuffer_add_printf(out, ",\"error\":");
        ctl_json_string(out, s->error);
    }
    evbuffer_add(out, "}", 1);
}

/* ---- Requests ---- */

static void ctl_run_status(ctl_server *s, const char *arg, struct evbuffer *out)
{
    ctl_status st;
    (void)arg;

    memset(&st, 0, sizeof st);
    s->ops->status(s->ud, &st);
    evbuffer_add_printf(out, "{\"ok\":true,\"mode\":");
    ctl_json_string(out, st.mode);
    evbuffer_add_printf(out, ",\"venues\":[");
    for (size_t i = 0; i < st.nvenues && i < CONFIG_MAX_VENUES; i++) {
        evbuffer_add_printf(out, "%s", i ? "," : "");
        ctl_venue_json(out, &st.venues[i]);
    }
    evbuffer_add_printf(out, "],\"strategies\":[");
    for (size_t i = 0; i < st.nstrategies && i < CONFIG_MAX_STRATEGIES; i++) {
        evbuffer_add_printf(out, "%s", i ? "," : "");
        ctl_strategy_json(out, &st.strategies[i]);
    }
    evbuffer_add_printf(out, "],\"open_orders\":%zu}\n", st.open_orders);
}

static void ctl_run_reload(ctl_server *s, const char *arg, struct evbuffer *out)
{
    char msg[CTL_MSG_MAX] = "";
    ctl_answer(out, s->ops->reload_strategy(s->ud, arg, msg, sizeof msg), msg);
}

static void ctl_run_reload_plugin(ctl_server *s, const char *arg, struct evbuffer *out)
{
    char msg[CTL_MSG_MAX] = "";
    ctl_answer(out, s->ops->reload_plugin(s->ud, arg, msg, sizeof msg), msg);
}

static void ctl_run_reload_config(ctl_server *s, const char *arg, struct evbuffer *out)
{
    char msg[CTL_MSG_MAX] = "";
    (void)arg;
    ctl_answer(out, s->ops->reload_config(s->ud, msg, sizeof msg), msg);
}

typedef struct ctl_command {
    const char *name;
    int takes_name; /* one NAME argument, else none */
    void (*run)(ctl_server *s, const char *arg, struct evbuffer *out);
} ctl_command;

static const ctl_command ctl_commands[] = {
    {"status", 0, ctl_run_status},
    {"reload", 1, ctl_run_reload},
    {"reload-plugin", 1, ctl_run_reload_plugin},
    {"reload-config", 0, ctl_run_reload_config},
};

#define CTL_NCOMMANDS (sizeof ctl_commands / sizeof ctl_commands[0])
#define CTL_USAGE "status, reload NAME, reload-plugin NAME or reload-config"

/* Split line in place into at most max words. @return how many there were
 * (more than max: max + 1). */
static int ctl_split(char *line, char **words, int max)
{
    int n = 0;

    for (char *p = strtok(line, " \t\r"); p; p = strtok(NULL, " \t\r")) {
        if (n == max)
            return max + 1;
        words[n++] = p;
    }
    return n;
}

static void ctl_refuse(struct evbuffer *out, const char *fmt, const char *what)
{
    char msg[CTL_LINE_MAX + 256];
    snprintf(msg, sizeof msg, fmt, what);
    ctl_answer(out, -1, msg);
}

static void ctl_handle(ctl_client *c, char *line)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char *words[CTL_ARGS_MAX];
    int n = ctl_split(line, words, CTL_ARGS_MAX);
    const ctl_command *cmd = NULL;

    for (size_t i = 0; n > 0 && i < CTL_NCOMMANDS; i++)
        if (!strcmp(words[0], ctl_commands[i].name))
            cmd = &ctl_commands[i];
    if (n == 0) {
        ctl_refuse(out, "empty request: want %s", CTL_USAGE);
        return;
    }
    if (!cmd) {
        char what[CTL_LINE_MAX + 64];
        snprintf(what, sizeof what, "\"%s\" (want %s)", words[0], CTL_USAGE);
        ctl_refuse(out, "unknown command %s", what);
        return;
    }
    if (n != 1 + cmd->takes_name) {
        ctl_refuse(out, cmd->takes_name ? "%s takes one NAME" : "%s takes no argument",
                   cmd->name);
        return;
    }
    log_write(LOG_INFO, "ctl", "request command=%s name=%s", cmd->name,
              cmd->takes_name ? words[1] : "");
    cmd->run(c->srv, cmd->takes_name ? words[1] : NULL, out);
}

/* ---- Clients ---- */

static void ctl_client_free(ctl_client *c)
{
    ctl_server *s = c->srv;

    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nclients--;
    bufferevent_free(c->bev);
    free(c);
}

/* Send a last refusal, then close once it is written. */
static void ctl_client_close_with(ctl_client *c, const char *fmt, const char *what)
{
    ctl_refuse(bufferevent_get_output(c->bev), fmt, what);
    c->closing = 1;
    bufferevent_disable(c->bev, EV_READ);
}

static void ctl_on_read(struct bufferevent *bev, void *arg)
{
    ctl_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char limit[32], *line;
    size_t len;

    snprintf(limit, sizeof limit, "%d", CTL_LINE_MAX);
    while (!c->closing && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
        if (len > CTL_LINE_MAX)
            ctl_client_close_with(c, "request longer than %s bytes: refused", limit);
        else
            ctl_handle(c, line);
        free(line);
    }
    if (!c->closing && evbuffer_get_length(in) > CTL_LINE_MAX)
        ctl_client_close_with(c, "request longer than %s bytes: refused", limit);
}

static void ctl_on_written(struct bufferevent *bev, void *arg)
{
    ctl_client *c = arg;

    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        ctl_client_free(c);
}

static void ctl_on_event(struct bufferevent *bev, short what, void *arg)
{
    ctl_client *c = arg;
    char idle[32];

    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && !c->closing) {
        snprintf(idle, sizeof idle, "%lld", (long long)c->srv->idle_ms);
        log_write(LOG_INFO, "ctl", "a silent client dropped idle_ms=%s", idle);
        ctl_client_close_with(c, "nothing received for %s ms: closed", idle);
        return;
    }
    /* A client that shut its side after its request still gets the answer. */
    if ((what & BEV_EVENT_EOF) && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        c->closing = 1;
        bufferevent_disable(bev, EV_READ);
        return;
    }
    /* The end, an error, or a client that does not read its answer. */
    ctl_client_free(c);
}

static void ctl_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                          int addrlen, void *arg)
{
    static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients\"}\n";
    ctl_server *s = arg;
    ctl_client *c;
    (void)l;
    (void)addr;
    (void)addrlen;

    if (s->nclients >= CTL_CLIENTS_MAX || !(c = calloc(1, sizeof *c))) {
        log_write(LOG_WARN, "ctl", "a client refused clients=%zu", s->nclients);
        if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            log_write(LOG_DEBUG, "ctl", "could not tell it: %s", strerror(errno));
        close(fd);
        return;
    }
    if (!(c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
        log_write(LOG_ERROR, "ctl", "out of memory for a client");
        close(fd);
        free(c);
        return;
    }
    c->srv = s;
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    bufferevent_setcb(c->bev, ctl_on_read, ctl_on_written, ctl_on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_LINE_MAX + 2);
    bufferevent_set_timeouts(c->bev, &s->idle, &s->idle);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- The server ---- */

ctl_server *ctl_server_new(loop *lp, const char *path, const ctl_ops *ops, void *ud,
                           int64_t idle_ms, char *err, size_t errlen)
{
    ctl_server *s = calloc(1, sizeof *s);
    int fd;

    if (!s) {
        snprintf(err, errlen, "control socket %s: out of memory", path);
        return NULL;
    }
    if ((fd = ctl_listen(path, err, errlen)) < 0) {
        free(s);
        return NULL;
    }
    s->ops = ops;
    s->ud = ud;
    s->base = loop_base(lp);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->idle_ms = idle_ms > 0 ? idle_ms : CTL_IDLE_MS_DEFAULT;
    s->idle.tv_sec = (time_t)(s->idle_ms / 1000);
    s->idle.tv_usec = (suseconds_t)(s->idle_ms % 1000 * 1000);
    s->listener = evconnlistener_new(s->base, ctl_on_accept, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!s->listener) {
        snprintf(err, errlen, "control socket %s: cannot serve it on the loop", path);
        close(fd);
        unlink(path);
        free(s);
        return NULL;
    }
    /* A client that closes before reading its answer must not end the
     * process: writes to it fail with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    log_write(LOG_INFO, "ctl", "control socket path=%s", path);
    return s;
}

void ctl_server_free(ctl_server *s)
{
    if (!s)
        return;
    while (s->clients)
        ctl_client_free(s->clients);
    evconnlistener_free(s->listener);
    unlink(s->path);
    free(s);
}

/* ---- The client ---- */

static int64_t ctl_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline. @return 1 ready, 0 timed out,
 * -1 error. */
static int ctl_wait(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int64_t left = deadline - ctl_mono_ms();
        if (left <= 0)
            return 0;
        int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

static int ctl_connect(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    int fd;

    if (ctl_address(path, &sa, err, errlen) < 0)
        return -1;
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, errlen, "control socket %s: socket: %s", path, strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    snprintf(err, errlen, "control socket %s: %s%s", path, strerror(errno),
             errno == ENOENT || errno == ECONNREFUSED
                 ? " (is lutra run running with this configuration?)"
                 : "");
    close(fd);
    return -1;
}

static int ctl_send_line(int fd, const char *path, const char *request, int64_t deadline,
                         char *err, size_t errlen)
{
    char line[CTL_LINE_MAX + 2];
    size_t len = (size_t)snprintf(line, sizeof line, "%s\n", request), sent = 0;

    if (len >= sizeof line) {
        snprintf(err, errlen, "request longer than %d bytes", CTL_LINE_MAX);
        return -1;
    }
    while (sent < len) {
        if (ctl_wait(fd, POLLOUT, deadline) <= 0) {
            snprintf(err, errlen, "control socket %s: cannot send the request", path);
            return -1;
        }
        ssize_t n = send(fd, line + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            snprintf(err, errlen, "control socket %s: send: %s", path, strerror(errno));
            return -1;
        }
        sent += n > 0 ? (size_t)n : 0;
    }
    return 0;
}

static int ctl_read_line(int fd, const char *path, int64_t deadline, char *answer, size_t cap,
                         char *err, size_t errlen)
{
    size_t used = 0;

    for (;;) {
        int ready = ctl_wait(fd, POLLIN, deadline);
        if (ready <= 0) {
            snprintf(err, errlen, "control socket %s: no answer in time", path);
            return -1;
        }
        ssize_t n = recv(fd, answer + used, cap - 1 - used, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "control socket %s: %s", path,
                     n == 0 ? "closed without an answer" : strerror(errno));
            return -1;
        }
        used += (size_t)n;
        answer[used] = '\0';
        char *nl = memchr(answer, '\n', used);
        if (nl) {
            *nl = '\0';
            return 0;
        }
        if (used == cap - 1) {
            snprintf(err, errlen, "control socket %s: answer longer than %zu bytes", path,
                     cap - 1);
            return -1;
        }
    }
}

int ctl_request(const char *path, const char *request, int64_t timeout_ms, char *answer,
                size_t cap, char *err, size_t errlen)
{
    int64_t deadline = ctl_mono_ms() + timeout_ms;
    int fd, rc;

    if (cap < 2) {
        snprintf(err, errlen, "no room for an answer");
        return -1;
    }
    if ((fd = ctl_connect(path, err, errlen)) < 0)
        return -1;
    rc = ctl_send_line(fd, path, request, deadline, err, errlen);
    if (rc == 0)
        rc = ctl_read_line(fd, path, deadline, answer, cap, err, errlen);
    close(fd);
    return rc;
}
