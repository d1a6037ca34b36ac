-- The upstream that tests/apps/http_client.lua calls (tests/blackbox/test_http_client.py).
local moontide = require "moontide"
local app = moontide.app { title = "http upstream", version = "1" }

app:get("/json", function(req)
  return { hello = "world" }, 200, { ["x-one"] = "1", ["x-twice"] = { "a", "b" } }
end)

app:route({ "GET", "POST", "PUT", "PATCH", "DELETE" }, "/echo", function(req)
  return { method = req.method, headers = req.headers, query = req.query, body = req.body }
end)

---@param s number
app:get("/slow", function(s)
  moontide.sleep(s)
  return { slept = s }
end)

---@param code integer
app:get("/status/{code}", function(code)
  return moontide.response { status = code }
end)

---@param mib number
app:get("/big", function(mib)
  return string.rep("x", mib * 1048576)
end)

return app
