--[[
grid.lua -- a grid of resting limit orders (tick data).

At the first book with both sides, lays `levels` limit buys below and
`levels` limit sells above a center price, `step_bps` apart (the step is
fixed in price at the start). Each time an order fills completely, the
opposite order is placed one step beyond it: a filled buy at p is followed by
a sell at p + step, a filled sell at p by a buy at p - step. The grid thus
earns a step on every down-and-up (or up-and-down) swing.

Params (defaults):
  symbol   = "BTCUSDT"
  center   = 0        the grid's center price; 0: the first mid
  levels   = 5        orders on each side
  step_bps = 10       distance between levels, basis points of the center (more
                      than twice the maker fee, or a round trip loses)
  qty      = 0.001    size of each order

Data: L2 book data. The sells are of base asset the account holds on spot:

  lutra backtest scripts/grid.lua --data btcusdt_20240808.gz --balance BTC=1

Limits: the grid does not move: a trend that leaves it leaves the strategy
holding all of one side (inventory risk); an order the venue cancels or
rejects is not replaced.
]]

local S = {
    params = { symbol = "BTCUSDT", center = 0, levels = 5, step_bps = 10, qty = 0.001 },
}

local P
local step
local price_of = {}      -- open order id -> its grid price
local req = { symbol = "", qty = 0, price = 0, type = "limit", tag = "grid" }

local function place(ctx, side, price)
    req.price = ctx:round_price(P.symbol, price)
    local id, why = (side == "buy" and ctx.buy or ctx.sell)(ctx, req)
    if id then
        price_of[id] = req.price
    else
        ctx:log("warn", "grid %s at %.8g refused: %s", side, req.price, why)
    end
end

function S.on_start(ctx)
    P = ctx.params
    req.symbol, req.qty = P.symbol, P.qty
end

function S.on_book(ctx, book)
    if step or book.symbol ~= P.symbol then return end
    local mid = book:mid()
    if not mid then return end
    -- Center and step on the price increment, so every level is too.
    local center = ctx:round_price(P.symbol, P.center > 0 and P.center or mid)
    step = ctx:round_price(P.symbol, center * P.step_bps / 10000)
    if step <= 0 then error("grid: step_bps gives a step below the price increment") end
    for k = 1, P.levels do
        place(ctx, "buy", center - k * step)
        place(ctx, "sell", center + k * step)
    end
    ctx:log("info", "grid: %d levels each side around %.8g, step %.8g", P.levels, center, step)
end

function S.on_order(ctx, o)
    local price = price_of[o.id]
    if not price or o.status == "new" or o.status == "partially_filled" then return end
    price_of[o.id] = nil
    if o.status ~= "filled" then
        ctx:log(o.status == "canceled" and "debug" or "warn", "grid order %s at %.8g %s: %s",
                o.id, price, o.status, o.reason or "")
    elseif o.side == "buy" then
        place(ctx, "sell", price + step)
    else
        place(ctx, "buy", price - step)
    end
end

return S
