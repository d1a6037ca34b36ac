-- app:static, app:cors, app:gzip and request IDs together (tests/blackbox/test_static.py, test_cors.py, test_gzip.py, test_request_id.py).
local moontide = require "moontide"
local app = moontide.app { title = "static files", version = "1" }

app:static("/assets", "public")
app:static("/", "public/sub")

app:cors {
  allow_origins = { "https://a.example" },
  allow_origin_regex = "https://[a-z]+\\.allowed\\.example",
  allow_methods = { "GET", "POST" },
  allow_headers = { "X-Token" },
  expose_headers = { "X-Request-ID", "X-Total" },
  max_age = 120,
}

app:gzip { minimum_size = 100 }

app:get("/small", function(req)
  return { ok = true }
end)

app:get("/big", function(req)
  local items = {}
  for i = 1, 200 do items[i] = { id = i, name = "item number " .. i } end
  return items
end)

app:get("/encoded", function(req)
  return moontide.response { body = string.rep("z", 1000), headers = { ["content-encoding"] = "identity-ish", ["content-type"] = "text/plain" } }
end)

app:get("/png", function(req)
  return moontide.response { body = string.rep("\0", 1000), headers = { ["content-type"] = "image/png" } }
end)

app:get("/fail", function(req)
  error("boom " .. req.id)
end)

app:get("/id", function(req)
  return { id = req.id }
end)

app:get("/id-header", function(req)
  return { id = req.id, header = req.headers["x-request-id"] }
end)

---@param n integer
---@param gap number
app:get("/stream", function(n, gap)
  return moontide.stream(function(send)
    for i = 1, n do
      send(string.rep("line " .. i .. " ", 20) .. "\n")
      if i < n then moontide.sleep(gap) end
    end
  end)
end)

---@param n integer
---@param gap number
app:get("/events", function(n, gap)
  return moontide.sse(function(emit)
    for i = 1, n do
      emit { data = string.rep("event " .. i .. " ", 20) }
      if i < n then moontide.sleep(gap) end
    end
  end)
end)

return app
