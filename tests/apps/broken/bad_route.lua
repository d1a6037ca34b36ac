local moontide = require "moontide"
local app = moontide.app {}
app:get("/ok", function() return {} end)
app:get("/items/{id", function() return {} end)
return app
