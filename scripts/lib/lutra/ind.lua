-- lutra.ind: streaming technical indicators for strategies.
--
--   local ind = require("lutra.ind")
--   local fast, slow, cross = ind.sma(10), ind.sma(30), ind.cross()
--   function S.on_bar(ctx, bar)
--       if cross:update(fast:update(bar.close), slow:update(bar.close)) == "up" then ... end
--   end
--
-- Every indicator is an object made by a constructor. obj:update(...) takes the
-- next input and returns the current value, nil until the indicator has seen
-- enough inputs (its warm-up); obj:value() returns the same without an input;
-- obj:reset() forgets every input. An update is O(1) (amortised for
-- highest/lowest and the standard deviation) and allocates nothing: windows
-- are preallocated rings and the state is plain numbers. Inputs must be finite
-- numbers. Definitions, warm-ups and conventions: docs/indicators.md.
--
-- Window sums are kept in double-double arithmetic (about 106 bits), so a
-- rolling sum does not drift however long it runs, and the mean of n equal
-- values is that value exactly: two moving averages over a flat market are
-- equal, not one ulp apart, which is what ind.cross() relies on.

local floor, sqrt, abs = math.floor, math.sqrt, math.abs
local max, min = math.max, math.min
local setmetatable, type, error, tostring = setmetatable, type, error, tostring
local format = string.format

local ind = {}

---- Exact arithmetic -------------------------------------------------------

-- Knuth's TwoSum: s = fl(a + b) and e such that s + e == a + b exactly.
local function two_sum(a, b)
    local s = a + b
    local bb = s - a
    return s, (a - (s - bb)) + (b - bb)
end

-- Dekker's split of a double into two halves of at most 26 significant bits.
local SPLITTER = 134217729 -- 2^27 + 1
local function split(a)
    local c = SPLITTER * a
    local high = c - (c - a)
    return high, a - high
end

-- Dekker's TwoProduct: p = fl(a * b) and e such that p + e == a * b exactly.
local function two_prod(a, b)
    local p = a * b
    local ah, al = split(a)
    local bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl
end

-- (hi, lo) + x, renormalised so that hi is the rounded value of the sum.
local function dd_add(hi, lo, x)
    local s, e = two_sum(hi, x)
    return two_sum(s, e + lo)
end

-- (hi, lo) + a * b with the product taken exactly.
local function dd_add_prod(hi, lo, a, b)
    local p, e = two_prod(a, b)
    hi, lo = dd_add(hi, lo, p)
    return dd_add(hi, lo, e)
end

-- (hi, lo) / (dh, dl) as a double-double (its first value is the quotient
-- rounded). The correction from the exact residual of the first guess makes
-- the quotient of (n * x) / n come back as x itself.
local function dd_div(hi, lo, dh, dl)
    local q = hi / dh
    local p, e = two_prod(q, dh)
    return two_sum(q, ((((hi - p) - e) + lo) - q * dl) / dh)
end

---- Shared pieces ------------------------------------------------------------

local function class()
    local c = {}
    c.__index = c
    return c
end

local function value(self)
    return self.val
end

-- Periods are window sizes held in memory; the bound also keeps products of
-- a period and a weight exact.
local MAX_PERIOD = 2 ^ 24

-- Misuse raises at the caller of the constructor (level 3: past this
-- function and the constructor).
local function check_int(name, what, n, least)
    if type(n) ~= "number" or n ~= floor(n) or n < least or n > MAX_PERIOD then
        error(format("ind.%s: %s must be an integer from %d to %d, got %s",
                     name, what, least, MAX_PERIOD, tostring(n)), 3)
    end
    return n
end

local function check_number(name, what, x)
    if type(x) ~= "number" or x ~= x then
        error(format("ind.%s: %s must be a number, got %s", name, what, tostring(x)), 3)
    end
    return x
end

local function zeros(n)
    local t = {}
    for i = 1, n do t[i] = 0 end
    return t
end

-- The last n inputs, in a preallocated ring.
local Window = class()

local function new_window(n)
    return setmetatable({ n = n, buf = zeros(n), pos = 1, count = 0 }, Window)
end

function Window:clear()
    self.pos, self.count = 1, 0
end

-- Stores x; returns the value it pushes out, nil while the window fills.
function Window:push(x)
    local pos, n, old = self.pos, self.n, nil
    if self.count == n then
        old = self.buf[pos]
    else
        self.count = self.count + 1
    end
    self.buf[pos] = x
    self.pos = pos == n and 1 or pos + 1
    return old
end

---- SMA ------------------------------------------------------------------------

local Sma = class()
Sma.value = value

function ind.sma(n)
    check_int("sma", "period", n, 1)
    local o = setmetatable({ n = n, win = new_window(n), hi = 0, lo = 0,
                             val = false, val_lo = 0 }, Sma)
    o:reset()
    return o
end

function Sma:reset()
    self.win:clear()
    self.hi, self.lo, self.val, self.val_lo = 0, 0, nil, 0
end

-- Adds x to the window; returns the value that left it (nil while filling).
function Sma:push(x)
    local old = self.win:push(x)
    local hi, lo = dd_add(self.hi, self.lo, x)
    if old then hi, lo = dd_add(hi, lo, -old) end
    self.hi, self.lo = hi, lo
    if self.win.count == self.n then self.val, self.val_lo = dd_div(hi, lo, self.n, 0) end
    return old
end

function Sma:update(x)
    self:push(x)
    return self.val
end

---- EMA and Wilder's smoothing -------------------------------------------------

-- Both are x' = x + alpha * (input - x), seeded with the SMA of the first n
-- inputs; EMA's alpha is 2 / (n + 1), Wilder's is 1 / n.
local Smoother = class()
Smoother.value = value

local function new_smoother(n, alpha)
    local o = setmetatable({ n = n, alpha = alpha, seed = ind.sma(n), val = false }, Smoother)
    o:reset()
    return o
end

function Smoother:reset()
    self.seed:reset()
    self.val = nil
end

function Smoother:update(x)
    local v = self.val
    if v then
        v = v + self.alpha * (x - v)
    else
        v = self.seed:update(x)
    end
    self.val = v
    return v
end

function ind.ema(n)
    check_int("ema", "period", n, 1)
    return new_smoother(n, 2 / (n + 1))
end

function ind.wilder(n)
    check_int("wilder", "period", n, 1)
    return new_smoother(n, 1 / n)
end

---- WMA ------------------------------------------------------------------------

-- Weights 1..n, the newest input weighing n. T = sum of weight * input and
-- S = sum of inputs slide in O(1): when the window moves every weight drops
-- by one (T - S) and the new input comes in at weight n.
local Wma = class()
Wma.value = value

function ind.wma(n)
    check_int("wma", "period", n, 1)
    local o = setmetatable({ n = n, win = new_window(n), weights = n * (n + 1) / 2,
                             t_hi = 0, t_lo = 0, s_hi = 0, s_lo = 0, val = false }, Wma)
    o:reset()
    return o
end

function Wma:reset()
    self.win:clear()
    self.t_hi, self.t_lo, self.s_hi, self.s_lo, self.val = 0, 0, 0, 0, nil
end

function Wma:update(x)
    local win = self.win
    local old = win:push(x)
    local th, tl, sh, sl = self.t_hi, self.t_lo, self.s_hi, self.s_lo
    if old then
        th, tl = dd_add(th, tl, -sh)
        th, tl = dd_add(th, tl, -sl)
        sh, sl = dd_add(sh, sl, -old)
    end
    th, tl = dd_add_prod(th, tl, x, win.count)
    sh, sl = dd_add(sh, sl, x)
    self.t_hi, self.t_lo, self.s_hi, self.s_lo = th, tl, sh, sl
    if win.count == self.n then self.val = dd_div(th, tl, self.weights, 0) end
    return self.val
end

---- Rolling standard deviation -------------------------------------------------

-- M2 (the sum of squared deviations) slides with Welford's update for
-- replacing one value. Deviations are taken from the window's mean in
-- double-double, so their rounding error scales with the spread of the values,
-- not with their size: 1e9 + 0.001 * k is as accurate as 0.001 * k. Two events
-- recompute M2 from the window in two passes: every n updates (bounds the
-- slow drift; O(1) amortised), and an update whose own size dwarfs the M2 it
-- leaves (a large value leaving a now quiet window), where the subtraction
-- would have cancelled most of the digits.
local RESYNC_RATIO = 2 ^ 22

local Stddev = class()
Stddev.value = value

function ind.stddev(n, ddof)
    ddof = ddof or 0
    if ddof ~= 0 and ddof ~= 1 then
        error(format("ind.stddev: ddof must be 0 (population) or 1 (sample), got %s",
                     tostring(ddof)), 2)
    end
    check_int("stddev", "period", n, ddof + 1)
    local o = setmetatable({ n = n, ddof = ddof, sma = ind.sma(n), m2 = 0, since = 0,
                             val = false }, Stddev)
    o:reset()
    return o
end

function Stddev:reset()
    self.sma:reset()
    self.m2, self.since, self.val = 0, 0, nil
end

-- x minus the double-double mean (hi, lo).
local function deviation(x, hi, lo)
    return (x - hi) - lo
end

function Stddev:resync()
    local sma, m2 = self.sma, 0
    local buf, hi, lo = sma.win.buf, sma.val, sma.val_lo
    for i = 1, self.n do
        local d = deviation(buf[i], hi, lo)
        m2 = m2 + d * d
    end
    self.m2, self.since = m2, 0
end

-- The window's mean, nil until it is full.
function Stddev:mean()
    return self.sma.val
end

function Stddev:update(x)
    local sma = self.sma
    local old_hi, old_lo = sma.val, sma.val_lo
    local old = sma:push(x)
    if sma.val == nil then return nil end
    local since = self.since + 1
    self.since = since
    if old == nil or since >= self.n then
        self:resync()
    else
        local inc = (x - old) * (deviation(x, sma.val, sma.val_lo)
                                 + deviation(old, old_hi, old_lo))
        local m2 = self.m2 + inc
        self.m2 = m2
        if inc ~= 0 and (m2 <= 0 or abs(inc) > m2 * RESYNC_RATIO) then self:resync() end
    end
    self.val = sqrt(self.m2 / (self.n - self.ddof))
    return self.val
end

---- RSI (Wilder) ---------------------------------------------------------------

local Rsi = class()
Rsi.value = value

function ind.rsi(n)
    n = n or 14
    check_int("rsi", "period", n, 1)
    local o = setmetatable({ n = n, gain = ind.wilder(n), loss = ind.wilder(n),
                             prev = false, val = false }, Rsi)
    o:reset()
    return o
end

function Rsi:reset()
    self.gain:reset()
    self.loss:reset()
    self.prev, self.val = nil, nil
end

function Rsi:update(x)
    local prev = self.prev
    self.prev = x
    if prev == nil then return nil end
    local d = x - prev
    local g = self.gain:update(d > 0 and d or 0)
    local l = self.loss:update(d < 0 and -d or 0)
    if g then
        -- 100 - 100 / (1 + g / l), written to need no special case for l == 0;
        -- a window without any change is neutral, 50.
        self.val = (g + l == 0) and 50 or 100 * g / (g + l)
    end
    return self.val
end

---- MACD -----------------------------------------------------------------------

local Macd = class()

function ind.macd(fast, slow, signal)
    fast, slow, signal = fast or 12, slow or 26, signal or 9
    check_int("macd", "fast period", fast, 1)
    check_int("macd", "slow period", slow, 1)
    check_int("macd", "signal period", signal, 1)
    if fast >= slow then
        error(format("ind.macd: fast period (%d) must be shorter than slow period (%d)",
                     fast, slow), 2)
    end
    local o = setmetatable({ efast = ind.ema(fast), eslow = ind.ema(slow),
                             esignal = ind.ema(signal),
                             macd = false, signal = false, hist = false }, Macd)
    o:reset()
    return o
end

function Macd:reset()
    self.efast:reset()
    self.eslow:reset()
    self.esignal:reset()
    self.macd, self.signal, self.hist = nil, nil, nil
end

function Macd:value()
    return self.macd, self.signal, self.hist
end

-- Returns macd, signal, histogram; each nil until it is warmed up.
function Macd:update(x)
    local f = self.efast:update(x)
    local s = self.eslow:update(x)
    if s then
        local m = f - s
        local sig = self.esignal:update(m)
        self.macd, self.signal = m, sig
        self.hist = sig and m - sig
    end
    return self.macd, self.signal, self.hist
end

---- ATR (Wilder) ---------------------------------------------------------------

local Atr = class()
Atr.value = value

function ind.atr(n)
    n = n or 14
    check_int("atr", "period", n, 1)
    local o = setmetatable({ n = n, avg = ind.wilder(n), prev_close = false,
                             val = false }, Atr)
    o:reset()
    return o
end

function Atr:reset()
    self.avg:reset()
    self.prev_close, self.val = nil, nil
end

-- The first bar only provides the previous close: true range needs one.
function Atr:update(high, low, close)
    local pc = self.prev_close
    self.prev_close = close
    if pc == nil then return nil end
    -- max(high - low, |high - pc|, |low - pc|), since high >= low
    self.val = self.avg:update(max(high, pc) - min(low, pc))
    return self.val
end

---- Bollinger bands ------------------------------------------------------------

local Bollinger = class()

function ind.bollinger(n, k)
    n, k = n or 20, k or 2
    check_int("bollinger", "period", n, 1)
    check_number("bollinger", "width k", k)
    local o = setmetatable({ k = k, sd = ind.stddev(n, 0),
                             upper = false, middle = false, lower = false }, Bollinger)
    o:reset()
    return o
end

function Bollinger:reset()
    self.sd:reset()
    self.upper, self.middle, self.lower = nil, nil, nil
end

function Bollinger:value()
    return self.upper, self.middle, self.lower
end

-- Returns upper, middle, lower; nil until n inputs.
function Bollinger:update(x)
    local sd = self.sd:update(x)
    if sd then
        local mid, w = self.sd:mean(), self.k * sd
        self.upper, self.middle, self.lower = mid + w, mid, mid - w
    end
    return self.upper, self.middle, self.lower
end

---- VWAP -----------------------------------------------------------------------

-- Cumulative (n nil: since the start or the last reset()) or over the last n
-- updates. Sums of price * qty and of qty are exact double-double sums.
local Vwap = class()
Vwap.value = value

function ind.vwap(n)
    if n ~= nil then check_int("vwap", "period", n, 1) end
    local o = setmetatable({ n = n, prices = n and new_window(n) or false,
                             qtys = n and new_window(n) or false,
                             pv_hi = 0, pv_lo = 0, q_hi = 0, q_lo = 0, val = false }, Vwap)
    o:reset()
    return o
end

function Vwap:reset()
    if self.prices then
        self.prices:clear()
        self.qtys:clear()
    end
    self.pv_hi, self.pv_lo, self.q_hi, self.q_lo, self.val = 0, 0, 0, 0, nil
end

function Vwap:update(price, qty)
    local pvh, pvl = dd_add_prod(self.pv_hi, self.pv_lo, price, qty)
    local qh, ql = dd_add(self.q_hi, self.q_lo, qty)
    local prices, warm = self.prices, true
    if prices then
        local old_price = prices:push(price)
        local old_qty = self.qtys:push(qty)
        if old_price then
            pvh, pvl = dd_add_prod(pvh, pvl, -old_price, old_qty)
            qh, ql = dd_add(qh, ql, -old_qty)
        end
        warm = prices.count == self.n
    end
    self.pv_hi, self.pv_lo, self.q_hi, self.q_lo = pvh, pvl, qh, ql
    if warm and qh > 0 then
        self.val = dd_div(pvh, pvl, qh, ql)
    else
        self.val = nil
    end
    return self.val
end

---- Highest and lowest ---------------------------------------------------------

-- A monotonic deque in a preallocated ring: candidates for the extreme, the
-- oldest (and most extreme) at the front. Each input enters and leaves once,
-- so an update is O(1) amortised. lowest is highest of -x.
local Extreme = class()

local function new_extreme(name, n, sign)
    check_int(name, "period", n, 1)
    local o = setmetatable({ n = n, sign = sign, vals = zeros(n), seqs = zeros(n),
                             head = 1, size = 0, seq = 0, val = false, ago = false }, Extreme)
    o:reset()
    return o
end

function ind.highest(n)
    return new_extreme("highest", n, 1)
end

function ind.lowest(n)
    return new_extreme("lowest", n, -1)
end

function Extreme:reset()
    self.head, self.size, self.seq = 1, 0, 0
    self.val, self.ago = nil, nil
end

function Extreme:value()
    return self.val, self.ago
end

-- Returns the extreme of the last n inputs and how many updates ago it came
-- (0: this one; the latest of equal values); nil until n inputs.
function Extreme:update(x)
    local n, vals, seqs = self.n, self.vals, self.seqs
    local v, seq = self.sign * x, self.seq + 1
    local head, size = self.head, self.size
    -- candidates no greater than v can never be the extreme again
    while size > 0 and vals[(head + size - 2) % n + 1] <= v do
        size = size - 1
    end
    if size > 0 and seqs[head] <= seq - n then
        head = head % n + 1
        size = size - 1
    end
    local slot = (head + size - 1) % n + 1
    vals[slot], seqs[slot] = v, seq
    self.head, self.size, self.seq = head, size + 1, seq
    if seq >= n then
        self.val, self.ago = self.sign * vals[head], seq - seqs[head]
    end
    return self.val, self.ago
end

---- Crossover ------------------------------------------------------------------

-- Signals when a - b changes sign strictly. Equality is not a side: the sign
-- of the last non-zero difference is carried, so below, equal, above is one
-- "up" (on the step it becomes above) and above, equal, above is nothing.
-- A nil input (an indicator still warming up) is skipped.
local Cross = class()
Cross.value = value

function ind.cross()
    local o = setmetatable({ side = 0, val = false }, Cross)
    o:reset()
    return o
end

function Cross:reset()
    self.side, self.val = 0, nil
end

-- Returns "up" when a goes above b, "down" when it goes below, else nil.
function Cross:update(a, b)
    local r = nil
    if a ~= nil and b ~= nil then
        local d = a - b
        local side = d > 0 and 1 or (d < 0 and -1 or 0)
        if side ~= 0 then
            if self.side ~= 0 and side ~= self.side then
                r = side > 0 and "up" or "down"
            end
            self.side = side
        end
    end
    self.val = r
    return r
end

-- "above", "below", or nil before the first non-zero difference.
function Cross:state()
    local side = self.side
    return side > 0 and "above" or (side < 0 and "below" or nil)
end

return ind
