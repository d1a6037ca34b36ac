local moontide = require "moontide"
local app = moontide.app {}

---@class Thing
---@field size integer {minLength=1}
---@field kind Kind

---@param id integer
---@param a Thing
---@param b Thing
app:post("/things/{id}", function(id, a, b) return a end)

---@param x strng
app:get("/typo", function(x) return x end)

---@param ghost string
app:get("/ghost", function(other) return other end)

---@param q string
app:get("/items/{item_id}", function(q, item_id) return q end)

---@param n number {maximum="ten"}
app:get("/n", function(n) return n end)

return app
