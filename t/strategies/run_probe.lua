-- For t/live.c: orders once its venue is ready, and logs what it hears
-- (strategies start once the venue is ready and reconciled: the first
-- status heard is "ready").
local S = {}
local sent = false

local function say(ctx, fmt, ...) ctx:log("info", "probe-strategy " .. fmt, ...) end

local heard = false

function S.on_status(ctx, s)
  say(ctx, "status %s %s", s.venue, s.state)
  if not heard then
    heard = true
    say(ctx, "first status %s", s.state)
  end
  if s.state ~= "ready" or sent then return end
  sent = true
  -- The venue's balances are being fetched: order a little later.
  ctx:after(200, function(ctx)
    say(ctx, "ioc %s", tostring(ctx:buy{ symbol = "BTCUSDT", qty = 0.001, price = 100, tif = "ioc" }))
    say(ctx, "rest %s", tostring(ctx:buy{ symbol = "BTCUSDT", qty = 0.001, price = 99 }))
  end)
end

function S.on_order(ctx, o) say(ctx, "order %s %s", o.id, o.status) end
function S.on_fill(ctx, f) say(ctx, "fill %s %.3f@%.2f %s", f.order_id, f.qty, f.price, f.liquidity) end
function S.on_stop(ctx) say(ctx, "on_stop ran") end

return S
