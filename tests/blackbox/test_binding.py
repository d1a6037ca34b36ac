"""Binding (SPEC §4): annotated handlers get their arguments from the path,
query, headers, cookies or JSON body, converted strictly in C, in the order of
the function's parameters; anything invalid is a 422 before the handler runs."""
import json
import os
import shutil
import tempfile
import unittest

from harness import Server, ServerTestCase


class Binding(ServerTestCase):
    app = "binding.lua"

    def get(self, path, **kw):
        status, headers, body = self.server.request("GET", path, **kw)
        return status, json.loads(body)

    def post(self, path, body):
        status, headers, raw = self.server.request("POST", path, body=body)
        return status, json.loads(raw)

    def test_path_and_query_are_converted_to_their_types(self):
        status, body = self.get("/items/5?q=ab&limit=7&flag=yes&ratio=1e3&tag=x&tag=y&kind=a")
        self.assertEqual(status, 200)
        self.assertEqual(body["types"], ["number", "number", "boolean", "number"])
        for key, value in {"id": 5, "q": "ab", "limit": 7, "flag": True, "ratio": 1000, "tag": ["x", "y"], "kind": "a"}.items():
            self.assertEqual(body[key], value, key)

    def test_missing_optional_is_nil_or_its_default(self):
        status, body = self.get("/items/5")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"types": ["number", "number", "nil", "nil"], "id": 5, "limit": 10})

    def test_booleans(self):
        for text, value in (("true", True), ("1", True), ("yes", True), ("on", True), ("TRUE", True),
                            ("false", False), ("0", False), ("no", False), ("off", False)):
            self.assertEqual(self.get(f"/items/1?flag={text}")[1]["flag"], value, text)

    def test_strict_integers(self):
        for bad in ("1.5", "1e3", "abc", "0x10", "%201", "", "99999999999999999999"):
            status, body = self.get(f"/items/1?limit={bad}")
            self.assertEqual(status, 422, bad)
            self.assertEqual(body["detail"][0]["type"], "int_parsing", bad)
        self.assertEqual(self.get("/items/1?limit=-0")[1]["limit"], 0)
        for text, value in (("+7", 7), ("0012", 12), ("9007199254740992", 9007199254740992)):
            self.assertEqual(self.get(f"/items/{text}")[1]["id"], value, text)
        for bad in ("9007199254740993", "-", "+", "12345678901234567", "7%20"):
            status, body = self.get(f"/items/{bad}")
            self.assertEqual((status, body["detail"][0]["type"], body["detail"][0]["loc"]),
                             (422, "int_parsing", ["path", "id"]), bad)

    def test_every_error_of_a_request_together(self):
        status, body = self.get("/items/1.5?limit=1e3&flag=maybe&ratio=abc&tag=1&tag=2&tag=3&kind=c")
        self.assertEqual(status, 422)
        self.assertEqual([(e["type"], e["loc"]) for e in body["detail"]], [
            ("int_parsing", ["path", "id"]),
            ("int_parsing", ["query", "limit"]),
            ("bool_parsing", ["query", "flag"]),
            ("float_parsing", ["query", "ratio"]),
            ("too_long", ["query", "tag"]),
            ("literal_error", ["query", "kind"]),
        ])
        self.assertEqual(body["detail"][0]["msg"], "Input should be a valid integer, unable to parse string as an integer")
        self.assertEqual(body["detail"][0]["input"], "1.5")
        self.assertEqual(body["detail"][4]["ctx"], {"field_type": "List", "max_length": 2, "actual_length": 3})
        self.assertEqual(body["detail"][5]["ctx"], {"expected": "'a' or 'b'"})

    def test_a_nul_in_a_query_string_is_refused_not_cut(self):
        status, body = self.get("/items/5?q=ab%00zz")
        self.assertEqual(status, 422)
        self.assertEqual(body["detail"][0]["type"], "string_type")
        self.assertEqual(body["detail"][0]["input"], "ab\u0000zz")

    def test_constraints_on_path_and_query(self):
        status, body = self.get("/items/0?q=toolong&limit=101")
        self.assertEqual(status, 422)
        self.assertEqual([(e["type"], e["loc"], e.get("ctx")) for e in body["detail"]], [
            ("greater_than_equal", ["path", "id"], {"ge": 1}),
            ("string_too_long", ["query", "q"], {"max_length": 5}),
            ("less_than_equal", ["query", "limit"], {"le": 100}),
        ])
        self.assertEqual(body["detail"][0]["msg"], "Input should be greater than or equal to 1")
        self.assertEqual(body["detail"][0]["input"], "0")  # the text that was sent, as Pydantic reports it

    def test_headers_cookies_aliases_and_the_request_object(self):
        status, body = self.get("/auth", headers={"X-Api-Key": "k", "X-Trace-Id": "t", "Cookie": "a=1; session=s2"})
        self.assertEqual((status, body), (200, {"key": "k", "trace": "t", "session": "s2", "method": "GET"}))
        status, body = self.get("/auth")
        self.assertEqual(status, 422)
        self.assertEqual(body["detail"], [{"type": "missing", "loc": ["header", "x-api-key"], "msg": "Field required",
                                           "input": None}])

    def test_body_model_keeps_declared_fields_and_status(self):
        status, body = self.post("/items", b'{"name":"W","price":2,"status":"draft","extra":1,"dims":{"w":1,"h":2,"d":3}}')
        self.assertEqual(status, 201)
        self.assertEqual(body, {"name": "W", "price": 2, "status": "draft", "dims": {"w": 1, "h": 2}})

    def test_aliased_fields_use_the_wire_name_outside_and_the_lua_name_inside(self):
        status, body = self.post("/accounts", b'{"userName":"ann","billing-plan":"pro","user_name":"no"}')
        self.assertEqual((status, body), (200, {"userName": "ann!", "billing-plan": "pro"}))
        status, body = self.post("/accounts", b'{"userName":"bob"}')
        self.assertEqual((status, body), (200, {"userName": "bob!", "billing-plan": "free"}))
        status, body = self.post("/accounts", b'{"user_name":"ann"}')
        self.assertEqual(status, 422)
        self.assertEqual([e["loc"] for e in body["detail"]], [["body", "userName"]])

    def test_body_errors(self):
        status, body = self.post("/items", b'{"name":"","price":-1,"tags":["a",3,"c","d"],"status":"gone","dims":{"w":"x"}}')
        self.assertEqual(status, 422)
        self.assertEqual([(e["type"], e["loc"]) for e in body["detail"]], [
            ("string_too_short", ["body", "name"]),
            ("greater_than", ["body", "price"]),
            ("string_type", ["body", "tags", 1]),
            ("literal_error", ["body", "status"]),
            ("float_type", ["body", "dims", "w"]),
            ("missing", ["body", "dims", "h"]),
        ])
        self.assertEqual(body["detail"][0]["msg"], "String should have at least 1 character")
        self.assertEqual(body["detail"][1], {"type": "greater_than", "loc": ["body", "price"],
                                             "msg": "Input should be greater than 0", "input": -1, "ctx": {"gt": 0}})
        self.assertEqual(body["detail"][5]["input"], {"w": "x"})

    def test_body_shape_errors(self):
        status, body = self.post("/items", b"[1]")
        self.assertEqual(body["detail"], [{"type": "model_type", "loc": ["body"],
                                           "msg": "Input should be a valid dictionary or instance of Item", "input": [1],
                                           "ctx": {"class_name": "Item"}}])
        status, body = self.post("/items", b"")
        self.assertEqual(body["detail"], [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
        status, body = self.post("/items", b'{"name":"x",')
        self.assertEqual(status, 422)
        self.assertEqual([(e["type"], e["loc"][0]) for e in body["detail"]], [("json_invalid", "body")])

    def test_maps_and_lists_in_the_body(self):
        self.assertEqual(self.post("/counts", b'{"a":1,"b":2}'), (200, {"a": 1, "b": 2}))
        status, body = self.post("/counts", b'{"a":1.5}')
        self.assertEqual(body["detail"][0]["type"], "int_from_float")
        self.assertEqual(self.post("/ids", b"[1,2,3]"), (200, {"count": 3, "ids": [1, 2, 3]}))
        status, body = self.post("/ids", b"[]")
        self.assertEqual(body["detail"][0]["type"], "too_short")
        self.assertEqual(body["detail"][0]["msg"], "List should have at least 1 item after validation, not 0")


class BodyTables(ServerTestCase):
    app = "binding.lua"

    def test_keyword_names_absent_fields_and_defaults(self):
        for body, want in ((b'{"end": 1}', {"keys": ["end", "nil_default"], "end": 1, "function": None, "nil_default": 5}),
                           (b'{"function": "f", "end": 2, "nil_default": null, "x": 1}',
                            {"keys": ["end", "function"], "end": 2, "function": "f"}),
                           (b'{"end": 3, "nil_default": 9}', {"keys": ["end", "nil_default"], "end": 3, "function": None,
                                                              "nil_default": 9})):
            status, _, got = self.server.request("POST", "/keywords", body=body,
                                                 headers={"Content-Type": "application/json"})
            self.assertEqual((status, json.loads(got)), (200, want), body)


def wide_app(sizes):
    """An app with a class of n optional integer fields (the last defaults to 7) and a route that counts what it got."""
    lines = ['local moontide = require "moontide"', 'local app = moontide.app { title = "wide" }']
    for n in sizes:
        lines.append(f"---@class Wide{n}")
        lines += [f"---@field f{i}? integer" for i in range(1, n)] + [f"---@field f{n}? integer {{default=7}}"]
        lines += [f"---@param body Wide{n}", f'app:post("/wide/{n}", function(body)',
                  "  local keys = 0", "  for _ in pairs(body) do keys = keys + 1 end",
                  f"  return {{ keys = keys, first = body.f1, last = body.f{n}, dropped = body.extra == nil }}", "end)"]
    return "\n".join(lines + ["return app", ""])


class WideObjects(unittest.TestCase):
    """A body object is made by a generated Lua function taking its fields as parameters, up to 100
    of them; a class with more is made field by field. Both ways give the same table."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="moontide-wide-")
        path = os.path.join(cls.dir, "wide.lua")
        with open(path, "w") as f:
            f.write(wide_app((3, 100, 101)))
        cls.server = Server(path)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def post(self, n, body):
        status, _, got = self.server.request("POST", f"/wide/{n}", body=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
        return status, json.loads(got)

    def test_fields_defaults_and_unknown_keys_alike_on_both_sides_of_the_limit(self):
        for n in (3, 100, 101):
            with self.subTest(fields=n):
                self.assertEqual(self.post(n, {"f1": 1, "f2": 2, "extra": 9}),
                                 (200, {"keys": 3, "first": 1, "last": 7, "dropped": True}))
                self.assertEqual(self.post(n, {f"f{i}": i for i in range(1, n + 1)}),
                                 (200, {"keys": n, "first": 1, "last": n, "dropped": True}))
                status, got = self.post(n, {"f2": "two"})
                self.assertEqual((status, got["detail"][0]["loc"]), (422, ["body", "f2"]))


class ResponseModels(ServerTestCase):
    app = "binding.lua"

    def test_fields_the_type_does_not_name_are_dropped(self):
        status, _, body = self.server.request("GET", "/users/1")
        self.assertEqual((status, body), (200, b'{"id":1,"name":"ann","nick":null}'))

    def test_a_value_that_does_not_fit_is_a_500_and_a_log_line(self):
        for n, reason in ((2, "name: expected a string, got a number"), (3, "name: a required field is missing")):
            status, _, body = self.server.request("GET", f"/users/{n}")
            self.assertEqual((status, json.loads(body)), (500, {"detail": "Internal Server Error"}))
            self.assertIn(f"does not fit its ---@return Public: {reason}", self.server.stderr())

    def test_response_constraints_are_checked_too(self):
        self.assertEqual(self.server.request("GET", "/scores/10?label=ok")[:3:2], (200, b'{"value":10,"label":"ok"}'))
        for path, reason in (("/scores/11", "value: Input should be less than or equal to 10"),
                             ("/scores/1?label=NO", "label: String should match pattern '^[a-z]+$'")):
            status, _, body = self.server.request("GET", path)
            self.assertEqual(status, 500, path)
            self.assertIn(f"does not fit its ---@return Score: {reason}", self.server.stderr())

    def test_fields_are_read_through_index_like_lua_code_reads_them(self):
        status, _, body = self.server.request("GET", "/users/5")
        self.assertEqual((status, body), (200, b'{"id":5,"name":"from __index","nick":"n"}'))

    def test_an_explicit_status_wins(self):
        status, _, body = self.server.request("GET", "/users/4")
        self.assertEqual((status, body), (202, b'{"id":4,"name":"x","nick":"y"}'))


if __name__ == "__main__":
    unittest.main()
