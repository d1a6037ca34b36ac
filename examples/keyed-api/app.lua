-- A small API behind an API key, with a rate limit per key:
--   moontide run examples/keyed-api
-- then open http://127.0.0.1:8000/docs, press Authorize and enter demo-key-alice.
-- See README.md in this directory.
local moontide = require "moontide"
local quotes = require "quotes"

local app = moontide.app {
  title = "Quotes API",
  version = "1.0.0",
  description = "Quotes behind an API key (header `X-API-Key`), at most 5 requests a second per key " ..
    "after a burst of 10.\n\nDemo keys: `demo-key-alice` (can add quotes) and `demo-key-bob` (read only).",
  tags = { { name = "quotes", description = "Read and add quotes." } },
}

---@class Account
---@field name string
---@field can_write boolean

-- Keys come from MOONTIDE_API_KEYS ("key=name:rw,key=name:ro") or are the two demo keys.
local function load_keys(spec)
  local keys = {}
  for key, name, mode in (spec or ""):gmatch("([^,=]+)=([^,:]+):(%a+)") do
    keys[key] = { name = name, can_write = mode == "rw" }
  end
  if next(keys) == nil then
    keys["demo-key-alice"] = { name = "alice", can_write = true }
    keys["demo-key-bob"] = { name = "bob", can_write = false }
  end
  return keys
end
local keys = load_keys(os.getenv("MOONTIDE_API_KEYS"))

app:provide("ApiKey", moontide.security.api_key {
  name = "X-API-Key",
  description = "Demo keys: demo-key-alice, demo-key-bob",
  check = function(key) return keys[key] end,
})

-- Counted per key, across all workers: 5 a second after a burst of 10.
local per_key = moontide.ratelimit {
  rate = 5, per = 1, burst = 10,
  key = function(req) return req.headers["x-api-key"] end,
}

-- The caller: known by their key first, then counted against their quota.
---@param account ApiKey
---@param req moontide.Request
app:provide("Caller", function(account, req)
  local quota = per_key(req)
  return { name = account.name, can_write = account.can_write, remaining = quota.remaining }
end)

---@class Quote
---@field id integer
---@field text string
---@field author string

---@class QuoteIn
---@field text string {minLength=1, maxLength=280}
---@field author string {minLength=1, maxLength=80}

app:get("/health", function(req)
  return { ok = true }
end)

---Who am I?
---Your name, and how many requests your key has left right now.
---@tag quotes
---@param caller Caller
---@response 401 # No key, or an unknown one
---@response 429 # Over the rate limit
app:get("/v1/me", function(caller)
  return { name = caller.name, can_write = caller.can_write, remaining = caller.remaining }
end)

---A random quote.
---@tag quotes
---@param caller Caller
---@return Quote
---@response 401 # No key, or an unknown one
---@response 429 # Over the rate limit
app:get("/v1/quotes/random", function(caller)
  return quotes.random()
end)

---Quotes, optionally by one author.
---@tag quotes
---@param caller Caller
---@param author? string {maxLength=80}
---@param limit? integer {minimum=1, maximum=50, default=10}
---@return Quote[]
---@response 401 # No key, or an unknown one
---@response 429 # Over the rate limit
app:get("/v1/quotes", function(caller, author, limit)
  return quotes.list(author, limit)
end)

---Add a quote (keys that can write).
---@tag quotes
---@status 201
---@param caller Caller
---@param quote QuoteIn
---@return Quote
---@response 401 # No key, or an unknown one
---@response 403 # This key is read only
---@response 429 # Over the rate limit
app:post("/v1/quotes", function(caller, quote)
  if not caller.can_write then
    moontide.raise(403, "This key is read only")
  end
  return quotes.add(quote.text, quote.author)
end)

return app
