--[[
pairs.lua -- a pairs trade on the z-score of the log price ratio (bars).

On each date both symbols have a bar, the spread is log(close A) - log(close B)
and its z-score over the last `window` dates is

  z = (spread - mean) / standard deviation          (population, over window)

When z < -entry, A is cheap against B: long the spread (buy A, sell B short).
When z > entry: short the spread (sell A short, buy B). Each leg is worth
`notional` in the quote asset at the signal's closes. The position is closed
when |z| < exit, or when z goes past entry on the other side (then it may
enter that way at the next date). Orders are market orders sent once both
bars of a date are in, so in a backtest they fill at the next bar's opens.

Params (defaults):
  symbol_a  = ""      the first leg (required)
  symbol_b  = ""      the second leg (required)
  window    = 60      z-score window, in dates
  entry     = 2.0     |z| that opens a position
  exit      = 0.5     |z| that closes it
  notional  = 1000    value of each leg, in the quote asset
  long_only = false   trade leg A only, long only: buy A when z < -entry,
                      sell it at the exit; no short, so no margin needed

Data: bars of both symbols, in one file or several (the dates are matched by
bar time; a date only one of them has is skipped).

Shorting needs a margin account: run with a config file holding
`return { margin = true }`, or with -p long_only=true on spot:

  lutra import orcl-1995-2014.txt --symbol ORCL/USD -o orcl.lev
  lutra import nvda-1999-2014.txt --symbol NVDA/USD -o nvda.lev
  lutra backtest scripts/pairs.lua --data orcl.lev --data nvda.lev --config margin.lua \
      -p symbol_a=ORCL/USD -p symbol_b=NVDA/USD

Limits: a fixed 1:1 notional hedge (no regression hedge ratio), no test of
cointegration: the spread of two unrelated stocks drifts and this loses;
both legs must be quoted in the same asset.
]]

local ind = require("lutra.ind")

local log, abs = math.log, math.abs

local S = {
    params = { symbol_a = "", symbol_b = "", window = 60, entry = 2.0, exit = 0.5,
               notional = 1000, long_only = false },
}

local P
local sd
local close_a, ts_a, close_b, ts_b, done_ts

local function order(ctx, symbol, qty)
    if qty == 0 then return end
    local req = { symbol = symbol, qty = abs(qty), type = "market", tag = "pairs" }
    local id, why = (qty > 0 and ctx.buy or ctx.sell)(ctx, req)
    if not id then ctx:log("warn", "pairs: %s %g %s refused: %s",
                           qty > 0 and "buy" or "sell", abs(qty), symbol, why) end
end

-- direction 1: long the spread (long A, short B); -1: short it.
local function enter(ctx, direction)
    local qa = ctx:round_qty(P.symbol_a, P.notional / close_a)
    local qb = ctx:round_qty(P.symbol_b, P.notional / close_b)
    if qa <= 0 or qb <= 0 then
        ctx:log("warn", "pairs: notional %g buys no whole lot", P.notional)
        return
    end
    order(ctx, P.symbol_a, direction * qa)
    if not P.long_only then order(ctx, P.symbol_b, -direction * qb) end
end

local function flatten(ctx)
    order(ctx, P.symbol_a, -ctx:position(P.symbol_a))
    order(ctx, P.symbol_b, -ctx:position(P.symbol_b))
end

local function on_date(ctx)
    local spread = log(close_a) - log(close_b)
    local dev = sd:update(spread)
    if not dev or dev == 0 then return end
    local z = (spread - sd:mean()) / dev
    local held = ctx:position(P.symbol_a)
    local direction = held > 0 and 1 or (held < 0 and -1 or 0)
    if direction == 0 then
        if z < -P.entry then
            enter(ctx, 1)
        elseif z > P.entry and not P.long_only then
            enter(ctx, -1)
        end
    elseif abs(z) < P.exit or z * direction > P.entry then
        flatten(ctx)
    end
end

function S.on_start(ctx)
    P = ctx.params
    if P.symbol_a == "" or P.symbol_b == "" or P.symbol_a == P.symbol_b then
        error("pairs: give two different symbols: -p symbol_a=... -p symbol_b=...")
    end
    if not (P.exit < P.entry) then error("pairs: exit must be below entry") end
    sd = ind.stddev(P.window)
end

function S.on_bar(ctx, bar)
    if bar.symbol == P.symbol_a then
        close_a, ts_a = bar.close, bar.ts
    elseif bar.symbol == P.symbol_b then
        close_b, ts_b = bar.close, bar.ts
    else
        return
    end
    if ts_a ~= ts_b or ts_a == done_ts then return end
    done_ts = ts_a
    on_date(ctx)
end

return S
