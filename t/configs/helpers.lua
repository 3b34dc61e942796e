-- A config may compute: locals, functions, string, table and math.
local symbols = { "BTCUSDT", "ETHUSDT", "SOLUSDT" }
local function limits(per_symbol)
  local t = {}
  for _, s in ipairs(symbols) do t[s] = per_symbol end
  return t
end
return {
  risk = { max_position = limits(0.25), max_order_notional = math.floor(1234.9) },
  balances = { [string.upper("btc")] = 2 },
  strategies = {
    { name = string.format("mm-%d", 1), params = { symbols = table.concat(symbols, ",") } },
  },
}
