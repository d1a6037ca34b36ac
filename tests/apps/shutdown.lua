-- Graceful shutdown under load: requests and streams that take a while, each
-- noting in the file named by SHUTDOWN_LOG that it started.
local moontide = require "moontide"
local app = moontide.app { title = "shutdown", version = "1.0.0" }

local function started(what)
  local f = assert(io.open(os.getenv("SHUTDOWN_LOG"), "a"))
  f:write(what, "\n")
  f:close()
end

---@param s number
app:get("/slow", function(s)
  started("slow")
  moontide.sleep(s)
  return { ok = true, slept = s }
end)

---@param n integer
---@param gap number
app:get("/stream", function(n, gap)
  return moontide.sse(function(emit)
    started("stream")
    for i = 1, n do
      moontide.sleep(gap)
      emit { data = { i = i } }
    end
  end)
end)

return app
