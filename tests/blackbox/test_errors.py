"""Errors (SPEC §5): Lua errors are 500s with the traceback in the log, bodies
over --max-body are 413, bad response headers are refused, and after every
one of them the same worker keeps serving."""
import json
import socket
import unittest

from harness import Server


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("errors.lua", "--max-body", "1k")
        cls.pids = cls.server.worker_pids()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def assert_internal_error(self, path, log_fragment):
        status, headers, body = self.server.request("GET", path)
        self.assertEqual(status, 500, path)
        self.assertEqual(json.loads(body), {"detail": "Internal Server Error"})
        self.assertIn(log_fragment, self.server.stderr())
        self.assert_still_serving()
        return headers

    def assert_still_serving(self):
        status, _, body = self.server.request("GET", "/ok")
        self.assertEqual((status, body), (200, b'{"ok":true}'))
        self.assertEqual(self.server.worker_pids(), self.pids, "the worker must not have been replaced")

    def test_lua_error_logs_traceback(self):
        self.assert_internal_error("/lua-error", "errors.lua:6: attempt to index local 't' (a nil value)")
        log = self.server.stderr()
        self.assertIn("handler for GET /lua-error (", log)
        self.assertIn("stack traceback:", log)

    def test_error_with_a_table_value(self):
        self.assert_internal_error("/error-table", "error object is a table value")

    def test_header_with_crlf_is_refused(self):
        headers = self.assert_internal_error("/header-crlf", "header 'x-injected' has a value with CR, LF or NUL")
        self.assertNotIn("set-cookie", headers)
        self.assertNotIn("x-injected", headers)
        self.assert_internal_error("/header-lf", "header 'x-injected' has a value with CR, LF or NUL")
        self.assert_internal_error("/header-name", "'bad name' is not a valid header name")

    def test_unencodable_bodies(self):
        self.assert_internal_error("/cycle", "contains itself (a cycle)")
        self.assert_internal_error("/inf", "non-finite")
        self.assert_internal_error("/nan", "non-finite")
        self.assert_internal_error("/function-body", "cannot send a function")
        self.assert_internal_error("/deep", "nested this deeply")

    def test_bad_status(self):
        self.assert_internal_error("/bad-status", "status must be an integer from 100 to 599")

    def test_yield_outside_moontide(self):
        self.assert_internal_error("/yield", "yielded outside a moontide call")

    def test_body_over_max_body_is_413(self):
        status, _, body = self.server.request("POST", "/echo-size", body=b"x" * 1024)
        self.assertEqual((status, json.loads(body)), (200, {"size": 1024}))
        status, _, _ = self.server.request("POST", "/echo-size", body=b"x" * 1025)
        self.assertEqual(status, 413)
        self.assert_still_serving()

    def test_chunked_body_over_max_body_is_413(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            chunk = b"x" * 800
            s.sendall(b"POST /echo-size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      (b"%x\r\n%s\r\n" % (len(chunk), chunk)) * 2 + b"0\r\n\r\n")
            reply = s.recv(4096)
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:40])
        self.assert_still_serving()

    def test_malformed_http_is_400(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"GARBAGE\r\n\r\n")
            reply = s.recv(4096)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:40])
        self.assert_still_serving()


if __name__ == "__main__":
    unittest.main()
