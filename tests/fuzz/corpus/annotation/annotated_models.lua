-- Classes live in their own module; handlers in app.lua use them.
local M = {}

---An item for sale.
---@class Item
---@field name string {minLength=1, maxLength=100} Display name.
---@field price number {exclusiveMinimum=0} Price in euros.
---@field tags? string[] {maxItems=10}
---@field status Status
---@field dims? { w: number, h: number }

---@alias Status
---| "draft"
---| "published"

return M
