-- bench/lib/isolation.py's app: handlers that fail in every way a handler can.
local moontide = require "moontide"
local app = moontide.app { title = "isolation", version = "1.0.0" }

-- waits past --timeout: 504, its sleep cancelled
app:get("/wait", function(req)
  moontide.sleep(3600)
end)

-- a Lua error: 500
app:get("/error", function(req)
  error("failing on purpose")
end)

-- allocates past --max-lua-memory: 500
app:get("/hog", function(req)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
end)

-- holds the CPU in interpreted code past --timeout: stopped by the hook, 504
app:get("/spin", function(req)
  jit.off(true, true)
  while true do end
end)

-- holds the CPU in a JIT-compiled loop: its worker is replaced
app:get("/runaway", function(req)
  local x = 0
  while true do x = x + 1 end
end)

app:get("/ok", function(req)
  return { ok = true }
end)

return app
