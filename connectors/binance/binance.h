/*
 * binance.h -- the Binance connector's insides, shared by its files:
 * binance.c (the plugin table, configuration, symbols and instruments),
 * binance_decode.c (market-data messages to events) and binance_book.c
 * (the depth book synchronisation). Not a public header.
 *
 * One instance decodes one market: Binance spot or USD-M futures. The
 * market comes from the configuration ("market") or is learned from the
 * first message that tells them apart (USD-M depth diffs carry "pu", its
 * trades "X", its bookTicker "e").
 */
#ifndef BINANCE_H
#define BINANCE_H

#include <stddef.h>
#include <stdint.h>

#include "lutra_plugin.h"

/* Diffs kept per symbol while waiting for a snapshot: the oldest go first
 * beyond these bounds (a snapshot fetched later cannot need them). */
#define BN_PENDING_DIFFS_MAX 1000
#define BN_PENDING_LEVELS_MAX 200000

enum bn_market { BN_MARKET_AUTO = 0, BN_MARKET_SPOT, BN_MARKET_USDM };

/* One price level of a depth message, at the instrument's scales. */
typedef struct bn_level {
    int64_t price;
    int64_t qty;
    int bid;
} bn_level;

/* One depth diff message, parsed. */
typedef struct bn_diff {
    uint64_t first_id; /* U */
    uint64_t last_id;  /* u */
    uint64_t prev_id;  /* pu, when chained */
    int chained;       /* USD-M: continuity is pu == previous u */
    int64_t ts_recv;
    int64_t ts_exch;
    size_t nlevels;
    size_t level_off;  /* buffered: first level's index in bn_symbol.plevels */
} bn_diff;

typedef struct bn_symbol {
    char name[LUTRA_SYMBOL_MAX];
    int32_t instrument; /* -1 until its first price and quantity are seen */
    int price_scale;
    int size_scale;
    int depth_seen;
    /* Book synchronisation (binance_book.c). */
    int synced;         /* book_id is the id of the book the events built */
    int bridging;       /* the next applied diff must straddle book_id */
    uint64_t book_id;
    bn_diff *pending;   /* diffs waiting for a snapshot, oldest first */
    size_t npending;
    size_t pending_cap;
    bn_level *plevels;  /* their levels, in the same order */
    size_t nplevels;
    size_t plevels_cap;
} bn_symbol;

typedef struct bn_conn {
    const lutra_host_api *api;
    lutra_host *host;
    json_parser *jp;
    char venue[LUTRA_VENUE_MAX];
    char snapshot_symbol[LUTRA_SYMBOL_MAX]; /* config "symbol", or "" */
    int market;                             /* enum bn_market */
    int tick_scale, lot_scale;              /* -1: from the data */
    int64_t tick, lot;
    bn_symbol **syms;
    size_t nsyms;
    size_t syms_cap;
    bn_level *scratch;                      /* levels of the message being decoded */
    size_t scratch_cap;
} bn_conn;

/* binance.c */

/* The state of a symbol, made on first sight. @return NULL (logged) if the
 * name is empty or too long, or memory ran out. */
bn_symbol *bn_symbol_get(bn_conn *c, const char *name, size_t len);

/* The symbol a bare REST snapshot belongs to (see binance.c). */
bn_symbol *bn_symbol_for_snapshot(bn_conn *c);

/* Define s's instrument from the first price and quantity strings seen,
 * if not yet done. @return 0, or -1 (logged). */
int bn_instrument_ensure(bn_conn *c, bn_symbol *s, const char *price, size_t plen,
                         const char *qty, size_t qlen);

/* Parse a price or quantity exactly at a scale; never rounds.
 * @return 0, or -1 with the value logged. */
int bn_parse_value(bn_conn *c, const bn_symbol *s, const char *what, const char *txt,
                   size_t len, int scale, int64_t *out);

/* Make room for n levels in c->scratch. @return 0, or -1 (logged). */
int bn_scratch_reserve(bn_conn *c, size_t n);

/* Fill ev's type, size and instrument and hand it to the host.
 * @return 0, or -1 if the host refused it. */
int bn_emit(bn_conn *c, const bn_symbol *s, lutra_event *ev, uint8_t type);

/* binance_decode.c */

int bn_decode(void *self, int64_t recv_ns, const char *msg, size_t len);

/* binance_book.c */

/* A depth diff for s (levels in lv). @return 0, or -1. */
int bn_book_diff(bn_conn *c, bn_symbol *s, const bn_diff *d, const bn_level *lv);

/* A REST snapshot for s with id last_id. ts_flags is LUTRA_F_ONE_TS when it
 * carried no time. @return 0, 1 if ignored as older than the book, or -1. */
int bn_book_snapshot(bn_conn *c, bn_symbol *s, uint64_t last_id, int64_t ts_recv,
                     int64_t ts_exch, uint8_t ts_flags, const bn_level *lv, size_t n);

/* Free the synchronisation buffers. */
void bn_book_free(bn_symbol *s);

#endif
