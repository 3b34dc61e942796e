-- The host reports the order while ctx:buy is still running: on_order runs
-- inside on_bar, and on_bar goes on afterwards.
local S = {}

function S.on_bar(ctx, bar)
  local id = ctx:buy{ symbol = "BTCUSDT", qty = 0.001, price = 100.5 }
  ctx:log("info", "bought %s, on_order saw %s", tostring(id), tostring(ctx.state.seen))
end

function S.on_order(ctx, o)
  ctx.state.seen = o.id .. ":" .. o.status
  ctx:log("info", "order %s %s", o.id, o.status)
end

return S
