-- etc/live.lua -- an example configuration for trading live:
--
--   BINANCE_API_KEY=... BINANCE_API_SECRET=... lutra run --config etc/live.lua
--
-- A configuration file is Lua returning one table, run in a sandbox (string,
-- table, math and the basic functions; no os, io or require) and checked
-- before anything connects: an unknown key, a wrong type or a venue without
-- its keys is an error naming the key. Every key: docs/configuration.md.
--
-- Secrets are named here, never written here: { env = "NAME" } reads an
-- environment variable, { file = "path" } a file only its owner may read
-- (chmod 600). A plain string is refused, and no message, log line or report
-- ever shows a secret's value.

return {
  mode = "live",                         -- "live" | "paper" (etc/paper.lua)
  state_dir = "var/state",               -- orders, fills, positions, strategy state
  -- For the lowest latency (docs/operations.md, "Spinning"): state_dir on
  -- tmpfs, state_writemap = true, and the venue's ws_spin_us on a core of
  -- the engine's own. state_writemap trades LMDB's protection against stray
  -- writes for a cheaper commit: docs/state.md.
  state_writemap = false,
  cancel_on_stop = true,                 -- cancel open orders on a clean stop
  log = { level = "info", format = "logfmt" },   -- format "json": one object a line

  -- Folders searched for connectors (NAME.so) before $LUTRA_PLUGIN_PATH and
  -- the plugins folder beside the lutra binary.
  plugin_path = { "plugins" },

  venues = {
    binance = {
      connector = "binance",             -- binance.so, or a path to a .so
      rest_url = "https://api.binance.com",
      ws_url = "wss://stream.binance.com:9443",
      api_key = { env = "BINANCE_API_KEY" },
      api_secret = { env = "BINANCE_API_SECRET" },   -- or { file = "etc/binance.secret" }
      symbols = { "BTCUSDT", "ETHUSDT" },            -- the market data to follow
    },
  },

  -- Pre-trade risk gates, checked in this order for every order; 0 or absent:
  -- no limit. Quantities in base units, notionals and losses in quote units.
  risk = {
    max_order_qty = 0.05,
    max_order_notional = 1000,
    price_band_pct = 5,                  -- limit price within 5 % of the reference
    max_position = { BTCUSDT = 0.5, ETHUSDT = 5 },
    max_gross_exposure = 20000,
    max_open_orders = 20,
    orders_per_second = 10,              -- token bucket, below the exchange's limits
    max_daily_loss = 200,                -- trips the kill switch (UTC day)
  },

  strategies = {
    { name = "mm", script = "scripts/market_maker.lua", venue = "binance",
      params = { symbol = "BTCUSDT", qty = 0.001 } },
  },
}
