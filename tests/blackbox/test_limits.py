"""Request limits (issue: hardening): a long request target gets 414, too
many or too large header fields 431 (HTTP/1.1 and HTTP/2), each with a log
line; slow clients (slowloris-style trickled headers, a trickled body) are
cut after --client-timeout while others are served; --max-connections makes
a worker stop accepting until a connection closes; deep JSON and invalid
UTF-8 get 422."""
import http.client
import json
import socket
import time
import unittest

from harness import Server, ServerTestCase, curl, wait_until


def raw_request(port, data, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply


def status_of(reply):
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None


class RequestSize(ServerTestCase):
    app = "handlers.lua"
    args = ("--max-url", "1k", "--max-headers", "20", "--max-header-size", "4k")

    def test_a_long_request_target_gets_414(self):
        status, _, body = self.server.request("GET", "/text?q=" + "a" * 1100)
        self.assertEqual((status, json.loads(body)), (414, {"detail": "URI Too Long"}))
        self.assertEqual(self.server.request("GET", "/text?q=" + "a" * 900)[0], 200)
        wait_until(lambda: "1108-byte request target (--max-url 1024): 414" in self.server.stderr(),
                   what="the log line")

    def test_too_many_header_fields_get_431(self):
        headers = {f"X-Field-{i}": "v" for i in range(25)}
        status, _, body = self.server.request("GET", "/text", headers=headers)
        self.assertEqual((status, json.loads(body)), (431, {"detail": "Request Header Fields Too Large"}))
        wait_until(lambda: "header fields (--max-headers 20): 431" in self.server.stderr(), what="the log line")
        # past 100 fields h2o refuses the request itself, before moontide sees it: 400
        many = b"".join(b"X-F%d: v\r\n" % i for i in range(120))
        self.assertEqual(status_of(raw_request(self.server.port, b"GET /text HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")),
                         400)

    def test_large_header_fields_get_431(self):
        status, _, _ = self.server.request("GET", "/text", headers={"X-Big": "v" * 5000})
        self.assertEqual(status, 431)
        wait_until(lambda: "bytes of header fields (--max-header-size 4096): 431" in self.server.stderr(),
                   what="the log line")
        self.assertEqual(self.server.request("GET", "/text", headers={"X-Big": "v" * 3000})[0], 200)

    def test_the_limits_hold_over_http2(self):
        code, out, err = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                              "-H", "X-Big: " + "v" * 5000, self.server.url + "/text")
        self.assertEqual(out, b"431", err)
        code, out, err = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                              self.server.url + "/text?q=" + "a" * 1100)
        self.assertEqual(out, b"414", err)

    def test_deep_json_and_invalid_utf8_get_422(self):
        status, _, body = self.server.request("POST", "/json", body=b"[" * 100000 + b"]" * 100000)
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(body)["detail"][0]["ctx"]["error"], "JSON nested too deeply")
        status, _, body = self.server.request("POST", "/json", body=b'{"a":"\xff\xfe"}')
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(body)["detail"][0]["ctx"]["error"], "Invalid UTF-8 in a string")


class RefusedByH2o(ServerTestCase):
    """What h2o answers before moontide's code runs still reaches the log (counted once a second)."""
    app = "handlers.lua"
    args = ("--max-body", "1k")

    def test_a_body_over_max_body_and_a_malformed_body_are_logged(self):
        status, _, _ = self.server.request("POST", "/body", body=b"x" * 2000)
        self.assertEqual(status, 413)
        bad_chunks = b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        self.assertEqual(status_of(raw_request(self.server.port, bad_chunks)), 400)
        wait_until(lambda: "refused 1 request(s) with 413 (a body over --max-body)" in self.server.stderr(),
                   what="the 413 log line")
        wait_until(lambda: "with 400 (a malformed request body)" in self.server.stderr(), what="the 400 log line")


class SlowClients(ServerTestCase):
    app = "handlers.lua"
    args = ("--client-timeout", "1")

    def trickle(self, head, then, interval=0.2, limit=6.0):
        """Sends `head`, then `then` one byte per `interval`; returns seconds until the server closed."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=limit) as s:
            started = time.monotonic()
            s.sendall(head)
            for byte in then:
                try:
                    s.sendall(bytes([byte]))
                except OSError:
                    return time.monotonic() - started
                s.settimeout(interval)
                try:
                    if s.recv(4096) == b"":
                        return time.monotonic() - started
                except socket.timeout:
                    pass
                except OSError:
                    return time.monotonic() - started
                if time.monotonic() - started > limit:
                    return None
        return None

    def test_trickled_headers_are_cut(self):
        closed_after = self.trickle(b"GET /text HTTP/1.1\r\n", b"X-Slow: " + b"a" * 100)
        self.assertIsNotNone(closed_after, "the server kept a slowloris connection open")
        self.assertLess(closed_after, 3)
        self.assertEqual(self.server.request("GET", "/text")[0], 200)  # others are served meanwhile and after

    def test_a_trickled_body_is_cut(self):
        closed_after = self.trickle(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n", b"b" * 200)
        self.assertIsNotNone(closed_after, "the server kept a trickling upload open")
        self.assertLess(closed_after, 3)

    def test_idle_keep_alive_connections_are_closed(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        conn.request("GET", "/text")
        conn.getresponse().read()
        sock = conn.sock
        sock.settimeout(5)
        started = time.monotonic()
        self.assertEqual(sock.recv(1), b"")  # closed by the server
        self.assertLess(time.monotonic() - started, 3)
        conn.close()


class SlowHttp2Clients(ServerTestCase):
    app = "streams.lua"
    args = ("--client-timeout", "1")

    def test_a_trickled_http2_body_is_reset_and_the_connection_goes_on(self):
        from test_http2 import Client
        c = Client(self.server.port)
        self.addCleanup(c.close)
        s = c.request("/echo", method="POST", body=b"x" * 100, end=False)
        started = time.monotonic()
        while s not in c.reset and time.monotonic() - started < 6:
            c.conn.send_data(s, b"x")
            c.flush()
            c.pump(lambda: s in c.reset, timeout=0.3)
        self.assertIn(s, c.reset, "the server kept a trickling HTTP/2 upload open")
        self.assertLess(time.monotonic() - started, 3)
        t = c.request("/fast")  # the connection itself is fine
        self.assertTrue(c.pump(lambda: t in c.ended))
        self.assertEqual(json.loads(c.bodies[t]), {"fast": True})
        wait_until(lambda: "took longer than --client-timeout 1 s to arrive" in self.server.stderr(), what="the log line")


class MaxConnections(unittest.TestCase):
    def test_a_worker_stops_accepting_at_the_limit(self):
        with Server("handlers.lua", "--max-connections", "3", workers=1) as server:
            held = []
            for _ in range(3):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
                conn.request("GET", "/text")
                self.assertEqual(conn.getresponse().read(), b"plain text")
                held.append(conn)  # kept open, idle
            wait_until(lambda: "3 connections open (--max-connections)" in server.stderr(), what="the log line")
            fourth = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            fourth.sendall(b"GET /text HTTP/1.1\r\nHost: x\r\n\r\n")
            fourth.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                fourth.recv(4096)  # queued, not served
            held.pop().close()
            fourth.settimeout(5)
            self.assertIn(b"plain text", fourth.recv(4096))
            wait_until(lambda: "accepting again" in server.stderr(), what="the log line")
            fourth.close()
            for conn in held:
                conn.close()


if __name__ == "__main__":
    unittest.main()
