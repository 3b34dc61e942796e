-- A table without any on_* function.
return { params = { a = 1 }, helper = function() end }
