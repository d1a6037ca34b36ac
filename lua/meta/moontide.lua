---@meta moontide

-- Type stubs of the `moontide` module for the Lua Language Server (LuaLS):
-- completion, hover and type checks in your editor. Point LuaLS at this
-- directory (`workspace.library`, see .luarc.json at the repo top and the
-- "Editor support" section of docs/guide.md). This file is never run: the
-- real module is lua/moontide.lua, built into the binary.
--
-- tests/blackbox/test_meta.py checks that every public function and field
-- of the real module, and every app method, is declared here (and nothing
-- more), so the stubs cannot drift from the code.

---@class moontidelib
local moontide = {}

-- Types -----------------------------------------------------------------------

---Header values of a response: a string or number, or a list of them for a
---repeated header (`["set-cookie"] = { "a=1", "b=2" }`).
---@alias moontide.Headers table<string, string|number|(string|number)[]>

---A handler. With `---@param` lines its arguments come in their order (path,
---query, header, cookie parameters, the JSON body, the request object);
---without any it receives the request object. It returns
---`body[, status[, headers]]`, or a `moontide.Response`.
---@alias moontide.Handler fun(...: any): any, integer?, moontide.Headers?

---An OpenAPI tag with its description (`moontide.app{ tags = {...} }`).
---@class moontide.TagInfo
---@field name string
---@field description? string

---Options of `moontide.app{...}`. Any other key is an error.
---@class moontide.AppOpts
---@field title? string API title in the OpenAPI document (default "moontide app").
---@field version? string API version (default "0.1.0").
---@field description? string Markdown shown at the top of /docs.
---@field tags? moontide.TagInfo[] Tag descriptions, in display order.
---@field openapi_url? string|false Where the OpenAPI document is served; `false` turns it off.
---@field docs_url? string|false Where Swagger UI is served; `false` turns it off.
---@field redoc_url? string|false Where ReDoc is served; `false` turns it off.

---One parameter of a route built in code: `{ "name", "type", constraint = value, ... }`.
---A name ending in `?` is optional. The other keys are the constraints of an
---annotation (`minimum`, `maxLength`, `pattern`, `format`, `default`, `["in"]`, `alias`, ...).
---@class moontide.ParamSpec
---@field [1] string The parameter name (or use `name`).
---@field [2] string Its type, written as in annotations: "integer", "Item[]", "\"a\"|\"b\"" (or use `type`).
---@field name? string
---@field type? string
---@field optional? boolean
---@field description? string
---@field in? "query"|"header"|"cookie"|"path"|"body"
---@field alias? string The name on the wire.
---@field minimum? number
---@field maximum? number
---@field exclusiveMinimum? number
---@field exclusiveMaximum? number
---@field multipleOf? number
---@field minLength? integer
---@field maxLength? integer
---@field pattern? string
---@field format? "email"|"uuid"|"date"|"date-time"|"uri"|"ipv4"|"ipv6"
---@field minItems? integer
---@field maxItems? integer
---@field uniqueItems? boolean
---@field default? any
---@field example? any
---@field deprecated? boolean

---An extra documented response of a route built in code.
---@class moontide.ResponseSpec
---@field type? string The body's type, as in annotations.
---@field description? string

---Options of a route (`app:get(path, opts, handler)`): what an annotation
---block can say, for routes built in code. They win over an annotation block
---above the same handler. Any other key is an error.
---@class moontide.RouteOpts
---@field summary? string
---@field description? string Markdown.
---@field tags? string[]
---@field status? integer The success status (default 200).
---@field deprecated? boolean
---@field responses? table<integer, string|moontide.ResponseSpec> Extra responses: `{ [404] = "Not found" }`.
---@field include_in_schema? boolean `false` keeps the route out of the OpenAPI document.
---@field params? moontide.ParamSpec[] The handler's parameters, in order.
---@field returns? string The response model, as in annotations ("Item", "Item[]").

---The request object: what a handler with no `---@param` receives, or a
---parameter typed `moontide.Request`. Read-only, and valid only during its
---request. Its table fields are built the first time they are read.
---@class moontide.Request
---@field method string "GET", "POST", ...
---@field path string The path without the query string, as sent (not percent-decoded).
---@field params table<string, string> Path parameters, decoded: `{ id = "42" }`.
---@field query table<string, string|string[]> Query parameters, decoded; a repeated key gives a list; a key without `=` gives "".
---@field headers table<string, string> Lower-case name -> value; repeated headers joined with ", " ("; " for cookie).
---@field body string The raw body ("" when none).
---@field json any The body decoded from JSON (nil when empty); malformed JSON answers 422.
---@field client string The peer's address, "127.0.0.1".
---@field id string The request ID: the client's X-Request-ID when sane (1-128 visible ASCII characters), else 32 random hex digits; also sent back as X-Request-ID.
---@field http_version "1.0"|"1.1"|"2"

---A raw response made by `moontide.response`, `moontide.text` or `moontide.html`.
---It bypasses the handler's `---@return` model.
---@class moontide.Response

---The raw response fields.
---@class moontide.ResponseFields
---@field status? integer 100-599, default 200.
---@field headers? moontide.Headers
---@field body? string|table|number|boolean A table is JSON; nil is an empty body.

-- The application -------------------------------------------------------------

---An application: register routes on it, and return it from the app file.
---@class moontide.App
---@field title string
---@field version string
---@field description? string
---@field tags? moontide.TagInfo[]
---@field openapi_url? string|false
---@field docs_url? string|false
---@field redoc_url? string|false
local App = {}

---Registers a GET route (it also serves HEAD). `{name}` in the path matches one segment.
---@param path string
---@param opts moontide.RouteOpts
---@param handler moontide.Handler
---@return moontide.Handler handler
---@overload fun(self: moontide.App, path: string, handler: moontide.Handler): moontide.Handler
function App:get(path, opts, handler) end

---Registers a POST route.
---@param path string
---@param opts moontide.RouteOpts
---@param handler moontide.Handler
---@return moontide.Handler handler
---@overload fun(self: moontide.App, path: string, handler: moontide.Handler): moontide.Handler
function App:post(path, opts, handler) end

---Registers a PUT route.
---@param path string
---@param opts moontide.RouteOpts
---@param handler moontide.Handler
---@return moontide.Handler handler
---@overload fun(self: moontide.App, path: string, handler: moontide.Handler): moontide.Handler
function App:put(path, opts, handler) end

---Registers a PATCH route.
---@param path string
---@param opts moontide.RouteOpts
---@param handler moontide.Handler
---@return moontide.Handler handler
---@overload fun(self: moontide.App, path: string, handler: moontide.Handler): moontide.Handler
function App:patch(path, opts, handler) end

---Registers a DELETE route.
---@param path string
---@param opts moontide.RouteOpts
---@param handler moontide.Handler
---@return moontide.Handler handler
---@overload fun(self: moontide.App, path: string, handler: moontide.Handler): moontide.Handler
function App:delete(path, opts, handler) end

---Registers a HEAD route (a GET route already serves HEAD).
---@param path string
---@param opts moontide.RouteOpts
---@param handler moontide.Handler
---@return moontide.Handler handler
---@overload fun(self: moontide.App, path: string, handler: moontide.Handler): moontide.Handler
function App:head(path, opts, handler) end

---Registers an OPTIONS route.
---@param path string
---@param opts moontide.RouteOpts
---@param handler moontide.Handler
---@return moontide.Handler handler
---@overload fun(self: moontide.App, path: string, handler: moontide.Handler): moontide.Handler
function App:options(path, opts, handler) end

---Registers a route for one method or several: `app:route({ "GET", "POST" }, "/x", fn)`.
---@param methods string|string[]
---@param path string
---@param opts moontide.RouteOpts
---@param handler moontide.Handler
---@return moontide.Handler handler
---@overload fun(self: moontide.App, methods: string|string[], path: string, handler: moontide.Handler): moontide.Handler
function App:route(methods, path, opts, handler) end

---Gives a type name a provider: every handler or provider parameter annotated
---with that type gets what `provider` returns, made once per request. The
---provider's own parameters are annotated and bound like a handler's (one
---without annotations gets the request object). It may return a cleanup
---function as its second value, run after the response is sent. `provider`
---may also be what `moontide.security.api_key` or `.bearer` returns.
---@param name string A type name, like a class's: "Db", "auth.User".
---@param provider function|moontide.SecurityProvider
---@return function provider
function App:provide(name, provider) end

---Runs `fn()` in each worker before it serves this app (in the order added).
---An error stops the server. It cannot wait.
---@param fn fun()
---@return fun() fn
function App:on_startup(fn) end

---Runs `fn()` in each worker once it stops serving this app (in the order
---added). Errors are logged. It cannot wait.
---@param fn fun()
---@return fun() fn
function App:on_shutdown(fn) end

---CORS options, as Starlette's CORSMiddleware takes them.
---@class moontide.CorsOpts
---@field allow_origins? string[] Allowed origins; "*" allows any.
---@field allow_origin_regex? string A PCRE2 pattern the whole origin must match.
---@field allow_methods? string[] Default { "GET" }; "*" allows all.
---@field allow_headers? string[] Request headers a preflight may ask for (the CORS-safelisted ones always); "*" allows any.
---@field allow_credentials? boolean Default false.
---@field expose_headers? string[] Response headers the browser may show to scripts.
---@field max_age? integer Seconds a browser may cache a preflight answer; default 600.

---Answers CORS preflights before routing and adds the Access-Control headers
---to every response. Call it once.
---@param opts moontide.CorsOpts
function App:cors(opts) end

---gzip options.
---@class moontide.GzipOpts
---@field minimum_size? integer Smaller bodies are sent as they are; default 500.
---@field level? integer 1 (fastest) to 9 (smallest); default 6.

---Compresses compressible responses (text, JSON, JavaScript, XML, SVG...)
---for clients that accept gzip; streams write by write, never SSE. Off
---until called.
---@param opts? moontide.GzipOpts
function App:gzip(opts) end

---Serves the files under `dir` (relative to the app's directory) at URL
---`prefix`, for GET and HEAD, with ETag, Last-Modified and byte ranges.
---Routes take precedence; directories and hidden files are 404.
---@param prefix string "/assets", or "/".
---@param dir string
function App:static(prefix, dir) end

-- The module ------------------------------------------------------------------

---The moontide version, "X.Y.Z".
---@type string
moontide.VERSION = ""

---JSON `null`: as a value in a table, it is written as `null`; decoded arrays
---hold it where the JSON had `null`.
---@type lightuserdata
moontide.null = nil

---JSON encoding and decoding, in C.
moontide.json = {}

---Encodes a Lua value as JSON. Raises an error for cycles, `inf`/`nan`,
---non-string keys other than numbers, and nesting deeper than 1000.
---@param value any
---@return string
function moontide.json.encode(value) end

---Decodes strict JSON (RFC 8259). Objects become tables, arrays tables marked
---as arrays; `null` in an array is `moontide.null`.
---@param text string
---@return any value The decoded value, or nil on bad input.
---@return string? err "reason (at byte N)" on bad input.
function moontide.json.decode(text) end

---A provider made by `moontide.security.*`, for `app:provide`.
---@class moontide.SecurityProvider

---Options of `moontide.security.api_key{...}`.
---@class moontide.ApiKeyOpts
---@field name string The header, query parameter or cookie carrying the key ("X-API-Key").
---@field in? "header"|"query"|"cookie" Default "header".
---@field check? fun(key: string): any What the handler gets for a key; nil or false answers 401. Without it, the key itself.
---@field description? string Shown in the Authorize dialog.

---Options of `moontide.security.bearer{...}`.
---@class moontide.BearerOpts
---@field check? fun(token: string): any What the handler gets for a token; nil or false answers 401. Without it, the token.
---@field format? string Documented as bearerFormat ("JWT").
---@field description? string

---Ready-made providers for `app:provide` that check a credential, answer 401
---with FastAPI's bodies and `WWW-Authenticate`, and appear in the OpenAPI
---document's securitySchemes.
moontide.security = {}

---An API key in a header, query parameter or cookie.
---@param opts moontide.ApiKeyOpts
---@return moontide.SecurityProvider
function moontide.security.api_key(opts) end

---A bearer token: `Authorization: Bearer TOKEN`.
---@param opts? moontide.BearerOpts
---@return moontide.SecurityProvider
function moontide.security.bearer(opts) end

---A new application.
---@param opts? moontide.AppOpts
---@return moontide.App
function moontide.app(opts) end

---Stops the handler and answers `{"detail": detail}` with `status`. It never
---returns; its result is typed `any` so that the idiom
---`return book or moontide.raise(404, "Book not found")` keeps the type of `book`.
---@param status integer 100-599.
---@param detail any Any JSON value.
---@param headers? moontide.Headers
---@return any
function moontide.raise(status, detail, headers) end

---Suspends the calling handler for `seconds` (fractions allowed, 0 yields
---once); the worker serves other requests meanwhile. Only from a handler's
---own coroutine, not while the app loads.
---@param seconds number
function moontide.sleep(seconds) end

---Options of `moontide.http.request{...}`. Any other key is an error.
---@class moontide.HttpRequestOpts
---@field url string An `http://` or `https://` URL; a `#fragment` is not sent.
---@field method? string Default "GET".
---@field headers? table<string, string|number> Sent as given; a `host` header replaces the URL's host; `content-length` comes from `body`.
---@field body? string
---@field timeout? number Seconds (default 30, at most 3600) for the connection, then for the head, then between reads of the body.
---@field stream? boolean Return once the head is in, with `body` an iterator over the body's chunks.
---@field verify? boolean Check the server's certificate and that it names the host (default true).

---What `moontide.http.request` returns.
---@class moontide.HttpResponse
---@field status integer
---@field headers table<string, string> Lower-case name -> value; a repeated header is joined with ", ".
---@field body string|fun(): string? The whole body (up to 64 MiB); with `stream = true`, an iterator: `for chunk in res.body do ... end`.

---Outbound HTTP.
moontide.http = {}

---An HTTP/1.1 request (http or https) from a handler: only the calling
---handler waits; connections are kept alive per scheme, host and port. A
---failure to connect, a TLS or protocol error, or a timeout raises
---`"moontide.http.request: METHOD URL: reason"` (catchable with pcall); any
---status is a result. Only from a handler or its stream producer.
---@param opts moontide.HttpRequestOpts
---@return moontide.HttpResponse
function moontide.http.request(opts) end

---Options of `moontide.stream` and `moontide.sse`.
---@class moontide.StreamOpts
---@field status? integer 200-599 (default 200).
---@field headers? moontide.Headers
---@field content_type? string Default "text/plain; charset=utf-8" (stream), "text/event-stream; charset=utf-8" (sse).
---@field keepalive? number Seconds without a write before an SSE comment line goes out (sse default 15; 0: none).

---What `moontide.stream`/`moontide.sse` return; a handler returns it.
---@class moontide.Stream

---One Server-Sent Event: `data` as a string (one `data:` line per line) or
---any other value (written as JSON).
---@class moontide.Event
---@field data? any
---@field event? string
---@field id? string|number
---@field retry? integer Milliseconds.
---@field comment? string

---A streamed response: `fn(send)` runs after the response starts;
---`send(chunk)` puts the chunk on the wire at once and waits while the
---client is slow; it returns false once the client has gone (stop then).
---@param fn fun(send: fun(chunk: string): boolean)
---@param opts? moontide.StreamOpts
---@return moontide.Stream
function moontide.stream(fn, opts) end

---A Server-Sent Events response: `fn(emit, last_event_id)`; `emit(event)` or
---`emit(data)` returns false once the client has gone.
---@param fn fun(emit: fun(event: moontide.Event|string): boolean, last_event_id: string?)
---@param opts? moontide.StreamOpts
---@return moontide.Stream
function moontide.sse(fn, opts) end

---A raw response: `return moontide.response{ status = 204 }`.
---@param fields moontide.ResponseFields
---@return moontide.Response
function moontide.response(fields) end

---A `text/plain; charset=utf-8` response.
---@param body any Converted with tostring.
---@param status? integer
---@param headers? moontide.Headers
---@return moontide.Response
function moontide.text(body, status, headers) end

---A `text/html; charset=utf-8` response.
---@param body any Converted with tostring.
---@param status? integer
---@param headers? moontide.Headers
---@return moontide.Response
function moontide.html(body, status, headers) end

---Adds headers to the response of the running request, whatever the handler
---then returns or raises (from a handler or a provider, before a stream
---starts). Checked as a handler's headers are; `content-type` is refused.
---@param headers moontide.Headers
function moontide.add_headers(headers) end

---A key/value store shared by every worker of the instance (and by every app
---generation after a `moontide dev` reload). Each call takes the dict's lock
---for one operation.
---@class moontide.SharedDict
local SharedDict = {}

---The value, or nil when the key is absent or expired.
---@param key string
---@return string|number|boolean|nil
function SharedDict:get(key) end

---Stores the value (nil deletes the key); `ttl` in seconds, fractions
---allowed, 0 or nil for none. When the dict is full the least recently used
---entries are evicted to make room.
---@param key string
---@param value string|number|boolean|nil
---@param ttl? number
---@return boolean ok
---@return string? err "no memory": the value does not fit even after evicting.
function SharedDict:set(key, value, ttl) end

---Stores the value only when the key is absent (or expired).
---@param key string
---@param value string|number|boolean
---@param ttl? number
---@return boolean ok
---@return string? err "exists" or "no memory".
function SharedDict:add(key, value, ttl) end

---Adds `by` to a number atomically and returns the new number (its ttl is
---kept). An absent key is stored as `init + by` (with `init_ttl`) when
---`init` is given.
---@param key string
---@param by number
---@param init? number
---@param init_ttl? number
---@return number? value
---@return string? err "not found", "not a number" or "no memory".
function SharedDict:incr(key, by, init, init_ttl) end

---Removes the key; returns whether it was there.
---@param key string
---@return boolean
function SharedDict:delete(key) end

---Options of `moontide.shared.dict`.
---@class moontide.SharedDictOpts
---@field size? integer|string Bytes, or "64k", "1m" (default "1m"); the first open of a name decides.
---@field backend? "local"|"redis" "redis": entries in Redis (`--redis`), shared by every instance; each call waits for Redis, so only from handlers and providers (default "local").

---Shared memory.
moontide.shared = {}

---The shared dict called `name` (1 to 63 bytes), made on first use.
---@param name string
---@param opts? moontide.SharedDictOpts
---@return moontide.SharedDict
function moontide.shared.dict(name, opts) end

---Options of `moontide.ratelimit`. Any other key is an error.
---@class moontide.RateLimitOpts
---@field rate integer Requests per `per` seconds (a whole number from 1: 1 per 10 s rather than 0.1 per 1 s).
---@field per? number Seconds (default 1).
---@field burst? integer Requests allowed at once on top of `rate` (default 0).
---@field key? fun(req: moontide.Request): string What is limited (default: `req.client`, the client's address).
---@field name? string The limiter's buckets (default: made from its settings and the order limiters are made in).
---@field dict? string The shared dict holding the buckets (default "moontide.ratelimit"; on Redis, the key prefix `moontide:DICT:`, default "ratelimit").
---@field backend? "local"|"redis" Where buckets are counted: "redis" is the default with `--redis` (shared by every instance), "local" keeps this limiter per instance.

---What a rate limiter's provider gives the handler.
---@class moontide.RateLimit
---@field limit integer `rate + burst`.
---@field remaining integer Requests the key may still make at once.
---@field reset integer Seconds until its bucket is full again.

---A provider for `app:provide` that counts requests per key across all
---workers (GCRA): `rate + burst` at once, then `rate` per `per` seconds.
---Over the limit it raises 429 with `Retry-After` and `RateLimit-Limit`,
---`RateLimit-Remaining`, `RateLimit-Reset`; allowed responses carry those
---three too. `app:provide("Limited", moontide.ratelimit { rate = 10, per = 1, burst = 20 })`.
---@param opts moontide.RateLimitOpts
---@return fun(req: moontide.Request): moontide.RateLimit
function moontide.ratelimit(opts) end

---Marks `t` (or a new table) as a JSON array, so that an empty one is written
---as `[]` rather than `{}`.
---@generic T: table
---@param t? T
---@return T
function moontide.array(t) end

return moontide
