local S = {}
local cfg = nil
local n = cfg.size -- fails while the file runs
function S.on_bar(ctx, bar) end
return S
