-- The smallest moontide app: `moontide run examples/hello`.
local moontide = require "moontide"
local app = moontide.app { title = "Hello", version = "1.0.0" }

app:get("/hello", function(req)
  return { message = "Hello, World!" }
end)

app:get("/hello/{name}", function(req)
  return { message = "Hello, " .. req.params.name .. "!" }
end)

return app
