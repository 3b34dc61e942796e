--[[
twap.lua -- time-weighted execution of a parent order (tick or bar data).

Buys (or sells) `total_qty` over `duration_ms` in `slices` child orders, one
every duration_ms / slices, the first one interval after the start. Each
child makes the executed quantity catch up with the schedule (k / slices of
the total after the k-th interval), so a child that was refused, or that
filled only in part, is made up by the next one. Children are market orders,
or, with order_type = "limit", marketable limit IOC orders priced
slippage_bps through the touch (a cap on the price paid; needs book data).
Progress is logged at every child; the timer stops when the whole quantity
has filled, and the average price is logged against the arrival price (the
mid, or the last bar's close, when the first child went): the
implementation shortfall.

Params (defaults):
  symbol       = "BTCUSDT"
  side         = "buy"     "buy" | "sell"
  total_qty    = 0.01      the parent order's size
  duration_ms  = 300000    the execution window (5 minutes)
  slices       = 10        number of child orders
  order_type   = "market"  "market" | "limit" (marketable limit, IOC)
  slippage_bps = 5         limit children: price this far through the touch

Data: book data (tick) or bars; with bars a market child fills at the next
bar's open, so use an interval no shorter than the bars'.

  lutra backtest scripts/twap.lua --data btcusdt_20240808.gz -p total_qty=0.05

Limits: a fixed schedule, no participation cap or volume curve (a VWAP
would follow the day's volume profile); a sell needs the base asset held on
spot (--balance BTC=1).
]]

local S = {
    params = { symbol = "BTCUSDT", side = "buy", total_qty = 0.01, duration_ms = 300000,
               slices = 10, order_type = "market", slippage_bps = 5 },
}

local P
local timer
local slice, filled, paid, in_flight = 0, 0, 0, nil
local arrival, last_close
local req = { symbol = "", qty = 0, type = "market", tag = "twap" }

local function reference_price(ctx)
    local book = ctx:book(P.symbol)
    return (book and book:mid()) or last_close
end

-- The limit price of a marketable child: through the touch by slippage_bps.
local function limit_price(ctx)
    local book = ctx:book(P.symbol)
    if not book then return nil end
    local slip = P.slippage_bps / 10000
    if P.side == "buy" then
        local ask = book:best_ask()
        return ask and ctx:round_price(P.symbol, ask * (1 + slip))
    end
    local bid = book:best_bid()
    return bid and ctx:round_price(P.symbol, bid * (1 - slip))
end

local function child(ctx)
    slice = slice + 1
    arrival = arrival or reference_price(ctx)
    if in_flight then return end
    local due = P.total_qty * math.min(slice, P.slices) / P.slices
    local qty = ctx:round_qty(P.symbol, due - filled)
    if qty <= 0 then return end
    req.qty, req.type, req.tif, req.price = qty, "market", nil, nil
    if P.order_type == "limit" then
        req.price = limit_price(ctx)
        if req.price then req.type, req.tif = "limit", "ioc" end
    end
    local id, why = (P.side == "buy" and ctx.buy or ctx.sell)(ctx, req)
    in_flight = id
    ctx:log("info", "twap: child %d/%d: %s %.8g: %s; filled %.8g of %.8g", slice, P.slices,
            P.side, qty, id or why, filled, P.total_qty)
end

function S.on_start(ctx)
    P = ctx.params
    if P.side ~= "buy" and P.side ~= "sell" then
        error("twap: side must be \"buy\" or \"sell\", got " .. tostring(P.side))
    end
    if P.order_type ~= "market" and P.order_type ~= "limit" then
        error("twap: order_type must be \"market\" or \"limit\", got " .. tostring(P.order_type))
    end
    if P.slices < 1 or P.total_qty <= 0 then error("twap: want slices >= 1 and total_qty > 0") end
    req.symbol = P.symbol
    timer = ctx:every(P.duration_ms / P.slices, child)
end

function S.on_bar(_, bar)
    if bar.symbol == P.symbol then last_close = bar.close end
end

function S.on_order(_, o)
    if o.id == in_flight and o.status ~= "new" and o.status ~= "partially_filled" then
        in_flight = nil
    end
end

function S.on_fill(ctx, f)
    if f.symbol ~= P.symbol then return end
    filled, paid = filled + f.qty, paid + f.qty * f.price
    if timer and ctx:round_qty(P.symbol, P.total_qty - filled) <= 0 then
        timer:cancel()
        timer = nil
        ctx:log("info", "twap: done: %s %.8g at %.8g on average (arrival %.8g) in %d children",
                P.side, filled, paid / filled, arrival or 0, slice)
    end
end

function S.on_stop(ctx)
    if timer then
        ctx:log("warn", "twap: data ended with %.8g of %.8g filled", filled, P.total_qty)
    end
end

return S
