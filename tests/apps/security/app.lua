-- Ready-made security providers: an API key, a bearer token, and a check
-- that may refuse an authenticated caller (403).
local moontide = require "moontide"
local app = moontide.app { title = "security", version = "1.0.0" }

local keys = { ["key-alice"] = { name = "alice", admin = true }, ["key-bob"] = { name = "bob", admin = false } }
local tokens = { ["tok-1"] = "carol" }

app:provide("ApiKey", moontide.security.api_key {
  name = "X-API-Key",
  description = "A key from the admin console",
  check = function(key) return keys[key] end,
})

app:provide("QueryKey", moontide.security.api_key { name = "api_key", ["in"] = "query" })

app:provide("Token", moontide.security.bearer {
  format = "opaque",
  check = function(token)
    moontide.sleep(0.001) -- a check may wait (e.g. ask an auth service)
    return tokens[token]
  end,
})

-- Authenticated is not authorised: 403 from the app's own provider.
---@param caller ApiKey
app:provide("Admin", function(caller)
  if not caller.admin then moontide.raise(403, "admins only") end
  return caller
end)

---@param caller ApiKey
app:get("/whoami", function(caller)
  return { name = caller.name }
end)

---@param admin Admin
---@param token Token
app:get("/admin", function(admin, token)
  return { admin = admin.name, token_user = token }
end)

---@param key QueryKey
app:get("/raw", function(key)
  return { key = key }
end)

app:get("/open", function(req) return { open = true } end)

return app
