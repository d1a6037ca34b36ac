-- on_startup / on_shutdown: each worker records them in the file named by
-- LIFECYCLE_LOG, one line per event with its pid; LIFECYCLE_FAIL makes
-- startup fail.
local moontide = require "moontide"
local app = moontide.app { title = "lifecycle", version = "1.0.0" }

local state = { ready = false, order = {} }

-- this process's id (workers are forked: each has its own)
local function pid()
  local f = assert(io.open("/proc/self/stat"))
  local id = f:read("*n")
  f:close()
  return id
end

local function record(event)
  local f = assert(io.open(os.getenv("LIFECYCLE_LOG"), "a"))
  f:write(event, " ", tostring(pid()), "\n")
  f:close()
end

app:on_startup(function()
  state.order[#state.order + 1] = "first"
  state.ready = true
end)

app:on_startup(function()
  state.order[#state.order + 1] = "second"
  if os.getenv("LIFECYCLE_FAIL") then
    error("cannot reach the database")
  end
  record("startup")
end)

app:on_shutdown(function()
  record("shutdown")
end)

app:get("/ready", function(req)
  return { ready = state.ready, order = state.order, pid = pid() }
end)

return app
