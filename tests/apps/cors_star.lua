-- app:cors with every origin, method and header allowed (tests/blackbox/test_cors.py);
-- MOONTIDE_TEST_CREDENTIALS=1 allows credentials too.
local moontide = require "moontide"
local app = moontide.app { title = "cors star", version = "1" }

app:cors {
  allow_origins = { "*" },
  allow_methods = { "*" },
  allow_headers = { "*" },
  allow_credentials = os.getenv("MOONTIDE_TEST_CREDENTIALS") == "1",
}

app:get("/hello", function(req)
  return { hello = "world" }
end)

return app
