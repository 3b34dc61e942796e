/*
 * mock_ws.h -- the mock Binance's WebSocket side: a libwebsockets server on
 * 127.0.0.1, on its own thread, serving Binance's stream paths:
 *
 *   /ws/<stream>[/<stream>...]     raw payloads
 *   /stream?streams=<s1>/<s2>/...  combined: {"stream":"<s>","data":<payload>}
 *
 * A stream is whatever the exchange publishes under that name
 * ("btcusdt@depth@100ms", "btcusdt@trade", "btcusdt@bookTicker");
 * "<symbol>@depth" is served the same diffs as "<symbol>@depth@100ms"; a
 * listenKey registered with mws_add_listen_key is the user data stream
 * (what is published as MEXCH_USER_STREAM). Unknown names are accepted and
 * stay quiet, as on Binance. The server pings every ping_interval_s seconds
 * (Binance: 20) and drops a client silent for four intervals.
 *
 * mws_publish may be called from any thread: messages are queued under a
 * lock and the I/O thread is woken with lws_cancel_service (libwebsockets is
 * not thread-safe), which hands each message to the subscribed connections.
 */
#ifndef LUTRA_MOCK_WS_H
#define LUTRA_MOCK_WS_H

#include <stddef.h>
#include <stdint.h>

typedef struct mws mws;

/* Listen on 127.0.0.1:port (0: a free port) and start the thread.
 * ping_interval_s 0: 20. @return the server, or NULL with the reason in err. */
mws *mws_start(int port, int ping_interval_s, char *err, size_t errlen);
/* Close every connection, stop the thread, free everything. NULL is fine. */
void mws_stop(mws *w);
int mws_port(const mws *w);

/* Queue one payload for the subscribers of stream (copied). Dropped while silent. */
void mws_publish(mws *w, const char *stream, const char *json, size_t len);

/* listenKeys that name the user data stream. @return 0, or -1 when full. */
int mws_add_listen_key(mws *w, const char *key);
void mws_remove_listen_key(mws *w, const char *key);
int mws_has_listen_key(mws *w, const char *key);
/* The first listenKey registered and not removed, into out.
 * @return 1, or 0 when there is none. */
int mws_listen_key(mws *w, char *out, size_t cap);

/* Faults: close every connection now; stop answering anything (1) or
 * resume (0) -- a silent server accepts TCP but never completes a
 * handshake, sends no data and answers no ping. */
void mws_drop_all(mws *w);
void mws_set_silent(mws *w, int on);
/* The user data streams alone down (1): those open are closed, new ones
 * refused at the upgrade, and what is published to them meanwhile is lost
 * (no connection listens), as on Binance; 0: accepted again. */
void mws_set_user_down(mws *w, int on);

/* Connections open now. */
int mws_connections(const mws *w);
/* Connections accepted so far: all, and those of a user data stream. */
uint64_t mws_accepted(const mws *w);
uint64_t mws_user_accepted(const mws *w);

#endif
