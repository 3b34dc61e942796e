/*
 * main.c -- mock_binance, the mock Binance Spot exchange as a program:
 *
 *   mock_binance [--port N] [--ws-port N] [--data FILE.gz] [--speed X]
 *                [--symbol SYM] [--mid PRICE] [--seed N] [--quiet-book]
 *                [--balance ASSET=AMOUNT]... [--weight-limit N] [--weight-interval S]
 *
 * It prints "rest_port=N ws_port=M" on one line once it listens on
 * 127.0.0.1, then serves until SIGINT or SIGTERM. The API key and secret
 * are MOCK_BINANCE_API_KEY and MOCK_BINANCE_API_SECRET from the
 * environment, else Binance's documented example pair. See
 * docs/mock-exchange.md.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_binance.h"

#define MAX_BALANCES 32

static void usage(FILE *f)
{
    fprintf(f, "usage: mock_binance [--port N] [--ws-port N] [--data FILE.gz] [--speed X]\n"
               "                    [--symbol SYM] [--mid PRICE] [--seed N] [--quiet-book]\n"
               "                    [--balance ASSET=AMOUNT]... [--weight-limit N]\n"
               "                    [--weight-interval S]\n");
}

typedef struct args {
    mock_binance_options opt;
    mexch_symbol_spec spec;
    char base[16], quote[16];
    const char *balances[MAX_BALANCES];
    int nbalances;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->opt.generate = 1;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(k, "--quiet-book") == 0) {
            a->opt.generate = 0;
            takes = 0;
        } else if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (!v) {
            fprintf(stderr, "mock_binance: %s: a value is missing\n", k);
            return -1;
        } else if (strcmp(k, "--port") == 0) {
            a->opt.rest_port = atoi(v);
        } else if (strcmp(k, "--ws-port") == 0) {
            a->opt.ws_port = atoi(v);
        } else if (strcmp(k, "--data") == 0) {
            a->opt.data = v;
        } else if (strcmp(k, "--speed") == 0) {
            a->opt.speed = atof(v);
        } else if (strcmp(k, "--symbol") == 0) {
            a->spec.symbol = v;
        } else if (strcmp(k, "--mid") == 0) {
            a->opt.mid_price = v;
        } else if (strcmp(k, "--seed") == 0) {
            a->opt.seed = strtoull(v, NULL, 10);
        } else if (strcmp(k, "--weight-limit") == 0) {
            a->opt.weight_limit = atoll(v);
        } else if (strcmp(k, "--weight-interval") == 0) {
            a->opt.weight_interval_s = atoi(v);
        } else if (strcmp(k, "--balance") == 0 && a->nbalances < MAX_BALANCES) {
            a->balances[a->nbalances++] = v;
        } else {
            fprintf(stderr, "mock_binance: unknown option %s\n", k);
            usage(stderr);
            return -1;
        }
        i += takes;
    }
    return 0;
}

/* --symbol BASEQUOTE: split at a known quote asset. */
static int symbol_spec(args *a)
{
    static const char *const quotes[] = {"USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB", "EUR"};
    size_t n;

    if (!a->spec.symbol)
        return 0;
    n = strlen(a->spec.symbol);
    for (size_t i = 0; i < sizeof quotes / sizeof *quotes; i++) {
        size_t q = strlen(quotes[i]);
        if (n > q && n - q < sizeof a->base && strcmp(a->spec.symbol + n - q, quotes[i]) == 0) {
            snprintf(a->base, sizeof a->base, "%.*s", (int)(n - q), a->spec.symbol);
            snprintf(a->quote, sizeof a->quote, "%s", quotes[i]);
            a->spec.base = a->base;
            a->spec.quote = a->quote;
            a->opt.symbols = &a->spec;
            a->opt.nsymbols = 1;
            return 0;
        }
    }
    fprintf(stderr, "mock_binance: --symbol %s: no known quote asset at its end\n",
            a->spec.symbol);
    return -1;
}

static int set_balances(mock_binance *mx, const args *a)
{
    char err[256], asset[32];

    if (a->nbalances == 0) {
        /* something to trade with: 100000 of the quote, 10 of the base */
        if (mock_binance_set_balance(mx, a->spec.symbol ? a->quote : "USDT", "100000", err,
                                     sizeof err) != 0 ||
            mock_binance_set_balance(mx, a->spec.symbol ? a->base : "BTC", "10", err,
                                     sizeof err) != 0) {
            fprintf(stderr, "mock_binance: %s\n", err);
            return -1;
        }
        return 0;
    }
    for (int i = 0; i < a->nbalances; i++) {
        const char *eq = strchr(a->balances[i], '=');
        if (!eq || eq - a->balances[i] >= (long)sizeof asset) {
            fprintf(stderr, "mock_binance: --balance %s: not ASSET=AMOUNT\n", a->balances[i]);
            return -1;
        }
        snprintf(asset, sizeof asset, "%.*s", (int)(eq - a->balances[i]), a->balances[i]);
        if (mock_binance_set_balance(mx, asset, eq + 1, err, sizeof err) != 0) {
            fprintf(stderr, "mock_binance: --balance %s: %s\n", a->balances[i], err);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    args a;
    char err[512];
    sigset_t stop_signals;
    mock_binance *mx;
    int sig = 0;

    if (parse_args(argc, argv, &a) != 0 || symbol_spec(&a) != 0)
        return 2;
    a.opt.api_key = getenv("MOCK_BINANCE_API_KEY");
    a.opt.api_secret = getenv("MOCK_BINANCE_API_SECRET");
    /* The mock's threads inherit the mask: only sigwait below sees these. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    mx = mock_binance_start(&a.opt, err, sizeof err);
    if (!mx) {
        fprintf(stderr, "mock_binance: %s\n", err);
        return 1;
    }
    if (set_balances(mx, &a) != 0) {
        mock_binance_stop(mx);
        return 1;
    }
    printf("rest_port=%d ws_port=%d\n", mock_binance_rest_port(mx), mock_binance_ws_port(mx));
    fflush(stdout);
    sigwait(&stop_signals, &sig);
    mock_binance_stop(mx);
    return 0;
}
