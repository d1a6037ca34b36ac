-- moontide.shared.dict and moontide.ratelimit: a dict every worker reads and
-- writes, and limiters over it. Answers carry the worker's pid.
local moontide = require "moontide"
local ffi = require "ffi"
ffi.cdef "int getpid(void);"
local app = moontide.app { title = "shared" }

local dict = moontide.shared.dict("test", { size = "1m" })
dict:set("loaded", "at load time")

---@param key string
---@param busy_ms? integer Hold the CPU this long first (so that a sibling takes the next connection).
app:get("/get", function(key, busy_ms)
  local deadline = os.clock() + (busy_ms or 0) / 1000
  while os.clock() < deadline do end
  return { value = dict:get(key), pid = ffi.C.getpid() }
end)

---@param key string
---@param value string
---@param kind? "string"|"number"|"boolean"
---@param ttl? number
app:post("/set", function(key, value, kind, ttl)
  local v = value
  if kind == "number" then v = tonumber(value) elseif kind == "boolean" then v = value == "true" end
  local ok, err = dict:set(key, v, ttl)
  return { ok = ok, err = err }
end)

---@param key string
---@param value string
app:post("/add", function(key, value)
  local ok, err = dict:add(key, value)
  return { ok = ok, err = err }
end)

---@param key string
---@param by? number
app:post("/incr", function(key, by)
  local n, err = dict:incr(key, by or 1, 0)
  return { value = n, err = err, pid = ffi.C.getpid() }
end)

---@param key string
app:post("/delete", function(key)
  return { deleted = dict:delete(key) }
end)

-- A wrong use raises an error that names the method and what it wanted.
app:get("/misuse", function()
  local results = {}
  for _, f in ipairs {
    function() dict:set("k", {}) end,
    function() dict.get("k") end,
    function() dict:incr("k", "x") end,
    function() dict:set("", 1) end,
    function() moontide.shared.dict("test2", { size = "lots" }) end,
    function() moontide.ratelimit { rate = 0.5 } end,
    function() moontide.ratelimit { rate = 1, window = 5 } end,
  } do
    local ok, err = pcall(f)
    results[#results + 1] = ok and "no error" or tostring(err):gsub("^.-:%d+: ", "")
  end
  local _, not_number = dict:incr("loaded", 1)
  results[#results + 1] = not_number
  return results
end)

app:provide("Limited", moontide.ratelimit { rate = 5, per = 600, burst = 3 })
app:provide("Quick", moontide.ratelimit { rate = 4, per = 1 })
app:provide("PerUser", moontide.ratelimit {
  rate = 2, per = 600, key = function(req) return req.headers["x-user"] or "anonymous" end,
})

---@param limit Limited
---@param busy_ms? integer
app:get("/limited", function(limit, busy_ms)
  local deadline = os.clock() + (busy_ms or 0) / 1000
  while os.clock() < deadline do end
  return { remaining = limit.remaining, pid = ffi.C.getpid() }
end)

---@param _ Quick
app:get("/quick", function(_) return { ok = true } end)

---@param _ PerUser
app:get("/per-user", function(_) return "ok", 200, { ["x-extra"] = "kept" } end)

-- add_headers from a handler; a raise after it keeps them.
---@param fail? boolean
app:get("/added", function(fail)
  moontide.add_headers { ["x-added"] = "yes", ["x-list"] = { "1", "2" } }
  if fail then moontide.raise(418, "teapot") end
  local ok, err = pcall(moontide.add_headers, { ["x-bad"] = "a\r\nb" })
  local ok2, err2 = pcall(moontide.add_headers, { ["content-type"] = "text/html" })
  return { ok = ok, err = tostring(err):gsub("^.-:%d+: ", ""), ok2 = ok2, err2 = tostring(err2):gsub("^.-:%d+: ", "") }
end)

return app
