-- Subscribes to one-minute bars built from trades and writes each bar it
-- gets to params.log, with the time it got it (ctx:now()).
local S = { params = { symbol = "BTCUSDT", log = "" } }
local out

function S.on_start(ctx)
    out = assert(io.open(ctx.params.log, "w"))
    assert(ctx:subscribe{ symbol = ctx.params.symbol, bars = "1m" })
end

function S.on_bar(ctx, bar)
    out:write(string.format("%.3f %.3f %.8f %.8f %.8f %.8f %.8f\n", bar.ts, ctx:now(),
                            bar.open, bar.high, bar.low, bar.close, bar.volume))
end

function S.on_stop(ctx)
    out:close()
end

return S
