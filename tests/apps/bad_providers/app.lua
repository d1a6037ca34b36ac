-- Providers that cannot work: `moontide check` reports each at its line.
local moontide = require "moontide"
local app = moontide.app {}

---@param b B
app:provide("A", function(b) return b end)

---@param a A
app:provide("B", function(a) return a end)

---@param item Thing
app:provide("C", function(item) return item end)

---@class Thing
---@field x number

---@param a A
app:get("/cycle", function(a) return {} end)

---@param c C
app:get("/body", function(c) return {} end)

---@param who Nobody
app:get("/unknown", function(who) return {} end)

return app
