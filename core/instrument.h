/*
 * instrument.h -- the registry the engine looks instruments up in.
 *
 * An instrument is identified by (venue, symbol). Its id is its index in the
 * registry, stable for the registry's life; events carry it in head.instrument.
 */
#ifndef LUTRA_INSTRUMENT_H
#define LUTRA_INSTRUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "lutra_event.h"

typedef struct instrument_registry instrument_registry;

instrument_registry *instrument_registry_new(void);
void instrument_registry_free(instrument_registry *reg);

/*
 * Add a definition. If (venue, symbol) is already there, the existing id is
 * returned when the definitions agree on scales and increments, and -1 (with
 * a reason in err) when they do not: two different meanings of one price are
 * never merged silently.
 * @return the id (>= 0), or -1 with err set.
 */
int32_t instrument_registry_add(instrument_registry *reg, const lutra_instrument *def,
                                char *err, size_t errlen);

/* @return the id of (venue, symbol), or -1. */
int32_t instrument_registry_find(const instrument_registry *reg, const char *venue,
                                 const char *symbol);

/* @return the definition for id, or NULL if id is out of range. */
const lutra_instrument *instrument_registry_get(const instrument_registry *reg, uint32_t id);

size_t instrument_registry_count(const instrument_registry *reg);

/*
 * Fill *def from its parts: scales and increments given as decimal strings
 * ("0.01" sets price_scale 2, price_increment 1). NULL min strings mean none.
 * @return 0, or -1 with err set (bad number, string too long).
 */
int instrument_define(lutra_instrument *def, const char *venue, const char *symbol,
                      const char *base, const char *quote, const char *tick,
                      const char *lot, const char *min_qty, const char *min_notional,
                      char *err, size_t errlen);

/*
 * Split a concatenated symbol ("BTCUSDT", "ETH-BTC", "BTC/USD") into base
 * and quote using the separator or a list of common quote assets.
 * @return 0, or -1 when no split is known (base gets the whole symbol).
 */
int instrument_split_symbol(const char *symbol, char *base, size_t baselen, char *quote,
                            size_t quotelen);

#endif
