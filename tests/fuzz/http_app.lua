-- The app the http fuzz target (tests/fuzz/http.c) serves: a little of every
-- way a request reaches Lua (typed path, query, header and cookie
-- parameters, a JSON body with nested models, the request object, a
-- provider) and every way a handler answers (JSON, a response model, raise,
-- a Lua error, a stream, server-sent events, gzip, CORS). Nothing here waits
-- longer than moontide.sleep(0): one input is one request's round trip.
local moontide = require "moontide"
local app = moontide.app { title = "fuzz", version = "1" }

app:gzip { minimum_size = 64 }
app:cors { allow_origins = { "https://a.example" }, allow_headers = { "x-token" }, max_age = 60 }

---@class Dims
---@field w number {minimum=0}
---@field h number {minimum=0}

---@class Item
---@field name string {minLength=1, maxLength=40}
---@field price number {exclusiveMinimum=0}
---@field tags? string[] {maxItems=3, uniqueItems=true}
---@field status "draft"|"published"
---@field dims? Dims
---@field meta? table<string, integer|string>
---@field sku? string {pattern="^[A-Z]{3}-[0-9]{4}$"}

---@class Public
---@field id integer
---@field name string
---@field nick? string

---@param id integer {minimum=1}
---@param q? string {maxLength=5}
---@param limit? integer {default=10, maximum=100}
---@param flag? boolean
---@param ratio? number
---@param tag? string[] {maxItems=2}
---@param kind? "a"|"b"
---@param day? string {format="date"}
app:get("/items/{id}", function(id, q, limit, flag, ratio, tag, kind, day)
  return { id = id, q = q, limit = limit, flag = flag, ratio = ratio, tag = tag, kind = kind, day = day }
end)

---@param item Item
---@status 201
app:post("/items", function(item)
  return item
end)

---@param id integer
---@param item Item
---@param dry_run? boolean
---@return Item
app:put("/items/{id}", function(id, item, dry_run)
  if dry_run then return { name = item.name, price = item.price, status = "draft", secret = id } end
  return item
end)

app:delete("/items/{id}", function(req) return nil, 204 end)

---@param x_token string {in="header", minLength=2}
---@param trace? string {in="header", alias="x-trace-id", format="uuid"}
---@param session? string {in="cookie", maxLength=16}
---@param theme? "dark"|"light" {in="cookie"}
app:get("/auth", function(x_token, trace, session, theme)
  return { token = x_token, trace = trace, session = session, theme = theme }
end)

---@param n integer
---@return Public
app:get("/users/{n}", function(n)
  if n == 1 then return { id = 1, name = "ann", password = "secret" } end
  if n == 2 then return { id = 2, name = 42 } end -- fails its response model: 500
  return { id = n, name = "x", nick = "y" }
end)

---@param code integer
app:get("/raise/{code}", function(code)
  if code == 0 then error("a Lua error") end
  if code == 1 then error({ not_a = "string" }) end
  moontide.raise(code >= 400 and code <= 599 and code or 418, { reason = "raised", code = code }, { ["x-raised"] = "yes" })
end)

-- The request object, untyped: whatever the client sent, read every way.
app:route({ "POST", "PATCH" }, "/echo/{rest}", function(req)
  moontide.sleep(0)
  return {
    method = req.method, path = req.path, params = req.params, query = req.query, headers = req.headers,
    body = req.body, json = req.json, http_version = req.http_version,
  }
end)

---@param n integer {minimum=0, maximum=5}
app:get("/stream/{n}", function(n)
  return moontide.stream(function(send)
    for i = 1, n do
      send("chunk " .. i .. "\n")
      moontide.sleep(0)
    end
  end, { headers = { ["content-type"] = "text/plain" } })
end)

app:get("/events", function(req)
  return moontide.sse(function(emit, last_event_id)
    emit { event = "start", id = 1, data = { last = last_event_id or moontide.null } }
    emit { data = "two\nlines" }
  end)
end)

---@param token string {in="header", alias="x-token"}
app:provide("Caller", function(token)
  if token ~= "good" then moontide.raise(401, "bad token") end
  return { name = "caller" }
end)

---@param caller Caller
---@param note? string {in="query"}
app:get("/me", function(caller, note) return { caller = caller.name, note = note } end)

app:get("/", function() return { root = true } end)

return app
