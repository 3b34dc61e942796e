--[[
market_maker.lua -- market making with inventory skew, after Avellaneda and
Stoikov (2008), "High-frequency trading in a limit order book" (tick data).

Keeps one post-only bid and one post-only ask around a reservation price
that leans against the inventory:

  reservation = mid - q * gamma * sigma^2 * T
  spread      = gamma * sigma^2 * T + (2 / gamma) * ln(1 + gamma / kappa)
  bid, ask    = reservation -/+ spread / 2 (at least min_spread_bps wide)

q is the inventory in quote sizes (inventory / qty), sigma^2 the variance of
the mid per second, estimated online from the mid's changes sampled every
sample_ms (an exponentially weighted mean of squared changes), T the horizon
in seconds (a constant: the infinite-horizon reading of the model, no session
end). Long inventory lowers both quotes (sell sooner, buy later), short
inventory raises them. The inventory is what the strategy has bought less
what it has sold, from its own fills, kept in ctx.state.inventory: base asset
the account held before is not inventory, and a restart keeps the count.

Quotes are cancelled and replaced when the mid has moved more than
requote_bps from the mid they were made at, when they are older than
refresh_ms (checked every sample_ms by a timer), and after a fill (the skew
changed). No bid is made at or beyond +max_position of inventory, no ask at
or beyond -max_position. A quote that would cross the book is moved to the touch, so
post-only never refuses it for crossing in the strategy's own view.

Params (defaults):
  symbol         = "BTCUSDT"
  qty            = 0.001   size of each quote
  gamma          = 0.01    risk aversion (per quote-size of inventory)
  kappa          = 1.0     order arrival decay, per unit of price
  horizon_s      = 10      T, seconds
  sample_ms      = 1000    sigma sampling and timer period
  vol_halflife   = 30      samples; the EWMA's half-life
  warmup         = 10      samples before the first quote
  requote_bps    = 1.0     mid move that replaces the quotes
  refresh_ms     = 5000    age that replaces the quotes
  min_spread_bps = 5       the narrowest spread quoted (above twice the maker
                           fee, or every round trip loses)
  max_position   = 0.005   inventory limit, base units, each side

Data: L2 book data (a capture, Tardis incremental_book_L2). On spot the asks
sell base asset the account holds: start with some, e.g.

  lutra backtest scripts/market_maker.lua --data btcusdt_20240808.gz --balance BTC=1

Limits: the model's parameters are in price units and need tuning per
market; cancels and new quotes cross in flight, so with latency a fill of an
old quote can take the inventory one qty past max_position; no adverse
selection or queue modelling in the strategy itself.
]]

local log, max, abs = math.log, math.max, math.abs

local S = {
    params = {
        symbol = "BTCUSDT", qty = 0.001, gamma = 0.01, kappa = 1.0, horizon_s = 10,
        sample_ms = 1000, vol_halflife = 30, warmup = 10, requote_bps = 1.0,
        refresh_ms = 5000, min_spread_bps = 5, max_position = 0.005,
    },
}

local P, EPS
local var, samples, last_mid, last_sample_ms = 0, 0, nil, nil
local alpha
local bid_id, ask_id
local quoted_mid, quoted_at, stale = nil, nil, true
-- One request table per side, refilled for each quote: no allocation per quote.
local bid_req = { symbol = "", qty = 0, price = 0, type = "limit", tif = "post_only", tag = "mm" }
local ask_req = { symbol = "", qty = 0, price = 0, type = "limit", tif = "post_only", tag = "mm" }

local function is_open(status)
    return status == "new" or status == "partially_filled"
end

-- sigma^2 per second from the mid's change since the last sample.
local function sample(ctx)
    local book = ctx:book(P.symbol)
    local mid = book and book:mid()
    local now = ctx:now()
    if not mid then return end
    if last_mid then
        local dt = (now - last_sample_ms) / 1000
        local d = mid - last_mid
        samples = samples + 1
        -- A plain mean of the first samples, then the EWMA: no bias from 0.
        var = var + max(alpha, 1 / samples) * (d * d / dt - var)
    end
    last_mid, last_sample_ms = mid, now
    if quoted_at and now - quoted_at >= P.refresh_ms then stale = true end
end

local function cancel_quotes(ctx)
    if bid_id then ctx:cancel(bid_id) end
    if ask_id then ctx:cancel(ask_id) end
    bid_id, ask_id = nil, nil
end

local function place(ctx, req, price, send)
    req.price = ctx:round_price(P.symbol, price)
    local id, why = send(ctx, req)
    if not id then ctx:log("debug", "quote at %.2f refused: %s", req.price, why) end
    return id
end

local function quote(ctx, book, mid)
    local best_bid = book:best_bid()
    local best_ask = book:best_ask()
    local inv = ctx.state.inventory
    local q = inv / P.qty
    local risk = P.gamma * var * P.horizon_s
    local reservation = mid - q * risk
    local half = max((risk + 2 / P.gamma * log(1 + P.gamma / P.kappa)) / 2,
                     mid * P.min_spread_bps / 20000)
    local bid, ask = reservation - half, reservation + half
    if bid >= best_ask then bid = best_bid end
    if ask <= best_bid then ask = best_ask end
    cancel_quotes(ctx)
    if inv < P.max_position - EPS then bid_id = place(ctx, bid_req, bid, ctx.buy) end
    if inv > -P.max_position + EPS then ask_id = place(ctx, ask_req, ask, ctx.sell) end
    quoted_mid, quoted_at, stale = mid, ctx:now(), false
end

function S.on_start(ctx)
    P = ctx.params
    ctx.state.inventory = ctx.state.inventory or 0
    EPS = P.qty * 1e-6
    alpha = 1 - 0.5 ^ (1 / P.vol_halflife)
    bid_req.symbol, ask_req.symbol = P.symbol, P.symbol
    bid_req.qty, ask_req.qty = P.qty, P.qty
    ctx:every(P.sample_ms, sample)
end

function S.on_book(ctx, book)
    if book.symbol ~= P.symbol or samples < P.warmup then return end
    local mid = book:mid()
    if not mid then return end
    if stale or abs(mid - quoted_mid) >= quoted_mid * P.requote_bps / 10000 then
        quote(ctx, book, mid)
    end
end

function S.on_order(_, o)
    if is_open(o.status) then return end
    if o.id == bid_id then bid_id = nil end
    if o.id == ask_id then ask_id = nil end
end

function S.on_fill(ctx, f)
    if f.symbol ~= P.symbol then return end
    local st = ctx.state
    st.inventory = st.inventory + (f.side == "buy" and f.qty or -f.qty)
    stale = true
end

function S.on_stop(ctx)
    cancel_quotes(ctx)
    ctx:log("info", "market_maker: inventory %.8f, sigma %.4f per second",
            ctx.state.inventory, var ^ 0.5)
end

return S
