-- Logs the fields of every event it hears; keeps a count in ctx.state.
local S = {}

function S.on_start(ctx)
  ctx.state.events = 0
end

local function count(ctx)
  ctx.state.events = ctx.state.events + 1
  return ctx.state.events
end

function S.on_trade(ctx, t)
  ctx:log("info", "trade %d %s ts=%.3f price=%s qty=%s side=%s", count(ctx), t.symbol, t.ts,
          tostring(t.price), tostring(t.qty), tostring(t.side))
end

function S.on_bar(ctx, b)
  ctx:log("info", "bar %d %s ts=%.0f o=%s h=%s l=%s c=%s v=%s interval=%s", count(ctx), b.symbol,
          b.ts, tostring(b.open), tostring(b.high), tostring(b.low), tostring(b.close),
          tostring(b.volume), tostring(b.interval))
end

local last_order
function S.on_order(ctx, o)
  ctx:log("info", "order %d %s %s %s %s %s price=%s qty=%s filled=%s avg=%s tag=%s reason=%s same=%s",
          count(ctx), o.id, o.symbol, o.side, o.type, o.status, tostring(o.price), tostring(o.qty),
          tostring(o.filled), tostring(o.avg_price), tostring(o.tag), tostring(o.reason),
          tostring(o == last_order))
  last_order = o
end

function S.on_fill(ctx, f)
  ctx:log("info", "fill %d %s %s %s price=%s qty=%s fee=%s %s %s", count(ctx), f.order_id, f.symbol,
          f.side, tostring(f.price), tostring(f.qty), tostring(f.fee), tostring(f.fee_asset),
          f.liquidity)
end

function S.on_status(ctx, s)
  ctx:log("info", "status %d %s %s %s", count(ctx), s.venue, s.state, tostring(s.reason))
end

function S.on_stop(ctx)
  ctx:log("info", "stop after %d events", ctx.state.events)
end

return S
