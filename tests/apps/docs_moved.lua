-- Docs moved (and ReDoc turned off) through moontide.app{}.
local moontide = require "moontide"
local app = moontide.app { title = "moved", version = "1", openapi_url = "/api/openapi.json",
                           docs_url = "/api/docs", redoc_url = false }
app:get("/docs", function(req) return { mine = true } end)
return app
