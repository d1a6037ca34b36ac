-- The OpenAPI document's shapes (tests/blackbox/test_openapi.py): one of each
-- thing the document has to say, with the exact JSON the test expects.
local moontide = require "moontide"
local app = moontide.app {
  title = "Docs <test>", version = "2.1.0", description = "Shapes for the **OpenAPI** test.",
  tags = { { name = "pets", description = "Everything about pets" } },
}

---@alias Kind
---| "cat"
---| "dog"

---@class PetIn
---@field name string {minLength=1, maxLength=20, example="Rex"} The pet's name.
---@field kind Kind
---@field age? integer {minimum=0, default=1}
---@field tags? string[] {maxItems=3, uniqueItems=true}
---@field owner? Owner
---@field extra? table<string, number>
---@field where? { lat: number, lon: number }
---@field nick string?

---A pet as stored.
---@class Pet: PetIn
---@field id integer

---@class Owner
---@field email string {format="email"}

---List pets.
---Filters with **markdown**.
---@tag pets
---@param limit? integer {maximum=100, default=10, example=20} How many.
---@param kind? Kind
---@param x_trace? string {in="header", alias="X-Trace"}
---@param session? string {in="cookie"}
---@return Pet[]
app:get("/pets", function(limit, kind, x_trace, session) return {} end)

---Create a pet.
---@tag pets
---@param pet PetIn
---@return Pet # The stored pet.
---@status 201
---@response 409 # A pet with this name exists.
app:post("/pets", function(pet) return pet end)

---@tag pets
---@param id integer {minimum=1}
---@return Pet|nil
---@response 404 # Pet not found
---@deprecated
app:get("/pets/{id}", function(id) return nil end)

---@param id integer
---@param code "a"|"b"|1
app:delete("/pets/{id}", function(id, code) return moontide.response { status = 204 } end)

-- No annotations: a handler taking the request object.
app:get("/plain", function(req) return { ok = true } end)

-- No annotations, a path parameter: documented as a string.
app:get("/raw/{slug}", function(req) return { slug = req.params.slug } end)

app:get("/hidden", { include_in_schema = false }, function(req) return { ok = true } end)

-- Two paths whose operation ids would be the same.
app:get("/a-b", function(req) return {} end)
app:get("/a_b", function(req) return {} end)

return app
