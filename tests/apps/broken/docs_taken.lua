-- An app route on the docs' path, docs left on: a load error saying how to move them.
local moontide = require "moontide"
local app = moontide.app { title = "taken", version = "1" }
app:get("/docs", function(req) return {} end)
return app
