--[[
sma_cross.lua -- moving average crossover, long only (bars).

When the fast simple moving average of the closes crosses above the slow one,
buy at market; when it crosses back below, sell the whole position at market.
The signal is taken at a bar's close, so in a backtest the order fills at the
next bar's open: the rule of backtrader's default broker, and the same trades
as backtrader's SMA crossover example on the same data. A cross needs a strict
change of sign of fast - slow; equality carries the last side (ind.cross).

Params (defaults):
  symbol   = "BTCUSDT"  the symbol to trade, as the data names it
  fast     = 10         fast SMA period, in bars
  slow     = 30         slow SMA period, in bars (> fast)
  qty      = 0          shares or coins to buy on each entry; 0 sizes by fraction
  fraction = 0.95       with qty = 0: spend this fraction of the free quote
                        balance (its equity, as the strategy is flat when it buys)
  quote    = ""         the quote asset for fraction sizing; "" takes it from
                        the symbol ("ORCL/USD" -> USD, "BTCUSDT" -> USDT)

Data: bars of one symbol (daily, hourly, ...; a Yahoo CSV, Binance klines).

  lutra backtest scripts/sma_cross.lua --data BTCUSDT-1h-2021-Q1.csv
  lutra backtest scripts/sma_cross.lua --data orcl-1995-2014.txt --symbol ORCL/USD \
      -p symbol=ORCL/USD -p qty=100

Limits: spot, long only, never pyramids. Fraction sizing prices the order at
the signal bar's close; a gap up at the next open beyond the fraction's
headroom makes the order larger than the balance, and the venue refuses it.
]]

local ind = require("lutra.ind")

local S = {
    params = { symbol = "BTCUSDT", fast = 10, slow = 30, qty = 0, fraction = 0.95, quote = "" },
}

local fast, slow, cross
local symbol, quote

-- Quote assets recognised at the end of a symbol without a "/", longest first
-- so that "BTCUSDT" is USDT and not USD.
local QUOTES = { "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB" }

local function quote_of(sym)
    local q = sym:match("/(.+)$")
    if q then return q end
    for _, suffix in ipairs(QUOTES) do
        if #sym > #suffix and sym:sub(-#suffix) == suffix then return suffix end
    end
    error("sma_cross: cannot tell the quote asset of " .. sym .. "; set -p quote=ASSET")
end

local function entry_qty(ctx, price)
    local p = ctx.params
    if p.qty > 0 then return p.qty end
    quote = quote or (p.quote ~= "" and p.quote or quote_of(symbol))
    local free = ctx:balance(quote)
    return ctx:round_qty(symbol, free * p.fraction / price)
end

function S.on_start(ctx)
    local p = ctx.params
    if p.fast >= p.slow then
        error(string.format("sma_cross: fast (%d) must be shorter than slow (%d)", p.fast, p.slow))
    end
    fast, slow, cross = ind.sma(p.fast), ind.sma(p.slow), ind.cross()
    symbol = p.symbol
end

function S.on_bar(ctx, bar)
    if bar.symbol ~= symbol then return end
    local signal = cross:update(fast:update(bar.close), slow:update(bar.close))
    if not signal then return end
    local held = ctx:position(symbol)
    if signal == "up" and held == 0 then
        local qty = entry_qty(ctx, bar.close)
        if qty <= 0 then return end
        local id, why = ctx:buy{ symbol = symbol, qty = qty, type = "market" }
        if not id then ctx:log("warn", "buy %s refused: %s", symbol, why) end
    elseif signal == "down" and held > 0 then
        local id, why = ctx:sell{ symbol = symbol, qty = held, type = "market" }
        if not id then ctx:log("warn", "sell %s refused: %s", symbol, why) end
    end
end

return S
