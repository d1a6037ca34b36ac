-- An in-memory store, seeded with a few books and authors.
--
-- The state lives in this module's tables, so it is per worker process and
-- lost on restart: run the example with `--workers 1` to see your writes on
-- every request. A real service would keep it in a database.
local M = {}

local TOLKIEN = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
local LE_GUIN = "6fa459ea-ee8a-3ca4-894e-db77e160355e"
local SAGAN = "9c5b94b1-35ad-49bb-b118-8e8fc24abf80"

local authors = {
  { id = TOLKIEN, name = "J. R. R. Tolkien", email = "tolkien@example.com", born = "1892-01-03" },
  { id = LE_GUIN, name = "Ursula K. Le Guin", email = "leguin@example.com", born = "1929-10-21",
    bio = "Author of the Earthsea cycle and the Hainish novels." },
  { id = SAGAN, name = "Carl Sagan", email = "sagan@example.com", born = "1934-11-09" },
}

local books = {} -- id -> book
local next_id = 1

function M.add_book(book)
  book.id = next_id
  books[next_id] = book
  next_id = next_id + 1
  return book
end

M.add_book { title = "The Hobbit", author_id = TOLKIEN, genre = "fantasy", isbn = "9780261103344",
  published = "1937-09-21", price = { amount = 9.99, currency = "GBP" }, tags = { "classic", "dragons" },
  stock = { paris = 3, london = 7 } }
M.add_book { title = "A Wizard of Earthsea", author_id = LE_GUIN, genre = "fantasy",
  published = "1968-11-01", price = { amount = 8.5, currency = "EUR" }, tags = { "classic" } }
M.add_book { title = "The Left Hand of Darkness", author_id = LE_GUIN, genre = "science-fiction",
  published = "1969-03-01", price = { amount = 10, currency = "USD" } }
M.add_book { title = "Cosmos", author_id = SAGAN, genre = "science", published = "1980-10-12",
  price = { amount = 15, currency = "USD" }, stock = { paris = 1 } }

function M.get_book(id)
  return books[id]
end

function M.replace_book(id, book)
  if not books[id] then return nil end
  book.id = id
  books[id] = book
  return book
end

function M.delete_book(id)
  local book = books[id]
  books[id] = nil
  return book
end

--- Books matching `filter` (genre, author_id, q: a case-insensitive title
--- substring), in id order: one page of them and the total count.
function M.find_books(filter, limit, offset)
  local matching = {}
  for id = 1, next_id - 1 do
    local b = books[id]
    if b and (filter.genre == nil or b.genre == filter.genre)
        and (filter.author_id == nil or b.author_id == filter.author_id)
        and (filter.q == nil or b.title:lower():find(filter.q:lower(), 1, true)) then
      matching[#matching + 1] = b
    end
  end
  local page = {}
  for i = offset + 1, math.min(offset + limit, #matching) do
    page[#page + 1] = matching[i]
  end
  return page, #matching
end

function M.authors()
  return authors
end

function M.get_author(id)
  for _, a in ipairs(authors) do
    if a.id == id then return a end
  end
end

return M
