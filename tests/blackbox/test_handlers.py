"""Handlers (SPEC §2, §5): the request object, return forms, JSON encoding
and decoding in C, raise and raw responses."""
import http.client
import json
import unittest

from harness import Server, ServerTestCase


class Handlers(ServerTestCase):
    app = "handlers.lua"

    def call(self, method, path, body=None, headers=None):
        return self.server.request(method, path, body=body, headers=headers)

    def test_request_object(self):
        status, _, body = self.call("GET", "/request/x%2Fy/2?q=a+b&tag=1&tag=2&flag&e=%E2%82%AC",
                                    headers={"X-Test": "hello"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {
            "method": "GET", "path": "/request/x%2Fy/2", "params": {"a": "x/y", "b": "2"},
            "query": {"q": "a b", "tag": ["1", "2"], "flag": "", "e": "€"},
            "header": "hello", "client": "127.0.0.1", "http_version": "1.1", "same_table": True})

    def test_raw_body(self):
        status, _, body = self.call("POST", "/body", body=b"\x00binary\xff", headers={"Content-Type": "x/y"})
        self.assertEqual(json.loads(body), {"body": "\x00binary\ufffd", "length": 8, "content_type": "x/y"})

    def test_json_body(self):
        status, _, body = self.call("POST", "/json", body=b'{"a": [1, null, {"b": true}], "c": null, "d": []}')
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"got": {"a": [1, None, {"b": True}], "d": []}})

    def test_malformed_json_is_one_json_invalid_error(self):
        for raw, offset in ((b'{"a": 1,}', 8), (b'{"a": 1} trailing', 9), (b"[1, 2", 5), (b"{'a': 1}", 1)):
            status, headers, body = self.call("POST", "/json", body=raw)
            self.assertEqual(status, 422, raw)
            self.assertEqual(headers["content-type"], "application/json")
            detail = json.loads(body)["detail"]
            self.assertEqual(len(detail), 1)
            error = detail[0]
            self.assertEqual(error["type"], "json_invalid")
            self.assertEqual(error["loc"], ["body", offset], raw)
            self.assertEqual(error["msg"], "JSON decode error")
            self.assertEqual(error["input"], {})
            self.assertIsInstance(error["ctx"]["error"], str)

    def test_string_is_text_plain(self):
        status, headers, body = self.call("GET", "/text")
        self.assertEqual((status, body), (200, b"plain text"))
        self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")

    def test_status_line_reason(self):
        # mt_status_reason answers 200 before its switch; the rest come from the switch or its fallback
        for path, status, reason in (("/text", 200, "OK"), ("/status", 201, "Created"), ("/response", 202, "Accepted"),
                                     ("/plain", 203, "OK"), ("/raise", 404, "Not Found"),
                                     ("/raise-table", 409, "Conflict")):
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
            try:
                conn.request("GET", path)
                res = conn.getresponse()
                self.assertEqual((res.status, res.reason), (status, reason), path)
            finally:
                conn.close()

    def test_status_and_headers(self):
        status, headers, body = self.call("GET", "/status")
        self.assertEqual(status, 201)
        self.assertEqual(headers["x-custom"], "yes")
        self.assertEqual(json.loads(body), {"created": True})
        conn_headers = self.server_raw_headers("/status")
        self.assertEqual(sorted(v for k, v in conn_headers if k == "set-cookie"), ["a=1", "b=2"])

    def server_raw_headers(self, path):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        conn.request("GET", path)
        res = conn.getresponse()
        res.read()
        conn.close()
        return [(k.lower(), v) for k, v in res.getheaders()]

    def test_nil_is_json_null_and_204_has_no_body(self):
        self.assertEqual(self.call("GET", "/nil")[2], b"null")
        status, headers, body = self.call("GET", "/no-content")
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(self.call("GET", "/number")[2], b"42")

    def test_arrays_objects_and_numbers(self):
        raw = self.call("GET", "/empty-array")[2]
        self.assertIn(b'"items":[]', raw)
        self.assertIn(b'"obj":{}', raw)
        numbers = self.call("GET", "/numbers")[2].decode()
        for fragment in ('"int":7', '"float":2.5', '"big":9007199254740992', '"neg":-3', '"whole":10'):
            self.assertIn(fragment, numbers)
        self.assertEqual(json.loads(self.call("GET", "/null")[2]), {"a": None, "b": [1, None, 3]})

    def test_raise(self):
        status, headers, body = self.call("GET", "/raise")
        self.assertEqual((status, json.loads(body)), (404, {"detail": "Item not found"}))
        status, headers, body = self.call("GET", "/raise-table")
        self.assertEqual((status, json.loads(body)), (409, {"detail": {"reason": "conflict", "id": 3}}))
        self.assertEqual(headers["retry-after"], "5")

    def test_raw_responses(self):
        status, headers, body = self.call("GET", "/response")
        self.assertEqual((status, headers["content-type"], body), (202, "application/xml", b"<ok/>"))
        status, headers, body = self.call("GET", "/response-table")
        self.assertEqual((status, headers["content-type"], body), (200, "application/json", b'{"ok":true}'))
        status, headers, body = self.call("GET", "/html")
        self.assertEqual((status, headers["content-type"], body), (200, "text/html; charset=utf-8", b"<h1>hi</h1>"))
        status, headers, body = self.call("GET", "/plain")
        self.assertEqual((status, headers["content-type"], body), (203, "text/plain; charset=utf-8", b"hello"))
        status, headers, body = self.call("GET", "/json-lib")
        self.assertEqual(json.loads(body), {"a": [1, 2]})

    def test_the_request_object_is_made_only_for_handlers_that_read_it(self):
        for path, want in (
                ("/reads/none", {"got": "nil"}),
                ("/reads/other-closure", {"got": "nil", "f": "up"}),
                ("/reads/field", {"got": "userdata", "path": "/reads/field"}),
                ("/reads/closure", {"got": "userdata", "path": "/reads/closure"}),
                ("/reads/nested-closure", {"got": "userdata", "path": "/reads/nested-closure"}),
                ("/reads/vararg", {"path": "/reads/vararg"}),
                ("/reads/passed", {"got": "userdata", "s": "moontide.Request (GET /reads/passed)"}),
                ("/reads/assigned", {"path": "replaced"}),
                ("/reads/returned?a=1", {"a": "1"}),
                ("/reads/in-loop", {"got": "userdata", "paths": ["/reads/in-loop", "/reads/in-loop"]})):
            status, _, body = self.call("GET", path)
            self.assertEqual((status, json.loads(body)), (200, want), path)

    def test_request_object_used_after_its_request(self):
        self.assertEqual(self.call("GET", "/keep")[0], 200)
        status, _, body = self.call("GET", "/use-kept")
        self.assertEqual((status, json.loads(body)), (500, {"detail": "Internal Server Error"}))
        self.assertIn("the request object was used after its request ended", self.server.stderr())


if __name__ == "__main__":
    unittest.main()
