/*
 * cmd_run.c -- `lutra run`: trade live or on paper from a configuration
 * file (core/live.h does the work; docs/operations.md is the manual), and
 * with --record, capture the market data the session saw, as `lutra record`
 * does (cmd_recording.h), so that `lutra backtest` can replay it.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_recording.h"
#include "config.h"
#include "live.h"
#include "log.h"

typedef struct run_args {
    const char *config_path;
    const char *record_path;     /* --record, or NULL */
    recorder_options ro;
    int rotating;                /* a rotation option was given */
} run_args;

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: lutra run --config FILE [--record FILE [--rotate-mb N] [--rotate-hourly]]\n\n"
            "Trade live (mode = \"live\") or on paper (mode = \"paper\": live market data,\n"
            "orders filled by the simulated venue) as the configuration says. The file is\n"
            "checked and every secret resolved before anything connects.\n"
            "SIGINT/SIGTERM stop cleanly (on_stop, cancel open orders when cancel_on_stop,\n"
            "wait up to 2 s for the venue); a second signal exits at once.\n\n"
            "options:\n"
            "  -c, --config FILE    the configuration (etc/live.lua, etc/paper.lua)\n"
            "      --record FILE    also record the market data, as `lutra record -o FILE`\n"
            "                       does: a backtest of it decides what a paper session\n"
            "                       decided (docs/record.md says under which conditions)\n"
            CMD_RECORDING_USAGE
            "  -h, --help           this text\n\n"
            "See docs/operations.md and docs/configuration.md.\n");
}

/* @return 0, 1 after --help, -1 on a usage error (said on stderr). */
static int run_parse_args(int argc, char **argv, run_args *a)
{
    enum { OPT_RECORD = 0x200 };
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"record", required_argument, NULL, OPT_RECORD},
                                         CMD_RECORDING_LONG_OPTIONS,
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    char err[256];
    int c, rc;

    memset(a, 0, sizeof *a);
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if ((rc = cmd_recording_option(c, optarg, &a->ro, err, sizeof err)) != 0) {
            if (rc < 0) {
                cmd_error("run", "%s", err);
                return -1;
            }
            a->rotating = 1;
            continue;
        }
        switch (c) {
        case 'c': a->config_path = optarg; break;
        case OPT_RECORD: a->record_path = optarg; break;
        case 'h': run_usage(stdout); return 1;
        default: run_usage(stderr); return -1;
        }
    }
    if (a->rotating && !a->record_path) {
        cmd_error("run", "--rotate-mb and --rotate-hourly need --record FILE");
        return -1;
    }
    if (!a->config_path || optind < argc) {
        run_usage(stderr);
        return -1;
    }
    return 0;
}

/* Build the driver (with the capture attached, if any) and run it until
 * stopped. @return 0 or -1 (said on stderr). */
static int run_session(const run_args *a, const config *cfg, cmd_recording *cr)
{
    char err[4096], lib[PATH_MAX];
    live_options lo;
    live *lv;
    int rc;

    cmd_lib_path(lib, sizeof lib);
    memset(&lo, 0, sizeof lo);
    lo.lib_path = lib;
    lo.config_path = a->config_path;
    if (cr)
        cmd_recording_hook(cr, &lo);
    if (!(lv = live_new(cfg, &lo, err, sizeof err))) {
        cmd_error("run", "%s: %s", a->config_path, err);
        return -1;
    }
    rc = cr ? cmd_recording_attach(cr, lv, err, sizeof err) : 0;
    if (rc == 0)
        rc = live_run(lv, err, sizeof err);
    if (rc < 0)
        cmd_error("run", "%s", err);
    live_free(lv);
    return rc;
}

static int run_main(int argc, char **argv)
{
    cmd_recording *cr = NULL;
    char err[4096];
    config *cfg;
    run_args a;
    int rc;

    if ((rc = run_parse_args(argc, argv, &a)) != 0)
        return rc > 0 ? CMD_OK : CMD_USAGE;
    if (!(cfg = malloc(sizeof *cfg))) {
        cmd_error("run", "out of memory");
        return CMD_FAIL;
    }
    if (config_load(a.config_path, cfg, err, sizeof err) < 0) {
        cmd_error("run", "%s", err);
        free(cfg);
        return CMD_FAIL;
    }
    log_set_level(log_level_parse(cfg->log_level) >= 0 ? log_level_parse(cfg->log_level)
                                                       : LOG_INFO);
    if (a.record_path && !(cr = cmd_recording_open(a.record_path, &a.ro, err, sizeof err))) {
        cmd_error("run", "%s", err);
        free(cfg);
        return CMD_FAIL;
    }
    rc = run_session(&a, cfg, cr);
    if (cmd_recording_close(cr, err, sizeof err) < 0) {
        cmd_error("run", "%s", err);
        rc = -1;
    }
    free(cfg);
    return rc < 0 ? CMD_FAIL : CMD_OK;
}

const cmd cmd_run = {"run", "trade live or on paper from a configuration file", run_main,
                     run_usage};
