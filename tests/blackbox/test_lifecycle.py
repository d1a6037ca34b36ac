"""app:on_startup / app:on_shutdown (SPEC §7): per worker, startup before the
first request, shutdown after the last; a failing startup stops the server
with exit 1 and the error in the log."""
import json
import os
import signal
import subprocess
import tempfile
import unittest

from harness import BIN, LSAN_OPTIONS, Server, app_path, free_port, wait_until

APP = app_path("lifecycle")


def events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.split() for line in f.read().splitlines()]


class Lifecycle(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="moontide-lifecycle-")
        self.log = os.path.join(self.dir, "events")

    def test_each_worker_starts_before_serving_and_shuts_down_after(self):
        server = Server(APP, workers=2, env={"LIFECYCLE_LOG": self.log})
        try:
            wait_until(lambda: len(events(self.log)) == 2, what="two workers' on_startup")
            started = {pid for event, pid in events(self.log) if event == "startup"}
            self.assertEqual(len(started), 2, events(self.log))
            seen = set()
            for _ in range(40):
                status, _, body = server.request("GET", "/ready")
                self.assertEqual(status, 200)
                self.assertIn('"ready":true', body.decode())
                self.assertIn('"order":["first","second"]', body.decode())  # in registration order, once
                seen.add(str(json.loads(body)["pid"]))
            self.assertLessEqual(seen, started)
            code = server.stop()
        finally:
            server.close()
        self.assertEqual(code, 0)
        shutdowns = {pid for event, pid in events(self.log) if event == "shutdown"}
        self.assertEqual(shutdowns, started, events(self.log))  # every worker ran its on_shutdown once
        self.assertEqual(len(events(self.log)), 4, events(self.log))

    def test_a_reload_shuts_the_old_code_down_and_starts_the_new(self):
        app_dir = os.path.join(self.dir, "app")
        os.mkdir(app_dir)
        with open(os.path.join(APP, "app.lua")) as f:
            source = f.read()
        with open(os.path.join(app_dir, "app.lua"), "w") as f:
            f.write(source)
        server = Server(app_dir, workers=1, command="dev", env={"LIFECYCLE_LOG": self.log})
        try:
            wait_until(lambda: len(events(self.log)) == 1, what="on_startup")
            with open(os.path.join(app_dir, "app.lua"), "w") as f:
                f.write(source.replace('ready = state.ready', 'reloaded = true, ready = state.ready'))
            wait_until(lambda: b"reloaded" in server.request("GET", "/ready")[2], what="the new code")
            wait_until(lambda: len(events(self.log)) == 3, what="old shutdown and new startup")
            # the new code starts before the old shuts down: the old may still finish requests in flight
            self.assertEqual([e for e, _ in events(self.log)], ["startup", "startup", "shutdown"])
        finally:
            server.close()

    def test_a_failing_startup_stops_the_server(self):
        proc = subprocess.Popen([BIN, "run", APP, "--port", str(free_port()), "--workers", "2"],
                                env={"LSAN_OPTIONS": LSAN_OPTIONS, **os.environ,  # as harness.Server starts it
                                     "LIFECYCLE_LOG": self.log, "LIFECYCLE_FAIL": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("cannot reach the database", err)
        self.assertIn("on_startup failed", err)
        self.assertRegex(err, r"lifecycle/app\.lua:\d+")
        self.assertNotIn("startup", [e for e, _ in events(self.log)])


if __name__ == "__main__":
    unittest.main()
