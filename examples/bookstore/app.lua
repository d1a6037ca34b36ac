-- A small bookstore API: `moontide run examples/bookstore --workers 1`, then
-- open http://127.0.0.1:8000/docs. See README.md in this directory.
local moontide = require "moontide"
local store = require "store"
require "models" -- the classes and aliases (Book, BookIn, Author, Genre, ...)

local app = moontide.app {
  title = "Bookstore",
  version = "1.0.0",
  description = "A small bookstore: browse **books** and **authors**, and manage the catalogue.\n\n" ..
    "Everything lives in memory, per worker process: run with `--workers 1`.",
  tags = {
    { name = "books", description = "The catalogue: list, read, create, replace and delete books." },
    { name = "authors", description = "The people who wrote the books (read-only)." },
  },
}

local function book_or_404(book_id)
  return store.get_book(book_id) or moontide.raise(404, "Book not found")
end

local function check_author(author_id)
  if not store.get_author(author_id) then moontide.raise(404, "Author not found") end
end

---List books.
---One page of the catalogue, in id order. Filter by `genre`, by author, or by
---a case-insensitive piece of the title (`q`).
---@tag books
---@param limit? integer {minimum=1, maximum=100, default=10} Page size.
---@param offset? integer {minimum=0, default=0} Books to skip.
---@param genre? Genre Only books of this genre.
---@param q? string {minLength=1, maxLength=50} A piece of the title.
---@return BookPage
app:get("/books", function(limit, offset, genre, q)
  local items, total = store.find_books({ genre = genre, q = q }, limit, offset)
  return { items = moontide.array(items), total = total, limit = limit, offset = offset }
end)

---Recommended books.
---Books in the genre named by the `favorite_genre` cookie (all books without it).
---@tag books
---@param favorite_genre? Genre {in="cookie"}
---@return Book[]
app:get("/books/recommended", function(favorite_genre)
  return moontide.array((store.find_books({ genre = favorite_genre }, 5, 0)))
end)

---Read one book.
---Send an `X-Request-Id` header and it is echoed back in the response.
---@tag books
---@param book_id integer {minimum=1}
---@param x_request_id? string {in="header", maxLength=64} Correlation id, echoed back.
---@return Book
---@response 404 # Book not found
app:get("/books/{book_id}", function(book_id, x_request_id)
  return book_or_404(book_id), 200, { ["x-request-id"] = x_request_id }
end)

---Add a book.
---The author must exist (see `GET /authors`). The new book's URL is in the
---`Location` header.
---@tag books
---@param book BookIn
---@return Book
---@status 201
---@response 404 # Author not found
app:post("/books", function(book)
  check_author(book.author_id)
  local created = store.add_book(book)
  return created, 201, { location = "/books/" .. created.id }
end)

---Replace a book.
---Every field is replaced: fields left out of the body are removed.
---@tag books
---@param book_id integer {minimum=1}
---@param book BookIn
---@return Book
---@response 404 # Book or author not found
app:put("/books/{book_id}", function(book_id, book)
  book_or_404(book_id)
  check_author(book.author_id)
  return store.replace_book(book_id, book)
end)

---Delete a book.
---@tag books
---@param book_id integer {minimum=1}
---@status 204
---@response 404 # Book not found
app:delete("/books/{book_id}", function(book_id)
  book_or_404(book_id)
  store.delete_book(book_id)
  return moontide.response { status = 204 }
end)

---List all titles.
---Kept for old clients: use `GET /books`, which pages and filters.
---@tag books
---@deprecated
---@return string[]
app:get("/titles", function()
  local books = store.find_books({}, math.huge, 0)
  local titles = moontide.array()
  for i, b in ipairs(books) do titles[i] = b.title end
  return titles
end)

---List authors.
---@tag authors
---@return Author[]
app:get("/authors", function()
  return moontide.array(store.authors())
end)

---Read one author.
---@tag authors
---@param author_id string {format="uuid"}
---@return Author
---@response 404 # Author not found
app:get("/authors/{author_id}", function(author_id)
  return store.get_author(author_id) or moontide.raise(404, "Author not found")
end)

---An author's books.
---@tag authors
---@tag books
---@param author_id string {format="uuid"}
---@param limit? integer {minimum=1, maximum=100, default=10}
---@param offset? integer {minimum=0, default=0}
---@return BookPage
---@response 404 # Author not found
app:get("/authors/{author_id}/books", function(author_id, limit, offset)
  check_author(author_id)
  local items, total = store.find_books({ author_id = author_id }, limit, offset)
  return { items = moontide.array(items), total = total, limit = limit, offset = offset }
end)

return app
