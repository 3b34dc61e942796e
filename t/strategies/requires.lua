-- Finds a module in the library folder given by lib_path.
local helpers = require("helpers")
local S = {}
function S.on_start(ctx) ctx:log("info", "%s", helpers.greet("lib")) end
return S
