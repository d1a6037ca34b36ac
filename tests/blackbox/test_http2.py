"""HTTP/2 frame by frame (issue: hardening, no conformance checker such as
h2spec is packaged for Debian or npm): python3-h2 drives h2c connections
through many concurrent streams, client resets mid-stream, a one-byte flow
control window, a body in tiny DATA frames, a PING flood and protocol
errors. The server never crashes, no stream is left stuck, every answer is
complete, and the worker that took the abuse keeps serving."""
import json
import socket
import time
import unittest
import uuid

import h2.config
import h2.connection
import h2.events
import h2.settings

from harness import ServerTestCase


class Client:
    """One h2c connection (prior knowledge) with a loop that collects what arrives per stream."""

    def __init__(self, port, settings=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.bodies, self.headers, self.ended, self.reset = {}, {}, set(), {}
        self.closed = None  # the error code of a GOAWAY
        self.auto_window = True

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, method="GET", body=None, end=True):
        stream = self.conn.get_next_available_stream_id()
        headers = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "x")]
        if body is not None:
            headers.append(("content-length", str(len(body))))
        self.conn.send_headers(stream, headers, end_stream=end and body is None)
        self.bodies[stream] = b""
        self.flush()
        return stream

    def pump(self, until, timeout=10):
        """Reads and handles frames until `until()` holds; returns False at the deadline."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline or self.closed is not None:
                return until()
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                self.closed = self.closed if self.closed is not None else "eof"
                return until()
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    self.headers[event.stream_id] = dict(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    self.bodies[event.stream_id] = self.bodies.get(event.stream_id, b"") + event.data
                    if self.auto_window:
                        self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    self.ended.add(event.stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    self.reset[event.stream_id] = event.error_code
                elif isinstance(event, h2.events.ConnectionTerminated):
                    self.closed = event.error_code
            self.flush()
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Http2(ServerTestCase):
    app = "streams.lua"

    def client(self, settings=None):
        c = Client(self.server.port, settings)
        self.addCleanup(c.close)
        return c

    def still_serving(self):
        c = self.client()
        s = c.request("/fast")
        self.assertTrue(c.pump(lambda: s in c.ended), "a fresh connection is not answered")
        self.assertEqual(json.loads(c.bodies[s]), {"fast": True})

    def test_many_concurrent_streams_all_complete(self):
        c = self.client()
        self.assertTrue(c.pump(lambda: c.conn.remote_settings.max_concurrent_streams is not None, timeout=5))
        limit = c.conn.remote_settings.max_concurrent_streams
        streams, done = [], 0
        # keep the server's concurrency limit full until 300 requests have completed
        while done < 300:
            while len(streams) - done < min(limit, 100) and len(streams) < 300:
                streams.append(c.request("/count?n=3&gap=0.001"))
            self.assertTrue(c.pump(lambda: len([s for s in streams if s in c.ended]) > done, timeout=10),
                            "streams got stuck")
            done = len([s for s in streams if s in c.ended])
        for s in streams:
            self.assertEqual(c.headers[s][":status"], "200")
            self.assertEqual(c.bodies[s], b"chunk 1\nchunk 2\nchunk 3\n")

    def test_a_reset_mid_stream_stops_the_producer_and_the_connection_goes_on(self):
        c = self.client()
        tag = uuid.uuid4().hex
        s = c.request(f"/forever?id={tag}")
        self.assertTrue(c.pump(lambda: len(c.bodies.get(s, b"")) > 3000))
        c.conn.reset_stream(s)
        c.flush()

        def gone():
            status = json.loads(self.server.request("GET", f"/status/{tag}")[2])
            return status["gone"]
        deadline = time.monotonic() + 10
        while not gone():
            self.assertLess(time.monotonic(), deadline, "the producer did not see the reset")
            time.sleep(0.05)  # polling the server's state (not synchronising with it)
        t = c.request("/fast")  # the same connection still works
        self.assertTrue(c.pump(lambda: t in c.ended))
        self.assertEqual(json.loads(c.bodies[t]), {"fast": True})

    def test_a_one_byte_window_is_respected_and_nothing_sticks(self):
        c = self.client({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
        c.auto_window = False
        tag = uuid.uuid4().hex
        s = c.request(f"/flood?id={tag}&n=2")  # 128 KiB
        self.assertTrue(c.pump(lambda: len(c.bodies[s]) >= 1, timeout=5))
        time.sleep(0.3)  # not synchronisation: gives a misbehaving server the chance to overrun the window
        c.pump(lambda: False, timeout=0.2)
        self.assertEqual(len(c.bodies[s]), 1, "the server sent past the stream's window")
        # open the stream's window a little at a time (and give the connection back what it used)
        while s not in c.ended:
            before = len(c.bodies[s])
            c.conn.increment_flow_control_window(4096, stream_id=s)
            c.flush()
            self.assertTrue(c.pump(lambda: len(c.bodies[s]) == before + 4096 or s in c.ended, timeout=5), "stuck")
            self.assertLessEqual(len(c.bodies[s]), before + 4096, "the server sent past the stream's window")
            c.conn.increment_flow_control_window(len(c.bodies[s]) - before)
            c.flush()
        self.assertEqual(c.bodies[s], b"y" * (2 * 65536))

    def test_a_body_in_tiny_frames(self):
        c = self.client()
        body = json.dumps({"items": list(range(2000))}).encode()
        s = c.request("/echo", method="POST", body=body)
        for i in range(0, len(body), 7):
            c.conn.send_data(s, body[i:i + 7], end_stream=i + 7 >= len(body))
            c.flush()
            c.pump(lambda: c.conn.local_flow_control_window(s) > 100, timeout=5)
        self.assertTrue(c.pump(lambda: s in c.ended))
        self.assertEqual(json.loads(c.bodies[s]), {"got": {"items": list(range(2000))}})

    def test_a_ping_flood_is_answered_and_harms_nothing(self):
        c = self.client()
        acks = []
        for i in range(1000):
            c.conn.ping(i.to_bytes(8, "big"))
        c.flush()
        deadline = time.monotonic() + 10
        while len(acks) < 1000 and time.monotonic() < deadline and c.closed is None:
            data = c.sock.recv(65536)
            if not data:
                break
            for event in c.conn.receive_data(data):
                if isinstance(event, h2.events.PingAckReceived):
                    acks.append(event.ping_data)
            c.flush()
        self.assertEqual(len(acks), 1000)
        self.still_serving()

    def test_protocol_errors_end_that_connection_only(self):
        pids = self.server.worker_pids()
        # DATA on stream 0 is a connection error (RFC 9113 §6.1): GOAWAY, PROTOCOL_ERROR
        c = self.client()
        c.flush()
        c.sock.sendall(b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x")
        self.assertTrue(c.pump(lambda: c.closed is not None, timeout=5))
        self.assertIn(c.closed, (h2.errors.ErrorCodes.PROTOCOL_ERROR, "eof"))
        # garbage instead of a connection preface
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 64)
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
        # a HEADERS frame whose block HPACK cannot decode: a connection error (COMPRESSION_ERROR)
        c = self.client()
        c.flush()
        c.sock.sendall(b"\x00\x00\x02\x01\x05\x00\x00\x00\x01\xff\xff")
        self.assertTrue(c.pump(lambda: c.closed is not None, timeout=5))
        self.still_serving()
        self.assertEqual(self.server.worker_pids(), pids)  # no worker died


if __name__ == "__main__":
    unittest.main()
