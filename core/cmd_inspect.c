/*
 * cmd_inspect.c -- `lutra inspect`: what is in native event files, and the
 * order book they give at chosen moments.
 *
 * Everything goes through the replay (data/replay.h), the same path a
 * backtest's feed takes, so what inspect shows is what a strategy would see.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "cmd.h"
#include "fixed.h"
#include "grow.h"
#include "instrument.h"
#include "json_write.h"
#include "replay.h"
#include "timestamp.h"

#define INSPECT_MAX_TIMES 4096
#define INSPECT_DEFAULT_DEPTH 5

static const char *const inspect_type_names[LUTRA_EV_TYPE_MAX + 1] = {
    "unknown", "book_clear", "book_delta", "trade", "quote", "bar", "status"};

typedef struct inspect_instrument_stats {
    uint64_t by_type[LUTRA_EV_TYPE_MAX + 1];
    uint64_t messages;   /* book messages: records ending in LUTRA_F_LAST */
    uint64_t gaps;       /* STATUS SYNCING with reason GAP */
    int seen;
    int64_t first, last; /* receive times */
    int64_t longest_silence;
} inspect_instrument_stats;

typedef struct inspect_state {
    replay *rp;
    instrument_registry *reg;
    inspect_instrument_stats *stats; /* by registry id */
    size_t nstats;
    uint64_t events;
    int64_t first, last;
} inspect_state;

static void inspect_usage(FILE *out)
{
    fprintf(out,
            "usage: lutra inspect FILE... [--json]\n"
            "       lutra inspect FILE... --book-at TS [--book-at TS...] [--depth N] [--json]\n\n"
            "Without --book-at: counts by event type, instruments, time span, sequence gaps\n"
            "and crossed moments, whether the file was cut off, and each book's top levels\n"
            "at the end. With --book-at: the book of every instrument after every event\n"
            "received at or before TS (ns since the epoch, or ISO-8601 UTC such as\n"
            "2024-08-08T23:55:00Z); with --json, one JSON line per TS and symbol, in\n"
            "ascending TS order. Several files are merged by receive time.\n\n"
            "options:\n"
            "  -b, --book-at TS  a moment to show the book at (repeatable)\n"
            "  -d, --depth N     levels a side to show (default %d)\n"
            "  -j, --json        machine-readable output\n"
            "  -h, --help        this text\n\n"
            "See docs/inspect.md.\n",
            INSPECT_DEFAULT_DEPTH);
}

/* ---- Output helpers ---- */

static void inspect_put_json_string(const char *s)
{
    json_write_string(json_write_file, stdout, s, strlen(s));
}

static void inspect_put_levels_json(const book *b, book_side side, const lutra_instrument *in,
                                    size_t depth)
{
    char px[FIXED_STR_MAX], qty[FIXED_STR_MAX];
    book_level lv;

    putchar('[');
    for (size_t i = 0; i < depth && b && book_level_at(b, side, i, &lv) == 0; i++) {
        fixed_format_trim(lv.price, in->price_scale, px, sizeof px);
        fixed_format_trim(lv.qty, in->size_scale, qty, sizeof qty);
        printf("%s[\"%s\",\"%s\"]", i ? "," : "", px, qty);
    }
    putchar(']');
}

static void inspect_put_book_json(inspect_state *st, uint32_t id, int64_t ts, size_t depth)
{
    const lutra_instrument *in = instrument_registry_get(st->reg, id);
    const book *b = replay_book(st->rp, id);

    printf("{\"ts\":%" PRId64 ",\"venue\":", ts);
    inspect_put_json_string(in->venue);
    printf(",\"symbol\":");
    inspect_put_json_string(in->symbol);
    printf(",\"synced\":%s,\"bids\":", replay_synced(st->rp, id) ? "true" : "false");
    inspect_put_levels_json(b, BOOK_BID, in, depth);
    printf(",\"asks\":");
    inspect_put_levels_json(b, BOOK_ASK, in, depth);
    printf("}\n");
}

static void inspect_put_book_text(inspect_state *st, uint32_t id, const char *when,
                                  size_t depth)
{
    const lutra_instrument *in = instrument_registry_get(st->reg, id);
    const book *b = replay_book(st->rp, id);
    char bp[FIXED_STR_MAX], bq[FIXED_STR_MAX], ap[FIXED_STR_MAX], aq[FIXED_STR_MAX];
    book_level bid, ask;

    printf("%s:%s book %s (%s)%s\n", in->venue, in->symbol, when,
           replay_synced(st->rp, id) ? "synced" : "not synced",
           b && book_is_crossed(b) ? ", CROSSED" : "");
    if (!b || (book_depth(b, BOOK_BID) == 0 && book_depth(b, BOOK_ASK) == 0)) {
        printf("  (empty)\n");
        return;
    }
    printf("  %18s %18s | %-18s %-18s\n", "bid qty", "bid", "ask", "ask qty");
    for (size_t i = 0; i < depth; i++) {
        int hb = book_level_at(b, BOOK_BID, i, &bid) == 0;
        int ha = book_level_at(b, BOOK_ASK, i, &ask) == 0;
        if (!hb && !ha)
            break;
        bp[0] = bq[0] = ap[0] = aq[0] = '\0';
        if (hb) {
            fixed_format_trim(bid.price, in->price_scale, bp, sizeof bp);
            fixed_format_trim(bid.qty, in->size_scale, bq, sizeof bq);
        }
        if (ha) {
            fixed_format_trim(ask.price, in->price_scale, ap, sizeof ap);
            fixed_format_trim(ask.qty, in->size_scale, aq, sizeof aq);
        }
        printf("  %18s %18s | %-18s %-18s\n", bq, bp, ap, aq);
    }
}

/* "3h 2m 1.5s" */
static void inspect_format_duration(int64_t ns, char *buf, size_t cap)
{
    int64_t s = ns / TS_NS_PER_SEC, ms = (ns % TS_NS_PER_SEC) / TS_NS_PER_MS;
    if (s >= 86400)
        snprintf(buf, cap, "%" PRId64 "d %" PRId64 "h %" PRId64 "m", s / 86400, s % 86400 / 3600,
                 s % 3600 / 60);
    else if (s >= 3600)
        snprintf(buf, cap, "%" PRId64 "h %" PRId64 "m %" PRId64 "s", s / 3600, s % 3600 / 60,
                 s % 60);
    else
        snprintf(buf, cap, "%" PRId64 "m %" PRId64 ".%03" PRId64 "s", s / 60, s % 60, ms);
}

/* ---- Collecting ---- */

static inspect_instrument_stats *inspect_stats_for(inspect_state *st, uint32_t id)
{
    inspect_instrument_stats *p = grow_to_index(st->stats, &st->nstats, id, sizeof *p, 16);
    if (!p)
        return NULL;
    st->stats = p;
    return &p[id];
}

static int inspect_count(inspect_state *st, const lutra_event *ev)
{
    inspect_instrument_stats *s = inspect_stats_for(st, ev->h.instrument);
    int64_t t = ev->h.ts_recv;

    if (!s)
        return -1;
    if (st->events++ == 0)
        st->first = t;
    st->last = t;
    s->by_type[ev->h.type <= LUTRA_EV_TYPE_MAX ? ev->h.type : 0]++;
    if (!s->seen) {
        s->seen = 1;
        s->first = t;
    } else if (t - s->last > s->longest_silence)
        s->longest_silence = t - s->last;
    s->last = t;
    if ((ev->h.type == LUTRA_EV_BOOK_DELTA || ev->h.type == LUTRA_EV_BOOK_CLEAR) &&
        (ev->h.flags & LUTRA_F_LAST))
        s->messages++;
    if (ev->h.type == LUTRA_EV_STATUS && ev->status.reason == LUTRA_REASON_GAP)
        s->gaps++;
    return 0;
}

/* Report how each file ended. @return 1 if any file ended in a corrupt record. */
static int inspect_file_endings(inspect_state *st, int json)
{
    int corrupt_any = 0;
    for (size_t i = 0; i < replay_file_count(st->rp); i++) {
        const char *why = NULL;
        size_t cut = replay_file_truncated(st->rp, i);
        int corrupt = replay_file_corrupt(st->rp, i, &why);
        corrupt_any |= corrupt;
        if (json)
            continue;
        if (corrupt)
            printf("file        %s: stopped at a corrupt record: %s\n", replay_file_path(st->rp, i),
                   why ? why : "?");
        else if (cut)
            printf("file        %s: truncated: %zu bytes of a cut-off last record ignored\n",
                   replay_file_path(st->rp, i), cut);
        else
            printf("file        %s: complete\n", replay_file_path(st->rp, i));
    }
    return corrupt_any;
}

static void inspect_summary_text(inspect_state *st, size_t depth)
{
    char a[TS_ISO_MAX], b[TS_ISO_MAX], dur[64];

    inspect_file_endings(st, 0);
    if (st->events) {
        ts_format_iso(st->first, a, sizeof a);
        ts_format_iso(st->last, b, sizeof b);
        inspect_format_duration(st->last - st->first, dur, sizeof dur);
        printf("span        %s .. %s (%s)\n", a, b, dur);
    } else {
        printf("span        (no events)\n");
    }
    printf("events      %" PRIu64 "\n", st->events);
    for (uint32_t id = 0; id < instrument_registry_count(st->reg); id++) {
        const lutra_instrument *in = instrument_registry_get(st->reg, id);
        inspect_instrument_stats *s = inspect_stats_for(st, id);
        char tick[FIXED_STR_MAX], lot[FIXED_STR_MAX];
        if (!s)
            return;
        fixed_format_trim(in->price_increment, in->price_scale, tick, sizeof tick);
        fixed_format_trim(in->size_increment, in->size_scale, lot, sizeof lot);
        printf("\n%s:%s  %s/%s  tick %s  lot %s\n", in->venue, in->symbol, in->base, in->quote,
               tick, lot);
        for (int t = 1; t <= LUTRA_EV_TYPE_MAX; t++)
            if (s->by_type[t])
                printf("  %-12s %" PRIu64 "\n", inspect_type_names[t], s->by_type[t]);
        if (s->messages)
            printf("  %-12s %" PRIu64 "\n", "book msgs", s->messages);
        inspect_format_duration(s->longest_silence, dur, sizeof dur);
        printf("  %-12s %s between two events\n", "longest", dur);
        if (s->by_type[LUTRA_EV_STATUS] || replay_book(st->rp, id))
            printf("  %-12s %" PRIu64 " sequence gaps reported by the feed\n", "gaps", s->gaps);
        if (replay_book(st->rp, id)) {
            printf("  %-12s %" PRIu64 " moments with best bid >= best ask\n", "crossed",
                   replay_crossed(st->rp, id));
            inspect_put_book_text(st, id, "at the end", depth);
        }
    }
}

static void inspect_summary_json(inspect_state *st, size_t depth)
{
    printf("{\"events\":%" PRIu64 ",\"first\":%" PRId64 ",\"last\":%" PRId64 ",\"files\":[",
           st->events, st->events ? st->first : 0, st->events ? st->last : 0);
    for (size_t i = 0; i < replay_file_count(st->rp); i++) {
        const char *why = NULL;
        int corrupt = replay_file_corrupt(st->rp, i, &why);
        printf("%s{\"path\":", i ? "," : "");
        inspect_put_json_string(replay_file_path(st->rp, i));
        printf(",\"truncated_bytes\":%zu,\"corrupt\":%s}", replay_file_truncated(st->rp, i),
               corrupt ? "true" : "false");
    }
    printf("],\"instruments\":[");
    for (uint32_t id = 0; id < instrument_registry_count(st->reg); id++) {
        const lutra_instrument *in = instrument_registry_get(st->reg, id);
        inspect_instrument_stats *s = inspect_stats_for(st, id);
        if (!s)
            break;
        printf("%s{\"venue\":", id ? "," : "");
        inspect_put_json_string(in->venue);
        printf(",\"symbol\":");
        inspect_put_json_string(in->symbol);
        printf(",\"counts\":{");
        for (int t = 1; t <= LUTRA_EV_TYPE_MAX; t++)
            printf("%s\"%s\":%" PRIu64, t > 1 ? "," : "", inspect_type_names[t], s->by_type[t]);
        printf("},\"book_messages\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"crossed\":%" PRIu64
               ",\"longest_silence_ns\":%" PRId64 ",\"book\":",
               s->messages, s->gaps, replay_crossed(st->rp, id), s->longest_silence);
        inspect_put_book_json(st, id, st->last, depth);
        printf("}");
    }
    printf("]}\n");
}

/* ---- Book at given times ---- */

static int inspect_cmp_time(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void inspect_books_at(inspect_state *st, int64_t ts, size_t depth, int json)
{
    char when[TS_ISO_MAX + 8];
    size_t n = instrument_registry_count(st->reg);

    snprintf(when, sizeof when, "at ");
    ts_format_iso(ts, when + 3, sizeof when - 3);
    for (uint32_t id = 0; id < n; id++) {
        if (json)
            inspect_put_book_json(st, id, ts, depth);
        else
            inspect_put_book_text(st, id, when, depth);
    }
}

static int inspect_run_book_at(inspect_state *st, int64_t *times, size_t ntimes, size_t depth,
                               int json)
{
    size_t k = 0;

    qsort(times, ntimes, sizeof *times, inspect_cmp_time);
    while (k < ntimes) {
        if (replay_peek_time(st->rp) > times[k]) {
            inspect_books_at(st, times[k++], depth, json);
            continue;
        }
        if (!replay_next(st->rp))
            break;
    }
    while (k < ntimes)
        inspect_books_at(st, times[k++], depth, json);
    return 0;
}

static int inspect_run_summary(inspect_state *st, size_t depth, int json)
{
    const lutra_event *ev;

    while ((ev = replay_next(st->rp)))
        if (inspect_count(st, ev) != 0) {
            cmd_error("inspect", "out of memory");
            return CMD_FAIL;
        }
    if (json)
        inspect_summary_json(st, depth);
    else
        inspect_summary_text(st, depth);
    return CMD_OK;
}

static int inspect_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"book-at", required_argument, NULL, 'b'},
                                              {"depth", required_argument, NULL, 'd'},
                                              {"json", no_argument, NULL, 'j'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    static int64_t times[INSPECT_MAX_TIMES];
    inspect_state st = {0};
    size_t ntimes = 0, depth = INSPECT_DEFAULT_DEPTH;
    int json = 0, c, rc;
    char err[1024], *end;

    optind = 1;
    while ((c = getopt_long(argc, argv, "b:d:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (ntimes == INSPECT_MAX_TIMES) {
                cmd_error("inspect", "at most %d --book-at times", INSPECT_MAX_TIMES);
                return CMD_USAGE;
            }
            if (ts_parse_user(optarg, &times[ntimes]) != 0) {
                cmd_error("inspect", "--book-at '%s': not a time (ns since the epoch, or "
                          "ISO-8601 such as 2024-08-08T23:55:00Z)", optarg);
                return CMD_USAGE;
            }
            ntimes++;
            break;
        case 'd': {
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v < 1 || v > 100000) {
                cmd_error("inspect", "--depth '%s': want a number of levels from 1", optarg);
                return CMD_USAGE;
            }
            depth = (size_t)v;
            break;
        }
        case 'j': json = 1; break;
        case 'h': inspect_usage(stdout); return CMD_OK;
        default: fprintf(stderr, "(see lutra inspect --help)\n"); return CMD_USAGE;
        }
    }
    if (optind >= argc) {
        cmd_error("inspect", "no file to inspect (see lutra inspect --help)");
        return CMD_USAGE;
    }
    if (!(st.reg = instrument_registry_new())) {
        cmd_error("inspect", "out of memory");
        return CMD_FAIL;
    }
    st.rp = replay_open((const char *const *)argv + optind, (size_t)(argc - optind), st.reg, err,
                        sizeof err);
    if (!st.rp) {
        cmd_error("inspect", "%s", err);
        instrument_registry_free(st.reg);
        return CMD_FAIL;
    }
    if (ntimes)
        rc = inspect_run_book_at(&st, times, ntimes, depth, json);
    else
        rc = inspect_run_summary(&st, depth, json);
    if (rc == CMD_OK && inspect_file_endings(&st, 1)) {
        cmd_error("inspect", "a file ends in a corrupt record (see above or --json)");
        rc = CMD_FAIL;
    }
    replay_close(st.rp);
    instrument_registry_free(st.reg);
    free(st.stats);
    return rc;
}

const cmd cmd_inspect = {"inspect", "show what an event file holds, and its book at given times",
                         inspect_main, inspect_usage};
