--[[
obi.lua -- order-book imbalance (tick data).

Reads the top `levels` levels of each side once per book message and computes

  imbalance = (bid qty - ask qty) / (bid qty + ask qty)      in [-1, 1]

A strong bid side (imbalance > threshold) is read as buying pressure: buy
`qty` at market; a strong ask side (imbalance < -threshold): sell `qty` at
market. After each order the strategy waits `cooldown_ms`, never has more
than one order in flight, and keeps its inventory (what it bought less what
it sold, from its fills, in ctx.state.inventory) within +/- max_position.

Params (defaults):
  symbol       = "BTCUSDT"
  levels       = 5       book levels summed on each side
  threshold    = 0.6     |imbalance| that triggers an order
  qty          = 0.001   size of each order
  cooldown_ms  = 5000    quiet time after an order
  max_position = 0.005   inventory limit, base units, each side

Data: L2 book data. On spot a sell needs base asset held: start with some, e.g.

  lutra backtest scripts/obi.lua --data btcusdt_20240808.gz --balance BTC=1

Limits: takes liquidity every time (pays the taker fee and the spread); a
signal, not a strategy: no exit rule but the opposite signal.
]]

local S = {
    params = { symbol = "BTCUSDT", levels = 5, threshold = 0.6, qty = 0.001,
               cooldown_ms = 5000, max_position = 0.005 },
}

local P, EPS
local in_flight, quiet_until = nil, -math.huge
local req = { symbol = "", qty = 0, type = "market", tag = "obi" }

local function imbalance(book, levels)
    local bids, asks = 0, 0
    for i = 1, levels do
        local _, bq = book:bid(i)
        local _, aq = book:ask(i)
        if not bq and not aq then break end
        bids = bids + (bq or 0)
        asks = asks + (aq or 0)
    end
    local total = bids + asks
    return total > 0 and (bids - asks) / total or 0
end

function S.on_start(ctx)
    P = ctx.params
    EPS = P.qty * 1e-6
    ctx.state.inventory = ctx.state.inventory or 0
    req.symbol, req.qty = P.symbol, P.qty
end

function S.on_book(ctx, book)
    if book.symbol ~= P.symbol or in_flight or ctx:now() < quiet_until then return end
    local imb = imbalance(book, P.levels)
    local inv = ctx.state.inventory
    local send
    if imb > P.threshold and inv + P.qty <= P.max_position + EPS then
        send = ctx.buy
    elseif imb < -P.threshold and inv - P.qty >= -P.max_position - EPS then
        send = ctx.sell
    else
        return
    end
    local id, why = send(ctx, req)
    quiet_until = ctx:now() + P.cooldown_ms
    if id then
        in_flight = id
    else
        ctx:log("warn", "imbalance %.2f: order refused: %s", imb, why)
    end
end

function S.on_fill(ctx, f)
    if f.symbol ~= P.symbol then return end
    local st = ctx.state
    st.inventory = st.inventory + (f.side == "buy" and f.qty or -f.qty)
end

function S.on_order(_, o)
    if o.id == in_flight and o.status ~= "new" and o.status ~= "partially_filled" then
        in_flight = nil
    end
end

return S
