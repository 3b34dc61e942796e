/*
 * binance_sign.c -- query strings and their HMAC-SHA256 signatures, as the
 * Binance Spot REST docs describe them ("SIGNED Endpoint Examples for POST
 * /api/v3/order"): parameters as key=value joined by '&' in the order given,
 * percent-encoded, then recvWindow and timestamp, then the signature of all
 * of it (query ‖ body) as lower-case hex in `signature`.
 *
 * The secret goes into an OpenSSL MAC context once and is kept nowhere
 * else; a signature re-initialises that context with the key it holds (no
 * key set-up, no buffer of ours per request), ahead of time when the
 * caller primes it (bn_signer_prime). Nothing here logs, and no error
 * message holds the secret.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "binance.h"

struct bn_signer {
    EVP_MAC_CTX *ctx;
    int primed; /* ctx is initialised and has hashed nothing yet */
};

/* ---- Query strings ---- */

void bn_query_init(bn_query *q)
{
    q->len = 0;
    q->overflow = 0;
    q->s[0] = '\0';
}

static void put_raw(bn_query *q, const char *s, size_t len)
{
    if (q->overflow || q->len + len >= sizeof q->s) {
        q->overflow = 1;
        return;
    }
    memcpy(q->s + q->len, s, len);
    q->len += len;
}

/* RFC 3986's unreserved characters stay as they are; every other byte is
 * %XX. Binance signs the bytes it receives, so one fixed rule is enough. */
static const uint64_t unreserved[2] = {
    0x03FF600000000000u, /* - . 0-9 */
    0x47FFFFFE87FFFFFEu, /* A-Z _ a-z ~ */
};

/* Runs of unreserved characters are copied whole: in practice the whole value. */
static void put_encoded(bn_query *q, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;

    while (i < len && !q->overflow) {
        size_t end = i;
        while (end < len && bn_char_in(unreserved, (unsigned char)s[end]))
            end++;
        put_raw(q, s + i, end - i);
        if (end == len)
            break;
        unsigned char ch = (unsigned char)s[end];
        char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        put_raw(q, esc, sizeof esc);
        i = end + 1;
    }
}

void bn_query_add(bn_query *q, const char *key, const char *val, size_t vlen)
{
    size_t start = q->len;

    if (q->len > 0)
        put_raw(q, "&", 1);
    put_encoded(q, key, strlen(key));
    put_raw(q, "=", 1);
    put_encoded(q, val, vlen);
    if (q->overflow)
        q->len = start; /* never leave half a pair behind */
    q->s[q->len] = '\0';
}

void bn_query_add_str(bn_query *q, const char *key, const char *val)
{
    bn_query_add(q, key, val, strlen(val));
}

void bn_query_add_int(bn_query *q, const char *key, int64_t v)
{
    char num[24];
    int n = bn_format_decimal(v, 0, num, sizeof num);
    bn_query_add(q, key, num, (size_t)n);
}

/* ---- Signatures ---- */

bn_signer *bn_signer_new(const char *secret, size_t len, char *err, size_t errlen)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    bn_signer *s;
    EVP_MAC *mac;

    if (len == 0) {
        snprintf(err, errlen, "HMAC key: the API secret is empty");
        return NULL;
    }
    s = OPENSSL_zalloc(sizeof *s);
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (s && mac)
        s->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context holds its own reference */
    if (!s || !s->ctx ||
        !EVP_MAC_init(s->ctx, (const unsigned char *)secret, len, params)) {
        snprintf(err, errlen, "HMAC key: OpenSSL could not set up HMAC-SHA256");
        bn_signer_free(s);
        return NULL;
    }
    s->primed = 1;
    return s;
}

void bn_signer_free(bn_signer *s)
{
    if (!s)
        return;
    EVP_MAC_CTX_free(s->ctx); /* cleanses the key */
    OPENSSL_free(s);
}

void bn_signer_prime(bn_signer *s)
{
    /* A NULL key keeps the one given at creation. A failure leaves it
     * unprimed: bn_sign tries again and reports it. */
    if (!s->primed)
        s->primed = EVP_MAC_init(s->ctx, NULL, 0, NULL) == 1;
}

int bn_sign(bn_signer *s, const char *query, size_t qlen, const char *body, size_t blen,
            char hex[65], char *err, size_t errlen)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char mac[32];
    size_t maclen = 0;

    bn_signer_prime(s);
    int ready = s->primed;
    s->primed = 0; /* whatever happens below, the context is used */
    if (!ready || !EVP_MAC_update(s->ctx, (const unsigned char *)query, qlen) ||
        (blen > 0 && !EVP_MAC_update(s->ctx, (const unsigned char *)body, blen)) ||
        !EVP_MAC_final(s->ctx, mac, &maclen, sizeof mac) || maclen != sizeof mac) {
        snprintf(err, errlen, "signing a request: OpenSSL HMAC-SHA256 failed");
        return -1;
    }
    for (size_t i = 0; i < sizeof mac; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

int bn_query_sign(bn_query *q, bn_signer *s, int64_t timestamp_ms, int recv_window_ms,
                  char *err, size_t errlen)
{
    char hex[65];

    if (recv_window_ms < 1 || recv_window_ms > BN_RECV_WINDOW_MAX) {
        snprintf(err, errlen, "signing a request: recvWindow %d ms outside 1..%d",
                 recv_window_ms, BN_RECV_WINDOW_MAX);
        return -1;
    }
    bn_query_add_int(q, "recvWindow", recv_window_ms);
    bn_query_add_int(q, "timestamp", timestamp_ms);
    if (q->overflow) {
        snprintf(err, errlen, "signing a request: query longer than %d bytes", BN_QUERY_MAX - 1);
        return -1;
    }
    if (bn_sign(s, q->s, q->len, NULL, 0, hex, err, errlen) != 0)
        return -1;

    bn_query_add(q, "signature", hex, 64);
    if (q->overflow) {
        snprintf(err, errlen, "signing a request: query longer than %d bytes", BN_QUERY_MAX - 1);
        return -1;
    }
    return 0;
}
