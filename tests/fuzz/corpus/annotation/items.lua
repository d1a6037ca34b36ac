-- The app shown in README.md: `moontide run examples/items`.
local moontide = require "moontide"
local app = moontide.app { title = "Items API", version = "1.0.0" }

local items = { [1] = { name = "Widget", price = 12.5 } }

---@class Item
---@field name string {minLength=1, maxLength=100}
---@field price number {exclusiveMinimum=0}

---Read one item.
---@param id integer {minimum=1}
---@return Item
app:get("/items/{id}", function(id)
  return items[id] or moontide.raise(404, "Item not found")
end)

-- item is the JSON body, validated in C before the handler runs (invalid input answers 422)
---@param item Item
---@return Item
---@status 201
app:post("/items", function(item)
  items[#items + 1] = item
  return item, 201, { location = "/items/" .. #items }
end)

return app
