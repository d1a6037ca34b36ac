-- bench/apps/moontide-bench.lua: moontide's side of the benchmarks (shared/BENCH.md).
--
-- W2 and W3 are declared with annotations: the C core converts, validates
-- and (W3) writes the response model; the handlers hold no validation code.
-- W4 streams Server-Sent Events: each event goes out as soon as the
-- connection takes it (events made while a write is in flight leave together
-- in the next one).
--
-- Run: moontide run bench/apps/moontide-bench.lua --port PORT --workers 1
local moontide = require "moontide"
local app = moontide.app { title = "bench", version = "1.0.0" }

---@class Dims
---@field w number
---@field h number

---@class Item
---@field name string {minLength=1, maxLength=100}
---@field price number {exclusiveMinimum=0}
---@field tags? string[] {maxItems=10}
---@field status "draft"|"published"
---@field dims? Dims

-- W1
app:get("/hello", function(req)
  return { message = "Hello, World!" }
end)

-- W2
---@param id integer
---@param q? string {maxLength=50}
app:get("/items/{id}", function(id, q)
  return { id = id, q = q == nil and moontide.null or q }
end)

-- W3: the validated item echoed, written by its class
---@param item Item
---@return Item
app:post("/items", function(item)
  return item
end)

-- W4
---@param n integer
app:get("/stream", function(n)
  return moontide.sse(function(emit)
    for i = 1, n do
      emit { data = { i = i } }
    end
  end)
end)

-- Held open (bench/lib/hold_open.py): one event, then idle until the client leaves.
app:get("/idle", function(req)
  return moontide.sse(function(emit)
    emit { data = "open" }
    moontide.sleep(3600)
  end)
end)

-- The same three routes without annotations, validated by hand in Lua, to
-- measure what annotations cost (bench/lib/annotation_cost.py).
local find, gsub, type = string.find, string.gsub, type

local function utf8_len(s)
  local _, n = gsub(s, "[^\128-\191]", "")
  return n
end

app:get("/plain/items/{id}", function(req)
  local id = req.params.id
  if not find(id, "^%-?%d+$") or #id > 16 then
    moontide.raise(422, "id must be an integer")
  end
  local q = req.query.q
  if q ~= nil and utf8_len(q) > 50 then
    moontide.raise(422, "q is too long")
  end
  return { id = tonumber(id), q = q == nil and moontide.null or q }
end)

app:post("/plain/items", function(req)
  local item = req.json
  if type(item) ~= "table" then moontide.raise(422, "body") end
  local name, price, tags, status, dims = item.name, item.price, item.tags, item.status, item.dims
  if type(name) ~= "string" or utf8_len(name) < 1 or utf8_len(name) > 100 then moontide.raise(422, "name") end
  if type(price) ~= "number" or not (price > 0) then moontide.raise(422, "price") end
  if tags ~= nil then
    if type(tags) ~= "table" or #tags > 10 then moontide.raise(422, "tags") end
    for i = 1, #tags do
      if type(tags[i]) ~= "string" then moontide.raise(422, "tags") end
    end
  end
  if status ~= "draft" and status ~= "published" then moontide.raise(422, "status") end
  if dims ~= nil and (type(dims) ~= "table" or type(dims.w) ~= "number" or type(dims.h) ~= "number") then
    moontide.raise(422, "dims")
  end
  return {
    name = name, price = price, status = status,
    tags = tags == nil and moontide.null or moontide.array(tags),
    dims = dims == nil and moontide.null or { w = dims.w, h = dims.h },
  }
end)

-- Cost of growth (bench/lib/growth.py). W3 with larger bodies: an array of
-- items, each validated as W3's, answered with their count.
---@param items Item[]
app:post("/batch", function(items)
  return { count = #items }
end)

-- BENCH_ROUTES=N pads the app to N routes in all (the 8 above count) with
-- routes shaped like a real API's: /api/v1/res<i> and /api/v1/res<i>/{id}.
local padding = (tonumber(os.getenv("BENCH_ROUTES")) or 0) - 8
for i = 1, padding do
  local path = i % 2 == 0 and "/api/v1/res" .. i .. "/{id}" or "/api/v1/res" .. i
  app:get(path, function(req)
    return { route = i }
  end)
end

return app
