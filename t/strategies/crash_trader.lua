-- For t/crash.t: trades without a pause against the mock Binance exchange,
-- so that a kill at any instant finds orders in every state. A timer keeps
-- a few limit orders at the touch: resting ones (filled, often in parts,
-- when the market prints there), now and then one across it (filled at
-- once) or an IOC that takes nothing (expired); it cancels the oldest when
-- more than params.keep are open. An order that would cross one of ours
-- (the self-trade gate refuses it) cancels that one first. At most one
-- order or cancel every params.gap ms keeps the rate under Binance's 100
-- orders per 10 s.
--
-- ctx.state.placed counts the orders placed and ctx.state.last names the
-- latest; both change in the handler that places the order, so the store
-- commits them in the batch that holds it: after any kill they must match
-- the store's orders.
--
-- params.trade = false places and cancels nothing (the test's check runs).
-- The lines the test reads:
--   crash-trader start placed=<n> last=<id>
--   crash-trader ready
local S = { params = { symbol = "BTCUSDT", qty = 0.0002, trade = true, every = 30, gap = 110,
                       keep = 3 } }

-- Taken in turn: where an order goes, whether it rests or takes, and its
-- size in params.qty. The market prints 0.001 at a time: resting orders
-- larger than that fill in parts.
local KINDS = {
  { side = "buy", at = "bid", tif = "gtc", size = 7 },   -- rests at the bid
  { side = "sell", at = "ask", tif = "gtc", size = 13 }, -- rests at the ask
  { side = "buy", at = "ask", tif = "ioc", size = 1 },   -- takes the ask
  { side = "sell", at = "bid", tif = "gtc", size = 1 },  -- takes the bid, rests what is left
  { side = "sell", at = "ask", tif = "ioc", size = 1 },  -- finds nothing to take: expires
}

local turn, last_action, ticking = 0, -math.huge, false

local function say(ctx, fmt, ...) ctx:log("info", "crash-trader " .. fmt, ...) end

local function cancelable(o)
  return o.status == "new" or o.status == "partially_filled"
end

-- Our open order that an order of side at price would trade with.
local function in_the_way(open, side, price)
  for _, o in ipairs(open) do
    if o.side ~= side and o.price
       and ((side == "buy" and o.price <= price) or (side == "sell" and o.price >= price)) then
      return o
    end
  end
end

local function cancel(ctx, o)
  if not cancelable(o) then return false end
  local done, why = ctx:cancel(o.id)
  if done then
    say(ctx, "cancel %s", o.id)
  else
    say(ctx, "cancel of %s refused: %s", o.id, tostring(why))
  end
  return done
end

local function cancel_oldest(ctx, open)
  for _, o in ipairs(open) do
    if cancelable(o) then return cancel(ctx, o) end
  end
  return false
end

local function place(ctx, open, bid, ask)
  local kind = KINDS[turn % #KINDS + 1]
  local price = kind.at == "bid" and bid or ask
  local other = in_the_way(open, kind.side, price)
  if other then return cancel(ctx, other) end
  turn = turn + 1
  local send = kind.side == "buy" and ctx.buy or ctx.sell
  local id, why = send(ctx, { symbol = ctx.params.symbol, qty = ctx.params.qty * kind.size,
                              price = price, tif = kind.tif })
  if not id then
    say(ctx, "refused %s %.2f: %s", kind.side, price, tostring(why))
    return false
  end
  ctx.state.placed = (ctx.state.placed or 0) + 1
  ctx.state.last = id
  say(ctx, "placed %s %s %.2f %s", id, kind.side, price, kind.tif)
  return true
end

local function tick(ctx)
  local book = ctx:book(ctx.params.symbol)
  if not (book and book:synced()) then return end
  local bid, ask = book:best_bid(), book:best_ask()
  local now = ctx:now()
  if not (bid and ask) or now - last_action < ctx.params.gap then return end
  local open = ctx:open_orders(ctx.params.symbol)
  local acted
  if #open > ctx.params.keep then
    acted = cancel_oldest(ctx, open)
  else
    acted = place(ctx, open, bid, ask)
  end
  if acted then last_action = now end
end

function S.on_start(ctx)
  say(ctx, "start placed=%d last=%s", ctx.state.placed or 0, tostring(ctx.state.last))
end

function S.on_status(ctx, s)
  if s.state ~= "ready" then return end
  say(ctx, "ready")
  if ctx.params.trade and not ticking then
    ticking = true
    ctx:every(ctx.params.every, tick)
  end
end

function S.on_order(ctx, o)
  say(ctx, "order %s %s %.5f %s", o.id, o.status, o.filled, o.reason or "")
end

function S.on_fill(ctx, f)
  say(ctx, "fill %s %s %.5f %.2f", f.order_id, f.side, f.qty, f.price)
end

return S
