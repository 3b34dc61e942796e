-- For t/run_binance.c: trades once its venue is ready and writes every
-- handler call to the file params.log, one line each, for the test to read.
--
--   status <venue> <state>
--   book <n> <synced> <bid> <ask>     the first synced book with both sides
--   market <id> | rest <id>            the orders sent (or "nil <why>")
--   order <id> <status> <filled>
--   fill <order_id> <qty>
--   traded                             the market order filled, the rest one new
--   stop books=<n> open=<n> <id> ...   on_stop, with the orders still open
local S = { params = { log = "", qty = 0.001, above = 1000 } }

local out
local books, book_logged = 0, false
local market_id, rest_id
local market_filled, rest_new, traded = false, false, false

-- Opened at the first call.
local function say(fmt, ...)
  out = out or assert(io.open(S.params.log, "a"))
  out:write(string.format(fmt, ...), "\n")
  out:flush()
end

local function check_traded()
  if traded or not (market_filled and rest_new) then return end
  traded = true
  say("traded")
end

-- Order once the book is synced and the venue's balances are in (they are
-- fetched as the venue goes ready), so the risk checks see the account.
local function try_orders(ctx, timer)
  local book = ctx:book("BTCUSDT")
  if not (book and book:synced() and book:best_ask()) then return end
  if ctx:balance("USDT") <= 0 or ctx:balance("BTC") <= 0 then return end
  timer:cancel()
  local ask = book:best_ask()
  local id, why = ctx:buy{ symbol = "BTCUSDT", qty = ctx.params.qty }
  market_id = id
  say("market %s %s", tostring(id), tostring(why or ""))
  id, why = ctx:sell{ symbol = "BTCUSDT", qty = ctx.params.qty,
                      price = ctx:round_price("BTCUSDT", ask + ctx.params.above) }
  rest_id = id
  say("rest %s %s", tostring(id), tostring(why or ""))
end

function S.on_start(ctx)
  say("start")
end

function S.on_status(ctx, s)
  say("status %s %s", s.venue, s.state)
  if s.state == "ready" and not S.started then
    S.started = true
    ctx:every(50, try_orders)
  end
end

function S.on_book(ctx, book)
  books = books + 1
  local bid, ask = book:best_bid(), book:best_ask()
  if not book_logged and book:synced() and bid and ask then
    book_logged = true
    say("book %d %s %.2f %.2f", books, tostring(book:synced()), bid, ask)
  end
end

function S.on_order(ctx, o)
  say("order %s %s %.5f", o.id, o.status, o.filled)
  if o.id == market_id and o.status == "filled" then market_filled = true end
  if o.id == rest_id and o.status == "new" then rest_new = true end
  check_traded()
end

function S.on_fill(ctx, f)
  say("fill %s %.5f", f.order_id, f.qty)
end

function S.on_stop(ctx)
  local open = ctx:open_orders()
  local ids = {}
  for i, o in ipairs(open) do ids[i] = o.id end
  say("stop books=%d open=%d %s", books, #open, table.concat(ids, " "))
  out:close()
  out = nil
end

return S
