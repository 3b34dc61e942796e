-- Each on_bar sends the order its step names and logs what came back.
local S = {}
local step = 0

local log

local function show(id, reason)
  log(tostring(id) .. " " .. tostring(reason))
end

function S.on_bar(ctx, bar)
  log = function(msg) ctx:log("info", "%s", msg) end
  step = step + 1
  if step == 1 then
    show(ctx:buy{ symbol = "BTCUSDT", qty = 0.001, price = 61837.63, tag = "entry" })
  elseif step == 2 then
    show(ctx:sell{ symbol = "BTCUSDT", qty = 0.3, price = 0.1 + 0.2, tif = "ioc" })
  elseif step == 3 then
    show(ctx:buy{ symbol = "BTCUSDT", qty = 0.5 })                       -- market by default
  elseif step == 4 then
    show(ctx:sell{ symbol = "BTCUSDT", qty = 0.25, type = "stop", stop_price = 60000.5 })
  elseif step == 5 then
    show(ctx:buy{ symbol = "BTCUSDT", qty = 0.001, price = 61837.635 })  -- finer than the tick
  elseif step == 6 then
    show(ctx:buy{ symbol = "BTCUSDT", qty = 0.0000001, price = 100 })    -- finer than the lot
  elseif step == 7 then
    show(ctx:buy{ symbol = "BTCUSDT", qty = 1, price = 100 })            -- the host refuses
  end
end

return S
