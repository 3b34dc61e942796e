-- Benchmark strategy: reads the best bid and ask on every book update
-- (once per exchange message) and does nothing else.
local S = {}
local n, spread_sum = 0, 0

function S.on_book(ctx, book)
    local bid = book:best_bid()
    local ask = book:best_ask()
    if bid and ask then
        n = n + 1
        spread_sum = spread_sum + (ask - bid)
    end
end

function S.on_stop(ctx)
    ctx:log("info", "book updates read %d, mean spread %.6f", n, n > 0 and spread_sum / n or 0)
end

return S
