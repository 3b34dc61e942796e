-- Each misuse raises an error that names this file and the calling line.
local S = {}

local cases = {
  function(ctx) ctx:buy{ qty = 1, price = 1 } end,                          -- line 5
  function(ctx) ctx:buy{ symbol = "NOPE", qty = 1, price = 1 } end,         -- line 6
  function(ctx) ctx:buy{ symbol = "BTCUSDT", qty = "1", price = 1 } end,    -- line 7
  function(ctx) ctx:buy{ symbol = "BTCUSDT", qty = 1, type = "iceberg" } end, -- line 8
  function(ctx) ctx:sell{ symbol = "BTCUSDT", qty = 1, price = 1, tif = "day" } end, -- line 9
  function(ctx) ctx:buy{ symbol = "BTCUSDT", quantity = 1 } end,            -- line 10
  function(ctx) ctx.buy{ symbol = "BTCUSDT", qty = 1 } end,                 -- line 11
  function(ctx) ctx:buy{ symbol = "BTCUSDT", qty = 1, type = "market", price = 5 } end, -- line 12
  function(ctx) ctx:position(42) end,                                       -- line 13
  function(ctx) ctx:after("soon", function() end) end,                      -- line 14
  function(ctx) ctx:log("loud", "x") end,                                   -- line 15
  function(ctx) ctx:book("BTCUSDT"):bid(0) end,                             -- line 16
}

function S.on_start(ctx)
  for i, case in ipairs(cases) do
    local ok, err = pcall(case, ctx)
    ctx:log("info", "%d %s", i, ok and "no error" or tostring(err))
  end
end

return S
