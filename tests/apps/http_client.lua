-- Handlers that call other servers with moontide.http.request
-- (tests/blackbox/test_http_client.py). UPSTREAM is a moontide app
-- (http_upstream.lua); the test passes other upstreams' URLs as parameters.
local moontide = require "moontide"
local ffi = require "ffi"
local app = moontide.app { title = "http client", version = "1" }
local UPSTREAM = os.getenv("UPSTREAM")

ffi.cdef [[
struct mt_test_timespec { long sec, nsec; };
int clock_gettime(int clock, struct mt_test_timespec *ts);
]]
local ts = ffi.new("struct mt_test_timespec")
-- CLOCK_MONOTONIC, the clock of Python's time.monotonic(): the test compares the two.
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.sec) + tonumber(ts.nsec) * 1e-9
end

-- Any request, its options in the JSON body; a failure comes back as { ok = false, res = message }.
app:post("/call", function(req)
  local ok, res = pcall(moontide.http.request, req.json)
  return { ok = ok, res = res }
end)

-- The same without pcall: a failure is the handler's error.
---@param url string
app:get("/uncaught", function(url)
  return moontide.http.request { url = url }.status
end)

-- The upstream's one-second route, for many at once.
app:get("/slow", function(req)
  return moontide.http.request { url = UPSTREAM .. "/slow?s=1" }.status
end)

-- `times` requests one after the other; their bodies.
---@param url string
---@param times integer
---@param verify? boolean
app:get("/again", function(url, times, verify)
  local bodies = moontide.array()
  for i = 1, times do
    bodies[i] = moontide.http.request { url = url, verify = verify }.body
  end
  return bodies
end)

-- A streamed body: each chunk with the time it arrived.
---@param url string
app:get("/stream", function(url)
  local res = moontide.http.request { url = url, stream = true }
  local chunks, times = moontide.array(), moontide.array()
  for chunk in res.body do
    chunks[#chunks + 1] = chunk
    times[#times + 1] = now()
  end
  return { status = res.status, type = res.headers["content-type"], chunks = chunks, times = times,
           after_end = res.body() == nil }
end)

-- Reads the first chunk and returns, leaving the rest unread.
---@param url string
app:get("/stream-first", function(url)
  local res = moontide.http.request { url = url, stream = true }
  return { first = res.body() }
end)

-- Reads the first chunk, drops the response for the collector, then waits.
---@param url string
app:get("/stream-dropped", function(url)
  local res = moontide.http.request { url = url, stream = true }
  local first = res.body()
  res = nil
  collectgarbage()
  collectgarbage()
  moontide.sleep(1)
  return { first = first, left = now() }
end)

-- Reads the first chunk, then waits without reading.
---@param url string
app:get("/stream-then-sleep", function(url)
  local res = moontide.http.request { url = url, stream = true }
  local first = res.body()
  moontide.sleep(30)
  return { first = first }
end)

-- Reads the first chunk, sleeps a second, then reads the rest; counts the bytes.
---@param url string
app:get("/stream-slowly", function(url)
  local res = moontide.http.request { url = url, stream = true }
  local bytes = #res.body()
  moontide.sleep(1)
  for chunk in res.body do bytes = bytes + #chunk end
  return { bytes = bytes }
end)

-- A streamed upstream body relayed to the client as it comes.
---@param url string
app:get("/relay", function(url)
  local res = moontide.http.request { url = url, stream = true }
  return moontide.stream(function(send)
    for chunk in res.body do
      if not send(chunk) then return end
    end
  end, { status = res.status })
end)

-- A stream that fails: what came before the error, the error, and the error again.
---@param url string
---@param timeout? number
app:get("/stream-error", function(url, timeout)
  local res = moontide.http.request { url = url, stream = true, timeout = timeout }
  local got = {}
  local ok, err = pcall(function()
    for chunk in res.body do got[#got + 1] = chunk end
  end)
  local _, again = pcall(res.body)
  return { ok = ok, err = err, got = table.concat(got), again = again }
end)

-- The size of a streamed body, counted without keeping it.
---@param url string
app:get("/stream-count", function(url)
  local res = moontide.http.request { url = url, stream = true }
  local bytes, pieces = 0, 0
  for chunk in res.body do
    bytes, pieces = bytes + #chunk, pieces + 1
  end
  return { bytes = bytes, pieces = pieces }
end)

-- Called while the app loads: an error.
local load_ok, load_err = pcall(moontide.http.request, { url = "http://127.0.0.1:1/" })
app:get("/at-load", function(req)
  return { ok = load_ok, err = load_err }
end)

-- LeakSanitizer's count of leaks in this worker, in a build that has it (null otherwise).
app:get("/leaks", function(req)
  pcall(ffi.cdef, "int __lsan_do_recoverable_leak_check(void);")
  local ok, leaks = pcall(function() return ffi.C.__lsan_do_recoverable_leak_check() end)
  return { leaks = ok and leaks or moontide.null }
end)

return app
