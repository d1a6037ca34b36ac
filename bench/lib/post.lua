-- bench/lib/post.lua: wrk script for W3, POST /items with the BENCH.md body.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Widget","price":12.5,"tags":["a","b","c"],"status":"draft","dims":{"w":1.5,"h":2.0}}'
