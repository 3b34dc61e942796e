-- Benchmark strategy of bench/tick_to_order.c: answers every book update
-- with an order, a post-only buy params.away_pct below the best bid (it
-- never fills), and cancels the orders before it once the venue has them
-- ("new": a cancel sent earlier could overtake its order on another
-- connection and be refused), once each, so about one order rests at a
-- time. The buy comes first in on_book: it is the request whose hand-off
-- the bench times.
local S = { params = { symbol = "BTCUSDT", qty = 0.001, away_pct = 2 } }
local newest                -- the last order sent
local resting = {}          -- id -> true: acknowledged, not cancelled yet
local cancelling = {}       -- id -> true: its cancel was sent
local sent, refused, why = 0, 0, nil
local closed = { canceled = true, rejected = true, filled = true, expired = true }

local function cancel(ctx, id)
    resting[id] = nil
    if cancelling[id] then return end
    cancelling[id] = true
    ctx:cancel(id)
end

function S.on_book(ctx, book)
    local bid = book:best_bid()
    if not bid then return end
    local p = ctx.params
    local id, reason = ctx:buy{ symbol = p.symbol, qty = p.qty, tif = "post_only",
                                price = ctx:round_price(p.symbol, bid * (1 - p.away_pct / 100)) }
    if not id then
        refused, why = refused + 1, reason
        return
    end
    sent, newest = sent + 1, id
    for old in pairs(resting) do cancel(ctx, old) end
end

function S.on_order(ctx, o)
    if closed[o.status] then
        resting[o.id], cancelling[o.id] = nil, nil
    elseif o.status == "new" then
        if o.id == newest then resting[o.id] = true else cancel(ctx, o.id) end
    end
end

function S.on_stop(ctx)
    ctx:log("info", "orders sent %d, refused %d%s", sent, refused,
            why and (" (last: " .. why .. ")") or "")
end

return S
