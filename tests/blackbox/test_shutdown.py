"""Graceful shutdown under load (SPEC §1): SIGTERM while 100 requests and 20
streams are in flight on two workers. The listener closes at once (new
connections are refused), every request in flight completes, every stream
sends all its events and ends properly, the server exits 0 and loses
nothing. With a grace period shorter than the work, the server still exits
and says so in the log."""
import http.client
import json
import os
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import Server, wait_until


def started(path):
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return len(f.read().splitlines())


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return False
    except OSError:
        return True


class GracefulShutdown(unittest.TestCase):
    def setUp(self):
        self.log = os.path.join(tempfile.mkdtemp(prefix="moontide-shutdown-"), "started")

    def fetch(self, server, path, results, key):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", path)
            res = conn.getresponse()
            results[key] = (res.status, res.read())  # raises IncompleteRead if the stream is cut
            conn.close()
        except Exception as e:  # recorded, asserted below
            results[key] = ("error", repr(e))

    def test_sigterm_under_load_loses_nothing(self):
        server = Server("shutdown.lua", "--grace", "20", workers=2, env={"SHUTDOWN_LOG": self.log})
        try:
            results, threads = {}, []
            for i in range(100):
                threads.append(threading.Thread(target=self.fetch, args=(server, "/slow?s=1.5", results, f"slow{i}")))
            for i in range(20):
                threads.append(threading.Thread(target=self.fetch,
                                                args=(server, "/stream?n=10&gap=0.15", results, f"stream{i}")))
            for t in threads:
                t.start()
            wait_until(lambda: started(self.log) == 120, timeout=20, what="all 120 requests in flight")
            signalled = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            wait_until(lambda: refused(server.port), timeout=5, what="the listener to close")
            self.assertIsNone(server.proc.poll(), "the server ended before its requests in flight did")
            for t in threads:
                t.join(timeout=30)
            code = server.proc.wait(timeout=30)
            elapsed = time.monotonic() - signalled
        finally:
            server.close()
        self.assertEqual(code, 0)
        self.assertEqual(len(results), 120)
        for i in range(100):
            status, body = results[f"slow{i}"]
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body), {"ok": True, "slept": 1.5})
        for i in range(20):
            status, body = results[f"stream{i}"]
            self.assertEqual(status, 200, body)
            events = [json.loads(line[6:]) for line in body.decode().splitlines() if line.startswith("data: ")]
            self.assertEqual(events, [{"i": k} for k in range(1, 11)])
        self.assertLess(elapsed, 15)  # they finished; the 20 s grace was not needed
        self.assertNotIn("grace period over", server.stderr())

    def test_a_grace_period_shorter_than_the_work_is_logged(self):
        server = Server("shutdown.lua", "--grace", "0.5", workers=1, env={"SHUTDOWN_LOG": self.log})
        try:
            results = {}
            t = threading.Thread(target=self.fetch, args=(server, "/slow?s=10", results, "slow"))
            t.start()
            wait_until(lambda: started(self.log) == 1, what="the request in flight")
            server.proc.send_signal(signal.SIGTERM)
            code = server.proc.wait(timeout=10)
            t.join(timeout=10)
        finally:
            server.close()
        self.assertEqual(code, 0)
        self.assertIn("grace period over", server.stderr())
        self.assertEqual(results["slow"][0], "error")  # cut, and the client sees that


if __name__ == "__main__":
    unittest.main()
