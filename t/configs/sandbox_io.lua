-- The sandbox has no io: this line must fail.
local f = io.open("/etc/passwd")
return {}
