-- A large app for the OpenAPI tests: every annotation form of SPEC §3, every
-- method, routes from annotations and from opts. Handlers mostly echo their
-- arguments back.
local moontide = require "moontide"
require "types"
local h = require "handlers"

local app = moontide.app {
  title = "OpenAPI big",
  version = "2.3.4",
  description = "Every annotation form.\n\n- one\n- two",
  tags = {
    { name = "items", description = "Items for sale." },
    { name = "shapes", description = "Geometry." },
    { name = "events" },
  },
}

local now = "2024-05-01T12:00:00Z"

local function item_out(id, item)
  item = item or { name = "Widget", price = 1, status = "draft" }
  item.id, item.created_at = id, now
  return item
end

------------------------------------------------------------------------------
-- Scalars, constraints, optional values
------------------------------------------------------------------------------

---Scalars in the query and the path.
---@tag scalars
---@param id integer {minimum=1, maximum=1000} Path parameter.
---@param s string {minLength=2, maxLength=8, example="abc"}
---@param n? number {exclusiveMinimum=0, exclusiveMaximum=10}
---@param b? boolean {default=true}
---@param m? integer {multipleOf=5, minimum=0}
app:get("/scalars/{id}", function(id, s, n, b, m)
  return { id = id, s = s, n = n, b = b, m = m }
end)

---Both optional forms: `name?` and `T?`.
---@tag scalars
---@param q string? {maxLength=10}
---@param r? number {default=1.5, example=2.5}
---@param a? any Any value, as a string from the query.
app:get("/optional", function(q, r, a)
  return { q = q, r = r, a = a }
end)

---Unions and literals.
---@tag scalars
---@param v string|integer A mixed, non-literal union.
---@param order? "asc"|"desc" {default="asc"}
---@param level? 1|2|3
---@param flags? ("a"|"b")[] {maxItems=2}
---@param color? Color
---@param prio? Priority
app:get("/unions", function(v, order, level, flags, color, prio)
  return { v = v, vtype = type(v), order = order, level = level, flags = flags, color = color, prio = prio }
end)

---Arrays in the query (repeated keys).
---@tag scalars
---@param ids integer[] {minItems=1, maxItems=5, uniqueItems=true}
---@param names? string[]
app:get("/lists", function(ids, names)
  return { ids = ids, names = names }
end)

---Every string format.
---@tag formats
---@param email? string {format="email"}
---@param uuid? string {format="uuid"}
---@param date? string {format="date"}
---@param datetime? string {format="date-time"}
---@param uri? string {format="uri"}
---@param ipv4? string {format="ipv4"}
---@param ipv6? string {format="ipv6"}
app:get("/formats", function(email, uuid, date, datetime, uri, ipv4, ipv6)
  return { email = email, uuid = uuid, date = date, datetime = datetime, uri = uri, ipv4 = ipv4, ipv6 = ipv6 }
end)

---A string with a pattern, with a deprecated and an aliased parameter.
---@tag formats
---@param code string {pattern=[[^[a-z]{2}\d+$]]}
---@param old? string {deprecated=true} Use `code`.
---@param page_size? integer {alias="page-size", default=20, maximum=100}
app:get("/patterns", function(code, old, page_size)
  return { code = code, old = old, page_size = page_size }
end)

------------------------------------------------------------------------------
-- Where parameters come from
------------------------------------------------------------------------------

---Header parameters.
---@tag sources
---@param x_api_key string {in="header"}
---@param trace? string {in="header", alias="x-trace-id"}
---@param x_count? integer {in="header", minimum=0}
app:get("/headers", function(x_api_key, trace, x_count)
  return { key = x_api_key, trace = trace, count = x_count }
end)

---Cookie parameters.
---@tag sources
---@param session string {in="cookie", minLength=1}
---@param theme? "light"|"dark" {in="cookie", default="light"}
app:get("/cookies", function(session, theme)
  return { session = session, theme = theme }
end)

---Explicit path and query sources.
---@tag sources
---@param a integer {in="path"}
---@param b string {in="path", pattern=[[^\w+$]]}
---@param c? integer {in="query"}
app:get("/path/{a}/{b}", function(a, b, c)
  return { a = a, b = b, c = c }
end)

---A path parameter with a wire alias.
---@tag sources
---@param item_id integer {alias="itemId"}
app:get("/aliased/{itemId}", function(item_id)
  return { item_id = item_id }
end)

---The request object next to other parameters.
---@tag sources
---@param req moontide.Request
---@param q? string
app:get("/request", function(req, q)
  return { method = req.method, path = req.path, q = q }
end)

-- No annotations at all: the handler receives the request object.
app:get("/plain", function(req)
  return { method = req.method }
end)

------------------------------------------------------------------------------
-- Bodies
------------------------------------------------------------------------------

---An inline table body.
---@tag bodies
---@param point { x: number, y?: string }
---@return { x: number, y?: string }
app:post("/bodies/inline", function(point)
  return point
end)

---A map body.
---@tag bodies
---@param items table<string, Item>
---@return table<string, Item>
app:post("/bodies/map", function(items)
  return items
end)

---Any JSON object.
---@tag bodies
---@param body table
---@return table
app:post("/bodies/table", function(body)
  return body
end)

---A list of objects, through an alias.
---@tag bodies
---@param items ItemList {minItems=1, maxItems=3}
---@return integer
app:post("/bodies/list", function(items)
  return #items
end)

---A list of scalars from the body.
---@tag bodies
---@param ids integer[] {in="body", minItems=1}
---@return integer[]
app:post("/bodies/ids", function(ids)
  return ids
end)

---Nested arrays.
---@tag bodies
---@param matrix Matrix
---@return Matrix
app:post("/bodies/matrix", function(matrix)
  return matrix
end)

---Every format, in a body.
---@tag bodies
---@tag formats
---@param contact Contact
---@return Contact
app:post("/bodies/contact", function(contact)
  return contact
end)

------------------------------------------------------------------------------
-- Items: every method, response models, extra responses
------------------------------------------------------------------------------

---List items.
---@tag items
---@param limit? integer {minimum=1, maximum=50, default=10}
---@return Page
app:get("/items", function(limit)
  return { items = moontide.array { item_out(1) }, total = 1, next = nil }
end)

---Create an item.
---The body is validated; the **created** item comes back.
---
---A second paragraph of *markdown*.
---@tag items
---@param item Item
---@param dry_run? boolean {default=false}
---@return ItemOut
---@status 201
---@response 409 Conflict # An item with this name exists
---@response 400 # Bad request
app:post("/items", function(item, dry_run)
  if item.name == "taken" then
    return moontide.response { status = 409, body = moontide.json.encode { detail = "taken", existing_id = 1 },
      headers = { ["content-type"] = "application/json" } }
  end
  return item_out(2, item)
end)

---Read an item in detail.
---@tag items
---@param id Id {minimum=1}
---@return ItemDetail
---@response 404 # Item not found
app:get("/items/{id}", function(id)
  if id > 100 then moontide.raise(404, "Item not found") end
  local item = item_out(id)
  item.history = moontide.array { { at = now, note = "created" }, { at = now } }
  return item
end)

---Replace an item.
---@tag items
---@param id integer {minimum=1}
---@param item Item
---@return ItemOut
app:put("/items/{id}", function(id, item)
  return item_out(id, item)
end)

---Change some fields of an item.
---@tag items
---@param id integer {minimum=1}
---@param patch ItemPatch
---@return ItemOut
app:patch("/items/{id}", function(id, patch)
  local item = item_out(id)
  for k, v in pairs(patch) do item[k] = v end
  return item
end)

---Delete an item.
---@tag items
---@param id integer {minimum=1}
---@status 204
---@response 404 # Item not found
app:delete("/items/{id}", function(id)
  return moontide.response { status = 204 }
end)

---Which methods /items takes.
---@tag items
app:options("/items", function(req)
  return moontide.response { status = 204, headers = { allow = "GET, POST, OPTIONS" } }
end)

---Liveness, headers only.
---@tag meta
app:head("/ping", function(req)
  return moontide.response { status = 200, headers = { ["x-alive"] = "1" } }
end)

---One handler, two methods.
---@tag meta
---@param x? integer
app:route({ "GET", "POST" }, "/multi", function(x)
  return { x = x }
end)

---A deprecated operation with several tags.
---Use `/items` instead.
---@tag items
---@tag meta
---@deprecated
---@return string[]
app:get("/old-items", function()
  return moontide.array { "Widget" }
end)

---Anything goes out.
---@tag meta
---@return any
app:get("/any", function()
  return { 1, "two", { three = 3 } }
end)

---A scalar response.
---@tag meta
---@return boolean
app:get("/bool", function()
  return true
end)

------------------------------------------------------------------------------
-- Handlers defined in handlers.lua
------------------------------------------------------------------------------

app:get("/shapes/{kind}", h.get_shape)
app:post("/events", h.create_event)
app:get("/users/{user_id}", h.get_user)
app:get("/inspect", h.inspect)

------------------------------------------------------------------------------
-- Routes built in code: opts say what annotations would
------------------------------------------------------------------------------

app:get("/code/items/{id}", {
  summary = "Read an item (opts).",
  description = "Built in code:\n\n`params`, `returns`, `responses`.",
  tags = { "items", "code" },
  params = {
    { "id", "integer", minimum = 1, description = "The item id." },
    { "fields?", "string[]", maxItems = 3 },
    { "x_tenant?", "string", ["in"] = "header" },
  },
  returns = "ItemOut",
  responses = { [404] = "Item not found", [409] = { type = "Conflict", description = "Conflict" } },
}, function(id, fields, x_tenant)
  return item_out(id)
end)

app:post("/code/items", {
  summary = "Create an item (opts).",
  tags = { "code" },
  params = { { "item", "Item" }, { "trace?", "string", ["in"] = "header", alias = "x-trace-id" } },
  returns = "ItemOut",
  status = 201,
}, function(item, trace)
  return item_out(3, item)
end)

app:delete("/code/items/{id}", {
  summary = "Delete an item (opts).",
  tags = { "code" },
  deprecated = true,
  status = 204,
  params = { { "id", "integer", minimum = 1 } },
}, function(id)
  return moontide.response { status = 204 }
end)

app:patch("/code/items/{id}", {
  tags = { "code" },
  params = { { "id", "integer" }, { "patch", "ItemPatch" }, { "session?", "string", ["in"] = "cookie" } },
  returns = "ItemOut",
}, function(id, patch, session)
  local item = item_out(id)
  for k, v in pairs(patch) do item[k] = v end
  return item
end)

-- Opts over an annotation block: opts win.
---Summary from the annotation.
---@tag annotated
---@param n integer {maximum=9}
app:put("/code/mixed/{n}", { summary = "Summary from opts.", tags = { "code" } }, function(n)
  return { n = n }
end)

app:get("/code/hidden", { include_in_schema = false }, function(req)
  return { hidden = true }
end)

return app
