-- Every key of docs/configuration.md set to something other than its
-- default; t/config.c checks each lands in the right field.
return {
  mode = "paper",
  state_dir = "/tmp/lutra-state",
  cancel_on_stop = false,
  log = { level = "debug", format = "json" },
  plugin_path = { "/opt/lutra/plugins", "build/plugins" },
  venues = {
    binance = {
      connector = "binance",
      rest_url = "http://127.0.0.1:8080",
      ws_url = "ws://127.0.0.1:8081",
      api_key = { env = "TEST_BINANCE_KEY" },
      api_secret = { file = "t/configs/no-such.secret" },
      symbols = { "BTCUSDT", "ETHUSDT" },
    },
    mock = { symbols = { "XYZUSD" } },
  },
  risk = {
    max_order_qty = 2,
    max_order_notional = 1000,
    price_band_pct = 5,
    max_position = { BTCUSDT = 0.5, ETHUSDT = 4 },
    max_gross_exposure = 5000,
    max_open_orders = 20,
    orders_per_second = 10,
    max_daily_loss = 200,
  },
  strategies = {
    { name = "mm", script = "scripts/market_maker.lua", venue = "binance",
      params = { symbol = "BTCUSDT", qty = 0.001, post_only = true } },
    { name = "obi", script = "scripts/obi.lua", venue = "mock" },
  },
  cash = 25000,
  balances = { BTC = 1.5, ETH = 10 },
  fees = { maker = 1, taker = 4.5 },
  latency = {
    order = 2,
    response = { dist = "normal", mean = 3, sd = 0.5 },
    feed = { dist = "uniform", min = 1, max = 4 },
  },
  queue_model = "optimistic",
  seed = 42,
  margin = true,
  leverage = 3,
  periods_per_year = 252,
}
