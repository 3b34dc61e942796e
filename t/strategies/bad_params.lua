return { params = 5, on_bar = function() end }
