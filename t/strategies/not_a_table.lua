local function on_bar(ctx, bar) end
return on_bar
