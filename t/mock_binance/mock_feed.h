/*
 * mock_feed.h -- the market the mock exchange serves: a real capture
 * replayed, or a generated one.
 *
 * Capture: the hftbacktest / `lutra record` layout, one message a line,
 * "<receive ns> <json>", where json is a combined-stream message
 * ({"stream":..,"data":..}) or a REST depth snapshot ({"lastUpdateId":..}).
 * The first snapshot sets the mock's book (and its update ids start from
 * its lastUpdateId); diffs of the feed's symbol then set levels, and its
 * trades print (and fill our resting orders they reach). Earlier diffs,
 * later snapshots and bookTicker lines are skipped: the mock derives its
 * own diffs and tickers from its book. Lines are played at their recorded
 * spacing divided by the speed factor; the feed ends with the file.
 *
 * Generated: a book of 20 levels a side around a fixed mid price whose
 * levels change at random (seeded), with a trade now and then, an event
 * every 20 ms divided by the speed factor.
 *
 * Not thread-safe: the caller holds the exchange's lock.
 */
#ifndef LUTRA_MOCK_FEED_H
#define LUTRA_MOCK_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "mock_exchange.h"

typedef struct mfeed mfeed;

/* Replay path for symbol sym of x. speed <= 0: 1. @return it, or NULL with err. */
mfeed *mfeed_open_capture(mexch *x, int sym, const char *path, double speed, char *err,
                          size_t errlen);

/* Generate around mid (at MEXCH_SCALE). Sets the first book at once.
 * @return it, or NULL with err. */
mfeed *mfeed_new_generator(mexch *x, int sym, int64_t mid, uint64_t seed, double speed,
                           char *err, size_t errlen);

/*
 * Apply what is due at now_ns (CLOCK_MONOTONIC or any steady clock; the
 * first call starts the feed's time).
 * @return ns until the next event, 0 when more is due now, -1 when the feed
 * has ended, -2 on an error (err says which line and why).
 */
int64_t mfeed_step(mfeed *f, int64_t now_ns, char *err, size_t errlen);

/* Pause the feed (paused 1) or let it go on (0) at now_ns, the clock of
 * mfeed_step. A paused feed applies nothing (mfeed_step asks to be called
 * again a little later); a resumed one goes on where it stopped, its
 * schedule moved by the pause: nothing missed is caught up. */
void mfeed_pause(mfeed *f, int paused, int64_t now_ns);
int mfeed_paused(const mfeed *f);

/* Messages applied so far. */
uint64_t mfeed_applied(const mfeed *f);

void mfeed_free(mfeed *f);

/* The symbol of a capture: the "s" of its first stream message, upper case,
 * into out. @return 0, or -1 with err. */
int mfeed_capture_symbol(const char *path, char *out, size_t cap, char *err, size_t errlen);

#endif
