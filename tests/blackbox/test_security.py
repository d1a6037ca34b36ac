"""Ready-made security providers (SPEC §7): moontide.security.api_key and
moontide.security.bearer answer 401 with FastAPI's bodies and
WWW-Authenticate, hand the handler what `check` returns, and appear in the
OpenAPI document's securitySchemes and each operation's security, so Swagger
UI's Authorize dialog works (checked in headless Chromium)."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Server, ServerTestCase, app_path
from test_docs_browser import CHROMIUM, TIMEOUT_MS
from test_examples import EXAMPLES
from test_openapi_lint import OPENAPI_DIR, ensure_packages


class Security(ServerTestCase):
    app = "security"

    def call(self, path, headers=None):
        status, response_headers, body = self.server.request("GET", path, headers=headers)
        return status, response_headers.get("www-authenticate"), json.loads(body)

    def test_api_key_missing_wrong_and_right(self):
        self.assertEqual(self.call("/whoami"), (401, "APIKey", {"detail": "Not authenticated"}))
        self.assertEqual(self.call("/whoami", {"X-API-Key": "nope"}),
                         (401, "APIKey", {"detail": "Invalid authentication credentials"}))
        self.assertEqual(self.call("/whoami", {"x-api-key": "key-alice"}), (200, None, {"name": "alice"}))

    def test_api_key_in_the_query_without_a_check(self):
        self.assertEqual(self.call("/raw?api_key=zz"), (200, None, {"key": "zz"}))
        self.assertEqual(self.call("/raw"), (401, "APIKey", {"detail": "Not authenticated"}))

    def test_bearer_token(self):
        key = {"X-API-Key": "key-alice"}
        self.assertEqual(self.call("/admin", key), (401, "Bearer", {"detail": "Not authenticated"}))
        self.assertEqual(self.call("/admin", {**key, "Authorization": "Basic dXNlcjpwdw=="}),
                         (401, "Bearer", {"detail": "Invalid authentication credentials"}))
        self.assertEqual(self.call("/admin", {**key, "Authorization": "Bearer tok-2"}),
                         (401, 'Bearer error="invalid_token"', {"detail": "Invalid authentication credentials"}))
        self.assertEqual(self.call("/admin", {**key, "Authorization": "bearer tok-1"}),
                         (200, None, {"admin": "alice", "token_user": "carol"}))

    def test_an_app_provider_on_top_may_refuse_with_403(self):
        self.assertEqual(self.call("/admin", {"X-API-Key": "key-bob", "Authorization": "Bearer tok-1"}),
                         (403, None, {"detail": "admins only"}))

    def test_security_schemes_and_requirements_in_openapi(self):
        doc = json.loads(self.server.request("GET", "/openapi.json")[2])
        self.assertEqual(doc["components"]["securitySchemes"], {
            "ApiKey": {"type": "apiKey", "name": "X-API-Key", "in": "header",
                       "description": "A key from the admin console"},
            "QueryKey": {"type": "apiKey", "name": "api_key", "in": "query"},
            "Token": {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"},
        })
        admin = doc["paths"]["/admin"]["get"]
        self.assertEqual(admin["security"], [{"ApiKey": [], "Token": []}])  # both required
        self.assertNotIn("parameters", admin)  # credentials are not listed as parameters
        self.assertEqual(doc["paths"]["/whoami"]["get"]["security"], [{"ApiKey": []}])
        self.assertNotIn("security", doc["paths"]["/open"]["get"])


def authorize_in_browser(testcase, server, scheme, value, path):
    """Runs tests/openapi/authorize.mjs: Authorize with `value` for `scheme`, then Try it out on GET `path`."""
    ensure_packages()
    shots = tempfile.mkdtemp(prefix="moontide-authorize-")
    testcase.addCleanup(shutil.rmtree, shots, ignore_errors=True)
    config = {"base": server.url, "executablePath": CHROMIUM, "timeoutMs": TIMEOUT_MS,
              "scheme": scheme, "value": value, "path": path, "screenshots": shots}
    proc = subprocess.run(["node", os.path.join(OPENAPI_DIR, "authorize.mjs")], input=json.dumps(config),
                          cwd=OPENAPI_DIR, capture_output=True, text=True, timeout=180)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    testcase.assertNotIn("error", result, result)
    return result


@unittest.skipUnless(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: install Debian's chromium package "
                                                   "(.ci/deps lists it)")
class AuthorizeInSwaggerUI(unittest.TestCase):
    def test_the_authorize_dialog_sends_the_key(self):
        with Server(app_path("security")) as server:
            result = authorize_in_browser(self, server, "ApiKey", "key-alice", "/whoami")
        self.assertTrue(any(s.startswith("ApiKey") for s in result["schemes"]), result["schemes"])
        self.assertTrue(any(s.startswith("Token") for s in result["schemes"]), result["schemes"])
        self.assertEqual(result["sentHeaders"].get("x-api-key"), "key-alice")
        self.assertEqual((result["status"], result["shownStatus"]), (200, "200"))
        self.assertIn('"name": "alice"', result["shownBody"], result)

    def test_the_keyed_api_example_in_swagger_ui(self):
        with Server(os.path.join(EXAMPLES, "keyed-api")) as server:
            result = authorize_in_browser(self, server, "ApiKey", "demo-key-alice", "/v1/me")
        self.assertEqual(result["sentHeaders"].get("x-api-key"), "demo-key-alice")
        self.assertEqual((result["status"], result["shownStatus"]), (200, "200"))
        self.assertIn('"name": "alice"', result["shownBody"], result)
        self.assertIn('"remaining":', result["shownBody"], result)


if __name__ == "__main__":
    unittest.main()
