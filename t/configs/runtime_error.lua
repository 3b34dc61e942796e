local limits = { notional = 1000 }
local half = limits.missing.value / 2
return { risk = { max_order_notional = half } }
