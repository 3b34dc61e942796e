-- For t/restart.t: one order per run (params.action "rest": a limit buy at
-- params.price; "market": a market buy; "cancel": cancel the last order
-- placed, ctx.state.last; "none": nothing), ctx.state
-- counting the starts and naming the last order, and a log line for every
-- handler the test reads:
--
--   restart-probe start starts=<n> last=<id>
--   restart-probe placed <id> <why>
--   restart-probe cancelling <id> <why>
--   restart-probe order <id> <status> <filled> <reason>
--   restart-probe fill <order_id> <qty> <price>
--   restart-probe status <state>
local S = { params = { action = "none", price = 59000, qty = 0.001 } }

local function say(ctx, fmt, ...) ctx:log("info", "restart-probe " .. fmt, ...) end

function S.on_start(ctx)
  ctx.state.starts = (ctx.state.starts or 0) + 1
  say(ctx, "start starts=%d last=%s", ctx.state.starts, tostring(ctx.state.last))
end

local acted, ticking = false, false

local function act(ctx, timer)
  local book = ctx:book("BTCUSDT")
  if acted or not (book and book:synced() and book:best_ask()) then return end
  if ctx:balance("USDT") <= 0 then return end
  acted = true
  timer:cancel()
  if ctx.params.action == "cancel" then
    local ok, why = ctx:cancel(ctx.state.last)
    say(ctx, "cancelling %s %s", tostring(ctx.state.last), tostring(why or ""))
    return
  end
  local order = { symbol = "BTCUSDT", qty = ctx.params.qty }
  if ctx.params.action == "rest" then order.price = ctx.params.price end
  local id, why = ctx:buy(order)
  ctx.state.last = id
  say(ctx, "placed %s %s", tostring(id), tostring(why or ""))
end

function S.on_status(ctx, s)
  say(ctx, "status %s", s.state)
  if s.state == "ready" and ctx.params.action ~= "none" and not ticking then
    ticking = true
    ctx:every(50, act)
  end
end

function S.on_order(ctx, o)
  say(ctx, "order %s %s %.5f %s", o.id, o.status, o.filled, o.reason or "")
end

function S.on_fill(ctx, f)
  say(ctx, "fill %s %.5f %.2f", f.order_id, f.qty, f.price)
end

return S
