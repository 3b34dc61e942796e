-- on_bar fails on its third call; every call counts itself first.
local S = {}
local calls = 0

local function compute(bar)
  local missing = nil
  return missing.value + bar.close -- line 7: attempt to index a nil value
end

function S.on_bar(ctx, bar)
  calls = calls + 1
  ctx:metric("calls", calls)
  if calls == 3 then
    compute(bar)
  end
end

-- A pending timer, to see that failing cancels it.
function S.on_start(ctx)
  ctx:every(1000, function() end)
end

return S
