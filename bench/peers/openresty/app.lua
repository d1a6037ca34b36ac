-- bench/peers/openresty/app.lua: the OpenResty-style peer's handlers.
--
-- The four benchmark routes of shared/BENCH.md written the way an OpenResty
-- user writes them: lua-cjson for JSON, validation by hand. Debian's lua-cjson
-- is upstream 2.1.0 (no cjson.array_mt / empty_array), so responses are
-- assembled from encoded parts: that keeps the field order of the schema and
-- an empty `tags` array stays an array.
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local ngx = ngx
local type, tonumber, concat = type, tonumber, table.concat
local str_find, str_format, str_gsub = string.find, string.format, string.gsub

local encode = cjson.encode
local decode = cjson_safe.decode
local M = {}

-- number of UTF-8 code points: every byte that is not a continuation byte
local function utf8_len(s)
    local _, n = str_gsub(s, "[^\128-\191]", "")
    return n
end

-- a whole JSON body in one write, with Content-Length (not chunked)
local function send(body)
    ngx.header["Content-Length"] = #body
    ngx.print(body)
end

local function unprocessable(detail)
    ngx.status = 422
    send(encode { detail = detail })
    return ngx.exit(422)
end

local function is_int(s)
    return str_find(s, "^%-?%d+$") ~= nil and #s <= 16
end

-- W1 GET /hello
local hello = encode { message = "Hello, World!" }
function M.hello()
    send(hello)
end

-- W2 GET /items/{id}?q=
function M.get_item(id)
    if ngx.req.get_method() ~= "GET" then return ngx.exit(405) end
    if not is_int(id) then
        return unprocessable "id: Input should be a valid integer"
    end
    local q = ngx.req.get_uri_args().q
    if type(q) == "table" then q = q[#q] end   -- repeated: the last one
    if q == true then q = "" end                -- ?q without a value
    if q ~= nil and utf8_len(q) > 50 then
        return unprocessable "q: String should have at most 50 characters"
    end
    send(concat { '{"id":', str_format("%d", tonumber(id)), ',"q":', q == nil and "null" or encode(q), '}' })
end

-- W3 POST /items: returns the echo of a valid item, or nil and why not
local function validate(item)
    if type(item) ~= "table" then return nil, "body: Input should be an object" end
    local name, price, tags, status, dims = item.name, item.price, item.tags, item.status, item.dims
    if type(name) ~= "string" then return nil, "name: a string is required" end
    local n = utf8_len(name)
    if n < 1 or n > 100 then return nil, "name: length must be 1-100" end
    if type(price) ~= "number" or not (price > 0) then
        return nil, "price: a number greater than 0 is required"
    end
    local tags_json = "null"
    if tags ~= nil and tags ~= cjson.null then
        if type(tags) ~= "table" or next(tags) ~= nil and #tags == 0 then
            return nil, "tags: Input should be a valid list"
        end
        local count = 0
        for _ in pairs(tags) do count = count + 1 end
        if count ~= #tags then return nil, "tags: Input should be a valid list" end
        if count > 10 then return nil, "tags: at most 10 items" end
        for i = 1, count do
            if type(tags[i]) ~= "string" then return nil, "tags: items should be strings" end
        end
        tags_json = count == 0 and "[]" or encode(tags)
    end
    if status ~= "draft" and status ~= "published" then
        return nil, "status: Input should be 'draft' or 'published'"
    end
    local dims_json = "null"
    if dims ~= nil and dims ~= cjson.null then
        if type(dims) ~= "table" or type(dims.w) ~= "number" or type(dims.h) ~= "number" then
            return nil, "dims: w and h numbers are required"
        end
        dims_json = concat { '{"w":', encode(dims.w), ',"h":', encode(dims.h), '}' }
    end
    return concat { '{"name":', encode(name), ',"price":', encode(price), ',"tags":', tags_json,
                    ',"status":', encode(status), ',"dims":', dims_json, '}' }
end

function M.create_item()
    if ngx.req.get_method() ~= "POST" then return ngx.exit(405) end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    local item = body and decode(body)
    if item == nil then return unprocessable "body: JSON decode error" end
    local out, err = validate(item)
    if not out then return unprocessable(err) end
    send(out)
end

-- W4 GET /stream?n=100: one event per write, each flushed before the next
function M.stream()
    local n = ngx.req.get_uri_args().n or "100"
    if type(n) ~= "string" or not is_int(n) or tonumber(n) < 0 or tonumber(n) > 100000 then
        return unprocessable "n: Input should be an integer 0-100000"
    end
    ngx.header["Content-Type"] = "text/event-stream"
    ngx.header["Cache-Control"] = "no-cache"
    for i = 1, tonumber(n) do
        ngx.print('data: {"i":', i, '}\n\n')
        ngx.flush(true)
    end
end

return M
