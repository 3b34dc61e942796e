/*
 * cmd_backtest.c -- `lutra backtest`: the command line around backtest_run.
 *
 * Data files may be native event files or anything `lutra import` reads;
 * the latter are imported on the fly into a temporary native file.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backtest.h"
#include "cmd.h"
#include "config.h"
#include "evfile.h"
#include "import.h"
#include "timestamp.h"

#define BT_MAX_FILES 64
#define BT_MAX_PARAMS 128
#define BT_MAX_BALANCES 32

typedef struct bt_args {
    backtest_options opt;
    const char *data[BT_MAX_FILES];
    char *native[BT_MAX_FILES];      /* paths actually replayed */
    char *temp[BT_MAX_FILES];        /* imported on the fly: removed at the end */
    strategy_param params[BT_MAX_PARAMS];
    const char *balances[BT_MAX_BALANCES];
    const char *config_path;
    const char *symbol;              /* for imports that need one */
    const char *tick, *lot;          /* likewise, increments */
    config cfg;
    char out_dir[PATH_MAX];
    char lib_path[PATH_MAX];
} bt_args;

static void backtest_usage(FILE *out)
{
    fprintf(out,
            "usage: lutra backtest STRATEGY.lua --data FILE [--data FILE...] [-p key=value...]\n"
            "                      [--config FILE] [--cash AMOUNT] [--balance ASSET=AMOUNT...]\n"
            "                      [--fee-maker BPS] [--fee-taker BPS] [--from TS] [--to TS]\n"
            "                      [--periods-per-year N] [--out DIR] [--quiet]\n\n"
            "Run a Lua strategy over recorded market data on virtual time, with the same\n"
            "engine, risk gates and order manager as live trading and a simulated venue,\n"
            "and write a report. Book and trade data run in tick mode; bar data in bar mode.\n\n"
            "options:\n"
            "  -d, --data FILE          market data: a native .lev file or anything\n"
            "                           `lutra import` reads (imported on the fly)\n"
            "  -p, --param KEY=VALUE    override a strategy param (numbers, true/false,\n"
            "                           strings); wins over the config file\n"
            "  -c, --config FILE        a configuration file (docs/configuration.md)\n"
            "      --cash AMOUNT        starting balance of the quote asset (default 10000)\n"
            "      --balance A=AMOUNT   a starting balance of another asset (repeatable)\n"
            "      --fee-maker BPS      maker fee in basis points (default 2)\n"
            "      --fee-taker BPS      taker fee in basis points (default 5)\n"
            "      --from TS, --to TS   the period to trade (ns or ISO-8601); data before\n"
            "                           --from still builds the books\n"
            "      --periods-per-year N Sharpe/Sortino annualisation (default 365)\n"
            "      --symbol S           symbol for data files that do not name it\n"
            "      --tick T, --lot L    price and size increments for data imported on the\n"
            "                           fly (as lutra import's)\n"
            "  -o, --out DIR            where the report goes (default out/STRATEGY-TIME/)\n"
            "  -q, --quiet              no summary, no progress\n"
            "  -h, --help               this text\n\n"
            "Exit status: 0 done, 1 a strategy failed or the input is bad, 2 usage.\n"
            "See docs/backtesting.md and docs/strategy-api.md.\n");
}

/* ---- Data files ---- */

static int bt_is_native(const char *path)
{
    char magic[8];
    FILE *f = fopen(path, "rb");
    int native = 0;
    if (f) {
        native = fread(magic, 1, sizeof magic, f) == sizeof magic &&
                 memcmp(magic, EVFILE_MAGIC, sizeof magic) == 0;
        fclose(f);
    }
    return native;
}

static int bt_import(bt_args *a, size_t i, char *err, size_t errlen)
{
    const char *tmpdir = getenv("TMPDIR");
    char path[PATH_MAX];
    import_options io;
    import_report rep;
    const char *in[1] = {a->data[i]};
    int fd;

    snprintf(path, sizeof path, "%s/lutra-backtest-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if ((fd = mkstemp(path)) < 0) {
        snprintf(err, errlen, "cannot make a temporary file in %s: %s",
                 tmpdir && *tmpdir ? tmpdir : "/tmp", strerror(errno));
        return -1;
    }
    close(fd);
    memset(&io, 0, sizeof io);
    io.symbol = a->symbol;
    io.tick = a->tick;
    io.lot = a->lot;
    io.quiet = 1;
    if (import_run(&io, in, 1, path, &rep, err, errlen) < 0) {
        unlink(path);
        return -1;
    }
    a->temp[i] = strdup(path);
    a->native[i] = a->temp[i];
    return a->temp[i] ? 0 : -1;
}

static int bt_prepare_data(bt_args *a, char *err, size_t errlen)
{
    for (size_t i = 0; i < a->opt.ndata; i++) {
        if (access(a->data[i], R_OK) != 0) {
            snprintf(err, errlen, "--data %s: %s", a->data[i], strerror(errno));
            return -1;
        }
        if (bt_is_native(a->data[i]))
            a->native[i] = (char *)a->data[i];
        else if (bt_import(a, i, err, errlen) < 0)
            return -1;
    }
    a->opt.data = (const char *const *)a->native;
    return 0;
}

static void bt_cleanup(bt_args *a)
{
    for (size_t i = 0; i < BT_MAX_FILES; i++)
        if (a->temp[i]) {
            unlink(a->temp[i]);
            free(a->temp[i]);
        }
}

/* ---- Paths ---- */

static void bt_default_out(bt_args *a, const char *script)
{
    const char *base = strrchr(script, '/');
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    size_t n;

    base = base ? base + 1 : script;
    n = strcspn(base, ".");
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(a->out_dir, sizeof a->out_dir, "out/%.*s-%s", (int)(n > 64 ? 64 : n), base, stamp);
}

/* ---- Options ---- */

static int bt_number(const char *name, const char *s, double min, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < min) {
        cmd_error("backtest", "%s '%s': want a number >= %g", name, s, min);
        return -1;
    }
    *out = v;
    return 0;
}

static int bt_time(const char *name, const char *s, int64_t *out)
{
    if (ts_parse_user(s, out) != 0) {
        cmd_error("backtest", "%s '%s': not a time (ns since the epoch, or ISO-8601 such as "
                  "2024-08-08T23:55:00Z)", name, s);
        return -1;
    }
    return 0;
}

enum { OPT_CASH = 256, OPT_BALANCE, OPT_FEE_MAKER, OPT_FEE_TAKER, OPT_FROM, OPT_TO, OPT_PPY,
       OPT_SYMBOL, OPT_TICK, OPT_LOT };

static int bt_parse(bt_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},      {"param", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'},    {"cash", required_argument, NULL, OPT_CASH},
        {"balance", required_argument, NULL, OPT_BALANCE},
        {"fee-maker", required_argument, NULL, OPT_FEE_MAKER},
        {"fee-taker", required_argument, NULL, OPT_FEE_TAKER},
        {"from", required_argument, NULL, OPT_FROM}, {"to", required_argument, NULL, OPT_TO},
        {"periods-per-year", required_argument, NULL, OPT_PPY},
        {"symbol", required_argument, NULL, OPT_SYMBOL},
        {"tick", required_argument, NULL, OPT_TICK}, {"lot", required_argument, NULL, OPT_LOT},
        {"out", required_argument, NULL, 'o'},       {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    backtest_options *o = &a->opt;
    char err[512];
    int c;

    o->cash = o->fee_maker_bps = o->fee_taker_bps = -1;
    o->from = INT64_MIN;
    o->to = INT64_MAX;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:p:c:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (o->ndata == BT_MAX_FILES) {
                cmd_error("backtest", "at most %d --data files", BT_MAX_FILES);
                return CMD_USAGE;
            }
            a->data[o->ndata++] = optarg;
            break;
        case 'p':
            if (o->nparams == BT_MAX_PARAMS ||
                strategy_param_parse(optarg, &a->params[o->nparams], err, sizeof err) < 0) {
                cmd_error("backtest", "-p %s: %s", optarg,
                          o->nparams == BT_MAX_PARAMS ? "too many params" : err);
                return CMD_USAGE;
            }
            o->nparams++;
            break;
        case 'c': a->config_path = optarg; break;
        case OPT_CASH: if (bt_number("--cash", optarg, 0, &o->cash) < 0) return CMD_USAGE; break;
        case OPT_BALANCE:
            if (o->nbalances == BT_MAX_BALANCES) {
                cmd_error("backtest", "at most %d --balance options", BT_MAX_BALANCES);
                return CMD_USAGE;
            }
            a->balances[o->nbalances++] = optarg;
            break;
        case OPT_FEE_MAKER:
            if (bt_number("--fee-maker", optarg, -1e4, &o->fee_maker_bps) < 0) return CMD_USAGE;
            break;
        case OPT_FEE_TAKER:
            if (bt_number("--fee-taker", optarg, 0, &o->fee_taker_bps) < 0) return CMD_USAGE;
            break;
        case OPT_FROM: if (bt_time("--from", optarg, &o->from) < 0) return CMD_USAGE; break;
        case OPT_TO: if (bt_time("--to", optarg, &o->to) < 0) return CMD_USAGE; break;
        case OPT_PPY:
            if (bt_number("--periods-per-year", optarg, 1, &o->periods_per_year) < 0)
                return CMD_USAGE;
            break;
        case OPT_SYMBOL: a->symbol = optarg; break;
        case OPT_TICK: a->tick = optarg; break;
        case OPT_LOT: a->lot = optarg; break;
        case 'o': snprintf(a->out_dir, sizeof a->out_dir, "%s", optarg); break;
        case 'q': o->quiet = 1; break;
        case 'h': backtest_usage(stdout); return -1;
        default: fprintf(stderr, "(see lutra backtest --help)\n"); return CMD_USAGE;
        }
    }
    if (optind != argc - 1) {
        cmd_error("backtest", optind >= argc ? "no strategy file (see lutra backtest --help)"
                                             : "one strategy file, then options");
        return CMD_USAGE;
    }
    if (o->ndata == 0) {
        cmd_error("backtest", "no market data: give --data FILE");
        return CMD_USAGE;
    }
    o->strategy_path = argv[optind];
    o->data = a->data;
    o->params = a->params;
    o->balances = a->balances;
    return 0;
}

static int backtest_main(int argc, char **argv)
{
    bt_args *a = calloc(1, sizeof *a);
    backtest_result res;
    report *rep = NULL;
    char err[4096];
    int rc;

    if (!a) {
        cmd_error("backtest", "out of memory");
        return CMD_FAIL;
    }
    if ((rc = bt_parse(a, argc, argv)) != 0) {
        free(a);
        return rc < 0 ? CMD_OK : rc;
    }
    rc = CMD_FAIL;
    if (access(a->opt.strategy_path, R_OK) != 0) {
        cmd_error("backtest", "%s: %s", a->opt.strategy_path, strerror(errno));
        goto out;
    }
    if (a->config_path) {
        if (config_load(a->config_path, &a->cfg, err, sizeof err) < 0) {
            cmd_error("backtest", "%s", err);
            goto out;
        }
        a->opt.cfg = &a->cfg;
    }
    if (!a->out_dir[0])
        bt_default_out(a, a->opt.strategy_path);
    a->opt.out_dir = a->out_dir;
    cmd_lib_path(a->lib_path, sizeof a->lib_path);
    a->opt.lib_path = a->lib_path;
    a->opt.progress = !a->opt.quiet && isatty(2);
    if (bt_prepare_data(a, err, sizeof err) < 0 ||
        backtest_run(&a->opt, &res, &rep, err, sizeof err) < 0) {
        cmd_error("backtest", "%s", err);
        goto out;
    }
    if (!a->opt.quiet) {
        report_print_summary(rep, stdout);
        printf("\nreport: %s/report.html (and report.json, trades.csv, fills.csv, equity.csv)\n",
               a->out_dir);
    }
    rc = res.strategy_failed ? CMD_FAIL : CMD_OK;
    if (res.strategy_failed)
        cmd_error("backtest", "the strategy failed (the error is in the report and above)");
out:
    if (rep)
        report_free(rep);
    bt_cleanup(a);
    free(a);
    return rc;
}

const cmd cmd_backtest = {"backtest", "run a Lua strategy over market data and report",
                          backtest_main, backtest_usage};
