#!/usr/bin/python3
"""Reload soak for `moontide dev` (issue: hot reload): N saves of an app
while a client keeps making requests; prints, every N/10 saves, the save ->
new-code-served latency and the worker's RSS, which must stay flat (each old
generation is freed after its last request).

    /usr/bin/python3 bench/lib/reloads.py [N]      (default 1000)
"""
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.normpath(os.path.join(HERE, "..", "..", "build-bench", "moontide"))
APP = """local moontide = require "moontide"
local app = moontide.app {{ title = "reloads", version = "{n}" }}
---@class Out
---@field n integer
---@return Out
app:get("/n", function(req) return {{ n = {n} }} end)
app:get("/sleep", function(req) moontide.sleep(0.05) return {{ n = {n} }} end)
return app
"""


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    directory = tempfile.mkdtemp(prefix="moontide-reloads-")
    path = os.path.join(directory, "app.lua")

    def save(i):
        with open(path + ".tmp", "w") as f:
            f.write(APP.format(n=i))
        os.replace(path + ".tmp", path)

    save(0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([BIN, "dev", path, "--port", str(port), "--log-level", "warn"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def served():
        return json.loads(urllib.request.urlopen(url + "/n", timeout=5).read())["n"]

    stop, errors = threading.Event(), []

    def traffic():  # light traffic, some of it in flight across reloads
        while not stop.is_set():
            try:
                urllib.request.urlopen(url + "/sleep", timeout=5).read()
            except OSError as e:
                errors.append(repr(e))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                served()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("moontide dev did not start")
                time.sleep(0.05)
        worker = int(subprocess.check_output(["pgrep", "-P", str(server.pid)]).split()[0])
        thread = threading.Thread(target=traffic)
        thread.start()
        latencies, first_rss = [], rss_kb(worker)
        print(f"before: worker RSS {first_rss} kB")
        for i in range(1, n + 1):
            save(i)
            t = time.monotonic()
            while served() != i:
                time.sleep(0.002)
            latencies.append((time.monotonic() - t) * 1000)
            if i % max(1, n // 10) == 0:
                print(f"{i} reloads: save -> served median {statistics.median(latencies):.0f} ms, "
                      f"max {max(latencies):.0f} ms; worker RSS {rss_kb(worker)} kB")
        stop.set()
        thread.join()
        print(f"requests that failed meanwhile: {len(errors)}")
        return 0
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
