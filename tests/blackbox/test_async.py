"""Handlers that wait (SPEC §7): moontide.sleep suspends only its request's
coroutine; the worker serves others meanwhile; a handler still waiting at
--timeout gets 504 (SPEC §5); a client that leaves mid-wait harms nothing."""
import json
import re
import socket
import subprocess
import threading
import time
import unittest

from harness import Server, ServerTestCase, app_path, wait_until


class Sleep(ServerTestCase):
    app = "async.lua"
    args = ("--timeout", "2")

    def get(self, path, **kw):
        status, headers, body = self.server.request("GET", path, **kw)
        return status, json.loads(body)

    def test_sleep_returns_after_its_time(self):
        started = time.monotonic()
        self.assertEqual(self.get("/sleep?s=0.3"), (200, {"slept": 0.3}))
        self.assertGreaterEqual(time.monotonic() - started, 0.29)

    def test_waits_in_a_row_and_inside_pcall(self):
        self.assertEqual(self.get("/steps"), (200, {"steps": [1, 2, 3], "pcall": True}))

    def test_other_requests_are_served_while_one_waits(self):
        done = {}

        def slow():
            done["slow"] = (self.get("/sleep?s=1.5"), time.monotonic())
        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.2)  # not synchronisation: gives the slow request a head start to be waiting
        self.assertEqual(self.get("/fast"), (200, {"fast": True}))
        fast_at = time.monotonic()
        thread.join(10)
        self.assertEqual(done["slow"][0], (200, {"slept": 1.5}))
        self.assertLess(fast_at, done["slow"][1], "the fast request waited for the sleeping one")

    def test_a_thousand_sleepers_on_one_worker_over_http1(self):
        started = time.monotonic()
        out = subprocess.run(["h2load", "-n", "1000", "-c", "1000", "--h1", f"{self.server.url}/sleep?s=1"],
                             capture_output=True, text=True, timeout=60).stdout
        elapsed = time.monotonic() - started
        self.assertIn("1000 succeeded", out, out)
        self.assertIn("status codes: 1000 2xx", out, out)
        # serialized, they would take 1000 s; concurrently about 1 s plus connection set-up
        self.assertLess(elapsed, 6, out)

    def test_many_sleepers_on_one_http2_connection(self):
        out = subprocess.run(["h2load", "-n", "100", "-c", "1", "-m", "100", f"{self.server.url}/sleep?s=1"],
                             capture_output=True, text=True, timeout=60).stdout
        self.assertIn("status codes: 100 2xx", out, out)
        seconds = float(re.search(r"finished in ([\d.]+)(m?s)", out).group(1))
        unit = re.search(r"finished in [\d.]+(m?s)", out).group(1)
        self.assertLess(seconds / (1000 if unit == "ms" else 1), 5, out)

    def test_a_handler_still_waiting_at_timeout_gets_504(self):
        started = time.monotonic()
        self.assertEqual(self.get("/sleep?s=30"), (504, {"detail": "Gateway Timeout"}))
        self.assertLess(time.monotonic() - started, 10)
        wait_until(lambda: "was still waiting after --timeout 2 s: 504" in self.server.stderr(),
                   what="the 504 log line")
        self.assertEqual(self.get("/fast"), (200, {"fast": True}))

    def test_errors_after_waiting(self):
        self.assertEqual(self.get("/sleep-then-raise"), (409, {"detail": "conflict after waiting"}))
        self.assertEqual(self.get("/sleep-then-fail"), (500, {"detail": "Internal Server Error"}))
        wait_until(lambda: "failed after waiting" in self.server.stderr(), what="the traceback")
        self.assertEqual(self.get("/bad-sleep")[0], 500)
        wait_until(lambda: "seconds must be a number from 0" in self.server.stderr(), what="the bad-sleep error")

    def test_a_coroutine_of_the_handler_cannot_wait(self):
        status, body = self.get("/nested")
        self.assertEqual(status, 200)
        self.assertIs(body["ok"], False)
        self.assertIn("from a coroutine of your own", body["err"])

    def test_clients_leaving_mid_wait_harm_nothing(self):
        pids = self.server.worker_pids()
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", self.server.port)) as s:
                s.sendall(b"GET /sleep?s=0.2 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.5)  # not synchronisation: lets the abandoned sleeps come due in the worker
        self.assertEqual(self.get("/steps"), (200, {"steps": [1, 2, 3], "pcall": True}))
        self.assertEqual(self.server.worker_pids(), pids)


class SleepAtLoadTime(unittest.TestCase):
    def test_sleep_while_the_app_loads_is_a_load_error(self):
        import os
        import tempfile
        from harness import run_cli
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "app.lua")
            with open(path, "w") as f:
                f.write('local m = require "moontide"\nm.sleep(1)\nreturn m.app {}\n')
            code, out, err = run_cli("check", path)
        self.assertEqual(code, 1)
        self.assertIn("app.lua:2: moontide.sleep: call it from a handler", out + err)


if __name__ == "__main__":
    unittest.main()
