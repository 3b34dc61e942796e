/*
 * mock_sign.c -- signature and timing checks of SIGNED requests (see
 * mock_sign.h).
 */
#include "mock_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fixed.h"

#define DEFAULT_RECV_WINDOW_US INT64_C(5000000)
#define MAX_RECV_WINDOW_US INT64_C(60000000)
#define AHEAD_LIMIT_US INT64_C(1000000)

static int fail(msign_error *e, int code, const char *msg)
{
    e->code = code;
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    return -1;
}

int msign_hmac_hex(const char *key, const char *data, size_t len, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;

    if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, len, mac,
              &maclen) || maclen != 32)
        return -1;
    for (unsigned i = 0; i < maclen; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

/*
 * Find the `signature` parameter in s[0..len): its value's span, and the
 * span to cut from the payload (the parameter and one '&' beside it).
 * @return 1 if found, else 0.
 */
static int find_signature(const char *s, size_t len, const char **val, size_t *val_len,
                          size_t *cut_from, size_t *cut_to)
{
    static const char key[] = "signature=";
    size_t start = 0;

    while (start < len) {
        const char *amp = memchr(s + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end - start >= sizeof key - 1 && memcmp(s + start, key, sizeof key - 1) == 0) {
            *val = s + start + sizeof key - 1;
            *val_len = end - start - (sizeof key - 1);
            *cut_from = start > 0 ? start - 1 : start;
            *cut_to = start > 0 || end == len ? end : end + 1;
            return 1;
        }
        start = end + 1;
    }
    return 0;
}

int msign_check(const char *secret, const char *query, const char *body, size_t body_len,
                msign_error *e)
{
    size_t qlen = query ? strlen(query) : 0; /* before "" stands in for NULL */
    const char *val = NULL;
    size_t val_len = 0, from = 0, to = 0;
    char given[65], want[65];
    char *payload;
    size_t n;
    int in_query;

    if (!query)
        query = "";
    if (!body)
        body = "";
    in_query = query && find_signature(query, qlen, &val, &val_len, &from, &to);
    if (!in_query && !(body && find_signature(body, body_len, &val, &val_len, &from, &to)))
        return fail(e, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, "
                    "or malformed.");
    if (val_len != 64)
        return fail(e, -1022, "Signature for this request is not valid.");
    memcpy(given, val, 64);
    given[64] = 0;
    payload = malloc(qlen + body_len + 1);
    if (!payload)
        return fail(e, -1000, "An unknown error occurred while processing the request.");
    /* query, then body, each without the signature when it carried it */
    n = 0;
    if (in_query) {
        memcpy(payload, query, from);
        memcpy(payload + from, query + to, qlen - to);
        n = from + qlen - to;
        memcpy(payload + n, body, body_len);
        n += body_len;
    } else {
        memcpy(payload, query, qlen);
        n = qlen;
        memcpy(payload + n, body, from);
        memcpy(payload + n + from, body + to, body_len - to);
        n += from + body_len - to;
    }
    int rc = msign_hmac_hex(secret, payload, n, want);
    free(payload);
    if (rc != 0)
        return fail(e, -1000, "An unknown error occurred while processing the request.");
    if (strcasecmp(given, want) != 0)
        return fail(e, -1022, "Signature for this request is not valid.");
    return 0;
}

int msign_check_time(const char *timestamp, const char *recv_window, int64_t now_us,
                     msign_error *e)
{
    int64_t ts, window_us = DEFAULT_RECV_WINDOW_US;
    char *end;

    if (!timestamp || !*timestamp)
        return fail(e, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, "
                    "or malformed.");
    ts = strtoll(timestamp, &end, 10);
    if (*end || ts <= 0)
        return fail(e, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, "
                    "or malformed.");
    if (strlen(timestamp) < 16)
        ts *= 1000; /* milliseconds */
    if (recv_window) {
        /* ms with up to three decimals: at scale 3 it reads as µs */
        if (fixed_parse(recv_window, strlen(recv_window), 3, &window_us) != FIXED_OK ||
            window_us <= 0)
            return fail(e, -1102, "Mandatory parameter 'recvWindow' was not sent, was "
                        "empty/null, or malformed.");
        if (window_us > MAX_RECV_WINDOW_US)
            return fail(e, -1131, "recvWindow must be less than 60000");
    }
    if (ts >= now_us + AHEAD_LIMIT_US)
        return fail(e, -1021, "Timestamp for this request was 1000ms ahead of the server's "
                    "time.");
    if (now_us - ts > window_us)
        return fail(e, -1021, "Timestamp for this request is outside of the recvWindow.");
    return 0;
}
