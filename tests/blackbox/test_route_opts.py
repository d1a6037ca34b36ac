"""Routes built in code (SPEC §2, issue: both doors): what annotations say can
be said with route opts, and the two behave identically."""
import json
import unittest

from harness import ServerTestCase, app_path, run_cli

REQUESTS = [
    ("GET", "/items/3", None, {}),
    ("GET", "/items/3?q=abc", None, {}),
    ("GET", "/items/0?q=ABCDEFG", None, {}),
    ("GET", "/items/x?q=ab1", None, {}),
    ("GET", "/items/2", None, {"X-Key": "k"}),
    ("POST", "/items", b'{"name":"W","price":2,"tags":["a"],"extra":1}', {}),
    ("POST", "/items?dry=yes", b'{"name":"","price":0,"tags":["a","b","c"]}', {}),
    ("POST", "/items?dry=maybe", b'{"name":"W"}', {}),
    ("POST", "/items", b'{"name":', {}),
    ("POST", "/items", b"", {}),
]


class TwoDoors(ServerTestCase):
    app = "two_doors.lua"

    def test_annotations_and_opts_answer_alike(self):
        for method, path, body, headers in REQUESTS:
            a = self.server.request(method, "/a" + path, body=body, headers=headers)
            b = self.server.request(method, "/b" + path, body=body, headers=headers)
            self.assertEqual((a[0], a[2]), (b[0], b[2]), f"{method} {path}")
        # and they are not trivially alike: some answers succeed, some are 422s
        statuses = {self.server.request(m, "/b" + p, body=b, headers=h)[0] for m, p, b, h in REQUESTS}
        self.assertEqual(statuses, {200, 201, 422})

    def test_opts_types_constraints_and_model(self):
        status, _, body = self.server.request("GET", "/b/items/3?q=abc")
        self.assertEqual((status, body), (200, b'{"name":"abc","price":3,"tags":null}'))
        status, _, body = self.server.request("GET", "/b/items/0?q=ABCDEFG")
        self.assertEqual([e["type"] for e in json.loads(body)["detail"]],
                         ["greater_than_equal", "string_too_long", "string_pattern_mismatch"])


class BadOpts(unittest.TestCase):
    def test_problems_in_opts_point_at_the_registration(self):
        code, out, _ = run_cli("check", app_path("broken/bad_opts.lua"))
        self.assertEqual(code, 1)
        lines = out.strip().splitlines()
        expected = [
            (3, "unknown type 'integr'"),
            (4, "constraint 'minimum' does not fit type string"),
            (5, "unknown type 'Nope'"),
            (7, "parameters are given both by ---@param lines and by opts.params"),
            (8, "opts.status must be an HTTP status code"),
        ]
        self.assertEqual(len(lines), len(expected), out)
        for line, (number, message) in zip(lines, expected):
            self.assertRegex(line, rf"bad_opts\.lua:{number}: ")
            self.assertIn(message, line)


if __name__ == "__main__":
    unittest.main()
