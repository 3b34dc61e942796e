-- Tries to catch the limit's error and keep going: the limit must hold.
while true do
  pcall(function() while true do end end)
end
return {}
