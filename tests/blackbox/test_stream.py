"""Streamed responses (SPEC §7): moontide.stream and moontide.sse. Chunks are
on the wire as they are produced (HTTP/1.1 chunked, HTTP/2 DATA frames), a
slow reader holds the producer back, a client that leaves is noticed, and an
error after the first chunk cuts the stream instead of hanging it."""
import json
import os
import re
import socket
import subprocess
import time
import unittest
import uuid

from harness import ServerTestCase, wait_until


def read_chunks_http1(port, path, timeout=10):
    """Sends one HTTP/1.1 request; returns [(seconds since sending, bytes)] as they arrive, until the server closes or ends."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        started, arrivals = time.monotonic(), []
        while True:
            data = s.recv(65536)
            if not data:
                return arrivals
            arrivals.append((time.monotonic() - started, data))


def read_until_closed(sock):
    """Everything the server sends on `sock` until it closes the connection."""
    raw = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return raw
        raw += data


class Streams(ServerTestCase):
    app = "streams.lua"

    def status(self, id):
        return json.loads(self.server.request("GET", f"/status/{id}")[2])

    def test_a_held_stream_still_reads_its_own_request_after_others_came_and_went(self):
        streams = []
        for i in range(20):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            s.sendall(f"GET /held/n%20{i}?wait=0.8&q={i}&q=again HTTP/1.1\r\nHost: x\r\nX-Tag: tag-{i}\r\n"
                      f"X-Request-ID: client-{i}\r\nConnection: close\r\n\r\n".encode())
            streams.append(s)
        # meanwhile other requests take the buffers the streams' requests arrived in
        for i in range(50):
            status, _, _ = self.server.request("GET", f"/count?n=1&gap=0&filler={'z' * 300}",
                                               headers={"X-Tag": "not-mine" * 20})
            self.assertEqual(status, 200)
        for i, s in enumerate(streams):
            raw = read_until_closed(s)
            s.close()
            head, body = raw.split(b"\r\n\r\n", 1)
            self.assertIn(f"x-request-id: client-{i}".encode(), head.lower())
            event = json.loads(re.search(rb"data: (.*)\n", body).group(1))
            self.assertEqual(event, {"method": "GET", "path": f"/held/n%20{i}", "name": f"n {i}",
                                     "params": {"name": f"n {i}"}, "query": {"wait": "0.8", "q": [str(i), "again"]},
                                     "tag": f"tag-{i}", "id": f"client-{i}"})

    def test_a_request_pipelined_behind_a_held_stream_is_answered_after_it(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"GET /held/a?wait=0.3 HTTP/1.1\r\nHost: x\r\nX-Tag: first\r\n\r\n"
                      b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            raw = read_until_closed(s)
        stream_at, fast_at = raw.find(b'"tag":"first"'), raw.find(b'{"fast":true}')
        self.assertTrue(0 <= stream_at < fast_at, raw)
        self.assertEqual(raw.count(b"HTTP/1.1 200 OK"), 2, raw)

    def test_chunks_arrive_as_they_are_made_over_http1(self):
        arrivals = read_chunks_http1(self.server.port, "/count?n=4&gap=0.3")
        raw = b"".join(data for _, data in arrivals)
        self.assertIn(b"transfer-encoding: chunked", raw.lower())
        self.assertIn(b"x-stream: yes", raw.lower())
        for i in range(1, 5):
            self.assertIn(f"chunk {i}\n".encode(), raw)
        self.assertTrue(raw.endswith(b"0\r\n\r\n"), raw[-20:])
        first = next(t for t, data in arrivals if b"chunk 1" in data)
        last = next(t for t, data in arrivals if b"chunk 4" in data)
        self.assertGreater(last - first, 0.6, arrivals)  # three gaps of 0.3 s, not all at the end

    def test_chunks_arrive_as_they_are_made_over_http2(self):
        out = subprocess.run(["nghttp", "-v", "-n", f"{self.server.url}/count?n=4&gap=0.3"], capture_output=True,
                             text=True, timeout=30).stdout
        times = [float(t) for t in re.findall(r"\[\s*([\d.]+)\] recv DATA frame <length=8", out)]
        self.assertEqual(len(times), 4, out)
        self.assertGreater(times[-1] - times[0], 0.6, out)
        self.assertIn("END_STREAM", out)

    def test_sse_framing_and_last_event_id(self):
        status, headers, body = self.server.request("GET", "/events", headers={"Last-Event-ID": "41"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/event-stream; charset=utf-8")
        self.assertEqual(headers["cache-control"], "no-cache")
        self.assertEqual(body.decode(), (
            ": hello\n\n"
            "event: start\nid: 1\nretry: 2500\ndata: {\"last\":\"41\"}\n\n"
            "data: two\ndata: lines\n\n"
            "data: crlf\ndata: and cr\ndata: end\n\n"
            "data: plain\n\n"
            "event: n\ndata: 42\n\n"))
        _, _, body = self.server.request("GET", "/events")
        self.assertIn('data: {"last":null}', body.decode())

    def test_producers_are_compiled_once_not_per_stream(self):
        # send and emit are new per stream; a compiled producer loop must not be specialised to one of them
        for path in ("/burst?n=200", "/burst-raw?n=200"):
            for _ in range(60):
                status, _, body = self.server.request("GET", path)
                self.assertEqual(status, 200)
        self.assertEqual(body, b"x" * 200)
        traces = json.loads(self.server.request("GET", "/traces")[2])["count"]
        self.assertGreater(traces, 0)  # the JIT is on and compiled the loops
        self.assertLess(traces, 40)  # per-stream traces would be 2 or more for each of the 120 streams

    def test_many_streams_at_once_on_one_http2_connection(self):
        # a finished producer's send/emit may be collected before its request is gone: that once freed memory in use
        for path in ("/burst?n=100", "/burst-raw?n=100"):
            out = subprocess.run(["h2load", "-c", "1", "-m", "20", "-n", "400", self.server.url + path],
                                 capture_output=True, text=True, timeout=60).stdout
            self.assertIn("400 succeeded, 0 failed", out, out)
        self.assertNotIn("killed by signal", self.server.stderr())

    def test_bad_events_raise_and_write_nothing(self):
        _, _, body = self.server.request("GET", "/emit-errors")
        self.assertEqual(body.decode(), (
            "data: false event must be a string or a number without CR, LF or NUL\n\n"
            "data: false id must be a string or a number without CR, LF or NUL\n\n"
            "data: false retry must be a whole number of milliseconds\n\n"
            "data: false retry must be a whole number of milliseconds\n\n"
            "data: false unknown field 'bogus' (comment, event, id, retry, data)\n\n"
            "data: false data cannot be encoded as JSON: cannot encode a function as JSON\n\n"
            "data: false id must be a string or a number without CR, LF or NUL\n\n"))

    def test_keepalive_comments_while_idle(self):
        arrivals = read_chunks_http1(self.server.port, "/idle?keepalive=0.2&wait=1")
        raw = b"".join(data for _, data in arrivals)
        self.assertGreaterEqual(raw.count(b":\n\n"), 3, raw)
        self.assertLess(raw.index(b":\n\n"), raw.index(b"data: late"))

    def test_a_client_that_leaves_is_noticed_over_http1(self):
        id = uuid.uuid4().hex
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(f"GET /forever?id={id} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            s.recv(4096)
        wait_until(lambda: self.status(id)["gone"], what="the producer to see send return false")

    def test_a_client_that_leaves_is_noticed_over_http2(self):
        id = uuid.uuid4().hex
        # curl gives up after half a second and closes its HTTP/2 connection
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--http2-prior-knowledge", "--max-time", "0.5",
                        f"{self.server.url}/forever?id={id}"], capture_output=True, timeout=30)
        wait_until(lambda: self.status(id)["gone"], what="the producer to see send return false")

    def test_a_slow_reader_holds_the_producer_back(self):
        id = uuid.uuid4().hex
        pid = self.server.worker_pids()[0]

        def rss_kb():
            with open(f"/proc/{pid}/status") as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        before = rss_kb()
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.sendall(f"GET /flood?id={id}&n=2000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            wait_until(lambda: (self.status(id)["sent"] or 0) > 0, what="the producer to start")
            time.sleep(1)  # not synchronisation: the reader stalls for a second, the producer must stall too
            stalled_at = self.status(id)["sent"]
            grown = rss_kb() - before
            # 2000 chunks are 125 MiB; held back, it gets only as far as the socket buffers and 64 KiB
            self.assertLess(stalled_at, 200, "the producer ran ahead of the reader")
            self.assertLess(grown, 20_000, f"the worker grew by {grown} kB while the reader stalled")
            total = 0
            while True:
                data = s.recv(1 << 20)
                if not data:
                    break
                total += len(data)
        self.assertGreater(total, 2000 * 65536)
        self.assertEqual(self.status(id)["sent"], 2000)

    def test_an_error_after_the_first_chunk_cuts_the_stream(self):
        arrivals = read_chunks_http1(self.server.port, "/fail")
        raw = b"".join(data for _, data in arrivals)
        self.assertIn(b"first\n", raw)
        self.assertFalse(raw.endswith(b"0\r\n\r\n"), "an HTTP/1.1 stream cut by an error must not end cleanly")
        out = subprocess.run(["nghttp", "-v", "-n", f"{self.server.url}/fail"], capture_output=True, text=True,
                             timeout=30).stdout
        self.assertIn("recv RST_STREAM", out)
        wait_until(lambda: "producer failed after the first chunk" in self.server.stderr(), what="the logged error")
        self.assertEqual(json.loads(self.server.request("GET", "/fast")[2]), {"fast": True})

    def test_a_bad_stream_is_a_500(self):
        status, _, body = self.server.request("GET", "/bad")
        self.assertEqual((status, json.loads(body)), (500, {"detail": "Internal Server Error"}))
        wait_until(lambda: "returned a bad stream" in self.server.stderr(), what="the log line")

    def test_head_gets_the_headers_and_no_body(self):
        # found by tests/fuzz (http): the producer's bytes went out raw after HEAD's headers, and a
        # keep-alive client read them as the next response
        id = uuid.uuid4().hex
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(f"HEAD /flood?id={id}&n=3 HTTP/1.1\r\nHost: x\r\n\r\n"
                      f"GET /status/{id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            raw = b""
            while chunk := s.recv(65536):
                raw += chunk
        head, rest = raw.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertIn(b"content-type: text/plain; charset=utf-8", head.lower())
        self.assertNotIn(b"transfer-encoding", head.lower())
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), rest[:100])  # the next response, right after the headers
        self.assertEqual(json.loads(rest.split(b"\r\n\r\n", 1)[1]), {"sent": None, "gone": False},
                         "the producer does not run for HEAD")


if __name__ == "__main__":
    unittest.main()
