-- Params: defaults merged with the host's overrides; S.params and ctx.params
-- are one table.
local S = { params = { symbol = "BTCUSDT", fast = 10, slow = 30, qty = 0.01, live = false } }

function S.on_start(ctx)
  local p = ctx.params
  ctx:log("info", "%s fast=%s slow=%s qty=%s live=%s same=%s mode=%s", p.symbol, tostring(p.fast),
          tostring(p.slow), tostring(p.qty), tostring(p.live), tostring(p == S.params), ctx.mode)
end

return S
