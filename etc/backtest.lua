-- etc/backtest.lua -- an example configuration for `lutra backtest --config`.
--
--   lutra backtest scripts/sma_cross.lua --data daily.lev --config etc/backtest.lua
--
-- A configuration file is Lua returning one table, run in a sandbox (string,
-- table, math and the basic functions; no os, io or require) and checked
-- before anything runs: an unknown key or a wrong type is an error naming the
-- key. Every key, its type and default: docs/configuration.md.
--
-- A backtest reads the keys below; `mode` and `venues` (live and paper keys)
-- are not used here. Command-line options win over the file: --cash,
-- --balance, --fee-maker, --fee-taker, --periods-per-year, -p key=value.

return {
  -- Starting money: cash is the quote asset's balance (the asset prices are
  -- in); balances gives others, so a strategy can start holding the base.
  cash = 10000,
  balances = { BTC = 0 },

  -- Fees in basis points of the notional (1 bp = 0.01 %).
  fees = { maker = 2, taker = 5 },

  -- Tick mode only (bar data has no latency). Milliseconds: a number is a
  -- constant; a table draws each value from a distribution with the seed.
  latency = {
    order = 1,                                        -- strategy -> venue
    response = { dist = "normal", mean = 2, sd = 0.5 },  -- venue -> strategy (acks, fills)
    feed = 0,                                         -- market data -> strategy
  },
  queue_model = "conservative",          -- or "optimistic" (front of the queue)
  seed = 1,                              -- same seed, same data: same fills

  -- Spot by default: no selling what is not held. margin = true allows short
  -- positions and leverage up to `leverage`.
  margin = false,
  leverage = 1,

  -- Sharpe and Sortino are annualised from daily returns over this many
  -- periods (365 for markets open every day, 252 for stock exchanges).
  periods_per_year = 365,

  -- The pre-trade risk gates, in quote units unless said; 0 or absent: no
  -- limit. A refused order returns nil, "risk: <gate>: <detail>" to ctx:buy.
  risk = {
    max_order_notional = 20000,
    max_open_orders = 10,
    orders_per_second = 20,
    max_daily_loss = 2000,
  },

  -- Params for the strategy run, found by name (the script's file stem, or
  -- --name) or by script path; they override the script's own defaults and
  -- are overridden by -p key=value.
  strategies = {
    { name = "sma_cross", script = "scripts/sma_cross.lua",
      params = { fast = 10, slow = 30 } },
  },
}
