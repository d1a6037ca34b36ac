-- bench/lib/soak_mixed.lua: wrk script for bench/soak, run as
--   wrk ... -s soak_mixed.lua URL -- valid|invalid|missing
-- Rotates through the requests of one group of bench/apps/moontide-bench.lua
-- (each group has one right status, since wrk does not say which request an
-- answer belongs to) and counts every answer with another status.
local groups = {
  valid = { status = 200, requests = {
    { "GET", "/hello" },
    { "GET", "/items/42?q=soak" },
    { "POST", "/items", '{"name":"Widget","price":12.5,"tags":["a"],"status":"draft","dims":{"w":1,"h":2}}' },
    { "GET", "/stream?n=20" },
  } },
  invalid = { status = 422, requests = {
    { "GET", "/items/not-a-number" },
    { "GET", "/items/7?q=" .. string.rep("q", 60) },
    { "POST", "/items", '{"name":"","price":-1,"status":"gone"}' },
    { "POST", "/items", '{"name":"x","price":1,' },                        -- malformed JSON
    { "POST", "/items", '{"name":"\255\254","price":1,"status":"draft"}' }, -- invalid UTF-8
    { "POST", "/items", string.rep("[", 5000) .. string.rep("]", 5000) },  -- nested too deeply
  } },
  missing = { status = 404, requests = {
    { "GET", "/nowhere" },
    { "GET", "/items/1/2" },
  } },
}

local group, formatted, counter = nil, {}, 0
answered, unexpected = 0, 0 -- globals: done() reads them from each thread

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  group = groups[args[1] or "valid"]
  for i, r in ipairs(group.requests) do
    local headers = r[3] and { ["Content-Type"] = "application/json" } or {}
    formatted[i] = wrk.format(r[1], r[2], headers, r[3])
  end
end

function request()
  counter = counter % #formatted + 1
  return formatted[counter]
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= group.status then
    unexpected = unexpected + 1
    if unexpected <= 5 then io.stderr:write("unexpected status ", status, "\n") end
  end
end

function done(summary, latency, requests)
  local total_answered, total_unexpected = 0, 0
  for _, thread in ipairs(threads) do
    total_answered = total_answered + thread:get("answered")
    total_unexpected = total_unexpected + thread:get("unexpected")
  end
  io.write(string.format("soak-result answered=%d unexpected=%d\n", total_answered, total_unexpected))
end
