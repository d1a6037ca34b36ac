"""bench/lib/load.py: runs the load generators and reads their output.

wrk (HTTP/1.1, keep-alive) and h2load (h2c, prior knowledge), both pinned to
core 1 with `taskset -c 1`. Each measurement is preceded by a warm-up run of
the same shape whose figures are thrown away. Every run is bounded by a
timeout a little longer than its duration.
"""
import os
import re
import subprocess

LOAD_CPU = "1"
POST_LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "post.lua")
POST_BODY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "item.json")

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def wrk_command(url, conns, duration, method="GET"):
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{duration}s",
           "--timeout", "5s", "--latency"]
    if method == "POST":
        cmd += ["-s", POST_LUA]
    return cmd + [url]


def h2load_command(url, conns, streams, duration, warmup, method="GET"):
    cmd = ["taskset", "-c", LOAD_CPU, "h2load", "-t1", f"-c{conns}", f"-m{streams}",
           "-D", str(duration), "--warm-up-time", str(warmup)]
    if method == "POST":
        cmd += ["-d", POST_BODY, "-H", "content-type: application/json"]
    return cmd + [url]


def parse_wrk(out):
    r = {"rps": None, "requests": None, "p50_ms": None, "p99_ms": None, "non2xx": 0, "errors": 0}
    m = re.search(r"(\d+) requests in ", out)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M)
        if m:
            r[key] = _ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
    return r


def parse_h2load(out):
    r = {"rps": None, "mean_ms": None, "non2xx": 0, "errors": 0}
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", out)
    if m:
        r["errors"] = int(m.group(1)) + int(m.group(3))
    m = re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if m:
        r["non2xx"] = sum(int(x) for x in m.groups())
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if m:
        r["mean_ms"] = _ms(m.group(3))
    return r


def run(cmd, timeout):
    """Runs one load generator; returns its stdout (or raises on failure)."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[:200]}")
    return p.stdout


def measure_wrk(url, conns, duration, warmup, method="GET", on_start=None):
    """Warm-up then measurement; returns (figures, command, raw output).
    on_start() is called between the two."""
    if warmup > 0:
        run(wrk_command(url, conns, warmup, method), warmup + 30)
    if on_start:
        on_start()
    cmd = wrk_command(url, conns, duration, method)
    out = run(cmd, duration + 30)
    return parse_wrk(out), cmd, out


def measure_h2load(url, conns, streams, duration, warmup, method="GET", on_start=None):
    """h2load does its own warm-up: on_start() is called before both."""
    if on_start:
        on_start()
    cmd = h2load_command(url, conns, streams, duration, warmup, method)
    out = run(cmd, duration + warmup + 30)
    return parse_h2load(out), cmd, out
