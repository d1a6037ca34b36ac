#!/usr/bin/python3
"""Hold-open test: N concurrent idle SSE streams (or idle keep-alive
connections) on one worker, and what each costs in memory.

Starts moontide (release build, one worker, pinned to core 0) on
bench/apps/moontide-bench.lua, reads the worker's RSS, opens N connections
that each GET /idle (one event, then the producer sleeps), waits until every
one has its first event, reads the RSS again, checks that a normal request is
still answered at once, and prints the RSS per open stream. With
--keepalive each connection GETs /hello instead, reads the whole answer and
stays open, idle: the RSS per idle keep-alive connection.

    /usr/bin/python3 bench/lib/hold_open.py [N] [--keepalive]   (default 10000)

Exits 1 when the figure is over its target (10 KB per stream, 4 KB per
keep-alive connection).
"""
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("MOONTIDE_BIN", os.path.join(ROOT, "build-bench", "moontide"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def worker_of(master):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                            return int(entry)
                except (OSError, IndexError):
                    pass
        time.sleep(0.05)
    raise SystemExit("no worker appeared")


def main():
    args = [a for a in sys.argv[1:] if a != "--keepalive"]
    keepalive = "--keepalive" in sys.argv[1:]
    n = int(args[0]) if args else 10000
    path, done, what, target = ((b"/hello", b"World!", "idle keep-alive connections", 4 * 1024) if keepalive
                                else (b"/idle", b"data: open", "idle SSE streams", 10 * 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["taskset", "-c", "0", BIN, "run", os.path.join(ROOT, "bench/apps/moontide-bench.lua"),
                               "--port", str(port), "--workers", "1", "--log-level", "warn"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        worker = worker_of(server.pid)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("moontide did not start")
                time.sleep(0.05)
        time.sleep(0.5)  # not synchronisation: lets the worker settle before the baseline reading
        before = rss_kb(worker)
        sel = selectors.DefaultSelector()
        socks, opened = [], 0
        request = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        started = time.monotonic()
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            s.sendall(request)
            sel.register(s, selectors.EVENT_READ, bytearray())
            socks.append(s)
        deadline = time.monotonic() + 120
        while opened < n and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                data = key.fileobj.recv(4096)
                key.data.extend(data)
                if done in key.data:
                    opened += 1
                    sel.unregister(key.fileobj)
        elapsed = time.monotonic() - started
        if opened < n:
            raise SystemExit(f"only {opened} of {n} {what} opened")
        time.sleep(1)  # not synchronisation: lets RSS settle after the last stream opened
        after = rss_kb(worker)
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = s.recv(4096)
        latency_ms = (time.monotonic() - t0) * 1000
        per_one = (after - before) * 1024 / n
        print(f"{n} {what} open on one worker (opened in {elapsed:.1f} s)")
        print(f"worker RSS: {before} kB before, {after} kB with them open: {per_one:.0f} bytes each")
        print(f"a request meanwhile: {reply.split(b' ', 2)[1].decode()} in {latency_ms:.1f} ms")
        for s in socks:
            s.close()
        return 0 if per_one <= target else 1
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
