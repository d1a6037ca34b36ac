-- Annotated handlers: every place an argument can come from, and response models.
local moontide = require "moontide"
local app = moontide.app { title = "binding" }

---@class Dims
---@field w number
---@field h number

---@class Item
---@field name string {minLength=1, maxLength=100}
---@field price number {exclusiveMinimum=0}
---@field tags? string[] {maxItems=3}
---@field status "draft"|"published"
---@field dims? Dims

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
app:get("/items/{id}", function(id, q, limit, flag, ratio, tag, kind)
  return { id = id, q = q, limit = limit, flag = flag, ratio = ratio, tag = tag, kind = kind,
           types = { type(id), type(limit), type(flag), type(ratio) } }
end)

---@param item Item
---@status 201
app:post("/items", function(item)
  return item
end)

---@param x_api_key string {in="header"}
---@param trace? string {in="header", alias="x-trace-id"}
---@param session? string {in="cookie"}
---@param req moontide.Request
app:get("/auth", function(x_api_key, trace, session, req)
  return { key = x_api_key, trace = trace, session = session, method = req.method }
end)

---@param n integer
---@return Public
app:get("/users/{n}", function(n)
  if n == 1 then return { id = 1, name = "ann", password = "secret" } end
  if n == 2 then return { id = 2, name = 42 } end
  if n == 3 then return { id = 3 } end
  if n == 5 then -- an object whose fields come from its metatable, as a class instance's do
    return setmetatable({ id = 5 }, { __index = { name = "from __index", nick = "n" } })
  end
  return { id = n, name = "x", nick = "y" }, 202
end)

---@param body table<string, integer>
---@return table<string, integer>
app:post("/counts", function(body) return body end)

---@param ids integer[] {in="body", minItems=1}
app:post("/ids", function(ids) return { count = #ids, ids = ids } end)

---@class Score
---@field value integer {maximum=10}
---@field label? string {pattern="^[a-z]+$"}

---@param v integer
---@param label? string
---@return Score
app:get("/scores/{v}", function(v, label) return { value = v, label = label } end)

---@class Account
---@field user_name string {alias="userName"}
---@field plan? "free"|"pro" {alias="billing-plan", default="free"}

-- An aliased field: the wire name in the body and the response, the Lua name in the handler.
---@param account Account
---@return Account
app:post("/accounts", function(account)
  -- plan left out when it is the default: the response model writes the default back
  return { user_name = account.user_name .. "!", plan = account.plan ~= "free" and account.plan or nil,
           seen = account.userName == nil }
end)

-- Fields named like Lua keywords, an absent optional one and a default: the
-- body's table is made by a generated Lua function, which must quote them.
---@class Keywords
---@field end integer
---@field function? string
---@field nil_default? integer {default=5}

---@param body Keywords
app:post("/keywords", function(body)
  local keys = {}
  for k in pairs(body) do keys[#keys + 1] = k end
  table.sort(keys)
  return { keys = keys, ["end"] = body["end"], ["function"] = body["function"] or moontide.null,
           nil_default = body.nil_default }
end)

return app
