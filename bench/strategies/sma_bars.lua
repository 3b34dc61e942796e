-- Benchmark strategy: a 10/30 SMA crossover on bars, trading one unit.
local ind = require("lutra.ind")
local S = { params = { symbol = "BENCH/USD", fast = 10, slow = 30, qty = 1 } }

function S.on_start(ctx)
    S.fast = ind.sma(ctx.params.fast)
    S.slow = ind.sma(ctx.params.slow)
    S.cross = ind.cross()
end

function S.on_bar(ctx, bar)
    local f, s = S.fast:update(bar.close), S.slow:update(bar.close)
    if not (f and s) then return end
    local c = S.cross:update(f, s)
    if c == "up" then
        ctx:buy{ symbol = bar.symbol, qty = ctx.params.qty, type = "market" }
    elseif c == "down" then
        local pos = ctx:position(bar.symbol)
        if pos > 0 then ctx:sell{ symbol = bar.symbol, qty = pos, type = "market" } end
    end
end

return S
