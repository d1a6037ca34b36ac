#!/usr/bin/python3
"""Isolation soak (issue: hardening): every way a handler can fail, repeated,
against one worker; its RSS and open file descriptors must not grow.

  /wait     waits past --timeout            -> 504 (the wait is cancelled)
  /error    raises a Lua error              -> 500
  /hog      allocates past --max-lua-memory -> 500
  /spin     holds the CPU, interpreted      -> 504 (the master's signal, a hook)
  /runaway  holds the CPU, JIT-compiled     -> the worker is replaced

Each case runs N times (spin N/10: each holds the worker for --timeout),
then the worker replacement R times; after each phase it prints the worker's
RSS and descriptor count (after warm-up: the first 10% of the phase), then
whether a plain request is still answered. Loopback only, bounded.

    /usr/bin/python3 bench/lib/isolation.py [N] [R]     (defaults 1000, 20)
"""
import concurrent.futures
import http.client
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("MOONTIDE_BIN", os.path.join(ROOT, "build-test", "moontide"))
TIMEOUT = 0.2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def get(port, path, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        res.read()
        return res.status
    except (OSError, http.client.HTTPException):
        return "dropped"
    finally:
        conn.close()


def phase(port, worker, path, n, concurrency, expect):
    statuses, samples = {}, []
    warm = max(1, n // 10)
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        for i, status in enumerate(pool.map(lambda _: get(port, path), range(n))):
            statuses[status] = statuses.get(status, 0) + 1
            if i + 1 == warm or i + 1 == n:
                samples.append((rss_kb(worker), fds(worker)))
    (rss0, fd0), (rss1, fd1) = samples[0], samples[-1]
    ok = statuses == {expect: n}
    print(f"{path:9} x{n:5}: {statuses}  worker RSS {rss0} -> {rss1} kB ({rss1 - rss0:+d}), fds {fd0} -> {fd1}"
          f"  {'ok' if ok else 'UNEXPECTED'}")
    return ok and fd1 <= fd0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    replacements = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    port = free_port()
    server = subprocess.Popen([BIN, "run", os.path.join(ROOT, "bench", "apps", "isolation.lua"), "--port", str(port),
                               "--workers", "1", "--timeout", str(TIMEOUT), "--max-lua-memory", "16m",
                               "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    all_ok = True
    try:
        deadline = time.monotonic() + 10
        while get(port, "/ok", timeout=1) != 200:
            if time.monotonic() > deadline:
                raise SystemExit("moontide did not start")
            time.sleep(0.05)
        worker = children(server.pid)[0]
        print(f"worker {worker}: RSS {rss_kb(worker)} kB, {fds(worker)} fds at start")
        all_ok &= phase(port, worker, "/wait", n, 50, 504)
        all_ok &= phase(port, worker, "/error", n, 8, 500)
        all_ok &= phase(port, worker, "/hog", n, 1, 500)
        all_ok &= phase(port, worker, "/spin", max(1, n // 10), 1, 504)
        all_ok &= get(port, "/ok") == 200
        master_fds = fds(server.pid)
        times = []
        for _ in range(replacements):
            old = children(server.pid)
            started = time.monotonic()
            status = get(port, "/runaway", timeout=10)
            while True:
                now = children(server.pid)
                if now and now != old and get(port, "/ok", timeout=2) == 200:
                    break
                if time.monotonic() - started > 15:
                    raise SystemExit("no replacement worker within 15 s")
                time.sleep(0.02)
            times.append(time.monotonic() - started)
            all_ok &= status == "dropped"
        worker = children(server.pid)[0]
        print(f"/runaway  x{replacements:5}: worker replaced each time in {min(times):.2f}-{max(times):.2f} s "
              f"(--timeout {TIMEOUT} s + 1 s); master fds {master_fds} -> {fds(server.pid)}; "
              f"new worker RSS {rss_kb(worker)} kB")
        all_ok &= fds(server.pid) <= master_fds
        all_ok &= get(port, "/ok") == 200
        print("all as expected" if all_ok else "SOMETHING UNEXPECTED")
        return 0 if all_ok else 1
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
