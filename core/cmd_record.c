/*
 * cmd_record.c -- `lutra record`: capture the venues' market data to a file
 * `lutra import` reads back through the same connector decode.
 *
 * The live driver (live.h) runs market-data only: the configuration's
 * connectors connect as for `lutra run`, no strategy is loaded and no
 * secret resolved, and every message a connector receives goes to the
 * recorder (recorder.h), which a loop timer flushes every second.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "live.h"
#include "log.h"
#include "recorder.h"

#define RECORD_FLUSH_NS INT64_C(1000000000)
#define RECORD_BYTES_PER_MB (1024.0 * 1024.0)

typedef struct record_run {
    recorder *rec;
    live *lv;
    uint32_t files_logged;
    int failed;
    char err[1024];
} record_run;

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
            "  -o, --output FILE    where to record; never overwritten\n"
            "      --rotate-mb N    a new file when the current one reaches N MiB\n"
            "                       (FILE's name gets .0000, .0001 ... before its extension)\n"
            "      --rotate-hourly  a new file every UTC hour (.YYYYMMDDHH)\n"
            "  -h, --help           this text\n\n"
            "See docs/record.md.\n");
}

static void record_fail(record_run *rr)
{
    log_write(LOG_ERROR, "record", "%s: stopping", rr->err);
    rr->failed = 1;
    live_request_stop(rr->lv);
}

static void record_message(void *ud, int64_t recv_ns, const char *msg, size_t len)
{
    record_run *rr = ud;

    if (rr->failed)
        return;
    if (recorder_write(rr->rec, recv_ns, msg, len, rr->err, sizeof rr->err) < 0)
        record_fail(rr);
}

static void record_flush(loop_timer *t, void *ud)
{
    record_run *rr = ud;

    (void)t;
    if (rr->failed)
        return;
    if (recorder_flush(rr->rec, rr->err, sizeof rr->err) < 0) {
        record_fail(rr);
        return;
    }
    if (recorder_files(rr->rec) != rr->files_logged) {
        rr->files_logged = recorder_files(rr->rec);
        log_write(LOG_INFO, "record", "file=%s", recorder_path(rr->rec));
    }
}

/* --rotate-mb: a positive number of MiB (fractions allowed). @return 0 or -1. */
static int record_parse_mb(const char *s, int64_t *bytes)
{
    char *end;
    double mb = strtod(s, &end);

    if (end == s || *end || !(mb > 0) || mb > 1e9)
        return -1;
    *bytes = (int64_t)(mb * RECORD_BYTES_PER_MB);
    return *bytes > 0 ? 0 : -1;
}

static int record_args(int argc, char **argv, const char **config_path, const char **out,
                       recorder_options *ro)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"rotate-mb", required_argument, NULL, 'm'},
                                         {"rotate-hourly", no_argument, NULL, 'H'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *config_path = optarg; break;
        case 'o': *out = optarg; break;
        case 'm':
            if (record_parse_mb(optarg, &ro->rotate_bytes) < 0) {
                cmd_error("record", "--rotate-mb: want a positive number of MiB, got \"%s\"",
                          optarg);
                return -1;
            }
            break;
        case 'H': ro->rotate_hourly = 1; break;
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

/* Run the driver with the recorder attached until a signal stops it. */
static int record_run_live(record_run *rr, const config *cfg, const char *out)
{
    live_options lo;
    loop_timer *flush;
    char err[4096];
    int rc;

    memset(&lo, 0, sizeof lo);
    lo.market_only = 1;
    lo.record = record_message;
    lo.record_ud = rr;
    if (!(rr->lv = live_new(cfg, &lo, err, sizeof err))) {
        cmd_error("record", "%s", err);
        return -1;
    }
    flush = loop_timer_add(live_loop(rr->lv), RECORD_FLUSH_NS, RECORD_FLUSH_NS, record_flush,
                           rr, err, sizeof err);
    if (!flush) {
        cmd_error("record", "%s", err);
        live_free(rr->lv);
        return -1;
    }
    log_write(LOG_INFO, "record", "recording to=%s", out);
    rc = live_run(rr->lv, err, sizeof err);
    if (rc < 0)
        cmd_error("record", "%s", err);
    loop_timer_cancel(flush);
    live_free(rr->lv);
    return rc;
}

static int record_main(int argc, char **argv)
{
    const char *config_path = NULL, *out = NULL;
    recorder_options ro = {0, 0};
    record_run rr;
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
    memset(&rr, 0, sizeof rr);
    if (!(rr.rec = recorder_open(out, &ro, loop_now_ns(), err, sizeof err))) {
        cmd_error("record", "%s", err);
        free(cfg);
        return CMD_FAIL;
    }
    rr.files_logged = recorder_files(rr.rec);
    rc = record_run_live(&rr, cfg, out);
    log_write(LOG_INFO, "record", "stopped messages=%llu files=%u last=%s",
              (unsigned long long)recorder_messages(rr.rec), recorder_files(rr.rec),
              recorder_path(rr.rec));
    if (recorder_close(rr.rec, err, sizeof err) < 0) {
        cmd_error("record", "%s", err);
        rc = -1;
    }
    free(cfg);
    return rc < 0 || rr.failed ? CMD_FAIL : CMD_OK;
}

const cmd cmd_record = {"record", "record live market data for lutra import", record_main,
                        record_usage};
