-- --redis: a limiter counting in Redis (the default with --redis), Redis
-- dicts next to a local one to compare them with, and what a Redis dict says
-- where no request waits. Answers carry the worker's pid.
local moontide = require "moontide"
local ffi = require "ffi"
ffi.cdef "int getpid(void);"
local app = moontide.app { title = "redis" }

local remote = moontide.shared.dict("test", { backend = "redis" })
local here = moontide.shared.dict("test", { size = "1m" })
local flags = moontide.shared.dict("flags") -- local: what the disconnect test watches

-- no request to wait in: these raise
local _, at_load = pcall(function() local v = remote:get("k"); return v end)
local at_startup
app:on_startup(function() _, at_startup = pcall(function() local v = remote:get("k"); return v end) end)

app:provide("Limited", moontide.ratelimit { rate = 5, per = 600, burst = 3 })
app:provide("Local", moontide.ratelimit { rate = 2, per = 600, backend = "local" })

---@param limit Limited
app:get("/limited", function(limit)
  return { pid = ffi.C.getpid(), remaining = limit.remaining }
end)

---@param limit Local
app:get("/local-limited", function(limit)
  return { pid = ffi.C.getpid(), remaining = limit.remaining }
end)

---@param key string
app:post("/incr", function(key)
  local n, err = remote:incr(key, 1, 0)
  return { value = n, err = err, pid = ffi.C.getpid() }
end)

-- Runs the same operations on the Redis dict and on the local one:
-- body {ops = [[method, args...], ...], pause = {["3"] = seconds to sleep after the 3rd op}}.
local function run(dict, ops, pause)
  local results = {}
  for i, op in ipairs(ops) do
    local args = {}
    for j = 2, #op do
      if op[j] ~= moontide.null then args[j - 1] = op[j] end
    end
    local r = { pcall(dict[op[1]], dict, unpack(args, 1, #op - 1)) }
    local out = { ok = r[1] }
    if r[1] then
      out.n = #r - 1 -- trailing nils are not counted
      out.a, out.b = r[2], r[3]
      out.type = type(r[2])
    else
      out.error = tostring(r[2])
    end
    results[i] = out
    if pause[tostring(i)] then moontide.sleep(pause[tostring(i)]) end
  end
  return results
end

app:post("/compare", function(req)
  local body = req.json
  return { redis = run(remote, body.ops, body.pause or {}), ["local"] = run(here, body.ops, body.pause or {}) }
end)

-- waits on Redis; the disconnect test watches the local flags around the wait
---@param key string
app:get("/wait", function(key)
  flags:set("entered", true)
  local n = remote:incr(key, 1, 0)
  flags:set("resumed", true)
  return { value = n }
end)

app:get("/flags", function()
  return { entered = flags:get("entered"), resumed = flags:get("resumed") }
end)

app:get("/outside", function()
  return { at_load = tostring(at_load), at_startup = tostring(at_startup) }
end)

app:get("/pid", function() return { pid = ffi.C.getpid() } end)

-- a failure is a Lua error naming where it happened
app:get("/get", function(req)
  local ok, err = pcall(remote.get, remote, req.query.key or "k")
  return { ok = ok, value = ok and err or nil, error = not ok and tostring(err) or nil }
end)

return app
