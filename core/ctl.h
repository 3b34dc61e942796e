/*
 * ctl.h -- the control socket: a local Unix stream socket, served on the
 * loop, through which `lutra ctl` asks a running lutra for its status and
 * for reloads (docs/ctl.md).
 *
 * Protocol: one request a line, one JSON object a line back, in order.
 *
 *   status               {"ok":true,"mode":..,"venues":[..],"strategies":[..],
 *                         "open_orders":N}
 *   reload NAME          strategy NAME from its file
 *   reload-plugin NAME   the connector of venue NAME from its .so
 *   reload-config        the configuration file
 *
 * A reload answers {"ok":true,"message":".."} (reload-config that applied
 * only part adds "partial":true), a refusal {"ok":false,"error":".."}.
 * Answers carry what the driver says, never a secret.
 *
 * Bounds: a line is at most CTL_LINE_MAX bytes (a longer one is refused and
 * the connection closed), a client that sends nothing for the idle time is
 * dropped, and at most CTL_CLIENTS_MAX clients are served at once.
 *
 * The socket is created mode 0600 (only its owner may reload). A socket
 * file left by a process that is gone is replaced; one a live process
 * still answers on is an error, as is a path that is not a socket.
 */
#ifndef LUTRA_CTL_H
#define LUTRA_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"

#define CTL_LINE_MAX 1024
#define CTL_CLIENTS_MAX 16
#define CTL_IDLE_MS_DEFAULT 5000
#define CTL_SOCKET_NAME "ctl.sock"

/* What `status` reports: filled by the driver, strings valid during the call. */
typedef struct ctl_venue_status {
    const char *name;
    const char *state;     /* "connecting" | "syncing" | "ready" | "disconnected" */
    const char *connector; /* the plugin's name ("" when it has none running) */
    const char *version;   /* the plugin's version */
    const char *path;      /* the file it was loaded from */
    int reloading;         /* a reload of it is under way */
    int reconciled;        /* its open orders and balances agree with the store's
                            * (strategies wait until every venue is) */
} ctl_venue_status;

typedef struct ctl_strategy_status {
    const char *name;
    const char *state; /* "waiting" (for the venues) | "running" | "failed" | "stopped" */
    const char *error; /* failed: why; else NULL */
} ctl_strategy_status;

typedef struct ctl_status {
    const char *mode;
    ctl_venue_status venues[CONFIG_MAX_VENUES];
    size_t nvenues;
    ctl_strategy_status strategies[CONFIG_MAX_STRATEGIES];
    size_t nstrategies;
    size_t open_orders;
} ctl_status;

/*
 * What the requests do: the driver's (core/live_ctl.c). Each reload returns 0
 * with an optional message for people in msg, -1 with the reason in msg;
 * reload_config may also return 1: applied in part, msg naming the rest.
 */
typedef struct ctl_ops {
    void (*status)(void *ud, ctl_status *out);
    int (*reload_strategy)(void *ud, const char *name, char *msg, size_t msglen);
    int (*reload_plugin)(void *ud, const char *name, char *msg, size_t msglen);
    int (*reload_config)(void *ud, char *msg, size_t msglen);
} ctl_ops;

typedef struct ctl_server ctl_server;

/*
 * The socket path of a configuration: control_socket, else
 * <state_dir>/ctl.sock. @return 0, or -1 with err when it does not fit a
 * Unix socket address.
 */
int ctl_socket_path(const config *cfg, char *out, size_t cap, char *err, size_t errlen);

/*
 * Listen on path and serve on lp; ops and ud must outlive the server.
 * idle_ms <= 0: CTL_IDLE_MS_DEFAULT.
 * @return the server, or NULL with err naming the path and why.
 */
ctl_server *ctl_server_new(loop *lp, const char *path, const ctl_ops *ops, void *ud,
                           int64_t idle_ms, char *err, size_t errlen);

/* Close every client and the socket, and remove the socket file. NULL is
 * accepted. */
void ctl_server_free(ctl_server *s);

/*
 * The client: send one request line to the socket at path and read the
 * answer line into answer (without its newline), waiting at most
 * timeout_ms in all. Blocking: for `lutra ctl`, never on the loop.
 * @return 0, or -1 with err (cannot connect, no answer in time, too long).
 */
int ctl_request(const char *path, const char *request, int64_t timeout_ms, char *answer,
                size_t cap, char *err, size_t errlen);

#endif
