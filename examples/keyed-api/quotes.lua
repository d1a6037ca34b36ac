-- The quotes, in memory (per worker process).
local M = {}

local all = {
  { id = 1, text = "Simplicity is prerequisite for reliability.", author = "Edsger W. Dijkstra" },
  { id = 2, text = "Premature optimization is the root of all evil.", author = "Donald Knuth" },
  { id = 3, text = "Make it work, make it right, make it fast.", author = "Kent Beck" },
  { id = 4, text = "Programs must be written for people to read.", author = "Harold Abelson" },
}

function M.random()
  return all[math.random(#all)]
end

function M.list(author, limit)
  local found = {}
  for _, q in ipairs(all) do
    if #found == limit then break end
    if author == nil or q.author == author then found[#found + 1] = q end
  end
  return found
end

function M.add(text, author)
  local quote = { id = #all + 1, text = text, author = author }
  all[#all + 1] = quote
  return quote
end

return M
