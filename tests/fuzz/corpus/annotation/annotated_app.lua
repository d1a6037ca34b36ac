local moontide = require "moontide"
require "models"
local app = moontide.app { title = "Items API", version = "1.0.0" }

---Read one item.
---@param id integer {minimum=1}
---@param q? string {maxLength=50} Free-text filter.
---@return Item
app:get("/items/{id}", function(id, q)
  return { name = "x", price = 1, status = "draft" }
end)

---@param item Item
---@return Item
---@status 201
app:post("/items", function(item)
  return item
end)

---@param req moontide.Request
---@param x_token string {in="header"}
local function whoami(req, x_token)
  return { path = req.path, token = x_token }
end
app:get("/me", whoami)

-- No annotations: the handler takes the request object.
app:get("/plain", function(req) return { ok = true } end)

return app
