-- A short runaway-handler limit, for the watchdog tests.
return { handler_timeout_ms = 200 }
