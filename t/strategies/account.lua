-- Positions, balances, open orders, cancels and rounding, asked in on_start
-- and on_bar.
local S = {}

local function f(...)
  local t = {}
  for i = 1, select("#", ...) do t[#t + 1] = tostring((select(i, ...))) end
  return table.concat(t, ",")
end

function S.on_start(ctx)
  ctx:log("info", "position %s", f(ctx:position("BTCUSDT")))
  ctx:log("info", "balance %s", f(ctx:balance("USDT")))
  ctx:log("info", "round_price %s %s %s", ctx:round_price("BTCUSDT", 61837.634),
          ctx:round_price("BTCUSDT", 61837.635001), ctx:round_price("BTCUSDT", 100))
  ctx:log("info", "round_qty %s %s %s", ctx:round_qty("BTCUSDT", 0.123456789),
          ctx:round_qty("BTCUSDT", 0.3), ctx:round_qty("BTCUSDT", 0.000009))
  ctx:log("info", "now %s", string.format("%.3f", ctx:now()))
  local a = ctx:buy{ symbol = "BTCUSDT", qty = 0.01, price = 60000, tag = "a" }
  local b = ctx:buy{ symbol = "ETHUSDT", qty = 0.1, price = 3000 }
  ctx:log("info", "ids %s %s", tostring(a), tostring(b))
  local oo = ctx:open_orders()
  ctx:log("info", "open %d first=%s %s %s %s %s %s %s %s", #oo, oo[1].id, oo[1].symbol, oo[1].side,
          oo[1].type, oo[1].status, tostring(oo[1].price), tostring(oo[1].qty), tostring(oo[1].tag))
  ctx:log("info", "open eth %d", #ctx:open_orders("ETHUSDT"))
  ctx:log("info", "balance after %s", f(ctx:balance("USDT")))
  ctx:log("info", "cancel %s", f(ctx:cancel(a)))
  ctx:log("info", "cancel unknown %s", f(ctx:cancel("nope")))
  ctx:log("info", "cancel_all %s", f(ctx:cancel_all()))
  ctx:log("info", "subscribe %s", f(ctx:subscribe{ symbol = "ETHUSDT", bars = "5m" }))
  ctx:log("info", "subscribe2 %s", f(ctx:subscribe{ symbol = "BTCUSDT" }))
  ctx:log("info", "eth book %s", tostring(ctx:book("ETHUSDT")))
  ctx:metric("open", #ctx:open_orders())
end

function S.on_bar(ctx, bar)
  ctx:log("info", "position %s", f(ctx:position("BTCUSDT")))
end

return S
