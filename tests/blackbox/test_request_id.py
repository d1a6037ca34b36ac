"""Request IDs: X-Request-ID from the client when sane, else 32 random hex
digits; echoed on every response, readable as req.id, in the access log and
in the server's error lines about the request."""
import json
import os
import re
import tempfile
import unittest

from harness import Server, ServerTestCase, wait_until

HEX32 = re.compile(r"^[0-9a-f]{32}$")


class RequestId(ServerTestCase):
    app = "http_extras"

    def test_generated_on_every_kind_of_response(self):
        seen = set()
        for path in ("/id", "/nowhere", "/fail", "/stream?n=1&gap=0", "/assets/hello.txt", "/openapi.json"):
            _, headers, _ = self.server.request("GET", path)
            self.assertRegex(headers["x-request-id"], HEX32, path)
            seen.add(headers["x-request-id"])
        _, headers, _ = self.server.request("OPTIONS", "/id", headers={"Origin": "https://a.example",
                                                                      "Access-Control-Request-Method": "GET"})
        self.assertRegex(headers["x-request-id"], HEX32)
        seen.add(headers["x-request-id"])
        self.assertEqual(len(seen), 7)

    def test_req_id_is_the_header(self):
        _, headers, body = self.server.request("GET", "/id")
        self.assertEqual(json.loads(body)["id"], headers["x-request-id"])

    def test_client_id_kept_when_sane(self):
        for sent in ("abc-123", "x" * 128, "trace=1;span=2/!~"):
            _, headers, body = self.server.request("GET", "/id", headers={"X-Request-ID": sent})
            self.assertEqual(headers["x-request-id"], sent)
            self.assertEqual(json.loads(body)["id"], sent)
        for sent in ("x" * 129, "has space", "tab\there", "caf\u00e9".encode("utf-8")):
            _, headers, body = self.server.request("GET", "/id", headers={"X-Request-ID": sent})
            self.assertRegex(headers["x-request-id"], HEX32, sent)
            self.assertEqual(json.loads(body)["id"], headers["x-request-id"])

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
            ids = {server.request("GET", "/small")[1]["x-request-id"] for _ in range(300)}
            lines = wait_until(lambda: (lambda l: len(l) == 300 and l)(open(path).read().splitlines()),
                               what="300 access log lines")
        self.assertEqual(len(ids), 300)
        self.assertEqual({line.rsplit(" ", 1)[1] for line in lines}, ids)


if __name__ == "__main__":
    unittest.main()
