"""app:gzip{...} (SPEC §7): compressible responses from minimum_size bytes
are gzipped for clients that accept it, with Vary: Accept-Encoding; small,
already encoded, non-text and HEAD responses are not; a stream is compressed
write by write (each chunk still arrives at once) and SSE is not compressed
at all. Off unless the app calls app:gzip."""
import gzip
import json
import socket
import time
import unittest
import zlib

from harness import Server, ServerTestCase

GZ = {"Accept-Encoding": "gzip"}


def timed_http1(port, path, headers, timeout=10):
    """One HTTP/1.1 request; returns (status line and headers, [(seconds since sending, decoded body bytes)]).

    The chunked body is decoded as it arrives, so each piece carries the time its chunk reached us."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n".encode())
        started, buf, head, pieces = time.monotonic(), b"", None, []
        while True:
            data = s.recv(65536)
            if not data:
                return head, pieces
            buf += data
            if head is None:
                if b"\r\n\r\n" not in buf:
                    continue
                head, buf = buf.split(b"\r\n\r\n", 1)
                head = head.decode().lower()
            while b"\r\n" in buf:  # complete chunks only
                size_line, rest = buf.split(b"\r\n", 1)
                size = int(size_line, 16)
                if len(rest) < size + 2:
                    break
                if size:
                    pieces.append((time.monotonic() - started, rest[:size]))
                buf = rest[size + 2:]


class Gzip(ServerTestCase):
    app = "http_extras"

    def test_json_over_the_threshold_is_compressed(self):
        status, plain_headers, plain = self.server.request("GET", "/big")
        status, headers, body = self.server.request("GET", "/big", headers=GZ)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-encoding"], "gzip")
        self.assertEqual(headers["vary"], "Accept-Encoding")
        self.assertEqual(gzip.decompress(body), plain)
        self.assertLess(len(body), len(plain) / 3)
        self.assertNotIn("content-encoding", plain_headers)
        self.assertEqual(plain_headers["vary"], "Accept-Encoding")  # caches must know it depends on it
        self.assertEqual(len(json.loads(plain)), 200)

    def test_what_is_not_compressed(self):
        cases = {
            ("GET", "/small", "gzip"): "small",  # under minimum_size: no compression path at all
            ("GET", "/big", "gzip;q=0"): "refused",
            ("GET", "/big", "br, deflate"): "not offered",
            ("GET", "/png", "gzip"): "not compressible",
            ("GET", "/encoded", "gzip"): "already encoded",
            ("HEAD", "/big", "gzip"): "HEAD",
        }
        for (method, path, accept), why in cases.items():
            status, headers, body = self.server.request(method, path, headers={"Accept-Encoding": accept})
            self.assertEqual(status, 200, why)
            self.assertNotEqual(headers.get("content-encoding"), "gzip", why)
        _, headers, body = self.server.request("GET", "/encoded", headers=GZ)
        self.assertEqual((headers["content-encoding"], body), ("identity-ish", b"z" * 1000))
        _, headers, _ = self.server.request("GET", "/small", headers=GZ)
        self.assertNotIn("vary", headers)

    def test_star_and_q_values(self):
        for accept, compressed in [("*", True), ("gzip;q=0.5, br", True), ("gzip; q=0.000", False),
                                   ("*;q=0", False), ("identity, *;q=1", True), ("GZIP", True)]:
            _, headers, _ = self.server.request("GET", "/big", headers={"Accept-Encoding": accept})
            self.assertEqual(headers.get("content-encoding") == "gzip", compressed, accept)

    def test_static_files_are_compressed_with_a_weak_etag(self):
        _, plain_headers, plain = self.server.request("GET", "/assets/data.json")
        status, headers, body = self.server.request("GET", "/assets/data.json", headers=GZ)
        self.assertEqual(status, 200)
        self.assertEqual(gzip.decompress(body), plain)
        self.assertEqual(headers["etag"], "W/" + plain_headers["etag"])
        self.assertEqual(headers["accept-ranges"], "none")
        # the weak tag still validates
        status, _, _ = self.server.request("GET", "/assets/data.json", headers={**GZ, "If-None-Match": headers["etag"]})
        self.assertEqual(status, 304)
        # a range is served from the file as it is, never compressed
        status, headers, body = self.server.request("GET", "/assets/data.json", headers={**GZ, "Range": "bytes=0-9"})
        self.assertEqual((status, body), (206, plain[:10]))
        self.assertNotIn("content-encoding", headers)

    def test_stream_is_compressed_write_by_write(self):
        head, pieces = timed_http1(self.server.port, "/stream?n=4&gap=0.3", GZ)
        self.assertIn("content-encoding: gzip", head)
        self.assertGreaterEqual(len(pieces), 4, pieces)
        inflate = zlib.decompressobj(31)
        seen = {}
        for at, data in pieces:  # each write must inflate on its own: nothing waits in the compressor
            text = inflate.decompress(data).decode()
            for i in range(1, 5):
                if f"line {i} " in text:
                    seen.setdefault(i, at)
        self.assertEqual(sorted(seen), [1, 2, 3, 4])
        self.assertGreater(seen[4] - seen[1], 0.6, seen)  # three gaps of 0.3 s: not all at the end
        self.assertGreater(seen[2] - seen[1], 0.2, seen)
        self.assertTrue(inflate.eof)  # the stream ended the gzip member properly

    def test_sse_events_still_arrive_spaced_in_time(self):
        head, pieces = timed_http1(self.server.port, "/events?n=4&gap=0.3", GZ)
        self.assertIn("content-type: text/event-stream", head)
        self.assertNotIn("content-encoding", head)  # event streams are never compressed
        times = {}
        for at, data in pieces:
            for i in range(1, 5):
                if f"data: event {i} ".encode() in data:
                    times.setdefault(i, at)
        self.assertEqual(sorted(times), [1, 2, 3, 4])
        self.assertGreater(times[4] - times[1], 0.6, times)
        self.assertGreater(times[2] - times[1], 0.2, times)


class GzipOffByDefault(unittest.TestCase):
    def test_an_app_without_gzip_sends_identity(self):
        with Server("handlers.lua") as server:
            status, headers, body = server.request("GET", "/openapi.json", headers=GZ)
            self.assertEqual(status, 200)
            self.assertGreater(len(body), 500)
            self.assertNotIn("content-encoding", headers)
            self.assertNotIn("vary", headers)


if __name__ == "__main__":
    unittest.main()
