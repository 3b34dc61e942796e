-- Spins forever in the first on_bar, in a loop the JIT compiles: no hook can
-- interrupt it, the watchdog thread must end the process.
local S = { params = { symbol = "TEST/USD" } }

function S.on_bar(ctx, bar)
    local x = 0
    while true do
        x = (x + 1) % 1000003
    end
end

return S
