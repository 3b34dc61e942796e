-- etc/paper.lua -- an example configuration for paper trading: live market
-- data from the venue, orders filled by the backtest's simulated venue (same
-- fill, queue and latency models) on the wall clock. No API keys needed.
--
--   lutra run --config etc/paper.lua
--
-- Every key: docs/configuration.md. The sandbox and the checks are those of
-- etc/live.lua.

return {
  mode = "paper",
  state_dir = "var/paper",
  cancel_on_stop = true,
  log = { level = "info" },

  venues = {
    binance = {
      connector = "binance",
      rest_url = "https://api.binance.com",
      ws_url = "wss://stream.binance.com:9443",
      symbols = { "BTCUSDT" },
    },
  },

  -- The simulated account and venue.
  cash = 10000,                          -- USDT
  balances = { BTC = 0.1 },
  fees = { maker = 1, taker = 1 },       -- basis points
  latency = {
    order = { dist = "exponential", mean = 5 },   -- ms, on top of the real feed's delay
    response = { dist = "uniform", min = 1, max = 3 },
  },
  queue_model = "conservative",
  seed = 7,

  risk = {
    max_order_notional = 500,
    max_position = { BTCUSDT = 0.2 },
    max_open_orders = 10,
    orders_per_second = 5,
    max_daily_loss = 100,
  },

  strategies = {
    { name = "obi", script = "scripts/obi.lua", venue = "binance",
      params = { symbol = "BTCUSDT", qty = 0.001 } },
  },
}
