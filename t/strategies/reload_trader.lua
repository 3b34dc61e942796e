-- For t/reload_plugin.t: trades through connector reloads. Once its venue
-- is ready it places a limit buy at params.price every params.every ms,
-- params.total in all, and keeps params.keep of them resting: each order
-- that rests beyond that makes it cancel the oldest resting one. It logs
-- every step for the test to read:
--
--   reload-trader placed <id> <why>
--   reload-trader order <id> <status> <reason>
--   reload-trader status <state> <reason>
--   reload-trader done placed=<n>
local S = { params = { price = 59000, qty = 0.001, every = 50, keep = 3, total = 60 } }

local function say(ctx, fmt, ...) ctx:log("info", "reload-trader " .. fmt, ...) end

local resting = {}
local placed, ticking = 0, false

local function tick(ctx, timer)
  if placed >= ctx.params.total then
    timer:cancel()
    say(ctx, "done placed=%d", placed)
    return
  end
  if ctx:balance("USDT") <= 0 then return end
  local id, why = ctx:buy{ symbol = "BTCUSDT", qty = ctx.params.qty, price = ctx.params.price }
  placed = placed + 1
  say(ctx, "placed %s %s", tostring(id), tostring(why or ""))
end

function S.on_status(ctx, s)
  say(ctx, "status %s %s", s.state, s.reason or "")
  if s.state == "ready" and not ticking then
    ticking = true
    ctx:every(ctx.params.every, tick)
  end
end

function S.on_order(ctx, o)
  say(ctx, "order %s %s %s", o.id, o.status, o.reason or "")
  if o.status ~= "new" then return end
  resting[#resting + 1] = o.id
  if #resting > ctx.params.keep then
    ctx:cancel(table.remove(resting, 1))
  end
end

return S
