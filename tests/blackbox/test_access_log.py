"""--access-log FILE|- (SPEC §1): one line per request with time, client,
method, path, status, bytes, duration and request ID."""
import os
import re
import tempfile
import unittest

from harness import Server, wait_until

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} 127\.0\.0\.1 (\S+) (\S+) (HTTP/\S+) (\d{3}) (\d+) (\d+(?:\.\d+)?) (\S+)$")


class AccessLog(unittest.TestCase):
    def test_log_to_file(self):
        path = os.path.join(tempfile.mkdtemp(), "access.log")
        with Server("handlers.lua", "--access-log", path, workers=2) as server:
            server.request("GET", "/items/3?x=1")
            server.request("POST", "/nowhere")
            server.request("DELETE", "/items/3")
            lines = wait_until(lambda: (lambda l: len(l) == 3 and l)(open(path).read().splitlines()),
                               what="3 access log lines")
        parsed = [LINE.match(line) for line in lines]
        self.assertTrue(all(parsed), lines)
        rows = sorted(m.groups()[:5] for m in parsed)
        self.assertTrue(all(re.fullmatch(r"[0-9a-f]{32}", m.group(7)) for m in parsed), lines)
        self.assertEqual(rows, sorted([("GET", "/items/3?x=1", "HTTP/1.1", "200", "10"),
                                       ("POST", "/nowhere", "HTTP/1.1", "404", "22"),
                                       ("DELETE", "/items/3", "HTTP/1.1", "200", "15")]))

    def test_log_to_stdout(self):
        with Server("handlers.lua", "--access-log", "-") as server:
            server.request("GET", "/text", headers={"X-Request-ID": "from-the-client"})
            line = wait_until(lambda: server.stdout().strip(), what="a line on stdout")
        m = LINE.match(line)
        self.assertTrue(m, line)
        self.assertEqual(m.groups()[:5], ("GET", "/text", "HTTP/1.1", "200", "10"))
        self.assertEqual(m.group(7), "from-the-client")

    def test_no_access_log_by_default(self):
        with Server("handlers.lua") as server:
            server.request("GET", "/text")
            self.assertEqual(server.stop(), 0)
            self.assertEqual(server.stdout(), "")


if __name__ == "__main__":
    unittest.main()
