-- bench/apps/moontide-bench.lua: moontide's side of the benchmarks (shared/BENCH.md).
--
-- W1-W3 written by hand, the same contract as the peers in bench/peers/.
-- W2 and W3 validate in plain Lua for now; once annotations land they will
-- be declared instead. W4 (streaming) is left out until moontide streams:
-- bench/run checks each route first and records "n/a" for a missing one.
--
-- Run: moontide run bench/apps/moontide-bench.lua --port PORT --workers 1
local moontide = require "moontide"
local app = moontide.app { title = "bench", version = "1.0.0" }

local type, tonumber, find, gsub = type, tonumber, string.find, string.gsub

-- number of UTF-8 code points: every byte that is not a continuation byte
local function utf8_len(s)
    local _, n = gsub(s, "[^\128-\191]", "")
    return n
end

local function invalid(loc, msg, typ, input)
    moontide.raise(422, moontide.array { { type = typ, loc = loc, msg = msg, input = input } })
end

-- W1
app:get("/hello", function(req)
    return { message = "Hello, World!" }
end)

-- W2: id a strict decimal integer, q an optional string of at most 50 characters
app:get("/items/{id}", function(req)
    local id = req.params.id
    if not find(id, "^%-?%d+$") or #id > 16 then
        moontide.raise(422, moontide.array { {
            type = "int_parsing", loc = moontide.array { "path", "id" },
            msg = "Input should be a valid integer, unable to parse string as an integer",
            input = id,
        } })
    end
    local q = req.query.q
    if q ~= nil and utf8_len(q) > 50 then
        invalid(moontide.array { "query", "q" }, "String should have at most 50 characters",
                "string_too_long", q)
    end
    return { id = tonumber(id), q = q == nil and moontide.null or q }
end)

-- W3: the item schema checked by hand, the validated item echoed
local function check_item(item)
    if type(item) ~= "table" then return "body", "Input should be a valid dictionary" end
    local name, price, tags, status, dims = item.name, item.price, item.tags, item.status, item.dims
    if type(name) ~= "string" or utf8_len(name) < 1 or utf8_len(name) > 100 then
        return "name", "String should have 1 to 100 characters"
    end
    if type(price) ~= "number" or not (price > 0) then
        return "price", "Input should be greater than 0"
    end
    if tags ~= nil and tags ~= moontide.null then
        if type(tags) ~= "table" then return "tags", "Input should be a valid list" end
        local count = 0
        for _ in pairs(tags) do count = count + 1 end
        if count ~= #tags then return "tags", "Input should be a valid list" end
        if count > 10 then return "tags", "List should have at most 10 items" end
        for i = 1, count do
            if type(tags[i]) ~= "string" then return "tags", "Input should be a valid string" end
        end
    end
    if status ~= "draft" and status ~= "published" then
        return "status", "Input should be 'draft' or 'published'"
    end
    if dims ~= nil and dims ~= moontide.null then
        if type(dims) ~= "table" or type(dims.w) ~= "number" or type(dims.h) ~= "number" then
            return "dims", "Input should be an object with numbers w and h"
        end
    end
end

app:post("/items", function(req)
    local item = req.json
    local field, msg = check_item(item)
    if field then
        invalid(moontide.array { "body", field }, msg, "value_error",
                type(item) == "table" and item[field] or nil)
    end
    local tags, dims = item.tags, item.dims
    return {
        name = item.name,
        price = item.price,
        tags = (tags == nil or tags == moontide.null) and moontide.null or moontide.array(tags),
        status = item.status,
        dims = (dims == nil or dims == moontide.null) and moontide.null or { w = dims.w, h = dims.h },
    }
end)

return app
