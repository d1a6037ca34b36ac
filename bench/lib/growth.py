"""bench/lib/growth.py: what growing an app costs (issue 9, point 5).

Two measurements on one moontide worker (server on core 0, wrk on core 1):

- Routes: W1 (`GET /hello`) with the bench app padded to 10, 100 and 1,000
  routes (BENCH_ROUTES, see bench/apps/moontide-bench.lua); the OpenAPI
  document is checked to list that many paths before each point. Each count
  is a fresh server; counts alternate in order between runs. The spread is
  the largest req/s over the smallest, less one.
- Bodies: W3's item in an array, `POST /batch` with bodies of about 250 B,
  10 KB and 1 MB (every item validated against W3's Item class), reported as
  requests/s and MB/s of request body validated (64 connections; 8 for 1 MB).

Prints markdown tables. Needs build-bench/ (bench/run builds it).
Environment: RUNS (3), DURATION (10 s), MOONTIDE_BIN.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import parse_wrk, run, wrk_command  # noqa: E402
from servers import BENCH_APP, DURATION, MOONTIDE_BIN, RUNS, SERVER_CPU, free_port, wait_port  # noqa: E402

BIN, APP = MOONTIDE_BIN, BENCH_APP
ROUTES = [10, 100, 1000]
BODY_SIZES = [250, 10 * 1024, 1024 * 1024]
ITEM = {"name": "Widget", "price": 12.5, "tags": ["a", "b", "c"], "status": "draft", "dims": {"w": 1.5, "h": 2.0}}


class Moontide:
    def __init__(self, routes=None):
        self.port = free_port()
        env = dict(os.environ)
        if routes:
            env["BENCH_ROUTES"] = str(routes)
        cmd = ["taskset", "-c", SERVER_CPU, BIN, "run", APP, "--port", str(self.port),
               "--workers", "1", "--max-body", "2m"]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port, self.proc):
            raise SystemExit("moontide did not start")
        time.sleep(0.3)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get_json(self, path):
        with urllib.request.urlopen(self.url(path), timeout=10) as r:
            return json.load(r)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def measure(url, script=None, conns=64):
    """req/s of one wrk point after a 2 s warm-up; any non-2xx answer is fatal."""
    def command(duration):
        cmd = wrk_command(url, conns, duration)
        return cmd[:-1] + ["-s", script, url] if script else cmd
    run(command(2), 40)
    r = parse_wrk(run(command(DURATION), DURATION + 60))
    if r["non2xx"] or r["errors"]:
        raise SystemExit(f"{url}: {r['non2xx']} non-2xx answers, {r['errors']} socket errors")
    return r["rps"]


def routes_table():
    rps = {n: [] for n in ROUTES}
    for i in range(RUNS):
        for n in (ROUTES if i % 2 == 0 else ROUTES[::-1]):
            server = Moontide(routes=n)
            try:
                paths = len(server.get_json("/openapi.json")["paths"])
                if paths != n:
                    raise SystemExit(f"BENCH_ROUTES={n}: the app has {paths} paths")
                rps[n].append(measure(server.url("/hello")))
            finally:
                server.close()
    base = statistics.median(rps[ROUTES[0]])
    print("| routes | W1 req/s | runs | vs 10 routes |")
    print("| ---: | ---: | --- | ---: |")
    for n in ROUTES:
        m = statistics.median(rps[n])
        runs = " / ".join(f"{x:,.0f}" for x in rps[n])
        print(f"| {n:,} | {m:,.0f} | {runs} | {m / base:.3f} |")
    medians = [statistics.median(rps[n]) for n in ROUTES]
    print(f"\nSpread (largest / smallest median - 1): {max(medians) / min(medians) - 1:.1%}\n")


def batch_body(size):
    """A JSON array of W3 items at least `size` bytes long (the last item's
    name padded so that it is close to `size`)."""
    one = len(json.dumps(ITEM, separators=(",", ":")))
    count = max(1, size // (one + 1))
    items = [dict(ITEM) for _ in range(count)]
    text = json.dumps(items, separators=(",", ":"))
    pad = min(100 - len(ITEM["name"]), max(0, size - len(text)))
    items[-1]["name"] = ITEM["name"] + "x" * pad
    return count, json.dumps(items, separators=(",", ":"))


def bodies_table():
    server = Moontide()
    scripts = []
    try:
        points = []
        for size in BODY_SIZES:
            count, body = batch_body(size)
            with urllib.request.urlopen(urllib.request.Request(
                    server.url("/batch"), data=body.encode(), method="POST",
                    headers={"Content-Type": "application/json"}), timeout=30) as r:
                answer = json.load(r)
            if answer != {"count": count}:
                raise SystemExit(f"/batch with {count} items answered {answer}")
            fd, script = tempfile.mkstemp(suffix=".lua", prefix="bench-batch-")
            with os.fdopen(fd, "w") as f:
                f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
                f.write(f"wrk.body = [==[{body}]==]\n")
            scripts.append(script)
            points.append((size, count, len(body), script))
        rps = {p[0]: [] for p in points}
        for i in range(RUNS):
            for size, _, _, script in (points if i % 2 == 0 else points[::-1]):
                # 64 clients each sending 1 MB would mostly measure loopback buffering
                rps[size].append(measure(server.url("/batch"), script, 64 if size < 1e6 else 8))
        print("| body | items | req/s | runs | MB/s validated |")
        print("| ---: | ---: | ---: | --- | ---: |")
        for size, count, length, _ in points:
            m = statistics.median(rps[size])
            runs = " / ".join(f"{x:,.0f}" for x in rps[size])
            print(f"| {length:,} B | {count:,} | {m:,.0f} | {runs} | {m * length / 1e6:,.1f} |")
    finally:
        server.close()
        for script in scripts:
            os.unlink(script)


def main():
    routes_table()
    bodies_table()


if __name__ == "__main__":
    main()
