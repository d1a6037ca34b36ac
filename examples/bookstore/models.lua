-- The bookstore's types. Classes and aliases are read by moontide from every
-- file of the app, so app.lua can name them without importing anything: this
-- module exists only to keep the models in one place.

---@alias Genre
---| "fiction"
---| "fantasy"
---| "science-fiction"
---| "science"
---| "poetry"
---| "children"

---@alias Currency
---| "EUR"
---| "USD"
---| "GBP"

---A price in one currency.
---@class Price
---@field amount number {exclusiveMinimum=0, maximum=10000, example=12.5} Amount, greater than 0.
---@field currency Currency {default="EUR"} ISO 4217 code.

---What a client sends to create or replace a book.
---@class BookIn
---@field title string {minLength=1, maxLength=200, example="The Hobbit"} Title as printed on the cover.
---@field author_id string {format="uuid", example="1b4e28ba-2fa1-11d2-883f-0016d3cca427"} An existing author's id.
---@field genre Genre {example="fantasy"}
---@field isbn? string {pattern=[[^\d{13}$]], example="9780261103344"} ISBN-13, digits only.
---@field published? string {format="date", example="1937-09-21"} First publication date.
---@field price Price
---@field tags? string[] {maxItems=5, uniqueItems=true, example={"classic", "dragons"}} Free-form labels.
---@field stock? table<string, integer> {example={paris=2, london=5}} Copies on hand, by shop.

---A book as the store keeps it.
---@class Book: BookIn
---@field id integer {minimum=1} Assigned by the store.

---One page of books.
---@class BookPage
---@field items Book[]
---@field total integer Books matching the filter, on every page.
---@field limit integer
---@field offset integer

---@class Author
---@field id string {format="uuid"}
---@field name string {minLength=1, maxLength=100}
---@field email string {format="email"}
---@field born? string {format="date"}
---@field bio? string

return {}
