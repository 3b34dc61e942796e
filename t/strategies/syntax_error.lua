local S = {}

function S.on_bar(ctx, bar)
  local x = = 1
end

return S
