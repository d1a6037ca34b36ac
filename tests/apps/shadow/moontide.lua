-- An app file named like the framework: `require "moontide"` must still load the framework.
local moontide = require "moontide"
local app = moontide.app { title = "shadow" }
app:get("/ok", function() return { framework = moontide.VERSION ~= nil } end)
return app
