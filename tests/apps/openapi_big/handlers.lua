-- Handlers defined away from their routes (`function M.name(...)`): the
-- annotation block sits above the function, app.lua registers them. The
-- classes here are used by app.lua too.
local moontide = require "moontide"
local M = {}

---@alias Shape
---| "circle"
---| "square"

---@class Circle
---@field kind "circle"
---@field radius number {exclusiveMinimum=0}

---@class Square
---@field kind "square"
---@field side number {exclusiveMinimum=0}

---An event on the calendar.
---@class Event
---@field title string {minLength=1}
---@field starts_at string {format="date-time"}
---@field day? string {format="date"}
---@field attendees? Contact[] {maxItems=50}
---@field priority? Priority

---One shape.
---The kind comes from the path; its size from the query.
---@tag shapes
---@param kind Shape
---@param size? number {exclusiveMinimum=0, default=1}
---@return Circle|Square
---@response 404 # No such shape
function M.get_shape(kind, size)
  if kind == "circle" then
    return { kind = "circle", radius = size }
  end
  return { kind = "square", side = size }
end

---Create an event.
---@tag events
---@param event Event
---@return Event
---@status 201
function M.create_event(event)
  return event
end

---Read a user by UUID.
---@tag users
---@param user_id string {format="uuid"}
---@param fields? ("name"|"email")[] {uniqueItems=true}
---@return Contact
---@response 404 # User not found
function M.get_user(user_id, fields)
  return { email = "ann@example.com", id = user_id, fields = fields }
end

---A handler with a request object among its parameters.
---@param req moontide.Request
---@param verbose? boolean {default=false}
function M.inspect(req, verbose)
  return { method = req.method, path = req.path, verbose = verbose }
end

return M
