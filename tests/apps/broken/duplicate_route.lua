local moontide = require "moontide"
local app = moontide.app {}
app:get("/items/{id}", function() return {} end)
app:get("/items/{item_id}", function() return {} end)
return app
