local moontide = require "moontide"
local app = moontide.app {}
app:get("/x", function() return {} end)
