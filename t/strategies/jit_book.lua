-- Reads the book the way hot handlers do, often enough for the JIT to
-- compile it: values read after one FFI call must survive the next call.
local S = {}
local ordered, decreasing, calls = 0, 0, 0

function S.on_book(ctx, book)
  calls = calls + 1
  local bid = book:best_bid()
  local ask = book:best_ask()
  if bid < ask then ordered = ordered + 1 end
  local p1 = book:bid(1)
  local p2 = book:bid(2)
  if p1 > p2 then decreasing = decreasing + 1 end
end

function S.on_stop(ctx)
  ctx:log("info", "calls=%d ordered=%d decreasing=%d", calls, ordered, decreasing)
end

return S
