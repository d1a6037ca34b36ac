local moontide = require "moontide"
local app = moontide.app {}
app:get("/x/{id}", { params = { { "id", "integr" } } }, function(id) return {} end)
app:get("/y", { params = { { "q", "string", minimum = 1 } } }, function(q) return {} end)
app:get("/z", { returns = "Nope" }, function() return {} end)
---@param q string
app:get("/w", { params = { { "q", "string" } } }, function(q) return {} end)
app:get("/v", { status = 99 }, function() return {} end)
return app
