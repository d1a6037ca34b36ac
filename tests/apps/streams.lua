-- Streamed responses (tests/blackbox/test_stream.py).
local moontide = require "moontide"
local app = moontide.app { title = "streams", version = "1" }

local status = { sent = {}, gone = {} } -- per worker: what producers saw

---@param n integer
---@param gap number
app:get("/count", function(n, gap)
  return moontide.stream(function(send)
    for i = 1, n do
      send("chunk " .. i .. "\n")
      if i < n then moontide.sleep(gap) end
    end
  end, { headers = { ["x-stream"] = "yes" } })
end)

app:get("/events", function(req)
  return moontide.sse(function(emit, last_event_id)
    emit { comment = "hello" }
    emit { event = "start", id = 1, retry = 2500, data = { last = last_event_id or moontide.null } }
    emit { data = "two\nlines" }
    emit { data = "crlf\r\nand cr\rend" }
    emit "plain"
    emit { event = "n", data = 42 }
  end)
end)

-- Bad events raise, and leave nothing half-written in the stream.
app:get("/emit-errors", function(req)
  return moontide.sse(function(emit)
    local bad = {
      { comment = "c", event = "two\nlines" }, { id = "a\rb" }, { retry = 1.5 }, { retry = "soon" },
      { bogus = 1 }, { data = function() end }, { comment = "ok", data = { 1, 2, 3 }, id = {} },
    }
    for _, event in ipairs(bad) do
      local ok, err = pcall(emit, event)
      emit { data = tostring(ok) .. " " .. err:gsub("^.-emit: ", "") }
    end
  end)
end)

---@param keepalive number
---@param wait number
app:get("/idle", function(keepalive, wait)
  return moontide.sse(function(emit)
    moontide.sleep(wait)
    emit { data = "late" }
  end, { keepalive = keepalive })
end)

-- Sends until the client leaves; records what send said.
---@param id string
app:get("/forever", function(id)
  return moontide.stream(function(send)
    status.sent[id] = 0
    while send(string.rep("x", 1000) .. "\n") do
      status.sent[id] = status.sent[id] + 1
      moontide.sleep(0.02)
    end
    status.gone[id] = true
  end)
end)

-- As fast as it can: 64 KiB chunks; only backpressure holds it.
---@param id string
---@param n integer
app:get("/flood", function(id, n)
  return moontide.stream(function(send)
    status.sent[id] = 0
    local chunk = string.rep("y", 65536)
    for _ = 1, n do
      if not send(chunk) then status.gone[id] = true return end
      status.sent[id] = status.sent[id] + 1
    end
  end)
end)

---@param id string
app:get("/status/{id}", function(id)
  return { sent = status.sent[id] or moontide.null, gone = status.gone[id] or false }
end)

app:get("/fail", function(req)
  return moontide.stream(function(send)
    send("first\n")
    moontide.sleep(0.05)
    error("producer failed after the first chunk")
  end)
end)

app:get("/bad", function(req)
  return moontide.stream(function(send) end, { status = 204 })
end)

app:get("/fast", function(req) return { fast = true } end)

app:post("/echo", function(req) return { got = req.json } end)

-- A stream held open reads its request late, after other requests have come
-- and gone (an HTTP/1.1 stream's request bytes are moved out of h2o's input
-- buffer when it starts: held_input.c).
---@param name string
---@param wait number
---@param req moontide.Request
app:get("/held/{name}", function(name, wait, req)
  return moontide.sse(function(emit)
    moontide.sleep(wait)
    emit { data = { method = req.method, path = req.path, name = name, params = req.params, query = req.query,
                    tag = req.headers["x-tag"], id = req.id } }
  end)
end)

-- A producer that LuaJIT compiles: its traces must serve every later stream too.
---@param n integer
app:get("/burst", function(n)
  return moontide.sse(function(emit)
    for i = 1, n do emit { data = { i = i } } end
  end)
end)

---@param n integer
app:get("/burst-raw", function(n)
  return moontide.stream(function(send)
    for i = 1, n do send("x") end
  end)
end)

-- How many traces the JIT holds now (jit.util is LuaJIT's own introspection).
app:get("/traces", function(req)
  local traceinfo, count = require("jit.util").traceinfo, 0
  for i = 1, 10000 do
    if traceinfo(i) then count = count + 1 end
  end
  return { count = count }
end)

return app
