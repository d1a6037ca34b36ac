-- An OpenAI-compatible chat proxy: POST /v1/chat/completions is checked
-- against a typed request model, sent on to an upstream with the API key
-- from the environment, and, with "stream": true, relayed token by token
-- as Server-Sent Events while the upstream produces them.
--
--   UPSTREAM_BASE_URL=https://api.openai.com UPSTREAM_API_KEY=sk-... \
--     moontide run examples/llm-proxy
--
-- For a demo without an account, run the fake upstream next to it (see
-- README.md): moontide run examples/llm-proxy/fake_upstream.lua --port 9000
local moontide = require "moontide"

local UPSTREAM = (os.getenv("UPSTREAM_BASE_URL") or "http://127.0.0.1:9000"):gsub("/+$", "")
local API_KEY = os.getenv("UPSTREAM_API_KEY") or ""
local TIMEOUT = tonumber(os.getenv("UPSTREAM_TIMEOUT") or "") or 60

local app = moontide.app {
  title = "LLM proxy",
  version = "1.0.0",
  description = "An OpenAI-compatible `POST /v1/chat/completions` in front of an upstream, " ..
    "streaming tokens as they arrive.",
}

---@class ChatMessage
---@field role "system"|"user"|"assistant"|"tool"
---@field content string {maxLength=100000}
---@field name? string {maxLength=64}

---@class ChatRequest
---@field model string {minLength=1, maxLength=100, example="gpt-4o-mini"}
---@field messages ChatMessage[] {minItems=1, maxItems=1000}
---@field stream? boolean
---@field temperature? number {minimum=0, maximum=2}
---@field top_p? number {minimum=0, maximum=1}
---@field max_tokens? integer {minimum=1}
---@field user? string {maxLength=256}

local function upstream_request(body, stream)
  return moontide.http.request {
    method = "POST",
    url = UPSTREAM .. "/v1/chat/completions",
    headers = {
      ["content-type"] = "application/json",
      ["authorization"] = "Bearer " .. API_KEY,
      ["accept"] = stream and "text/event-stream" or "application/json",
    },
    body = moontide.json.encode(body),
    timeout = TIMEOUT,
    stream = stream,
  }
end

-- Splits the upstream's event stream into the payloads of its `data:` lines:
-- an iterator over the chunk iterator (a plain function, not a coroutine, so
-- that reading the upstream can suspend the handler).
local function each_data(chunks)
  local buffer, ready = "", {}
  return function()
    while #ready == 0 do
      local event_end = buffer:find("\n\n", 1, true)
      if event_end then
        local event = buffer:sub(1, event_end - 1)
        buffer = buffer:sub(event_end + 2)
        for line in (event .. "\n"):gmatch("(.-)\n") do
          local data = line:match("^data: ?(.*)$")
          if data then ready[#ready + 1] = data end
        end
      else
        local chunk = chunks()
        if chunk == nil then return nil end
        buffer = buffer .. chunk:gsub("\r\n", "\n")
      end
    end
    return table.remove(ready, 1)
  end
end

---Create a chat completion.
---The request is checked against the OpenAI request model, then sent on to
---the upstream. With `"stream": true` the answer is Server-Sent Events, one
---`data:` line per token as the upstream produces it, ending with `[DONE]`.
---@tag chat
---@param request ChatRequest
---@response 502 # The upstream failed or could not be reached.
app:post("/v1/chat/completions", function(request)
  if not request.stream then
    local ok, res = pcall(upstream_request, request, false)
    if not ok then moontide.raise(502, "upstream unreachable: " .. tostring(res)) end
    return moontide.response { status = res.status, body = res.body,
                               headers = { ["content-type"] = res.headers["content-type"] or "application/json" } }
  end
  local ok, res = pcall(upstream_request, request, true)
  if not ok then moontide.raise(502, "upstream unreachable: " .. tostring(res)) end
  if res.status ~= 200 then
    local text = {}
    for chunk in res.body do text[#text + 1] = chunk end
    return moontide.response { status = res.status, body = table.concat(text),
                               headers = { ["content-type"] = res.headers["content-type"] or "application/json" } }
  end
  return moontide.sse(function(emit)
    -- each payload is relayed as it is, OpenAI's chunk JSON or [DONE]
    for data in each_data(res.body) do
      if not emit(data) then return end -- the client left: stop reading the upstream
    end
  end)
end)

return app
