-- t/strategy.c: a strategy that leaves garbage behind in on_start and
-- allocates nothing after it (strategy_collect_step).
local S = {}

function S.on_start(ctx)
    local keep = {}
    for i = 1, 20000 do
        keep[i] = { i, tostring(i) } -- garbage once on_start returns
    end
end

return S
