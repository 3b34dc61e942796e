/*
 * mock_sign.h -- how the mock checks a SIGNED request, the way Binance does.
 *
 * The signed payload is the query string followed, without a separator, by
 * the request body, both exactly as sent (still percent-encoded), with the
 * `signature` parameter taken out of whichever carried it. The signature is
 * HMAC-SHA256 of that payload with the secret key, in hex; HMAC signatures
 * are compared without regard to case, as documented.
 *
 * Timing: `timestamp` in ms (or µs, when it has 16 digits or more);
 * `recvWindow` in ms with up to three decimals, 5000 by default, at most
 * 60000. A request is taken when timestamp < now + 1000 ms and
 * now - timestamp <= recvWindow.
 */
#ifndef LUTRA_MOCK_SIGN_H
#define LUTRA_MOCK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* A refusal: Binance's code and message. */
typedef struct msign_error {
    int code;
    char msg[128];
} msign_error;

/*
 * Check the signature of a request: query (may be NULL) and body (may be
 * empty) as received.
 * @return 0 when it is valid, or -1 with *e set: -1102 when no signature
 * was sent, -1022 when it does not match.
 */
int msign_check(const char *secret, const char *query, const char *body, size_t body_len,
                msign_error *e);

/*
 * Check timestamp and recvWindow (their decoded values; recv_window NULL
 * for the default) against now_us, the server's clock in µs.
 * @return 0, or -1 with *e set (-1102, -1131, -1021).
 */
int msign_check_time(const char *timestamp, const char *recv_window, int64_t now_us,
                     msign_error *e);

/* Hex HMAC-SHA256 of data with key into out (65 bytes). @return 0 or -1. */
int msign_hmac_hex(const char *key, const char *data, size_t len, char out[65]);

#endif
