"""moontide.ratelimit (SPEC §7): a provider that lets rate + burst requests
through at once per client (or per key), counted in a shared dict across
all workers, then answers 429 with Retry-After and the RateLimit-* headers
of the IETF draft; allowed answers carry them too; the bucket refills."""
import json
import threading
import time
import unittest

from harness import Server, wait_until


class RateLimit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("shared.lua", workers=4)
        wait_until(lambda: len(cls.server.worker_pids()) == 4, what="4 workers")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_the_limit_holds_across_workers(self):
        # Limited: rate 5 per 600 s, burst 3: 8 at once, then one every 120 s
        results, lock = [], threading.Lock()

        def client():
            for _ in range(3):
                status, headers, body = self.server.request("GET", "/limited?busy_ms=100")
                with lock:
                    results.append((status, headers, json.loads(body)))

        threads = [threading.Thread(target=client) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        allowed = [r for r in results if r[0] == 200]
        refused = [r for r in results if r[0] == 429]
        self.assertEqual((len(allowed), len(refused)), (8, 28), [r[0] for r in results])
        # each allowed request saw a different count of what remained: 7 down to 0
        self.assertEqual(sorted(int(h["ratelimit-remaining"]) for _, h, _ in allowed), list(range(8)))
        self.assertEqual(sorted(b["remaining"] for _, _, b in allowed), list(range(8)))
        self.assertGreaterEqual(len({b["pid"] for _, _, b in allowed}), 2, "more than one worker let requests through")
        for _, headers, _ in allowed:
            self.assertEqual(headers["ratelimit-limit"], "8")
            self.assertTrue(1 <= int(headers["ratelimit-reset"]) <= 8 * 120)
        for _, headers, body in refused:
            self.assertEqual(body, {"detail": f"Too Many Requests: retry after {headers['retry-after']} s"})
            self.assertTrue(1 <= int(headers["retry-after"]) <= 120, headers)
            self.assertEqual((headers["ratelimit-limit"], headers["ratelimit-remaining"]), ("8", "0"))
            self.assertTrue(int(headers["ratelimit-reset"]) > 800, headers)
            self.assertEqual(headers["content-type"], "application/json")

    def test_keys_are_independent(self):
        # PerUser: 2 per 600 s, keyed by the x-user header
        statuses = [self.server.request("GET", "/per-user", headers={"x-user": "alice"})[0] for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 429])
        status, headers, body = self.server.request("GET", "/per-user", headers={"x-user": "bob"})
        self.assertEqual((status, body, headers["ratelimit-remaining"]), (200, b"ok", "1"))
        self.assertEqual(headers["x-extra"], "kept", "the handler's own headers are there too")
        self.assertEqual(self.server.request("GET", "/per-user", headers={"x-user": "bob"})[0], 200)
        self.assertEqual(self.server.request("GET", "/per-user", headers={"x-user": "bob"})[0], 429)
        self.assertEqual(self.server.request("GET", "/per-user")[0], 200, "no header: the 'anonymous' key")

    def test_the_bucket_refills(self):
        # Quick: 4 per second, no burst: 4 at once, then one every 0.25 s
        statuses = [self.server.request("GET", "/quick")[0] for _ in range(4)]
        status, headers, _ = self.server.request("GET", "/quick")
        refused_at = time.monotonic()
        if statuses != [200] * 4:  # a slow machine may have refilled one meanwhile; the 5th is refused anyway
            self.assertEqual(statuses.count(429), 0, statuses)
        self.assertEqual((status, headers["retry-after"]), (429, "1"))
        wait_until(lambda: self.server.request("GET", "/quick")[0] == 200, timeout=5, interval=0.02,
                   what="the bucket to refill")
        self.assertGreater(time.monotonic() - refused_at, 0.1)


if __name__ == "__main__":
    unittest.main()
