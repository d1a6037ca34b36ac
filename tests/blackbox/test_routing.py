"""Routing in C (SPEC §2, §5): templates, methods, HEAD, 404 and 405 with Allow."""
import json
import os
import tempfile
import unittest

from harness import Server, ServerTestCase


class Routing(ServerTestCase):
    app = "handlers.lua"

    def get_json(self, method, path):
        status, headers, body = self.server.request(method, path)
        return status, headers, json.loads(body) if body else None

    def test_path_parameters_are_decoded(self):
        status, _, body = self.get_json("GET", "/items/a%20b")
        self.assertEqual((status, body), (200, {"id": "a b"}))

    def test_literal_beats_parameter(self):
        self.assertEqual(self.get_json("GET", "/items/new")[2], {"literal": True})
        self.assertEqual(self.get_json("GET", "/items/old")[2], {"id": "old"})

    def test_root(self):
        self.assertEqual(self.get_json("GET", "/")[2], {"root": True})

    def test_not_found(self):
        for path in ("/nope", "/items", "/items/1/2", "/items/1/", "//"):
            status, headers, body = self.get_json("GET", path)
            self.assertEqual(status, 404, path)
            self.assertEqual(body, {"detail": "Not Found"})
            self.assertEqual(headers["content-type"], "application/json")

    def test_method_not_allowed_lists_allow(self):
        status, headers, body = self.get_json("POST", "/items/5")
        self.assertEqual(status, 405)
        self.assertEqual(body, {"detail": "Method Not Allowed"})
        self.assertEqual(headers["allow"], "GET, HEAD, DELETE")
        status, headers, _ = self.get_json("TRACE", "/items/5")
        self.assertEqual(status, 405)

    def test_head_is_served_for_get_routes(self):
        status, headers, body = self.server.request("HEAD", "/items/7")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(headers["content-length"], str(len(b'{"id":"7"}')))

    def test_route_with_several_methods(self):
        self.assertEqual(self.get_json("PUT", "/multi")[2], {"method": "PUT"})
        self.assertEqual(self.get_json("PATCH", "/multi")[2], {"method": "PATCH"})
        self.assertEqual(self.get_json("DELETE", "/items/9")[2], {"deleted": "9"})
        status, headers, _ = self.server.request("OPTIONS", "/opts")
        self.assertEqual((status, headers["allow"]), (204, "GET"))


class ManyRoutes(unittest.TestCase):
    def test_five_hundred_routes(self):
        lines = ['local moontide = require "moontide"', "local app = moontide.app {}"]
        for i in range(500):
            lines.append(f'app:get("/r{i}/{{id}}", function(req) return {{ n = {i}, id = req.params.id }} end)')
            lines.append(f'app:post("/static/s{i}", function() return {{ s = {i} }} end)')
        lines.append("return app")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write("\n".join(lines))
        try:
            with Server(f.name) as server:
                for i in (0, 1, 250, 499):
                    status, _, body = server.request("GET", f"/r{i}/x{i}")
                    self.assertEqual((status, json.loads(body)), (200, {"n": i, "id": f"x{i}"}))
                    status, _, body = server.request("POST", f"/static/s{i}")
                    self.assertEqual(json.loads(body), {"s": i})
                self.assertEqual(server.request("GET", "/r500/x")[0], 404)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
