-- Dependencies (app:provide): values made once per request from the
-- request's own inputs, handed to every handler or provider that names
-- their type.
local moontide = require "moontide"
local app = moontide.app { title = "providers", version = "1.0.0" }

local made = { db = 0 }      -- how many times each provider ran, for the tests
local released = {}          -- request tag -> true once its connection went back
local pool_out = 0           -- connections handed out and not yet given back

---@class Account
---@field name string
---@field admin boolean

-- A connection from a pool; it goes back after the response is sent.
---@param tag? string {in="header", alias="x-tag"}
app:provide("Db", function(tag)
  made.db = made.db + 1
  pool_out = pool_out + 1
  local conn = { tag = tag, users = { alice = { name = "alice", admin = true }, bob = { name = "bob", admin = false } } }
  return conn, function()
    pool_out = pool_out - 1
    if tag then released[tag] = true end
  end
end)

-- The caller, from a token header; it takes another provider.
---@param db Db
---@param x_token string {in="header"} The caller's token
app:provide("User", function(db, x_token)
  local user = db.users[x_token]
  if not user then
    moontide.raise(401, "unknown token")
  end
  return user
end)

-- Takes the user (and through it the connection): still one connection per request.
---@param user User
---@param db Db
app:provide("Admin", function(user, db)
  if not user.admin then
    moontide.raise(403, "admins only")
  end
  return { name = user.name, tag = db.tag }
end)

-- A provider that waits, like one calling another service.
---@param delay? number {default=0.01}
app:provide("Slow", function(delay)
  moontide.sleep(delay)
  return "waited"
end)

-- No annotations: it gets the request object.
app:provide("Path", function(req)
  return req.path
end)

-- Its cleanup fails: logged, and nothing else breaks.
app:provide("Flaky", function()
  return "flaky", function() error("cleanup went wrong") end
end)

---@param user User
---@param db Db
---@param limit? integer {maximum=10}
---@return table
app:get("/me", function(user, db, limit)
  return { name = user.name, made = made.db, limit = limit or moontide.null, tag = db.tag or moontide.null }
end)

---@param admin Admin
app:get("/admin", function(admin)
  return { admin = admin.name, made = made.db }
end)

---@param slow Slow
---@param path Path
app:get("/slow", function(slow, path)
  return { slow = slow, path = path }
end)

-- A provider without annotations and the handler both get the request
-- object: one object, whichever asks first.
app:provide("TheRequest", function(req)
  return req
end)

---@param theirs TheRequest
---@param mine moontide.Request
app:get("/same-request", function(theirs, mine)
  return { same = rawequal(theirs, mine), path = mine.path }
end)

---@param flaky Flaky
app:get("/flaky", function(flaky)
  return { flaky = flaky }
end)

---@param tag string
app:get("/released/{tag}", function(tag)
  return { released = released[tag] == true, out = pool_out }
end)

app:get("/reset", function(req)
  made.db = 0
  return { ok = true }
end)

return app
