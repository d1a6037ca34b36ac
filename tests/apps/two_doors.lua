-- The same routes declared twice: with annotations (/a/...) and with route opts (/b/...).
local moontide = require "moontide"
local app = moontide.app { title = "two doors" }

---@class Item
---@field name string {minLength=1}
---@field price number {exclusiveMinimum=0}
---@field tags? string[] {maxItems=2}

local function lookup(id, q) return { name = q or ("item" .. id), price = id, secret = "dropped" } end

---Read one item.
---@param id integer {minimum=1}
---@param q? string {maxLength=5, pattern="^[a-z]+$"}
---@param x_key? string {in="header"}
---@return Item
app:get("/a/items/{id}", function(id, q, x_key) return lookup(id, q) end)

app:get("/b/items/{id}", {
  summary = "Read one item.",
  params = {
    { "id", "integer", minimum = 1 },
    { "q?", "string", maxLength = 5, pattern = "^[a-z]+$" },
    { "x_key?", "string", ["in"] = "header" },
  },
  returns = "Item",
}, function(id, q, x_key) return lookup(id, q) end)

---@param item Item
---@param dry? boolean {default=false}
---@return Item
---@status 201
app:post("/a/items", function(item, dry) return item end)

app:post("/b/items", {
  params = { { "item", "Item" }, { "dry?", "boolean", default = false } },
  returns = "Item",
  status = 201,
}, function(item, dry) return item end)

return app
