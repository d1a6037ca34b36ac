-- bench/lib/post.lua: wrk script for W3, POST /items with the BENCH.md body
-- (item.json beside this file, which h2load sends for W3 over h2c too).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local file = assert(io.open(dir .. "item.json", "rb"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = file:read("*a")
file:close()
