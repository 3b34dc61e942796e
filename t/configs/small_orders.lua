-- Risk limits for the engine-level risk test.
return { risk = { max_order_notional = 100 } }
