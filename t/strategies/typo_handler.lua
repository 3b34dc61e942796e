local S = {}
function S.on_tick(ctx, t) end
return S
