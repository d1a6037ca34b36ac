"""bench/lib/scaling.py: W1 with --workers 1 and --workers 2 (issue 9, point 3).

The machine has two cores, so the load generator cannot have a core of its
own while two workers have one each. Two shapes are measured, alternating,
RUNS times:

- 1 worker: the server on core 0, wrk (-t1, 64 connections) on core 1.
- 2 workers: the server and wrk (-t2, 64 connections) both free to use both
  cores, sharing them.

For each it reports req/s, the CPU time the server and wrk used per second
of wall time, and requests per server CPU-second (what one core of server
time buys). With the load generator taking a share of the same two cores,
2 workers cannot double req/s here; what does carry to a machine with a
core per worker and the load elsewhere is requests per server CPU-second:
if it holds with 2 workers, nothing shared between them (the listening
socket, the shared-memory zone, the master) costs throughput, and
throughput scales with cores. Prints a markdown table.
Needs build-bench/ (bench/run builds it). Environment: RUNS (3), DURATION (10 s).
"""
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import parse_wrk  # noqa: E402
from servers import BENCH_APP, DURATION, MOONTIDE_BIN, RUNS, free_port, tree_cpu_times, wait_port  # noqa: E402

BIN, APP = MOONTIDE_BIN, BENCH_APP

SHAPES = {
    # name: (server cores, workers, wrk cores, wrk threads)
    "1 worker": ("0", 1, "1", 1),
    "2 workers": ("0,1", 2, "0,1", 2),
}


def wrk(cores, threads, url, duration):
    cmd = ["taskset", "-c", cores, "wrk", f"-t{threads}", "-c64", f"-d{duration}s", "--timeout", "5s", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return parse_wrk(out), cpu


def measure(shape):
    server_cores, workers, wrk_cores, threads = SHAPES[shape]
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", server_cores, BIN, "run", APP, "--port", str(port),
                               "--workers", str(workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_port(port, server):
            raise SystemExit("moontide did not start")
        time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/hello"
        wrk(wrk_cores, threads, url, 2)  # warm-up
        cpu0, t0 = sum(tree_cpu_times(server.pid)), time.monotonic()
        r, wrk_cpu = wrk(wrk_cores, threads, url, DURATION)
        wall = time.monotonic() - t0
        server_cpu = sum(tree_cpu_times(server.pid)) - cpu0
    finally:
        server.terminate()
        server.wait(timeout=20)
    if r["non2xx"] or r["errors"] or not r["rps"]:
        raise SystemExit(f"{shape}: {r}")
    return {"rps": r["rps"], "server": server_cpu / wall, "wrk": wrk_cpu / wall,
            "per_cpu_s": r["rps"] * wall / server_cpu}


def main():
    results = {name: [] for name in SHAPES}
    names = list(SHAPES)
    for i in range(RUNS):
        for name in (names if i % 2 == 0 else names[::-1]):
            results[name].append(measure(name))
    print("| shape | req/s | runs | server CPU | wrk CPU | req per server CPU-second |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    med = {}
    for name in names:
        rs = results[name]
        med[name] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        m = med[name]
        runs = " / ".join(f"{r['rps']:,.0f}" for r in rs)
        print(f"| {name} | {m['rps']:,.0f} | {runs} | {m['server']:.0%} | {m['wrk']:.0%} | {m['per_cpu_s']:,.0f} |")
    one, two = med["1 worker"], med["2 workers"]
    print(f"\nreq/s, 2 workers / 1 worker on this 2-core machine: {two['rps'] / one['rps']:.2f}×")
    ratio = two["per_cpu_s"] / one["per_cpu_s"]
    print(f"req per server CPU-second, 2 workers / 1 worker: {ratio:.2f} (1 or more: the two workers cost each "
          f"other nothing per request, so with a core each and the load elsewhere W1 would scale "
          f"{'about 2' if ratio >= 0.9 else f'{2 * ratio:.2f}'}×; here wrk took "
          f"{two['wrk']:.0%} of a core of the same two)")


if __name__ == "__main__":
    main()
