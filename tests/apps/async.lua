-- Handlers that wait (tests/blackbox/test_async.py).
local moontide = require "moontide"
local app = moontide.app { title = "async", version = "1" }

---@param s number
app:get("/sleep", function(s)
  moontide.sleep(s)
  return { slept = s }
end)

-- Several waits in a row, and a wait inside pcall.
app:get("/steps", function(req)
  local steps = {}
  for i = 1, 3 do
    moontide.sleep(0.01)
    steps[#steps + 1] = i
  end
  local ok = pcall(moontide.sleep, 0.01)
  return { steps = steps, pcall = ok }
end)

app:get("/fast", function(req) return { fast = true } end)

-- A coroutine of the handler's own cannot wait: only the handler itself can.
app:get("/nested", function(req)
  local co = coroutine.create(function() moontide.sleep(0.01) end)
  local ok, err = coroutine.resume(co)
  return { ok = ok, err = err }
end)

app:get("/sleep-then-fail", function(req)
  moontide.sleep(0.01)
  error("failed after waiting")
end)

app:get("/sleep-then-raise", function(req)
  moontide.sleep(0.01)
  moontide.raise(409, "conflict after waiting")
end)

app:get("/bad-sleep", function(req)
  moontide.sleep(-1)
end)

return app
