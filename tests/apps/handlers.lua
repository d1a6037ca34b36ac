-- Exercises the request object and every way a handler can answer.
local moontide = require "moontide"
local app = moontide.app { title = "handlers" }

app:get("/request/{a}/{b}", function(req)
  return {
    method = req.method, path = req.path, params = req.params, query = req.query,
    header = req.headers["x-test"], client = req.client, http_version = req.http_version,
    same_table = req.query == req.query,
  }
end)
app:post("/body", function(req)
  return { body = req.body, length = #req.body, content_type = req.headers["content-type"] }
end)
app:post("/json", function(req) return { got = req.json } end)
app:get("/text", function() return "plain text" end)
app:get("/status", function() return { created = true }, 201, { ["X-Custom"] = "yes", ["set-cookie"] = { "a=1", "b=2" } } end)
app:get("/nil", function() end)
app:get("/no-content", function() return nil, 204 end)
app:get("/number", function() return 42 end)
app:get("/empty-array", function() return { items = moontide.array(), obj = {} } end)
app:get("/numbers", function() return { int = 7, float = 2.5, big = 2 ^ 53, neg = -3, whole = 10.0 } end)
app:get("/null", function() return { a = moontide.null, b = { 1, moontide.null, 3 } } end)
app:get("/raise", function() moontide.raise(404, "Item not found") end)
app:get("/raise-table", function() moontide.raise(409, { reason = "conflict", id = 3 }, { ["retry-after"] = "5" }) end)
app:get("/response", function()
  return moontide.response { status = 202, headers = { ["content-type"] = "application/xml" }, body = "<ok/>" }
end)
app:get("/response-table", function() return moontide.response { body = { ok = true } } end)
app:get("/html", function() return moontide.html("<h1>hi</h1>") end)
app:get("/plain", function() return moontide.text("hello", 203) end)
app:get("/json-lib", function()
  local decoded = moontide.json.decode('{"a":[1,2]}')
  return moontide.json.encode(decoded), 200, { ["content-type"] = "application/json" }
end)
app:route({ "PUT", "PATCH" }, "/multi", function(req) return { method = req.method } end)
app:route("OPTIONS", "/opts", function() return nil, 204, { allow = "GET" } end)
app:delete("/items/{id}", function(req) return { deleted = req.params.id } end)
app:get("/items/new", function() return { literal = true } end)
app:get("/items/{id}", function(req) return { id = req.params.id } end)
app:get("/", function() return { root = true } end)
app:get("/after", function(req) local saved = req; return { ok = true } end)

-- The request object is made only for a handler whose bytecode reads its
-- first parameter; peek() looks at that parameter through the debug library,
-- which the check does not see, so it tells whether the object was made.
local function peek()
  local _, value = debug.getlocal(2, 1)
  return type(value)
end
local upvalue = "up"
app:get("/reads/none", function(req) return { got = peek() } end)
app:get("/reads/other-closure", function(req)
  local f = function() return upvalue end
  return { got = peek(), f = f() }
end)
app:get("/reads/field", function(req) return { got = peek(), path = req.path } end)
app:get("/reads/closure", function(req)
  local f = function() return req.path end
  return { got = peek(), path = f() }
end)
app:get("/reads/nested-closure", function(req)
  local f = function() return function() return req.path end end
  return { got = peek(), path = f()() }
end)
app:get("/reads/vararg", function(...)
  local req = ...
  return { path = req.path }
end)
app:get("/reads/passed", function(req) return { got = peek(), s = tostring(req) } end)
app:get("/reads/assigned", function(req)
  req = { path = "replaced" }
  return { path = req.path }
end)
app:get("/reads/returned", function(req) return req.query end)
app:get("/reads/in-loop", function(req)
  local paths = {}
  for i = 1, 2 do paths[i] = req.path end
  return { got = peek(), paths = paths }
end)

local kept
app:get("/keep", function(req) kept = req; return { ok = true } end)
app:get("/use-kept", function() return { path = kept.path } end)

return app
