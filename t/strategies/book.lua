-- Logs what the book view shows on each on_book.
local S = {}

local function f(...)
  local t = {}
  for i = 1, select("#", ...) do t[#t + 1] = tostring((select(i, ...))) end
  return table.concat(t, ",")
end

function S.on_book(ctx, book)
  local nb, na = book:depth()
  ctx:log("info", "%s ts=%s bid=%s ask=%s bid2=%s ask2=%s bid9=%s mid=%s spread=%s depth=%d/%d synced=%s same=%s",
    book.symbol, string.format("%.3f", book.ts), f(book:best_bid()), f(book:best_ask()), f(book:bid(2)),
    f(book:ask(2)), f(book:bid(9)), tostring(book:mid()), tostring(book:spread()), nb, na,
    tostring(book:synced()), tostring(rawequal(book, ctx:book(book.symbol))))
end

return S
