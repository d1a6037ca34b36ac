--- moontide: the Lua API that apps require.
-- Deliberately thin: routes are collected here and handed to the C core when
-- the app file returns; requests, JSON and responses are handled in C
-- (moontide.core).
local core = require "moontide.core"

local M = {
  VERSION = core.version,
  null = core.null,
  array = core.array,
  raise = core.raise,
  sleep = core.sleep,
  http = { request = core.http_request },
  stream = core.stream,
  sse = core.sse,
  response = core.response,
  add_headers = core.add_headers,
  json = { encode = core.json_encode, decode = core.json_decode },
  shared = { dict = core.shared_dict },
}

local App = { __name = "moontide.App" }
App.__index = App

local ROUTE_OPTS = {
  summary = "string", description = "string", tags = "table", status = "number",
  deprecated = "boolean", responses = "table", include_in_schema = "boolean",
  params = "table", returns = "string",
}

local APP_OPTS = {
  title = "string", version = "string", description = "string", tags = "table",
  openapi_url = "string|false", docs_url = "string|false", redoc_url = "string|false",
}

--- moontide.app{ title=, version=, description=, tags=, openapi_url=, docs_url=, redoc_url= }: a new application.
function M.app(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("moontide.app: expected a table of options, got " .. type(opts), 2)
  end
  opts = opts or {}
  for k, v in pairs(opts) do
    local want = APP_OPTS[k]
    if want == nil then
      error("moontide.app: unknown option '" .. tostring(k) .. "'", 2)
    end
    local fits = type(v) == want or (want == "string|false" and (type(v) == "string" or v == false))
    if not fits then
      error("moontide.app: option '" .. k .. "' must be a " .. want:gsub("|", " or ") .. ", got " .. tostring(v), 2)
    end
    if want == "string|false" and v and v:sub(1, 1) ~= "/" then
      error("moontide.app: option '" .. k .. "' must be a path starting with '/', got " .. v, 2)
    end
  end
  for i, tag in ipairs(opts.tags or {}) do
    if type(tag) ~= "table" or type(tag.name) ~= "string" or (tag.description ~= nil and type(tag.description) ~= "string") then
      error("moontide.app: tags[" .. i .. "] must be { name = \"...\", description = \"...\" }", 2)
    end
  end
  return setmetatable({
    title = opts.title or "moontide app",
    version = opts.version or "0.1.0",
    description = opts.description,
    tags = opts.tags,
    openapi_url = opts.openapi_url,
    docs_url = opts.docs_url,
    redoc_url = opts.redoc_url,
    _routes = {},
    _providers = {},
    _on_startup = {},
    _on_shutdown = {},
    _static = {},
  }, App)
end

local function where(level)
  local info = debug.getinfo(level + 1, "Sl")
  return info and (info.short_src .. ":" .. info.currentline) or "?"
end

-- Whether a handler reads its first parameter (the request object), from its
-- bytecode: an instruction naming slot 0, or a closure that may capture it.
-- The C core makes the request object only for handlers that do. Reading it
-- through the debug library (debug.getlocal) is not seen.
local jit_util = require "jit.util"
local band, rshift = bit.band, bit.rshift
local SLOT_MODE = { [1] = true, [2] = true, [3] = true, [4] = true } -- dst, base, var, rbase (LuaJIT's lj_bc.h)
local RBASE_MODE, FUNC_MODE, JUMP_MODE = 4, 12, 13

local function reads_first_param(fn)
  local info = jit_util.funcinfo(fn)
  if info.bytecodes == nil then return true end -- a C function: cannot tell
  if info.params == 0 then return info.isvararg end
  local name = debug.getlocal(fn, 1)
  for pc = 1, info.bytecodes do
    local ins, mode = jit_util.funcbc(fn, pc)
    if ins == nil then break end
    local ma, mb, mc = band(mode, 7), band(rshift(mode, 3), 15), band(rshift(mode, 7), 15)
    -- a jump's rbase (JMP, UCLO, LOOP) only marks where open upvalues close: captures are checked below
    local a_reads = SLOT_MODE[ma] and not (ma == RBASE_MODE and mc == JUMP_MODE)
    if a_reads and band(rshift(ins, 8), 0xff) == 0 then return true end
    if mb ~= 0 then
      if (SLOT_MODE[mb] and rshift(ins, 24) == 0) or (SLOT_MODE[mc] and band(rshift(ins, 16), 0xff) == 0) then
        return true
      end
    elseif SLOT_MODE[mc] and rshift(ins, 16) == 0 then
      return true
    elseif mc == FUNC_MODE then -- a closure: names of what it captures (none without debug info)
      local child = jit_util.funck(fn, -rshift(ins, 16) - 1)
      for i = 0, jit_util.funcinfo(child).upvalues - 1 do
        local uv = jit_util.funcuvname(child, i)
        if uv == nil or uv == "" or uv == name then return true end
      end
    end
  end
  return false
end
-- Interpreted: it runs once per route at load, where compiling its loop costs
-- more than it saves (and a trace's IR buffer, which LuaJIT addresses through a
-- biased pointer, reads as a leak to LeakSanitizer while it lives).
jit.off(reads_first_param, true)

local function add_route(self, fname, methods, path, opts, fn)
  if getmetatable(self) ~= App then
    error(fname .. ": call it with ':' on an app (app:" .. fname .. "(...))", 3)
  end
  if fn == nil and type(opts) ~= "table" then -- app:get(path, fn)
    opts, fn = nil, opts
  end
  if type(path) ~= "string" then
    error(fname .. ": path must be a string, got " .. type(path), 3)
  end
  if type(fn) ~= "function" then
    error(fname .. ": handler must be a function, got " .. type(fn), 3)
  end
  if opts ~= nil then
    if type(opts) ~= "table" then
      error(fname .. ": opts must be a table, got " .. type(opts), 3)
    end
    for k, v in pairs(opts) do
      local want = ROUTE_OPTS[k]
      if want == nil then
        error(fname .. ": unknown route option '" .. tostring(k) .. "'", 3)
      elseif type(v) ~= want then
        error(fname .. ": route option '" .. k .. "' must be a " .. want .. ", got " .. type(v), 3)
      end
    end
  end
  local at, reads_request = where(3), reads_first_param(fn)
  for _, method in ipairs(methods) do
    self._routes[#self._routes + 1] = {
      method = method, path = path, handler = fn, opts = opts, where = at, reads_request = reads_request,
    }
  end
  return fn
end

--- app:route(methods, path, [opts,] fn): methods is "GET" or { "GET", "POST" }.
function App:route(methods, path, opts, fn)
  if type(methods) == "string" then
    methods = { methods }
  end
  if type(methods) ~= "table" then
    error("route: methods must be a string or a list of strings, got " .. type(methods), 2)
  end
  local upper = {}
  for i, m in ipairs(methods) do
    if type(m) ~= "string" then
      error("route: methods must be strings, got " .. type(m), 2)
    end
    upper[i] = m:upper()
  end
  local handler = add_route(self, "route", upper, path, opts, fn) -- not a tail call: error levels count this frame
  return handler
end

for _, name in ipairs { "get", "post", "put", "patch", "delete", "head", "options" } do
  local method = name:upper()
  App[name] = function(self, path, opts, fn)
    local handler = add_route(self, name, { method }, path, opts, fn) -- not a tail call: error levels count this frame
    return handler
  end
end

--- app:on_startup(fn) / app:on_shutdown(fn): fn() runs in each worker
-- process when it starts serving this app, or when it stops (see the guide).
for _, hook in ipairs { "on_startup", "on_shutdown" } do
  App[hook] = function(self, fn)
    if getmetatable(self) ~= App then
      error(hook .. ": call it with ':' on an app (app:" .. hook .. "(fn))", 2)
    end
    if type(fn) ~= "function" then
      error(hook .. ": expected a function, got " .. type(fn), 2)
    end
    local list = self["_" .. hook]
    list[#list + 1] = fn
    return fn
  end
end

-- What moontide.security.* return: a provider the C core also documents
-- (OpenAPI securitySchemes) and binds itself (the credential's one input).
local Security = { __name = "moontide.Security" }

local function unauthorized(detail, challenge)
  core.raise(401, detail, { ["www-authenticate"] = challenge })
end

local function check_opts(fname, opts, allowed)
  if type(opts) ~= "table" then
    error(fname .. ": expected a table of options, got " .. type(opts), 3)
  end
  for k, v in pairs(opts) do
    local want = allowed[k]
    if want == nil then
      error(fname .. ": unknown option '" .. tostring(k) .. "'", 3)
    elseif type(v) ~= want then
      error(fname .. ": option '" .. k .. "' must be a " .. want .. ", got " .. type(v), 3)
    end
  end
end

-- The credential checked by `check` (when given): what it returns is the
-- provided value; nil or false is a 401.
local function checked(check, credential, challenge)
  if check == nil then
    return credential
  end
  local principal = check(credential)
  if principal == nil or principal == false then
    unauthorized("Invalid authentication credentials", challenge)
  end
  return principal
end

M.security = {}

--- moontide.security.api_key{ name=, ["in"]="header"|"query"|"cookie", check=, description= }
function M.security.api_key(opts)
  check_opts("moontide.security.api_key", opts,
    { name = "string", ["in"] = "string", check = "function", description = "string" })
  local where_in = opts["in"] or "header"
  if where_in ~= "header" and where_in ~= "query" and where_in ~= "cookie" then
    error("moontide.security.api_key: 'in' must be \"header\", \"query\" or \"cookie\", got " .. where_in, 2)
  end
  if opts.name == nil or opts.name == "" then
    error("moontide.security.api_key: 'name' (the header, query parameter or cookie) is required", 2)
  end
  local check = opts.check
  return setmetatable({
    scheme = "apiKey", name = opts.name, ["in"] = where_in, description = opts.description,
    fn = function(key)
      if key == nil or key == "" then
        unauthorized("Not authenticated", "APIKey")
      end
      return checked(check, key, "APIKey")
    end,
  }, Security)
end

--- moontide.security.bearer{ check=, format=, description= }: Authorization: Bearer TOKEN
function M.security.bearer(opts)
  opts = opts or {}
  check_opts("moontide.security.bearer", opts, { check = "function", format = "string", description = "string" })
  local check = opts.check
  return setmetatable({
    scheme = "http", name = "Authorization", ["in"] = "header", format = opts.format, description = opts.description,
    fn = function(authorization)
      if authorization == nil or authorization == "" then
        unauthorized("Not authenticated", "Bearer")
      end
      local scheme, token = authorization:match("^(%S+)%s+(%S.*)$")
      if scheme == nil or scheme:lower() ~= "bearer" then
        unauthorized("Invalid authentication credentials", "Bearer")
      end
      return checked(check, token, 'Bearer error="invalid_token"')
    end,
  }, Security)
end

--- app:provide("TypeName", fn): fn makes the value of every handler (or
-- provider) parameter annotated with that type, once per request. Its own
-- parameters are bound like a handler's. It may return a cleanup function
-- as its second value: that runs after the response is sent. fn may also be
-- what moontide.security.* returns.
function App:provide(name, fn)
  if getmetatable(self) ~= App then
    error("provide: call it with ':' on an app (app:provide(...))", 2)
  end
  if type(name) ~= "string" or not name:match("^[%a_][%w_%.]*$") then
    error("provide: the type name must be a string like \"Db\" or \"auth.User\", got " .. tostring(name), 2)
  end
  local security
  if getmetatable(fn) == Security then
    security, fn = fn, fn.fn
  end
  if type(fn) ~= "function" then
    error("provide: the provider must be a function or a moontide.security provider, got " .. type(fn), 2)
  end
  for _, p in ipairs(self._providers) do
    if p.name == name then
      error("provide: '" .. name .. "' already has a provider (" .. p.where .. ")", 2)
    end
  end
  self._providers[#self._providers + 1] = { name = name, fn = fn, security = security, where = where(2) }
  return fn
end

local function check_self(self, fname)
  if getmetatable(self) ~= App then
    error(fname .. ": call it with ':' on an app (app:" .. fname .. "(...))", 3)
  end
end

local function check_list(fname, key, v)
  if v == nil then return end
  if type(v) ~= "table" then
    error(fname .. ": " .. key .. " must be a list of strings, got " .. type(v), 3)
  end
  for i, item in ipairs(v) do
    if type(item) ~= "string" then
      error(fname .. ": " .. key .. "[" .. i .. "] must be a string, got " .. type(item), 3)
    end
  end
end

local CORS_OPTS = {
  allow_origins = "list", allow_origin_regex = "string", allow_methods = "list", allow_headers = "list",
  allow_credentials = "boolean", expose_headers = "list", max_age = "number",
}

--- app:cors{ allow_origins=, allow_origin_regex=, allow_methods=, allow_headers=,
-- allow_credentials=, expose_headers=, max_age= }: CORS as Starlette's
-- CORSMiddleware does it, answered in C (preflights before routing).
function App:cors(opts)
  check_self(self, "cors")
  if type(opts) ~= "table" then
    error("cors: expected a table of options, got " .. type(opts), 2)
  end
  for k, v in pairs(opts) do
    local want = CORS_OPTS[k]
    if want == nil then
      error("cors: unknown option '" .. tostring(k) .. "'", 2)
    elseif want == "list" then
      check_list("cors", k, v)
    elseif type(v) ~= want then
      error("cors: option '" .. k .. "' must be a " .. want .. ", got " .. type(v), 2)
    end
  end
  if opts.max_age ~= nil and (opts.max_age < 0 or opts.max_age % 1 ~= 0) then
    error("cors: max_age must be a whole number of seconds >= 0", 2)
  end
  if self._cors ~= nil then
    error("cors: already configured (" .. self._cors.where .. ")", 2)
  end
  local copy = { where = where(2) }
  for k, v in pairs(opts) do copy[k] = v end
  self._cors = copy
end

--- app:gzip{ minimum_size=500, level=6 }: gzip compressible responses for
-- clients that accept it (off until called).
function App:gzip(opts)
  check_self(self, "gzip")
  opts = opts or {}
  if type(opts) ~= "table" then
    error("gzip: expected a table of options, got " .. type(opts), 2)
  end
  for k, v in pairs(opts) do
    if k ~= "minimum_size" and k ~= "level" then
      error("gzip: unknown option '" .. tostring(k) .. "'", 2)
    end
    if type(v) ~= "number" or v % 1 ~= 0 then
      error("gzip: option '" .. k .. "' must be a whole number, got " .. tostring(v), 2)
    end
  end
  if opts.minimum_size ~= nil and opts.minimum_size < 0 then
    error("gzip: minimum_size must be >= 0", 2)
  end
  if opts.level ~= nil and (opts.level < 1 or opts.level > 9) then
    error("gzip: level must be from 1 to 9", 2)
  end
  self._gzip = { minimum_size = opts.minimum_size or 500, level = opts.level or 6, where = where(2) }
end

--- app:static(prefix, dir): GET/HEAD of the files under dir (relative to the
-- app's directory) at URL prefix.
function App:static(prefix, dir)
  check_self(self, "static")
  if type(prefix) ~= "string" or prefix:sub(1, 1) ~= "/" or prefix:find("[{}?#%%]") then
    error("static: prefix must be a path starting with '/' (no {, }, ?, # or %), got " .. tostring(prefix), 2)
  end
  if type(dir) ~= "string" or dir == "" then
    error("static: dir must be a directory name, got " .. tostring(dir), 2)
  end
  prefix = prefix:gsub("/+$", "")
  for _, m in ipairs(self._static) do
    if m.prefix == prefix then
      error("static: '" .. (prefix == "" and "/" or prefix) .. "' is already served (" .. m.where .. ")", 2)
    end
  end
  self._static[#self._static + 1] = { prefix = prefix, dir = dir, where = where(2) }
end

local RATELIMIT_OPTS = { rate = "number", per = "number", burst = "number", key = "function", name = "string",
  dict = "string", backend = "string" }
local limiters = {} -- how many limiters of each setting this app made: the next one's default name

--- moontide.ratelimit{ rate=, per=, burst=, key=, name=, dict=, backend= }: a provider
-- for app:provide that lets `rate` requests per `per` seconds through, plus
-- `burst` more at once, per client (or per key(req)), counted in a shared
-- dict across all workers (GCRA). Over the limit: 429 with Retry-After.
function M.ratelimit(opts)
  if type(opts) ~= "table" then
    error("moontide.ratelimit: expected a table of options ({ rate = 10, per = 1 }), got " .. type(opts), 2)
  end
  for k, v in pairs(opts) do
    local want = RATELIMIT_OPTS[k]
    if want == nil then
      error("moontide.ratelimit: unknown option '" .. tostring(k) .. "'", 2)
    elseif type(v) ~= want then
      error("moontide.ratelimit: option '" .. k .. "' must be a " .. want .. ", got " .. type(v), 2)
    end
  end
  local rate, per, burst = opts.rate, opts.per or 1, opts.burst or 0
  if rate == nil or not (rate >= 1) or rate % 1 ~= 0 or rate == math.huge then -- 1 per 10 s, not 0.1 per 1 s
    error("moontide.ratelimit: rate must be a whole number of requests from 1, got " .. tostring(rate), 2)
  end
  if not (per > 0) or per > 86400 * 365 then
    error("moontide.ratelimit: per must be a number of seconds above 0, got " .. tostring(per), 2)
  end
  if not (burst >= 0) or burst % 1 ~= 0 or burst == math.huge then
    error("moontide.ratelimit: burst must be a whole number from 0, got " .. tostring(burst), 2)
  end
  local name = opts.name
  if name == nil then -- stable across reloads as long as the app makes its limiters in the same order
    local setting = rate .. "/" .. per .. "+" .. burst
    limiters[setting] = (limiters[setting] or 0) + 1
    name = setting .. "#" .. limiters[setting]
  end
  local backend = opts.backend
  if backend ~= nil and backend ~= "local" and backend ~= "redis" then
    error("moontide.ratelimit: backend must be \"local\" or \"redis\", got \"" .. backend .. "\"", 2)
  end
  -- with --redis, limits count in Redis unless the app keeps one local: shared by every instance using that Redis
  local on_redis = backend == "redis" or (backend == nil and core.redis_enabled())
  local dict, prefix
  if on_redis then
    prefix = "moontide:" .. (opts.dict or "ratelimit") .. ":" .. name .. ":"
  else
    dict = core.shared_dict(opts.dict or "moontide.ratelimit")
  end
  local key_of, capacity, interval = opts.key, rate + burst, per / rate
  local limit = capacity
  return function(req)
    local key = req.client
    if key_of ~= nil then
      key = key_of(req)
      if type(key) ~= "string" then
        error("moontide.ratelimit: key(req) must return a string, got " .. type(key), 2)
      end
    end
    local allowed, remaining, reset, retry_after
    if not on_redis then
      allowed, remaining, reset, retry_after = core.shared_limit(dict, name .. "\0" .. key, interval, capacity)
    elseif not core.redis_enabled() then
      error("moontide.ratelimit: backend = \"redis\" needs the server started with --redis URL", 2)
    else
      allowed, remaining, reset, retry_after = core.redis_limit(prefix .. key, interval, capacity)
      if allowed == nil then -- Redis did not answer (logged): fail-open, as if the bucket were full
        allowed, remaining, reset, retry_after = true, capacity - 1, math.ceil(interval), 0
      end
    end
    local headers = { ["ratelimit-limit"] = limit, ["ratelimit-remaining"] = remaining, ["ratelimit-reset"] = reset }
    if not allowed then
      headers["retry-after"] = retry_after
      core.raise(429, "Too Many Requests: retry after " .. retry_after .. " s", headers)
    end
    core.add_headers(headers)
    return { limit = limit, remaining = remaining, reset = reset }
  end
end

local function with_content_type(headers, content_type)
  local merged = { ["content-type"] = content_type }
  for k, v in pairs(headers or {}) do
    merged[type(k) == "string" and k:lower() or k] = v
  end
  return merged
end

--- moontide.text(body[, status[, headers]]): a text/plain response.
function M.text(body, status, headers)
  return core.response { status = status, body = tostring(body),
    headers = with_content_type(headers, "text/plain; charset=utf-8") }
end

--- moontide.html(body[, status[, headers]]): a text/html response.
function M.html(body, status, headers)
  return core.response { status = status, body = tostring(body),
    headers = with_content_type(headers, "text/html; charset=utf-8") }
end

return M
