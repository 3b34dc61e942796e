local VERSION, BELOW = 1, 2000
-- For t/reload_strategy.c, which rewrites the line above (and breaks this
-- file on purpose) while the strategy trades. Each instance writes to the
-- file params.log, one line per event the test checks:
--
--   start <gen>                       on_start (gen: ctx.state.reloads)
--   reload <gen> version=<v> tag=<t> below=<b> books=<n>
--   timer <gen>                       the instance's ctx:every, every 10 ms
--   buy <id> <why>                    the order on_reload places every
--                                     trade_every reloads (nil <why>)
--   order <id> <status>
--   stop <gen> books=<n> trades=<n> reloads=<n>
--
-- ctx.state counts books, trades and reloads: it must survive every reload.
local S = { params = { log = "", qty = 0.001, tag = "file", below = BELOW, trade_every = 1 } }

local out
local gen

local function say(fmt, ...)
  out = out or assert(io.open(S.params.log, "a"))
  out:write(string.format(fmt, ...), "\n")
  out:flush()
end

local function tick(ctx, timer)
  say("timer %d", gen)
end

-- A resting buy far below the market; the older ones are cancelled but the
-- newest two, so orders are open, sent and cancelled across the reloads.
local function trade(ctx)
  local book = ctx:book("BTCUSDT")
  if not (book and book:synced() and book:best_bid()) then return end
  local open = ctx:open_orders("BTCUSDT")
  for i = 1, #open - 2 do
    if open[i].status == "new" then ctx:cancel(open[i].id) end
  end
  local price = ctx:round_price("BTCUSDT", book:best_bid() - ctx.params.below)
  local id, why = ctx:buy{ symbol = "BTCUSDT", qty = ctx.params.qty, price = price }
  say("buy %s %s", tostring(id), tostring(why or ""))
end

function S.on_start(ctx)
  ctx.state.books = ctx.state.books or 0
  ctx.state.trades = ctx.state.trades or 0
  ctx.state.reloads = ctx.state.reloads or 0
  gen = ctx.state.reloads
  say("start %d", gen)
  ctx:every(10, tick)
end

function S.on_reload(ctx)
  ctx.state.reloads = ctx.state.reloads + 1
  gen = ctx.state.reloads
  say("reload %d version=%s tag=%s below=%s books=%d", gen, VERSION, ctx.params.tag,
      tostring(ctx.params.below), ctx.state.books)
  ctx:every(10, tick)
  if gen % ctx.params.trade_every == 0 then trade(ctx) end
end

function S.on_book(ctx, book)
  ctx.state.books = ctx.state.books + 1
end

function S.on_trade(ctx, t)
  ctx.state.trades = ctx.state.trades + 1
end

function S.on_order(ctx, o)
  say("order %s %s", o.id, o.status)
end

function S.on_stop(ctx)
  say("stop %d books=%d trades=%d reloads=%d", gen, ctx.state.books, ctx.state.trades,
      ctx.state.reloads)
end

return S
