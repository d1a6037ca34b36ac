-- No OpenAPI document: the pages that show it are off too.
local moontide = require "moontide"
local app = moontide.app { title = "off", version = "1", openapi_url = false }
app:get("/x", function(req) return {} end)
return app
