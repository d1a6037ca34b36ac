"""The Lua memory cap (--max-lua-memory): a handler allocating without bound
fails with a 500 and a log line when its worker's Lua state reaches the cap;
the same worker goes on serving, and what the handler held is given back."""
import json
import os
import re
import unittest

from harness import ServerTestCase, wait_until


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


class MemoryCap(ServerTestCase):
    app = "memory.lua"
    args = ("--max-lua-memory", "64m")
    # In the AddressSanitizer pass Lua allocates with malloc, and ASan holds
    # freed blocks back (256 MB by default): a smaller quarantine keeps RSS
    # about what the app holds, which is what this test measures.
    env = {"ASAN_OPTIONS": os.environ["ASAN_OPTIONS"] + ":quarantine_size_mb=16"} if "ASAN_OPTIONS" in os.environ else None

    def test_a_runaway_allocation_is_a_500_and_the_worker_lives_on(self):
        worker = self.server.worker_pids()
        self.assertEqual(len(worker), 1)
        for attempt in range(5):
            status, _, body = self.server.request("GET", "/hog", timeout=30)
            self.assertEqual((status, json.loads(body)), (500, {"detail": "Internal Server Error"}))
            status, _, body = self.server.request("GET", "/small")
            self.assertEqual(status, 200)
            self.assertLess(json.loads(body)["kb"], 16 * 1024)  # the hog's tables were collected
        self.assertEqual(self.server.worker_pids(), worker)  # the same worker, never replaced
        self.assertLess(rss_kb(worker[0]), 200 * 1024)  # bounded by the cap, not by the loop
        wait_until(lambda: "not enough memory" in self.server.stderr(), what="the error in the log")
        self.assertIn("Lua memory cap (--max-lua-memory) reached", self.server.stderr())


class RequestReferences(ServerTestCase):
    """What a request keeps in its worker's Lua registry (its coroutine, the
    request fields it read) is given back when the request ends."""
    app = "memory.lua"

    def registry_entries(self):
        status, _, body = self.server.request("GET", "/registry")
        self.assertEqual(status, 200)
        return json.loads(body)["entries"]

    def test_requests_that_read_fields_leave_the_registry_as_it_was(self):
        for path in ("/fields?q=a", "/small"):
            with self.subTest(path=path):
                for _ in range(20):  # coroutines pooled, tables sized
                    self.assertEqual(self.server.request("GET", path)[0], 200)
                before = self.registry_entries()
                for _ in range(300):
                    self.assertEqual(self.server.request("GET", path)[0], 200)
                # one entry a request would be 300 more
                self.assertLess(self.registry_entries() - before, 10)


if __name__ == "__main__":
    unittest.main()
