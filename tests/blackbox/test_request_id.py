"""Request IDs: X-Request-ID from the client when sane, else 32 random hex
digits; readable as req.id and as the request's X-Request-ID header, in the
access log and in the server's error lines about the request; sent back when
the client sent it and on every error answer."""
import json
import os
import re
import tempfile
import unittest

from harness import Server, ServerTestCase, wait_until

HEX32 = re.compile(r"^[0-9a-f]{32}$")


class RequestId(ServerTestCase):
    app = "http_extras"

    def test_every_request_has_one_and_errors_send_it_back(self):
        seen = set()
        for path, status in (("/nowhere", 404), ("/fail", 500)):
            got, headers, _ = self.server.request("GET", path)
            self.assertEqual(got, status)
            self.assertRegex(headers["x-request-id"], HEX32, path)
            seen.add(headers["x-request-id"])
        got, headers, _ = self.server.request("POST", "/id")
        self.assertEqual(got, 405)
        self.assertRegex(headers["x-request-id"], HEX32)
        seen.add(headers["x-request-id"])
        # a success made by the server itself keeps it to the log (HPACK would index each new value)
        for path in ("/id", "/stream?n=1&gap=0", "/assets/hello.txt", "/openapi.json"):
            got, headers, _ = self.server.request("GET", path)
            self.assertEqual(got, 200, path)
            self.assertNotIn("x-request-id", headers, path)
        _, headers, _ = self.server.request("OPTIONS", "/id", headers={"Origin": "https://a.example",
                                                                      "Access-Control-Request-Method": "GET"})
        self.assertNotIn("x-request-id", headers)
        for _ in range(3):
            seen.add(json.loads(self.server.request("GET", "/id")[2])["id"])
        self.assertEqual(len(seen), 6)
        for id in seen:
            self.assertRegex(id, HEX32)

    def test_a_client_id_is_kept_when_sane_and_sent_back(self):
        for sent in ("abc-123", "x" * 128, "trace=1;span=2/!~"):
            _, headers, body = self.server.request("GET", "/id", headers={"X-Request-ID": sent})
            self.assertEqual(headers["x-request-id"], sent)
            self.assertEqual(json.loads(body)["id"], sent)
        for sent in ("x" * 129, "has space", "tab\there", "caf\u00e9".encode("utf-8")):
            _, headers, body = self.server.request("GET", "/id", headers={"X-Request-ID": sent})
            self.assertNotIn("x-request-id", headers, sent)  # ours replaced it: a success keeps it to the log
            self.assertRegex(json.loads(body)["id"], HEX32, sent)
            _, headers, _ = self.server.request("GET", "/fail", headers={"X-Request-ID": sent})
            self.assertRegex(headers["x-request-id"], HEX32, sent)

    def test_a_handler_sees_it_as_a_request_header(self):
        _, _, body = self.server.request("GET", "/id-header")
        ids = json.loads(body)
        self.assertRegex(ids["id"], HEX32)
        self.assertEqual(ids["header"], ids["id"])

    def test_error_lines_name_the_request(self):
        _, headers, _ = self.server.request("GET", "/fail", headers={"X-Request-ID": "fail-42"})
        self.assertEqual(headers["x-request-id"], "fail-42")
        wait_until(lambda: "[request fail-42]" in self.server.stderr(), what="the error line with the request ID")
        line = next(l for l in self.server.stderr().splitlines() if "[request fail-42]" in l)
        self.assertIn("handler for GET /fail", line)


class RequestIdWorkers(unittest.TestCase):
    def test_workers_never_hand_out_the_same_id(self):
        path = os.path.join(tempfile.mkdtemp(), "access.log")
        with Server("http_extras", "--access-log", path, workers=2) as server:
            ids = {json.loads(server.request("GET", "/id")[2])["id"] for _ in range(300)}
            lines = wait_until(lambda: (lambda l: len(l) == 300 and l)(open(path).read().splitlines()),
                               what="300 access log lines")
        self.assertEqual(len(ids), 300)
        self.assertEqual({line.rsplit(" ", 1)[1] for line in lines}, ids)


if __name__ == "__main__":
    unittest.main()
