/*
 * binance_errors.c -- Binance Spot error answers as lutra rejection reasons
 * and as what the connector should do about them.
 *
 * Codes, names and texts are those of the official errors.md (REST codes a
 * spot order connector can meet; FIX-only and order-list codes left out).
 * Codes are stable, messages vary: the class comes from the code, refined
 * by the matching engine's message for -1010, -2010 and -2011 ("Unknown
 * order sent." is an unknown order, "This account may not place or cancel
 * orders." an account problem, not a rejected order).
 */
#include <stdio.h>
#include <string.h>

#include "binance.h"

typedef struct bn_error_def {
    int code;
    const char *name;
    const char *text; /* the documented message, when the answer has none */
    int cls;
} bn_error_def;

static const bn_error_def error_defs[] = {
    {-1000, "UNKNOWN", "An unknown error occurred while processing the request.",
     BN_ERR_OUTCOME_UNKNOWN},
    {-1001, "DISCONNECTED", "Internal error; unable to process your request.", BN_ERR_RETRY},
    {-1002, "UNAUTHORIZED", "You are not authorized to execute this request.", BN_ERR_AUTH},
    {-1003, "TOO_MANY_REQUESTS", "Too much request weight used.", BN_ERR_RETRY},
    {-1006, "UNEXPECTED_RESP", "Unexpected response from the message bus; execution status "
     "unknown.", BN_ERR_OUTCOME_UNKNOWN},
    {-1007, "TIMEOUT", "Timeout waiting for response from backend server; execution status "
     "unknown.", BN_ERR_OUTCOME_UNKNOWN},
    {-1008, "SERVER_BUSY", "Server is currently overloaded with other requests.",
     BN_ERR_RETRY},
    {-1010, "ERROR_MSG_RECEIVED", "The matching engine returned an error.", BN_ERR_REJECTED},
    {-1013, "INVALID_MESSAGE", "The request is rejected by the API.", BN_ERR_REJECTED},
    {-1014, "UNKNOWN_ORDER_COMPOSITION", "Unsupported order combination.", BN_ERR_REJECTED},
    {-1015, "TOO_MANY_ORDERS", "Too many new orders.", BN_ERR_RETRY},
    {-1016, "SERVICE_SHUTTING_DOWN", "This service is no longer available.", BN_ERR_RETRY},
    {-1020, "UNSUPPORTED_OPERATION", "This operation is not supported.", BN_ERR_REJECTED},
    {-1021, "INVALID_TIMESTAMP", "Timestamp for this request is outside of the recvWindow.",
     BN_ERR_CLOCK},
    {-1022, "INVALID_SIGNATURE", "Signature for this request is not valid.", BN_ERR_AUTH},
    {-1100, "ILLEGAL_CHARS", "Illegal characters found in a parameter.", BN_ERR_REJECTED},
    {-1101, "TOO_MANY_PARAMETERS", "Too many parameters sent for this endpoint.",
     BN_ERR_REJECTED},
    {-1102, "MANDATORY_PARAM_EMPTY_OR_MALFORMED", "A mandatory parameter was not sent, was "
     "empty/null, or malformed.", BN_ERR_REJECTED},
    {-1103, "UNKNOWN_PARAM", "An unknown parameter was sent.", BN_ERR_REJECTED},
    {-1104, "UNREAD_PARAMETERS", "Not all sent parameters were read.", BN_ERR_REJECTED},
    {-1105, "PARAM_EMPTY", "A parameter was empty.", BN_ERR_REJECTED},
    {-1106, "PARAM_NOT_REQUIRED", "A parameter was sent when not required.", BN_ERR_REJECTED},
    {-1108, "PARAM_OVERFLOW", "A parameter overflowed.", BN_ERR_REJECTED},
    {-1111, "BAD_PRECISION", "A parameter has too much precision.", BN_ERR_REJECTED},
    {-1112, "NO_DEPTH", "No orders on book for symbol.", BN_ERR_REJECTED},
    {-1114, "TIF_NOT_REQUIRED", "TimeInForce parameter sent when not required.",
     BN_ERR_REJECTED},
    {-1115, "INVALID_TIF", "Invalid timeInForce.", BN_ERR_REJECTED},
    {-1116, "INVALID_ORDER_TYPE", "Invalid orderType.", BN_ERR_REJECTED},
    {-1117, "INVALID_SIDE", "Invalid side.", BN_ERR_REJECTED},
    {-1118, "EMPTY_NEW_CL_ORD_ID", "New client order ID was empty.", BN_ERR_REJECTED},
    {-1119, "EMPTY_ORG_CL_ORD_ID", "Original client order ID was empty.", BN_ERR_REJECTED},
    {-1120, "BAD_INTERVAL", "Invalid interval.", BN_ERR_REJECTED},
    {-1121, "BAD_SYMBOL", "Invalid symbol.", BN_ERR_REJECTED},
    {-1122, "INVALID_SYMBOLSTATUS", "Invalid symbolStatus.", BN_ERR_REJECTED},
    {-1125, "INVALID_LISTEN_KEY", "This listenKey does not exist.", BN_ERR_REJECTED},
    {-1127, "MORE_THAN_XX_HOURS", "Lookup interval is too big.", BN_ERR_REJECTED},
    {-1128, "OPTIONAL_PARAMS_BAD_COMBO", "Combination of optional parameters invalid.",
     BN_ERR_REJECTED},
    {-1130, "INVALID_PARAMETER", "Invalid data sent for a parameter.", BN_ERR_REJECTED},
    {-1134, "BAD_STRATEGY_TYPE", "strategyType was less than 1000000.", BN_ERR_REJECTED},
    {-1135, "INVALID_JSON", "Invalid JSON Request.", BN_ERR_REJECTED},
    {-1139, "INVALID_TICKER_TYPE", "Invalid ticker type.", BN_ERR_REJECTED},
    {-1145, "INVALID_CANCEL_RESTRICTIONS", "cancelRestrictions has to be either ONLY_NEW or "
     "ONLY_PARTIALLY_FILLED.", BN_ERR_REJECTED},
    {-1151, "DUPLICATE_SYMBOLS", "Symbol is present multiple times in the list.",
     BN_ERR_REJECTED},
    {-2010, "NEW_ORDER_REJECTED", "NEW_ORDER_REJECTED", BN_ERR_REJECTED},
    {-2011, "CANCEL_REJECTED", "CANCEL_REJECTED", BN_ERR_REJECTED},
    {-2013, "NO_SUCH_ORDER", "Order does not exist.", BN_ERR_UNKNOWN_ORDER},
    {-2014, "BAD_API_KEY_FMT", "API-key format invalid.", BN_ERR_AUTH},
    {-2015, "REJECTED_MBX_KEY", "Invalid API-key, IP, or permissions for action.",
     BN_ERR_AUTH},
    {-2016, "NO_TRADING_WINDOW", "No trading window could be found for the symbol.",
     BN_ERR_REJECTED},
    {-2026, "ORDER_ARCHIVED", "Order was canceled or expired with no executed qty over 90 "
     "days ago and has been archived.", BN_ERR_UNKNOWN_ORDER},
};

/* Matching engine messages whose class is not the code's. */
static const struct {
    const char *msg;
    int cls;
} msg_classes[] = {
    {"Unknown order sent.", BN_ERR_UNKNOWN_ORDER},
    {"This action is disabled on this account.", BN_ERR_AUTH},
    {"This account may not place or cancel orders.", BN_ERR_AUTH},
    {"Rest API trading is not enabled.", BN_ERR_AUTH},
    {"This symbol is not permitted for this account.", BN_ERR_AUTH},
};

/* What each filter failure means, for a reason a user can act on. */
static const struct {
    const char *filter;
    const char *why;
} filter_whys[] = {
    {"PRICE_FILTER", "price too high, too low, or off the tick size"},
    {"PERCENT_PRICE", "price too far from the recent average price"},
    {"PERCENT_PRICE_BY_SIDE", "price too far from the recent average price for its side"},
    {"LOT_SIZE", "quantity too high, too low, or off the step size"},
    {"MIN_NOTIONAL", "price * quantity below the minimum notional"},
    {"NOTIONAL", "price * quantity outside the minimum and maximum notional"},
    {"ICEBERG_PARTS", "iceberg order would break into too many parts"},
    {"MARKET_LOT_SIZE", "market order quantity too high, too low, or off the step size"},
    {"MAX_POSITION", "the account's position would exceed the symbol's maximum"},
    {"MAX_NUM_ORDERS", "too many open orders on the symbol"},
    {"MAX_NUM_ALGO_ORDERS", "too many open stop orders on the symbol"},
    {"MAX_NUM_ICEBERG_ORDERS", "too many open iceberg orders on the symbol"},
    {"TRAILING_DELTA", "trailingDelta outside the filter's range"},
    {"EXCHANGE_MAX_NUM_ORDERS", "too many open orders on the exchange"},
    {"EXCHANGE_MAX_NUM_ALGO_ORDERS", "too many open stop orders on the exchange"},
    {"EXCHANGE_MAX_NUM_ICEBERG_ORDERS", "too many open iceberg orders on the exchange"},
};

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

static const bn_error_def *find_def(int code)
{
    for (size_t i = 0; i < COUNT(error_defs); i++)
        if (error_defs[i].code == code)
            return &error_defs[i];
    return NULL;
}

const char *bn_error_name(int code)
{
    const bn_error_def *d = find_def(code);
    return d ? d->name : NULL;
}

int bn_error_class(int code, const char *msg)
{
    const bn_error_def *d = find_def(code);

    if (msg && (code == -1010 || code == -2010 || code == -2011))
        for (size_t i = 0; i < COUNT(msg_classes); i++)
            if (strcmp(msg, msg_classes[i].msg) == 0)
                return msg_classes[i].cls;
    /* A code the docs do not list came with a 4xx: the request was refused. */
    return d ? d->cls : BN_ERR_REJECTED;
}

int bn_http_class(int status)
{
    if (status >= 200 && status < 300)
        return 0;
    if (status == 429 || status == 418)
        return BN_ERR_RETRY;
    if (status == 401 || status == 403)
        return BN_ERR_AUTH;
    if (status >= 500 || status < 100)
        return BN_ERR_OUTCOME_UNKNOWN; /* the docs: "could have been a success" */
    return BN_ERR_REJECTED;
}

/* " (why)" for "Filter failure: X", else "". */
static const char *filter_why(const char *msg)
{
    static const char prefix[] = "Filter failure: ";
    size_t plen = sizeof prefix - 1;

    if (!msg || strncmp(msg, prefix, plen) != 0)
        return NULL;
    for (size_t i = 0; i < COUNT(filter_whys); i++)
        if (strcmp(msg + plen, filter_whys[i].filter) == 0)
            return filter_whys[i].why;
    return NULL;
}

size_t bn_error_reason(int code, const char *msg, char *buf, size_t cap)
{
    const bn_error_def *d = find_def(code);
    const char *text = msg && msg[0] ? msg : d ? d->text : "no message";
    const char *why = filter_why(text);
    int n;

    if (cap == 0)
        return 0;
    n = snprintf(buf, cap, "binance %d%s%s: %s%s%s%s", code, d ? " " : "", d ? d->name : "",
                 text, why ? " (" : "", why ? why : "", why ? ")" : "");
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

const char *bn_error_class_name(int cls)
{
    static const char *const names[] = {
        NULL, "retry", "rejected", "unknown_order", "auth", "clock", "outcome_unknown",
    };
    return cls > 0 && (size_t)cls < COUNT(names) ? names[cls] : "none";
}
