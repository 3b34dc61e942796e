return { greet = function(who) return "hello from " .. who end }
