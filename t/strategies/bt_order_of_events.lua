-- Buys at the first bar and writes every handler call to params.log, so a
-- test can check what bar mode delivers when: the fill of a market order
-- sent during bar 1 comes at bar 2's open, before on_bar of bar 2.
local S = { params = { symbol = "TEST/USD", log = "" } }
local out

function S.on_start(ctx)
    out = assert(io.open(ctx.params.log, "w"))
end

function S.on_bar(ctx, bar)
    out:write(string.format("bar %d %.2f\n", bar.ts, bar.open))
    if not ctx.state.sent then
        ctx.state.sent = assert(ctx:buy{ symbol = bar.symbol, qty = 1, type = "market" })
    end
end

function S.on_order(ctx, o)
    out:write(string.format("order %s %s\n", o.id, o.status))
end

function S.on_fill(ctx, f)
    out:write(string.format("fill %s %.2f %g\n", f.order_id, f.price, f.qty))
end

function S.on_stop(ctx)
    out:close()
end

return S
