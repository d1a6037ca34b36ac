-- Classes and aliases shared by app.lua and handlers.lua (a class is visible
-- from every file of the app, wherever it is declared).

-- An alias, one-line form.
---@alias Id integer

-- An alias, multi-line form.
---@alias Color
---| "red"
---| "green"
---| "blue"

-- An alias of an integer-literal union.
---@alias Priority 1|2|3

-- An alias of a class array.
---@alias ItemList Item[]

---A 2-D size.
---@class Dims
---@field w number {exclusiveMinimum=0}
---@field h number {exclusiveMinimum=0, exclusiveMaximum=1000}

---An item for sale.
---Its description spans
---several lines.
---@class Item
---@field name string {minLength=1, maxLength=100, example="Widget"} Display name.
---@field price number {minimum=0, maximum=1e6, multipleOf=0.01, default=1} Price in euros.
---@field quantity? integer {minimum=0, multipleOf=1, example=3}
---@field tags? string[] {minItems=0, maxItems=10, uniqueItems=true}
---@field status "draft"|"published"
---@field color? Color
---@field priority? Priority {default=2}
---@field dims? Dims
---@field sku? string {pattern=[[^[A-Z]{3}-\d{4}$]], alias="SKU"} Wire name SKU.
---@field legacy_code? string {deprecated=true} Kept for old clients.
---@field attributes? table<string, string|number>
---@field extra? table
---@field anything? any

-- Class inheritance: ItemOut has Item's fields and its own.
---An item as stored.
---@class ItemOut: Item
---@field id Id {minimum=1}
---@field created_at string {format="date-time"}

-- Inheritance over two levels.
---@class ItemDetail: ItemOut
---@field history { at: string, note?: string }[]

---@class ItemPatch
---@field name? string {minLength=1}
---@field price? number {exclusiveMinimum=0}
---@field status? "draft"|"published"

---Every string format moontide knows.
---@class Contact
---@field email string {format="email"}
---@field id string {format="uuid"}
---@field birthday? string {format="date"}
---@field seen_at? string {format="date-time"}
---@field homepage? string {format="uri"}
---@field ipv4? string {format="ipv4"}
---@field ipv6? string {format="ipv6"}

---@class Matrix
---@field rows integer[][] {minItems=1}
---@field labels? ("x"|"y"|"z")[]
---@field cells? table<string, integer[]>

---@class Conflict
---@field detail string
---@field existing_id integer

---@class Page
---@field items ItemOut[]
---@field total integer {minimum=0}
---@field next? string? {format="uri"}

return {}
