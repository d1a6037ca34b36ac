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

return app
