"""The process model (SPEC §1, §5): worker processes under a master that
replaces one that dies or holds the CPU past --timeout, and a graceful stop
on SIGTERM/SIGINT."""
import json
import os
import signal
import tempfile
import threading
import time
import unittest

from harness import Server, wait_until


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


class Workers(unittest.TestCase):
    def test_workers_are_processes_that_all_serve(self):
        with Server("workers.lua", workers=2) as server:
            pids = wait_until(lambda: len(server.worker_pids()) == 2 and server.worker_pids(), what="2 workers")
            seen = set()

            def busy():  # a worker holding the CPU does not accept, so its sibling takes the next connection
                seen.add(json.loads(server.request("GET", "/busy?ms=300")[2])["pid"])

            deadline = time.monotonic() + 10
            while seen != set(pids) and time.monotonic() < deadline:
                threads = [threading.Thread(target=busy) for _ in range(2)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            self.assertEqual(seen, set(pids))
            self.assertEqual(server.stop(), 0)

    def test_a_dead_worker_is_replaced(self):
        with Server("workers.lua", workers=2) as server:
            old = wait_until(lambda: len(server.worker_pids()) == 2 and server.worker_pids(), what="2 workers")
            os.kill(old[0], signal.SIGKILL)
            new = wait_until(lambda: (lambda p: len(p) == 2 and old[0] not in p and p)(server.worker_pids()),
                             what="a replacement worker")
            self.assertIn(old[1], new)
            self.assertRegex(server.stderr(), rf"worker {old[0]} was killed by signal 9 \(Killed\); starting a new one")
            for _ in range(10):
                self.assertEqual(server.request("GET", "/pid")[0], 200)

    def test_runaway_handler_worker_is_replaced_and_others_keep_serving(self):
        marker = os.path.join(tempfile.mkdtemp(), "looping")
        with Server("workers.lua", "--timeout", "1", workers=2, env={"MOONTIDE_TEST_MARKER": marker}) as server:
            old = wait_until(lambda: len(server.worker_pids()) == 2 and server.worker_pids(), what="2 workers")
            outcome = {}

            def runaway():
                try:
                    outcome["status"] = server.request("GET", "/runaway", timeout=10)[0]
                except Exception as e:  # the connection dies with the worker
                    outcome["error"] = type(e).__name__

            started = time.monotonic()
            t = threading.Thread(target=runaway)
            t.start()
            # Once one worker is in the loop it accepts nothing: new connections go to the other, which answers.
            wait_until(lambda: os.path.exists(marker), what="the handler to enter its loop")
            self.assertIn(int(open(marker).read()), old)
            for _ in range(5):
                self.assertEqual(server.request("GET", "/pid", timeout=5)[0], 200)
            wait_until(lambda: "has run the handler" in server.stderr(), timeout=8, what="the watchdog")
            t.join(10)
            elapsed = time.monotonic() - started
            self.assertIn("error", outcome, "the runaway request cannot get a response")
            self.assertLess(elapsed, 1 + 1 + 1.5, "killed within --timeout + 1 s (plus scheduling slack)")
            self.assertRegex(server.stderr(), r"has run the handler for GET /runaway \(.*workers\.lua:\d+\) for \d\.\d s, "
                                              r"past --timeout 1\.0 s: replacing the worker")
            wait_until(lambda: len(server.worker_pids()) == 2 and server.worker_pids() != old, what="the replacement")
            self.assertEqual(server.request("GET", "/pid")[0], 200)


class InterpretedRunaway(unittest.TestCase):
    def test_a_handler_spinning_in_the_interpreter_gets_504_and_the_worker_stays(self):
        with Server("workers.lua", "--timeout", "1", workers=1) as server:
            old = wait_until(lambda: len(server.worker_pids()) == 1 and server.worker_pids(), what="the worker")
            started = time.monotonic()
            status, _, body = server.request("GET", "/spin", timeout=10)
            elapsed = time.monotonic() - started
            self.assertEqual(status, 504)
            self.assertIn(b"Gateway Timeout", body)
            self.assertGreaterEqual(elapsed, 1.0)
            self.assertLess(elapsed, 1 + 1, "stopped by the hook before the worker would be replaced")
            self.assertRegex(server.stderr(), r"handler for GET /spin \(.*workers\.lua:\d+\) \[request \w+\] held the "
                                              r"CPU past --timeout 1 s: stopped, 504")
            self.assertEqual(server.worker_pids(), old)  # no replacement
            self.assertNotIn("replacing the worker", server.stderr())
            self.assertEqual(server.request("GET", "/pid")[0], 200)


class MasterDeath(unittest.TestCase):
    def test_workers_do_not_outlive_a_killed_master(self):
        server = Server("workers.lua", workers=2)
        pids = wait_until(lambda: len(server.worker_pids()) == 2 and server.worker_pids(), what="2 workers")
        server.kill()  # SIGKILL: the master gets no chance to stop its workers
        wait_until(lambda: all(proc_state(pid) in (None, "Z") for pid in pids), what="the orphaned workers to exit")


class Shutdown(unittest.TestCase):
    def test_sigterm_lets_in_flight_requests_finish(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with Server("workers.lua", workers=1) as server:
                result = {}
                t = threading.Thread(target=lambda: result.setdefault("r", server.request("GET", "/busy?ms=700")))
                t.start()
                time.sleep(0.2)  # let the request reach the handler; the handler itself takes 700 ms
                started = time.monotonic()
                self.assertEqual(server.stop(sig), 0)
                t.join()
                self.assertEqual(result["r"][0], 200, "the in-flight request finished")
                self.assertLess(time.monotonic() - started, 5)

    def test_idle_keep_alive_connections_do_not_delay_shutdown(self):
        import http.client
        with Server("workers.lua", workers=1) as server:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/pid")
            conn.getresponse().read()  # the connection stays open, idle
            started = time.monotonic()
            self.assertEqual(server.stop(), 0)
            self.assertLess(time.monotonic() - started, 2)
            conn.close()

    def test_no_new_connections_after_sigterm(self):
        import socket
        with Server("workers.lua", workers=1) as server:
            server.stop()
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


if __name__ == "__main__":
    unittest.main()
