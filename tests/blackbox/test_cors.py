"""app:cors{...} (SPEC §7), with Starlette's CORSMiddleware semantics:
preflights answered before routing (200, or 400 naming what is disallowed),
and the Access-Control headers on every response to a request with Origin,
errors, 404s, streams and static files included."""
import os
import tempfile
import unittest

from harness import Server, ServerTestCase, run_cli

PREFLIGHT = {"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}


class Cors(ServerTestCase):
    app = "http_extras"

    def test_preflight_allowed(self):
        status, headers, body = self.server.request("OPTIONS", "/small", headers={
            **PREFLIGHT, "Access-Control-Request-Headers": "X-Token, content-type"})
        self.assertEqual((status, body), (200, b"OK"))
        self.assertEqual(headers["access-control-allow-origin"], "https://a.example")
        self.assertEqual(headers["access-control-allow-methods"], "GET, POST")
        self.assertEqual(headers["access-control-allow-headers"],
                         "accept, accept-language, content-language, content-type, x-token")
        self.assertEqual(headers["access-control-max-age"], "120")
        self.assertEqual(headers["vary"], "Origin")
        self.assertNotIn("access-control-allow-credentials", headers)

    def test_preflight_is_answered_before_routing(self):
        # no route has OPTIONS, and /nowhere has no route at all: the preflight is still answered
        for path in ("/small", "/nowhere", "/assets/hello.txt"):
            status, _, body = self.server.request("OPTIONS", path, headers=PREFLIGHT)
            self.assertEqual((status, body), (200, b"OK"), path)
        # without Access-Control-Request-Method it is a plain OPTIONS request, routed as usual
        status, headers, _ = self.server.request("OPTIONS", "/small", headers={"Origin": "https://a.example"})
        self.assertEqual(status, 405)
        self.assertEqual(headers["access-control-allow-origin"], "https://a.example")

    def test_preflight_disallowed(self):
        cases = [
            ({"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, "Disallowed CORS origin"),
            ({**PREFLIGHT, "Access-Control-Request-Method": "DELETE"}, "Disallowed CORS method"),
            ({**PREFLIGHT, "Access-Control-Request-Headers": "x-token, x-other"}, "Disallowed CORS headers"),
            ({"Origin": "https://evil.example", "Access-Control-Request-Method": "put",
              "Access-Control-Request-Headers": "x-other"}, "Disallowed CORS origin, method, headers"),
        ]
        for request_headers, message in cases:
            status, headers, body = self.server.request("OPTIONS", "/small", headers=request_headers)
            self.assertEqual((status, body.decode()), (400, message))
            self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")
            self.assertEqual(headers["access-control-allow-methods"], "GET, POST")
        _, headers, _ = self.server.request("OPTIONS", "/small", headers=cases[0][0])
        self.assertNotIn("access-control-allow-origin", headers)

    def test_origin_regex_must_match_whole_origin(self):
        ok = self.server.request("OPTIONS", "/small", headers={**PREFLIGHT, "Origin": "https://b.allowed.example"})
        self.assertEqual(ok[0], 200)
        self.assertEqual(ok[1]["access-control-allow-origin"], "https://b.allowed.example")
        for origin in ("https://b.allowed.example.evil.com", "http://b.allowed.example", "xhttps://b.allowed.example"):
            status, _, _ = self.server.request("OPTIONS", "/small", headers={**PREFLIGHT, "Origin": origin})
            self.assertEqual(status, 400, origin)

    def test_actual_requests_get_the_headers_on_every_kind_of_response(self):
        paths = {"/small": 200, "/nowhere": 404, "/fail": 500, "/stream?n=1&gap=0": 200, "/assets/hello.txt": 200,
                 "/openapi.json": 200}
        for path, expected in paths.items():
            status, headers, _ = self.server.request("GET", path, headers={"Origin": "https://a.example"})
            self.assertEqual(status, expected, path)
            self.assertEqual(headers.get("access-control-allow-origin"), "https://a.example", path)
            self.assertEqual(headers.get("access-control-expose-headers"), "X-Request-ID, X-Total", path)
            self.assertIn("Origin", headers.get("vary", ""), path)

    def test_disallowed_origin_and_no_origin(self):
        _, headers, _ = self.server.request("GET", "/small", headers={"Origin": "https://evil.example"})
        self.assertNotIn("access-control-allow-origin", headers)
        self.assertEqual(headers["vary"], "Origin")  # the answer depends on Origin
        _, headers, _ = self.server.request("GET", "/small")
        self.assertFalse([h for h in headers if h.startswith("access-control-")], headers)

    def test_over_http2(self):
        import subprocess
        out = subprocess.run(["nghttp", "-v", "-H", "origin: https://a.example", f"{self.server.url}/small"],
                             capture_output=True, text=True, timeout=20).stdout
        self.assertIn("access-control-allow-origin: https://a.example", out)


class CorsStar(unittest.TestCase):
    def test_star_without_credentials(self):
        with Server("cors_star.lua") as server:
            status, headers, _ = server.request("GET", "/hello", headers={"Origin": "https://any.example"})
            self.assertEqual(status, 200)
            self.assertEqual(headers["access-control-allow-origin"], "*")
            self.assertNotIn("vary", headers)
            status, headers, body = server.request("OPTIONS", "/hello", headers={
                "Origin": "https://any.example", "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "X-Anything, X-Else"})
            self.assertEqual((status, body), (200, b"OK"))
            self.assertEqual(headers["access-control-allow-origin"], "*")
            self.assertEqual(headers["access-control-allow-headers"], "X-Anything, X-Else")  # mirrored
            self.assertEqual(headers["access-control-allow-methods"], "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
            self.assertEqual(headers["access-control-max-age"], "600")

    def test_star_with_credentials_echoes_the_origin(self):
        with Server("cors_star.lua", env={"MOONTIDE_TEST_CREDENTIALS": "1"}) as server:
            _, headers, _ = server.request("GET", "/hello", headers={"Origin": "https://any.example"})
            self.assertEqual(headers["access-control-allow-origin"], "https://any.example")
            self.assertEqual(headers["access-control-allow-credentials"], "true")
            self.assertEqual(headers["vary"], "Origin")
            _, headers, _ = server.request("OPTIONS", "/hello", headers={
                "Origin": "https://any.example", "Access-Control-Request-Method": "GET"})
            self.assertEqual(headers["access-control-allow-origin"], "https://any.example")
            self.assertEqual(headers["access-control-allow-credentials"], "true")


class CorsConfig(unittest.TestCase):
    def check(self, body):
        path = os.path.join(tempfile.mkdtemp(), "app.lua")
        with open(path, "w") as f:
            f.write('local moontide = require "moontide"\nlocal app = moontide.app { title = "t", version = "1" }\n'
                    + body + "\nreturn app\n")
        return path, run_cli("check", path)

    def test_bad_options_are_load_errors_at_the_call(self):
        for body, message in [
            ('app:cors { allow_origin_regex = "(" }', "allow_origin_regex does not compile"),
            ('app:cors { allow_origins = "https://a.example" }', "allow_origins must be a list of strings"),
            ('app:cors { max_age = -1 }', "max_age must be a whole number"),
            ('app:cors { allow_everything = true }', "unknown option 'allow_everything'"),
            ('app:cors {}\napp:cors {}', "already configured"),
        ]:
            path, (code, out, err) = self.check(body)
            self.assertNotEqual(code, 0, body)
            line = body.count("\n") + 3
            self.assertIn(f"{path}:{line}:", out + err, body)
            self.assertIn(message, out + err, body)


if __name__ == "__main__":
    unittest.main()
