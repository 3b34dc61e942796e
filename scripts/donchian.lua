--[[
donchian.lua -- Donchian channel breakout, long only (bars).

Buys when a bar closes above the highest high of the `entry` bars before it
(the current bar excluded), and exits when a bar closes below the lowest low
of the `exit` bars before it: the turtle traders' rule. Orders are market
orders sent at a bar's close, so in a backtest they fill at the next bar's
open.

Params (defaults):
  symbol = "BTCUSDT"  the symbol to trade, as the data names it
  entry  = 20         breakout channel length, in bars
  exit   = 10         exit channel length, in bars
  qty    = 0.1        shares or coins to buy on each entry

Data: bars of one symbol with meaningful highs and lows.

  lutra backtest scripts/donchian.lua --data BTCUSDT-1h-2021-Q1.csv
  lutra backtest scripts/donchian.lua --data orcl-1995-2014.txt --symbol ORCL/USD \
      -p symbol=ORCL/USD -p qty=100

Limits: spot, long only, one entry at a time; the exit channel is the only
stop (no ATR sizing or stop as the original turtles had).
]]

local ind = require("lutra.ind")

local S = { params = { symbol = "BTCUSDT", entry = 20, exit = 10, qty = 0.1 } }

local highest, lowest, symbol

function S.on_start(ctx)
    local p = ctx.params
    highest, lowest = ind.highest(p.entry), ind.lowest(p.exit)
    symbol = p.symbol
end

function S.on_bar(ctx, bar)
    if bar.symbol ~= symbol then return end
    -- The channels of the bars before this one: read, then add this bar.
    local top, bottom = highest:value(), lowest:value()
    highest:update(bar.high)
    lowest:update(bar.low)
    local held = ctx:position(symbol)
    local id, why
    if top and held == 0 and bar.close > top then
        id, why = ctx:buy{ symbol = symbol, qty = ctx.params.qty, type = "market" }
    elseif bottom and held > 0 and bar.close < bottom then
        id, why = ctx:sell{ symbol = symbol, qty = held, type = "market" }
    else
        return
    end
    if not id then ctx:log("warn", "order on %s refused: %s", symbol, why) end
end

return S
