-- Places a resting order, then raises an error on the third bar.
local S = { params = { symbol = "TEST/USD" } }
local n = 0

function S.on_bar(ctx, bar)
    n = n + 1
    if n == 1 then
        assert(ctx:buy{ symbol = bar.symbol, qty = 1, price = 1.00, type = "limit" })
    elseif n == 3 then
        local t = nil
        return t.field -- line 11: attempt to index a nil value
    end
end

return S
