-- Sends, on the first bar, an order the config's risk gates refuse and one
-- they let through, and writes what ctx:buy returned to params.log.
local S = { params = { symbol = "TEST/USD", log = "" } }

function S.on_bar(ctx, bar)
    if ctx.state.done then return end
    ctx.state.done = true
    local out = assert(io.open(ctx.params.log, "w"))
    local id, why = ctx:buy{ symbol = bar.symbol, qty = 50, type = "market" }
    out:write(string.format("big %s %s\n", tostring(id), tostring(why)))
    id, why = ctx:buy{ symbol = bar.symbol, qty = 1, type = "market" }
    out:write(string.format("small %s %s\n", tostring(id), tostring(why)))
    id, why = ctx:buy{ symbol = bar.symbol, qty = 1, price = 10.005, type = "limit" }
    out:write(string.format("offtick %s %s\n", tostring(id), tostring(why)))
    out:close()
end

return S
