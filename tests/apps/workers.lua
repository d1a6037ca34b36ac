-- For the process model: which worker answered, a slow handler, a runaway one.
local moontide = require "moontide"
local ffi = require "ffi"
ffi.cdef "int getpid(void);"
local app = moontide.app { title = "workers" }

app:get("/pid", function() return { pid = ffi.C.getpid() } end)

-- Holds the CPU for ?ms= milliseconds (default 500), then answers.
app:get("/busy", function(req)
  local ms = tonumber(req.query.ms) or 500
  local deadline = os.clock() + ms / 1000
  while os.clock() < deadline do end
  return { done = true, pid = ffi.C.getpid() }
end)

-- Never returns: a JIT-compiled loop that no hook can interrupt. Writes its
-- worker's pid to $MOONTIDE_TEST_MARKER first, so a test knows the loop began.
app:get("/runaway", function()
  local marker = os.getenv "MOONTIDE_TEST_MARKER"
  if marker then
    local f = assert(io.open(marker .. ".tmp", "w"))
    f:write(ffi.C.getpid())
    f:close()
    os.rename(marker .. ".tmp", marker)
  end
  local x = 0
  while true do x = x + 1 end
end)

-- Holds the CPU in interpreted code (the JIT is off for this function): the
-- master's --timeout signal sets a hook that stops it with a 504.
app:get("/spin", function()
  jit.off(true, true)
  local x = 0
  while true do x = x + 1 end
end)

return app
