-- A one-shot and a repeating timer; the repeating one cancels itself on its
-- third run. Every fire logs the time it ran at.
local S = {}
local ticks = 0

function S.on_start(ctx)
  ctx:after(100, function(c, timer)
    ctx:log("info", "after at %.0f same_ctx=%s active=%s", c:now(), tostring(c == ctx),
            tostring(timer:active()))
  end)
  ctx:every(50, function(c, timer)
    ticks = ticks + 1
    ctx:log("info", "every #%d at %.0f", ticks, c:now())
    if ticks == 3 then
      ctx:log("info", "cancel -> %s, again -> %s", tostring(timer:cancel()), tostring(timer:cancel()))
    end
  end)
  local never = ctx:after(10, function() ctx:log("info", "never") end)
  ctx:log("info", "cancel pending -> %s", tostring(never:cancel()))
end

return S
