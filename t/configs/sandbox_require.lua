-- The sandbox has no require: this line must fail.
local ffi = require("ffi")
return {}
