-- One huge string: the memory limit must refuse it.
local big = string.rep("x", 512 * 1024 * 1024)
return { state_dir = big }
