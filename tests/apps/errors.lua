-- Handlers that fail in every way a handler can; the worker must survive each.
local moontide = require "moontide"
local app = moontide.app { title = "errors" }

app:get("/ok", function() return { ok = true } end)
app:get("/lua-error", function() local t = nil; return t.field end)
app:get("/error-table", function() error({ code = 1 }) end)
app:get("/header-crlf", function() return { ok = true }, 200, { ["x-injected"] = "a\r\nSet-Cookie: evil=1" } end)
app:get("/header-lf", function() return "x", 200, { ["x-injected"] = "a\nb" } end)
app:get("/header-name", function() return "x", 200, { ["bad name"] = "v" } end)
app:get("/cycle", function() local t = {}; t.self = t; return t end)
app:get("/inf", function() return { x = math.huge } end)
app:get("/nan", function() return { x = 0 / 0 } end)
app:get("/function-body", function() return print end)
app:get("/bad-status", function() return "x", 99 end)
app:get("/yield", function() coroutine.yield() end)
app:post("/echo-size", function(req) return { size = #req.body } end)
app:get("/deep", function()
  local t = {}
  for _ = 1, 5000 do t = { t } end
  return t
end)

return app
