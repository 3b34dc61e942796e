-- An interpreted endless loop in on_bar: jit.off() keeps it out of the JIT,
-- so the count hook sees it.
jit.off()
local S = {}

function S.on_bar(ctx, bar)
  local n = 0
  while true do n = n + 1 end
end

return S
