/*
 * cmd_state.c -- `lutra state`: dump, check and back up the state store
 * (core/state.h, docs/state.md).
 *
 * Every subcommand opens the store read-only: LMDB gives it a snapshot of
 * the last commit, so it runs beside a lutra that is writing the store.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "fixed.h"
#include "json_write.h"
#include "money.h"
#include "msgpack_check.h"
#include "order.h"
#include "state.h"

typedef struct state_sub state_sub;

typedef struct state_args {
    const state_sub *sub;
    const char *dir;      /* --state */
    const char *config;   /* --config */
    const char *dest;     /* backup's DEST */
    int json;
} state_args;

struct state_sub {
    const char *name;
    const char *synopsis;
    const char *about;
    int takes_json;
    int takes_dest;
    int (*run)(state_store *st, const state_args *a);
};

static int state_dump(state_store *st, const state_args *a);
static int state_check_run(state_store *st, const state_args *a);
static int state_backup_run(state_store *st, const state_args *a);

static const state_sub state_subs[] = {
    {"dump", "[--state DIR | --config FILE] [--json]",
     "Print every order (open and closed), position, balance and strategy state.\n"
     "With --json: one JSON object, prices and quantities as decimal strings.",
     1, 0, state_dump},
    {"check", "[--state DIR | --config FILE]",
     "Verify the store: the open-order index matches the orders, each order's\n"
     "filled quantity and value match its fills, each position matches its fills,\n"
     "each strategy's saved state decodes.\n"
     "Exit status 0: consistent; 1: problems (listed) or the store cannot be read.",
     0, 0, state_check_run},
    {"backup", "[--state DIR | --config FILE] DEST",
     "Write a consistent, compacted copy of the store into DEST (created; must be\n"
     "empty), safe while lutra runs. The copy is a store: --state DEST reads it.",
     0, 1, state_backup_run},
};

#define STATE_NSUBS (sizeof state_subs / sizeof state_subs[0])

static void state_usage(FILE *out)
{
    fprintf(out, "usage:\n");
    for (size_t i = 0; i < STATE_NSUBS; i++)
        fprintf(out, "  lutra state %-6s %s\n", state_subs[i].name, state_subs[i].synopsis);
    fprintf(out,
            "\nThe durable state store: orders, fills, positions, balances, strategy state.\n"
            "The store is state_dir of the configuration (--config), or DIR (--state), or\n"
            "var/state. `lutra state SUBCOMMAND --help` says more.\n\n"
            "See docs/state.md.\n");
}

static void state_sub_usage(FILE *out, const state_sub *s)
{
    fprintf(out,
            "usage: lutra state %s %s\n\n%s\n\noptions:\n"
            "  -s, --state DIR     the state folder\n"
            "  -c, --config FILE   the configuration whose state_dir to use\n",
            s->name, s->synopsis, s->about);
    if (s->takes_json)
        fprintf(out, "  -j, --json          machine-readable output\n");
    fprintf(out, "  -h, --help          this text\n\nSee docs/state.md.\n");
}

/* ---- JSON output ---- */

/* Any bytes as a JSON string (a binary value prints as Latin-1). */
static void state_json_bytes(FILE *out, const char *s, size_t n)
{
    json_write_string(json_write_file, out, s, n);
}

static void state_json_str(FILE *out, const char *s)
{
    state_json_bytes(out, s, strlen(s));
}

/* The shortest decimal that reads back as d; null for NaN and infinities. */
static void state_json_double(FILE *out, double d)
{
    char buf[40];

    if (!isfinite(d)) {
        fputs("null", out);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    fputs(buf, out);
}

static void state_msgpack_json(FILE *out, const msgpack_object *o);

/* A map key: strings as they are, anything else as its JSON text in a
 * string (JSON keys are strings; Lua's are not). */
static void state_msgpack_key(FILE *out, const msgpack_object *k)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem;

    if (k->type == MSGPACK_OBJECT_STR || k->type == MSGPACK_OBJECT_BIN) {
        state_msgpack_json(out, k);
        return;
    }
    if (!(mem = open_memstream(&text, &len))) {
        fputs("\"?\"", out);
        return;
    }
    state_msgpack_json(mem, k);
    fclose(mem);
    state_json_bytes(out, text, len);
    free(text);
}

static void state_msgpack_json(FILE *out, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        fputs("null", out);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        fputs(o->via.boolean ? "true" : "false", out);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        fprintf(out, "%" PRIu64, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        fprintf(out, "%" PRId64, o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        state_json_double(out, o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        state_json_bytes(out, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        state_json_bytes(out, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_EXT:
        state_json_bytes(out, o->via.ext.ptr, o->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        putc('[', out);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                putc(',', out);
            state_msgpack_json(out, &o->via.array.ptr[i]);
        }
        putc(']', out);
        break;
    case MSGPACK_OBJECT_MAP:
        putc('{', out);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                putc(',', out);
            state_msgpack_key(out, &o->via.map.ptr[i].key);
            putc(':', out);
            state_msgpack_json(out, &o->via.map.ptr[i].val);
        }
        putc('}', out);
        break;
    }
}

/* A saved ctx.state into u (initialised here; the caller destroys it):
 * one msgpack value, its bytes walked first (core/msgpack_check.h), so a
 * damaged record never makes msgpack-c allocate what its headers declare.
 * @return 0, or -1 with why (cap bytes). */
static int state_strategy_decode(msgpack_unpacked *u, const void *data, size_t len, char *why,
                                 size_t cap)
{
    msgpack_check_result chk;
    size_t off = 0;

    msgpack_unpacked_init(u);
    if (len == 0) {
        snprintf(why, cap, "no bytes");
        return -1;
    }
    if (msgpack_check_value(data, len, MSGPACK_CHECK_DEPTH_MAX, &chk) != MSGPACK_CHECK_OK) {
        msgpack_check_describe(&chk, why, cap);
        return -1;
    }
    if (msgpack_unpack_next(u, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len) {
        snprintf(why, cap, "msgpack-c cannot decode its %zu bytes (out of memory?)", len);
        return -1;
    }
    return 0;
}

/* A saved ctx.state as JSON. @return 0, or -1 with why (null printed). */
static int state_strategy_json(FILE *out, const void *data, size_t len, char *why, size_t cap)
{
    msgpack_unpacked u;
    int rc = state_strategy_decode(&u, data, len, why, cap);

    if (rc == 0)
        state_msgpack_json(out, &u.data);
    else
        fputs("null", out);
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ---- Dump ---- */

typedef struct state_dump_ctx {
    FILE *out;
    int json;
    size_t n;       /* records printed in the current section */
    int bad;        /* strategy states that cannot be decoded */
} state_dump_ctx;

/* The average price of value (money units) over qty (size scale), as a
 * decimal at the price's scale or finer. */
static void state_avg_price(int64_t value, int64_t qty, int size_scale, int price_scale,
                            char *buf, size_t cap)
{
    int scale = price_scale > MONEY_SCALE ? price_scale : MONEY_SCALE;
    int exp = size_scale + scale - MONEY_SCALE;

    if (exp > 18) {
        scale = MONEY_SCALE;
        exp = size_scale;
    }
    value = value < 0 ? -value : value;
    qty = qty < 0 ? -qty : qty;
    fixed_format_trim(money_muldiv(value, fixed_pow10(exp), qty), scale, buf, cap);
}

static void state_json_field(FILE *out, const char *name, const char *value, int comma)
{
    fprintf(out, "%s\"%s\":", comma ? "," : "", name);
    if (value)
        state_json_str(out, value);
    else
        fputs("null", out);
}

static void state_json_fixed(FILE *out, const char *name, int64_t v, int scale)
{
    char buf[FIXED_STR_MAX];
    fixed_format_trim(v, scale, buf, sizeof buf);
    state_json_field(out, name, buf, 1);
}

/* The start of a section; the first opens the JSON object, the others
 * close the previous array. */
static void state_section(state_dump_ctx *c, const char *name, int first)
{
    c->n = 0;
    if (c->json)
        fprintf(c->out, "%s\"%s\":[", first ? "{" : "],\n", name);
    else
        fprintf(c->out, "%s%s:\n", first ? "" : "\n", name);
}

static void state_record_start(state_dump_ctx *c)
{
    if (c->json)
        fputs(c->n++ ? ",\n{" : "\n{", c->out);
    else
        c->n++;
}

static int state_dump_order(void *ud, const state_order *o)
{
    state_dump_ctx *c = ud;
    char price[FIXED_STR_MAX], qty[FIXED_STR_MAX], filled[FIXED_STR_MAX], avg[FIXED_STR_MAX];

    fixed_format_trim(o->price, o->price_scale, price, sizeof price);
    fixed_format_trim(o->qty, o->size_scale, qty, sizeof qty);
    fixed_format_trim(o->filled, o->size_scale, filled, sizeof filled);
    if (o->filled)
        state_avg_price(o->filled_value, o->filled, o->size_scale, o->price_scale, avg,
                        sizeof avg);
    state_record_start(c);
    if (!c->json) {
        fprintf(c->out, "  %-24s %-8s %-12s %-4s %-6s %-16s %14s %12s %12s %14s %s\n", o->id,
                o->venue, o->symbol, order_side_name(o->side), order_type_name(o->type),
                order_status_name(o->status), price, qty, filled, o->filled ? avg : "-",
                o->strategy[0] ? o->strategy : "-");
        return 0;
    }
    state_json_field(c->out, "id", o->id, 0);
    state_json_field(c->out, "venue", o->venue, 1);
    state_json_field(c->out, "symbol", o->symbol, 1);
    state_json_field(c->out, "strategy", o->strategy, 1);
    state_json_field(c->out, "side", order_side_name(o->side), 1);
    state_json_field(c->out, "type", order_type_name(o->type), 1);
    state_json_field(c->out, "tif", order_tif_name(o->tif), 1);
    state_json_field(c->out, "status", order_status_name(o->status), 1);
    state_json_field(c->out, "price", price, 1);
    state_json_fixed(c->out, "stop_price", o->stop_price, o->price_scale);
    state_json_field(c->out, "qty", qty, 1);
    state_json_field(c->out, "filled", filled, 1);
    state_json_field(c->out, "avg_price", o->filled ? avg : NULL, 1);
    state_json_fixed(c->out, "fees", o->fees, MONEY_SCALE);
    state_json_field(c->out, "fee_asset", o->fee_asset, 1);
    state_json_field(c->out, "venue_order_id", o->venue_order_id, 1);
    state_json_field(c->out, "tag", o->tag, 1);
    state_json_field(c->out, "reason", o->reason, 1);
    fprintf(c->out, ",\"created_ns\":%" PRId64 ",\"updated_ns\":%" PRId64 "}", o->ts_created,
            o->ts_updated);
    return 0;
}

static int state_dump_position(void *ud, const state_position *p)
{
    state_dump_ctx *c = ud;
    char qty[FIXED_STR_MAX], avg[FIXED_STR_MAX], pnl[FIXED_STR_MAX];

    fixed_format_trim(p->qty, p->size_scale, qty, sizeof qty);
    fixed_format_trim(p->realized_pnl, MONEY_SCALE, pnl, sizeof pnl);
    if (p->qty)
        state_avg_price(p->cost, p->qty, p->size_scale, p->price_scale, avg, sizeof avg);
    state_record_start(c);
    if (!c->json) {
        fprintf(c->out, "  %-8s %-12s %16s %16s %16s\n", p->venue, p->symbol, qty,
                p->qty ? avg : "-", pnl);
        return 0;
    }
    state_json_field(c->out, "venue", p->venue, 0);
    state_json_field(c->out, "symbol", p->symbol, 1);
    state_json_field(c->out, "qty", qty, 1);
    state_json_field(c->out, "avg_price", p->qty ? avg : NULL, 1);
    state_json_field(c->out, "realized_pnl", pnl, 1);
    state_json_fixed(c->out, "fees", p->fees, MONEY_SCALE);
    fputc('}', c->out);
    return 0;
}

static int state_dump_balance(void *ud, const state_balance *b)
{
    state_dump_ctx *c = ud;
    char free_[FIXED_STR_MAX], locked[FIXED_STR_MAX];

    fixed_format_trim(b->free, MONEY_SCALE, free_, sizeof free_);
    fixed_format_trim(b->locked, MONEY_SCALE, locked, sizeof locked);
    state_record_start(c);
    if (!c->json) {
        fprintf(c->out, "  %-8s %-8s %20s %20s\n", b->venue, b->asset, free_, locked);
        return 0;
    }
    state_json_field(c->out, "venue", b->venue, 0);
    state_json_field(c->out, "asset", b->asset, 1);
    state_json_field(c->out, "free", free_, 1);
    state_json_field(c->out, "locked", locked, 1);
    fputc('}', c->out);
    return 0;
}

static int state_dump_strategy(void *ud, const char *name, const void *data, size_t len)
{
    state_dump_ctx *c = ud;
    char why[160];

    if (c->json) {
        fputs(c->n++ ? ",\n" : "\n", c->out);
        state_json_str(c->out, name);
        fputc(':', c->out);
    } else {
        c->n++;
        fprintf(c->out, "  %s: ", name);
    }
    if (state_strategy_json(c->out, data, len, why, sizeof why) < 0) {
        cmd_error("state", "strategy %s: its saved state (%zu bytes) cannot be decoded: %s",
                  name, len, why);
        c->bad++;
    }
    if (!c->json)
        fputc('\n', c->out);
    return 0;
}

static int state_dump(state_store *st, const state_args *a)
{
    state_dump_ctx c = {stdout, a->json, 0, 0};
    int rc;

    if (state_snapshot_begin(st) < 0) {
        cmd_error("state", "%s", state_error(st));
        return CMD_FAIL;
    }
    state_section(&c, "orders", 1);
    if (!c.json)
        fprintf(c.out, "  %-24s %-8s %-12s %-4s %-6s %-16s %14s %12s %12s %14s %s\n", "ID",
                "VENUE", "SYMBOL", "SIDE", "TYPE", "STATUS", "PRICE", "QTY", "FILLED",
                "AVG_PRICE", "STRATEGY");
    rc = state_each_order(st, 0, state_dump_order, &c);
    if (rc == 0) {
        state_section(&c, "positions", 0);
        if (!c.json)
            fprintf(c.out, "  %-8s %-12s %16s %16s %16s\n", "VENUE", "SYMBOL", "QTY",
                    "AVG_PRICE", "REALIZED_PNL");
        rc = state_each_position(st, state_dump_position, &c);
    }
    if (rc == 0) {
        state_section(&c, "balances", 0);
        if (!c.json)
            fprintf(c.out, "  %-8s %-8s %20s %20s\n", "VENUE", "ASSET", "FREE", "LOCKED");
        rc = state_each_balance(st, state_dump_balance, &c);
    }
    if (rc == 0) {
        c.n = 0;
        fputs(c.json ? "],\n\"strategies\":{" : "\nstrategies:\n", c.out);
        rc = state_each_strategy(st, state_dump_strategy, &c);
        if (c.json)
            fputs("}}\n", c.out);
    }
    state_snapshot_end(st);
    if (rc != 0) {
        fflush(c.out);
        cmd_error("state", "%s", state_error(st));
        return CMD_FAIL;
    }
    return c.bad ? CMD_FAIL : CMD_OK;
}

/* ---- Check and backup ---- */

static void state_print_problem(void *ud, const char *text)
{
    (void)ud;
    printf("problem: %s\n", text);
}

/* A saved ctx.state that the runtime would refuse to load is a problem;
 * the check goes on to the next. */
static int state_check_strategy(void *ud, const char *name, const void *data, size_t len)
{
    int *problems = ud;
    msgpack_unpacked u;
    char why[160];

    if (state_strategy_decode(&u, data, len, why, sizeof why) < 0) {
        printf("problem: strategy %s: its saved state (%zu bytes) cannot be decoded: %s\n", name,
               len, why);
        ++*problems;
    } else if (u.data.type != MSGPACK_OBJECT_MAP && u.data.type != MSGPACK_OBJECT_ARRAY) {
        printf("problem: strategy %s: its saved state is not a table (a msgpack map or "
               "array)\n", name);
        ++*problems;
    }
    msgpack_unpacked_destroy(&u);
    return 0;
}

static int state_check_run(state_store *st, const state_args *a)
{
    char err[1024];
    int n;

    /* One snapshot for the records and the strategies' states. */
    if (state_snapshot_begin(st) < 0) {
        cmd_error("state", "%s", state_error(st));
        return CMD_FAIL;
    }
    n = state_check(st, state_print_problem, NULL, err, sizeof err);
    if (n >= 0 && state_each_strategy(st, state_check_strategy, &n) < 0) {
        snprintf(err, sizeof err, "%s", state_error(st));
        n = -1;
    }
    state_snapshot_end(st);
    if (n < 0) {
        cmd_error("state", "%s", err);
        return CMD_FAIL;
    }
    if (n)
        printf("state store %s: %d problem%s\n", a->dir, n, n == 1 ? "" : "s");
    else
        printf("state store %s: consistent\n", a->dir);
    return n ? CMD_FAIL : CMD_OK;
}

static int state_backup_run(state_store *st, const state_args *a)
{
    char err[1024];

    if (state_backup(st, a->dest, err, sizeof err) < 0) {
        cmd_error("state", "%s", err);
        return CMD_FAIL;
    }
    printf("state store %s backed up to %s\n", a->dir, a->dest);
    return CMD_OK;
}

/* ---- Arguments ---- */

static const state_sub *state_find_sub(const char *name)
{
    for (size_t i = 0; i < STATE_NSUBS; i++)
        if (!strcmp(state_subs[i].name, name))
            return &state_subs[i];
    return NULL;
}

/* @return -1 to go on, else the exit status (help, usage error). */
static int state_parse(int argc, char **argv, state_args *a)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:c:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            a->dir = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'h':
            state_sub_usage(stdout, a->sub);
            return CMD_OK;
        default:
            state_sub_usage(stderr, a->sub);
            return CMD_USAGE;
        }
    }
    if (a->json && !a->sub->takes_json) {
        cmd_error("state", "%s has no --json", a->sub->name);
        return CMD_USAGE;
    }
    if (a->dir && a->config) {
        cmd_error("state", "give --state or --config, not both");
        return CMD_USAGE;
    }
    if (argc - optind != (a->sub->takes_dest ? 1 : 0)) {
        state_sub_usage(stderr, a->sub);
        return CMD_USAGE;
    }
    a->dest = a->sub->takes_dest ? argv[optind] : NULL;
    return -1;
}

/* The state folder from --config (its state_dir) or the default. */
static int state_resolve_dir(state_args *a, char *dir, size_t cap)
{
    char err[1024];
    config *c;

    if (a->dir)
        return 0;
    if (!(c = malloc(sizeof *c))) {
        cmd_error("state", "out of memory");
        return -1;
    }
    if (a->config) {
        if (config_load(a->config, c, err, sizeof err) < 0) {
            cmd_error("state", "%s", err);
            free(c);
            return -1;
        }
    } else {
        config_defaults(c);
    }
    snprintf(dir, cap, "%s", c->state_dir);
    free(c);
    a->dir = dir;
    return 0;
}

static int state_main(int argc, char **argv)
{
    state_args a = {0};
    state_options opt = {0};
    char dir[512], err[1024];
    state_store *st;
    int rc;

    if (argc < 2) {
        state_usage(stderr);
        return CMD_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        state_usage(stdout);
        return CMD_OK;
    }
    if (!(a.sub = state_find_sub(argv[1]))) {
        cmd_error("state", "no subcommand '%s' (dump, check, backup)", argv[1]);
        return CMD_USAGE;
    }
    if ((rc = state_parse(argc - 1, argv + 1, &a)) >= 0)
        return rc;
    if (state_resolve_dir(&a, dir, sizeof dir) < 0)
        return CMD_FAIL;
    opt.dir = a.dir;
    opt.read_only = 1;
    if (!(st = state_open(&opt, err, sizeof err))) {
        cmd_error("state", "%s", err);
        return CMD_FAIL;
    }
    rc = a.sub->run(st, &a);
    state_close(st);
    return rc;
}

const cmd cmd_state = {"state", "dump, check or back up the durable state store", state_main,
                       state_usage};
