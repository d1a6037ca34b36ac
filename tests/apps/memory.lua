-- A handler that allocates without bound, and one that does not.
local moontide = require "moontide"
local app = moontide.app { title = "memory", version = "1.0.0" }

app:get("/hog", function(req)
  local t = {}
  for i = 1, 1e9 do
    t[i] = string.rep("x", 1000) .. i
  end
  return { never = #t }
end)

app:get("/small", function(req)
  return { ok = true, kb = collectgarbage("count") }
end)

-- Request fields kept per call (req.headers, req.query) and what the
-- worker's registry holds: references a request takes must be given back.
app:get("/fields", function(req)
  return { agent = req.headers["user-agent"], q = req.query.q }
end)

app:get("/registry", function()
  local n = 0
  for _ in pairs(debug.getregistry()) do n = n + 1 end
  return { entries = n }
end)

return app
