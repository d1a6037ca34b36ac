local moontide = require "moontide"
local app = moontide.app {}
app:get("/x", "not a function")
return app
