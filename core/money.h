/*
 * money.h -- amounts of an asset (balances, notionals, fees, PnL).
 *
 * Instruments scale prices and sizes each their own way, but one asset is
 * shared by many instruments (USDT is the quote of BTCUSDT and ETHUSDT at
 * different scales), so balances use one scale for every asset: int64 at
 * MONEY_SCALE decimals (1e-8, the precision exchanges keep balances in),
 * which holds up to 92 billion units. Products of price and size are done in
 * 128 bits and rounded once, half away from zero; the rounding is the only
 * inexact step and is documented in docs/backtesting.md.
 */
#ifndef LUTRA_MONEY_H
#define LUTRA_MONEY_H

#include <stdint.h>

#define MONEY_SCALE 8
#define MONEY_ONE INT64_C(100000000)

/* An amount at `scale` decimals (a size, or a price as a quote amount) in
 * money units, rounded half away from zero. */
int64_t money_from_fixed(int64_t v, int scale);

/* price (price_scale) x qty (size_scale) as a quote-asset amount in money
 * units, rounded half away from zero. Saturates at INT64_MAX/MIN. */
int64_t money_notional(int64_t price, int price_scale, int64_t qty, int size_scale);

/* amount x bps / 10000, rounded half away from zero (fees). */
int64_t money_bps(int64_t amount, double bps);

/* a x num / den in 128 bits, rounded half away from zero; den != 0. */
int64_t money_muldiv(int64_t a, int64_t num, int64_t den);

/* Money units to a double, for reports and the Lua boundary. */
double money_to_double(int64_t m);
/* A double (from Lua or a config file) to money units, rounded. */
int64_t money_from_double(double d);

#endif
