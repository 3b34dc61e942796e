-- Many strings, the allocation failure caught: the limit must still hold.
local kept = {}
pcall(function()
  for i = 1, 1000000 do kept[i] = string.rep("x", 1000) .. i end
end)
return {}
