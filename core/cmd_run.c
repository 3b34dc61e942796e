/*
 * cmd_run.c -- `lutra run`: trade live or on paper from a configuration
 * file (core/live.h does the work; docs/operations.md is the manual).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "live.h"
#include "log.h"

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: lutra run --config FILE\n\n"
            "Trade live (mode = \"live\") or on paper (mode = \"paper\": live market data,\n"
            "orders filled by the simulated venue) as the configuration says. The file is\n"
            "checked and every secret resolved before anything connects.\n"
            "SIGINT/SIGTERM stop cleanly (on_stop, cancel open orders when cancel_on_stop,\n"
            "wait up to 2 s for the venue); a second signal exits at once.\n\n"
            "options:\n"
            "  -c, --config FILE  the configuration (etc/live.lua, etc/paper.lua)\n"
            "  -h, --help         this text\n\n"
            "See docs/operations.md and docs/configuration.md.\n");
}

/* scripts/lib: $LUTRA_LIB_PATH, else beside the binary, else the source tree. */
static int run_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    char err[4096], lib[PATH_MAX];
    config *cfg;
    live_options lo;
    live *lv;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'h': run_usage(stdout); return CMD_OK;
        default: run_usage(stderr); return CMD_USAGE;
        }
    }
    if (!path || optind < argc) {
        run_usage(stderr);
        return CMD_USAGE;
    }
    if (!(cfg = malloc(sizeof *cfg))) {
        cmd_error("run", "out of memory");
        return CMD_FAIL;
    }
    if (config_load(path, cfg, err, sizeof err) < 0) {
        cmd_error("run", "%s", err);
        free(cfg);
        return CMD_FAIL;
    }
    log_set_level(log_level_parse(cfg->log_level) >= 0 ? log_level_parse(cfg->log_level)
                                                       : LOG_INFO);
    cmd_lib_path(lib, sizeof lib);
    memset(&lo, 0, sizeof lo);
    lo.lib_path = lib;
    if (!(lv = live_new(cfg, &lo, err, sizeof err))) {
        cmd_error("run", "%s: %s", path, err);
        free(cfg);
        return CMD_FAIL;
    }
    rc = live_run(lv, err, sizeof err);
    if (rc < 0)
        cmd_error("run", "%s", err);
    live_free(lv);
    free(cfg);
    return rc < 0 ? CMD_FAIL : CMD_OK;
}

const cmd cmd_run = {"run", "trade live or on paper from a configuration file", run_main,
                     run_usage};
