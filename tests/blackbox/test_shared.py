"""Shared dicts (SPEC §7, moontide.shared.dict): one store every worker
reads and writes, atomic under its lock (incr from every worker at once loses
nothing), TTL expiry, the data surviving a worker killed mid-traffic and a
`moontide dev` reload; plus moontide.add_headers."""
import http.client
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import APPS, Server, app_path, run_cli, wait_until


def call(server, method, path, **query):
    status, headers, body = server.request(method, path + "?" + urllib.parse.urlencode(query))
    return status, headers, json.loads(body)


def hammer(port, path, threads, each):
    """`threads` clients, each making `each` POSTs on one keep-alive connection; returns (answers, errors)."""
    answers, errors, lock = [], [], threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(each):
            try:
                conn.request("POST", path)
                res = conn.getresponse()
                body = json.loads(res.read())
                with lock:
                    answers.append((res.status, body))
            except (OSError, http.client.HTTPException, ValueError) as e:
                with lock:
                    errors.append(type(e).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return answers, errors


class SharedDict(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("shared.lua", workers=4)
        wait_until(lambda: len(cls.server.worker_pids()) == 4, what="4 workers")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def get(self, key, **more):
        return call(self.server, "GET", "/get", key=key, **more)[2]

    def test_values_are_visible_across_workers(self):
        self.assertEqual(call(self.server, "POST", "/set", key="greeting", value="hello")[2], {"ok": True})
        self.assertEqual(call(self.server, "POST", "/set", key="n", value="2.5", kind="number")[2], {"ok": True})
        self.assertEqual(call(self.server, "POST", "/set", key="b", value="true", kind="boolean")[2], {"ok": True})
        self.assertEqual(self.get("n")["value"], 2.5)
        self.assertIs(self.get("b")["value"], True)
        self.assertEqual(self.get("loaded")["value"], "at load time", "what the app file stored before the fork")
        # busy handlers hold their worker, so concurrent requests land on different ones
        seen = {}

        def read():
            answer = self.get("greeting", busy_ms=150)
            seen[answer["pid"]] = answer["value"]

        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            threads = [threading.Thread(target=read) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertGreaterEqual(len(seen), 3, seen)
        self.assertEqual(set(seen.values()), {"hello"})

    def test_incr_from_every_worker_loses_nothing(self):
        answers, errors = hammer(self.server.port, "/incr?key=hits", threads=12, each=150)
        self.assertEqual(errors, [])
        values = sorted(body["value"] for _, body in answers)
        # each increment saw a distinct count: 1..1800, none lost, none doubled
        self.assertEqual(values, list(range(1, 12 * 150 + 1)))
        self.assertGreaterEqual(len({body["pid"] for _, body in answers}), 2, "more than one worker counted")
        self.assertEqual(self.get("hits")["value"], 1800)

    def test_add_and_delete(self):
        self.assertEqual(call(self.server, "POST", "/add", key="once", value="first")[2], {"ok": True})
        self.assertEqual(call(self.server, "POST", "/add", key="once", value="second")[2], {"ok": False, "err": "exists"})
        self.assertEqual(self.get("once")["value"], "first")
        self.assertEqual(call(self.server, "POST", "/delete", key="once")[2], {"deleted": True})
        self.assertNotIn("value", self.get("once"))
        self.assertEqual(call(self.server, "POST", "/delete", key="once")[2], {"deleted": False})

    def test_an_entry_expires_after_its_ttl(self):
        started = time.monotonic()
        self.assertEqual(call(self.server, "POST", "/set", key="brief", value="here", ttl="0.3")[2], {"ok": True})
        self.assertEqual(self.get("brief")["value"], "here")
        wait_until(lambda: "value" not in self.get("brief"), timeout=5, what="the entry to expire")
        self.assertGreaterEqual(time.monotonic() - started, 0.3)

    def test_misuse_is_an_error_naming_the_method(self):
        self.assertEqual(call(self.server, "GET", "/misuse")[2], [
            "dict:set: the value must be a string, a number or a boolean, got table",
            "dict:get: call it with ':' on a moontide.shared.dict (dict:get(...)), got string",
            "dict:incr: by must be a number, got string",
            "dict:set: the key must have 1 to 65535 bytes, got 0",
            'moontide.shared.dict: size must be a number of bytes or a string like "64k" or "1m", got string',
            "moontide.ratelimit: rate must be a whole number of requests from 1, got 0.5",
            "moontide.ratelimit: unknown option 'window'",
            "not a number",  # incr on a string is a result, not an error
        ])

    def test_add_headers_reach_the_response_and_a_raised_error(self):
        status, headers, body = call(self.server, "GET", "/added")
        self.assertEqual(status, 200)
        self.assertEqual(headers["x-added"], "yes")
        self.assertEqual(body["err"], "moontide.add_headers: header 'x-bad' has a value with CR, LF or NUL in it")
        self.assertEqual(body["err2"], "moontide.add_headers: content-type is set by what the handler returns")
        self.assertNotIn("x-bad", headers)
        status, headers, body = call(self.server, "GET", "/added", fail="true")
        self.assertEqual((status, body, headers["x-added"]), (418, {"detail": "teapot"}, "yes"))


class ZoneSize(unittest.TestCase):
    def test_a_dict_larger_than_the_zone_is_a_load_error(self):
        code, _, err = run_cli("run", app_path("shared.lua"), "--shared-memory", "512k", "--port", "0")
        self.assertEqual(code, 1)
        self.assertRegex(err.strip(), r"^moontide: error: .*shared\.lua:\d+: moontide\.shared\.dict: dict 'test' needs "
                                      r"1048576 bytes but the shared memory zone has \d+ left \(make it larger with "
                                      r"--shared-memory\)")


class WorkerKilled(unittest.TestCase):
    def test_a_worker_killed_mid_traffic_leaves_the_dict_whole(self):
        with Server("shared.lua", workers=2) as server:
            pids = wait_until(lambda: len(server.worker_pids()) == 2 and server.worker_pids(), what="2 workers")
            for i in range(50):
                self.assertEqual(call(server, "POST", "/set", key=f"k{i}", value=f"v{i}")[0], 200)
            outcome = {}

            def traffic():
                outcome["answers"], outcome["errors"] = hammer(server.port, "/incr?key=during", threads=4, each=300)

            t = threading.Thread(target=traffic)
            t.start()
            wait_until(lambda: (call(server, "GET", "/get", key="during")[2].get("value") or 0) > 100,
                       what="traffic to be under way")
            os.kill(pids[0], signal.SIGKILL)
            wait_until(lambda: (lambda p: len(p) == 2 and pids[0] not in p)(server.worker_pids()),
                       what="a replacement worker")
            t.join(60)
            answered = sum(1 for status, _ in outcome["answers"] if status == 200)
            total = call(server, "GET", "/get", key="during")[2]["value"]
            # every answered increment counted; one cut off by the kill may or may not have
            self.assertGreaterEqual(total, answered)
            self.assertLessEqual(total, answered + len(outcome["errors"]))
            self.assertGreater(answered, 100)
            for i in range(50):
                self.assertEqual(call(server, "GET", "/get", key=f"k{i}")[2]["value"], f"v{i}")
            self.assertEqual(call(server, "POST", "/incr", key="during")[2]["value"], total + 1)
            self.assertRegex(server.stderr(), rf"worker {pids[0]} was killed by signal 9")


class DevReload(unittest.TestCase):
    def test_a_reloaded_app_opens_the_same_dicts(self):
        tmp = tempfile.mkdtemp(prefix="moontide-shared-")
        try:
            with open(os.path.join(APPS, "shared.lua")) as f:
                source = f.read()
            path = os.path.join(tmp, "app.lua")
            with open(path, "w") as f:
                f.write(source)
            with Server(path, command="dev", workers=None) as server:
                self.assertEqual(call(server, "POST", "/set", key="kept", value="across reloads")[2], {"ok": True})
                for _ in range(2):  # PerUser allows 2 per 600 s
                    self.assertEqual(server.request("GET", "/per-user", headers={"x-user": "dev"})[0], 200)
                with open(path + ".tmp", "w") as f:
                    f.write(source.replace("return app", 'app:get("/v2", function() return "v2" end)\nreturn app'))
                os.replace(path + ".tmp", path)
                wait_until(lambda: server.request("GET", "/v2")[0] == 200, what="the reload")
                self.assertEqual(call(server, "GET", "/get", key="kept")[2]["value"], "across reloads")
                # the new generation's limiter counts in the same bucket
                self.assertEqual(server.request("GET", "/per-user", headers={"x-user": "dev"})[0], 429)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
