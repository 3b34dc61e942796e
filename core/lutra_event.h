/*
 * lutra_event.h -- the normalized market events and instrument definitions.
 *
 * This header is public: connectors include it through lutra_plugin.h, and
 * the native event file (docs/data-format.md) stores these records byte for
 * byte, so a field never moves. Add new record types; never change old ones.
 *
 * Every record starts with the same 24-byte head. Times are int64 nanoseconds
 * since the Unix epoch: ts_recv is the local receive time (the moment a
 * strategy could have seen the event, and the order of every stream), ts_exch
 * is the exchange's own timestamp. A source that gives only one timestamp
 * uses it for both and sets LUTRA_F_ONE_TS, so nobody mistakes a zero feed
 * latency for a measured one.
 *
 * Prices and quantities are int64 fixed point, scaled by the instrument's
 * price_scale and size_scale (decimal places): 61837.63 at scale 8 is
 * 6183763000000. See fixed.h.
 */
#ifndef LUTRA_EVENT_H
#define LUTRA_EVENT_H

#include <stdint.h>

/* Record types. Values are stored in files: never renumber. */
enum lutra_event_type {
    LUTRA_EV_BOOK_CLEAR = 1, /* empty the book; the snapshot's levels follow */
    LUTRA_EV_BOOK_DELTA = 2, /* set one level (qty 0 removes it) */
    LUTRA_EV_TRADE = 3,      /* a public trade; the flag side is the aggressor's */
    LUTRA_EV_QUOTE = 4,      /* best bid and ask; never changes the L2 book */
    LUTRA_EV_BAR = 5,        /* OHLCV; ts_exch is the open, ts_recv the close */
    LUTRA_EV_STATUS = 6,     /* the feed's state for one instrument changed */
    LUTRA_EV_TYPE_MAX = 6
};

/* Record flags. */
enum lutra_event_flag {
    /* Last record of one exchange message: the book is whole only after it. */
    LUTRA_F_LAST = 1 << 0,
    /* Part of a snapshot (the CLEAR that opens it and the levels in it). */
    LUTRA_F_SNAPSHOT = 1 << 1,
    /* Side: set for bid (deltas) or buy aggressor (trades), clear for ask/sell. */
    LUTRA_F_BID = 1 << 2,
    /* The source had one timestamp: ts_exch and ts_recv come from it. */
    LUTRA_F_ONE_TS = 1 << 3,
    /* Trades: the source did not say which side was the aggressor. */
    LUTRA_F_NO_SIDE = 1 << 4
};
#define LUTRA_F_BUY LUTRA_F_BID

/* Feed states carried by LUTRA_EV_STATUS. */
enum lutra_feed_state {
    LUTRA_FEED_CONNECTING = 1,
    LUTRA_FEED_SYNCING = 2,      /* book not usable: waiting for a snapshot */
    LUTRA_FEED_READY = 3,        /* book synchronised */
    LUTRA_FEED_DISCONNECTED = 4
};

/* Why the state changed. */
enum lutra_feed_reason {
    LUTRA_REASON_NONE = 0,
    LUTRA_REASON_GAP = 1,        /* sequence gap in the depth stream */
    LUTRA_REASON_SNAPSHOT = 2,   /* a snapshot synchronised the book */
    LUTRA_REASON_STALE = 3       /* snapshot older than the buffered diffs */
};

typedef struct lutra_event_head {
    int64_t ts_recv;     /* local receive time, ns */
    int64_t ts_exch;     /* exchange time, ns */
    uint8_t type;        /* enum lutra_event_type */
    uint8_t flags;       /* enum lutra_event_flag */
    uint16_t size;       /* record size in bytes, head included */
    uint32_t instrument; /* index in the file's instrument table, or registry id */
} lutra_event_head;

typedef struct lutra_book_delta { /* LUTRA_EV_BOOK_DELTA, LUTRA_EV_BOOK_CLEAR */
    lutra_event_head h;
    int64_t price;
    int64_t qty;                  /* 0 removes the level */
} lutra_book_delta;

typedef struct lutra_trade {      /* LUTRA_EV_TRADE */
    lutra_event_head h;
    int64_t price;
    int64_t qty;
} lutra_trade;

typedef struct lutra_quote {      /* LUTRA_EV_QUOTE */
    lutra_event_head h;
    int64_t bid_price;
    int64_t bid_qty;
    int64_t ask_price;
    int64_t ask_qty;
} lutra_quote;

typedef struct lutra_bar {        /* LUTRA_EV_BAR */
    lutra_event_head h;           /* ts_exch: open time; ts_recv: close time */
    int64_t open;
    int64_t high;
    int64_t low;
    int64_t close;
    int64_t volume;               /* base asset, size scale */
} lutra_bar;

typedef struct lutra_status {     /* LUTRA_EV_STATUS */
    lutra_event_head h;
    uint32_t state;               /* enum lutra_feed_state */
    uint32_t reason;              /* enum lutra_feed_reason */
} lutra_status;

/* Any one record; large enough for every type. */
typedef union lutra_event {
    lutra_event_head h;
    lutra_book_delta delta;
    lutra_trade trade;
    lutra_quote quote;
    lutra_bar bar;
    lutra_status status;
} lutra_event;

/* Size of a record of the given type, 0 for an unknown type. */
static inline uint16_t lutra_event_size(unsigned type)
{
    switch (type) {
    case LUTRA_EV_BOOK_CLEAR:
    case LUTRA_EV_BOOK_DELTA: return sizeof(lutra_book_delta);
    case LUTRA_EV_TRADE: return sizeof(lutra_trade);
    case LUTRA_EV_QUOTE: return sizeof(lutra_quote);
    case LUTRA_EV_BAR: return sizeof(lutra_bar);
    case LUTRA_EV_STATUS: return sizeof(lutra_status);
    default: return 0;
    }
}

/* Instrument kinds. */
enum lutra_instrument_kind {
    LUTRA_KIND_SPOT = 0,
    LUTRA_KIND_PERPETUAL = 1,
    LUTRA_KIND_FUTURE = 2,
    LUTRA_KIND_OTHER = 3
};

#define LUTRA_VENUE_MAX 16
#define LUTRA_SYMBOL_MAX 32
#define LUTRA_ASSET_MAX 16

/*
 * An instrument definition. 128 bytes, stored verbatim in the event file's
 * header. Strings are NUL-terminated and NUL-padded. Increments and minimums
 * are fixed point at the instrument's own scales: price_increment 1 at
 * price_scale 2 is a tick of 0.01. min_notional is in the quote asset, at
 * price_scale; 0 means none.
 */
typedef struct lutra_instrument {
    char venue[LUTRA_VENUE_MAX];
    char symbol[LUTRA_SYMBOL_MAX];
    char base[LUTRA_ASSET_MAX];
    char quote[LUTRA_ASSET_MAX];
    int64_t price_increment;
    int64_t size_increment;
    int64_t min_qty;
    int64_t min_notional;
    uint8_t price_scale;          /* decimal places of prices, 0..18 */
    uint8_t size_scale;           /* decimal places of sizes, 0..18 */
    uint8_t kind;                 /* enum lutra_instrument_kind */
    uint8_t reserved[13];
} lutra_instrument;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(lutra_event_head) == 24, "event head is 24 bytes on disk");
_Static_assert(sizeof(lutra_book_delta) == 40, "delta record is 40 bytes on disk");
_Static_assert(sizeof(lutra_quote) == 56, "quote record is 56 bytes on disk");
_Static_assert(sizeof(lutra_bar) == 64, "bar record is 64 bytes on disk");
_Static_assert(sizeof(lutra_status) == 32, "status record is 32 bytes on disk");
_Static_assert(sizeof(lutra_instrument) == 128, "instrument is 128 bytes on disk");
#endif

#endif
