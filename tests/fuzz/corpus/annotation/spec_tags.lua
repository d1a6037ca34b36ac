---@alias Color "red"|"green"|"blue"
---@alias Grid number[][]

---@class (exact) Base
---@field id integer {minimum=1, example=7}
---@field created? string {format="date-time"}

---A shape on the canvas.
---More text, *markdown*.
---@class Shape: Base
---@field kind "circle"|"square" # What it is.
---@field color? Color {default="red"}
---@field labels? table<string, string> {deprecated=true}
---@field points? { x: number, y?: number }[] {minItems=1, maxItems=8, uniqueItems=true}
---@field code string {pattern=[[^[A-Z]{2}\d+$]], minLength=3, maxLength=10}
---@field ratio number {exclusiveMinimum=0, exclusiveMaximum=1, multipleOf=0.5}
---@field mixed (string|integer)[]?
---@field email? string {format="email", alias="e-mail"}
---@field ip? string|nil {format="ipv4"}
---@field site? string {format='uri', pattern=[=[^https?://]=]}

---Find shapes.
---@tag shapes
---@deprecated
---@param q? string {in="query", maxLength=50} Free text.
---@param x_trace? string {in="header", alias="x-trace-id"}
---@param session? string {in="cookie"}
---@param shape Shape {in="body"}
---@param req moontide.Request
---@return Shape[] # the matches
---@status 201
---@response 404 # Not found
---@response 409 Shape Conflict with this one.
local function find(q, x_trace, session, shape, req) end
