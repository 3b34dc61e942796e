-- For t/run_binance_orders.c: one scenario of the Binance connector's
-- behaviour (params.scenario), seen from a strategy. Every handler call is
-- written to the file params.log, one line each, for the test to read:
--
--   start
--   status <state> <reason>
--   book <synced> <bids> <asks>        scenario "book": the whole book after
--                                      each message, levels "price:qty" joined
--                                      by ",", "-" for an empty side
--   sent <tag> <id> | refused <tag> <reason>   an order sent, or refused at once
--   order <id> <status> <filled> <reason>
--   fill <order_id> <qty> <price> <liquidity>
--   silent <tag> <id>                  scenario "reject": no answer in wait_ms
--   done                               the scenario sent all it had to
--
-- Scenarios:
--   book        nothing but listening; when the venue goes disconnected, one
--               buy that the engine must refuse (tag "notready")
--   orders      a limit buy larger than the ask it crosses ("partial"), then,
--               once that one has filled, a resting buy ("rest") cancelled as
--               soon as it is new
--   reject      params.count limit buys one after the other ("1", "2", ...),
--               each sent once the last was answered, or after wait_ms
--   disconnect  two resting buys at the same price ("full", then "partial")
--   user_down   the same two
--   burst       params.count resting buys at once ("1", "2", ...)
local S = { params = { log = "", scenario = "", symbol = "BTCUSDT",
                       qty = 0.001, rest_price = 59000,
                       cross_price = 60001, cross_qty = 0.015,
                       low_price = 50000, count = 0, wait_ms = 1000 } }

local out
local ready_seen = false
local tags = {}        -- order id -> tag
local ids = {}         -- tag -> order id

local function say(fmt, ...)
  out = out or assert(io.open(S.params.log, "a"))
  out:write(string.format(fmt, ...), "\n")
  out:flush()
end

local function limit_buy(ctx, tag, price, qty)
  local id, why = ctx:buy{ symbol = ctx.params.symbol, qty = qty or ctx.params.qty,
                           price = price, type = "limit" }
  if id then
    tags[id], ids[tag] = tag, id
    say("sent %s %s", tag, id)
  else
    say("refused %s %s", tag, tostring(why))
  end
  return id
end

-- ---- book ----

local function side_text(book, get)
  local levels, i = {}, 1
  while true do
    local p, q = get(book, i)
    if not p then break end
    levels[i] = string.format("%.2f:%.5f", p, q)
    i = i + 1
  end
  return #levels > 0 and table.concat(levels, ",") or "-"
end

-- ---- reject: one order after the other ----

local next_tag, pending, pending_timer = 1, nil, nil

local function send_next(ctx)
  if pending_timer then pending_timer:cancel() end
  pending, pending_timer = nil, nil
  if next_tag > ctx.params.count then
    say("done")
    return
  end
  local tag = tostring(next_tag)
  next_tag = next_tag + 1
  pending = limit_buy(ctx, tag, ctx.params.rest_price)
  if not pending then return send_next(ctx) end
  local id = pending
  pending_timer = ctx:after(ctx.params.wait_ms, function(c)
    if pending ~= id then return end
    pending_timer = nil
    say("silent %s %s", tag, id)
    send_next(c)
  end)
end

-- ---- The scenarios' first move, once the account can trade ----

local function two_resting_buys(ctx)
  limit_buy(ctx, "full", ctx.params.rest_price)
  limit_buy(ctx, "partial", ctx.params.rest_price, 3 * ctx.params.qty)
  say("done")
end

local first_moves = {
  orders = function(ctx)
    limit_buy(ctx, "partial", ctx.params.cross_price, ctx.params.cross_qty)
  end,
  reject = send_next,
  disconnect = two_resting_buys,
  user_down = two_resting_buys,
  burst = function(ctx)
    for i = 1, ctx.params.count do
      limit_buy(ctx, tostring(i), ctx.params.low_price)
    end
    say("done")
  end,
}

-- Trade once the book is synced and the venue's balances are in (they are
-- fetched as the venue goes ready), so the risk checks see the account.
local function try_first_move(ctx, timer)
  local book = ctx:book(ctx.params.symbol)
  if not (book and book:synced() and book:best_ask()) then return end
  if ctx:balance("USDT") <= 0 then return end
  timer:cancel()
  first_moves[ctx.params.scenario](ctx)
end

function S.on_start(ctx)
  say("start")
end

function S.on_status(ctx, s)
  say("status %s %s", s.state, tostring(s.reason or ""))
  if s.state == "ready" and not ready_seen then
    ready_seen = true
    if first_moves[ctx.params.scenario] then ctx:every(50, try_first_move) end
  end
  if ctx.params.scenario == "book" and s.state == "disconnected" and not ids.notready then
    ids.notready = limit_buy(ctx, "notready", ctx.params.rest_price) or "none"
  end
end

function S.on_book(ctx, book)
  if ctx.params.scenario ~= "book" then return end
  say("book %s %s %s", tostring(book:synced()), side_text(book, book.bid),
      side_text(book, book.ask))
end

function S.on_order(ctx, o)
  say("order %s %s %.5f %s", o.id, o.status, o.filled, tostring(o.reason or ""))
  local tag = tags[o.id]
  if ctx.params.scenario == "orders" then
    if tag == "partial" and o.status == "filled" then
      limit_buy(ctx, "rest", ctx.params.rest_price)
    elseif tag == "rest" and o.status == "new" then
      local done, why = ctx:cancel(o.id)
      say("cancel %s %s", o.id, done and "sent" or tostring(why))
    elseif tag == "rest" and o.status == "canceled" then
      say("done")
    end
  elseif ctx.params.scenario == "reject" and o.id == pending then
    send_next(ctx)
  end
end

function S.on_fill(ctx, f)
  say("fill %s %.5f %.2f %s", f.order_id, f.qty, f.price, f.liquidity)
end

function S.on_stop(ctx)
  if out then out:close() end
  out = nil
end

return S
