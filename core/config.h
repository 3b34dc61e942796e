/*
 * config.h -- the configuration file: a Lua file returning a table
 * (DESIGN.md "Operations"; every key in docs/configuration.md).
 *
 * The file runs in a sandbox (no io, os, require, load, dofile, debug: only
 * string, table and math, and os.getenv is NOT available either: secrets are
 * named, not read, by the file) with an instruction limit, then the table is
 * validated before anything uses it: an unknown key, a wrong type or a
 * value out of range is an error naming the key path ("risk.max_open_orders:
 * want a whole number >= 0, got -1"). Keys are API: added to, never renamed.
 */
#ifndef LUTRA_CONFIG_H
#define LUTRA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "risk.h"
#include "strategy.h"

#define CONFIG_MAX_STRATEGIES 32
#define CONFIG_MAX_VENUES 8
#define CONFIG_MAX_SYMBOLS 64
#define CONFIG_MAX_BALANCES 32
#define CONFIG_MAX_PARAMS 64
#define CONFIG_MAX_PLUGIN_PATHS 8
#define CONFIG_MAX_WS_SPIN_US 1000000 /* venues.NAME.ws_spin_us: ws.c refuses more */

/* A secret's source: never its value. */
typedef struct config_secret {
    char env[128];     /* { env = "NAME" } */
    char file[512];    /* { file = "path" } (must be mode 0600 or stricter) */
} config_secret;

typedef struct config_latency {
    char dist[16];     /* "constant" | "normal" | "exponential" | "uniform" */
    double mean_ms;    /* constant value or mean; uniform: min */
    double sd_ms;      /* normal: sd; uniform: max */
} config_latency;

typedef struct config_venue {
    char name[32];
    char connector[512];
    char rest_url[256];
    char ws_url[256];
    config_secret api_key, api_secret;
    char symbols[CONFIG_MAX_SYMBOLS][32];
    size_t nsymbols;
    double ws_max_age_s;   /* a WebSocket is replaced before it is this old; 0: the connector's */
    int ws_spin_us;        /* the engine polls the venue's WebSockets this long after a message
                            * before it sleeps (ws_config.spin_us); 0: it sleeps at once */
    int adopt_orders;      /* a restart takes open orders placed by hand as lutra's */
} config_venue;

typedef struct config_strategy {
    char name[64];
    char script[512];
    char venue[32];
    strategy_param params[CONFIG_MAX_PARAMS];
    size_t nparams;
} config_strategy;

typedef struct config {
    char mode[16];              /* "live" | "paper" ("" when absent) */
    char state_dir[512];
    char state_sync[8];         /* "full" | "none" ("": full live, none paper) */
    int state_writemap;         /* 1: LMDB's MDB_WRITEMAP (state_options.writemap) */
    char control_socket[108];   /* the control socket (core/ctl.h); "": <state_dir>/ctl.sock */
    int cancel_on_stop;         /* default 1 */
    char log_level[16];         /* default "info" */
    char log_format[16];        /* "logfmt" | "json", default "logfmt" */
    double handler_timeout_ms;  /* a Lua handler running longer is runaway; default 1000 */
    char plugin_path[CONFIG_MAX_PLUGIN_PATHS][512];
    size_t nplugin_path;
    config_venue venues[CONFIG_MAX_VENUES];
    size_t nvenues;
    risk_limits risk;
    config_strategy strategies[CONFIG_MAX_STRATEGIES];
    size_t nstrategies;

    /* Backtest keys. */
    double cash;                /* < 0: not set */
    struct {
        char asset[16];
        double amount;
    } balances[CONFIG_MAX_BALANCES];
    size_t nbalances;
    double fee_maker_bps, fee_taker_bps;  /* < 0: not set */
    config_latency latency_order, latency_response, latency_feed;
    char queue_model[16];       /* "conservative" | "optimistic" ("" not set) */
    uint64_t seed;
    int seed_set;
    int margin;                 /* default 0 */
    double leverage;            /* default 1 */
    double periods_per_year;    /* 0: not set */
} config;

/* Defaults for every key (cash and fees "not set"). */
void config_defaults(config *c);

/*
 * Load and validate path into *c (defaults first). @return 0, or -1 with err
 * naming the file, and the key path or the Lua error with its line.
 */
int config_load(const char *path, config *c, char *err, size_t errlen);

/* The same from a string (tests; `name` names it in messages). */
int config_load_string(const char *name, const char *text, config *c, char *err,
                       size_t errlen);

/*
 * A reload (docs/hot-reload.md): compare the running configuration with
 * the file read again. fn is called once per key whose value differs,
 * with its path ("risk.max_open_orders", "venues.binance.symbols",
 * "strategies.mm.params", "strategies.mm (added)") and whether a running
 * host can take the new value (live = 1): cancel_on_stop, log.level,
 * risk.*, and a strategy's script and params. Every other key needs a
 * restart: mode, state_dir, state_sync, state_writemap, log.format, handler_timeout_ms,
 * control_socket, plugin_path, anything under venues (a venue added or removed included),
 * a strategy added, removed or moved to another venue, and the backtest and
 * paper keys (cash, balances, fees, latency, queue_model, seed, margin,
 * leverage, periods_per_year). Strategies and venues are matched by name.
 * @return the number of keys that differ.
 */
typedef void (*config_change_fn)(void *ud, const char *key, int live);
size_t config_compare(const config *running, const config *next, config_change_fn fn,
                      void *ud);

/* The strategy named name, or NULL. */
const config_strategy *config_find_strategy(const config *c, const char *name);

/* 1 when a and b run the same script with the same params. */
int config_strategy_same_code(const config_strategy *a, const config_strategy *b);

/* Copy next's top-level live keys into running: cancel_on_stop, log.level,
 * risk (strategies are the caller's: each is reloaded, and kept only when
 * that succeeds). */
void config_apply_live(config *running, const config *next);

#endif
