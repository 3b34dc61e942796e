-- For t/paper_replay.t: a small market maker that must decide the same in a
-- paper session and in the backtest of that session's recording. It quotes
-- one limit order a side at the touch, cancels a quote the touch moved away
-- from, pulls a quote when a big trade comes at it, and rests a side for
-- pause_ms after it filled (a timer started from a handler). Every decision
-- and every answer of the venue is one log line, which the test compares:
--
--   decide n=<k> side=<buy|sell> price=<p> qty=<q> at=<ms> [refused="<why>"]
--   cancel n=<k> why=<away|trade> at=<ms>
--   order n=<k> status=<status> filled=<q> at=<ms>
--   fill n=<k> side=<side> price=<p> qty=<q> liq=<maker|taker> fee=<f> at=<ms>
--   resume side=<side> at=<ms>
--   stop at=<ms>                        (on_stop: a paper session stops on a
--                                        signal, a backtest at the data's end)
--
-- n numbers the strategy's own orders 1, 2, ...; at is ctx:now().
local S = { params = { symbol = "BTCUSDT", qty = 0.001, away = 0.05, big = 0.1,
                       pause_ms = 150 } }

local count = 0
local mine = {}                            -- order id -> { id, n, side, price }
local open = {}                            -- side -> its open quote
local paused = { buy = false, sell = false }
local synced_at                            -- receive time of the book's last sync
local done = { filled = true, canceled = true, rejected = true, expired = true }

local function at(ctx)
  return string.format("%.6f", ctx:now())
end

local function cancel(ctx, o, why)
  if o.canceling then return end
  o.canceling = true
  ctx:log("info", "cancel n=%d why=%s at=%s", o.n, why, at(ctx))
  ctx:cancel(o.id)
end

local function quote(ctx, side, touch)
  local o = open[side]
  if o then
    if math.abs(o.price - touch) > ctx.params.away + 1e-9 then cancel(ctx, o, "away") end
    return
  end
  if paused[side] then return end
  count = count + 1
  local req = { symbol = ctx.params.symbol, qty = ctx.params.qty, price = touch }
  local id, why
  if side == "buy" then id, why = ctx:buy(req) else id, why = ctx:sell(req) end
  ctx:log("info", "decide n=%d side=%s price=%.2f qty=%.5f at=%s%s", count, side, touch,
          ctx.params.qty, at(ctx), id and "" or string.format(' refused="%s"', tostring(why)))
  if id then
    o = { id = id, n = count, side = side, price = touch }
    mine[id] = o
    open[side] = o
  end
end

function S.on_book(ctx, book)
  if book.symbol ~= ctx.params.symbol then return end
  -- A snapshot that (re)synchronises the book comes with the diffs buffered
  -- while waiting for it, all at the snapshot's receive time, and a paper
  -- venue turns ready only after them (a backtest has no venue state): act
  -- from the first message received after that moment.
  if not book:synced() then
    synced_at = nil
    return
  end
  synced_at = synced_at or book.ts
  local bid, ask = book:best_bid(), book:best_ask()
  if book.ts <= synced_at or not (bid and ask) then return end
  quote(ctx, "buy", bid)
  quote(ctx, "sell", ask)
end

-- The book lost its synchronisation (or, in paper, the venue is not ready):
-- wait for the next sync. Paper sessions also hear the connector's own
-- states here, which a backtest does not: they only ever reset.
function S.on_status(ctx, s)
  if s.state ~= "ready" then synced_at = nil end
end

function S.on_trade(ctx, t)
  if t.symbol ~= ctx.params.symbol or t.qty < ctx.params.big then return end
  -- A big seller hits the bids: pull ours (a big buyer: our ask).
  local o = open[t.side == "sell" and "buy" or "sell"]
  if o then cancel(ctx, o, "trade") end
end

function S.on_order(ctx, o)
  local q = mine[o.id]
  if not q then return end
  ctx:log("info", "order n=%d status=%s filled=%.5f at=%s", q.n, o.status, o.filled, at(ctx))
  if done[o.status] and open[q.side] == q then open[q.side] = nil end
end

function S.on_fill(ctx, f)
  local q = mine[f.order_id]
  if not q then return end
  ctx:log("info", "fill n=%d side=%s price=%.2f qty=%.5f liq=%s fee=%.8f at=%s", q.n, f.side,
          f.price, f.qty, f.liquidity, f.fee, at(ctx))
  if paused[q.side] then return end
  paused[q.side] = true
  ctx:after(ctx.params.pause_ms, function(ctx)
    paused[q.side] = false
    ctx:log("info", "resume side=%s at=%s", q.side, at(ctx))
  end)
end

function S.on_stop(ctx)
  ctx:log("info", "stop at=%s", at(ctx))
end

return S
