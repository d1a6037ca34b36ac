"""bench/lib/growth.py: what growing an app costs (issue 9, point 5).

Two measurements on one moontide worker (server on core 0, wrk on core 1):

- Routes: W1 (`GET /hello`) with the bench app padded to 10, 100 and 1,000
  routes (BENCH_ROUTES, see bench/apps/moontide-bench.lua); the OpenAPI
  document is checked to list that many paths first. Measured two ways:
  alone, each count by itself on the server core as W1 is (counts
  alternating, RUNS times), and side by side, each count's server loaded
  at the same moment as a 10-route server's, both on the server core, one
  wrk of 32 connections each (3 × RUNS rounds of 3 s). This machine's
  speed swings by a third from one run to the next, far more than 5%;
  side by side, both servers live through the same swing, so the ratio of
  their req/s (and of the CPU time a request, read from /proc) is what
  the route count costs. The 10-route row side by side is against a second
  10-route server (what the method reads for no difference), and W2's
  request against W1's shows what it reads for a dearer request. The
  spreads are the largest over the smallest, less one: of the medians
  alone, and of 1 and the side-by-side ratios.
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
from servers import (BENCH_APP, DURATION, MOONTIDE_BIN, RUNS, SERVER_CPU, free_port,  # noqa: E402
                     tree_cpu_times, wait_port)

SIDE_BY_SIDE_SECONDS = 3
W2_PATH = "/items/1?q=hello"

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


def side_by_side(targets, duration):
    """Loads each (server, path) of targets at the same time, one wrk of 32
    connections each (all on the load core), for `duration` seconds. Returns,
    per target, its req/s and the CPU seconds (user + system) its server
    spent a request."""
    before = [sum(tree_cpu_times(s.proc.pid)) for s, _ in targets]
    wrks = [subprocess.Popen(wrk_command(s.url(path), 32, duration), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for s, path in targets]
    outs = [w.communicate(timeout=duration + 60) for w in wrks]
    after = [sum(tree_cpu_times(s.proc.pid)) for s, _ in targets]
    points = []
    for w, (out, err), t0, t1 in zip(wrks, outs, before, after):
        r = parse_wrk(out)
        if w.returncode != 0 or r["non2xx"] or r["errors"] or not r["requests"]:
            raise SystemExit(f"side by side: wrk exited {w.returncode}, {r}: {err.strip()[:200]}")
        points.append((r["rps"], (t1 - t0) / r["requests"]))
    return points


def spread(values):
    return max(values) / min(values) - 1


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):.3f} ({q[0]:.3f}–{q[2]:.3f})"


def routes_table():
    servers = {n: Moontide(routes=n) for n in ROUTES}
    control = Moontide(routes=ROUTES[0])
    try:
        for n, server in list(servers.items()) + [(ROUTES[0], control)]:
            paths = len(server.get_json("/openapi.json")["paths"])
            if paths != n:
                raise SystemExit(f"BENCH_ROUTES={n}: the app has {paths} paths")
        # Alone: each count on the server core by itself, as W1 is measured.
        alone = {n: [] for n in ROUTES}
        for i in range(RUNS):
            for n in (ROUTES if i % 2 == 0 else ROUTES[::-1]):
                alone[n].append(measure(servers[n].url("/hello")))
        # Side by side: each count against a 10-route server at the same
        # time, both on the server core, 32 connections each; and, to show
        # what a dearer request looks like this way, W2's request against W1's.
        base = servers[ROUTES[0]]
        partners = [(ROUTES[0], control, "/hello")] + [(n, servers[n], "/hello") for n in ROUTES[1:]]
        partners.append(("W2", control, W2_PATH))
        for _, server, path in partners:
            side_by_side([(base, "/hello"), (server, path)], 2)  # warm-up
        rps_ratio = {key: [] for key, _, _ in partners}
        cpu_ratio = {key: [] for key, _, _ in partners}
        for i in range(3 * RUNS):
            for key, server, path in (partners if i % 2 == 0 else partners[::-1]):
                base_first = i % 4 < 2  # which wrk starts first, a few ms apart
                pair = [(base, "/hello"), (server, path)]
                points = side_by_side(pair if base_first else pair[::-1], SIDE_BY_SIDE_SECONDS)
                (base_rps, base_cpu), (rps, cpu) = points if base_first else points[::-1]
                rps_ratio[key].append(rps / base_rps)
                cpu_ratio[key].append(base_cpu / cpu)
    finally:
        for server in list(servers.values()) + [control]:
            server.close()

    print("| routes | W1 req/s alone | runs | vs 10 routes | side by side: req/s vs 10 routes | CPU a request |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    ten = statistics.median(alone[ROUTES[0]])
    for n in ROUTES:
        m = statistics.median(alone[n])
        runs = " / ".join(f"{x:,.0f}" for x in alone[n])
        print(f"| {n:,} | {m:,.0f} | {runs} | {m / ten:.3f} | {quartiles(rps_ratio[n])} | {quartiles(cpu_ratio[n])} |")
    alone_medians = [statistics.median(alone[n]) for n in ROUTES]
    print("\nSide by side, the 10-route row is a second 10-route server against the first: what the "
          "method reads when nothing differs.")
    print(f"\nSpread alone (largest / smallest median - 1): {spread(alone_medians):.1%}")
    print(f"Spread side by side (largest / smallest of 1 and the ratios - 1): req/s "
          f"{spread([1.0] + [statistics.median(rps_ratio[n]) for n in ROUTES[1:]]):.1%}, CPU a request "
          f"{spread([1.0] + [statistics.median(cpu_ratio[n]) for n in ROUTES[1:]]):.1%}")
    print(f"\nWhat side by side shows for a dearer request, W2's `GET {W2_PATH}` against W1's on two 10-route "
          f"servers: req/s {quartiles(rps_ratio['W2'])}, CPU a request {quartiles(cpu_ratio['W2'])}\n")


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
