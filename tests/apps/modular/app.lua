-- An app directory: `require` finds the app's own modules first.
local moontide = require "moontide"
local greet = require "lib.greet"
local app = moontide.app { title = "modular" }
app:get("/greet/{name}", function(req) return { message = greet(req.params.name) } end)
return app
