-- Tests of scripts/lib/lutra/ind.lua, printing TAP; t/ind.t runs it under
-- luajit. Expected values are worked out by hand in the comments beside them.
-- Usage: luajit t/ind_test.lua [LIBDIR]   (LIBDIR defaults to ../scripts/lib)

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local lib = arg[1] or (here .. "/../scripts/lib")
package.path = lib .. "/?.lua;" .. package.path

---- TAP --------------------------------------------------------------------

local tests, failed = 0, 0

local function diag(msg)
    io.write("# ", (tostring(msg):gsub("\n", "\n# ")), "\n")
end

local function ok(cond, name)
    tests = tests + 1
    if not cond then failed = failed + 1 end
    io.write(cond and "ok " or "not ok ", tests, " - ", name, "\n")
    return cond
end

local function is(got, want, name)
    if not ok(got == want, name) then
        diag(string.format("got: %s\nexpected: %s", tostring(got), tostring(want)))
    end
end

local function near(got, want, name, tol)
    tol = tol or 1e-12
    local good = type(got) == "number" and math.abs(got - want) <= tol * math.max(1, math.abs(want))
    if not ok(good, name) then
        diag(string.format("got: %.17g\nexpected: %.17g (tolerance %g)", tonumber(got) or 0 / 0, want, tol))
        if type(got) ~= "number" then diag("got a " .. type(got)) end
    end
end

-- Feeds inputs one update at a time; checks every result: nil where want is
-- false, near the number otherwise.
local function series(obj, inputs, want, name)
    for i, x in ipairs(inputs) do
        local got
        if type(x) == "table" then got = obj:update(unpack(x)) else got = obj:update(x) end
        if want[i] == false then
            is(got, nil, string.format("%s: nil at input %d (warm-up)", name, i))
        else
            near(got, want[i], string.format("%s: value at input %d", name, i))
        end
    end
end

---- Loading ------------------------------------------------------------------

local before = {}
for k in pairs(_G) do before[k] = true end
local ind = require("lutra.ind")
local leaked = {}
for k in pairs(_G) do
    if not before[k] then leaked[#leaked + 1] = tostring(k) end
end
is(type(ind), "table", "require('lutra.ind') returns a table")
is(table.concat(leaked, ","), "", "loading sets no global")

---- SMA ------------------------------------------------------------------------
do
    local s = ind.sma(3)
    -- (1+2+3)/3 = 2, (2+3+4)/3 = 3, (3+4+5)/3 = 4
    series(s, { 1, 2, 3, 4, 5 }, { false, false, 2, 3, 4 }, "sma(3)")
    is(s:value(), 4, "sma: value() repeats the last result")
    s:reset()
    is(s:update(10), nil, "sma: reset() starts the warm-up again")
    -- (10 + 20 + 60) / 3 = 30
    s:update(20)
    is(s:update(60), 30, "sma: after reset it averages only new inputs")
    near(ind.sma(1):update(7.25), 7.25, "sma(1) is the input")
end

---- EMA ------------------------------------------------------------------------
do
    -- alpha = 2/(3+1) = 0.5; seed SMA(2,4,6) = 4;
    -- then 4 + 0.5*(10-4) = 7; then 7 + 0.5*(2-7) = 4.5
    series(ind.ema(3), { 2, 4, 6, 10, 2 }, { false, false, 4, 7, 4.5 }, "ema(3)")
    -- alpha = 2/(4+1) = 0.4; seed (1+2+3+4)/4 = 2.5; 2.5 + 0.4*(12-2.5) = 6.3
    series(ind.ema(4), { 1, 2, 3, 4, 12 }, { false, false, false, 2.5, 6.3 }, "ema(4)")
end

---- Wilder's smoothing -------------------------------------------------------------
do
    -- seed (3+6)/2 = 4.5; then 4.5 + (1.5-4.5)/2 = 3
    series(ind.wilder(2), { 3, 6, 1.5 }, { false, 4.5, 3 }, "wilder(2)")
end

---- WMA ------------------------------------------------------------------------
do
    -- weights 1,2,3 (newest 3), sum of weights 6:
    -- (1*1 + 2*2 + 3*3)/6 = 14/6; (1*2 + 2*3 + 3*4)/6 = 20/6; (1*3 + 2*4 + 3*10)/6 = 41/6
    series(ind.wma(3), { 1, 2, 3, 4, 10 }, { false, false, 14 / 6, 20 / 6, 41 / 6 }, "wma(3)")
    -- after 5: (1*4 + 2*10 + 3*(-2))/6 = 18/6 = 3
    local w = ind.wma(3)
    for _, x in ipairs({ 1, 2, 3, 4, 10 }) do w:update(x) end
    near(w:update(-2), 3, "wma(3): negative input")
end

---- RSI (Wilder) ---------------------------------------------------------------
do
    -- prices 10, 11, 10.5, 12, 11, 13; changes +1, -0.5, +1.5, -1, +2
    -- at 12 (3 changes): gain = (1+0+1.5)/3 = 5/6, loss = (0+0.5+0)/3 = 1/6,
    --   RSI = 100 * (5/6) / (6/6) = 83.333...
    -- at 11: gain = 5/6 + (0 - 5/6)/3 = 5/9, loss = 1/6 + (1 - 1/6)/3 = 4/9,
    --   RSI = 100 * 5/9 / 1 = 55.555...
    -- at 13: gain = 5/9 + (2 - 5/9)/3 = 28/27, loss = 4/9 + (0 - 4/9)/3 = 8/27,
    --   RSI = 100 * 28 / 36 = 77.777...
    series(ind.rsi(3), { 10, 11, 10.5, 12, 11, 13 },
           { false, false, false, 500 / 6, 500 / 9, 2800 / 36 }, "rsi(3)")
    series(ind.rsi(2), { 5, 5, 5, 5 }, { false, false, 50, 50 }, "rsi on a flat series is 50")
    series(ind.rsi(2), { 1, 2, 3, 4 }, { false, false, 100, 100 }, "rsi on a rising series is 100")
    series(ind.rsi(2), { 4, 3, 2, 1 }, { false, false, 0, 0 }, "rsi on a falling series is 0")
    local r = ind.rsi()
    local first
    for i = 1, 20 do
        if r:update(100 + (i % 3)) and not first then first = i end
    end
    is(first, 15, "rsi() defaults to 14: first value at the 15th price")
end

---- MACD -----------------------------------------------------------------------
do
    -- macd(2, 3, 2) on 1, 3, 2, 6, 4
    -- fast EMA(2), alpha 2/3: seed (1+3)/2 = 2; 2 + 2/3*(2-2) = 2;
    --   2 + 2/3*(6-2) = 14/3; 14/3 + 2/3*(4-14/3) = 38/9
    -- slow EMA(3), alpha 1/2: seed (1+3+2)/3 = 2; 2 + (6-2)/2 = 4; 4 + (4-4)/2 = 4
    -- macd: 2-2 = 0 (3rd), 14/3-4 = 2/3 (4th), 38/9-4 = 2/9 (5th)
    -- signal EMA(2) of macd: seed (0 + 2/3)/2 = 1/3 (4th);
    --   1/3 + 2/3*(2/9 - 1/3) = 1/3 - 2/27 = 7/27 (5th)
    -- hist: 2/3 - 1/3 = 1/3 (4th); 2/9 - 7/27 = -1/27 (5th)
    local m = ind.macd(2, 3, 2)
    local want = {
        { nil, nil, nil }, { nil, nil, nil }, { 0, nil, nil },
        { 2 / 3, 1 / 3, 1 / 3 }, { 2 / 9, 7 / 27, -1 / 27 },
    }
    for i, x in ipairs({ 1, 3, 2, 6, 4 }) do
        local got = { m:update(x) }
        for j, field in ipairs({ "macd", "signal", "hist" }) do
            local label = string.format("macd(2,3,2): %s at input %d", field, i)
            if want[i][j] == nil then is(got[j], nil, label .. " is nil") else near(got[j], want[i][j], label) end
        end
    end
    local a, b, c = m:value()
    ok(a == m.macd and b == m.signal and c == m.hist and c ~= nil,
       "macd: value() and the fields macd, signal, hist agree")
    m = ind.macd()
    local first_macd, first_signal
    for i = 1, 40 do
        local line, sig = m:update(100 + math.sin(i))
        first_macd = first_macd or (line and i)
        first_signal = first_signal or (sig and i)
    end
    is(first_macd, 26, "macd() is (12,26,9): the line starts at the 26th input")
    is(first_signal, 34, "and the signal at the 34th (26 + 9 - 1)")
    ok(not pcall(ind.macd, 26, 12), "macd refuses fast >= slow")
end

---- ATR (Wilder) ---------------------------------------------------------------
do
    -- bars (high, low, close):
    --  (10, 8, 9)         first bar: only the previous close, 9
    --  (12, 9, 11)        TR = max(12-9, |12-9|, |9-9|)       = 3
    --  (11.5, 10.5, 10.8) TR = max(1, |11.5-11|, |10.5-11|)    = 1
    --  (14, 12, 13)       TR = max(2, |14-10.8|, |12-10.8|)    = 3.2 (gap up)
    --                     ATR = (3 + 1 + 3.2)/3 = 2.4
    --  (12, 9, 9.5)       TR = max(3, |12-13|, |9-13|)         = 4
    --                     ATR = 2.4 + (4 - 2.4)/3 = 8.8/3
    series(ind.atr(3),
           { { 10, 8, 9 }, { 12, 9, 11 }, { 11.5, 10.5, 10.8 }, { 14, 12, 13 }, { 12, 9, 9.5 } },
           { false, false, false, 2.4, 8.8 / 3 }, "atr(3)")
end

---- Rolling standard deviation and Bollinger bands -----------------------------
do
    -- 1,2,3: mean 2, squared deviations 1+0+1 = 2; population var 2/3, sample var 2/2 = 1
    -- 2,3,6: mean 11/3, deviations -5/3, -2/3, 7/3, squares (25+4+49)/9 = 78/9;
    --   population var 78/27 = 26/9 (sd sqrt(26)/3), sample var 78/18 = 13/3
    series(ind.stddev(3), { 1, 2, 3, 6 }, { false, false, math.sqrt(2 / 3), math.sqrt(26) / 3 },
           "stddev(3) population")
    series(ind.stddev(3, 1), { 1, 2, 3, 6 }, { false, false, 1, math.sqrt(13 / 3) },
           "stddev(3, 1) sample")
    ok(not pcall(ind.stddev, 1, 1), "stddev refuses a sample deviation over one value")

    local s = ind.stddev(4)
    -- the 9 enters at input 6 and leaves at input 10, between the periodic
    -- recomputations (every 4 updates from the first full window, input 4)
    for _, x in ipairs({ 5, 5, 5, 5, 5, 9, 5, 5, 5, 5 }) do s:update(x) end
    is(s:value(), 0, "stddev: exactly 0 once an outlier has left a flat window")

    local bb = ind.bollinger(3, 2)
    local u, m, l
    for _, x in ipairs({ 1, 2 }) do
        u, m, l = bb:update(x)
        ok(u == nil and m == nil and l == nil, "bollinger(3,2): nil during warm-up")
    end
    -- 1,2,3: middle 2, sd sqrt(2/3); bands 2 +- 2*sqrt(2/3)
    u, m, l = bb:update(3)
    near(m, 2, "bollinger(3,2): middle is the SMA")
    near(u, 2 + 2 * math.sqrt(2 / 3), "bollinger(3,2): upper = middle + 2 population sd")
    near(l, 2 - 2 * math.sqrt(2 / 3), "bollinger(3,2): lower = middle - 2 population sd")
    -- 2,3,6: middle 11/3, sd sqrt(26)/3
    u, m, l = bb:update(6)
    near(u, 11 / 3 + 2 * math.sqrt(26) / 3, "bollinger(3,2): upper after a slide")
    near(l, 11 / 3 - 2 * math.sqrt(26) / 3, "bollinger(3,2): lower after a slide")
    ok(bb.upper == u and bb.middle == m and bb.lower == l, "bollinger: fields agree")
end

-- Values around 1e9 with a small spread: 1e9 + k/1024 (k in 0..1000) are
-- exact doubles, so subtracting 1e9 gives the deviations exactly and a plain
-- two-pass computation over them is the reference. The naive
-- sqrt(E[x^2] - E[x]^2) loses everything here (x^2 ~ 1e18, ulp ~ 128).
local function reference_sd(values, first, last, offset)
    local n, sum = last - first + 1, 0
    for i = first, last do sum = sum + (values[i] - offset) end
    local mean, m2 = sum / n, 0
    for i = first, last do
        local d = (values[i] - offset) - mean
        m2 = m2 + d * d
    end
    return math.sqrt(m2 / n)
end

-- Relative error of got against want; a NaN (or nil) counts as infinite.
local function rel_error(got, want)
    local err = math.abs((tonumber(got) or 0 / 0) - want) / want
    return err == err and err or math.huge
end

do
    math.randomseed(20240808)
    -- count is not a multiple of n, so that the level change below does not
    -- line up with the periodic recomputation
    local n, count, values = 20, 100007, {}
    local s, worst, worst_at = ind.stddev(n), 0, 0
    for i = 1, count do
        values[i] = 1e9 + math.random(0, 1000) / 1024
        local got = s:update(values[i])
        if i >= n then
            local want = reference_sd(values, i - n + 1, i, 1e9)
            local err = rel_error(got, want)
            if err > worst then worst, worst_at = err, i end
        end
    end
    ok(worst < 1e-9, "stddev(20) of 1e9 + small noise over 100000 updates is accurate")
    diag(string.format("worst relative error %.3g at update %d", worst, worst_at))

    -- Then the level drops from 1e9 to around 1: windows mixing both, then
    -- windows of small values only, must all be right.
    worst = 0
    for i = count + 1, count + 3 * n do
        values[i] = 1 + math.random(0, 1000) / 1024
        local got = s:update(values[i])
        local offset = (i - n + 1 > count) and 1 or 0
        local want = reference_sd(values, i - n + 1, i, offset)
        worst = math.max(worst, rel_error(got, want))
    end
    ok(worst < 1e-9, "stddev stays accurate when the level falls from 1e9 to 1")
    diag(string.format("worst relative error %.3g", worst))
end

---- VWAP -----------------------------------------------------------------------
do
    -- (price, qty): (10, 1), (11, 2), (12, 1), (20, 0)
    -- cumulative: 10/1 = 10; (10+22)/3 = 32/3; (32+12)/4 = 11; (44+0)/4 = 11
    series(ind.vwap(), { { 10, 1 }, { 11, 2 }, { 12, 1 }, { 20, 0 } }, { 10, 32 / 3, 11, 11 },
           "vwap cumulative")
    -- rolling over 2: nil; (10+22)/3 = 32/3; (22+12)/3 = 34/3; (12+0)/1 = 12
    series(ind.vwap(2), { { 10, 1 }, { 11, 2 }, { 12, 1 }, { 20, 0 } }, { false, 32 / 3, 34 / 3, 12 },
           "vwap(2) rolling")
    local v = ind.vwap()
    is(v:update(10, 0), nil, "vwap: nil while no quantity has traded")
    v:update(10, 1)
    v:reset()
    -- (30*1 + 40*3)/4 = 150/4 = 37.5
    v:update(30, 1)
    is(v:update(40, 3), 37.5, "vwap: reset() starts a new session")
    local r = ind.vwap(2)
    r:update(10, 1); r:update(11, 0); r:update(12, 0)
    is(r:value(), nil, "vwap(2): nil when the window holds no quantity")
end

---- Highest and lowest -----------------------------------------------------------
do
    -- inputs 5, 3, 4, 6, 2, 1, 0 over windows of 3:
    --  (5,3,4): max 5, 2 updates ago; min 3, 1 ago
    --  (3,4,6): max 6, 0 ago;        min 3, 2 ago
    --  (4,6,2): max 6, 1 ago;        min 2, 0 ago
    --  (6,2,1): max 6, 2 ago;        min 1, 0 ago
    --  (2,1,0): max 2, 2 ago;        min 0, 0 ago
    local inputs = { 5, 3, 4, 6, 2, 1, 0 }
    local hv, ha = { nil, nil, 5, 6, 6, 6, 2 }, { nil, nil, 2, 0, 1, 2, 2 }
    local lv, la = { nil, nil, 3, 3, 2, 1, 0 }, { nil, nil, 1, 2, 0, 0, 0 }
    local h, l = ind.highest(3), ind.lowest(3)
    for i, x in ipairs(inputs) do
        local v, ago = h:update(x)
        ok(v == hv[i] and ago == ha[i], string.format("highest(3) at input %d: %s, %s ago", i, tostring(hv[i]), tostring(ha[i])))
        v, ago = l:update(x)
        ok(v == lv[i] and ago == la[i], string.format("lowest(3) at input %d: %s, %s ago", i, tostring(lv[i]), tostring(la[i])))
    end
    local e = ind.highest(3)
    e:update(5); e:update(5)
    local v, ago = e:update(5)
    ok(v == 5 and ago == 0, "highest: of equal values the latest counts")
end

-- Brute force: the extreme of the last n values and the latest position of it.
local function brute_extreme(values, i, n, better)
    local best, at = values[i], i
    for j = i - 1, i - n + 1, -1 do
        if better(values[j], best) then best, at = values[j], j end
    end
    return best, i - at
end

do
    math.randomseed(42)
    local count = 10000
    local gt = function(a, b) return a > b end
    local lt = function(a, b) return a < b end
    for _, n in ipairs({ 1, 2, 7, 50 }) do
        for _, kind in ipairs({ "integers", "reals" }) do
            local values, h, l = {}, ind.highest(n), ind.lowest(n)
            local bad, detail = 0, nil
            for i = 1, count do
                -- small integers make many ties; reals make none
                values[i] = kind == "integers" and math.random(-10, 10) or (math.random() - 0.5) * 1e4
                local hv, hago = h:update(values[i])
                local lv, lago = l:update(values[i])
                if i >= n then
                    local bh, bhago = brute_extreme(values, i, n, gt)
                    local bl, blago = brute_extreme(values, i, n, lt)
                    if hv ~= bh or hago ~= bhago or lv ~= bl or lago ~= blago then
                        bad = bad + 1
                        detail = detail or string.format("at %d: highest %s/%s want %s/%s, lowest %s/%s want %s/%s",
                            i, tostring(hv), tostring(hago), bh, bhago, tostring(lv), tostring(lago), bl, blago)
                    elseif hv == nil then
                        bad = bad + 1
                    end
                elseif hv ~= nil or lv ~= nil then
                    bad = bad + 1
                    detail = detail or string.format("at %d: a value before %d inputs", i, n)
                end
            end
            if not ok(bad == 0, string.format("highest/lowest(%d) match a brute-force scan over %d random %s", n, count, kind)) then
                diag(detail)
            end
        end
    end
end

---- Crossover ------------------------------------------------------------------

-- Feeds pairs (a, b) to a fresh cross; returns its results joined by commas,
-- "-" for nil.
local function crossings(pairs_)
    local c, out = ind.cross(), {}
    for i, p in ipairs(pairs_) do out[i] = c:update(p[1], p[2]) or "-" end
    return table.concat(out, ","), c
end

do
    is(crossings({ { 1, 2 }, { 2, 2 }, { 3, 2 } }), "-,-,up",
       "cross: below, equal, above is one up, when it becomes above")
    is(crossings({ { 3, 2 }, { 2, 2 }, { 3, 2 } }), "-,-,-",
       "cross: above, equal, above is nothing")
    is(crossings({ { 3, 2 }, { 2, 2 }, { 1, 2 } }), "-,-,down",
       "cross: above, equal, below is one down")
    is(crossings({ { 1, 2 }, { 2, 2 }, { 2, 2 }, { 2, 2 }, { 1, 2 } }), "-,-,-,-,-",
       "cross: below, equal for a while, below is nothing")
    is(crossings({ { 1, 2 }, { 3, 2 }, { 1, 2 } }), "-,up,down", "cross: direct crossings both ways")
    is(crossings({ { 2, 2 }, { 3, 2 }, { 1, 2 } }), "-,-,down",
       "cross: the first side taken is not a cross")
    is(crossings({ { 1, 2 }, { nil, 2 }, { 3, nil }, { 3, 2 } }), "-,-,-,up",
       "cross: nil inputs (warming up) are skipped")
    local _, c = crossings({ { 1, 2 }, { 2, 2 } })
    is(c:state(), "below", "cross: state() carries the last non-zero side through equality")
    c:reset()
    is(c:state(), nil, "cross: reset() forgets the side")
end

-- The case the carrying rule exists for: after a rise, a flat market brings
-- SMA(10) and SMA(30) to the same value. They must be equal (not an ulp
-- apart, which a plain running sum gives for a price like 7.3), so no cross.
do
    local fast, slow, cross = ind.sma(10), ind.sma(30), ind.cross()
    local events = {}
    for i = 1, 160 do
        local price = i <= 73 and i * 0.1 or 7.3
        local e = cross:update(fast:update(price), slow:update(price))
        if e then events[#events + 1] = e .. "@" .. i end
    end
    is(fast:value(), 7.3, "sma(10) over a flat 7.3 is exactly 7.3")
    is(slow:value(), 7.3, "sma(30) over a flat 7.3 is exactly 7.3")
    is(table.concat(events, ","), "", "no crossover when a rise is followed by a flat market")
    is(cross:state(), "above", "and the fast average is still carried as above")
end

---- Exactness and drift --------------------------------------------------------------
do
    math.randomseed(7)
    local s, w, e = ind.sma(25), ind.wma(25), ind.ema(25)
    local v, rv = ind.vwap(), ind.vwap(25)
    for _ = 1, 200000 do
        local x = math.random() * 1e4
        s:update(x); w:update(x); v:update(x, math.random())
        rv:update(x, math.random())
    end
    local flat = 1234.56
    for _ = 1, 25 do
        s:update(flat); w:update(flat); rv:update(flat, math.random())
        e:update(flat)
    end
    is(s:value(), flat, "sma: after 200000 updates, a flat window gives the price exactly (no drift)")
    is(w:value(), flat, "wma: likewise")
    is(rv:value(), flat, "vwap(25): likewise, whatever the quantities")
    is(e:value(), flat, "ema: a flat series from the start is the price exactly")
    v:reset()
    for _ = 1, 1000 do v:update(0.3, math.random() / 7) end
    is(v:value(), 0.3, "vwap: one price at many quantities is that price")

    -- fl(fl(n * p) / n) is not p for about one (p, n) in ten, so check many.
    local bad, detail = 0, nil
    for _ = 1, 2000 do
        local n = math.random(2, 200)
        local p = math.random(1, 10000000) / 100
        local sma, wma = ind.sma(n), ind.wma(n)
        for _ = 1, n do
            local x = math.random() * 1e5
            sma:update(x); wma:update(x)
        end
        for _ = 1, n do sma:update(p); wma:update(p) end
        if sma:value() ~= p or wma:value() ~= p then
            bad = bad + 1
            detail = detail or string.format("p %.17g n %d: sma %.17g wma %.17g", p, n, sma:value(), wma:value())
        end
    end
    if not ok(bad == 0, "sma and wma of n equal prices are that price, for 2000 random (price, n)") then
        diag(detail)
    end
end

---- No allocation per update -------------------------------------------------------
do
    local objs = {
        sma = ind.sma(20), ema = ind.ema(20), wma = ind.wma(20), rsi = ind.rsi(14),
        macd = ind.macd(), atr = ind.atr(14), bb = ind.bollinger(20, 2),
        sd = ind.stddev(20, 1), vwap = ind.vwap(), rvwap = ind.vwap(20),
        hi = ind.highest(20), lo = ind.lowest(20), cross = ind.cross(),
    }
    local function run(k)
        for i = 1, k do
            local x = 100 + (i * 7919 % 101) / 10
            objs.sma:update(x); objs.ema:update(x); objs.wma:update(x)
            objs.rsi:update(x); objs.macd:update(x); objs.atr:update(x + 1, x - 1, x)
            objs.bb:update(x); objs.sd:update(x); objs.vwap:update(x, 2)
            objs.rvwap:update(x, 2); objs.hi:update(x); objs.lo:update(x)
            objs.cross:update(objs.sma:value(), objs.ema:value())
        end
    end
    -- Interpreted, so that the measure is the code's, not the JIT's (trace
    -- recording allocates).
    jit.off()
    jit.flush()
    run(100)
    collectgarbage("collect")
    collectgarbage("stop")
    local before_kb = collectgarbage("count")
    run(20000)
    local grown = collectgarbage("count") - before_kb
    collectgarbage("restart")
    jit.on()
    is(grown, 0, "20000 updates of every indicator allocate nothing")
end

---- Misuse ----------------------------------------------------------------------------
do
    local good, err = pcall(function()
        local s = ind.sma(0) -- not a tail call: the error names this line
        return s
    end)
    ok(not good and err:find("ind_test.lua:%d+: ind.sma: period must be an integer from 1 to 16777216, got 0") ~= nil,
       "sma(0) raises, naming the caller's line and the value")
    if good or not err:find("ind_test") then diag(tostring(err)) end
    ok(not pcall(ind.ema, 2.5), "ema(2.5) raises")
    ok(not pcall(ind.highest, nil), "highest() without a period raises")
    ok(not pcall(ind.sma, math.huge), "sma(math.huge) raises")
    ok(not pcall(ind.bollinger, 20, "2"), "bollinger with a string width raises")
    ok(not pcall(ind.stddev, 20, 2), "stddev with ddof 2 raises")
end

io.write("1..", tests, "\n")
os.exit(failed == 0 and 0 or 1)
