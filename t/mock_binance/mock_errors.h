/*
 * mock_errors.h -- the error answers of Binance Spot's REST API that an
 * order can meet, as the mock sends them on request (the `reject` fault):
 * each code with its documented name, the HTTP status it comes with and
 * its documented message.
 *
 * Source: binance-spot-api-docs errors.md
 * (https://developers.binance.com/docs/binance-spot-api-docs/errors) and,
 * for the statuses, rest-api.md "HTTP Return Codes": 4XX for the sender's
 * mistakes, 401 for a refused key, 429 for a broken rate limit, 5XX for
 * Binance's own failures (execution status unknown).
 */
#ifndef LUTRA_MOCK_ERRORS_H
#define LUTRA_MOCK_ERRORS_H

#include <stddef.h>

typedef struct merr_doc {
    int code;               /* -2010 */
    const char *name;       /* "NEW_ORDER_REJECTED" */
    int http_status;        /* 400 */
    const char *msg;        /* the documented message (the first, when several) */
    int outcome_unknown;    /* 1: the docs say the order may have executed */
} merr_doc;

/* The documented error of code, or NULL. */
const merr_doc *merr_find(int code);

/* Every documented error, in the order of errors.md. */
size_t merr_count(void);
const merr_doc *merr_at(size_t i);

#endif
