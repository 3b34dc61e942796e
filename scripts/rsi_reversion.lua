--[[
rsi_reversion.lua -- RSI mean reversion, long only (bars).

Buys when Wilder's RSI of the closes is below `lower` (oversold) and the
strategy is flat; sells the whole position when the RSI rises above `upper`
(overbought). Orders are market orders sent at a bar's close, so in a backtest
they fill at the next bar's open.

Params (defaults):
  symbol = "BTCUSDT"  the symbol to trade, as the data names it
  period = 14         RSI period, in bars (defined after period + 1 bars)
  lower  = 30         buy below this RSI
  upper  = 70         sell above this RSI
  qty    = 0.1        shares or coins to buy on each entry

Data: bars of one symbol.

  lutra backtest scripts/rsi_reversion.lua --data orcl-1995-2014.txt --symbol ORCL/USD \
      -p symbol=ORCL/USD -p qty=100

Limits: spot, long only, one entry at a time, no stop loss: a falling market
keeps it long until the RSI recovers.
]]

local ind = require("lutra.ind")

local S = { params = { symbol = "BTCUSDT", period = 14, lower = 30, upper = 70, qty = 0.1 } }

local rsi, symbol

function S.on_start(ctx)
    local p = ctx.params
    if not (p.lower < p.upper) then
        error(string.format("rsi_reversion: lower (%g) must be below upper (%g)", p.lower, p.upper))
    end
    rsi = ind.rsi(p.period)
    symbol = p.symbol
end

function S.on_bar(ctx, bar)
    if bar.symbol ~= symbol then return end
    local r = rsi:update(bar.close)
    if not r then return end
    local p, held = ctx.params, ctx:position(symbol)
    local id, why
    if r < p.lower and held == 0 then
        id, why = ctx:buy{ symbol = symbol, qty = p.qty, type = "market" }
    elseif r > p.upper and held > 0 then
        id, why = ctx:sell{ symbol = symbol, qty = held, type = "market" }
    else
        return
    end
    if not id then ctx:log("warn", "rsi %.1f: order on %s refused: %s", r, symbol, why) end
end

return S
