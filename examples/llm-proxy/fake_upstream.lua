-- A fake OpenAI-compatible upstream for examples/llm-proxy's tests and demos:
-- POST /v1/chat/completions answers with the words of the last user message
-- spoken back, one token every FAKE_TOKEN_DELAY seconds (default 0.05),
-- streamed as OpenAI streams them ("data: {chunk}" events, then
-- "data: [DONE]") or, without "stream": true, as one completion.
--
--   moontide run examples/llm-proxy/fake_upstream.lua --port 9000
local moontide = require "moontide"

local DELAY = tonumber(os.getenv("FAKE_TOKEN_DELAY") or "") or 0.05
local app = moontide.app { title = "fake LLM upstream", version = "1.0.0" }

local function reply_tokens(request)
  local last = ""
  for _, m in ipairs(request.messages or {}) do
    if m.role == "user" then last = m.content end
  end
  local tokens = { "You", " said:" }
  for word in tostring(last):gmatch("%S+") do tokens[#tokens + 1] = " " .. word end
  return tokens
end

local function chunk(request, delta, finish)
  return {
    id = "chatcmpl-fake", object = "chat.completion.chunk", created = 0, model = request.model or "fake",
    choices = { { index = 0, delta = delta, finish_reason = finish or moontide.null } },
  }
end

app:post("/v1/chat/completions", function(req)
  local request = req.json or {}
  if req.headers["authorization"] == nil then
    moontide.raise(401, "missing Authorization")
  end
  local tokens = reply_tokens(request)
  if not request.stream then
    return {
      id = "chatcmpl-fake", object = "chat.completion", created = 0, model = request.model or "fake",
      choices = { { index = 0, message = { role = "assistant", content = table.concat(tokens) },
                    finish_reason = "stop" } },
      usage = { prompt_tokens = 0, completion_tokens = #tokens, total_tokens = #tokens },
    }
  end
  return moontide.sse(function(emit)
    emit { data = chunk(request, { role = "assistant", content = "" }) }
    for _, token in ipairs(tokens) do
      moontide.sleep(DELAY)
      if not emit { data = chunk(request, { content = token }) } then return end
    end
    emit { data = chunk(request, {}, "stop") }
    emit { data = "[DONE]" }
  end)
end)

return app
