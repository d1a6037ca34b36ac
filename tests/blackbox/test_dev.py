"""moontide dev (SPEC §8): a save is served within moments, requests in
flight finish on the old code, open connections stay open, /openapi.json
follows, a save that fails to load keeps the old code and prints FILE:LINE,
and a Lua error's traceback is in the 500 answer."""
import json
import os
import shutil
import socket
import tempfile
import time
import unittest

from harness import Server, wait_until

APP = """local moontide = require "moontide"
local greeting = require "greeting"
local app = moontide.app {{ title = "dev", version = "1" }}
app:get("/v", function(req) return {{ v = {v}, greeting = greeting.text }} end)
app:get("/slow", function(req) moontide.sleep(1) return {{ v = {v} }} end)
app:get("/boom", function(req) error("boom in v{v}") end)
app:get("/events", function(req)
  return moontide.sse(function(emit)
    for i = 1, 8 do emit {{ data = "v{v} " .. i }} moontide.sleep(0.1) end
  end)
end)
{extra}
return app
"""


def read_response(sock):
    """Reads one HTTP/1.1 response with a Content-Length body from a keep-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int([line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")][0])
    while len(body) < length:
        body += sock.recv(4096)
    return json.loads(body[:length])


class Dev(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="moontide-dev-")
        self.write(1)
        self.write_module("hello")
        self.server = Server(os.path.join(self.dir, "app.lua"), command="dev", workers=None)

    def tearDown(self):
        self.server.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, v, extra=""):
        path = os.path.join(self.dir, "app.lua")
        with open(path + ".tmp", "w") as f:
            f.write(APP.format(v=v, extra=extra))
        os.replace(path + ".tmp", path)  # as editors save: a new file renamed over the old

    def write_module(self, text):
        with open(os.path.join(self.dir, "greeting.lua"), "w") as f:
            f.write(f'return {{ text = "{text}" }}\n')

    def get(self, path):
        status, _, body = self.server.request("GET", path)
        return status, json.loads(body)

    def serves(self, v):
        return lambda: self.get("/v")[1]["v"] == v

    def test_one_worker_by_default(self):
        # the master listens before it forks: an answer, not an accepted connection, shows the worker is up
        self.assertEqual(self.get("/v")[0], 200)
        self.assertEqual(len(self.server.worker_pids()), 1)

    def test_a_save_is_served_and_requests_in_flight_finish_on_the_old_code(self):
        self.assertEqual(self.get("/v")[1]["v"], 1)
        with socket.create_connection(("127.0.0.1", self.server.port)) as slow, \
                socket.create_connection(("127.0.0.1", self.server.port)) as kept:
            slow.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            kept.sendall(b"GET /v HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_response(kept)["v"], 1)
            time.sleep(0.1)  # not synchronisation: the slow request is under way before the save
            saved = time.monotonic()
            self.write(2)
            wait_until(self.serves(2), timeout=5, interval=0.01, what="the new code to serve")
            took = time.monotonic() - saved
            self.assertLess(took, 2, f"the save took {took:.3f} s to be served")
            self.assertEqual(read_response(slow), {"v": 1}, "the request in flight ran the old code")
            kept.sendall(b"GET /v HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection, still open
            self.assertEqual(read_response(kept)["v"], 2)

    def test_an_open_stream_finishes_on_the_old_code(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = s.recv(65536)
            self.write(5)
            wait_until(self.serves(5), timeout=5, interval=0.01, what="the new code to serve")
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        text = data.decode()
        self.assertEqual([f"data: v1 {i}" in text for i in range(1, 9)], [True] * 8, text)
        self.assertNotIn("v5", text)

    def test_a_module_change_reloads_too(self):
        self.write_module("bonjour")
        wait_until(lambda: self.get("/v")[1]["greeting"] == "bonjour", timeout=5, interval=0.01,
                   what="the module's new text")

    def test_openapi_follows(self):
        self.write(3, extra='app:get("/added", function(req) return {} end)')
        wait_until(self.serves(3), timeout=5, interval=0.01, what="the new code to serve")
        doc = json.loads(self.server.request("GET", "/openapi.json")[2])
        self.assertIn("/added", doc["paths"])

    def test_a_broken_save_keeps_the_old_code_and_says_where(self):
        path = os.path.join(self.dir, "app.lua")
        with open(path, "a") as f:
            f.write("local broken = \n")
        wait_until(lambda: "the previous code keeps serving" in self.server.stderr(), timeout=5,
                   what="the reload error")
        self.assertRegex(self.server.stderr(), r"app\.lua:\d+: ")
        self.assertEqual(self.get("/v")[1]["v"], 1)
        self.write(4)  # fixed: served again
        wait_until(self.serves(4), timeout=5, interval=0.01, what="the fixed code to serve")

    def test_a_lua_error_shows_its_traceback(self):
        status, body = self.get("/boom")
        self.assertEqual(status, 500)
        self.assertEqual(body["detail"], "Internal Server Error")
        self.assertIn("boom in v1", body["traceback"])
        self.assertIn("stack traceback", body["traceback"])
        status, headers, page = self.server.request("GET", "/boom", headers={"Accept": "text/html,*/*"})
        self.assertEqual((status, headers["content-type"]), (500, "text/html; charset=utf-8"))
        self.assertIn("<pre>", page.decode())
        self.assertIn("boom in v1", page.decode())


class RunHidesTracebacks(unittest.TestCase):
    def test_run_answers_without_the_traceback(self):
        directory = tempfile.mkdtemp(prefix="moontide-run-")
        try:
            with open(os.path.join(directory, "greeting.lua"), "w") as f:
                f.write('return { text = "x" }\n')
            with open(os.path.join(directory, "app.lua"), "w") as f:
                f.write(APP.format(v=1, extra=""))
            with Server(os.path.join(directory, "app.lua")) as server:
                status, _, body = server.request("GET", "/boom")
            self.assertEqual((status, json.loads(body)), (500, {"detail": "Internal Server Error"}))
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
