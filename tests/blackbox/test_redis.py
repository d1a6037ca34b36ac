"""--redis (issue 7): several moontide instances share rate limits and
{backend = "redis"} dicts through one real redis-server, started here on a
free loopback port. The limiter fails open while Redis is away, a dict call
fails with a Lua error, and both recover when Redis is back; a client that
leaves while its handler waits on Redis harms nothing."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from harness import Server, free_port, run_cli, wait_until

REDIS_SERVER = "/usr/bin/redis-server"


class Redis:
    """A redis-server of our own, and a minimal RESP client to look inside it."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="moontide-redis-")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._pong, what="redis-server to answer PING")

    def _pong(self):
        try:
            return self.cmd("PING") == "PONG"
        except OSError:
            return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def close(self):
        if self.proc.poll() is None:
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def cmd(self, *args, timeout=5):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            out = f"*{len(args)}\r\n".encode()
            for a in args:
                a = str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            f = s.makefile("rb")
            return self._reply(f)

    def _reply(self, f):
        line = f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:].decode()
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if rest == "-1" else f.read(int(rest) + 2)[:-2].decode()
        if kind == b"*":
            return [self._reply(f) for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")


def get_json(server, path, method="GET", body=None, headers=None):
    status, hdrs, data = server.request(method, path, body=body, headers=headers)
    return status, hdrs, json.loads(data)


@unittest.skipUnless(os.path.exists(REDIS_SERVER), f"{REDIS_SERVER} is missing (Debian package redis-server)")
class TwoInstances(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = Redis()
        cls.a = Server("redis.lua", "--redis", cls.redis.url, workers=2)
        cls.b = Server("redis.lua", "--redis", cls.redis.url, workers=2)
        for s in (cls.a, cls.b):
            wait_until(lambda: len(s.worker_pids()) == 2, what="2 workers")

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()
        cls.redis.close()

    def test_one_limit_across_two_instances(self):
        # Limited: rate 5 per 600 s, burst 3: 8 requests in all, whichever instance and worker takes them
        self.redis.cmd("FLUSHDB")
        results, lock = [], threading.Lock()

        def client(server):
            for _ in range(4):
                status, headers, body = get_json(server, "/limited")
                with lock:
                    results.append((server.port, status, headers, body))

        threads = [threading.Thread(target=client, args=(s,)) for s in (self.a, self.b) * 5]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        allowed = [r for r in results if r[1] == 200]
        refused = [r for r in results if r[1] == 429]
        self.assertEqual((len(allowed), len(refused)), (8, 32), [r[1] for r in results])
        self.assertEqual(sorted(int(h["ratelimit-remaining"]) for _, _, h, _ in allowed), list(range(8)))
        self.assertEqual(sorted(b["remaining"] for _, _, _, b in allowed), list(range(8)))
        for _, _, headers, _ in allowed:
            self.assertEqual(headers["ratelimit-limit"], "8")
            self.assertTrue(1 <= int(headers["ratelimit-reset"]) <= 8 * 120, headers)
        for _, _, headers, body in refused:
            self.assertEqual(body, {"detail": f"Too Many Requests: retry after {headers['retry-after']} s"})
            self.assertTrue(1 <= int(headers["retry-after"]) <= 120, headers)
            self.assertEqual((headers["ratelimit-limit"], headers["ratelimit-remaining"]), ("8", "0"))
            self.assertTrue(int(headers["ratelimit-reset"]) > 800, headers)
        self.assertEqual({r[0] for r in refused}, {self.a.port, self.b.port}, "both instances refuse")
        # the bucket is one Redis key with a TTL: it expires when it would be full again
        keys = self.redis.cmd("KEYS", "moontide:ratelimit:*")
        self.assertEqual(len(keys), 1, keys)
        self.assertTrue(keys[0].endswith(":127.0.0.1"), keys)
        self.assertTrue(900_000 < self.redis.cmd("PTTL", keys[0]) <= 960_000)

    def test_local_backend_stays_per_instance(self):
        # Local: 2 per 600 s, backend = "local": each instance counts its own
        statuses = [get_json(s, "/local-limited")[0] for s in (self.a, self.a, self.a, self.b, self.b, self.b)]
        self.assertEqual(statuses, [200, 200, 429, 200, 200, 429])

    def test_incr_from_both_instances_is_exact(self):
        key, values, lock = "hits", [], threading.Lock()

        def client(server):
            for _ in range(25):
                status, _, body = get_json(server, f"/incr?key={key}", method="POST")
                self.assertEqual(status, 200, body)
                with lock:
                    values.append(body["value"])

        self.redis.cmd("DEL", f"moontide:test:{key}")
        threads = [threading.Thread(target=client, args=(s,)) for s in (self.a, self.b) * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(values), list(range(1, 201)), "every increment counted once")
        self.assertEqual(self.redis.cmd("GET", f"moontide:test:{key}"), "200")

    def compare(self, ops, pause=None):
        status, _, body = get_json(self.a, "/compare", method="POST",
                                   body=json.dumps({"ops": ops, "pause": pause or {}}).encode())
        self.assertEqual(status, 200, body)
        return body["redis"], body["local"]

    def test_values_and_ttl_match_the_local_dict(self):
        self.redis.cmd("FLUSHDB")
        ops = [
            ["set", "s", "hello"], ["get", "s"], ["set", "n", 1.5], ["get", "n"], ["set", "b", False], ["get", "b"],
            ["set", "t", True], ["get", "t"], ["set", "e", ""], ["get", "e"], ["set", "digits", "42"], ["get", "digits"],
            ["add", "s", "x"], ["add", "fresh", "x"], ["incr", "n", 2], ["incr", "s", 1], ["incr", "b", 1],
            ["incr", "none", 1], ["incr", "counter", 0.1, 0.2], ["incr", "counter", -1], ["get", "counter"],
            ["delete", "s"], ["delete", "s"], ["get", "s"], ["set", "n", None], ["get", "n"], ["get", "missing"],
            ["set", "big", 1e300], ["get", "big"],
            ["set", 1, 2], ["incr", "x", "y"], ["set", "k", {}], ["get", ""], ["set", "k", "v", -1],
        ]
        redis, local = self.compare(ops)
        for op, r, l in zip(ops, redis, local):
            self.assertEqual(r, l, op)
        self.assertEqual([r.get("a") for r in redis[:12:2]], [True] * 6)
        self.assertEqual([(r["type"], r["a"]) for r in redis[1:12:2]],
                         [("string", "hello"), ("number", 1.5), ("boolean", False), ("boolean", True), ("string", ""),
                          ("string", "42")])
        self.assertEqual((redis[12]["a"], redis[12]["b"]), (False, "exists"))
        self.assertEqual([redis[i].get("b") for i in (15, 16, 17)], ["not a number", "not a number", "not found"])
        self.assertEqual(redis[20]["a"], 0.1 + 0.2 - 1, "incr computes in doubles, as the local dict does")
        self.assertEqual([r["error"] for r in redis[-5:]], [
            "dict:set: the key must be a string, got number", "dict:incr: by must be a number, got string",
            "dict:set: the value must be a string, a number or a boolean, got table",
            "dict:get: the key must have 1 to 65535 bytes, got 0",
            "dict:set: the ttl must be a number of seconds from 0 (none) to 1e9, got -1"])
        # each key under moontide:DICT:KEY; a number readable as one
        self.assertEqual(self.redis.cmd("GET", "moontide:test:big"), "1e+300")
        self.assertEqual(self.redis.cmd("GET", "moontide:test:b"), "b0")

    def test_ttls_match_the_local_dict(self):
        self.redis.cmd("FLUSHDB")
        ops = [["set", "t", "v", 0.3], ["add", "a", 1, 0.3], ["incr", "i", 1, 0, 0.3], ["incr", "i", 1],
               ["get", "t"], ["get", "a"], ["get", "i"], ["add", "a", 2],
               ["get", "t"], ["get", "a"], ["get", "i"], ["add", "a", 2], ["get", "a"]]
        redis, local = self.compare(ops, pause={"8": 0.5})
        for op, r, l in zip(ops, redis, local):
            self.assertEqual(r, l, op)
        self.assertEqual([r.get("a") for r in redis[4:8]], ["v", 1, 2, False], "live before the ttl")
        self.assertEqual([r.get("a") for r in redis[8:]], [None, None, None, True, 2], "gone after it")
        self.assertEqual(self.redis.cmd("PTTL", "moontide:test:a"), -1, "the second add set no ttl")

    def test_a_flushed_script_cache_is_reloaded(self):
        self.redis.cmd("SET", "moontide:test:f", "5")
        self.assertEqual(self.redis.cmd("SCRIPT", "FLUSH"), "OK")
        for server in (self.a, self.a, self.b, self.b):  # each worker meets NOSCRIPT once at most
            status, _, body = get_json(server, "/incr?key=f", method="POST")
            self.assertEqual(status, 200, body)
        self.assertEqual(self.redis.cmd("GET", "moontide:test:f"), "9")
        self.assertIn(get_json(self.a, "/limited")[0], (200, 429), "the limiter's script loads again too")

    def test_outside_a_request_it_raises(self):
        _, _, body = get_json(self.a, "/outside")
        for when in ("at_load", "at_startup"):
            self.assertIn("dict:get: a Redis dict waits for Redis, so use it from a handler or a provider", body[when])
            self.assertIn("redis.lua:", body[when], "the error names the app's line")

    def test_a_client_that_leaves_while_its_handler_waits(self):
        pids = self.a.worker_pids()
        self.redis.cmd("DEL", "moontide:test:left")
        get_json(self.a, "/compare", method="POST", body=json.dumps({"ops": []}).encode())
        # Redis answers nobody for 800 ms (less than the 1 s command timeout): the client gives up at 300 ms
        self.assertEqual(self.redis.cmd("CLIENT", "PAUSE", "800", "ALL"), "OK")
        subprocess.run(["curl", "-s", "--http2-prior-knowledge", "--max-time", "0.3", f"{self.a.url}/wait?key=left"],
                       capture_output=True, timeout=10)
        # the command still ran once Redis went on; its reply found no one waiting
        wait_until(lambda: self.redis.cmd("GET", "moontide:test:left") == "1", what="the increment to land")
        status, _, flags = get_json(self.a, "/flags")
        self.assertEqual(flags, {"entered": True}, "the handler never went on after its client left")
        self.assertEqual(get_json(self.a, "/incr?key=left", method="POST")[2]["value"], 2)
        self.assertEqual(self.a.worker_pids(), pids, "no worker died")

    def test_bad_urls_are_refused(self):
        code, _, err = run_cli("run", "x.lua", "--redis", "http://127.0.0.1")
        self.assertEqual(code, 1)
        self.assertIn("--redis: 'http://127.0.0.1' is not a redis://HOST[:PORT][/DB] URL", err)


@unittest.skipUnless(os.path.exists(REDIS_SERVER), f"{REDIS_SERVER} is missing (Debian package redis-server)")
class RedisGoesAway(unittest.TestCase):
    def test_fail_open_limits_dict_errors_and_recovery(self):
        redis = Redis()
        server = Server("redis.lua", "--redis", redis.url, workers=2)
        try:
            wait_until(lambda: len(server.worker_pids()) == 2, what="2 workers")
            pids = server.worker_pids()
            for _ in range(8):
                self.assertEqual(get_json(server, "/limited")[0], 200)
            self.assertEqual(get_json(server, "/limited")[0], 429)
            redis.stop()
            # the limiter lets requests through (fail-open); a dict call raises a Lua error naming Redis
            for _ in range(6):
                status, headers, body = get_json(server, "/limited")
                self.assertEqual((status, body["remaining"], headers["ratelimit-remaining"]), (200, 7, "7"))
            status, _, body = get_json(server, "/get?key=k")
            self.assertEqual(body["ok"], False)
            self.assertIn(f"Redis at 127.0.0.1:{redis.port} is unavailable", body["error"])
            self.assertEqual(get_json(server, "/incr?key=k", method="POST")[0], 500)
            self.assertIn("requests are let through unlimited while it lasts", server.stderr())
            self.assertIn("is unavailable", server.stderr())
            self.assertEqual(server.worker_pids(), pids)
            # Redis is back (empty): both workers reconnect and count again
            redis.start()
            wait_until(lambda: all(get_json(server, "/get?key=k")[2]["ok"] for _ in range(4)), timeout=10,
                       interval=0.1, what="the workers to reconnect")
            statuses = [get_json(server, "/limited")[0] for _ in range(9)]
            self.assertEqual(statuses, [200] * 8 + [429])
            self.assertIn("connected to 127.0.0.1:%d again" % redis.port, server.stderr())
            self.assertEqual(server.worker_pids(), pids, "no worker died")
        finally:
            server.close()
            redis.close()


if __name__ == "__main__":
    unittest.main()
