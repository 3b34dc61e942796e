/*
 * cmd_record.c -- `lutra record`: capture the venues' market data to a file
 * `lutra import` reads back through the same connector decode.
 *
 * The live driver (live.h) runs market-data only: the configuration's
 * connectors connect as for `lutra run`, no strategy is loaded and no
 * secret resolved, and every message a connector receives goes to the
 * capture (cmd_recording.h, shared with `lutra run --record`).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_recording.h"
#include "config.h"
#include "live.h"
#include "log.h"

static void record_usage(FILE *out)
{
    fprintf(out,
            "usage: lutra record --config FILE -o FILE [--rotate-mb N] [--rotate-hourly]\n\n"
            "Record the market data of the configuration's venues (their connectors and\n"
            "symbols; strategies are not loaded, secrets not used) as \"<recv_ns> <message>\"\n"
            "lines: gzip when FILE ends in .gz, plain otherwise. The file is flushed every\n"
            "second, so a killed recording stays readable up to its last second.\n"
            "`lutra import FILE` turns it into events through the same decode.\n"
            "SIGINT/SIGTERM stop cleanly.\n\n"
            "options:\n"
            "  -c, --config FILE    the configuration (venues, connectors, symbols)\n"
            "  -o, --output FILE    where to record; never overwritten\n" CMD_RECORDING_USAGE
            "  -h, --help           this text\n\n"
            "See docs/record.md.\n");
}

static int record_args(int argc, char **argv, const char **config_path, const char **out,
                       recorder_options *ro)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         CMD_RECORDING_LONG_OPTIONS,
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    char err[256];
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        if ((rc = cmd_recording_option(c, optarg, ro, err, sizeof err)) != 0) {
            if (rc < 0) {
                cmd_error("record", "%s", err);
                return -1;
            }
            continue;
        }
        switch (c) {
        case 'c': *config_path = optarg; break;
        case 'o': *out = optarg; break;
        case 'h': record_usage(stdout); return 1;
        default: record_usage(stderr); return -1;
        }
    }
    if (!*config_path || !*out || optind < argc) {
        record_usage(stderr);
        return -1;
    }
    return 0;
}

/* Run the market-data-only driver with the capture attached until a signal
 * stops it. @return 0 or -1 (said on stderr). */
static int record_run(cmd_recording *cr, const config *cfg)
{
    live_options lo;
    live *lv;
    char err[4096];
    int rc;

    memset(&lo, 0, sizeof lo);
    lo.market_only = 1;
    cmd_recording_hook(cr, &lo);
    if (!(lv = live_new(cfg, &lo, err, sizeof err))) {
        cmd_error("record", "%s", err);
        return -1;
    }
    rc = cmd_recording_attach(cr, lv, err, sizeof err);
    if (rc == 0)
        rc = live_run(lv, err, sizeof err);
    if (rc < 0)
        cmd_error("record", "%s", err);
    live_free(lv);
    return rc;
}

static int record_main(int argc, char **argv)
{
    const char *config_path = NULL, *out = NULL;
    recorder_options ro = {0, 0};
    cmd_recording *cr;
    config *cfg;
    char err[4096];
    int rc;

    rc = record_args(argc, argv, &config_path, &out, &ro);
    if (rc != 0)
        return rc > 0 ? CMD_OK : CMD_USAGE;
    if (!(cfg = malloc(sizeof *cfg))) {
        cmd_error("record", "out of memory");
        return CMD_FAIL;
    }
    if (config_load(config_path, cfg, err, sizeof err) < 0) {
        cmd_error("record", "%s", err);
        free(cfg);
        return CMD_FAIL;
    }
    log_set_level(log_level_parse(cfg->log_level) >= 0 ? log_level_parse(cfg->log_level)
                                                       : LOG_INFO);
    if (!(cr = cmd_recording_open(out, &ro, err, sizeof err))) {
        cmd_error("record", "%s", err);
        free(cfg);
        return CMD_FAIL;
    }
    rc = record_run(cr, cfg);
    if (cmd_recording_close(cr, err, sizeof err) < 0) {
        cmd_error("record", "%s", err);
        rc = -1;
    }
    free(cfg);
    return rc < 0 ? CMD_FAIL : CMD_OK;
}

const cmd cmd_record = {"record", "record live market data for lutra import", record_main,
                        record_usage};
