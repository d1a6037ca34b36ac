"""moontide.http.request (SPEC §7): a handler calls another server over
HTTP/1.1 or HTTPS while only its own request waits.

The handlers are tests/apps/http_client.lua. They call a moontide upstream
(tests/apps/http_upstream.lua) and a small Python server started here, which
can stall, cut a body short, stream chunks at known times, tell which
connection a request came on, and record when moontide closed a connection.
"""
import http.client
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Server, app_path, free_port, wait_until


def dual_stack():
    """Whether this machine can listen on :: for IPv6 and IPv4 at once."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::", 0))
        return True
    except OSError:
        return False


# Upstreams that "localhost" URLs reach: the client tries one of the name's
# addresses (docs/guide.md, Outbound HTTP), and /etc/hosts may map it to ::1
# as well as 127.0.0.1, so the upstream listens on both when it can.
ALL_LOOPBACK = ("--host", "::") if dual_stack() else ()


class PyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.count_connection()

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        route = getattr(self, "route_" + url.path.strip("/").replace("-", "_"), None)
        if route is None:
            return self.reply(404, b"no such route")
        route(**query)

    do_POST = do_PUT = do_DELETE = do_Purge = do_GET

    def reply(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_chunked(self):
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def wait_for_close(self):
        """Blocks until moontide closes this connection (recorded), or the test ends."""
        self.close_connection = True
        while not self.server.stopping.is_set():
            if select.select([self.connection], [], [], 0.02)[0]:
                try:
                    if self.connection.recv(1):
                        continue
                except OSError:
                    pass
                self.server.record_close(self.path)
                return

    # routes

    def route_peer(self, **_):
        """The port of the connection the request came on."""
        self.reply(200, str(self.client_address[1]).encode())

    def route_raw(self, **_):
        """The request as received: request line, header lines, body."""
        length = int(self.headers.get("content-length", 0))
        body = self.rfile.read(length)
        text = "".join(line + "\r\n" for line in [self.requestline] + [f"{k}: {v}" for k, v in self.headers.items()])
        text += "\r\n" + body.decode()
        self.reply(200, text.encode())

    def route_chunks(self, n="5", delay="0.2", **_):
        """n chunks, `delay` seconds apart; their send times are recorded."""
        self.start_chunked()
        sent = self.server.sent.setdefault(self.path, [])
        for i in range(int(n)):
            time.sleep(float(delay))
            sent.append(time.monotonic())
            self.write_chunk(b"chunk %d\n" % i)
        self.wfile.write(b"0\r\n\r\n")

    def route_endless(self, **_):
        """Chunks every 20 ms until moontide closes the connection."""
        self.start_chunked()
        self.close_connection = True
        try:
            while not self.server.stopping.is_set():
                self.write_chunk(b"tick\n")
                time.sleep(0.02)
        except OSError:
            self.server.record_close(self.path)

    def route_firehose(self, mib="64", **_):
        """mib MiB in 64 KiB chunks, as fast as the connection takes them; bytes written so far are recorded."""
        self.start_chunked()
        piece = b"x" * 65536
        for i in range(int(mib) * 16):
            self.write_chunk(piece)
            self.server.written[self.path] = (i + 1) * len(piece)
        self.wfile.write(b"0\r\n\r\n")

    def route_stall_head(self, **_):
        self.wait_for_close()

    def route_stall_body(self, **_):
        """Promises 1000 bytes, sends 10, then waits."""
        self.send_response(200)
        self.send_header("content-length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wait_for_close()

    def route_cut(self, **_):
        """Promises 1000 bytes, sends 10, then closes."""
        self.send_response(200)
        self.send_header("content-length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.close_connection = True


class PyUpstream(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, tls_context=None):
        super().__init__(("127.0.0.1", 0), PyHandler)
        if tls_context is not None:
            self.socket = tls_context.wrap_socket(self.socket, server_side=True)
        self.lock = threading.Lock()
        self.connections = 0
        self.closes = []  # (path, time.monotonic()) for each connection moontide closed
        self.sent = {}
        self.written = {}
        self.stopping = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # moontide closing a connection early is expected
            super().handle_error(request, client_address)

    def url(self, path, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.server_address[1]}{path}"

    def count_connection(self):
        with self.lock:
            self.connections += 1

    def record_close(self, path):
        with self.lock:
            self.closes.append((path, time.monotonic()))

    def closed(self, path):
        with self.lock:
            return [t for p, t in self.closes if p == path]

    def close(self):
        self.stopping.set()
        self.shutdown()
        self.server_close()


class SilentListener:
    """Accepts connections and never says a word: a TLS handshake with it never ends."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.closed = 0
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.watch, args=(conn,), daemon=True).start()

    def watch(self, conn):
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass
        self.closed += 1

    def close(self):
        self.sock.close()
        for conn in self.conns:
            conn.close()


def unique(path):
    """The path with a query that no other test uses, so that upstream records are this test's own."""
    unique.n += 1
    return f"{path}{'&' if '?' in path else '?'}u={unique.n}"


unique.n = 0


def h2c_give_up(url, after):
    """An HTTP/2 client that leaves after `after` s (HTTP/2 tells the server at once; HTTP/1 only when written to)."""
    subprocess.run(["curl", "-s", "--http2-prior-knowledge", "--max-time", str(after), url],
                   capture_output=True, timeout=after + 10)


class Common(unittest.TestCase):
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.py = PyUpstream()
        cls.upstream = Server("http_upstream.lua", *ALL_LOOPBACK)
        cls.server = Server("http_client.lua", *cls.server_args, workers=1, env={"UPSTREAM": cls.upstream.url})

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.upstream.close()
        cls.py.close()

    def worker_pids(self):
        return wait_until(self.server.worker_pids, what="the worker to be up")

    def get(self, path, **params):
        query = "?" + urllib.parse.urlencode(params) if params else ""
        status, _, body = self.server.request("GET", path + query, timeout=30)
        return status, json.loads(body)

    def call(self, **opts):
        """moontide.http.request(opts) in a handler: (ok, result or message)."""
        status, _, body = self.server.request("POST", "/call", body=json.dumps(opts).encode(), timeout=30)
        self.assertEqual(status, 200, body)
        answer = json.loads(body)
        return answer["ok"], answer["res"]


class Requests(Common):
    def test_get_returns_status_headers_and_body(self):
        ok, res = self.call(url=self.upstream.url + "/json")
        self.assertTrue(ok, res)
        self.assertEqual(res["status"], 200)
        self.assertEqual(res["body"], '{"hello":"world"}')
        self.assertEqual(res["headers"]["content-type"], "application/json")
        self.assertEqual(res["headers"]["x-one"], "1")
        self.assertEqual(res["headers"]["x-twice"], "a, b")  # a repeated header, joined
        self.assertTrue(all(name == name.lower() for name in res["headers"]))

    def test_post_sends_method_headers_and_body(self):
        ok, res = self.call(method="POST", url=self.upstream.url + "/echo?q=1#not-sent",
                            headers={"X-Trace": "abc", "x-num": 5}, body="payload")
        self.assertTrue(ok, res)
        echo = json.loads(res["body"])
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body"], "payload")
        self.assertEqual(echo["query"], {"q": "1"})
        self.assertEqual(echo["headers"]["x-trace"], "abc")
        self.assertEqual(echo["headers"]["x-num"], "5")

    def test_request_on_the_wire(self):
        ok, res = self.call(method="PUT", url=self.py.url("/raw?a=b"), headers={"X-Custom": "v"}, body="abc")
        self.assertTrue(ok, res)
        lines = res["body"].split("\r\n")
        self.assertEqual(lines[0], "PUT /raw?a=b HTTP/1.1")
        self.assertIn(f"host: 127.0.0.1:{self.py.server_address[1]}", lines)
        self.assertIn("X-Custom: v", lines)
        self.assertIn("content-length: 3", lines)
        self.assertEqual(lines[-1], "abc")
        # a GET without a body has no content-length; a POST without one says 0
        ok, res = self.call(url=self.py.url("/raw"))
        self.assertNotIn("content-length", res["body"].lower())
        ok, res = self.call(method="POST", url=self.py.url("/raw"))
        self.assertIn("content-length: 0", res["body"].split("\r\n"))
        # a standard method in lower case is sent in upper case; others as they are
        ok, res = self.call(method="delete", url=self.py.url("/raw"))
        self.assertTrue(res["body"].startswith("DELETE /raw HTTP/1.1\r\n"), res)
        ok, res = self.call(method="Purge", url=self.py.url("/raw"))
        self.assertTrue(res["body"].startswith("Purge /raw HTTP/1.1\r\n"), res)
        # a Host header given by the handler replaces the URL's
        ok, res = self.call(url=self.py.url("/raw"), headers={"Host": "example.org"})
        lines = res["body"].split("\r\n")
        self.assertIn("Host: example.org", lines)
        self.assertFalse(any(line.startswith("host:") for line in lines))

    def test_head_and_no_content_have_an_empty_body(self):
        ok, res = self.call(method="HEAD", url=self.upstream.url + "/json")
        self.assertEqual((ok, res["status"], res["body"]), (True, 200, ""))
        self.assertEqual(res["headers"]["content-length"], "17")
        ok, res = self.call(url=self.upstream.url + "/status/204")
        self.assertEqual((ok, res["status"], res["body"]), (True, 204, ""))

    def test_error_statuses_are_results_not_errors(self):
        ok, res = self.call(url=self.upstream.url + "/status/503")
        self.assertEqual((ok, res["status"]), (True, 503))
        ok, res = self.call(url=self.upstream.url + "/nothing-here")
        self.assertEqual((ok, res["status"], json.loads(res["body"])), (True, 404, {"detail": "Not Found"}))

    def test_a_host_name_is_resolved(self):
        ok, res = self.call(url=f"http://localhost:{self.upstream.port}/json")
        self.assertEqual((ok, res["status"]), (True, 200))
        ok, res = self.call(url="http://no-such-host.invalid/x", timeout=5)
        self.assertFalse(ok)
        self.assertTrue(res.startswith("moontide.http.request: GET http://no-such-host.invalid/x: "), res)

    def test_connection_refused_is_an_error_naming_the_url(self):
        url = f"http://127.0.0.1:{free_port()}/x"
        ok, res = self.call(url=url)
        self.assertFalse(ok)
        self.assertEqual(res, f"moontide.http.request: GET {url}: connection failed")

    def test_an_uncaught_failure_is_the_handlers_error(self):
        url = f"http://127.0.0.1:{free_port()}/x"
        status, body = self.get("/uncaught", url=url)
        self.assertEqual(status, 500)
        with open(app_path("http_client.lua")) as f:
            line = next(i for i, text in enumerate(f, 1) if "url = url }.status" in text)
        wait_until(lambda: f"http_client.lua:{line}: moontide.http.request: GET {url}: connection failed" in
                   self.server.stderr(), what="the error, at the handler's line, in the log")

    def test_timeout_waiting_for_the_head(self):
        path = unique("/stall-head")
        started = time.monotonic()
        ok, res = self.call(url=self.py.url(path), timeout=0.3)
        self.assertLess(time.monotonic() - started, 3)
        self.assertFalse(ok)
        self.assertEqual(res, f"moontide.http.request: GET {self.py.url(path)}: timed out after 0.3 s waiting for "
                              "the response")
        wait_until(lambda: self.py.closed(path), what="the upstream connection to be closed")

    def test_timeout_reading_the_body(self):
        path = unique("/stall-body")
        ok, res = self.call(url=self.py.url(path), timeout=0.3)
        self.assertFalse(ok)
        self.assertTrue(res.endswith(": timed out after 0.3 s reading the body"), res)
        wait_until(lambda: self.py.closed(path), what="the upstream connection to be closed")

    def test_timeout_connecting(self):
        silent = SilentListener()  # accepts, but never answers the TLS handshake
        try:
            ok, res = self.call(url=f"https://127.0.0.1:{silent.port}/", timeout=0.3)
            self.assertFalse(ok)
            self.assertTrue(res.endswith(": timed out after 0.3 s connecting"), res)
            wait_until(lambda: silent.closed == 1, what="the connection to be closed")
        finally:
            silent.close()

    def test_a_body_cut_short_is_an_error(self):
        url = self.py.url(unique("/cut"))
        ok, res = self.call(url=url)
        self.assertFalse(ok)
        self.assertTrue(res.startswith(f"moontide.http.request: GET {url}: "), res)

    def test_a_body_over_64_mib_is_an_error_unless_streamed(self):
        url = self.upstream.url + "/big?mib=65"
        ok, res = self.call(url=url)
        self.assertFalse(ok)
        self.assertEqual(res, f"moontide.http.request: GET {url}: the response body is larger than 64 MiB "
                              "(stream=true reads it in pieces)")
        status, body = self.get("/stream-count", url=url)
        self.assertEqual(body["bytes"], 65 << 20)

    def test_bad_options_are_errors(self):
        cases = [
            ({"url": 1}, "url must be a string, got number"),
            ({}, "url must be a string, got nil"),
            ({"url": "http://x/", "nope": 1}, "unknown option 'nope'"),
            ({"url": "http://x/", "1": 1}, "unknown option '1'"),
            ({"url": "ftp://x/"}, "only http:// and https:// URLs are supported, got 'ftp://x/'"),
            ({"url": "http://"}, "invalid URL 'http://'"),
            ({"url": "http://x:99999/"}, "invalid URL 'http://x:99999/'"),
            ({"url": "http://x/a b"}, "invalid URL 'http://x/a b': spaces and control characters must be "
                                      "percent-encoded"),
            ({"url": "http://x/", "method": "GE T"}, "method 'GE T' is not an HTTP token"),
            ({"url": "http://x/", "headers": {"a": "b\r\nc: d"}}, "header 'a' holds CR, LF or NUL"),
            ({"url": "http://x/", "headers": {"a b": "c"}}, "header name 'a b' is not an HTTP token"),
            ({"url": "http://x/", "headers": {"Content-Length": "1"}}, "header 'Content-Length' is set from body"),
            ({"url": "http://x/", "body": {}}, "body must be a string, got table"),
            ({"url": "http://x/", "timeout": 0}, "timeout must be a number of seconds above 0 and at most 3600"),
            ({"url": "http://x/", "timeout": 5000}, "timeout must be a number"),
            ({"url": "http://x/", "stream": "yes"}, "stream must be a boolean, got string"),
            ({"url": "http://x/", "verify": 0}, "verify must be a boolean, got number"),
        ]
        for opts, message in cases:
            with self.subTest(opts=opts):
                ok, res = self.call(**opts)
                self.assertFalse(ok)
                self.assertTrue(res.startswith("moontide.http.request: " + message), res)

    def test_only_a_handler_can_call_it(self):
        status, body = self.get("/at-load")
        self.assertEqual(body, {"ok": False, "err": "moontide.http.request: call it from a handler, not while the "
                                                     "app loads or from a coroutine of your own"})


class Pooling(Common):
    def test_keep_alive_reuses_one_connection(self):
        before = self.py.connections
        status, bodies = self.get("/again", url=self.py.url("/peer"), times=5)
        self.assertEqual(status, 200)
        self.assertEqual(len(set(bodies)), 1, bodies)  # one client port: one connection
        self.assertEqual(self.py.connections - before, 1)

    def test_a_thousand_waits_on_one_worker(self):
        pids = self.worker_pids()
        started = time.monotonic()
        out = subprocess.run(["h2load", "-n", "1000", "-c", "1000", "--h1", self.server.url + "/slow"],
                             capture_output=True, text=True, timeout=60).stdout
        elapsed = time.monotonic() - started
        self.assertIn("status codes: 1000 2xx", out, out)
        # each request waits 1 s for its upstream; one after another that would be 1000 s
        self.assertLess(elapsed, 8, out)
        self.assertEqual(self.server.worker_pids(), pids)


class Streaming(Common):
    def test_chunks_arrive_as_they_are_sent(self):
        path = unique("/chunks?n=5&delay=0.2")
        status, body = self.get("/stream", url=self.py.url(path))
        self.assertEqual((status, body["status"], body["type"]), (200, 200, "text/plain"))
        self.assertEqual(body["chunks"], [f"chunk {i}\n" for i in range(5)])
        self.assertTrue(body["after_end"])
        sent = self.py.sent[path]
        for i, arrived in enumerate(body["times"]):
            # each chunk reached the handler after it was sent and well before the next one was
            self.assertGreaterEqual(arrived, sent[i])
            self.assertLess(arrived - sent[i], 0.15, (sent, body["times"]))

    def test_a_fixed_length_body_streamed(self):
        status, body = self.get("/stream", url=self.upstream.url + "/json")
        self.assertEqual("".join(body["chunks"]), '{"hello":"world"}')

    def test_a_stream_left_unread_closes_the_upstream_connection(self):
        path = unique("/endless")
        status, body = self.get("/stream-first", url=self.py.url(path))
        self.assertEqual((status, body["first"][:5]), (200, "tick\n"))
        wait_until(lambda: self.py.closed(path), timeout=3, what="the upstream connection to be closed")

    def test_a_dropped_stream_is_closed_by_the_collector(self):
        path = unique("/endless")
        status, body = self.get("/stream-dropped", url=self.py.url(path))
        self.assertEqual(status, 200)
        closed = wait_until(lambda: self.py.closed(path), timeout=3, what="the upstream connection to be closed")
        # closed while the handler still slept (1 s), not when it ended
        self.assertLess(closed[0], body["left"] - 0.5)

    def test_a_fast_upstream_waits_for_a_slow_handler(self):
        path = unique("/firehose?mib=64")
        result = {}
        thread = threading.Thread(target=lambda: result.update(answer=self.get("/stream-slowly",
                                                                                url=self.py.url(path))))
        thread.start()
        time.sleep(0.8)  # not synchronisation: the handler sleeps 1 s after its first chunk
        written_while_asleep = self.py.written.get(path, 0)
        thread.join(30)
        status, body = result["answer"]
        self.assertEqual(body["bytes"], 64 << 20)
        # reading stopped while the handler slept: the upstream could only fill the socket buffers
        self.assertLess(written_while_asleep, 16 << 20)

    def test_relaying_a_fast_upstream_to_a_slow_client(self):
        path = unique("/firehose?mib=128")
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("GET", "/relay?" + urllib.parse.urlencode({"url": self.py.url(path)}))
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            got = len(res.read(1 << 20))
            time.sleep(1)  # not synchronisation: the client stops reading; the upstream must stop too
            written_while_stalled = self.py.written.get(path, 0)
            got += len(res.read())
        finally:
            conn.close()
        self.assertEqual(got, 128 << 20)
        # the relay held the upstream back: what it wrote is what four sockets' buffers hold (tens of MiB on some
        # kernels), far from the whole body
        self.assertLess(written_while_stalled, 96 << 20)

    def test_an_error_mid_body_is_raised_by_the_iterator(self):
        url = self.py.url(unique("/cut"))
        status, body = self.get("/stream-error", url=url)
        self.assertEqual(body["got"], "0123456789")
        self.assertFalse(body["ok"])
        self.assertIn(f"moontide.http.request: GET {url}: ", body["err"])
        self.assertIn("http_client.lua:", body["err"])  # raised at the for loop's line
        self.assertTrue(body["err"].endswith(body["again"]), body)  # the same error again

    def test_a_timeout_mid_stream(self):
        url = self.py.url(unique("/stall-body"))
        status, body = self.get("/stream-error", url=url, timeout=0.3)
        self.assertEqual(body["got"], "0123456789")
        self.assertTrue(body["err"].endswith(f"GET {url}: timed out after 0.3 s reading the body"), body["err"])


class Abandoned(Common):
    """A client that leaves, or the handler deadline, stops the upstream request at once, at any stage."""
    server_args = ("--timeout", "2")

    def check_healthy(self, pids):
        self.assertEqual(self.server.worker_pids(), pids)
        ok, res = self.call(url=self.upstream.url + "/json")
        self.assertEqual((ok, res["status"]), (True, 200))

    def test_client_leaves_at_each_stage(self):
        pids = self.worker_pids()
        stages = {
            "waiting for the head": ("/uncaught", "/stall-head"),
            "reading the body": ("/uncaught", "/stall-body"),
            "waiting for a chunk": ("/stream", "/stall-body"),
            "holding a stream while sleeping": ("/stream-then-sleep", "/endless"),
        }
        for stage, (route, upstream_path) in stages.items():
            with self.subTest(stage=stage):
                path = unique(upstream_path)
                url = f"{self.server.url}{route}?url={urllib.parse.quote(self.py.url(path))}"
                h2c_give_up(url, 0.5)
                wait_until(lambda: self.py.closed(path), timeout=1.5, what=f"the upstream to be closed ({stage})")
        self.check_healthy(pids)

    def test_client_leaves_while_connecting(self):
        pids = self.worker_pids()
        silent = SilentListener()
        try:
            h2c_give_up(f"{self.server.url}/uncaught?url=https://127.0.0.1:{silent.port}/", 0.5)
            wait_until(lambda: silent.closed == 1, timeout=1.5, what="the connection to be closed")
        finally:
            silent.close()
        self.check_healthy(pids)

    def test_the_handler_deadline_stops_the_request(self):
        path = unique("/stall-head")
        status, _, body = self.server.request("GET", "/uncaught?url=" + urllib.parse.quote(self.py.url(path)))
        self.assertEqual(status, 504)
        wait_until(lambda: self.py.closed(path), timeout=1, what="the upstream connection to be closed")

    def test_many_clients_leave_nothing_behind(self):
        pids = self.worker_pids()
        closes = len(self.py.closes)
        for _ in range(20):
            for path in ("/stall-head", "/stall-body", "/endless"):
                with socket.create_connection(("127.0.0.1", self.server.port)) as s:
                    target = urllib.parse.quote(self.py.url(unique(path)))
                    s.sendall(f"GET /stream-first?url={target} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        # every one of them ends by the 2 s deadline at the latest; then the worker holds no upstream connection
        wait_until(lambda: len(self.py.closes) - closes >= 60, timeout=10, what="every upstream connection to be closed")
        self.check_healthy(pids)
        self.assertEqual(self.get("/leaks")[1]["leaks"] or 0, 0, self.server.stderr()[-3000:])


class Https(unittest.TestCase):
    """Certificates are verified against the CAs of SSL_CERT_FILE, here the test's own."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="moontide-https-")

        def cert(name, subject, san):
            crt, key = os.path.join(cls.dir, name + ".pem"), os.path.join(cls.dir, name + ".key")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                            "/CN=" + subject, "-addext", "subjectAltName=" + san, "-keyout", key, "-out", crt],
                           check=True, capture_output=True)
            return crt, key
        good = cert("good", "localhost", "DNS:localhost,IP:127.0.0.1")
        wrong = cert("wrong", "wrong.example", "DNS:wrong.example")
        untrusted = cert("untrusted", "localhost", "DNS:localhost,IP:127.0.0.1")
        cls.trusted = os.path.join(cls.dir, "trusted.pem")
        with open(cls.trusted, "w") as out:
            for path in (good[0], wrong[0]):
                with open(path) as f:
                    out.write(f.read())
        cls.good = Server("http_upstream.lua", "--tls-cert", good[0], "--tls-key", good[1], *ALL_LOOPBACK, scheme="https")
        cls.wrong = Server("http_upstream.lua", "--tls-cert", wrong[0], "--tls-key", wrong[1], *ALL_LOOPBACK,
                           scheme="https")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*untrusted)
        cls.py = PyUpstream(tls_context=context)
        cls.server = Server("http_client.lua", workers=1, env={"SSL_CERT_FILE": cls.trusted})

    @classmethod
    def tearDownClass(cls):
        for server in (cls.server, cls.good, cls.wrong):
            server.close()
        cls.py.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    call = Common.call
    get = Common.get

    def test_verified_by_ip_address_and_by_name(self):
        for host in ("127.0.0.1", "localhost"):
            ok, res = self.call(url=f"https://{host}:{self.good.port}/json")
            self.assertEqual((ok, res["status"], res["body"]), (True, 200, '{"hello":"world"}'), res)

    def test_post_over_tls(self):
        ok, res = self.call(method="POST", url=f"https://127.0.0.1:{self.good.port}/echo", body="secret")
        self.assertEqual(json.loads(res["body"])["body"], "secret")

    def test_a_trusted_certificate_for_another_name_is_refused(self):
        # over TLS 1.3, where h2o 2.2.5's own name check would let it through
        out = subprocess.run(["openssl", "s_client", "-brief", "-connect", f"127.0.0.1:{self.wrong.port}"],
                             input="", capture_output=True, text=True, timeout=10)
        self.assertIn("TLSv1.3", out.stdout + out.stderr)
        ok, res = self.call(url=f"https://127.0.0.1:{self.wrong.port}/json")
        self.assertEqual((ok, res), (False, f"moontide.http.request: GET https://127.0.0.1:{self.wrong.port}/json: "
                                            "certificate verify failed: IP address mismatch"))
        ok, res = self.call(url=f"https://localhost:{self.wrong.port}/json")
        self.assertEqual((ok, res), (False, f"moontide.http.request: GET https://localhost:{self.wrong.port}/json: "
                                            "certificate verify failed: hostname mismatch"))

    def test_an_untrusted_certificate_is_refused(self):
        url = self.py.url("/peer", scheme="https")
        ok, res = self.call(url=url)
        self.assertEqual((ok, res), (False, f"moontide.http.request: GET {url}: certificate verify failed: "
                                            "self-signed certificate"))

    def test_verify_false_accepts_it_and_keeps_the_connection(self):
        before = self.py.connections
        status, bodies = self.get("/again", url=self.py.url("/peer", scheme="https"), times=3, verify="false")
        self.assertEqual(status, 200, bodies)
        self.assertEqual(len(set(bodies)), 1, bodies)
        self.assertEqual(self.py.connections - before, 1)


if __name__ == "__main__":
    unittest.main()
