/*
 * ws.h -- a WebSocket client connection (ws:// and wss://) that stays up.
 *
 * libwebsockets is not thread-safe and, as Debian packages it, cannot join
 * libevent, so each ws object runs its own lws context on its own I/O
 * thread. The engine thread never touches lws except lws_cancel_service:
 *
 *   inbound   the I/O thread joins a message's fragments, stamps its receive
 *             time (CLOCK_REALTIME ns) when the last one arrives, and pushes
 *             it on a lock-free single-producer single-consumer ring; an
 *             eventfd watched by the engine's event_base wakes the engine,
 *             which calls on_message. In spin mode the engine calls ws_poll
 *             instead, and no eventfd is written. With spin_us, the engine
 *             keeps polling the ring once every loop turn for spin_us after
 *             each message before it sleeps on the eventfd again (see
 *             ws_config.spin_us: it trades a busy core for the wake-up).
 *   outbound  ws_send copies the message onto a second ring and wakes the
 *             I/O thread, which writes it as one text message.
 *
 * Frames come from a pool that each side hands back to the other, so a
 * steady stream allocates nothing; a message larger than a frame grows that
 * frame once, and it keeps its size.
 *
 * The connection reconnects by itself: after a drop it waits a delay drawn
 * with "full jitter" -- uniform in [0, min(cap, base * 2^(attempt-1))] ms --
 * from a generator seeded by the config (so a test can predict it), and the
 * attempt count starts again once a connection has received something.
 * A ping goes out every ping_interval_ms; no pong within pong_timeout_ms
 * means the connection is dead: it is dropped ("pong timeout") and
 * reconnected.
 *
 * ws_reconnect_planned opens a second connection to the same URL while the
 * first keeps delivering (Binance closes a connection after 24 hours): only
 * once the new one delivers does ws switch to it and close the old one.
 * With a `seq` function (each message's own sequence number, such as a
 * Binance update id) the handover is exact: messages from the new connection
 * are held until the old one has caught up with them, then the stream goes
 * on from the new one without a gap or a repeat. Without it, ws switches at
 * the new connection's first message, and messages the server sent on both
 * around that moment may be repeated or missed: the caller's sequence check
 * must tell.
 *
 * Every callback runs on the engine thread (the one that calls ws_open,
 * ws_send, ws_poll and ws_free, and runs the event_base). The on_message
 * data has JSON_PADDING readable zero bytes after len, so json_parse can
 * parse it in place; it is valid only during the call.
 */
#ifndef LUTRA_WS_H
#define LUTRA_WS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct ws ws;

enum ws_state {
    WS_CONNECTING = 1, /* an attempt began */
    WS_OPEN = 2,       /* the handshake completed: messages flow */
    WS_CLOSED = 3      /* the connection ended (or never opened); a retry is scheduled */
};

/* What on_state hears. */
typedef struct ws_status {
    int state;           /* enum ws_state */
    const char *reason;  /* WS_CLOSED: why ("pong timeout", "server closed (1000)", ...) */
    uint32_t attempt;    /* WS_CONNECTING: 1 for the first attempt after a drop */
    int64_t retry_in_ms; /* WS_CLOSED: the delay before the next attempt */
} ws_status;

typedef void (*ws_message_fn)(void *ud, int64_t recv_ns, const char *data, size_t len);
typedef void (*ws_state_fn)(void *ud, const ws_status *st);
/* A message's sequence number. @return 0, or -1 if it has none (such a
 * message is delivered as it comes). */
typedef int (*ws_seq_fn)(void *ud, const char *data, size_t len, uint64_t *seq);
/* While spinning, nothing came for a while (ws_config.on_idle). */
typedef void (*ws_idle_fn)(void *ud);

typedef struct ws_config {
    const char *url;         /* ws://host[:port]/path or wss://... */
    ws_message_fn on_message;
    ws_state_fn on_state;    /* may be NULL */
    ws_seq_fn seq;           /* may be NULL: see ws_reconnect_planned */
    void *ud;                /* passed to the three above */
    int64_t backoff_base_ms; /* 0: 250 */
    int64_t backoff_cap_ms;  /* 0: 30000 */
    int64_t ping_interval_ms; /* 0: 20000; negative: no pings */
    int64_t pong_timeout_ms; /* 0: 10000 */
    uint64_t seed;           /* the jitter's generator */
    unsigned ring_slots;     /* frames in flight each way, a power of two; 0: 4096 */
    size_t frame_bytes;      /* first size of a pooled frame; 0: 4096 */
    size_t max_message;      /* a longer message drops the connection; 0: 64 MiB */
    int spin;                /* 1: no eventfd, the engine calls ws_poll */
    /*
     * > 0: after a message the engine thread does not sleep for spin_us
     * microseconds: a zero-delay timer turns the loop (timers and other
     * events still run every turn) and polls the ring each turn, and the
     * I/O thread writes no eventfd meanwhile. A message arriving within the
     * window skips the eventfd wake-up (a few us here), but the engine's
     * core is 100% busy while it spins: with messages closer than spin_us
     * apart, always. Worth it only when that core is the engine's alone
     * (docs/PERFORMANCE.md, "Tick to order"). 0: the process default
     * (ws_set_spin_default), which is 0: sleep on the eventfd at once.
     * Ignored with spin = 1 (the caller polls).
     */
    int64_t spin_us;
    /*
     * While the engine spins (spin_us), called on the engine thread when no
     * message has come for idle_us, and again every idle_us while none
     * comes: time to do what keeps the order path's code and data in the
     * caches (plugin warm, docs/connectors.md), which a millisecond of
     * other work evicts. Never called while sleeping on the eventfd, nor
     * from inside a delivery. NULL: never; idle_us 0: 100.
     */
    ws_idle_fn on_idle;
    int64_t idle_us;
} ws_config;

/* Counters, read on the engine thread. */
typedef struct ws_stats {
    uint64_t messages;       /* delivered to on_message */
    uint64_t bytes;          /* their total length */
    uint64_t sent;           /* messages written by the I/O thread */
    uint64_t connects;       /* connections that reached WS_OPEN, handovers included */
    uint64_t handovers;      /* planned reconnects completed */
    uint64_t handover_dropped; /* messages not delivered because the other connection had them */
    uint64_t frames_allocated; /* inbound frames ever allocated (the pool's size) */
} ws_stats;

/*
 * Start the I/O thread and the first connection attempt. base is the
 * engine's event_base (NULL only with cfg->spin). The url is copied.
 * @return the object, or NULL with the reason in err (a bad URL, a bad
 * config value, no memory, no thread).
 */
ws *ws_open(struct event_base *base, const ws_config *cfg, char *err, size_t errlen);

/*
 * Queue one text message for the current connection. A message still queued
 * when the connection drops is discarded: resend after WS_OPEN what the new
 * connection needs.
 * @return 0, or -1 when not open or the outbound ring is full (err says which).
 */
int ws_send(ws *w, const char *data, size_t len, char *err, size_t errlen);

/* Begin a planned reconnect (see above). @return 0, or -1 if one is under way
 * or the connection is not open. */
int ws_reconnect_planned(ws *w);

/* Deliver what the I/O thread has handed over (spin mode, or to drain now).
 * @return the number of messages and state changes delivered. */
int ws_poll(ws *w);

void ws_get_stats(const ws *w, ws_stats *out);

/*
 * ---- Latency probe (observability; bench/tick_to_order.c) ----
 *
 * Off by default: then it costs one predictable branch per message on each
 * thread. When set, the I/O thread takes a CLOCK_MONOTONIC stamp the moment
 * a message's last fragment has arrived (the message is whole), and the
 * engine thread calls `before` just ahead of on_message for it, with that
 * stamp and the message, and `after` once on_message has returned. So
 * whatever the engine does for a message (an order it sends, say) can be
 * tied to the moment the message was complete.
 *
 * Process-wide: set it before the first ws_open and clear it only after the
 * last ws_free (the I/O threads read it without a lock). NULL turns it off.
 */
typedef struct ws_probe {
    void (*before)(void *ud, int64_t complete_mono_ns, const char *data, size_t len);
    void (*after)(void *ud);
    void *ud;
} ws_probe;

void ws_set_probe(const ws_probe *probe);

/* Close, stop and join the I/O thread, free everything. No callback runs
 * during or after it. NULL is accepted. */
void ws_free(ws *w);

/* The spin_us of connections whose config says 0, for a host that sets it
 * for all of them (bench/tick_to_order --spin-us). Call it before ws_open;
 * negative counts as 0. */
void ws_set_spin_default(int64_t spin_us);

#endif
