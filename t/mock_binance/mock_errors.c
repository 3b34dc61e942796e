/*
 * mock_errors.c -- Binance Spot's documented REST errors (mock_errors.h).
 *
 * Codes, names and messages as errors.md writes them; a message with a
 * placeholder ('%s') is filled with a parameter an order sends. Codes of
 * the FIX API, order lists, SBE and cancel-replace are left out: a spot
 * order over REST does not meet them. -1010, -2010 and -2011 carry one of
 * the matching engine's messages (errors.md, "Messages for -1010
 * ERROR_MSG_RECEIVED, -2010 NEW_ORDER_REJECTED, and -2011
 * CANCEL_REJECTED"): the one real servers are quoted sending most.
 *
 * outcome_unknown: -1000 (an unknown error, sent with a 5XX), -1006 and
 * -1007 (their texts: "execution status unknown"). -1001 says the request
 * could not be processed, -1008 and -1016 that it was not taken.
 */
#include "mock_errors.h"

static const merr_doc docs[] = {
    {-1000, "UNKNOWN", 500, "An unknown error occurred while processing the request.", 1},
    {-1001, "DISCONNECTED", 500, "Internal error; unable to process your request. Please try "
     "again.", 0},
    {-1002, "UNAUTHORIZED", 401, "You are not authorized to execute this request.", 0},
    {-1003, "TOO_MANY_REQUESTS", 429, "Too many requests queued.", 0},
    {-1006, "UNEXPECTED_RESP", 500, "An unexpected response was received from the message bus. "
     "Execution status unknown.", 1},
    {-1007, "TIMEOUT", 500, "Timeout waiting for response from backend server. Send status "
     "unknown; execution status unknown.", 1},
    {-1008, "SERVER_BUSY", 503, "Server is currently overloaded with other requests. Please try "
     "again in a few minutes.", 0},
    {-1010, "ERROR_MSG_RECEIVED", 400, "Market is closed.", 0},
    {-1013, "INVALID_MESSAGE", 400, "The request is rejected by the API. (i.e. The request "
     "didn't reach the Matching Engine.)", 0},
    {-1014, "UNKNOWN_ORDER_COMPOSITION", 400, "Unsupported order combination.", 0},
    {-1015, "TOO_MANY_ORDERS", 429, "Too many new orders.", 0},
    {-1016, "SERVICE_SHUTTING_DOWN", 503, "This service is no longer available.", 0},
    {-1020, "UNSUPPORTED_OPERATION", 400, "This operation is not supported.", 0},
    {-1021, "INVALID_TIMESTAMP", 400, "Timestamp for this request is outside of the recvWindow.",
     0},
    {-1022, "INVALID_SIGNATURE", 400, "Signature for this request is not valid.", 0},
    {-1100, "ILLEGAL_CHARS", 400, "Illegal characters found in a parameter.", 0},
    {-1101, "TOO_MANY_PARAMETERS", 400, "Too many parameters sent for this endpoint.", 0},
    {-1102, "MANDATORY_PARAM_EMPTY_OR_MALFORMED", 400, "A mandatory parameter was not sent, was "
     "empty/null, or malformed.", 0},
    {-1103, "UNKNOWN_PARAM", 400, "An unknown parameter was sent.", 0},
    {-1104, "UNREAD_PARAMETERS", 400, "Not all sent parameters were read.", 0},
    {-1105, "PARAM_EMPTY", 400, "A parameter was empty.", 0},
    {-1106, "PARAM_NOT_REQUIRED", 400, "A parameter was sent when not required.", 0},
    {-1108, "PARAM_OVERFLOW", 400, "Parameter 'quantity' overflowed.", 0},
    {-1111, "BAD_PRECISION", 400, "Parameter 'price' has too much precision.", 0},
    {-1112, "NO_DEPTH", 400, "No orders on book for symbol.", 0},
    {-1114, "TIF_NOT_REQUIRED", 400, "TimeInForce parameter sent when not required.", 0},
    {-1115, "INVALID_TIF", 400, "Invalid timeInForce.", 0},
    {-1116, "INVALID_ORDER_TYPE", 400, "Invalid orderType.", 0},
    {-1117, "INVALID_SIDE", 400, "Invalid side.", 0},
    {-1118, "EMPTY_NEW_CL_ORD_ID", 400, "New client order ID was empty.", 0},
    {-1119, "EMPTY_ORG_CL_ORD_ID", 400, "Original client order ID was empty.", 0},
    {-1120, "BAD_INTERVAL", 400, "Invalid interval.", 0},
    {-1121, "BAD_SYMBOL", 400, "Invalid symbol.", 0},
    {-1122, "INVALID_SYMBOLSTATUS", 400, "Invalid symbolStatus.", 0},
    {-1125, "INVALID_LISTEN_KEY", 400, "This listenKey does not exist.", 0},
    {-1127, "MORE_THAN_XX_HOURS", 400, "Lookup interval is too big.", 0},
    {-1128, "OPTIONAL_PARAMS_BAD_COMBO", 400, "Combination of optional parameters invalid.", 0},
    {-1130, "INVALID_PARAMETER", 400, "Invalid data sent for a parameter.", 0},
    {-1134, "BAD_STRATEGY_TYPE", 400, "strategyType was less than 1000000.", 0},
    {-1135, "INVALID_JSON", 400, "Invalid JSON Request", 0},
    {-1139, "INVALID_TICKER_TYPE", 400, "Invalid ticker type.", 0},
    {-1145, "INVALID_CANCEL_RESTRICTIONS", 400, "cancelRestrictions has to be either ONLY_NEW or "
     "ONLY_PARTIALLY_FILLED.", 0},
    {-1151, "DUPLICATE_SYMBOLS", 400, "Symbol is present multiple times in the list.", 0},
    {-2010, "NEW_ORDER_REJECTED", 400, "Account has insufficient balance for requested action.",
     0},
    {-2011, "CANCEL_REJECTED", 400, "Unknown order sent.", 0},
    {-2013, "NO_SUCH_ORDER", 400, "Order does not exist.", 0},
    {-2014, "BAD_API_KEY_FMT", 401, "API-key format invalid.", 0},
    {-2015, "REJECTED_MBX_KEY", 401, "Invalid API-key, IP, or permissions for action.", 0},
    {-2016, "NO_TRADING_WINDOW", 400, "No trading window could be found for the symbol. Try "
     "ticker/24hrs instead.", 0},
    {-2026, "ORDER_ARCHIVED", 400, "Order was canceled or expired with no executed qty over 90 "
     "days ago and has been archived.", 0},
};

#define NDOCS (sizeof docs / sizeof docs[0])

const merr_doc *merr_find(int code)
{
    for (size_t i = 0; i < NDOCS; i++)
        if (docs[i].code == code)
            return &docs[i];
    return NULL;
}

size_t merr_count(void)
{
    return NDOCS;
}

const merr_doc *merr_at(size_t i)
{
    return i < NDOCS ? &docs[i] : NULL;
}
