"""bench/lib/annotation_cost.py: what annotations cost on W2 and W3.

bench/apps/moontide-bench.lua serves each of W2 and W3 twice: declared with
annotations (validated and, for W3, serialized in C) and under /plain/...
with the same checks written by hand in Lua. This runs both shapes of each
against one moontide (server on core 0, wrk on core 1), alternating, RUNS
times, and prints the medians and the cost of the annotated route relative
to the plain one (plain req/s / annotated req/s - 1; negative means the
annotated route is faster). Needs build-bench/ (bench/run builds it).
"""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import parse_wrk, wrk_command  # noqa: E402
from servers import BENCH_APP, DURATION, MOONTIDE_BIN, RUNS, free_port, wait_port  # noqa: E402

BIN, APP = MOONTIDE_BIN, BENCH_APP

POINTS = [
    ("W2", "GET", "/items/42?q=hello", "/plain/items/42?q=hello"),
    ("W3", "POST", "/items", "/plain/items"),
]


def measure(port, method, path):
    url = f"http://127.0.0.1:{port}{path}"
    subprocess.run(wrk_command(url, 64, 2, method), capture_output=True, timeout=30)  # warm-up
    out = subprocess.run(wrk_command(url, 64, DURATION, method), capture_output=True, text=True,
                         timeout=DURATION + 30).stdout
    r = parse_wrk(out)
    if r["non2xx"]:
        raise SystemExit(f"{path}: {r['non2xx']} non-2xx answers")
    return r["rps"]


def main():
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", "0", BIN, "run", APP, "--port", str(port), "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_port(port, server):
            raise SystemExit("moontide did not start")
        time.sleep(0.5)
        print("| workload | annotated req/s | plain Lua req/s | runs (annotated / plain) | cost of annotations |")
        print("| --- | ---: | ---: | --- | ---: |")
        for name, method, annotated, plain in POINTS:
            a, p = [], []
            for run in range(RUNS):
                order = [(annotated, a), (plain, p)]
                for path, into in (order if run % 2 == 0 else order[::-1]):
                    into.append(measure(port, method, path))
            ma, mp = statistics.median(a), statistics.median(p)
            runs = " ; ".join(f"{x:,.0f} / {y:,.0f}" for x, y in zip(a, p))
            print(f"| {name} | {ma:,.0f} | {mp:,.0f} | {runs} | {mp / ma - 1:+.0%} |")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
