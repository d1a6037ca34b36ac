return function(name) return "Hi, " .. name end
